// Message I/O: sendmsg, recvmsg, the mp0 form, and the batches (recvmmsg,
// sendmmsg), written on raw N-API (one call per argument, a stack argv, no
// allocation unless an address or control data is asked for).
//
// Every entry point reads its arguments first (which may run JavaScript:
// getters, proxies), then pins the data (pointers into ArrayBuffers, taken
// with no JavaScript until the syscall returns), then calls. One msghdr
// preparation serves them all. Results are byte counts or -errno, never an
// Error for an OS failure.
#include <sys/uio.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <vector>

#include "args.h"
#include "handle.h"
#include "held.h"
#include "ksock.h"
#include "sys.h"

namespace ksock {

namespace {

constexpr size_t kStackIov = 64;
// An array of more Buffers than this is a RangeError (the kernel takes at
// most IOV_MAX per call anyway: a longer vector is a short transfer).
constexpr uint32_t kMaxBuffers = 1 << 16;
constexpr uint32_t kMaxBatch = 1024;
constexpr size_t kMaxControl = 1 << 20;
constexpr size_t kMaxAlloc = 1 << 26;

// The data of a message: one view, or an array of views. Read() collects the
// values (running whatever getters the array has); Pin() turns [off, off+len)
// of them into iovecs and runs no JavaScript.
struct Data {
  napi_value single = nullptr;
  std::vector<napi_value> many;
  iovec stack[kStackIov];
  std::vector<iovec> heap;
  iovec* iov = stack;
  int count = 0;

  bool Read(napi_env env, napi_value v, const char* what) {
    if (arg::IsBytes(env, v)) {
      single = v;
      return true;
    }
    uint32_t n;
    if (!arg::IsArray(env, v)) return arg::Throw(env, arg::kType, "%s must be a Buffer or an array of Buffers", what);
    if (!arg::ArrayLength(env, v, what, kMaxBuffers, &n)) return false;
    many.resize(n);
    for (uint32_t i = 0; i < n; i++) {
      if (!arg::Element(env, v, i, &many[i])) return false;
      if (!arg::IsBytes(env, many[i]))
        return arg::Throw(env, arg::kType, "%s must be a Buffer or an array of Buffers", what);
    }
    return true;
  }

  bool Pin(napi_env env, size_t off, size_t len) {
    if (single != nullptr) {
      arg::Bytes b;
      if (!arg::Pin(env, single, "data", &b)) return false;
      if (off > b.len) off = b.len;
      if (len > b.len - off) len = b.len - off;
      stack[0].iov_base = b.data != nullptr ? b.data + off : nullptr;
      stack[0].iov_len = len;
      count = 1;
      return true;
    }
    for (napi_value e : many) {
      if (len == 0) break;
      arg::Bytes b;
      if (!arg::Pin(env, e, "data", &b)) return false;
      if (off >= b.len) {
        off -= b.len;
        continue;
      }
      size_t take = b.len - off;
      if (take > len) take = len;
      iovec v{b.data + off, take};
      if (static_cast<size_t>(count) == kStackIov && heap.empty()) heap.assign(stack, stack + kStackIov);
      if (!heap.empty()) {
        if (heap.size() >= IOV_MAX) break;  // the kernel's limit: a short transfer
        heap.push_back(v);
      } else {
        stack[count] = v;
      }
      count++;
      off = 0;
      len -= take;
    }
    if (!heap.empty()) iov = heap.data();
    return true;
  }
};

// A destination: nullish (none), a view holding a raw sockaddr (copied at
// once), or an address object (encoded; may run JavaScript).
bool ReadAddress(napi_env env, napi_value v, sockaddr_storage* ss, socklen_t* len) {
  *len = 0;
  if (arg::IsNullish(env, v)) return true;
  if (arg::IsBytes(env, v)) {
    arg::Bytes b;
    if (!arg::Pin(env, v, "address", &b)) return false;
    if (b.len > sizeof(*ss)) return arg::Throw(env, arg::kRange, "address: a sockaddr is at most %zu bytes", sizeof(*ss));
    memset(ss, 0, sizeof(*ss));
    arg::CopyBytes(ss, b.data, b.len);
    *len = static_cast<socklen_t>(b.len);
    return true;
  }
  int n = EncodeSockaddr(Napi::Env(env), Napi::Value(env, v), ss);
  if (n < 0) return false;
  *len = static_cast<socklen_t>(n);
  return true;
}

// Control items to send (may run JavaScript): encoded into `cb`.
bool ReadControl(napi_env env, napi_value v, ControlBuffer* cb, size_t* len) {
  *len = 0;
  if (arg::IsNullish(env, v)) return true;
  long n = EncodeControl(Napi::Env(env), Napi::Value(env, v), cb);
  if (n < 0) return false;
  *len = static_cast<size_t>(n);
  return true;
}

// The one msghdr preparation.
void Prepare(msghdr* m, iovec* iov, int iovcnt, void* name, socklen_t namelen, void* control,
             size_t controllen) {
  memset(m, 0, sizeof(*m));
  m->msg_iov = iov;
  m->msg_iovlen = iovcnt;
  if (name != nullptr && namelen > 0) {
    m->msg_name = name;
    m->msg_namelen = namelen;
  }
  if (control != nullptr && controllen > 0) {
    m->msg_control = control;
    m->msg_controllen = controllen;
  }
}

// One recvmsg(2), shared by recvmsg and recvmsgAlloc: MSG_CMSG_CLOEXEC only
// with a control buffer (some families refuse flags they do not know: Linux
// packet sockets say EINVAL, and then FD_CLOEXEC is set by hand), the
// out-values in the slots, and the decoded control items in controlp.value.
// *n is the byte count or -errno; false means a JS exception is pending
// (received descriptors already closed or owned).
bool Receive(napi_env env, int fd, int flags, iovec* iov, int iovcnt, sockaddr_storage* ss, napi_value controlp,
             size_t csize, ssize_t* n) {
  ControlBuffer cb;
  if (controlp != nullptr && csize > 0 && !cb.Reserve(csize)) {
    *n = -ENOMEM;
    return true;
  }
  msghdr msg;
  if (ss != nullptr) memset(ss, 0, sizeof(*ss));
  Prepare(&msg, iov, iovcnt, ss, ss != nullptr ? sizeof(*ss) : 0, controlp != nullptr && csize > 0 ? cb.data : nullptr,
          csize);
  int extra = msg.msg_control != nullptr ? sys::kRecvFlags : 0;
  *n = KSOCK_RETRY(recvmsg(fd, &msg, flags | extra));
  bool cloexec_by_hand = false;
  if (*n < 0 && errno == EINVAL && extra != 0) {
    *n = KSOCK_RETRY(recvmsg(fd, &msg, flags));
    cloexec_by_hand = true;
  }
  if (*n < 0) {
    *n = sys::Err();
    return true;
  }
  if (msg.msg_control == nullptr) msg.msg_controllen = 0;
  if (cloexec_by_hand) SetCloexecOnRights(&msg);
  Instance* inst = InstanceOf(env);
  inst->slots[kMsgFlags] = msg.msg_flags & ~sys::kRecvFlags;  // Linux echoes MSG_CMSG_CLOEXEC
  inst->slots[kAddrLen] = ss != nullptr ? static_cast<int32_t>(msg.msg_namelen) : 0;
  inst->slots[kControlLen] = static_cast<int32_t>(msg.msg_controllen);
  if (controlp != nullptr) {
    // The items go to the owner and the report (held.h); controlp.value is
    // set here only when the list was made natively, else JavaScript makes
    // it from the report.
    Held* held = HeldOf(env);
    napi_value items;
    if (!DecodeControl(env, held, &msg, (flags & MSG_PEEK) != 0, true, &items)) return false;
    if (items != nullptr && napi_set_named_property(env, controlp, "value", items) != napi_ok) {
      RightsAbort(held);  // the items never reach JavaScript
      return arg::Fail(env, "controlp");
    }
  }
  return true;
}

bool SetValue(napi_env env, napi_value holder, napi_value v) {
  return napi_set_named_property(env, holder, "value", v) == napi_ok || arg::Fail(env, "holder");
}

// The source address of a receive: decoded into a holder's .value, or (when
// paddr is a view) its raw bytes copied in, for JavaScript to decode only if
// someone reads it. The length is in the slots either way.
bool PutAddress(napi_env env, napi_value paddr, bool raw, const sockaddr_storage* ss) {
  socklen_t len = static_cast<socklen_t>(InstanceOf(env)->slots[kAddrLen]);
  if (raw) {
    arg::Bytes b;
    if (!arg::Pin(env, paddr, "paddr", &b)) return false;
    size_t n = len < sizeof(*ss) ? len : sizeof(*ss);
    if (n > b.len) n = b.len;
    if (n > 0) arg::CopyBytes(b.data, ss, n);
    return true;
  }
  Napi::Value a = DecodeSockaddr(Napi::Env(env), ss, len);
  return !a.IsEmpty() && SetValue(env, paddr, a);
}

// sendmsg(handle, data, offset, length, flags, address?, control?) -> bytes | -errno
napi_value Sendmsg(napi_env env, napi_callback_info cbi) {
  napi_value argv[7];
  size_t argc;
  arg::Args(env, cbi, 7, argv, &argc);
  int fd;
  int32_t flags;
  size_t off, len;
  if (!GetHandleFd(env, argv[0], &fd) || !arg::Size(env, argv[2], "offset", SSIZE_MAX, &off) ||
      !arg::Size(env, argv[3], "length", SSIZE_MAX, &len) || !arg::Int32(env, argv[4], "flags", &flags))
    return nullptr;
  Data data;
  sockaddr_storage ss;
  socklen_t alen;
  ControlBuffer cb;
  size_t clen;
  if (!ReadAddress(env, argv[5], &ss, &alen) || !ReadControl(env, argv[6], &cb, &clen) ||
      !data.Read(env, argv[1], "data"))
    return nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  if (!data.Pin(env, off, len)) return nullptr;  // no JavaScript from here to the syscall
  msghdr msg;
  Prepare(&msg, data.iov, data.count, &ss, alen, cb.data, clen);
  ssize_t n = KSOCK_RETRY(sendmsg(fd, &msg, flags | sys::kSendFlags));
  return arg::Number(env, n < 0 ? sys::Err() : static_cast<long>(n));
}

// recvmsg(handle, data, offset, length, flags, paddr?, controlp?, controlSize)
//   -> bytes | -errno
// msg_flags, msg_namelen and msg_controllen go to the slots. When paddr /
// controlp holder objects are given, paddr.value is set to the decoded
// source address (a view as paddr gets the raw sockaddr instead: see
// PutAddress), and the control items go to the rights report (held.h):
// controlp.value is set only when the list was made natively, and
// lib/core/rights.ts takeControl() completes it.
napi_value Recvmsg(napi_env env, napi_callback_info cbi) {
  napi_value argv[8];
  size_t argc;
  arg::Args(env, cbi, 8, argv, &argc);
  int fd;
  int32_t flags;
  size_t off, len, csize = 0;
  if (!GetHandleFd(env, argv[0], &fd) || !arg::Size(env, argv[2], "offset", SSIZE_MAX, &off) ||
      !arg::Size(env, argv[3], "length", SSIZE_MAX, &len) || !arg::Int32(env, argv[4], "flags", &flags))
    return nullptr;
  bool raw_addr = arg::IsBytes(env, argv[5]);
  bool want_addr = raw_addr || arg::IsObject(env, argv[5]);
  bool want_control = arg::IsObject(env, argv[6]);
  if (want_control && !arg::Size(env, argv[7], "controlSize", kMaxControl, &csize)) return nullptr;
  Data data;
  if (!data.Read(env, argv[1], "data")) return nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  if (!data.Pin(env, off, len)) return nullptr;
  sockaddr_storage ss;
  ssize_t n;
  if (!Receive(env, fd, flags, data.iov, data.count, want_addr ? &ss : nullptr, want_control ? argv[6] : nullptr, csize,
               &n))
    return nullptr;
  if (n < 0) return arg::Number(env, static_cast<long>(n));
  if (want_addr && !PutAddress(env, argv[5], raw_addr, &ss)) return nullptr;
  return arg::Number(env, static_cast<long>(n));
}

// recvmsgAlloc(handle, size, flags, paddr?, controlp?, controlSize) -> Buffer | -errno
// The mp0 form: receives into the environment's scratch buffer and returns a
// fresh Buffer of exactly the bytes that arrived — no zeroed 64 KiB per
// message, one copy of what was received, no property set. The byte count
// (larger than the Buffer with MSG_TRUNC) is in the BYTES slot.
napi_value RecvmsgAlloc(napi_env env, napi_callback_info cbi) {
  napi_value argv[6];
  size_t argc;
  arg::Args(env, cbi, 6, argv, &argc);
  int fd;
  int32_t flags;
  size_t size, csize = 0;
  if (!GetHandleFd(env, argv[0], &fd) || !arg::Size(env, argv[1], "size", kMaxAlloc, &size) ||
      !arg::Int32(env, argv[2], "flags", &flags))
    return nullptr;
  bool raw_addr = arg::IsBytes(env, argv[3]);
  bool want_addr = raw_addr || arg::IsObject(env, argv[3]);
  bool want_control = arg::IsObject(env, argv[4]);
  if (want_control && !arg::Size(env, argv[5], "controlSize", kMaxControl, &csize)) return nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  Instance* inst = InstanceOf(env);
  if (inst->scratch.size() < size) inst->scratch.resize(size);
  iovec iov{inst->scratch.data(), size};
  sockaddr_storage ss;
  ssize_t n;
  if (!Receive(env, fd, flags, &iov, 1, want_addr ? &ss : nullptr, want_control ? argv[4] : nullptr, csize, &n))
    return nullptr;
  if (n < 0) return arg::Number(env, static_cast<long>(n));
  size_t got = static_cast<size_t>(n) < size ? static_cast<size_t>(n) : size;  // MSG_TRUNC reports more
  napi_value buf;
  void* dst = nullptr;
  if (napi_create_buffer_copy(env, got, got > 0 ? inst->scratch.data() : nullptr, &dst, &buf) != napi_ok)
    return arg::Fail(env, "recvmsgAlloc: cannot allocate"), nullptr;
  if (want_addr && !PutAddress(env, argv[3], raw_addr, &ss)) return nullptr;
  inst->slots[kBytes] = static_cast<int32_t>(n);
  return buf;
}

// recvmmsg(handle, slab, slotSize, count, flags, lengths, addrs?, controlSpace?, controls?)
//   -> messages | -errno
// Receives up to `count` datagrams into fixed slots of one caller-provided
// Buffer: message i lands at slab[i*slotSize]; lengths[i] = its length,
// lengths[count+i] = its msg_flags; with `addrs` (count * sizeof(sockaddr_storage)
// bytes) the source address goes to addrs[i*sizeof(sockaddr_storage)] and its
// length to lengths[2*count+i]. Nothing is allocated per message. With
// `controls` (a holder) and room for control data, each message's items go to
// the rights report (held.h); controls.value is set only when some message's
// list was made natively, and lib/core/rights.ts takeControls() completes it.
// Where the kernel has no recvmmsg, a loop of recvmsg does the same.
napi_value Recvmmsg(napi_env env, napi_callback_info cbi) {
  napi_value argv[9];
  size_t argc;
  arg::Args(env, cbi, 9, argv, &argc);
  int fd;
  int32_t flags;
  size_t slot, count, space = 0;
  if (!GetHandleFd(env, argv[0], &fd) || !arg::Size(env, argv[2], "slotSize", SSIZE_MAX, &slot) ||
      !arg::Size(env, argv[3], "count", kMaxBatch, &count) || !arg::Int32(env, argv[4], "flags", &flags))
    return nullptr;
  bool is_i32 = false;
  {
    bool is_ta = false;
    napi_typedarray_type tt;
    size_t tl;
    is_i32 = napi_is_typedarray(env, argv[5], &is_ta) == napi_ok && is_ta &&
             napi_get_typedarray_info(env, argv[5], &tt, &tl, nullptr, nullptr, nullptr) == napi_ok &&
             tt == napi_int32_array;
  }
  if (!is_i32) return arg::Throw(env, arg::kType, "recvmmsg: lengths must be an Int32Array"), nullptr;
  if (!arg::IsBytes(env, argv[1])) return arg::Throw(env, arg::kType, "recvmmsg: slab must be a Buffer"), nullptr;
  bool want_addr = !arg::IsNullish(env, argv[6]);
  if (want_addr && !arg::IsBytes(env, argv[6])) return arg::Throw(env, arg::kType, "recvmmsg: addrs must be a Buffer"), nullptr;
  bool want_control = arg::IsObject(env, argv[8]);
  if (want_control && !arg::Size(env, argv[7], "controlSpace", 65536, &space)) return nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  // Pin: no JavaScript runs from here until the results are written.
  arg::Bytes slab, lens_b, addrs;
  if (!arg::Pin(env, argv[1], "slab", &slab) || !arg::Pin(env, argv[5], "lengths", &lens_b) ||
      (want_addr && !arg::Pin(env, argv[6], "addrs", &addrs)))
    return nullptr;
  // slot > slab.len / count, not count * slot > slab.len: the product can wrap.
  if (count == 0 || slot == 0 || slot > slab.len / count || lens_b.len / sizeof(int32_t) < count * (want_addr ? 3 : 2) ||
      (want_addr && addrs.len < count * sizeof(sockaddr_storage)))
    return arg::Throw(env, arg::kRange, "recvmmsg: slab, lengths or addrs too small for count * slotSize"), nullptr;
  const size_t align = alignof(max_align_t);
  const size_t stride = (space + align - 1) / align * align;
  ControlBuffer cb;
  if (want_control && space > 0 && !cb.Reserve(stride * count)) return arg::Number(env, -ENOMEM);
  auto ctl = [&](size_t i) { return static_cast<unsigned char*>(cb.data) + i * stride; };
  const int extra = want_control && space > 0 ? sys::kRecvFlags : 0;
  auto* lens = reinterpret_cast<int32_t*>(lens_b.data);
  // sockaddr_storage copies on our side keep the kernel's writes aligned.
  std::vector<sockaddr_storage> names(want_addr ? count : 0);
  std::vector<iovec> iov(count);
  int got = 0;
#ifdef MSG_WAITFORONE
  std::vector<mmsghdr> hdr(count);
  for (size_t i = 0; i < count; i++) {
    iov[i].iov_base = slab.data + i * slot;
    iov[i].iov_len = slot;
    Prepare(&hdr[i].msg_hdr, &iov[i], 1, want_addr ? &names[i] : nullptr, want_addr ? sizeof(sockaddr_storage) : 0,
            extra != 0 ? ctl(i) : nullptr, space);
    hdr[i].msg_len = 0;
  }
  int n = KSOCK_RETRY(recvmmsg(fd, hdr.data(), static_cast<unsigned>(count), flags | extra, nullptr));
  bool cloexec_by_hand = false;
  if (n < 0 && errno == EINVAL && extra != 0) {  // a family that refuses MSG_CMSG_CLOEXEC
    n = KSOCK_RETRY(recvmmsg(fd, hdr.data(), static_cast<unsigned>(count), flags, nullptr));
    cloexec_by_hand = true;
  }
  if (n < 0) return arg::Number(env, sys::Err());
  got = n;
  if (cloexec_by_hand)
    for (int i = 0; i < got; i++) SetCloexecOnRights(&hdr[i].msg_hdr);
  for (int i = 0; i < got; i++) {
    lens[i] = static_cast<int32_t>(hdr[i].msg_len);
    lens[count + i] = hdr[i].msg_hdr.msg_flags & ~sys::kRecvFlags;
    if (want_addr) lens[2 * count + i] = static_cast<int32_t>(hdr[i].msg_hdr.msg_namelen);
  }
  auto header = [&](int i) -> msghdr* { return &hdr[i].msg_hdr; };
#else
  std::vector<msghdr> heads(count);
  for (size_t i = 0; i < count; i++) {
    iov[i].iov_base = slab.data + i * slot;
    iov[i].iov_len = slot;
    msghdr& m = heads[i];
    Prepare(&m, &iov[i], 1, want_addr ? &names[i] : nullptr, want_addr ? sizeof(sockaddr_storage) : 0,
            extra != 0 ? ctl(i) : nullptr, space);
    ssize_t r = KSOCK_RETRY(recvmsg(fd, &m, flags | extra));
    if (r < 0 && errno == EINVAL && extra != 0) {  // a family that refuses MSG_CMSG_CLOEXEC
      r = KSOCK_RETRY(recvmsg(fd, &m, flags));
      if (r >= 0) SetCloexecOnRights(&m);
    }
    if (r < 0) {
      if (got > 0) break;
      return arg::Number(env, sys::Err());
    }
    lens[i] = static_cast<int32_t>(r);
    lens[count + i] = m.msg_flags & ~sys::kRecvFlags;
    if (want_addr) lens[2 * count + i] = static_cast<int32_t>(m.msg_namelen);
    got++;
  }
  auto header = [&](int i) -> msghdr* { return &heads[i]; };
#endif
  if (want_addr)
    for (int i = 0; i < got; i++)
      memcpy(addrs.data + i * sizeof(sockaddr_storage), &names[i], sizeof(sockaddr_storage));
  // The results are written: from here JavaScript may run (decoding control
  // data sets properties), and no pinned pointer is used again.
  if (want_control) {
    // Each message's items go to the owner and the report (held.h). The
    // lists array is made here only when some message's list was made
    // natively (its element; the others are left for JavaScript to fill);
    // when every message is in the report, JavaScript makes it all.
    bool peek = (flags & MSG_PEEK) != 0;
    Held* held = HeldOf(env);
    napi_value lists = nullptr;
    bool ok = true;
    int i = 0;
    for (; ok && i < got; i++) {
      msghdr* m = header(i);
      if (m->msg_control == nullptr) m->msg_controllen = 0;
      napi_value items;
      if (!DecodeControl(env, held, m, peek, i == 0, &items)) {  // owns or closes this message's fds
        i++;
        ok = false;
        break;
      }
      if (items == nullptr) continue;
      if (lists == nullptr) ok = napi_create_array_with_length(env, got, &lists) == napi_ok;
      ok = ok && napi_set_element(env, lists, static_cast<uint32_t>(i), items) == napi_ok;
    }
    if (!ok) {
      // Messages not yet decoded still hold their descriptors: close them;
      // and those of the decoded ones, which never reach JavaScript.
      if (!peek)
        for (int j = i; j < got; j++) DisposeRights(header(j));
      RightsAbort(held);
      arg::Fail(env, "recvmmsg: cannot decode control data");
      return nullptr;
    }
    if (lists != nullptr && !SetValue(env, argv[8], lists)) {
      RightsAbort(held);
      return nullptr;
    }
  }
  return arg::Number(env, got);
}

// ---------------------------------------------------------------- sendmmsg

// The control data of one batch, all messages together (each message's own
// list is bounded by the cmsg codec; this bounds the sum).
constexpr size_t kMaxBatchControl = 1 << 24;
// A message's address or control list: the call's shared one, none, or its
// own (an index into Batch::names / a byte offset into Batch::arena).
constexpr int32_t kShared = -1;
constexpr int32_t kNone = -2;

// One message of a batch as read: its Buffers are Batch::bufs[first, first + n).
struct BatchMsg {
  uint32_t first;
  uint32_t n;
  int32_t name;
  socklen_t namelen;
  long ctl;  // kShared, kNone or a byte offset into the arena
  size_t ctllen;
};

// What sendmmsg reads before it pins: the data views of every message, each
// message's own address (copied or encoded into a sockaddr_storage) and its
// own control data (encoded into one arena, each at an aligned offset).
// Nothing here points into a JavaScript ArrayBuffer.
struct Batch {
  std::vector<napi_value> bufs;
  std::vector<BatchMsg> msgs;
  std::vector<sockaddr_storage> names;
  std::vector<max_align_t> arena;
  size_t arena_used = 0;  // bytes, a multiple of sizeof(max_align_t)
  ControlBuffer scratch;  // one message's control data, before it goes to the arena
  napi_value k_data = nullptr, k_to = nullptr, k_control = nullptr;
  uint32_t count = 0;  // messages in this call

  sockaddr_storage* NewName() {
    if (names.capacity() == 0) names.reserve(count);  // once, not a growth per address
    names.emplace_back();
    return &names.back();
  }

  bool Keys(napi_env env) {
    if (k_data != nullptr) return true;
    if (napi_create_string_latin1(env, "data", NAPI_AUTO_LENGTH, &k_data) != napi_ok ||
        napi_create_string_latin1(env, "to", NAPI_AUTO_LENGTH, &k_to) != napi_ok ||
        napi_create_string_latin1(env, "control", NAPI_AUTO_LENGTH, &k_control) != napi_ok) {
      k_data = nullptr;
      return arg::Fail(env, "sendmmsg: cannot read messages");
    }
    return true;
  }

  // messages[i].data: a view, or an array of at most IOV_MAX views (one
  // datagram gathered from them).
  bool ReadData(napi_env env, uint32_t i, napi_value d, BatchMsg* m) {
    m->first = static_cast<uint32_t>(bufs.size());
    if (arg::IsBytes(env, d)) {
      bufs.push_back(d);
      m->n = 1;
      return true;
    }
    if (!arg::IsArray(env, d))
      return arg::Throw(env, arg::kType, "sendmmsg: messages[%u].data must be a Buffer or an array of Buffers", i);
    char what[64];
    snprintf(what, sizeof(what), "sendmmsg: messages[%u].data", i);
    uint32_t n;
    if (!arg::ArrayLength(env, d, what, IOV_MAX, &n)) return false;
    for (uint32_t j = 0; j < n; j++) {
      napi_value e;
      if (!arg::Element(env, d, j, &e)) return false;
      if (!arg::IsBytes(env, e))
        return arg::Throw(env, arg::kType, "sendmmsg: messages[%u].data must be a Buffer or an array of Buffers", i);
      bufs.push_back(e);
    }
    m->n = n;
    return true;
  }

  // messages[i].to: undefined is the shared address, null none; a view is a
  // raw sockaddr (copied at once), anything else an address object.
  bool ReadTo(napi_env env, uint32_t i, napi_value v, BatchMsg* m) {
    napi_valuetype t = arg::TypeOf(env, v);
    m->name = t == napi_undefined ? kShared : kNone;
    m->namelen = 0;
    if (t == napi_undefined || t == napi_null) return true;
    if (t != napi_object)
      return arg::Throw(env, arg::kType, "sendmmsg: messages[%u].to must be an address object, a sockaddr Buffer or null", i);
    sockaddr_storage ss;
    int len = EncodeSockaddr(Napi::Env(env), Napi::Value(env, v), &ss);
    if (len < 0) return false;
    m->name = static_cast<int32_t>(names.size());
    m->namelen = static_cast<socklen_t>(len);
    *NewName() = ss;
    return true;
  }

  // messages[i].to, the hot form first: a pre-encoded sockaddr (a view) is
  // copied at once, in one call (napi_get_buffer_info refuses anything but a
  // view without throwing); anything else goes to ReadTo.
  bool ReadAnyTo(napi_env env, uint32_t i, napi_value v, BatchMsg* m) {
    void* data = nullptr;
    size_t len = 0;
    if (napi_get_buffer_info(env, v, &data, &len) != napi_ok) return !arg::Pending(env) && ReadTo(env, i, v, m);
    if (data == nullptr) len = 0;  // detached
    if (len > sizeof(sockaddr_storage))
      return arg::Throw(env, arg::kRange, "sendmmsg: messages[%u].to: a sockaddr is at most %zu bytes", i, sizeof(sockaddr_storage));
    m->name = static_cast<int32_t>(names.size());
    m->namelen = static_cast<socklen_t>(len);
    arg::CopyBytes(NewName(), data, len);
    return true;
  }

  // messages[i].control: undefined is the shared list, null or [] none.
  bool ReadControl(napi_env env, uint32_t i, napi_value v, BatchMsg* m) {
    napi_valuetype t = arg::TypeOf(env, v);
    m->ctl = t == napi_undefined ? kShared : kNone;
    m->ctllen = 0;
    if (t == napi_undefined || t == napi_null) return true;
    if (!arg::IsArray(env, v))
      return arg::Throw(env, arg::kType, "sendmmsg: messages[%u].control must be an array of cmsgs or null", i);
    long n = EncodeControl(Napi::Env(env), Napi::Value(env, v), &scratch);
    if (n < 0) return false;
    if (n == 0) return true;
    const size_t unit = sizeof(max_align_t);
    size_t len = static_cast<size_t>(n);
    size_t room = (len + unit - 1) / unit * unit;
    if (room > kMaxBatchControl - arena_used)
      return arg::Throw(env, arg::kRange, "sendmmsg: the control data of one batch is at most %zu bytes", kMaxBatchControl);
    arena.resize((arena_used + room) / unit);
    memcpy(reinterpret_cast<unsigned char*>(arena.data()) + arena_used, scratch.data, len);
    m->ctl = static_cast<long>(arena_used);
    m->ctllen = len;
    arena_used += room;
    return true;
  }

  // messages[i]: a view (one datagram with the shared address and control:
  // the fast path, one IsBytes check) or a { data, to?, control? } object,
  // whose three properties are read once each, in that order.
  bool Read(napi_env env, uint32_t i, napi_value v) {
    BatchMsg m{};
    if (arg::IsBytes(env, v)) {
      m.first = static_cast<uint32_t>(bufs.size());
      m.n = 1;
      m.name = kShared;
      m.ctl = kShared;
      bufs.push_back(v);
      msgs.push_back(m);
      return true;
    }
    if (!arg::IsObject(env, v))
      return arg::Throw(env, arg::kType, "sendmmsg: messages[%u] must be a Buffer or a { data, to?, control? } object", i);
    if (!Keys(env)) return false;
    napi_value d, to, c;
    if (napi_get_property(env, v, k_data, &d) != napi_ok || !ReadData(env, i, d, &m)) return arg::Fail(env, "sendmmsg: messages[].data");
    if (napi_get_property(env, v, k_to, &to) != napi_ok || !ReadAnyTo(env, i, to, &m))
      return arg::Fail(env, "sendmmsg: messages[].to");
    if (napi_get_property(env, v, k_control, &c) != napi_ok || !ReadControl(env, i, c, &m))
      return arg::Fail(env, "sendmmsg: messages[].control");
    msgs.push_back(m);
    return true;
  }
};

// The send of a batch: one sendmmsg(2) where the kernel has it, a sendmsg(2)
// per message elsewhere (stopping at the first failure after one went).
// prepare(msghdr*, i) fills message i. -> messages sent | -errno
template <typename Prepare>
napi_value SendBatch(napi_env env, int fd, uint32_t count, int flags, Prepare prepare) {
  int sent = 0;
#ifdef MSG_WAITFORONE
  std::vector<mmsghdr> hdr(count);
  for (uint32_t i = 0; i < count; i++) {
    prepare(&hdr[i].msg_hdr, i);
    hdr[i].msg_len = 0;
  }
  int n = count == 0 ? 0 : KSOCK_RETRY(sendmmsg(fd, hdr.data(), count, flags | sys::kSendFlags));
  if (n < 0) return arg::Number(env, sys::Err());
  sent = n;
#else
  for (uint32_t i = 0; i < count; i++) {
    msghdr m;
    prepare(&m, i);
    ssize_t r = KSOCK_RETRY(sendmsg(fd, &m, flags | sys::kSendFlags));
    if (r < 0) {
      if (sent > 0) break;
      return arg::Number(env, sys::Err());
    }
    sent++;
  }
#endif
  return arg::Number(env, sent);
}

// sendmmsg(handle, messages[], flags, address?, control?) -> messages sent | -errno
// Each element is one datagram: a Buffer (sent to `address` with `control`),
// or { data: Buffer | Buffer[], to?, control? } whose own `to` / `control`
// replace the shared ones (undefined: the shared one; null: none). At most
// kMaxBatch messages per call: the count returned says how many went.
napi_value Sendmmsg(napi_env env, napi_callback_info cbi) {
  napi_value argv[5];
  size_t argc;
  arg::Args(env, cbi, 5, argv, &argc);
  int fd;
  int32_t flags;
  if (!GetHandleFd(env, argv[0], &fd) || !arg::Int32(env, argv[2], "flags", &flags)) return nullptr;
  uint32_t count;
  if (!arg::ArrayLength(env, argv[1], "sendmmsg: messages", kMaxBuffers, &count)) return nullptr;
  if (count > kMaxBatch) count = kMaxBatch;
  sockaddr_storage ss;
  socklen_t alen;
  ControlBuffer cb;
  size_t clen;
  if (!ReadAddress(env, argv[3], &ss, &alen) || !ReadControl(env, argv[4], &cb, &clen)) return nullptr;
  Batch b;
  b.count = count;
  b.bufs.reserve(count);
  b.msgs.reserve(count);
  for (uint32_t i = 0; i < count; i++) {
    napi_value v;
    if (!arg::Element(env, argv[1], i, &v) || !b.Read(env, i, v)) return nullptr;
  }
  if (fd < 0) return arg::Number(env, -EBADF);
  // Pin: no JavaScript from here on. A view detached by a getter pins empty.
  std::vector<iovec> iov(b.bufs.size());
  for (size_t j = 0; j < b.bufs.size(); j++) {
    // Every value here passed IsBytes when it was read (a view stays a view).
    void* data = nullptr;
    size_t len = 0;
    if (napi_get_buffer_info(env, b.bufs[j], &data, &len) != napi_ok)
      return arg::Throw(env, arg::kType, "sendmmsg: data must be Buffers"), nullptr;
    iov[j].iov_base = data;
    iov[j].iov_len = data != nullptr ? len : 0;  // detached: empty
  }
  unsigned char* arena = reinterpret_cast<unsigned char*>(b.arena.data());
  auto prepare = [&](msghdr* h, const BatchMsg& m) {
    sockaddr_storage* name = m.name == kShared ? &ss : m.name == kNone ? nullptr : &b.names[m.name];
    socklen_t namelen = m.name == kShared ? alen : m.namelen;
    void* control = m.ctl == kShared ? cb.data : m.ctl == kNone ? nullptr : arena + m.ctl;
    size_t controllen = m.ctl == kShared ? clen : m.ctllen;
    Prepare(h, iov.data() + m.first, static_cast<int>(m.n), name, namelen, control, controllen);
  };
  return SendBatch(env, fd, count, flags, [&](msghdr* h, uint32_t i) { prepare(h, b.msgs[i]); });
}

// sendmmsgTo(handle, data, count, flags, names, lens, dataLens, address?, control?)
//   -> messages sent | -errno
// The flat form of sendmmsg that the library uses when every message is one
// Buffer with, at most, a pre-encoded destination. Message i's destination is
// lens[i] bytes at names[i * sizeof(sockaddr_storage)], or the shared
// `address` (lens[i] = -1), or none (-2). Its data is either datas[i] (`data`
// an array of views) or, when `data` is one view (an arena), the next
// dataLens[i] bytes of it, the messages back to back. Control items are
// shared. The destinations are sent from where they lie (no JavaScript runs
// once the views are pinned), so with an arena a message costs no call at all.
napi_value SendmmsgTo(napi_env env, napi_callback_info cbi) {
  napi_value argv[9];
  size_t argc;
  arg::Args(env, cbi, 9, argv, &argc);
  int fd;
  int32_t flags;
  size_t count;
  if (!GetHandleFd(env, argv[0], &fd) || !arg::Size(env, argv[2], "count", kMaxBatch, &count) ||
      !arg::Int32(env, argv[3], "flags", &flags))
    return nullptr;
  const bool arena_form = arg::IsBytes(env, argv[1]);
  std::vector<napi_value> bufs;
  if (!arena_form) {
    uint32_t have;
    if (!arg::ArrayLength(env, argv[1], "sendmmsgTo: datas", kMaxBuffers, &have)) return nullptr;
    if (have < count) return arg::Throw(env, arg::kRange, "sendmmsgTo: %u datas for %zu messages", have, count), nullptr;
    bufs.resize(count);
    for (uint32_t i = 0; i < count; i++) {
      if (!arg::Element(env, argv[1], i, &bufs[i])) return nullptr;
      if (!arg::IsBytes(env, bufs[i])) return arg::Throw(env, arg::kType, "sendmmsgTo: datas must be Buffers"), nullptr;
    }
  }
  for (int a : {5, 6}) {
    bool is_ta = false;
    napi_typedarray_type tt;
    size_t tl = 0;
    if (napi_is_typedarray(env, argv[a], &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(env, argv[a], &tt, &tl, nullptr, nullptr, nullptr) != napi_ok || tt != napi_int32_array)
      return arg::Throw(env, arg::kType, "sendmmsgTo: %s must be an Int32Array", a == 5 ? "lens" : "dataLens"), nullptr;
  }
  if (!arg::IsBytes(env, argv[4])) return arg::Throw(env, arg::kType, "sendmmsgTo: names must be a Buffer"), nullptr;
  sockaddr_storage ss;
  socklen_t alen;
  ControlBuffer cb;
  size_t clen;
  if (!ReadAddress(env, argv[7], &ss, &alen) || !ReadControl(env, argv[8], &cb, &clen)) return nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);
  // Pin: no JavaScript from here on.
  arg::Bytes names, lens_b, dlens_b, arena{};
  if (!arg::Pin(env, argv[4], "names", &names) || !arg::Pin(env, argv[5], "lens", &lens_b) ||
      !arg::Pin(env, argv[6], "dataLens", &dlens_b) || (arena_form && !arg::Pin(env, argv[1], "data", &arena)))
    return nullptr;
  if (lens_b.len / sizeof(int32_t) < count || names.len / sizeof(sockaddr_storage) < count ||
      (arena_form && dlens_b.len / sizeof(int32_t) < count))
    return arg::Throw(env, arg::kRange, "sendmmsgTo: names, lens or dataLens too small for the messages"), nullptr;
  // Typed arrays over a Buffer's memory may sit at any byte offset: read them bytewise.
  auto at = [](const arg::Bytes& b, size_t i) {
    int32_t v;
    memcpy(&v, b.data + i * sizeof(int32_t), sizeof(v));
    return v;
  };
  std::vector<iovec> iov(count);
  size_t used = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (arena_form) {
      int32_t dl = at(dlens_b, i);
      if (dl < 0 || static_cast<size_t>(dl) > arena.len - used)
        return arg::Throw(env, arg::kRange, "sendmmsgTo: dataLens[%u] runs past the data", i), nullptr;
      iov[i].iov_base = arena.data + used;
      iov[i].iov_len = static_cast<size_t>(dl);
      used += static_cast<size_t>(dl);
    } else {
      arg::Bytes b;
      if (!arg::Pin(env, bufs[i], "datas", &b)) return nullptr;
      iov[i].iov_base = b.data;
      iov[i].iov_len = b.len;
    }
    int32_t l = at(lens_b, i);
    if (l > static_cast<int32_t>(sizeof(sockaddr_storage)) || l < -2)
      return arg::Throw(env, arg::kRange, "sendmmsgTo: lens[%u] is not a sockaddr length", i), nullptr;
  }
  auto prepare = [&](msghdr* h, uint32_t i) {
    int32_t l = at(lens_b, i);
    void* name = l == -1 ? static_cast<void*>(&ss) : l == -2 ? nullptr : names.data + i * sizeof(sockaddr_storage);
    Prepare(h, &iov[i], 1, name, l == -1 ? alen : l >= 0 ? static_cast<socklen_t>(l) : 0, cb.data, clen);
  };
  return SendBatch(env, fd, static_cast<uint32_t>(count), flags, prepare);
}

}  // namespace

void InitMsgIo(napi_env env, napi_value exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  static const Fn fns[] = {
      {"sendmsg", Sendmsg}, {"recvmsg", Recvmsg}, {"recvmsgAlloc", RecvmsgAlloc},
      {"recvmmsg", Recvmmsg}, {"sendmmsg", Sendmmsg}, {"sendmmsgTo", SendmmsgTo},
  };
  for (const Fn& f : fns) {
    napi_value fn;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn) == napi_ok)
      napi_set_named_property(env, exports, f.name, fn);
  }
}

}  // namespace ksock
