// sockaddr codec: JS address objects <-> struct sockaddr bytes, the N-API
// adapter over sockaddr_codec.h.
//
//   { family: AF_INET,  address: '127.0.0.1', port }
//   { family: AF_INET6, address: '::1', port, flowinfo, scopeid }
//   { family: AF_UNIX,  path }      path '' = unnamed; a leading '\0' = Linux
//                                   abstract name, passed with its exact length
//   { family: AF_PACKET, ifindex, protocol, hatype, pkttype, addr }
//   { family: AF_NETLINK, pid, groups }
//   { family, data }                 any other family: the bytes after sa_family
//   ArrayBufferView                  a raw sockaddr, used as is
//
// Every field is read (getters may run JavaScript) and its bytes copied at
// once; no pointer into a JS ArrayBuffer outlives the read of one field.
// Decoding never reads past the length the kernel returned.
#include "ksock.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#include "args.h"
#include "sockaddr_codec.h"

namespace ksock {

namespace {

using arg::kRange;
using arg::kType;

// address[key] as an integer in [0, max]; undefined/null is 0, or a TypeError when required.
bool Uint(napi_env env, napi_value o, const char* key, uint32_t max, bool required, uint32_t* out) {
  napi_value v;
  if (!arg::Get(env, o, key, &v)) return false;
  if (arg::IsNullish(env, v)) {
    if (required) return arg::Throw(env, kType, "address.%s is required", key);
    *out = 0;
    return true;
  }
  char what[48];
  snprintf(what, sizeof(what), "address.%s", key);
  double d;
  if (!arg::Integer(env, v, what, 0, max, &d)) return false;
  *out = static_cast<uint32_t>(d);
  return true;
}

// The bytes of a string (UTF-8) or ArrayBufferView field, copied into dst[cap]
// at once. *n is the length.
bool BytesOf(napi_env env, napi_value v, const char* key, bool allow_string, unsigned char* dst, size_t cap,
             size_t* n) {
  char what[48];
  snprintf(what, sizeof(what), "address.%s", key);
  if (arg::IsBytes(env, v)) {
    arg::Bytes b;
    if (!arg::Pin(env, v, what, &b)) return false;
    if (b.len > cap) return arg::Throw(env, kRange, "%s is too long", what);
    arg::CopyBytes(dst, b.data, b.len);
    *n = b.len;
    return true;
  }
  if (allow_string && arg::TypeOf(env, v) == napi_string) {
    size_t need = 0;
    if (napi_get_value_string_utf8(env, v, nullptr, 0, &need) != napi_ok) return arg::Fail(env, what);
    if (need > cap) return arg::Throw(env, kRange, "%s is too long", what);
    // napi writes a NUL terminator: go through a buffer with room for it.
    char tmp[sa::kPathMax + 1];
    size_t got = 0;
    if (need + 1 > sizeof(tmp) || napi_get_value_string_utf8(env, v, tmp, sizeof(tmp), &got) != napi_ok)
      return arg::Fail(env, what);
    arg::CopyBytes(dst, tmp, got);
    *n = got;
    return true;
  }
  return arg::Throw(env, kType, allow_string ? "%s must be a string or a Buffer" : "%s must be a Buffer", what);
}

// An IPv4/IPv6 address string field into ip.
bool Inet(napi_env env, napi_value o, int af, unsigned char* ip) {
  napi_value v;
  if (!arg::Get(env, o, "address", &v)) return false;
  if (arg::TypeOf(env, v) != napi_string) return arg::Throw(env, kType, "address.address must be a string");
  char text[64];
  size_t need = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &need) != napi_ok) return arg::Fail(env, "address.address");
  if (need < sizeof(text) && napi_get_value_string_utf8(env, v, text, sizeof(text), &need) == napi_ok &&
      inet_pton(af, text, ip) == 1)
    return true;
  if (need >= sizeof(text)) snprintf(text, sizeof(text), "(%zu bytes)", need);
  return arg::Throw(env, kType, "address.address is not an %s address: '%s'", af == AF_INET ? "IPv4" : "IPv6", text);
}

bool Fields(napi_env env, napi_value o, sa::Addr* a) {
  uint32_t family = 0;
  if (!Uint(env, o, "family", 0xffff, true, &family)) return false;
  a->family = static_cast<int>(family);
  if (family == AF_INET) {
    a->shape = sa::Shape::kInet;
    return Inet(env, o, AF_INET, a->ip) && Uint(env, o, "port", 65535, false, &a->port);
  }
  if (family == AF_INET6) {
    a->shape = sa::Shape::kInet6;
    return Inet(env, o, AF_INET6, a->ip) && Uint(env, o, "port", 65535, false, &a->port) &&
           Uint(env, o, "flowinfo", 0xffffffffu, false, &a->flowinfo) &&
           Uint(env, o, "scopeid", 0xffffffffu, false, &a->scopeid);
  }
  if (family == AF_UNIX) {
    a->shape = sa::Shape::kUnix;
    napi_value p;
    if (!arg::Get(env, o, "path", &p)) return false;
    if (arg::IsNullish(env, p)) {  // unnamed (autobind on Linux)
      a->unnamed = true;
      return true;
    }
    return BytesOf(env, p, "path", true, a->path, sizeof(a->path), &a->pathlen);
  }
#if defined(AF_PACKET) && __has_include(<netpacket/packet.h>)
  if (family == AF_PACKET) {
    a->shape = sa::Shape::kPacket;
    if (!Uint(env, o, "ifindex", 0x7fffffff, false, &a->ifindex) ||
        !Uint(env, o, "protocol", 0xffff, false, &a->protocol) || !Uint(env, o, "hatype", 0xffff, false, &a->hatype) ||
        !Uint(env, o, "pkttype", 0xff, false, &a->pkttype))
      return false;
    napi_value v;
    if (!arg::Get(env, o, "addr", &v)) return false;
    if (arg::IsNullish(env, v)) return true;
    return BytesOf(env, v, "addr", false, a->bytes, sa::kLinkAddrMax, &a->bytes_len);
  }
#endif
#if defined(AF_NETLINK) && __has_include(<linux/netlink.h>)
  if (family == AF_NETLINK) {
    a->shape = sa::Shape::kNetlink;
    return Uint(env, o, "pid", 0xffffffffu, false, &a->pid) && Uint(env, o, "groups", 0xffffffffu, false, &a->groups);
  }
#endif
  // Any other family: raw bytes after sa_family.
  napi_value d;
  if (!arg::Get(env, o, "data", &d)) return false;
  if (family == AF_UNSPEC && arg::IsNullish(env, d)) {
    a->shape = sa::Shape::kUnspec;
    return true;
  }
  if (!arg::IsBytes(env, d)) return arg::Throw(env, kType, "address.data must be a Buffer for this address family");
  a->shape = sa::Shape::kRaw;
  return BytesOf(env, d, "data", false, a->bytes, sizeof(sockaddr_storage) - sa::kFamilyEnd, &a->bytes_len);
}

bool SetNum(napi_env env, napi_value o, const char* key, double v) {
  napi_value x;
  return napi_create_double(env, v, &x) == napi_ok && napi_set_named_property(env, o, key, x) == napi_ok;
}

bool SetBuffer(napi_env env, napi_value o, const char* key, const unsigned char* p, size_t n) {
  napi_value b;
  void* dst = nullptr;
  if (napi_create_buffer(env, n, &dst, &b) != napi_ok) return false;
  arg::CopyBytes(dst, p, n);
  return napi_set_named_property(env, o, key, b) == napi_ok;
}

bool SetText(napi_env env, napi_value o, const char* key, const char* p, size_t n) {
  napi_value s;
  return napi_create_string_utf8(env, n > 0 ? p : "", n, &s) == napi_ok && napi_set_named_property(env, o, key, s) == napi_ok;
}

bool SetInet(napi_env env, napi_value o, int af, const unsigned char* ip) {
  char t[INET6_ADDRSTRLEN];
  if (inet_ntop(af, ip, t, sizeof(t)) == nullptr) t[0] = '\0';
  return SetText(env, o, "address", t, strlen(t));
}

napi_value Build(napi_env env, const sa::Addr& a) {
  napi_value o;
  if (napi_create_object(env, &o) != napi_ok) return nullptr;
  bool ok = SetNum(env, o, "family", a.family);
  switch (a.shape) {
    case sa::Shape::kUnspec:
      break;
    case sa::Shape::kInet:
    case sa::Shape::kInet6:
      ok = ok && SetInet(env, o, a.shape == sa::Shape::kInet ? AF_INET : AF_INET6, a.ip) &&
           SetNum(env, o, "port", a.port);
      if (a.shape == sa::Shape::kInet6)
        ok = ok && SetNum(env, o, "flowinfo", a.flowinfo) && SetNum(env, o, "scopeid", a.scopeid);
      break;
    case sa::Shape::kUnix:
      // Names that are not valid UTF-8 come back as a Buffer, so the exact
      // bytes survive a round trip.
      if (sa::ValidUtf8(a.path, a.pathlen))
        ok = ok && SetText(env, o, "path", reinterpret_cast<const char*>(a.path), a.pathlen);
      else
        ok = ok && SetBuffer(env, o, "path", a.path, a.pathlen);
      break;
    case sa::Shape::kPacket:
      ok = ok && SetNum(env, o, "ifindex", static_cast<int32_t>(a.ifindex)) && SetNum(env, o, "protocol", a.protocol) &&
           SetNum(env, o, "hatype", a.hatype) && SetNum(env, o, "pkttype", a.pkttype) &&
           SetBuffer(env, o, "addr", a.bytes + a.bytes_off, a.bytes_len);
      break;
    case sa::Shape::kNetlink:
      ok = ok && SetNum(env, o, "pid", a.pid) && SetNum(env, o, "groups", a.groups);
      break;
    case sa::Shape::kLink:
      ok = ok && SetNum(env, o, "index", a.index) && SetNum(env, o, "type", a.type) &&
           SetText(env, o, "name", reinterpret_cast<const char*>(a.bytes + a.name_off), a.name_len) &&
           SetBuffer(env, o, "addr", a.bytes + a.bytes_off, a.bytes_len);
      break;
    case sa::Shape::kRaw:
      ok = ok && SetBuffer(env, o, "data", a.bytes + a.bytes_off, a.bytes_len);
      break;
  }
  return ok ? o : nullptr;
}

}  // namespace

Napi::Value InetText(Napi::Env env, int af, const void* addr) {
  char t[INET6_ADDRSTRLEN];
  if (inet_ntop(af, addr, t, sizeof(t)) == nullptr) t[0] = '\0';
  napi_value s;
  if (napi_create_string_utf8(env, t, NAPI_AUTO_LENGTH, &s) != napi_ok) return Napi::Value();
  return Napi::Value(env, s);
}

int EncodeSockaddr(Napi::Env napienv, Napi::Value value, sockaddr_storage* ss) {
  napi_env env = napienv;
  napi_value v = value;
  memset(ss, 0, sizeof(*ss));
  if (arg::IsBytes(env, v)) {  // a raw sockaddr: copied at once
    arg::Bytes b;
    if (!arg::Pin(env, v, "sockaddr", &b)) return -1;
    if (b.len > sizeof(*ss)) {
      arg::Throw(env, kRange, "sockaddr Buffer is longer than sockaddr_storage");
      return -1;
    }
    arg::CopyBytes(ss, b.data, b.len);
    return static_cast<int>(b.len);
  }
  if (!arg::IsObject(env, v)) {
    arg::Throw(env, kType, "address must be an object such as { family, address, port } or a Buffer");
    return -1;
  }
  sa::Addr a;
  if (!Fields(env, v, &a)) return -1;
  size_t len = 0;
  switch (sa::Encode(a, ss, &len)) {
    case sa::Err::kOk:
      return static_cast<int>(len);
    case sa::Err::kPathNul:
      arg::Throw(env, kType, "address.path must not contain NUL bytes");
      return -1;
    case sa::Err::kPathTooLong:
      arg::Throw(env, kRange, "address.path is too long");
      return -1;
    case sa::Err::kAddrTooLong:
      arg::Throw(env, kRange, "address.addr is too long");
      return -1;
    case sa::Err::kDataTooLong:
      arg::Throw(env, kRange, "address.data is too long");
      return -1;
    case sa::Err::kBadField:
      break;
  }
  arg::Throw(env, kRange, "address field is out of range");
  return -1;
}

Napi::Value DecodeSockaddr(Napi::Env env, const sockaddr_storage* ss, socklen_t len) {
  sa::Addr a;
  sa::Decode(ss, static_cast<size_t>(len), &a);
  napi_value o = Build(env, a);
  if (o == nullptr) {
    arg::Throw(env, arg::kError, "cannot build an address object");
    return Napi::Value();
  }
  return Napi::Value(env, o);
}

namespace {

// sockaddr(address) -> Buffer: encode once, reuse on a hot path.
napi_value JsEncode(napi_env env, napi_callback_info cbi) {
  size_t argc = 1;
  napi_value argv[1] = {nullptr};
  if (napi_get_cb_info(env, cbi, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  napi_value v = argv[0];
  if (argc < 1 || v == nullptr) napi_get_undefined(env, &v);
  sockaddr_storage ss;
  int len = EncodeSockaddr(Napi::Env(env), Napi::Value(env, v), &ss);
  if (len < 0) return nullptr;
  napi_value b;
  void* dst = nullptr;
  if (napi_create_buffer(env, static_cast<size_t>(len), &dst, &b) != napi_ok) return nullptr;
  arg::CopyBytes(dst, &ss, static_cast<size_t>(len));
  return b;
}

// decodeSockaddr(bytes[, length]) -> address object.
napi_value JsDecode(napi_env env, napi_callback_info cbi) {
  size_t argc = 2;
  napi_value argv[2] = {nullptr, nullptr};
  if (napi_get_cb_info(env, cbi, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 1 || !arg::IsBytes(env, argv[0])) {
    arg::Throw(env, kType, "decodeSockaddr: expected a Buffer");
    return nullptr;
  }
  double want = -1;
  if (argc > 1 && arg::TypeOf(env, argv[1]) == napi_number) napi_get_value_double(env, argv[1], &want);
  arg::Bytes b;  // pinned after the last read that could run JavaScript
  if (!arg::Pin(env, argv[0], "decodeSockaddr buffer", &b)) return nullptr;
  size_t len = b.len;
  if (want >= 0 && want < static_cast<double>(len)) len = static_cast<size_t>(want);
  sa::Addr a;
  sa::Decode(b.data, len, &a);  // copies what it uses
  napi_value o = Build(env, a);
  if (o == nullptr) arg::Throw(env, arg::kError, "cannot build an address object");
  return o;
}

}  // namespace

void InitSockaddr(Napi::Env env, Napi::Object exports) {
  napi_value f;
  if (napi_create_function(env, "sockaddr", NAPI_AUTO_LENGTH, JsEncode, nullptr, &f) == napi_ok)
    napi_set_named_property(env, exports, "sockaddr", f);
  if (napi_create_function(env, "decodeSockaddr", NAPI_AUTO_LENGTH, JsDecode, nullptr, &f) == napi_ok)
    napi_set_named_property(env, exports, "decodeSockaddr", f);
}

}  // namespace ksock
