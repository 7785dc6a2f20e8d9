// Network namespaces (Linux): a socket, a file or a new named namespace made
// inside another network namespace, without the calling thread ever leaving
// its own.
//
// Every operation that must run inside a namespace runs on a dedicated,
// short-lived thread (never a libuv threadpool thread: those are reused, and
// one left in another namespace would poison later work). The thread enters
// the target with setns(CLONE_NEWNET) (or makes a new namespace with
// unshare(CLONE_NEWNET)), does its one job and exits; the calling thread
// joins it at once (microseconds). A socket's namespace is fixed when it is
// created, and a /proc/sys/net file resolves against the opener's namespace,
// so the descriptor or the bytes come back valid for the whole process.
//
// The thread is a pthread, not std::thread: without C++ exceptions a
// std::thread that cannot start aborts the process, whereas pthread_create
// returns an error. It starts with every signal blocked, so that no
// process-directed signal lands on it.
//
// Elsewhere (no CLONE_NEWNET / setns / bind mounts in the headers) every
// function exists and returns -ENOSYS.
//
// Exports (each returns its result or -errno; on failure the failing
// syscall's name goes into `where.value` when a holder is passed):
//   socketIn(target, domain, type, protocol, where?)  -> Handle | -errno
//   nsReadFile(target, path, where?)                  -> Buffer | -errno
//   nsWriteFile(target, path, data, where?)           -> bytes | -errno
//   netnsAdd(name, where?) / netnsDelete(name, where?) -> 0 | -errno
//   netnsSupported                                    -> boolean
// `target` is a path ("/run/netns/NAME", "/proc/PID/ns/net") or a descriptor
// number the caller owns (it is used, never closed).
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "args.h"
#include "handle.h"
#include "ksock.h"
#include "sys.h"

#if __has_include(<sched.h>) && __has_include(<sys/syscall.h>) && __has_include(<sys/mount.h>) && \
    __has_include(<sys/file.h>)
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#endif

#if defined(CLONE_NEWNET) && defined(SYS_setns) && defined(SYS_unshare) && defined(MS_BIND) && \
    defined(MS_SHARED) && defined(MS_REC) && defined(MNT_DETACH) && defined(LOCK_EX) && defined(O_DIRECTORY)
#define KSOCK_HAVE_NETNS 1
#endif

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif
#ifndef NAME_MAX
#define NAME_MAX 255
#endif

namespace ksock {

namespace {

// Most bytes nsWriteFile takes.
constexpr size_t kWriteMax = 64 * 1024;

// ------------------------------------------------------------ the thread

// One job for a helper thread: `run` fills `err` (0 or -errno) and `step`
// (the failing syscall's name).
struct Job {
  void (*run)(Job*) = nullptr;
  long err = 0;
  const char* step = nullptr;
  const char* subject = nullptr;  // the path the failing step was about, if any
  long Fail(const char* what, const char* about = nullptr) {
    err = -static_cast<long>(errno);
    step = what;
    subject = about;
    return err;
  }
};

// Where the namespace is: a path (path[0] != 0) or a descriptor.
struct Target {
  char path[PATH_MAX];
  int fd = -1;
};

#ifdef KSOCK_HAVE_NETNS

// The directory named namespaces are bound into, as iproute2 has it.
constexpr char kRunDir[] = "/run/netns";
// Most bytes nsReadFile returns (a sysctl is a few bytes; /proc/net tables
// of a test namespace a few KiB).
constexpr size_t kReadMax = 64 * 1024;

void* Entry(void* p) {
  auto* j = static_cast<Job*>(p);
  j->run(j);
  return nullptr;
}

// Runs j on a new thread and waits for it. The thread inherits the signal
// mask in force at pthread_create: all blocked.
void RunOnThread(Job* j) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  int rc = pthread_create(&t, nullptr, Entry, j);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc != 0) {
    j->err = -static_cast<long>(rc);
    j->step = "pthread_create";
    return;
  }
  pthread_join(t, nullptr);
}

// Moves the calling (helper) thread into the target's network namespace.
// 0 or -errno with j->step set.
long Enter(const Target& t, Job* j) {
  int fd = t.fd;
  if (t.path[0] != '\0') {
    // O_NONBLOCK: a FIFO at the path must not hang the open (setns then
    // says EINVAL).
    fd = KSOCK_RETRY(open(t.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (fd < 0) return j->Fail("open", t.path);
  }
  long r = syscall(SYS_setns, fd, CLONE_NEWNET);
  int e = errno;
  if (fd != t.fd) sys::Close(fd);
  if (r < 0) {
    errno = e;
    return j->Fail("setns", t.path[0] != '\0' ? t.path : nullptr);
  }
  return 0;
}

// ----------------------------------------------------------- socketIn

struct SocketJob : Job {
  const Target* target = nullptr;
  int domain = 0, type = 0, protocol = 0;
  long fd = -1;
};

void RunSocket(Job* base) {
  auto* j = static_cast<SocketJob*>(base);
  if (Enter(*j->target, j) < 0) return;
  long fd = sys::Socket(j->domain, j->type, j->protocol);
  if (fd < 0) {
    j->err = fd;
    j->step = "socket";
    return;
  }
  j->fd = fd;
}

// ----------------------------------------------------------- files

struct FileJob : Job {
  const Target* target = nullptr;
  const char* path = nullptr;
  // write: the bytes (pinned by the caller, which runs no JavaScript until
  // the join); read: a kReadMax + 1 byte buffer.
  const uint8_t* in = nullptr;
  uint8_t* out = nullptr;
  size_t len = 0;  // write: bytes to write; both: bytes done
};

void RunRead(Job* base) {
  auto* j = static_cast<FileJob*>(base);
  if (Enter(*j->target, j) < 0) return;
  int fd = KSOCK_RETRY(open(j->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd < 0) {
    j->Fail("open", j->path);
    return;
  }
  size_t got = 0;
  // A bounded number of reads (a /proc file gives a page or more per read).
  for (int i = 0; i < 1024 && got <= kReadMax; i++) {
    ssize_t n = KSOCK_RETRY(read(fd, j->out + got, kReadMax + 1 - got));
    if (n < 0) {
      j->Fail("read", j->path);
      sys::Close(fd);
      return;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  sys::Close(fd);
  if (got > kReadMax) {
    errno = EFBIG;
    j->Fail("read", j->path);
    return;
  }
  j->len = got;
}

void RunWrite(Job* base) {
  auto* j = static_cast<FileJob*>(base);
  if (Enter(*j->target, j) < 0) return;
  int fd = KSOCK_RETRY(open(j->path, O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd < 0) {
    j->Fail("open", j->path);
    return;
  }
  size_t done = 0;
  for (int i = 0; i < 1024 && done < j->len; i++) {
    ssize_t n = KSOCK_RETRY(write(fd, j->in + done, j->len - done));
    if (n < 0) {
      j->Fail("write", j->path);
      sys::Close(fd);
      return;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  // A sysctl reports a rejected value at close on some kernels' paths.
  if (close(fd) < 0 && errno != EINTR) {
    j->Fail("close", j->path);
    return;
  }
  j->len = done;
}

// ---------------------------------------------------------- add / delete

struct AddJob : Job {
  const char* path = nullptr;  // /run/netns/NAME, created by the caller
};

// On the helper thread: a new network namespace for this thread, bound onto
// the namespace file so that it outlives the thread.
void RunAdd(Job* base) {
  auto* j = static_cast<AddJob*>(base);
  if (syscall(SYS_unshare, CLONE_NEWNET) < 0) {
    j->Fail("unshare");
    return;
  }
  // The thread's own namespace file (/proc/self would be the main thread's).
  char self[64];
  if (access("/proc/thread-self/ns/net", F_OK) == 0) {
    snprintf(self, sizeof(self), "/proc/thread-self/ns/net");
  } else {
#ifdef SYS_gettid
    snprintf(self, sizeof(self), "/proc/self/task/%ld/ns/net", static_cast<long>(syscall(SYS_gettid)));
#else
    errno = ENOENT;
    j->Fail("open");
    return;
#endif
  }
  if (mount(self, j->path, "none", MS_BIND, nullptr) < 0) j->Fail("mount", j->path);
}

// /run/netns exists and is a shared mount point, so that a namespace bound
// (and later unmounted) under it propagates to every mount namespace that
// sees it: make-shared, and where that says EINVAL (not a mount point yet)
// bind the directory onto itself first, once. Serialized with iproute2 (and
// other ksock processes) by a lock on the directory, taken with a bounded
// wait; without it, the setup goes on unlocked, as iproute2's does.
long PrepareRunDir(Job* j) {
  if (mkdir(kRunDir, 0755) < 0 && errno != EEXIST) return j->Fail("mkdir", kRunDir);
  int lock = KSOCK_RETRY(open(kRunDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (lock < 0) return j->Fail("open", kRunDir);
  bool locked = false;
  for (int i = 0; i < 200 && !locked; i++) {  // at most ~1 s
    if (flock(lock, LOCK_EX | LOCK_NB) == 0) locked = true;
    else if (errno == EWOULDBLOCK || errno == EINTR) usleep(5000);
    else break;
  }
  long r = 0;
  bool bound = false;
  for (int i = 0; i < 2; i++) {
    if (mount("", kRunDir, "none", MS_SHARED | MS_REC, nullptr) == 0) break;
    if (errno != EINVAL || bound) {
      r = j->Fail("mount", kRunDir);
      break;
    }
    if (mount(kRunDir, kRunDir, "none", MS_BIND | MS_REC, nullptr) < 0) {
      r = j->Fail("mount", kRunDir);
      break;
    }
    bound = true;
  }
  if (locked) flock(lock, LOCK_UN);
  sys::Close(lock);
  return r;
}

#endif  // KSOCK_HAVE_NETNS

// ------------------------------------------------------------ arguments

// A target argument: a path string or a descriptor number.
bool ReadTarget(napi_env env, napi_value v, Target* t) {
  t->path[0] = '\0';
  t->fd = -1;
  if (arg::TypeOf(env, v) == napi_string) {
    size_t len = 0;
    if (!arg::Utf8(env, v, "target", t->path, sizeof(t->path), &len, true)) return false;
    if (len == 0) return arg::Throw(env, arg::kType, "target must be a path or a descriptor");
    return true;
  }
  if (arg::TypeOf(env, v) == napi_number) {
    double d = 0;
    if (!arg::Integer(env, v, "target descriptor", 0, INT_MAX, &d)) return false;
    t->fd = static_cast<int>(d);
    return true;
  }
  return arg::Throw(env, arg::kType, "target must be a path or a descriptor");
}

// A file path argument (non-empty, no NUL).
bool ReadPath(napi_env env, napi_value v, const char* what, char* buf, size_t cap) {
  size_t len = 0;
  if (!arg::Utf8(env, v, what, buf, cap, &len, true)) return false;
  if (len == 0) return arg::Throw(env, arg::kType, "%s must not be empty", what);
  return true;
}

// A namespace name, checked as iproute2 checks it: not empty, no '/', not
// "." or "..", at most NAME_MAX bytes.
bool ReadName(napi_env env, napi_value v, char* buf, size_t cap) {
  size_t len = 0;
  if (!arg::Utf8(env, v, "namespace name", buf, cap, &len, true)) return false;
  if (len == 0 || strchr(buf, '/') != nullptr || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
    return arg::Throw(env, arg::kType, "namespace name must be a file name: not empty, no '/', not '.' or '..'");
  return true;
}

// A holder argument ({ value, path }) for the failing step, or none.
bool ReadWhere(napi_env env, napi_value v, napi_value* out) {
  *out = nullptr;
  if (arg::IsNullish(env, v)) return true;
  if (!arg::IsObject(env, v)) return arg::Throw(env, arg::kType, "where must be a { value } holder");
  *out = v;
  return true;
}

// Sets where[key] = text; false when a setter threw (that exception stands).
bool SetText(napi_env env, napi_value where, const char* key, const char* text) {
  napi_value s;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &s) != napi_ok) return arg::Fail(env, key);
  return napi_set_named_property(env, where, key, s) == napi_ok;
}

// The failure as -errno, with the step's name (`value`) and the path it was
// about (`path`) put in the holder: after the work, since a setter may run
// JavaScript; nothing is left open by then.
napi_value Failed(napi_env env, const Job& j, napi_value where) {
  if (where != nullptr && j.step != nullptr) {
    if (!SetText(env, where, "value", j.step)) return nullptr;
    if (j.subject != nullptr && !SetText(env, where, "path", j.subject)) return nullptr;
  }
  return arg::Number(env, j.err);
}

#ifndef KSOCK_HAVE_NETNS
napi_value Unsupported(napi_env env, napi_value where) {
  Job j;
  j.err = -ENOSYS;
  j.step = "setns";
  return Failed(env, j, where);
}
#endif

// ------------------------------------------------------------ exports

napi_value SocketIn(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  arg::Args(env, info, 5, argv);
  Target local;
  int32_t domain, type, protocol;
  napi_value where;
  if (!ReadTarget(env, argv[0], &local) || !arg::Int32(env, argv[1], "domain", &domain) ||
      !arg::Int32(env, argv[2], "type", &type) || !arg::Int32(env, argv[3], "protocol", &protocol) ||
      !ReadWhere(env, argv[4], &where))
    return nullptr;
#ifdef KSOCK_HAVE_NETNS
  SocketJob j;
  j.run = RunSocket;
  j.target = &local;
  j.domain = domain;
  j.type = type;
  j.protocol = protocol;
  RunOnThread(&j);
  if (j.err < 0) return Failed(env, j, where);
  return NewHandle(env, InstanceOf(env), static_cast<int>(j.fd));
#else
  return Unsupported(env, where);
#endif
}

napi_value NsReadFile(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  arg::Args(env, info, 3, argv);
  Target target;
  char path[PATH_MAX];
  napi_value where;
  if (!ReadTarget(env, argv[0], &target) || !ReadPath(env, argv[1], "path", path, sizeof(path)) ||
      !ReadWhere(env, argv[2], &where))
    return nullptr;
#ifdef KSOCK_HAVE_NETNS
  FileJob j;
  auto* buf = static_cast<uint8_t*>(malloc(kReadMax + 1));
  if (buf == nullptr) {
    j.err = -ENOMEM;
    j.step = "read";
    return Failed(env, j, where);
  }
  j.run = RunRead;
  j.target = &target;
  j.path = path;
  j.out = buf;
  RunOnThread(&j);
  if (j.err < 0) {
    free(buf);
    return Failed(env, j, where);
  }
  napi_value result;
  void* copy = nullptr;
  napi_status st = napi_create_buffer_copy(env, j.len, buf, &copy, &result);
  free(buf);
  if (st != napi_ok) return arg::Fail(env, "nsReadFile: cannot allocate the result"), nullptr;
  return result;
#else
  return Unsupported(env, where);
#endif
}

napi_value NsWriteFile(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  arg::Args(env, info, 4, argv);
  Target target;
  char path[PATH_MAX];
  napi_value where;
  if (!ReadTarget(env, argv[0], &target) || !ReadPath(env, argv[1], "path", path, sizeof(path)) ||
      !ReadWhere(env, argv[3], &where))
    return nullptr;
  // Pin last: nothing after this runs JavaScript until the thread is joined.
  arg::Bytes data;
  if (!arg::Pin(env, argv[2], "data", &data)) return nullptr;
  if (data.len > kWriteMax)
    return arg::Throw(env, arg::kRange, "data is too long (%zu bytes; at most %zu)", data.len, kWriteMax), nullptr;
#ifdef KSOCK_HAVE_NETNS
  FileJob j;
  j.run = RunWrite;
  j.target = &target;
  j.path = path;
  j.in = data.data;
  j.len = data.len;
  RunOnThread(&j);
  if (j.err < 0) return Failed(env, j, where);
  return arg::Number(env, static_cast<long>(j.len));
#else
  return Unsupported(env, where);
#endif
}

napi_value NetnsAdd(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  char name[NAME_MAX + 1];
  napi_value where;
  if (!ReadName(env, argv[0], name, sizeof(name)) || !ReadWhere(env, argv[1], &where)) return nullptr;
#ifdef KSOCK_HAVE_NETNS
  AddJob j;
  char path[sizeof(kRunDir) + 1 + NAME_MAX + 1];
  snprintf(path, sizeof(path), "%s/%s", kRunDir, name);
  if (PrepareRunDir(&j) < 0) return Failed(env, j, where);
  // The namespace file: it must not exist yet.
  int fd = KSOCK_RETRY(open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
  if (fd < 0) {
    j.Fail("open", path);
    return Failed(env, j, where);
  }
  sys::Close(fd);
  j.run = RunAdd;
  j.path = path;
  RunOnThread(&j);
  if (j.err < 0) {
    unlink(path);
    return Failed(env, j, where);
  }
  return arg::Number(env, 0);
#else
  return Unsupported(env, where);
#endif
}

napi_value NetnsDelete(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  char name[NAME_MAX + 1];
  napi_value where;
  if (!ReadName(env, argv[0], name, sizeof(name)) || !ReadWhere(env, argv[1], &where)) return nullptr;
#ifdef KSOCK_HAVE_NETNS
  Job j;
  char path[sizeof(kRunDir) + 1 + NAME_MAX + 1];
  snprintf(path, sizeof(path), "%s/%s", kRunDir, name);
  // As iproute2: detach the bind mount (an error here, e.g. EINVAL for a
  // file that is not mounted on, leaves the unlink to say what is wrong).
  umount2(path, MNT_DETACH);
  if (unlink(path) < 0) {
    j.Fail("unlink", path);
    return Failed(env, j, where);
  }
  return arg::Number(env, 0);
#else
  return Unsupported(env, where);
#endif
}

}  // namespace

void InitNetns(napi_env env, napi_value exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  static const Fn fns[] = {
      {"socketIn", SocketIn}, {"nsReadFile", NsReadFile}, {"nsWriteFile", NsWriteFile},
      {"netnsAdd", NetnsAdd}, {"netnsDelete", NetnsDelete},
  };
  for (const Fn& f : fns) {
    napi_value fn;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn) == napi_ok)
      napi_set_named_property(env, exports, f.name, fn);
  }
  napi_value supported;
#ifdef KSOCK_HAVE_NETNS
  napi_get_boolean(env, true, &supported);
#else
  napi_get_boolean(env, false, &supported);
#endif
  napi_set_named_property(env, exports, "netnsSupported", supported);
}

}  // namespace ksock
