// Thin 1:1 socket syscalls on Handles (message I/O is in msgio.cc, the
// owners in handle.cc).
//
// Every function returns a non-negative result or -errno; none allocates an
// Error for an OS failure, and EINTR is retried inside. Every descriptor
// created or accepted here is O_NONBLOCK and close-on-exec and belongs to a
// new Handle the moment it exists.
#include <net/if.h>
#include <sys/ioctl.h>

#include <climits>
#include <cstring>
#include <string>

#include "args.h"
#include "filter.h"
#include "handle.h"
#include "ksock.h"
#include "sys.h"

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

namespace {

// A new socket's Handle, or -errno.
napi_value HandleOr(napi_env env, long fd) {
  if (fd < 0) return arg::Number(env, fd);
  return NewHandle(env, InstanceOf(env), static_cast<int>(fd));
}

// socket(domain, type, protocol) -> Handle | -errno
// The (domain, type, protocol) arguments of socket and socketpair.
bool Triple(napi_env env, napi_callback_info info, int32_t* domain, int32_t* type, int32_t* protocol) {
  napi_value argv[3];
  arg::Args(env, info, 3, argv);
  return arg::Int32(env, argv[0], "domain", domain) && arg::Int32(env, argv[1], "type", type) &&
         arg::Int32(env, argv[2], "protocol", protocol);
}

napi_value Socket(napi_env env, napi_callback_info info) {
  int32_t domain, type, protocol;
  if (!Triple(env, info, &domain, &type, &protocol)) return nullptr;
  return HandleOr(env, sys::Socket(domain, type, protocol));
}

// socketpair(domain, type, protocol) -> [Handle, Handle] | -errno
napi_value Socketpair(napi_env env, napi_callback_info info) {
  int32_t domain, type, protocol;
  if (!Triple(env, info, &domain, &type, &protocol)) return nullptr;
  int sv[2];
  long e = sys::Socketpair(domain, type, protocol, sv);
  if (e < 0) return arg::Number(env, e);
  Instance* inst = InstanceOf(env);
  napi_value a = NewHandle(env, inst, sv[0]);
  if (a == nullptr) {
    sys::Close(sv[1]);
    return nullptr;
  }
  napi_value b = NewHandle(env, inst, sv[1]);  // a's finalizer closes sv[0] if this fails
  if (b == nullptr) return nullptr;
  napi_value arr;
  if (napi_create_array_with_length(env, 2, &arr) != napi_ok || napi_set_element(env, arr, 0, a) != napi_ok ||
      napi_set_element(env, arr, 1, b) != napi_ok)
    return arg::Fail(env, "socketpair"), nullptr;
  return arr;
}

// bind(handle, address) / connect(handle, address) -> 0 | -errno
napi_value AddrCall(napi_env env, napi_callback_info info, bool is_connect) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  int fd;
  if (!GetHandleFd(env, argv[0], &fd)) return nullptr;
  sockaddr_storage ss;
  int len = EncodeSockaddr(Napi::Env(env), Napi::Value(env, argv[1]), &ss);
  if (len < 0) return nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  const sockaddr* sa = reinterpret_cast<const sockaddr*>(&ss);
  if (!is_connect) return arg::Number(env, bind(fd, sa, static_cast<socklen_t>(len)) < 0 ? sys::Err() : 0);
  // connect() is not restartable: an EINTR means the attempt goes on
  // asynchronously, exactly like EINPROGRESS.
  if (connect(fd, sa, static_cast<socklen_t>(len)) < 0) return arg::Number(env, errno == EINTR ? -EINPROGRESS : sys::Err());
  return arg::Number(env, 0);
}

napi_value Bind(napi_env env, napi_callback_info info) { return AddrCall(env, info, false); }
napi_value Connect(napi_env env, napi_callback_info info) { return AddrCall(env, info, true); }

napi_value Listen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  int fd;
  int32_t backlog;
  if (!GetHandleFd(env, argv[0], &fd) || !arg::Int32(env, argv[1], "backlog", &backlog)) return nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  return arg::Number(env, listen(fd, backlog) < 0 ? sys::Err() : 0);
}

// accept(handle) -> Handle | -errno (nonblocking, close-on-exec).
napi_value Accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  int fd;
  if (!GetHandleFd(env, argv[0], &fd)) return nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  return HandleOr(env, sys::Accept(fd));
}

// connect2(h1, h2) -> 0 | -errno: makes two unconnected local sockets a
// connected pair, keeping their numbers: a fresh socketpair is dup3()ed onto
// both. If the second dup3 fails (only EBADF-style failures can), h1 has
// been replaced and h2 not; the pair's temporary descriptors are closed on
// every path.
napi_value Connect2(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  int fd1, fd2;
  Handle *h1 = nullptr, *h2 = nullptr;
  if (!GetHandleFd(env, argv[0], &fd1, &h1) || !GetHandleFd(env, argv[1], &fd2, &h2)) return nullptr;
  if (fd1 < 0 || fd2 < 0) return arg::Number(env, -EBADF);
  int type = 0;
  socklen_t tl = sizeof(type);
  if (getsockopt(fd1, SOL_SOCKET, SO_TYPE, &type, &tl) < 0) return arg::Number(env, sys::Err());
  int sv[2];
  long e = sys::Socketpair(AF_UNIX, type, 0, sv);
  if (e < 0) return arg::Number(env, e);
  // The numbers stay, the open files behind them change: their watchers
  // (registered for the old files) go first.
  ClosePoll(h1);
  ClosePoll(h2);
  e = sys::Dup3Cloexec(sv[0], fd1);
  if (e == 0) e = sys::Dup3Cloexec(sv[1], fd2);
  sys::Close(sv[0]);
  sys::Close(sv[1]);
  return arg::Number(env, e);
}

// getsockopt(handle, level, name, buffer) -> returned optlen | -errno.
// The value is copied into buffer, truncated to its length (the returned
// optlen may be larger: that is how the caller learns the full size).
napi_value Getsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  arg::Args(env, info, 4, argv);
  int fd;
  int32_t level, name;
  if (!GetHandleFd(env, argv[0], &fd) || !arg::Int32(env, argv[1], "level", &level) ||
      !arg::Int32(env, argv[2], "name", &name))
    return nullptr;
  if (!arg::IsBytes(env, argv[3])) return arg::Throw(env, arg::kType, "getsockopt: value must be a Buffer"), nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  arg::Bytes b;
  if (!arg::Pin(env, argv[3], "value", &b)) return nullptr;
  if (b.len > (1u << 20)) return arg::Throw(env, arg::kRange, "getsockopt: value is too large"), nullptr;
  // SO_GET_FILTER counts instructions, not bytes: never hand the kernel a byte count as one.
  if (filter::IsGet(level, name)) return arg::Number(env, filter::Get(fd, level, name, b.data, b.len));
  // An aligned bounce buffer: option structs are read as C structs by the
  // kernel ABI; the caller's Buffer may be at any offset of its pool.
  alignas(alignof(max_align_t)) unsigned char tmp[1024];
  std::vector<unsigned char> big;
  unsigned char* p = tmp;
  if (b.len > sizeof(tmp)) {
    big.resize(b.len);
    p = big.data();
  }
  memset(p, 0, b.len > sizeof(tmp) ? b.len : sizeof(tmp));
  socklen_t optlen = static_cast<socklen_t>(b.len);
  if (getsockopt(fd, level, name, p, &optlen) < 0) return arg::Number(env, sys::Err());
  arg::CopyBytes(b.data, p, optlen < b.len ? optlen : b.len);
  return arg::Number(env, static_cast<long>(optlen));
}

// setsockopt(handle, level, name, buffer, length) -> 0 | -errno
napi_value Setsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  arg::Args(env, info, 5, argv);
  int fd;
  int32_t level, name;
  size_t len;
  if (!GetHandleFd(env, argv[0], &fd) || !arg::Int32(env, argv[1], "level", &level) ||
      !arg::Int32(env, argv[2], "name", &name) || !arg::Size(env, argv[4], "length", 1u << 20, &len))
    return nullptr;
  bool has = arg::IsBytes(env, argv[3]);
  if (!has && !arg::IsNullish(env, argv[3])) return arg::Throw(env, arg::kType, "setsockopt: value must be a Buffer"), nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  arg::Bytes b;
  if (has && !arg::Pin(env, argv[3], "value", &b)) return nullptr;
  if (len > b.len) return arg::Throw(env, arg::kRange, "setsockopt: length exceeds the value Buffer"), nullptr;
  // A BPF program is given as its instructions; the sock_fprog pointing at them is built natively.
  if (filter::IsAttach(level, name, len)) {
    if (len % filter::kInsnSize != 0 || len == 0 || len > filter::kMaxInsns * filter::kInsnSize)
      return arg::Throw(env, arg::kRange, "setsockopt: a BPF program is 1..4096 instructions of 8 bytes (got %zu bytes)", len), nullptr;
    return arg::Number(env, filter::Attach(fd, level, name, b.data, len));
  }
  alignas(alignof(max_align_t)) unsigned char tmp[1024];
  std::vector<unsigned char> big;
  unsigned char* p = tmp;
  if (len > sizeof(tmp)) {
    big.resize(len);
    p = big.data();
  }
  arg::CopyBytes(p, b.data, len);
  if (setsockopt(fd, level, name, len > 0 ? p : nullptr, static_cast<socklen_t>(len)) < 0) return arg::Number(env, sys::Err());
  return arg::Number(env, 0);
}

napi_value Shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  int fd;
  int32_t how;
  if (!GetHandleFd(env, argv[0], &fd) || !arg::Int32(env, argv[1], "how", &how)) return nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  return arg::Number(env, shutdown(fd, how) < 0 ? sys::Err() : 0);
}

napi_value NameOf(napi_env env, napi_callback_info info, bool peer) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  int fd;
  if (!GetHandleFd(env, argv[0], &fd)) return nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  socklen_t len = sizeof(ss);
  int r = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
               : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (r < 0) return arg::Number(env, sys::Err());
  Napi::Value v = DecodeSockaddr(Napi::Env(env), &ss, len);
  return v.IsEmpty() ? nullptr : static_cast<napi_value>(v);
}

napi_value Getsockname(napi_env env, napi_callback_info info) { return NameOf(env, info, false); }
napi_value Getpeername(napi_env env, napi_callback_info info) { return NameOf(env, info, true); }

// fionread(handle) -> bytes readable | -errno (Linux UDP: the next datagram's size).
// outq(handle) -> bytes queued for sending | -errno (-EOPNOTSUPP where unknown).
napi_value Ioctl(napi_env env, napi_callback_info info, bool out) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  int fd;
  if (!GetHandleFd(env, argv[0], &fd)) return nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  int n = 0;
  unsigned long req = FIONREAD;
  if (out) {
#if defined(SIOCOUTQ)
    req = SIOCOUTQ;
#elif defined(FIONWRITE)
    req = FIONWRITE;
#elif defined(TIOCOUTQ)
    req = TIOCOUTQ;
#else
    return arg::Number(env, -EOPNOTSUPP);
#endif
  }
  if (ioctl(fd, req, &n) < 0) return arg::Number(env, sys::Err());
  return arg::Number(env, n);
}

napi_value Fionread(napi_env env, napi_callback_info info) { return Ioctl(env, info, false); }
napi_value Outq(napi_env env, napi_callback_info info) { return Ioctl(env, info, true); }

// if_nametoindex(name) -> index (0 when there is no such interface).
napi_value IfNameToIndex(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  if (arg::TypeOf(env, argv[0]) != napi_string)
    return arg::Throw(env, arg::kType, "if_nametoindex: name must be a string"), nullptr;
  char name[IF_NAMESIZE];
  size_t len;
  if (!arg::Utf8(env, argv[0], "name", name, sizeof(name), &len, true)) {
    // Too long or with a NUL: no interface has that name.
    bool pending = false;
    napi_value e;
    napi_is_exception_pending(env, &pending);
    if (pending) napi_get_and_clear_last_exception(env, &e);
    return arg::Number(env, 0);
  }
  return arg::Number(env, static_cast<long>(if_nametoindex(name)));
}

// if_indextoname(index) -> name, or -errno (ENXIO when there is none).
napi_value IfIndexToName(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  if (arg::TypeOf(env, argv[0]) != napi_number)
    return arg::Throw(env, arg::kType, "if_indextoname: index must be a number"), nullptr;
  double d = 0;
  napi_get_value_double(env, argv[0], &d);
  if (!(d >= 1 && d <= UINT32_MAX)) return arg::Number(env, -ENXIO);
  char name[IF_NAMESIZE];
  if (if_indextoname(static_cast<unsigned>(d), name) == nullptr) return arg::Number(env, sys::Err());
  napi_value s;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &s);
  return s;
}

}  // namespace

void InitSyscalls(Napi::Env env, Napi::Object exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  static const Fn fns[] = {
      {"socket", Socket},           {"socketpair", Socketpair},   {"bind", Bind},
      {"connect", Connect},         {"listen", Listen},           {"accept", Accept},
      {"connect2", Connect2},       {"getsockopt", Getsockopt},   {"setsockopt", Setsockopt},
      {"shutdown", Shutdown},       {"getsockname", Getsockname}, {"getpeername", Getpeername},
      {"fionread", Fionread},       {"outq", Outq},               {"if_nametoindex", IfNameToIndex},
      {"if_indextoname", IfIndexToName},
  };
  for (const Fn& f : fns) {
    napi_value fn;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn) == napi_ok)
      napi_set_named_property(env, exports, f.name, fn);
  }
}

}  // namespace ksock
