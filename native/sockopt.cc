// Struct-valued socket options: the N-API adapter over optstruct_codec.h.
//
// encodeOpt(kind, value) -> Buffer, decodeOpt(kind, bytes, length) -> value.
// Every field is read first (getters may run JavaScript); the bytes given to
// decodeOpt are pinned only after the last read that could run JavaScript,
// and decoded into plain fields at once.
#include "ksock.h"

#include <arpa/inet.h>

#include <cstring>

#include "args.h"
#include "filter.h"
#include "optstruct_codec.h"

namespace ksock {

namespace {

using arg::kRange;
using arg::kType;

// Reads a numeric field; a missing or nullish one is 0.
bool Num(napi_env env, napi_value o, const char* key, double lo, double hi, double* out) {
  return arg::Field(env, o, key, lo, hi, 0, "option field", out);
}

bool AddrText(napi_env env, napi_value o, const char* key, int af, void* out, bool required, bool* present) {
  if (!arg::InetField(env, o, key, af, out, "option field", present)) return false;
  if (!*present && required) return arg::Throw(env, kType, "option field %s is required", key);
  return true;
}

bool Addr4(napi_env env, napi_value o, const char* key, in_addr* out, bool required) {
  bool present = false;
  if (!AddrText(env, o, key, AF_INET, out, required, &present)) return false;
  if (!present) out->s_addr = htonl(INADDR_ANY);
  return true;
}

bool Addr6(napi_env env, napi_value o, const char* key, in6_addr* out) {
  bool present = false;
  return AddrText(env, o, key, AF_INET6, out, true, &present);
}

// The kind argument: a string naming a struct.
bool KindArg(napi_env env, napi_value v, const char* fn, char* name, size_t cap, opt::Kind* k) {
  size_t len = 0;
  if (arg::TypeOf(env, v) != napi_string) return arg::Throw(env, kType, "%s: kind must be a string", fn);
  if (napi_get_value_string_utf8(env, v, name, cap, &len) != napi_ok) return arg::Fail(env, fn);
  *k = opt::KindOf(name, len);
  return true;
}

bool SetNum(napi_env env, napi_value o, const char* key, double v) {
  napi_value x;
  return napi_create_double(env, v, &x) == napi_ok && napi_set_named_property(env, o, key, x) == napi_ok;
}

bool SetInet(napi_env env, napi_value o, const char* key, int af, const void* a) {
  char t[INET6_ADDRSTRLEN];
  if (inet_ntop(af, a, t, sizeof(t)) == nullptr) t[0] = '\0';
  napi_value s;
  return napi_create_string_utf8(env, t, NAPI_AUTO_LENGTH, &s) == napi_ok &&
         napi_set_named_property(env, o, key, s) == napi_ok;
}

// Reads the JS fields of kind k.
bool ReadFields(napi_env env, opt::Kind k, napi_value o, opt::Fields* f) {
  switch (k) {
    case opt::Kind::kLinger:
      return Num(env, o, "onoff", INT32_MIN, INT32_MAX, &f->onoff) && Num(env, o, "linger", INT32_MIN, INT32_MAX, &f->linger);
    case opt::Kind::kTimeval:
      return Num(env, o, "sec", -1e15, 1e15, &f->sec) && Num(env, o, "usec", -1e15, 1e15, &f->usec);
    case opt::Kind::kIpMreq:
      return Addr4(env, o, "multiaddr", &f->multiaddr, true) && Addr4(env, o, "interface", &f->interface_, false);
    case opt::Kind::kIpMreqn:
      return Addr4(env, o, "multiaddr", &f->multiaddr, true) && Addr4(env, o, "address", &f->address, false) &&
             Num(env, o, "ifindex", 0, INT32_MAX, &f->ifindex);
    case opt::Kind::kIpMreqSource:
      return Addr4(env, o, "multiaddr", &f->multiaddr, true) && Addr4(env, o, "sourceaddr", &f->sourceaddr, true) &&
             Addr4(env, o, "interface", &f->interface_, false);
    case opt::Kind::kIpv6Mreq:
      return Addr6(env, o, "multiaddr", &f->multiaddr6) && Num(env, o, "ifindex", 0, UINT32_MAX, &f->ifindex);
    case opt::Kind::kUcred:
      return Num(env, o, "pid", INT32_MIN, INT32_MAX, &f->pid) && Num(env, o, "uid", 0, UINT32_MAX, &f->uid) &&
             Num(env, o, "gid", 0, UINT32_MAX, &f->gid);
    case opt::Kind::kPacketMreq: {
      if (!Num(env, o, "ifindex", 0, INT32_MAX, &f->ifindex) || !Num(env, o, "type", 0, UINT16_MAX, &f->type)) return false;
      // The hardware address (optional) is read last: nothing runs JavaScript
      // after it is pinned and copied.
      napi_value a;
      if (!arg::Get(env, o, "address", &a)) return false;
      if (arg::IsNullish(env, a)) return true;
      if (!arg::IsBytes(env, a)) return arg::Throw(env, kType, "option field address must be a Buffer");
      arg::Bytes b;
      if (!arg::Pin(env, a, "option field address", &b)) return false;
      if (b.len > sizeof(f->hwaddr)) return arg::Throw(env, kRange, "option field address is longer than %zu bytes", sizeof(f->hwaddr));
      arg::CopyBytes(f->hwaddr, b.data, b.len);
      f->hwlen = b.len;
      return true;
    }
    default:
      return arg::Throw(env, kType, "encodeOpt: no fields to read for this kind");
  }
}

// encodeOpt(kind, value) -> Buffer
napi_value Encode(napi_env env, napi_callback_info cbi) {
  size_t argc = 2;
  napi_value argv[2] = {nullptr, nullptr};
  if (napi_get_cb_info(env, cbi, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 2 || arg::TypeOf(env, argv[0]) != napi_string || !arg::IsObject(env, argv[1])) {
    arg::Throw(env, kType, "encodeOpt(kind, value): value must be an object");
    return nullptr;
  }
  char name[32];
  opt::Kind k;
  if (!KindArg(env, argv[0], "encodeOpt", name, sizeof(name), &k)) return nullptr;
  if (!opt::CanEncode(k)) {
    arg::Throw(env, kType, "encodeOpt: this platform has no struct for '%s'", name);
    return nullptr;
  }
  opt::Fields f;
  if (!ReadFields(env, k, argv[1], &f)) return nullptr;
  uint8_t bytes[opt::kMaxEncoded];
  size_t n = opt::Encode(k, f, bytes, sizeof(bytes));
  if (n == 0) {
    arg::Throw(env, kRange, "encodeOpt: a field of '%s' is out of range", name);
    return nullptr;
  }
  napi_value b;
  void* dst = nullptr;
  if (napi_create_buffer(env, n, &dst, &b) != napi_ok) return nullptr;
  arg::CopyBytes(dst, bytes, n);
  return b;
}

napi_value Build(napi_env env, opt::Kind k, const opt::Fields& f) {
  napi_value o;
  if (napi_create_object(env, &o) != napi_ok) return nullptr;
  bool ok = true;
  switch (k) {
    case opt::Kind::kLinger:
      ok = SetNum(env, o, "onoff", f.onoff) && SetNum(env, o, "linger", f.linger);
      break;
    case opt::Kind::kTimeval:
      ok = SetNum(env, o, "sec", f.sec) && SetNum(env, o, "usec", f.usec);
      break;
    case opt::Kind::kIpMreq:
      ok = SetInet(env, o, "multiaddr", AF_INET, &f.multiaddr) && SetInet(env, o, "interface", AF_INET, &f.interface_);
      break;
    case opt::Kind::kIpMreqn:
      ok = SetInet(env, o, "multiaddr", AF_INET, &f.multiaddr) && SetInet(env, o, "address", AF_INET, &f.address) &&
           SetNum(env, o, "ifindex", f.ifindex);
      break;
    case opt::Kind::kIpMreqSource:
      ok = SetInet(env, o, "multiaddr", AF_INET, &f.multiaddr) &&
           SetInet(env, o, "sourceaddr", AF_INET, &f.sourceaddr) && SetInet(env, o, "interface", AF_INET, &f.interface_);
      break;
    case opt::Kind::kIpv6Mreq:
      ok = SetInet(env, o, "multiaddr", AF_INET6, &f.multiaddr6) && SetNum(env, o, "ifindex", f.ifindex);
      break;
    case opt::Kind::kUcred:
    case opt::Kind::kSockpeercred:
    case opt::Kind::kUnpcbid:
      ok = SetNum(env, o, "pid", f.pid) && SetNum(env, o, "uid", f.uid) && SetNum(env, o, "gid", f.gid);
      break;
    case opt::Kind::kXucred: {
      ok = SetNum(env, o, "version", f.version) && SetNum(env, o, "uid", f.uid);
      napi_value g;
      ok = ok && napi_create_array_with_length(env, static_cast<size_t>(f.ngroups), &g) == napi_ok;
      for (int i = 0; ok && i < f.ngroups; i++) {
        napi_value x;
        ok = napi_create_double(env, f.groups[i], &x) == napi_ok && napi_set_element(env, g, static_cast<uint32_t>(i), x) == napi_ok;
      }
      ok = ok && SetNum(env, o, "gid", f.gid) && napi_set_named_property(env, o, "groups", g) == napi_ok;
      if (f.has_pid) ok = ok && SetNum(env, o, "pid", f.pid);
      break;
    }
    case opt::Kind::kTcpInfo:
      for (int i = 0; ok && i < f.tcp.count; i++) ok = SetNum(env, o, f.tcp.f[i].name, f.tcp.f[i].value);
      if (ok && f.tcp.state_name != nullptr) {
        napi_value s;
        ok = napi_create_string_utf8(env, f.tcp.state_name, NAPI_AUTO_LENGTH, &s) == napi_ok &&
             napi_set_named_property(env, o, "stateName", s) == napi_ok;
      }
      break;
    case opt::Kind::kPacketMreq: {
      ok = SetNum(env, o, "ifindex", f.ifindex) && SetNum(env, o, "type", f.type);
      napi_value b;
      void* dst = nullptr;
      ok = ok && napi_create_buffer(env, f.hwlen, &dst, &b) == napi_ok;
      if (ok) arg::CopyBytes(dst, f.hwaddr, f.hwlen);
      ok = ok && napi_set_named_property(env, o, "address", b) == napi_ok;
      break;
    }
    case opt::Kind::kTpacketStats:
      ok = SetNum(env, o, "packets", f.packets) && SetNum(env, o, "drops", f.drops);
      if (ok && f.has_freeze) ok = SetNum(env, o, "freeze_q_cnt", f.freeze_q_cnt);
      break;
    case opt::Kind::kUnknown:
      ok = false;
      break;
  }
  return ok ? o : nullptr;
}

// decodeOpt(kind, bytes, length?) -> object
napi_value Decode(napi_env env, napi_callback_info cbi) {
  size_t argc = 3;
  napi_value argv[3] = {nullptr, nullptr, nullptr};
  if (napi_get_cb_info(env, cbi, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 2 || arg::TypeOf(env, argv[0]) != napi_string || !arg::IsBytes(env, argv[1])) {
    arg::Throw(env, kType, "decodeOpt(kind, buffer, length)");
    return nullptr;
  }
  char name[32];
  opt::Kind k;
  if (!KindArg(env, argv[0], "decodeOpt", name, sizeof(name), &k)) return nullptr;
  double want = -1;
  if (argc > 2 && arg::TypeOf(env, argv[2]) == napi_number) napi_get_value_double(env, argv[2], &want);
  if (k == opt::Kind::kUnknown) {
    arg::Throw(env, kType, "decodeOpt: this platform has no struct for '%s'", name);
    return nullptr;
  }
  arg::Bytes b;  // pinned after the last read that could run JavaScript
  if (!arg::Pin(env, argv[1], "decodeOpt buffer", &b)) return nullptr;
  size_t len = b.len;
  if (want >= 0 && want < static_cast<double>(len)) len = static_cast<size_t>(want);
  opt::Fields f;
  opt::Decode(k, b.data, len, &f);  // plain fields: the pointer is not used again
  napi_value o = Build(env, k, f);
  if (o == nullptr) arg::Throw(env, arg::kError, "decodeOpt: cannot build the value");
  return o;
}

}  // namespace

void InitSockopt(Napi::Env napienv, Napi::Object exports) {
  napi_env env = napienv;
  napi_value f;
  if (napi_create_function(env, "encodeOpt", NAPI_AUTO_LENGTH, Encode, nullptr, &f) == napi_ok)
    napi_set_named_property(env, exports, "encodeOpt", f);
  if (napi_create_function(env, "decodeOpt", NAPI_AUTO_LENGTH, Decode, nullptr, &f) == napi_ok)
    napi_set_named_property(env, exports, "decodeOpt", f);
  napi_value kinds, yes;
  if (napi_create_object(env, &kinds) != napi_ok || napi_get_boolean(env, true, &yes) != napi_ok) return;
  static const opt::Kind all[] = {opt::Kind::kLinger, opt::Kind::kTimeval,   opt::Kind::kIpMreq,
                                  opt::Kind::kIpMreqn, opt::Kind::kIpMreqSource, opt::Kind::kIpv6Mreq,
                                  opt::Kind::kUcred,  opt::Kind::kSockpeercred, opt::Kind::kXucred,
                                  opt::Kind::kUnpcbid, opt::Kind::kTcpInfo, opt::Kind::kPacketMreq, opt::Kind::kTpacketStats};
  for (opt::Kind k : all) {
    const char* n = opt::NameOf(k);
    if (n[0] != '\0') napi_set_named_property(env, kinds, n, yes);
  }
#ifdef KSOCK_HAVE_SOCK_FPROG
  napi_set_named_property(env, kinds, "sock_fprog", yes);  // filter.h: programs as their instructions
#endif
  napi_set_named_property(env, exports, "optKinds", kinds);
}

}  // namespace ksock
