// Control-message (cmsg) codec: the N-API adapter over cmsg_codec.h.
//
// Send: items { level, type, data?: ArrayBufferView, fds?: number[] } plus the
// typed forms (fields instead of `data`). Everything is read first (getters
// and proxies may run JavaScript), each payload copied into native storage at
// the moment it is read, so no pointer into a JS ArrayBuffer is ever held
// while JavaScript can run (a later getter may detach an earlier Buffer).
// Counts are bounded before anything is reserved.
//
// Receive: the core walks the buffer (bounded, clamped); each item becomes
// { level, type, data } plus its decoded fields. The descriptors of SCM_RIGHTS
// and SCM_PIDFD items are handed to their owner (OwnReceivedFds) item by
// item; on a failure only the descriptors not yet handed over are closed.
#include "ksock.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <vector>

#include "args.h"
#include "bsdlayouts.h"
#include "cmsg_codec.h"
#include "held.h"

namespace ksock {

ControlBuffer::~ControlBuffer() {
  if (data != nullptr && data != inline_buf) free(data);
}

bool ControlBuffer::Reserve(size_t n) {
  if (n <= sizeof(inline_buf)) {
    if (data != nullptr && data != inline_buf) free(data);
    data = inline_buf;
    cap = sizeof(inline_buf);
  } else {
    // malloc's alignment suits any cmsghdr.
    void* p = malloc(n);
    if (p == nullptr) return false;
    if (data != nullptr && data != inline_buf) free(data);
    data = p;
    cap = n;
  }
  memset(data, 0, n);
  return true;
}

namespace {

using arg::kRange;
using arg::kType;

bool Field(napi_env env, napi_value o, const char* key, double lo, double hi, double dflt, double* out) {
  return arg::Field(env, o, key, lo, hi, dflt, "control item", out);
}

// An IPv4/IPv6 address field as text; undefined/null leaves `out` zeroed ("any").
bool Inet(napi_env env, napi_value o, const char* key, int af, void* out) {
  bool present;
  return arg::InetField(env, o, key, af, out, "control item", &present);
}

// Reads the fields of a typed item (no `data`) and builds its payload.
bool EncodeTyped(napi_env env, napi_value o, cmsg::OutItem* it) {
  cmsg::Typed t = cmsg::TypedOf(it->level, it->type);
  cmsg::TypedFields f;
  bool ok = true;
  switch (t) {
    case cmsg::Typed::kNone:
      return arg::Throw(env, kType, "control item data must be a Buffer (no typed encoding for this level/type here)");
    case cmsg::Typed::kCredentials:
      ok = Field(env, o, "pid", INT32_MIN, INT32_MAX, getpid(), &f.pid) &&
           Field(env, o, "uid", 0, UINT32_MAX, getuid(), &f.uid) && Field(env, o, "gid", 0, UINT32_MAX, getgid(), &f.gid);
      break;
    case cmsg::Typed::kCmsgcred:
      break;
    case cmsg::Typed::kPktinfo:
      ok = Field(env, o, "ifindex", 0, INT32_MAX, 0, &f.ifindex) && Inet(env, o, "addr", AF_INET, &f.addr4) &&
           Inet(env, o, "spec_dst", AF_INET, &f.spec_dst);
      break;
    case cmsg::Typed::kSendSrcAddr:
      ok = Inet(env, o, "addr", AF_INET, &f.addr4);
      break;
    case cmsg::Typed::kTtl:
      ok = Field(env, o, "ttl", 0, 255, 0, &f.value);
      break;
    case cmsg::Typed::kTos:
      ok = Field(env, o, "tos", 0, 255, 0, &f.value);
      break;
    case cmsg::Typed::kPktinfo6:
      ok = Field(env, o, "ifindex", 0, UINT32_MAX, 0, &f.ifindex) && Inet(env, o, "addr", AF_INET6, &f.addr6);
      break;
    case cmsg::Typed::kHopLimit:
      ok = Field(env, o, "hoplimit", -1, 255, -1, &f.value);
      break;
    case cmsg::Typed::kTclass:
      ok = Field(env, o, "tclass", -1, 255, -1, &f.value);
      break;
    case cmsg::Typed::kSegment:
      ok = Field(env, o, "segsize", 1, 65535, 0, &f.value);
      break;
    case cmsg::Typed::kMark:
      ok = Field(env, o, "mark", 0, UINT32_MAX, 0, &f.value);
      break;
  }
  if (!ok) return false;
  if (!cmsg::Build(t, f, &it->bytes)) return arg::Throw(env, kRange, "control item field is out of range");
  return true;
}

bool ItemInt(napi_env env, napi_value o, const char* key, int* out) {
  napi_value v;
  if (!arg::Get(env, o, key, &v)) return false;
  double d = 0;
  // The common case first: an int32 number (no message formatted).
  if (v != nullptr && napi_get_value_double(env, v, &d) == napi_ok && d >= INT32_MIN && d <= INT32_MAX &&
      static_cast<double>(static_cast<int32_t>(d)) == d) {
    *out = static_cast<int32_t>(d);
    return true;
  }
  char what[32];
  snprintf(what, sizeof(what), "control item %s", key);
  int32_t i;
  if (!arg::Int32(env, v, what, &i)) return false;
  *out = i;
  return true;
}

// The descriptors of SCM_RIGHTS items, all of one send merged into one item:
// at most cmsg::kMaxFds, so they live on the stack.
struct FdSet {
  int v[cmsg::kMaxFds];
  size_t n = 0;
};

// Reads the descriptors of an SCM_RIGHTS item into fds. Bounded by
// cmsg::kMaxFds over the whole send.
bool ReadFds(napi_env env, napi_value arr, FdSet* fds) {
  uint32_t n = 0;
  size_t room = cmsg::kMaxFds - fds->n;
  if (!arg::ArrayLength(env, arr, "control item fds", static_cast<uint32_t>(room), &n)) return false;
  for (uint32_t k = 0; k < n; k++) {
    napi_value v;
    if (!arg::Element(env, arr, k, &v)) return false;
    double d;
    if (!arg::Integer(env, v, "control item fds element", 0, INT32_MAX, &d)) return false;
    // A getter on an earlier element may have grown the array: the bound
    // holds for the elements we take, which is all we read.
    if (fds->n >= cmsg::kMaxFds) return arg::Throw(env, kRange, "control item fds: at most %zu descriptors", cmsg::kMaxFds);
    fds->v[fds->n++] = static_cast<int>(d);
  }
  return true;
}

}  // namespace

namespace {

// The form lib/core/rights.ts encodes a descriptors-only list into: an
// Int32Array [n, fd0 … fd(n-1)]. Runs no JavaScript; copied out at once.
long EncodeRightsArray(napi_env env, napi_value v, ControlBuffer* out) {
  napi_typedarray_type t;
  size_t len = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &t, &len, &data, nullptr, nullptr) != napi_ok || t != napi_int32_array) {
    arg::Throw(env, kType, "control must be an array of { level, type, data } items");
    return -1;
  }
  const int32_t* a = static_cast<const int32_t*>(data);
  int32_t n = len > 0 && a != nullptr ? a[0] : -1;
  if (n < 0 || static_cast<size_t>(n) > cmsg::kMaxFds || static_cast<size_t>(n) > len - 1) {
    arg::Throw(env, kRange, "control: an encoded descriptor list holds [n, fd0 … fd(n-1)], n <= %zu", cmsg::kMaxFds);
    return -1;
  }
  FdSet fds;
  for (int32_t i = 0; i < n; i++) {
    int32_t fd = a[1 + i];
    if (fd < 0) {
      arg::Throw(env, kRange, "control item fds element is out of range");
      return -1;
    }
    fds.v[fds.n++] = fd;
  }
  if (fds.n == 0) return 0;
  const std::vector<cmsg::OutItem> none;
  size_t total = 0;
  if (!cmsg::Layout(fds.n, none, &total) || !out->Reserve(total)) {
    arg::Throw(env, arg::kError, "out of memory building control data");
    return -1;
  }
  cmsg::Encode(fds.v, fds.n, none, static_cast<unsigned char*>(out->data), total);
  out->len = total;
  return static_cast<long>(total);
}

}  // namespace

long EncodeControl(Napi::Env napienv, Napi::Value value, ControlBuffer* out) {
  napi_env env = napienv;
  napi_value v = value;
  if (arg::IsNullish(env, v)) return 0;
  uint32_t n = 0;
  bool typed = false;
  if (napi_is_typedarray(env, v, &typed) == napi_ok && typed) return EncodeRightsArray(env, v, out);
  if (!arg::IsArray(env, v)) {
    arg::Throw(env, kType, "control must be an array of { level, type, data } items");
    return -1;
  }
  if (!arg::ArrayLength(env, v, "control", static_cast<uint32_t>(cmsg::kMaxItems), &n)) return -1;
  std::vector<cmsg::OutItem> items;  // items with a payload: none when only passing descriptors
  FdSet fds;
  size_t running = 0;  // CMSG_SPACE so far, against kMaxBytes
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (!arg::Element(env, v, i, &e)) return -1;
    if (!arg::IsObject(env, e)) {
      arg::Throw(env, kType, "control item must be an object");
      return -1;
    }
    cmsg::OutItem it;
    if (!ItemInt(env, e, "level", &it.level) || !ItemInt(env, e, "type", &it.type)) return -1;
    napi_value f;
    if (!arg::Get(env, e, "fds", &f)) return -1;
    if (it.level == SOL_SOCKET && it.type == SCM_RIGHTS && arg::IsArray(env, f)) {
      if (!ReadFds(env, f, &fds)) return -1;
      continue;  // merged into one SCM_RIGHTS item by the core
    }
    napi_value d;
    if (!arg::Get(env, e, "data", &d)) return -1;
    if (arg::IsNullish(env, d)) {
      if (!EncodeTyped(env, e, &it)) return -1;
    } else if (arg::IsBytes(env, d)) {
      // Copy now: the next getter may detach or transfer this buffer.
      arg::Bytes b;
      if (!arg::Pin(env, d, "control item data", &b)) return -1;
      if (b.len > cmsg::kMaxBytes) {
        arg::Throw(env, kRange, "control item data is too large");
        return -1;
      }
      it.bytes.resize(b.len);
      arg::CopyBytes(it.bytes.data(), b.data, b.len);
    } else {
      arg::Throw(env, kType, "control item data must be a Buffer");
      return -1;
    }
    running += CMSG_SPACE(it.bytes.size());
    if (running > cmsg::kMaxBytes) {
      arg::Throw(env, kRange, "control data is too large");
      return -1;
    }
    if (items.empty()) items.reserve(n - i);
    items.push_back(std::move(it));
  }
  size_t total = 0;
  if (!cmsg::Layout(fds.n, items, &total)) {
    arg::Throw(env, kRange, "control data is too large");
    return -1;
  }
  if (total == 0) return 0;
  if (!out->Reserve(total)) {
    arg::Throw(env, arg::kError, "out of memory building control data");
    return -1;
  }
  cmsg::Encode(fds.v, fds.n, items, static_cast<unsigned char*>(out->data), total);
  out->len = total;
  return static_cast<long>(total);
}

void DisposeRights(const msghdr* msg) {
  cmsg::DisposeFds(msg->msg_control, static_cast<size_t>(msg->msg_controllen));
}

void SetCloexecOnRights(const msghdr* msg) {
  cmsg::CloexecFds(msg->msg_control, static_cast<size_t>(msg->msg_controllen));
}

namespace {

bool SetNum(napi_env env, napi_value o, const char* key, double v) {
  napi_value x;
  return napi_create_double(env, v, &x) == napi_ok && napi_set_named_property(env, o, key, x) == napi_ok;
}

bool SetStr(napi_env env, napi_value o, const char* key, const char* s) {
  napi_value x;
  return napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &x) == napi_ok &&
         napi_set_named_property(env, o, key, x) == napi_ok;
}

bool SetInet(napi_env env, napi_value o, const char* key, int af, const void* addr) {
  char t[INET6_ADDRSTRLEN];
  if (inet_ntop(af, addr, t, sizeof(t)) == nullptr) t[0] = '\0';
  return SetStr(env, o, key, t);
}

bool SetBytes(napi_env env, napi_value o, const char* key, const unsigned char* p, size_t n) {
  napi_value b;
  void* dst = nullptr;
  if (napi_create_buffer(env, n, &dst, &b) != napi_ok) return false;
  arg::CopyBytes(dst, p, n);
  return napi_set_named_property(env, o, key, b) == napi_ok;
}

bool SetValue(napi_env env, napi_value o, const char* key, const Napi::Value& v) {
  return !v.IsEmpty() && napi_set_named_property(env, o, key, v) == napi_ok;
}

Napi::Value Sockaddr(napi_env env, const unsigned char* p, size_t n) {
  sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  if (n > sizeof(ss)) n = sizeof(ss);
  arg::CopyBytes(&ss, p, n);
  return DecodeSockaddr(Napi::Env(env), &ss, static_cast<socklen_t>(n));
}

// Sets the decoded fields of a known item on o. False with an exception pending.
bool SetDecoded(napi_env env, napi_value o, const cmsg::Decoded& d) {
  using cmsg::Kind;
  switch (d.kind) {
    case Kind::kRaw:
    case Kind::kFds:
      return true;
    case Kind::kCredentials:
      return SetNum(env, o, "pid", d.pid) && SetNum(env, o, "uid", d.uid) && SetNum(env, o, "gid", d.gid) &&
             SetStr(env, o, "mechanism", "SCM_CREDENTIALS");
    case Kind::kCmsgcred:
    case Kind::kSockcred:
      return SetCred(env, o, d.cred, d.layout) && SetStr(env, o, "mechanism", "SCM_CREDS");
    case Kind::kSockcred2:
      return SetCred(env, o, d.cred, d.layout) && SetStr(env, o, "mechanism", "SCM_CREDS2");
    case Kind::kBintime: {
      bsd::Time t;
      t.sec = d.sec;
      t.nsec = d.nsec;
      t.frac = d.frac;
      return SetTime(env, o, t, true);
    }
    case Kind::kTimestampNs:
      return SetNum(env, o, "sec", d.sec) && SetNum(env, o, "nsec", d.nsec);
    case Kind::kTimestamping: {
      napi_value a;
      if (napi_create_array_with_length(env, 3, &a) != napi_ok) return false;
      for (uint32_t i = 0; i < 3; i++) {
        napi_value t;
        if (napi_create_object(env, &t) != napi_ok || !SetNum(env, t, "sec", d.ts[i].sec) ||
            !SetNum(env, t, "nsec", d.ts[i].nsec) || napi_set_element(env, a, i, t) != napi_ok)
          return false;
      }
      return napi_set_named_property(env, o, "timestamps", a) == napi_ok;
    }
    case Kind::kTimestamp:
      return SetNum(env, o, "sec", d.sec) && SetNum(env, o, "usec", d.usec);
    case Kind::kDropped:
      return SetNum(env, o, "dropped", d.u32);
    case Kind::kMark:
      return SetNum(env, o, "mark", d.u32);
    case Kind::kPktinfo:
      return SetNum(env, o, "ifindex", d.ifindex) && SetInet(env, o, "spec_dst", AF_INET, &d.spec_dst) &&
             SetInet(env, o, "addr", AF_INET, &d.addr4);
    case Kind::kRecvDstAddr:
      return SetInet(env, o, "addr", AF_INET, &d.addr4);
    case Kind::kRecvIf:
      return SetNum(env, o, "ifindex", d.ifindex);
    case Kind::kTtl:
      return SetNum(env, o, "ttl", d.i32);
    case Kind::kTos:
      return SetNum(env, o, "tos", d.i32);
    case Kind::kOrigDstAddr:
      return SetValue(env, o, "address", Sockaddr(env, d.sa, d.salen));
    case Kind::kPktinfo6:
      return SetInet(env, o, "addr", AF_INET6, &d.addr6) && SetNum(env, o, "ifindex", d.ifindex);
    case Kind::kHopLimit:
      return SetNum(env, o, "hoplimit", d.i32);
    case Kind::kTclass:
      return SetNum(env, o, "tclass", d.i32);
    case Kind::kExtendedErr: {
      if (!SetNum(env, o, "errno", d.ee_errno) || !SetNum(env, o, "origin", d.ee_origin) ||
          !SetNum(env, o, "icmpType", d.ee_type) || !SetNum(env, o, "icmpCode", d.ee_code) ||
          !SetNum(env, o, "info", d.ee_info) || !SetNum(env, o, "eeData", d.ee_data))
        return false;
      if (d.sa == nullptr || d.salen < sizeof(sa_family_t)) return true;
      sockaddr_storage ss;
      memset(&ss, 0, sizeof(ss));
      size_t n = d.salen < sizeof(ss) ? d.salen : sizeof(ss);
      arg::CopyBytes(&ss, d.sa, n);
      if (n < offsetof(sockaddr, sa_family) + sizeof(sa_family_t) || reinterpret_cast<sockaddr*>(&ss)->sa_family == AF_UNSPEC)
        return true;
      return SetValue(env, o, "offender", Sockaddr(env, d.sa, d.salen));
    }
    case Kind::kGro:
    case Kind::kSegment:
      return SetNum(env, o, "segsize", d.i32);
    case Kind::kAuxdata:
      return SetNum(env, o, "status", d.tp_status) && SetNum(env, o, "len", d.tp_len) &&
             SetNum(env, o, "snaplen", d.tp_snaplen) && SetNum(env, o, "mac", d.tp_mac) && SetNum(env, o, "net", d.tp_net) &&
             SetNum(env, o, "vlan_tci", d.tp_vlan_tci) && SetNum(env, o, "vlan_tpid", d.tp_vlan_tpid);
  }
  return true;
}

void CloseFds(const cmsg::Span& s) {
  for (size_t k = 0, n = cmsg::FdCount(s); k < n; k++) {
    int fd = cmsg::FdAt(s, k);
    if (fd >= 0) close(fd);
  }
}

}  // namespace

namespace {

// A span's whole descriptors, copied out (the payload may be unaligned).
struct FdList {
  int small[16];
  std::vector<int> big;
  const int* data = small;
  size_t n = 0;
  explicit FdList(const cmsg::Span& s) : n(cmsg::FdCount(s)) {
    int* out = small;
    if (n > sizeof(small) / sizeof(small[0])) {
      big.resize(n);
      out = big.data();
    }
    for (size_t k = 0; k < n; k++) out[k] = cmsg::FdAt(s, k);
    data = out;
  }
};

}  // namespace

bool DecodeControl(napi_env env, Held* held, const msghdr* msg, bool peek, bool fresh, napi_value* list) {
  *list = nullptr;
  const void* control = msg->msg_control;
  const size_t controllen = control != nullptr ? static_cast<size_t>(msg->msg_controllen) : 0;
  // MSG_PEEK: Linux installs duplicate descriptors on every peek; close
  // them and leave SCM_RIGHTS/SCM_PIDFD out (OpenBSD's rule), so that only
  // the real receive hands descriptors over.
  if (peek) cmsg::DisposeFds(control, controllen);
  // Make every received descriptor close-on-exec first, whatever happens next.
#ifndef MSG_CMSG_CLOEXEC
  cmsg::CloexecFds(control, controllen);
#endif
  if (fresh) RightsBegin(held);
  const bool grouped = RightsGroup(held);

  // The hot case: every item carries whole descriptors (or was peeked away)
  // and the report has room: the items are reported there only (held.h), and
  // JavaScript makes the list. No object is made here.
  size_t nspans = 0, need = 0;
  bool fast = grouped;
  cmsg::Walk(control, controllen, [&](const cmsg::Span& s) {
    nspans++;
    if (!cmsg::CarriesFds(s) || s.len % sizeof(int) != 0) fast = false;
    else if (!peek) need += 5 + cmsg::FdCount(s);
  });
  if (fast && need <= RightsRoom(held)) {
    if (peek) return true;  // disposed above
    bool held_all = true;
    cmsg::Walk(control, controllen, [&](const cmsg::Span& s) {
      if (!held_all) {  // an earlier item found no owner: close the rest
        CloseFds(s);
        return;
      }
      FdList fds(s);
      uint32_t id = 0, token = 0;
      if (!HoldReceivedFds(held, fds.data, fds.n, &id, &token)) {
        held_all = false;  // closed by HoldReceivedFds
        return;
      }
      RightsItem(held, s.level, s.type, id, token, fds.data, fds.n);
    });
    if (held_all) return true;
    RightsAbort(held);
    return arg::Throw(env, arg::kError, "cannot take ownership of received descriptors");
  }

  std::vector<cmsg::Span> spans;
  spans.reserve(nspans);
  cmsg::Walk(control, controllen, [&](const cmsg::Span& s) { spans.push_back(s); });

  // Items [0, handed) have had their descriptors given to an owner (or
  // closed by OwnReceivedFds when that failed): never close those again.
  size_t handed = 0;
  napi_value arr = nullptr;
  bool ok = napi_create_array(env, &arr) == napi_ok;
  uint32_t out = 0;
  for (size_t i = 0; ok && i < spans.size(); i++) {
    const cmsg::Span& s = spans[i];
    const bool fds = cmsg::CarriesFds(s);
    if (fds && peek) {
      handed = i + 1;  // disposed above
      continue;
    }
    napi_value o;
    ok = napi_create_object(env, &o) == napi_ok && SetNum(env, o, "level", s.level) && SetNum(env, o, "type", s.type);
    if (!ok) break;
    if (fds) {
      // Whole descriptors: `data` is rebuilt from `fds` on demand (the hot
      // path of descriptor passing copies nothing else); a payload with a
      // partial int keeps its exact bytes.
      FdList list(s);
      handed = i + 1;  // from this call on they are the owner's
      ok = OwnReceivedFds(env, held, o, list.data, list.n);
      if (ok && s.len % sizeof(int) != 0) ok = SetBytes(env, o, "data", s.data, s.len);
    } else {
      handed = i + 1;  // nothing to hand over
      ok = SetBytes(env, o, "data", s.data, s.len) && SetDecoded(env, o, cmsg::Decode(s));
    }
    ok = ok && napi_set_element(env, arr, out++, o) == napi_ok;
  }
  if (ok && !arg::Pending(env)) {
    RightsBuilt(held);
    *list = arr;
    return true;
  }
  // Failed: close what no owner has (the failing item if it never reached
  // OwnReceivedFds, and every later one), and what the earlier items of this
  // call were given.
  if (!peek)
    for (size_t j = handed; j < spans.size(); j++)
      if (cmsg::CarriesFds(spans[j])) CloseFds(spans[j]);
  RightsAbort(held);
  return arg::Throw(env, arg::kError, "cannot build the received control items");
}

}  // namespace ksock
