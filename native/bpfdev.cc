// The BPF device (/dev/bpf, /dev/bpfN): packet capture on the BSDs and macOS,
// where there is no AF_PACKET. The device part exists where <net/bpf.h>
// declares BIOCSETIF; everywhere else every call answers -ENOSYS. Records are
// parsed in TypeScript (lib/bpfdev.ts) by a layout table; `bpfLayout` is this
// platform's bpf_hdr as its headers lay it out (offsetof/sizeof), null where
// there is none.
//
//   bpfOpen(ifname, bufsize, immediate) -> fd | -errno   (close-on-exec, nonblocking)
//   bpfSetFilter(fd, insns: Buffer)     -> 0 | -errno    (BIOCSETF; 8-byte bpf_insn records)
//   bpfBufferSize(fd)                   -> bytes | -errno (BIOCGBLEN)
//   bpfRead(fd, buf)                    -> bytes | -errno (read(2): whole records)
//   bpfClose(fd)                        -> 0 | -errno
//
// Only descriptors bpfOpen returned (and not yet closed) are accepted: any
// other number is EBADF, so that a stray or hostile number can never read
// from, or close, a descriptor someone else owns.
//
// @see bpf(4)
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <vector>

#include <net/if.h>
#if __has_include(<net/bpf.h>)
#include <net/bpf.h>
#endif

#include "args.h"
#include "ksock.h"
#include "sys.h"

#if defined(BIOCSETIF) && defined(BIOCSETF) && defined(BIOCGBLEN) && defined(BIOCIMMEDIATE) && defined(BPF_WORDALIGN)
#define KSOCK_HAVE_BPF_DEVICE 1
#endif

namespace ksock {

namespace {

constexpr size_t kMaxInsns = 4096;  // BPF_MAXINSNS on FreeBSD/NetBSD/macOS is 512 or more; OpenBSD 4096

napi_value Num(napi_env env, long v) { return arg::Number(env, v); }

// The descriptors bpfOpen handed out, process-wide (workers included).
std::mutex open_mu;
std::unordered_set<int>& Opened() {
  static std::unordered_set<int>* s = new std::unordered_set<int>();  // never destroyed: no exit-time order
  return *s;
}
[[maybe_unused]] void Remember(int fd) {
  std::lock_guard<std::mutex> g(open_mu);
  Opened().insert(fd);
}
// True (and forgotten when `forget`) if bpfOpen handed out fd.
bool Known(int fd, bool forget) {
  std::lock_guard<std::mutex> g(open_mu);
  auto it = Opened().find(fd);
  if (it == Opened().end()) return false;
  if (forget) Opened().erase(it);
  return true;
}

// The descriptor argument: an integer >= 0. *known: bpfOpen handed it out.
bool Fd(napi_env env, napi_value v, int* fd, bool* known, bool forget = false) {
  double d;
  if (!arg::Integer(env, v, "fd", 0, INT32_MAX, &d)) return false;
  *fd = static_cast<int>(d);
  *known = Known(*fd, forget);
  return true;
}

#ifdef KSOCK_HAVE_BPF_DEVICE
// The first BPF device that opens: the cloning /dev/bpf, else /dev/bpf0..255
// (EBUSY: in use by another process, try the next).
int OpenDevice() {
  int fd = KSOCK_RETRY(open("/dev/bpf", O_RDWR | O_CLOEXEC));
  if (fd >= 0 || errno != ENOENT) return fd;
  for (int i = 0; i < 256; i++) {
    char path[32];
    snprintf(path, sizeof(path), "/dev/bpf%d", i);
    fd = KSOCK_RETRY(open(path, O_RDWR | O_CLOEXEC));
    if (fd >= 0 || errno != EBUSY) return fd;
  }
  return -1;
}

long Setup(int fd, const char* ifname, u_int bufsize, u_int immediate) {
#ifdef BIOCSBLEN
  if (bufsize > 0 && KSOCK_RETRY(ioctl(fd, BIOCSBLEN, &bufsize)) < 0) return sys::Err();  // before BIOCSETIF
#else
  (void)bufsize;
#endif
  ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  strncpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name) - 1);
  if (KSOCK_RETRY(ioctl(fd, BIOCSETIF, &ifr)) < 0) return sys::Err();
  if (KSOCK_RETRY(ioctl(fd, BIOCIMMEDIATE, &immediate)) < 0) return sys::Err();
  int fl = KSOCK_RETRY(fcntl(fd, F_GETFL));
  if (fl < 0 || KSOCK_RETRY(fcntl(fd, F_SETFL, fl | O_NONBLOCK)) < 0) return sys::Err();
  return 0;
}
#endif

napi_value Open(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  arg::Args(env, info, 3, argv);
  char ifname[IFNAMSIZ];
  size_t len = 0;
  double bufsize = 0;
  bool immediate = true;
  if (!arg::Utf8(env, argv[0], "ifname", ifname, sizeof(ifname), &len, true)) return nullptr;
  if (!arg::Integer(env, argv[1], "bufsize", 0, 1 << 24, &bufsize)) return nullptr;
  if (napi_get_value_bool(env, argv[2], &immediate) != napi_ok) {
    arg::Throw(env, arg::kType, "immediate must be a boolean");
    return nullptr;
  }
#ifdef KSOCK_HAVE_BPF_DEVICE
  int fd = OpenDevice();
  if (fd < 0) return Num(env, sys::Err());
  long r = Setup(fd, ifname, static_cast<u_int>(bufsize), immediate ? 1u : 0u);
  if (r < 0) {
    close(fd);
    return Num(env, r);
  }
  Remember(fd);
  return Num(env, fd);
#else
  (void)len;
  return Num(env, -ENOSYS);
#endif
}

napi_value SetFilter(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  int fd;
  bool known;
  if (!Fd(env, argv[0], &fd, &known)) return nullptr;
  if (!arg::IsBytes(env, argv[1])) {
    arg::Throw(env, arg::kType, "bpfSetFilter: insns must be a Buffer of 8-byte instructions");
    return nullptr;
  }
  arg::Bytes b;
  if (!arg::Pin(env, argv[1], "insns", &b)) return nullptr;
  if (b.len == 0 || b.len % 8 != 0 || b.len / 8 > kMaxInsns) {
    arg::Throw(env, arg::kRange, "bpfSetFilter: 1..%u instructions of 8 bytes", static_cast<unsigned>(kMaxInsns));
    return nullptr;
  }
  if (!known) return Num(env, -EBADF);
#ifdef KSOCK_HAVE_BPF_DEVICE
  static_assert(sizeof(bpf_insn) == 8, "struct bpf_insn is { u16 code; u8 jt; u8 jf; u32 k; }");
  std::vector<bpf_insn> insns(b.len / 8);  // aligned copy: the kernel copies in from bf_insns
  arg::CopyBytes(insns.data(), b.data, b.len);
  bpf_program prog;
  memset(&prog, 0, sizeof(prog));
  prog.bf_len = static_cast<u_int>(insns.size());
  prog.bf_insns = insns.data();
  if (KSOCK_RETRY(ioctl(fd, BIOCSETF, &prog)) < 0) return Num(env, sys::Err());
  return Num(env, 0);
#else
  (void)fd;
  return Num(env, -ENOSYS);
#endif
}

napi_value BufferSize(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  int fd;
  bool known;
  if (!Fd(env, argv[0], &fd, &known)) return nullptr;
  if (!known) return Num(env, -EBADF);
#ifdef KSOCK_HAVE_BPF_DEVICE
  u_int blen = 0;
  if (KSOCK_RETRY(ioctl(fd, BIOCGBLEN, &blen)) < 0) return Num(env, sys::Err());
  return Num(env, static_cast<long>(blen));
#else
  (void)fd;
  return Num(env, -ENOSYS);
#endif
}

napi_value Read(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  int fd;
  bool known;
  if (!Fd(env, argv[0], &fd, &known)) return nullptr;
  if (!arg::IsBytes(env, argv[1])) {
    arg::Throw(env, arg::kType, "bpfRead: buf must be a Buffer");
    return nullptr;
  }
  arg::Bytes b;
  if (!arg::Pin(env, argv[1], "buf", &b)) return nullptr;
  if (!known) return Num(env, -EBADF);
#ifdef KSOCK_HAVE_BPF_DEVICE
  // The device insists on a buffer of exactly BIOCGBLEN bytes (EINVAL otherwise).
  ssize_t n = KSOCK_RETRY(read(fd, b.data, b.len));
  return Num(env, n < 0 ? sys::Err() : static_cast<long>(n));
#else
  (void)fd;
  return Num(env, -ENOSYS);
#endif
}

napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  int fd;
  bool known;
  if (!Fd(env, argv[0], &fd, &known, true)) return nullptr;
  if (!known) return Num(env, -EBADF);
#ifdef KSOCK_HAVE_BPF_DEVICE
  // Not retried: after EINTR the descriptor is gone on the BSDs.
  return Num(env, close(fd) < 0 ? sys::Err() : 0);
#else
  (void)fd;
  return Num(env, -ENOSYS);
#endif
}

[[maybe_unused]] bool SetN(napi_env env, napi_value o, const char* key, double v) {
  napi_value x;
  return napi_create_double(env, v, &x) == napi_ok && napi_set_named_property(env, o, key, x) == napi_ok;
}

// { off, width } of a field.
[[maybe_unused]] bool SetField(napi_env env, napi_value o, const char* key, size_t off, size_t width) {
  napi_value x;
  return napi_create_object(env, &x) == napi_ok && SetN(env, x, "off", static_cast<double>(off)) &&
         SetN(env, x, "width", static_cast<double>(width)) && napi_set_named_property(env, o, key, x) == napi_ok;
}

// This platform's bpf_hdr, from its headers; null where there is none.
napi_value Layout(napi_env env) {
  napi_value o;
#ifdef KSOCK_HAVE_BPF_DEVICE
#define KSOCK_W(m) sizeof(static_cast<bpf_hdr*>(nullptr)->m)
  if (napi_create_object(env, &o) != napi_ok) return nullptr;
  napi_value unit;
  napi_create_string_utf8(env, "usec", NAPI_AUTO_LENGTH, &unit);
  const size_t ts = offsetof(bpf_hdr, bh_tstamp);
  const size_t sec_w = KSOCK_W(bh_tstamp.tv_sec), usec_w = KSOCK_W(bh_tstamp.tv_usec);
  bool ok = SetField(env, o, "sec", ts + offsetof(decltype(bpf_hdr::bh_tstamp), tv_sec), sec_w) &&
            SetField(env, o, "sub", ts + offsetof(decltype(bpf_hdr::bh_tstamp), tv_usec), usec_w) &&
            SetField(env, o, "caplen", offsetof(bpf_hdr, bh_caplen), KSOCK_W(bh_caplen)) &&
            SetField(env, o, "datalen", offsetof(bpf_hdr, bh_datalen), KSOCK_W(bh_datalen)) &&
            SetField(env, o, "hdrlen", offsetof(bpf_hdr, bh_hdrlen), KSOCK_W(bh_hdrlen)) &&
            SetN(env, o, "min", static_cast<double>(offsetof(bpf_hdr, bh_hdrlen) + KSOCK_W(bh_hdrlen))) &&
            SetN(env, o, "align", static_cast<double>(BPF_WORDALIGN(1))) &&
            napi_set_named_property(env, o, "unit", unit) == napi_ok;
#undef KSOCK_W
  if (ok) return o;
#endif
  napi_get_null(env, &o);
  return o;
}

}  // namespace

void InitBpfDev(napi_env env, napi_value exports) {
  const struct {
    const char* name;
    napi_callback cb;
  } fns[] = {{"bpfOpen", Open},   {"bpfSetFilter", SetFilter}, {"bpfBufferSize", BufferSize},
             {"bpfRead", Read},   {"bpfClose", Close}};
  for (const auto& f : fns) {
    napi_value fn;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn) == napi_ok)
      napi_set_named_property(env, exports, f.name, fn);
  }
  napi_value l = Layout(env);
  if (l != nullptr) napi_set_named_property(env, exports, "bpfLayout", l);
}

}  // namespace ksock
