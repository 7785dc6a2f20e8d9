// Thin 1:1 socket syscalls.
//
// Every function returns a non-negative result or -errno; none allocates an
// Error for an OS failure, and EINTR is retried inside. Every descriptor
// created or accepted here is O_NONBLOCK and close-on-exec, and is tracked
// per environment so that teardown can close what JavaScript left open.
#include "ksock.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cerrno>
#include <climits>
#include <cstring>
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

// sendmsg(fd, data, offset, length, flags, address?, control?) -> bytes | -errno
Napi::Value Sendmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, flags;
  size_t off, len;
  if (!ArgFd(env, info[0], &fd) || !ArgSize(env, info[2], "offset", &off) ||
      !ArgSize(env, info[3], "length", &len) || !ArgInt(env, info[4], "flags", &flags))
    return env.Undefined();
  iovec stack[kMaxIov];
  std::vector<iovec> heap;
  iovec* iov;
  int iovcnt = CollectIov(env, info[1], off, len, &heap, stack, &iov);
  if (iovcnt < 0) return env.Undefined();
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = iovcnt;
  sockaddr_storage ss;
  if (info.Length() > 5 && !info[5].IsUndefined() && !info[5].IsNull()) {
    int alen = EncodeSockaddr(env, info[5], &ss);
    if (alen < 0) return env.Undefined();
    msg.msg_name = &ss;
    msg.msg_namelen = static_cast<socklen_t>(alen);
  }
  ControlBuffer cb;
  if (info.Length() > 6) {
    long clen = EncodeControl(env, info[6], &cb);
    if (clen < 0) return env.Undefined();
    if (clen > 0) {
      msg.msg_control = cb.data;
      msg.msg_controllen = static_cast<size_t>(clen);
    }
  }
  ssize_t n;
  do n = sendmsg(fd, &msg, flags | kSendFlags);
  while (n < 0 && errno == EINTR);
  return R(env, n < 0 ? Err() : static_cast<long>(n));
}

// recvmsg(fd, data, offset, length, flags, paddr?, controlp?, controlSize)
//   -> bytes | -errno
// msg_flags, msg_namelen and msg_controllen go to state[0..2]. When paddr /
// controlp holder objects are given, their .value is set to the decoded
// source address / the array of control items.
Napi::Value Recvmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, flags;
  size_t off, len, csize = 0;
  if (!ArgFd(env, info[0], &fd) || !ArgSize(env, info[2], "offset", &off) ||
      !ArgSize(env, info[3], "length", &len) || !ArgInt(env, info[4], "flags", &flags))
    return env.Undefined();
  bool want_addr = info.Length() > 5 && info[5].IsObject();
  bool want_control = info.Length() > 6 && info[6].IsObject();
  if (want_control && !ArgSize(env, info[7], "controlSize", &csize)) return env.Undefined();
  if (csize > (1 << 20)) {
    ThrowRange(env, "controlSize is too large");
    return env.Undefined();
  }
  iovec stack[kMaxIov];
  std::vector<iovec> heap;
  iovec* iov;
  int iovcnt = CollectIov(env, info[1], off, len, &heap, stack, &iov);
  if (iovcnt < 0) return env.Undefined();
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = iovcnt;
  sockaddr_storage ss;
  if (want_addr) {
    memset(&ss, 0, sizeof(ss));
    msg.msg_name = &ss;
    msg.msg_namelen = sizeof(ss);
  }
  ControlBuffer cb;
  if (want_control && csize > 0) {
    if (!cb.Reserve(csize)) return R(env, -ENOMEM);
    msg.msg_control = cb.data;
    msg.msg_controllen = csize;
  }
  ssize_t n;
  do n = recvmsg(fd, &msg, flags | kRecvFlags);
  while (n < 0 && errno == EINTR);
  if (n < 0) return R(env, Err());
  if (msg.msg_control == nullptr) msg.msg_controllen = 0;
  int32_t* state = GetInstance(env)->state;
  state[kMsgFlags] = msg.msg_flags & ~kRecvFlags;  // Linux echoes MSG_CMSG_CLOEXEC
  state[kAddrLen] = want_addr ? static_cast<int32_t>(msg.msg_namelen) : 0;
  state[kControlLen] = static_cast<int32_t>(msg.msg_controllen);
  if (want_control) {
    Napi::Value items = DecodeControl(env, &msg);  // closes the fds itself on failure
    if (items.IsEmpty()) return env.Undefined();
    info[6].As<Napi::Object>().Set("value", items);
    if (env.IsExceptionPending()) {
      DisposeRights(&msg);
      return env.Undefined();
    }
  }
  if (want_addr) {
    info[5].As<Napi::Object>().Set("value", DecodeSockaddr(env, &ss, msg.msg_namelen));
    if (env.IsExceptionPending()) return env.Undefined();
  }
  return R(env, static_cast<long>(n));
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

// fdinfo(fd) -> [O_NONBLOCK set, FD_CLOEXEC set] as bits 1 and 2, or -errno.
Napi::Value Fdflags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(env, info[0], &fd)) return env.Undefined();
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return R(env, Err());
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0) return R(env, Err());
  return R(env, ((fl & O_NONBLOCK) ? 1 : 0) | ((fdfl & FD_CLOEXEC) ? 2 : 0));
}

// openFds() -> number of descriptors tracked by this environment.
Napi::Value TrackedFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return R(env, static_cast<long>(GetInstance(env)->fds.size()));
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
      {"sendmsg", Sendmsg},         {"recvmsg", Recvmsg},         {"getsockopt", Getsockopt},
      {"setsockopt", Setsockopt},   {"shutdown", Shutdown},       {"close", Close},
      {"getsockname", Getsockname}, {"getpeername", Getpeername}, {"fionread", Fionread},
      {"outq", Outq},               {"adopt", Adopt},             {"dup2cloexec", Dup2},
      {"fdflags", Fdflags},         {"trackedFds", TrackedFds},
  };
  for (const Entry& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
}

}  // namespace ksock
