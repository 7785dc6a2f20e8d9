// Thin 1:1 socket syscalls.
//
// Every function returns a non-negative result or -errno; none allocates an
// Error for an OS failure, and EINTR is retried inside. Every descriptor
// created or accepted here is O_NONBLOCK and close-on-exec, and is tracked
// per environment so that teardown can close what JavaScript left open.
#include "ksock.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#if __has_include(<sys/sockio.h>)
#include <sys/sockio.h>
#endif
#if __has_include(<sys/filio.h>)
#include <sys/filio.h>
#endif
#if __has_include(<linux/sockios.h>)
#include <linux/sockios.h>
#endif

namespace ksock {

bool ThrowType(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

bool ThrowRange(Napi::Env env, const char* msg) {
  Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

bool ReadField(Napi::Env env, Napi::Object o, const char* key, double lo, double hi, double dflt, const char* what,
               double* out) {
  Napi::Value v = o.Get(key);
  if (env.IsExceptionPending()) return false;
  if (v.IsUndefined() || v.IsNull()) {
    *out = dflt;
    return true;
  }
  if (v.IsBoolean()) {
    *out = v.As<Napi::Boolean>().Value() ? 1 : 0;
    return true;
  }
  if (!v.IsNumber()) {
    Napi::TypeError::New(env, std::string(what) + " " + key + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<long long>(d))) {
    Napi::RangeError::New(env, std::string(what) + " " + key + " is out of range").ThrowAsJavaScriptException();
    return false;
  }
  *out = d;
  return true;
}

void TrackFd(Instance* inst, int fd) { inst->fds.insert(fd); }

void ForgetFd(Instance* inst, int fd) { inst->fds.erase(fd); }

namespace {

constexpr int kMaxIov = 64;

inline Napi::Value R(Napi::Env env, long v) { return Napi::Number::New(env, static_cast<double>(v)); }
inline long Err() { return -static_cast<long>(errno); }

bool ArgInt(Napi::Env env, const Napi::Value& v, const char* what, int* out) {
  if (!v.IsNumber()) {
    std::string m = std::string(what) + " must be a number";
    Napi::TypeError::New(env, m).ThrowAsJavaScriptException();
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= INT32_MIN && d <= INT32_MAX) || d != static_cast<double>(static_cast<int>(d))) {
    std::string m = std::string(what) + " must be a 32-bit integer";
    Napi::RangeError::New(env, m).ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int>(d);
  return true;
}

// Fast path for the descriptor argument: callers pass small integers.
inline bool ArgFd(Napi::Env env, const Napi::Value& v, int* out) {
  return ArgInt(env, v, "fd", out);
}

// Makes a descriptor O_NONBLOCK and close-on-exec. Returns 0 or -errno.
long SetNonblockCloexec(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) return Err();
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0 || (!(fdfl & FD_CLOEXEC) && fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)) return Err();
  return 0;
}

void SetNoSigpipe(int fd) {
#ifdef SO_NOSIGPIPE
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#else
  (void)fd;
#endif
}

constexpr int kSendFlags =
#ifdef MSG_NOSIGNAL
    MSG_NOSIGNAL;
#else
    0;
#endif

constexpr int kRecvFlags =
#ifdef MSG_CMSG_CLOEXEC
    MSG_CMSG_CLOEXEC;
#else
    0;
#endif

// Collects [off, off+len) of a Buffer or an array of Buffers into iovecs.
// Returns the iovec count or -1 with an exception pending.
int CollectIov(Napi::Env env, const Napi::Value& v, size_t off, size_t len,
               std::vector<iovec>* heap, iovec* stack, iovec** out) {
  *out = stack;
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<uint8_t>>();
    size_t blen = b.Length();
    if (off > blen) off = blen;
    if (len > blen - off) len = blen - off;
    stack[0].iov_base = b.Data() + off;
    stack[0].iov_len = len;
    return 1;
  }
  if (!v.IsArray()) {
    ThrowType(env, "data must be a Buffer or an array of Buffers");
    return -1;
  }
  Napi::Array arr = v.As<Napi::Array>();
  uint32_t n = arr.Length();
  int count = 0;
  for (uint32_t i = 0; i < n && len > 0; i++) {
    Napi::Value e = arr.Get(i);
    if (!e.IsBuffer()) {
      ThrowType(env, "data must be a Buffer or an array of Buffers");
      return -1;
    }
    auto b = e.As<Napi::Buffer<uint8_t>>();
    size_t blen = b.Length();
    if (off >= blen) {
      off -= blen;
      continue;
    }
    size_t take = blen - off;
    if (take > len) take = len;
    if (count == kMaxIov && heap->empty()) heap->assign(stack, stack + kMaxIov);
    iovec iv{b.Data() + off, take};
    if (!heap->empty()) {
      if (heap->size() >= IOV_MAX) break;  // the kernel's limit: a short transfer
      heap->push_back(iv);
    } else {
      stack[count] = iv;
    }
    count++;
    off = 0;
    len -= take;
  }
  if (!heap->empty()) *out = heap->data();
  return count;
}

bool ArgSize(Napi::Env env, const Napi::Value& v, const char* what, size_t* out) {
  if (!v.IsNumber()) {
    std::string m = std::string(what) + " must be a number";
    Napi::TypeError::New(env, m).ThrowAsJavaScriptException();
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= static_cast<double>(SSIZE_MAX))) {
    std::string m = std::string(what) + " is out of range";
    Napi::RangeError::New(env, m).ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<size_t>(d);
  return true;
}

// socket(domain, type, protocol) -> fd | -errno
Napi::Value Socket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int domain, type, protocol;
  if (!ArgInt(env, info[0], "domain", &domain) || !ArgInt(env, info[1], "type", &type) ||
      !ArgInt(env, info[2], "protocol", &protocol))
    return env.Undefined();
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return R(env, Err());
#else
  int fd = socket(domain, type, protocol);
  if (fd < 0) return R(env, Err());
  long e = SetNonblockCloexec(fd);
  if (e < 0) {
    close(fd);
    return R(env, e);
  }
#endif
  SetNoSigpipe(fd);
  TrackFd(GetInstance(env), fd);
  return R(env, fd);
}

// socketpair(domain, type, protocol) -> 0 | -errno; the two descriptors go to
// state[3] and state[4].
Napi::Value Socketpair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int domain, type, protocol;
  if (!ArgInt(env, info[0], "domain", &domain) || !ArgInt(env, info[1], "type", &type) ||
      !ArgInt(env, info[2], "protocol", &protocol))
    return env.Undefined();
  int sv[2];
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  if (socketpair(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol, sv) < 0)
    return R(env, Err());
#else
  if (socketpair(domain, type, protocol, sv) < 0) return R(env, Err());
  long e = SetNonblockCloexec(sv[0]);
  if (e == 0) e = SetNonblockCloexec(sv[1]);
  if (e < 0) {
    close(sv[0]);
    close(sv[1]);
    return R(env, e);
  }
#endif
  SetNoSigpipe(sv[0]);
  SetNoSigpipe(sv[1]);
  Instance* inst = GetInstance(env);
  TrackFd(inst, sv[0]);
  TrackFd(inst, sv[1]);
  inst->state[3] = sv[0];
  inst->state[4] = sv[1];
  return R(env, 0);
}

// bind(fd, address) / connect(fd, address) -> 0 | -errno
Napi::Value Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  sockaddr_storage ss;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  int len = EncodeSockaddr(env, info[1], &ss);
  if (len < 0) return env.Undefined();
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), static_cast<socklen_t>(len)) < 0)
    return R(env, Err());
  return R(env, 0);
}

Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  sockaddr_storage ss;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  int len = EncodeSockaddr(env, info[1], &ss);
  if (len < 0) return env.Undefined();
  // connect() is not restartable: an EINTR means the attempt goes on
  // asynchronously, exactly like EINPROGRESS.
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), static_cast<socklen_t>(len)) < 0)
    return R(env, errno == EINTR ? -EINPROGRESS : Err());
  return R(env, 0);
}

Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, backlog;
  if (!ArgFd(env, info[0], &fd) || !ArgInt(env, info[1], "backlog", &backlog))
    return env.Undefined();
  if (listen(fd, backlog) < 0) return R(env, Err());
  return R(env, 0);
}

// accept(fd) -> new fd | -errno. The new descriptor is O_NONBLOCK and
// close-on-exec (accept4 where the platform has the flags).
Napi::Value Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  int nfd;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  do nfd = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (nfd < 0 && errno == EINTR);
  if (nfd < 0) return R(env, Err());
#else
  do nfd = accept(fd, nullptr, nullptr);
  while (nfd < 0 && errno == EINTR);
  if (nfd < 0) return R(env, Err());
  long e = SetNonblockCloexec(nfd);
  if (e < 0) {
    close(nfd);
    return R(env, e);
  }
#endif
  SetNoSigpipe(nfd);
  TrackFd(GetInstance(env), nfd);
  return R(env, nfd);
}

// The two hot paths, sendmsg and recvmsg, are written on raw N-API: one call
// per argument, a stack argv (node-addon-api allocates one past 6 arguments),
// and no allocation unless an address or control data is asked for.

namespace hot {

napi_value Int(napi_env env, long v) {
  napi_value r;
  if (v >= INT32_MIN && v <= INT32_MAX) napi_create_int32(env, static_cast<int32_t>(v), &r);
  else napi_create_double(env, static_cast<double>(v), &r);
  return r;
}

bool Fail(napi_env env, const char* msg) {
  napi_throw_type_error(env, nullptr, msg);
  return false;
}

bool GetInt(napi_env env, napi_value v, int32_t* out, const char* msg) {
  return napi_get_value_int32(env, v, out) == napi_ok || Fail(env, msg);
}

bool GetSize(napi_env env, napi_value v, size_t* out, const char* msg) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= static_cast<double>(SSIZE_MAX)))
    return Fail(env, msg);
  *out = static_cast<size_t>(d);
  return true;
}

bool IsObject(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_object;
}

bool IsNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) != napi_ok || t == napi_undefined || t == napi_null;
}

// The data argument: one Buffer (fast) or an array of Buffers.
int Iov(napi_env env, napi_value v, size_t off, size_t len, std::vector<iovec>* heap, iovec* stack,
        iovec** out) {
  void* data;
  size_t blen;
  if (napi_get_buffer_info(env, v, &data, &blen) == napi_ok) {
    if (off > blen) off = blen;
    if (len > blen - off) len = blen - off;
    stack[0].iov_base = static_cast<char*>(data) + off;
    stack[0].iov_len = len;
    *out = stack;
    return 1;
  }
  return CollectIov(Napi::Env(env), Napi::Value(env, v), off, len, heap, stack, out);
}

// One recvmsg(2), shared by recvmsg and recvmsgAlloc: the optional source
// address and control buffer, MSG_CMSG_CLOEXEC only with a control buffer
// (some families refuse flags they do not know: Linux packet sockets say
// EINVAL, and then FD_CLOEXEC is set by hand), the out-values in state[], and
// the decoded control items in controlp.value. *n is the byte count or
// -errno; false means a JS exception is pending (received descriptors
// already closed).
bool Receive(napi_env env, int fd, int flags, iovec* iov, int iovcnt, sockaddr_storage* ss, napi_value controlp,
             size_t csize, ssize_t* n) {
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = iovcnt;
  if (ss != nullptr) {
    memset(ss, 0, sizeof(*ss));
    msg.msg_name = ss;
    msg.msg_namelen = sizeof(*ss);
  }
  ControlBuffer cb;
  if (controlp != nullptr && csize > 0) {
    if (!cb.Reserve(csize)) {
      *n = -ENOMEM;
      return true;
    }
    msg.msg_control = cb.data;
    msg.msg_controllen = csize;
  }
  int extra = msg.msg_control != nullptr ? kRecvFlags : 0;
  do *n = recvmsg(fd, &msg, flags | extra);
  while (*n < 0 && errno == EINTR);
  bool cloexec_by_hand = false;
  if (*n < 0 && errno == EINVAL && extra != 0) {
    do *n = recvmsg(fd, &msg, flags);
    while (*n < 0 && errno == EINTR);
    cloexec_by_hand = true;
  }
  if (*n < 0) {
    *n = Err();
    return true;
  }
  if (msg.msg_control == nullptr) msg.msg_controllen = 0;
  if (cloexec_by_hand) SetCloexecOnRights(&msg);
  Napi::Env e(env);
  int32_t* state = GetInstance(e)->state;
  state[kMsgFlags] = msg.msg_flags & ~kRecvFlags;  // Linux echoes MSG_CMSG_CLOEXEC
  state[kAddrLen] = ss != nullptr ? static_cast<int32_t>(msg.msg_namelen) : 0;
  state[kControlLen] = static_cast<int32_t>(msg.msg_controllen);
  if (controlp != nullptr) {
    bool peek = (flags & MSG_PEEK) != 0;
    Napi::Value items = DecodeControl(e, &msg, peek);  // closes the fds itself on failure
    if (items.IsEmpty()) return false;
    Napi::Value(env, controlp).As<Napi::Object>().Set("value", items);
    if (e.IsExceptionPending()) {
      if (!peek) DisposeRights(&msg);
      return false;
    }
  }
  return true;
}

}  // namespace hot

// sendmsg(fd, data, offset, length, flags, address?, control?) -> bytes | -errno
napi_value Sendmsg(napi_env env, napi_callback_info cbi) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, cbi, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  int32_t fd, flags;
  size_t off, len;
  if (argc < 5 || !hot::GetInt(env, argv[0], &fd, "fd must be a number") ||
      !hot::GetSize(env, argv[2], &off, "offset must be a non-negative number") ||
      !hot::GetSize(env, argv[3], &len, "length must be a non-negative number") ||
      !hot::GetInt(env, argv[4], &flags, "flags must be a number"))
    return nullptr;
  iovec stack[kMaxIov];
  std::vector<iovec> heap;
  iovec* iov;
  int iovcnt = hot::Iov(env, argv[1], off, len, &heap, stack, &iov);
  if (iovcnt < 0) return nullptr;
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = iovcnt;
  sockaddr_storage ss;
  if (argc > 5 && !hot::IsNullish(env, argv[5])) {
    void* data;
    size_t alen;
    if (napi_get_buffer_info(env, argv[5], &data, &alen) == napi_ok && alen <= sizeof(ss)) {
      memcpy(&ss, data, alen);  // a pre-encoded sockaddr: the hot path for unconnected senders
    } else {
      int n = EncodeSockaddr(Napi::Env(env), Napi::Value(env, argv[5]), &ss);
      if (n < 0) return nullptr;
      alen = static_cast<size_t>(n);
    }
    msg.msg_name = &ss;
    msg.msg_namelen = static_cast<socklen_t>(alen);
  }
  ControlBuffer cb;
  if (argc > 6 && !hot::IsNullish(env, argv[6])) {
    long clen = EncodeControl(Napi::Env(env), Napi::Value(env, argv[6]), &cb);
    if (clen < 0) return nullptr;
    if (clen > 0) {
      msg.msg_control = cb.data;
      msg.msg_controllen = static_cast<size_t>(clen);
    }
  }
  ssize_t n;
  do n = sendmsg(fd, &msg, flags | kSendFlags);
  while (n < 0 && errno == EINTR);
  return hot::Int(env, n < 0 ? Err() : static_cast<long>(n));
}

// recvmsg(fd, data, offset, length, flags, paddr?, controlp?, controlSize)
//   -> bytes | -errno
// msg_flags, msg_namelen and msg_controllen go to state[0..2]. When paddr /
// controlp holder objects are given, their .value is set to the decoded
// source address / the array of control items.
napi_value Recvmsg(napi_env env, napi_callback_info cbi) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, cbi, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  int32_t fd, flags;
  size_t off, len, csize = 0;
  if (argc < 5 || !hot::GetInt(env, argv[0], &fd, "fd must be a number") ||
      !hot::GetSize(env, argv[2], &off, "offset must be a non-negative number") ||
      !hot::GetSize(env, argv[3], &len, "length must be a non-negative number") ||
      !hot::GetInt(env, argv[4], &flags, "flags must be a number"))
    return nullptr;
  bool want_addr = argc > 5 && hot::IsObject(env, argv[5]);
  bool want_control = argc > 6 && hot::IsObject(env, argv[6]);
  if (want_control) {
    if (argc < 8 || !hot::GetSize(env, argv[7], &csize, "controlSize must be a number")) return nullptr;
    if (csize > (1 << 20)) {
      napi_throw_range_error(env, nullptr, "controlSize is too large");
      return nullptr;
    }
  }
  iovec stack[kMaxIov];
  std::vector<iovec> heap;
  iovec* iov;
  int iovcnt = hot::Iov(env, argv[1], off, len, &heap, stack, &iov);
  if (iovcnt < 0) return nullptr;
  sockaddr_storage ss;
  ssize_t n;
  if (!hot::Receive(env, fd, flags, iov, iovcnt, want_addr ? &ss : nullptr, want_control ? argv[6] : nullptr, csize, &n))
    return nullptr;
  if (n < 0) return hot::Int(env, static_cast<long>(n));
  if (want_addr) {
    Napi::Env e(env);
    Napi::Value(env, argv[5]).As<Napi::Object>().Set(
        "value", DecodeSockaddr(e, &ss, static_cast<socklen_t>(GetInstance(e)->state[kAddrLen])));
    if (e.IsExceptionPending()) return nullptr;
  }
  return hot::Int(env, static_cast<long>(n));
}

// getsockopt(fd, level, name, buffer) -> returned optlen | -errno.
// The value is copied into buffer, truncated to its length (the returned
// optlen may be larger: that is how the caller learns the full size).
Napi::Value Getsockopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, level, name;
  if (!ArgFd(env, info[0], &fd) || !ArgInt(env, info[1], "level", &level) ||
      !ArgInt(env, info[2], "name", &name))
    return env.Undefined();
  if (!info[3].IsBuffer()) {
    ThrowType(env, "getsockopt: value must be a Buffer");
    return env.Undefined();
  }
  auto b = info[3].As<Napi::Buffer<uint8_t>>();
  // An aligned bounce buffer: option structs are read as C structs by the
  // kernel ABI; the caller's Buffer may be at any offset of its pool.
  alignas(alignof(max_align_t)) unsigned char tmp[1024];
  std::vector<unsigned char> big;
  unsigned char* p = tmp;
  size_t cap = b.Length();
  if (cap > sizeof(tmp)) {
    big.resize(cap);
    p = big.data();
  }
  memset(p, 0, cap > sizeof(tmp) ? cap : sizeof(tmp));
  socklen_t optlen = static_cast<socklen_t>(cap);
  if (getsockopt(fd, level, name, p, &optlen) < 0) return R(env, Err());
  size_t copy = optlen < cap ? optlen : cap;
  if (copy > 0) memcpy(b.Data(), p, copy);
  return R(env, static_cast<long>(optlen));
}

// setsockopt(fd, level, name, buffer, length) -> 0 | -errno
Napi::Value Setsockopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, level, name;
  size_t len;
  if (!ArgFd(env, info[0], &fd) || !ArgInt(env, info[1], "level", &level) ||
      !ArgInt(env, info[2], "name", &name) || !ArgSize(env, info[4], "length", &len))
    return env.Undefined();
  const uint8_t* src = nullptr;
  size_t blen = 0;
  if (info[3].IsBuffer()) {
    auto b = info[3].As<Napi::Buffer<uint8_t>>();
    src = b.Data();
    blen = b.Length();
  } else if (!info[3].IsUndefined() && !info[3].IsNull()) {
    ThrowType(env, "setsockopt: value must be a Buffer");
    return env.Undefined();
  }
  if (len > blen) {
    ThrowRange(env, "setsockopt: length exceeds the value Buffer");
    return env.Undefined();
  }
  alignas(alignof(max_align_t)) unsigned char tmp[1024];
  std::vector<unsigned char> big;
  unsigned char* p = tmp;
  if (len > sizeof(tmp)) {
    big.resize(len);
    p = big.data();
  }
  if (len > 0) memcpy(p, src, len);
  if (setsockopt(fd, level, name, len > 0 ? p : nullptr, static_cast<socklen_t>(len)) < 0)
    return R(env, Err());
  return R(env, 0);
}

Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, how;
  if (!ArgFd(env, info[0], &fd) || !ArgInt(env, info[1], "how", &how)) return env.Undefined();
  if (shutdown(fd, how) < 0) return R(env, Err());
  return R(env, 0);
}

// close(fd) -> 0 | -errno. Stops and closes the descriptor's poll watcher
// first (libuv requires it), then forgets the number, then closes.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  if (fd < 0) return R(env, -EBADF);
  Instance* inst = GetInstance(env);
  ClosePollerOf(inst, fd);
  ForgetFd(inst, fd);
  // POSIX leaves the descriptor state unspecified after EINTR; Linux and the
  // BSDs have always released it, so it is never retried (a retry could close
  // a number another thread has just been given).
  if (close(fd) < 0 && errno != EINTR) return R(env, Err());
  return R(env, 0);
}

// closeAsync(fd, callback): close(2) on the libuv threadpool, for a socket
// whose SO_LINGER would make close block the thread (Linux blocks even when
// O_NONBLOCK). The poll watcher is closed and the number forgotten at once;
// callback(0 | -errno) runs on the event loop afterwards.
class CloseWorker : public Napi::AsyncWorker {
 public:
  CloseWorker(Napi::Function cb, int fd) : Napi::AsyncWorker(cb, "ksock:close"), fd_(fd) {}
  void Execute() override {
    if (close(fd_) < 0 && errno != EINTR) result_ = -errno;
  }
  void OnOK() override { Callback().Call({Napi::Number::New(Env(), result_)}); }

 private:
  int fd_;
  int result_ = 0;
};

Napi::Value CloseAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  if (!info[1].IsFunction()) {
    ThrowType(env, "closeAsync: callback must be a function");
    return env.Undefined();
  }
  if (fd < 0) return R(env, -EBADF);
  Instance* inst = GetInstance(env);
  ClosePollerOf(inst, fd);
  ForgetFd(inst, fd);
  auto* w = new CloseWorker(info[1].As<Napi::Function>(), fd);
  w->Queue();
  return R(env, 0);
}

Napi::Value NameOf(const Napi::CallbackInfo& info, bool peer) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  socklen_t len = sizeof(ss);
  int r = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
               : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (r < 0) return R(env, Err());
  return DecodeSockaddr(env, &ss, len);
}

Napi::Value Getsockname(const Napi::CallbackInfo& info) { return NameOf(info, false); }
Napi::Value Getpeername(const Napi::CallbackInfo& info) { return NameOf(info, true); }

// fionread(fd) -> bytes readable | -errno (Linux UDP: the next datagram's size).
Napi::Value Fionread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  int n = 0;
  if (ioctl(fd, FIONREAD, &n) < 0) return R(env, Err());
  return R(env, n);
}

// outq(fd) -> bytes queued for sending | -errno (-EOPNOTSUPP where unknown).
Napi::Value Outq(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  int n = 0;
#if defined(SIOCOUTQ)
  if (ioctl(fd, SIOCOUTQ, &n) < 0) return R(env, Err());
#elif defined(FIONWRITE)
  if (ioctl(fd, FIONWRITE, &n) < 0) return R(env, Err());
#elif defined(TIOCOUTQ)
  if (ioctl(fd, TIOCOUTQ, &n) < 0) return R(env, Err());
#else
  return R(env, -EOPNOTSUPP);
#endif
  return R(env, n);
}

// adopt(fd) -> 0 | -errno: checks the descriptor is a socket, makes it
// close-on-exec and O_NONBLOCK (shared with every duplicate of the open file
// description: documented), and tracks it.
Napi::Value Adopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  struct stat st;
  if (fstat(fd, &st) < 0) return R(env, Err());
  if (!S_ISSOCK(st.st_mode)) return R(env, -ENOTSOCK);
  long e = SetNonblockCloexec(fd);
  if (e < 0) return R(env, e);
  SetNoSigpipe(fd);
  TrackFd(GetInstance(env), fd);
  return R(env, 0);
}

// dup2cloexec(oldfd, newfd) -> newfd | -errno: atomically replaces newfd
// with a close-on-exec duplicate of oldfd (soconnect2 keeps numbers stable).
Napi::Value Dup2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int oldfd, newfd;
  if (!ArgFd(env, info[0], &oldfd) || !ArgFd(env, info[1], &newfd)) return env.Undefined();
  if (oldfd < 0 || newfd < 0) return R(env, -EBADF);
  Instance* inst = GetInstance(env);
  ClosePollerOf(inst, newfd);
  int r;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  do r = dup3(oldfd, newfd, O_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0) return R(env, Err());
#else
  do r = dup2(oldfd, newfd);
  while (r < 0 && errno == EINTR);
  if (r < 0) return R(env, Err());
  fcntl(newfd, F_SETFD, FD_CLOEXEC);
#endif
  TrackFd(inst, newfd);
  return R(env, newfd);
}

// recvmsgAlloc(fd, size, flags, mp0, paddr?, controlp?, controlSize) -> bytes | -errno
// The mp0 form: receives into the environment's scratch buffer and sets
// mp0.value to a fresh Buffer of exactly the bytes that arrived — no zeroed
// 64 KiB per message, one copy of what was received.
napi_value RecvmsgAlloc(napi_env env, napi_callback_info cbi) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, cbi, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  int32_t fd, flags;
  size_t size, csize = 0;
  if (argc < 4 || !hot::GetInt(env, argv[0], &fd, "fd must be a number") ||
      !hot::GetSize(env, argv[1], &size, "size must be a non-negative number") ||
      !hot::GetInt(env, argv[2], &flags, "flags must be a number"))
    return nullptr;
  if (!hot::IsObject(env, argv[3])) {
    napi_throw_type_error(env, nullptr, "recvmsgAlloc: mp0 must be a { value } holder");
    return nullptr;
  }
  if (size > (1u << 26)) {
    napi_throw_range_error(env, nullptr, "recvmsgAlloc: size is too large");
    return nullptr;
  }
  bool want_addr = argc > 4 && hot::IsObject(env, argv[4]);
  bool want_control = argc > 5 && hot::IsObject(env, argv[5]);
  if (want_control && (argc < 7 || !hot::GetSize(env, argv[6], &csize, "controlSize must be a number"))) return nullptr;
  if (csize > (1 << 20)) {
    napi_throw_range_error(env, nullptr, "controlSize is too large");
    return nullptr;
  }
  Napi::Env e(env);
  Instance* inst = GetInstance(e);
  if (inst->scratch.size() < size) inst->scratch.resize(size);
  iovec iov{inst->scratch.data(), size};
  sockaddr_storage ss;
  ssize_t n;
  if (!hot::Receive(env, fd, flags, &iov, 1, want_addr ? &ss : nullptr, want_control ? argv[5] : nullptr, csize, &n))
    return nullptr;
  if (n < 0) return hot::Int(env, static_cast<long>(n));
  size_t got = static_cast<size_t>(n) < size ? static_cast<size_t>(n) : size;  // MSG_TRUNC reports more
  Napi::Value(env, argv[3]).As<Napi::Object>().Set(
      "value", got > 0 ? Napi::Buffer<uint8_t>::Copy(e, inst->scratch.data(), got) : Napi::Buffer<uint8_t>::New(e, 0));
  if (want_addr)
    Napi::Value(env, argv[4]).As<Napi::Object>().Set(
        "value", DecodeSockaddr(e, &ss, static_cast<socklen_t>(inst->state[kAddrLen])));
  if (e.IsExceptionPending()) return nullptr;
  return hot::Int(env, static_cast<long>(n));
}

// recvmmsg(fd, slab, slotSize, count, flags, lengths, addrs?) -> messages | -errno
// Receives up to `count` datagrams into fixed slots of one caller-provided
// Buffer: message i lands at slab[i*slotSize]; lengths[i] = its length,
// lengths[count+i] = its msg_flags; with `addrs` (a Buffer of count*128
// bytes) the source address goes to addrs[i*128] and its length to
// lengths[2*count+i]. Nothing is allocated per message. Where the kernel has
// no recvmmsg, a loop of recvmsg does the same.
napi_value Recvmmsg(napi_env env, napi_callback_info cbi) {
  size_t argc = 9;
  napi_value argv[9];
  if (napi_get_cb_info(env, cbi, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  int32_t fd, flags;
  size_t slot, count;
  void* slab;
  size_t slablen;
  if (argc < 6 || !hot::GetInt(env, argv[0], &fd, "fd must be a number") ||
      napi_get_buffer_info(env, argv[1], &slab, &slablen) != napi_ok ||
      !hot::GetSize(env, argv[2], &slot, "slotSize must be a number") ||
      !hot::GetSize(env, argv[3], &count, "count must be a number") ||
      !hot::GetInt(env, argv[4], &flags, "flags must be a number")) {
    if (!hot::IsNullish(env, argv[1])) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (!pending) napi_throw_type_error(env, nullptr, "recvmmsg: slab must be a Buffer");
    }
    return nullptr;
  }
  bool is_typed = false;
  napi_is_typedarray(env, argv[5], &is_typed);
  napi_typedarray_type tt;
  size_t tlen = 0;
  void* tdata = nullptr;
  if (!is_typed || napi_get_typedarray_info(env, argv[5], &tt, &tlen, &tdata, nullptr, nullptr) != napi_ok ||
      tt != napi_int32_array) {
    napi_throw_type_error(env, nullptr, "recvmmsg: lengths must be an Int32Array");
    return nullptr;
  }
  void* addrs = nullptr;
  size_t addrslen = 0;
  bool want_addr = argc > 6 && !hot::IsNullish(env, argv[6]);
  if (want_addr && napi_get_buffer_info(env, argv[6], &addrs, &addrslen) != napi_ok) {
    napi_throw_type_error(env, nullptr, "recvmmsg: addrs must be a Buffer");
    return nullptr;
  }
  // slot > slablen / count, not count * slot > slablen: the product can wrap.
  if (count == 0 || slot == 0 || count > 1024 || slot > slablen / count || tlen < count * (want_addr ? 3 : 2) ||
      (want_addr && addrslen < count * sizeof(sockaddr_storage))) {
    napi_throw_range_error(env, nullptr, "recvmmsg: slab, lengths or addrs too small for count * slotSize");
    return nullptr;
  }
  // Optional control data: `space` bytes of room per message, the decoded
  // lists (one per message received) in controls.value.
  size_t space = 0;
  bool want_control = argc > 8 && hot::IsObject(env, argv[8]);
  if (want_control && !hot::GetSize(env, argv[7], &space, "controlSpace must be a number")) return nullptr;
  if (space > 65536) {
    napi_throw_range_error(env, nullptr, "recvmmsg: controlSpace is too large");
    return nullptr;
  }
  const size_t align = alignof(max_align_t);
  const size_t stride = (space + align - 1) / align * align;
  ControlBuffer cb;
  if (want_control && space > 0 && !cb.Reserve(stride * count)) return hot::Int(env, -ENOMEM);
  auto ctl = [&](size_t i) { return static_cast<unsigned char*>(cb.data) + i * stride; };
  const int extra = want_control && space > 0 ? kRecvFlags : 0;
  auto* lens = static_cast<int32_t*>(tdata);
  auto* base = static_cast<char*>(slab);
  // sockaddr_storage copies on our side keep the kernel's writes aligned.
  std::vector<sockaddr_storage> names(want_addr ? count : 0);
  std::vector<iovec> iov(count);
  int got = 0;
#ifdef MSG_WAITFORONE
  std::vector<mmsghdr> hdr(count);
  for (size_t i = 0; i < count; i++) {
    iov[i].iov_base = base + i * slot;
    iov[i].iov_len = slot;
    memset(&hdr[i], 0, sizeof(hdr[i]));
    hdr[i].msg_hdr.msg_iov = &iov[i];
    hdr[i].msg_hdr.msg_iovlen = 1;
    if (want_addr) {
      hdr[i].msg_hdr.msg_name = &names[i];
      hdr[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    if (extra != 0) {
      hdr[i].msg_hdr.msg_control = ctl(i);
      hdr[i].msg_hdr.msg_controllen = space;
    }
  }
  int n;
  do n = recvmmsg(fd, hdr.data(), static_cast<unsigned>(count), flags | extra, nullptr);
  while (n < 0 && errno == EINTR);
  bool cloexec_by_hand = false;
  if (n < 0 && errno == EINVAL && extra != 0) {  // a family that refuses MSG_CMSG_CLOEXEC
    do n = recvmmsg(fd, hdr.data(), static_cast<unsigned>(count), flags, nullptr);
    while (n < 0 && errno == EINTR);
    cloexec_by_hand = true;
  }
  if (n < 0) return hot::Int(env, Err());
  got = n;
  if (cloexec_by_hand)
    for (int i = 0; i < got; i++) SetCloexecOnRights(&hdr[i].msg_hdr);
  for (int i = 0; i < got; i++) {
    lens[i] = static_cast<int32_t>(hdr[i].msg_len);
    lens[count + i] = hdr[i].msg_hdr.msg_flags & ~kRecvFlags;
    if (want_addr) lens[2 * count + i] = static_cast<int32_t>(hdr[i].msg_hdr.msg_namelen);
  }
  auto header = [&](int i) -> msghdr* { return &hdr[i].msg_hdr; };
#else
  std::vector<msghdr> heads(count);
  for (size_t i = 0; i < count; i++) {
    iov[i].iov_base = base + i * slot;
    iov[i].iov_len = slot;
    msghdr m{};
    m.msg_iov = &iov[i];
    m.msg_iovlen = 1;
    if (want_addr) {
      m.msg_name = &names[i];
      m.msg_namelen = sizeof(sockaddr_storage);
    }
    if (extra != 0) {
      m.msg_control = ctl(i);
      m.msg_controllen = space;
    }
    ssize_t r;
    do r = recvmsg(fd, &m, flags | extra);
    while (r < 0 && errno == EINTR);
    if (r < 0 && errno == EINVAL && extra != 0) {  // a family that refuses MSG_CMSG_CLOEXEC
      do r = recvmsg(fd, &m, flags);
      while (r < 0 && errno == EINTR);
      if (r >= 0) SetCloexecOnRights(&m);
    }
    if (r < 0) {
      if (got > 0) break;
      return hot::Int(env, Err());
    }
    lens[i] = static_cast<int32_t>(r);
    lens[count + i] = m.msg_flags & ~kRecvFlags;
    if (want_addr) lens[2 * count + i] = static_cast<int32_t>(m.msg_namelen);
    heads[i] = m;
    got++;
  }
  auto header = [&](int i) -> msghdr* { return &heads[i]; };
#endif
  if (want_addr)
    for (int i = 0; i < got; i++) memcpy(static_cast<char*>(addrs) + i * sizeof(sockaddr_storage), &names[i], sizeof(sockaddr_storage));
  if (want_control) {
    Napi::Env e(env);
    bool peek = (flags & MSG_PEEK) != 0;
    Napi::Array lists = Napi::Array::New(e, got);
    for (int i = 0; i < got; i++) {
      msghdr* m = header(i);
      if (m->msg_control == nullptr) m->msg_controllen = 0;
      Napi::Value items = DecodeControl(e, m, peek);  // closes this message's fds itself on failure
      if (items.IsEmpty()) {
        if (!peek) for (int j = i + 1; j < got; j++) DisposeRights(header(j));
        return nullptr;
      }
      lists.Set(static_cast<uint32_t>(i), items);
    }
    Napi::Value(env, argv[8]).As<Napi::Object>().Set("value", lists);
    if (e.IsExceptionPending()) return nullptr;
  }
  return hot::Int(env, got);
}

// sendmmsg(fd, buffers[], flags, address?, control?) -> messages sent | -errno
// Each Buffer is one datagram, all to one destination (or the connected peer),
// each with the same control items (encoded once).
napi_value Sendmmsg(napi_env env, napi_callback_info cbi) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, cbi, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  int32_t fd, flags;
  if (argc < 3 || !hot::GetInt(env, argv[0], &fd, "fd must be a number") ||
      !hot::GetInt(env, argv[2], &flags, "flags must be a number"))
    return nullptr;
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  if (!is_array) {
    napi_throw_type_error(env, nullptr, "sendmmsg: buffers must be an array of Buffers");
    return nullptr;
  }
  uint32_t count = 0;
  napi_get_array_length(env, argv[1], &count);
  if (count > 1024) count = 1024;
  sockaddr_storage ss;
  socklen_t alen = 0;
  if (argc > 3 && !hot::IsNullish(env, argv[3])) {
    void* data;
    size_t blen;
    if (napi_get_buffer_info(env, argv[3], &data, &blen) == napi_ok && blen <= sizeof(ss)) {
      memcpy(&ss, data, blen);
      alen = static_cast<socklen_t>(blen);
    } else {
      int n = EncodeSockaddr(Napi::Env(env), Napi::Value(env, argv[3]), &ss);
      if (n < 0) return nullptr;
      alen = static_cast<socklen_t>(n);
    }
  }
  ControlBuffer cb;
  long clen = 0;
  if (argc > 4 && !hot::IsNullish(env, argv[4])) {
    clen = EncodeControl(Napi::Env(env), Napi::Value(env, argv[4]), &cb);
    if (clen < 0) return nullptr;
  }
  std::vector<iovec> iov(count);
  for (uint32_t i = 0; i < count; i++) {
    napi_value e;
    void* data;
    size_t len;
    if (napi_get_element(env, argv[1], i, &e) != napi_ok || napi_get_buffer_info(env, e, &data, &len) != napi_ok) {
      napi_throw_type_error(env, nullptr, "sendmmsg: buffers must be an array of Buffers");
      return nullptr;
    }
    iov[i].iov_base = data;
    iov[i].iov_len = len;
  }
  int sent = 0;
#ifdef MSG_WAITFORONE
  std::vector<mmsghdr> hdr(count);
  for (uint32_t i = 0; i < count; i++) {
    memset(&hdr[i], 0, sizeof(hdr[i]));
    hdr[i].msg_hdr.msg_iov = &iov[i];
    hdr[i].msg_hdr.msg_iovlen = 1;
    if (alen > 0) {
      hdr[i].msg_hdr.msg_name = &ss;
      hdr[i].msg_hdr.msg_namelen = alen;
    }
    if (clen > 0) {
      hdr[i].msg_hdr.msg_control = cb.data;
      hdr[i].msg_hdr.msg_controllen = static_cast<size_t>(clen);
    }
  }
  int n;
  do n = count == 0 ? 0 : sendmmsg(fd, hdr.data(), count, flags | kSendFlags);
  while (n < 0 && errno == EINTR);
  if (n < 0) return hot::Int(env, Err());
  sent = n;
#else
  for (uint32_t i = 0; i < count; i++) {
    msghdr m{};
    m.msg_iov = &iov[i];
    m.msg_iovlen = 1;
    if (alen > 0) {
      m.msg_name = &ss;
      m.msg_namelen = alen;
    }
    if (clen > 0) {
      m.msg_control = cb.data;
      m.msg_controllen = static_cast<size_t>(clen);
    }
    ssize_t r;
    do r = sendmsg(fd, &m, flags | kSendFlags);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (sent > 0) break;
      return hot::Int(env, Err());
    }
    sent++;
  }
#endif
  return hot::Int(env, sent);
}

// dup(fd) -> a close-on-exec duplicate | -errno (adopting a descriptor that
// other code also owns: the two numbers share one open file description).
Napi::Value Dup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (r < 0) return R(env, Err());
  return R(env, r);
}

// if_nametoindex(name) -> index (0 when there is no such interface).
Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    ThrowType(env, "if_nametoindex: name must be a string");
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.size() >= IF_NAMESIZE || name.find('\0') != std::string::npos) return R(env, 0);
  return R(env, static_cast<long>(if_nametoindex(name.c_str())));
}

// if_indextoname(index) -> name, or -errno (ENXIO when there is none).
Napi::Value IfIndexToName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    ThrowType(env, "if_indextoname: index must be a number");
    return env.Undefined();
  }
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 1 && d <= UINT32_MAX)) return R(env, -ENXIO);
  char name[IF_NAMESIZE];
  if (if_indextoname(static_cast<unsigned>(d), name) == nullptr) return R(env, Err());
  return Napi::String::New(env, name);
}

// forget(fd): stops tracking a descriptor handed to another owner (no close).
Napi::Value Forget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  Instance* inst = GetInstance(env);
  ClosePollerOf(inst, fd);
  ForgetFd(inst, fd);
  return env.Undefined();
}

}  // namespace

void InitSyscalls(Napi::Env env, Napi::Object exports) {
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  static const Entry entries[] = {
      {"socket", Socket},           {"socketpair", Socketpair},   {"bind", Bind},
      {"connect", Connect},         {"listen", Listen},           {"accept", Accept},
      {"getsockopt", Getsockopt},
      {"setsockopt", Setsockopt},   {"shutdown", Shutdown},       {"close", Close},
      {"closeAsync", CloseAsync},
      {"getsockname", Getsockname}, {"getpeername", Getpeername}, {"fionread", Fionread},
      {"outq", Outq},               {"adopt", Adopt},             {"dup2cloexec", Dup2},
      {"if_nametoindex", IfNameToIndex}, {"if_indextoname", IfIndexToName},
      {"dup", Dup},                 {"forget", Forget},
  };
  for (const Entry& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
  napi_value fn;
  napi_create_function(env, "sendmsg", NAPI_AUTO_LENGTH, Sendmsg, nullptr, &fn);
  exports.Set("sendmsg", fn);
  napi_create_function(env, "recvmsg", NAPI_AUTO_LENGTH, Recvmsg, nullptr, &fn);
  exports.Set("recvmsg", fn);
  napi_create_function(env, "recvmsgAlloc", NAPI_AUTO_LENGTH, RecvmsgAlloc, nullptr, &fn);
  exports.Set("recvmsgAlloc", fn);
  napi_create_function(env, "recvmmsg", NAPI_AUTO_LENGTH, Recvmmsg, nullptr, &fn);
  exports.Set("recvmmsg", fn);
  napi_create_function(env, "sendmmsg", NAPI_AUTO_LENGTH, Sendmmsg, nullptr, &fn);
  exports.Set("sendmmsg", fn);
}

}  // namespace ksock
