// Syscall helpers, written once: the EINTR retry, descriptors created
// O_NONBLOCK and close-on-exec (atomically where the platform can), and the
// send/receive flags ksock always adds.
#ifndef KSOCK_SYS_H
#define KSOCK_SYS_H

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>

// Evaluates `expr` (a syscall returning < 0 on failure) until it is not
// interrupted; the value of the last call.
#define KSOCK_RETRY(expr)                        \
  ({                                             \
    auto ksock_r_ = (expr);                      \
    while (ksock_r_ < 0 && errno == EINTR)       \
      ksock_r_ = (expr);                         \
    ksock_r_;                                    \
  })

// The fallback that `dup3(int, int, int)` resolves to where the C library
// declares none (a worse match than the real one wherever that exists).
struct KsockNoDup3 {};
inline KsockNoDup3 dup3(long, long, long) { return {}; }

namespace ksock {
namespace sys {

// The negative errno of the last failed call.
inline long Err() { return -static_cast<long>(errno); }

// Flags added to every send: no SIGPIPE (MSG_NOSIGNAL where it exists;
// SO_NOSIGPIPE is set on the socket elsewhere).
constexpr int kSendFlags =
#ifdef MSG_NOSIGNAL
    MSG_NOSIGNAL;
#else
    0;
#endif

// Flags added to every receive with a control buffer: received descriptors
// are close-on-exec from the start (MSG_CMSG_CLOEXEC where it exists).
constexpr int kRecvFlags =
#ifdef MSG_CMSG_CLOEXEC
    MSG_CMSG_CLOEXEC;
#else
    0;
#endif

#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
constexpr bool kAtomicFlags = true;
constexpr int kSockFlags = SOCK_NONBLOCK | SOCK_CLOEXEC;
#else
constexpr bool kAtomicFlags = false;
constexpr int kSockFlags = 0;
#endif

// Makes fd O_NONBLOCK and close-on-exec. 0 or -errno.
inline long SetNonblockCloexec(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) return Err();
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0 || (!(fdfl & FD_CLOEXEC) && fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)) return Err();
  return 0;
}

// SO_NOSIGPIPE where the platform has it (no MSG_NOSIGNAL there).
inline void SetNoSigpipe(int fd) {
#ifdef SO_NOSIGPIPE
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#else
  (void)fd;
#endif
}

// close(2), never retried: Linux and the BSDs release the descriptor even
// when close is interrupted, and a retry could close a number another thread
// has just been given. 0 or -errno (EINTR counts as success).
inline long Close(int fd) {
  if (close(fd) < 0 && errno != EINTR) return Err();
  return 0;
}

// A descriptor made ready for ksock: nonblocking, close-on-exec, no SIGPIPE.
// On failure fd is closed. fd or -errno.
inline long Prepare(int fd, bool flags_set) {
  if (!flags_set) {
    long e = SetNonblockCloexec(fd);
    if (e < 0) {
      Close(fd);
      return e;
    }
  }
  SetNoSigpipe(fd);
  return fd;
}

// socket(2): fd or -errno.
inline long Socket(int domain, int type, int protocol) {
  int fd = socket(domain, type | kSockFlags, protocol);
  if (fd < 0) return Err();
  return Prepare(fd, kAtomicFlags);
}

// socketpair(2): 0 or -errno; both descriptors prepared or neither left open.
inline long Socketpair(int domain, int type, int protocol, int sv[2]) {
  if (socketpair(domain, type | kSockFlags, protocol, sv) < 0) return Err();
  long e = Prepare(sv[0], kAtomicFlags);
  if (e < 0) {
    Close(sv[1]);
    return e;
  }
  e = Prepare(sv[1], kAtomicFlags);
  if (e < 0) {
    Close(sv[0]);
    return e;
  }
  return 0;
}

// accept(2) (accept4 with the flags where it exists): fd or -errno.
inline long Accept(int fd) {
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  int nfd = KSOCK_RETRY(accept4(fd, nullptr, nullptr, kSockFlags));
  if (nfd < 0) return Err();
  return Prepare(nfd, true);
#else
  int nfd = KSOCK_RETRY(accept(fd, nullptr, nullptr));
  if (nfd < 0) return Err();
  return Prepare(nfd, false);
#endif
}

// A close-on-exec duplicate: fd or -errno.
inline long DupCloexec(int fd) {
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (r < 0) return Err();
  return r;
}

// Atomically replaces newfd with a close-on-exec duplicate of oldfd: dup3
// where the C library has it (found by overload resolution against the
// fallback below, not by the OS's name), else dup2 and FD_CLOEXEC. 0 or -errno.
template <bool HasDup3>
struct Dup3Impl {
  template <typename I>
  static long Run(I oldfd, I newfd) {
    if (KSOCK_RETRY(dup3(oldfd, newfd, O_CLOEXEC)) < 0) return Err();
    return 0;
  }
};
template <>
struct Dup3Impl<false> {
  template <typename I>
  static long Run(I oldfd, I newfd) {
    if (KSOCK_RETRY(dup2(oldfd, newfd)) < 0) return Err();
    fcntl(newfd, F_SETFD, FD_CLOEXEC);
    return 0;
  }
};

#ifdef O_CLOEXEC
constexpr bool kHaveDup3 = !std::is_same<decltype(dup3(0, 0, 0)), KsockNoDup3>::value;
#else
constexpr bool kHaveDup3 = false;
#endif

inline long Dup3Cloexec(int oldfd, int newfd) { return Dup3Impl<kHaveDup3>::Run(oldfd, newfd); }

}  // namespace sys
}  // namespace ksock

#endif  // KSOCK_SYS_H
