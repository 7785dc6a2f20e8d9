// sockaddr codec: JS address objects <-> struct sockaddr bytes.
//
//   { family: AF_INET,  address: '127.0.0.1', port }
//   { family: AF_INET6, address: '::1', port, flowinfo, scopeid }
//   { family: AF_UNIX,  path }      path '' = unnamed; a leading '\0' = Linux
//                                   abstract name, passed with its exact length
//   { family: AF_PACKET, ifindex, protocol, hatype, pkttype, addr }
//   { family: AF_NETLINK, pid, groups }
//   { family, data }                 any other family: the bytes after sa_family
//   Buffer                           a raw sockaddr, used as is
//
// Decoding never reads past the length the kernel returned.
#include "ksock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <cstring>

#if __has_include(<netpacket/packet.h>)
#include <netpacket/packet.h>
#endif
#if __has_include(<linux/netlink.h>)
#include <linux/netlink.h>
#endif
#if __has_include(<net/if_dl.h>)
#include <net/if_dl.h>
#endif

namespace ksock {

namespace {

constexpr size_t kFamilyEnd = offsetof(sockaddr, sa_family) + sizeof(sa_family_t);

// Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool ValidUtf8(const unsigned char* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

bool GetUint(Napi::Env env, Napi::Object o, const char* key, uint32_t max, uint32_t* out,
             bool required) {
  Napi::Value v = o.Get(key);
  if (env.IsExceptionPending()) return false;
  if (v.IsUndefined() || v.IsNull()) {
    if (required) {
      std::string m = std::string("address.") + key + " is required";
      Napi::TypeError::New(env, m).ThrowAsJavaScriptException();
      return false;
    }
    *out = 0;
    return true;
  }
  if (!v.IsNumber()) {
    std::string m = std::string("address.") + key + " must be a number";
    Napi::TypeError::New(env, m).ThrowAsJavaScriptException();
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    std::string m = std::string("address.") + key + " is out of range";
    Napi::RangeError::New(env, m).ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

// Copies a string or Buffer field into dst (at most cap bytes). Returns the
// byte length or -1 with an exception pending.
long GetBytes(Napi::Env env, Napi::Value v, const char* key, char* dst, size_t cap) {
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<char>>();
    if (b.Length() > cap) {
      std::string m = std::string("address.") + key + " is too long";
      Napi::RangeError::New(env, m).ThrowAsJavaScriptException();
      return -1;
    }
    if (b.Length() > 0) memcpy(dst, b.Data(), b.Length());
    return static_cast<long>(b.Length());
  }
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.size() > cap) {
      std::string m = std::string("address.") + key + " is too long";
      Napi::RangeError::New(env, m).ThrowAsJavaScriptException();
      return -1;
    }
    if (!s.empty()) memcpy(dst, s.data(), s.size());
    return static_cast<long>(s.size());
  }
  std::string m = std::string("address.") + key + " must be a string or a Buffer";
  Napi::TypeError::New(env, m).ThrowAsJavaScriptException();
  return -1;
}

std::string GetString(Napi::Env env, Napi::Object o, const char* key, bool* ok) {
  Napi::Value v = o.Get(key);
  *ok = false;
  if (env.IsExceptionPending()) return std::string();
  if (!v.IsString()) {
    std::string m = std::string("address.") + key + " must be a string";
    Napi::TypeError::New(env, m).ThrowAsJavaScriptException();
    return std::string();
  }
  *ok = true;
  return v.As<Napi::String>().Utf8Value();
}

void SetFamilyLen(sockaddr_storage* ss, int family, size_t len) {
  reinterpret_cast<sockaddr*>(ss)->sa_family = static_cast<sa_family_t>(family);
#ifdef SIN6_LEN
  reinterpret_cast<sockaddr*>(ss)->sa_len = static_cast<uint8_t>(len);
#else
  (void)len;
#endif
}

void Invalid(Napi::Env env, const char* what) {
  Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
}

}  // namespace

Napi::Value InetText(Napi::Env env, int af, const void* addr) {
  char t[INET6_ADDRSTRLEN];
  if (inet_ntop(af, addr, t, sizeof(t)) == nullptr) t[0] = '\0';
  return Napi::String::New(env, t);
}

int EncodeSockaddr(Napi::Env env, Napi::Value v, sockaddr_storage* ss) {
  memset(ss, 0, sizeof(*ss));
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<uint8_t>>();
    if (b.Length() > sizeof(*ss)) {
      Napi::RangeError::New(env, "sockaddr Buffer is longer than sockaddr_storage")
          .ThrowAsJavaScriptException();
      return -1;
    }
    if (b.Length() > 0) memcpy(ss, b.Data(), b.Length());
    return static_cast<int>(b.Length());
  }
  if (!v.IsObject()) {
    Invalid(env, "address must be an object such as { family, address, port } or a Buffer");
    return -1;
  }
  Napi::Object o = v.As<Napi::Object>();
  uint32_t family;
  if (!GetUint(env, o, "family", 0xffff, &family, true)) return -1;

  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(ss);
    uint32_t port;
    bool ok;
    std::string addr = GetString(env, o, "address", &ok);
    if (!ok || !GetUint(env, o, "port", 65535, &port, false)) return -1;
    if (inet_pton(AF_INET, addr.c_str(), &sin->sin_addr) != 1) {
      Napi::TypeError::New(env, "address.address is not an IPv4 address: '" + addr + "'")
          .ThrowAsJavaScriptException();
      return -1;
    }
    sin->sin_port = htons(static_cast<uint16_t>(port));
    SetFamilyLen(ss, AF_INET, sizeof(sockaddr_in));
    return sizeof(sockaddr_in);
  }
  if (family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
    uint32_t port, flowinfo, scopeid;
    bool ok;
    std::string addr = GetString(env, o, "address", &ok);
    if (!ok || !GetUint(env, o, "port", 65535, &port, false) ||
        !GetUint(env, o, "flowinfo", 0xffffffffu, &flowinfo, false) ||
        !GetUint(env, o, "scopeid", 0xffffffffu, &scopeid, false))
      return -1;
    if (inet_pton(AF_INET6, addr.c_str(), &sin6->sin6_addr) != 1) {
      Napi::TypeError::New(env, "address.address is not an IPv6 address: '" + addr + "'")
          .ThrowAsJavaScriptException();
      return -1;
    }
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    sin6->sin6_flowinfo = htonl(flowinfo);
    sin6->sin6_scope_id = scopeid;
    SetFamilyLen(ss, AF_INET6, sizeof(sockaddr_in6));
    return sizeof(sockaddr_in6);
  }
  if (family == AF_UNIX) {
    auto* sun = reinterpret_cast<sockaddr_un*>(ss);
    Napi::Value p = o.Get("path");
    if (env.IsExceptionPending()) return -1;
    size_t base = offsetof(sockaddr_un, sun_path);
    if (p.IsUndefined() || p.IsNull()) {  // unnamed (autobind on Linux)
      SetFamilyLen(ss, AF_UNIX, base);
      return static_cast<int>(base);
    }
    long n = GetBytes(env, p, "path", sun->sun_path, sizeof(sun->sun_path));
    if (n < 0) return -1;
    size_t len = base + static_cast<size_t>(n);
    if (n > 0 && sun->sun_path[0] != '\0') {
      // Filesystem name: NUL-terminated when there is room (the kernel
      // accepts a full-length name without one).
      if (memchr(sun->sun_path, '\0', static_cast<size_t>(n)) != nullptr) {
        Napi::TypeError::New(env, "address.path must not contain NUL bytes")
            .ThrowAsJavaScriptException();
        return -1;
      }
      if (static_cast<size_t>(n) < sizeof(sun->sun_path)) len += 1;
    }
    SetFamilyLen(ss, AF_UNIX, len);
    return static_cast<int>(len);
  }
#if __has_include(<netpacket/packet.h>) && defined(AF_PACKET)
  if (family == AF_PACKET) {
    auto* sll = reinterpret_cast<sockaddr_ll*>(ss);
    uint32_t ifindex, protocol, hatype, pkttype;
    if (!GetUint(env, o, "ifindex", 0x7fffffff, &ifindex, false) ||
        !GetUint(env, o, "protocol", 0xffff, &protocol, false) ||
        !GetUint(env, o, "hatype", 0xffff, &hatype, false) ||
        !GetUint(env, o, "pkttype", 0xff, &pkttype, false))
      return -1;
    Napi::Value a = o.Get("addr");
    if (env.IsExceptionPending()) return -1;
    if (!a.IsUndefined() && !a.IsNull()) {
      if (!a.IsBuffer()) {
        Invalid(env, "address.addr must be a Buffer");
        return -1;
      }
      long n = GetBytes(env, a, "addr", reinterpret_cast<char*>(sll->sll_addr),
                        sizeof(sll->sll_addr));
      if (n < 0) return -1;
      sll->sll_halen = static_cast<unsigned char>(n);
    }
    sll->sll_family = AF_PACKET;
    sll->sll_ifindex = static_cast<int>(ifindex);
    sll->sll_protocol = htons(static_cast<uint16_t>(protocol));
    sll->sll_hatype = static_cast<unsigned short>(hatype);
    sll->sll_pkttype = static_cast<unsigned char>(pkttype);
    return sizeof(sockaddr_ll);
  }
#endif
#if __has_include(<linux/netlink.h>) && defined(AF_NETLINK)
  if (family == AF_NETLINK) {
    auto* snl = reinterpret_cast<sockaddr_nl*>(ss);
    uint32_t pid, groups;
    if (!GetUint(env, o, "pid", 0xffffffffu, &pid, false) ||
        !GetUint(env, o, "groups", 0xffffffffu, &groups, false))
      return -1;
    snl->nl_family = AF_NETLINK;
    snl->nl_pid = pid;
    snl->nl_groups = groups;
    return sizeof(sockaddr_nl);
  }
#endif
  // Any other family: raw bytes after sa_family.
  Napi::Value d = o.Get("data");
  if (env.IsExceptionPending()) return -1;
  if (family == AF_UNSPEC && (d.IsUndefined() || d.IsNull())) {
    // { family: AF_UNSPEC }: connect() to it dissolves a datagram association.
    SetFamilyLen(ss, AF_UNSPEC, kFamilyEnd);
    return static_cast<int>(kFamilyEnd);
  }
  if (!d.IsBuffer()) {
    Invalid(env, "address.data must be a Buffer for this address family");
    return -1;
  }
  long n = GetBytes(env, d, "data", reinterpret_cast<char*>(ss) + kFamilyEnd,
                    sizeof(*ss) - kFamilyEnd);
  if (n < 0) return -1;
  size_t len = kFamilyEnd + static_cast<size_t>(n);
  SetFamilyLen(ss, static_cast<int>(family), len);
  return static_cast<int>(len);
}

Napi::Value DecodeSockaddr(Napi::Env env, const sockaddr_storage* ss, socklen_t len) {
  if (len > sizeof(*ss)) len = sizeof(*ss);
  Napi::Object o = Napi::Object::New(env);
  if (len < kFamilyEnd) {  // e.g. an unconnected datagram peer
    o.Set("family", Napi::Number::New(env, AF_UNSPEC));
    return o;
  }
  int family = reinterpret_cast<const sockaddr*>(ss)->sa_family;
  o.Set("family", Napi::Number::New(env, family));
  char text[INET6_ADDRSTRLEN];
  if (family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(ss);
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
    o.Set("address", Napi::String::New(env, text));
    o.Set("port", Napi::Number::New(env, ntohs(sin->sin_port)));
    return o;
  }
  if (family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
    o.Set("address", Napi::String::New(env, text));
    o.Set("port", Napi::Number::New(env, ntohs(sin6->sin6_port)));
    o.Set("flowinfo", Napi::Number::New(env, ntohl(sin6->sin6_flowinfo)));
    o.Set("scopeid", Napi::Number::New(env, sin6->sin6_scope_id));
    return o;
  }
  if (family == AF_UNIX) {
    const auto* sun = reinterpret_cast<const sockaddr_un*>(ss);
    size_t base = offsetof(sockaddr_un, sun_path);
    size_t n = len > base ? len - base : 0;
    if (n > sizeof(sun->sun_path)) n = sizeof(sun->sun_path);
    if (n > 0 && sun->sun_path[0] != '\0') {
      // Filesystem name: up to the first NUL (some kernels count it).
      const void* nul = memchr(sun->sun_path, '\0', n);
      if (nul != nullptr) n = static_cast<size_t>(static_cast<const char*>(nul) - sun->sun_path);
    }
    // Abstract names keep their leading NUL and their exact length. Names
    // that are not valid UTF-8 come back as a Buffer, so the exact bytes
    // survive a round trip.
    if (ValidUtf8(reinterpret_cast<const unsigned char*>(sun->sun_path), n))
      o.Set("path", Napi::String::New(env, sun->sun_path, n));
    else
      o.Set("path", Napi::Buffer<char>::Copy(env, sun->sun_path, n));
    return o;
  }
#if __has_include(<netpacket/packet.h>) && defined(AF_PACKET)
  if (family == AF_PACKET && len >= offsetof(sockaddr_ll, sll_addr)) {
    const auto* sll = reinterpret_cast<const sockaddr_ll*>(ss);
    o.Set("ifindex", Napi::Number::New(env, sll->sll_ifindex));
    o.Set("protocol", Napi::Number::New(env, ntohs(sll->sll_protocol)));
    o.Set("hatype", Napi::Number::New(env, sll->sll_hatype));
    o.Set("pkttype", Napi::Number::New(env, sll->sll_pkttype));
    size_t avail = len - offsetof(sockaddr_ll, sll_addr);
    size_t halen = sll->sll_halen;
    if (halen > avail) halen = avail;
    if (halen > sizeof(sll->sll_addr)) halen = sizeof(sll->sll_addr);
    o.Set("addr", Napi::Buffer<uint8_t>::Copy(env, sll->sll_addr, halen));
    return o;
  }
#endif
#if __has_include(<linux/netlink.h>) && defined(AF_NETLINK)
  if (family == AF_NETLINK && len >= sizeof(sockaddr_nl)) {
    const auto* snl = reinterpret_cast<const sockaddr_nl*>(ss);
    o.Set("pid", Napi::Number::New(env, snl->nl_pid));
    o.Set("groups", Napi::Number::New(env, snl->nl_groups));
    return o;
  }
#endif
#if __has_include(<net/if_dl.h>) && defined(AF_LINK)
  // BSD link-level address: { family: AF_LINK, index, type, name, addr }.
  if (family == AF_LINK && len >= offsetof(sockaddr_dl, sdl_data)) {
    const auto* sdl = reinterpret_cast<const sockaddr_dl*>(ss);
    size_t avail = len - offsetof(sockaddr_dl, sdl_data);
    size_t nlen = sdl->sdl_nlen, alen = sdl->sdl_alen;
    if (nlen > avail) nlen = avail;
    if (alen > avail - nlen) alen = avail - nlen;
    o.Set("index", Napi::Number::New(env, sdl->sdl_index));
    o.Set("type", Napi::Number::New(env, sdl->sdl_type));
    o.Set("name", Napi::String::New(env, sdl->sdl_data, nlen));
    o.Set("addr", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(sdl->sdl_data) + nlen, alen));
    return o;
  }
#endif
  o.Set("data", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(ss) + kFamilyEnd,
                                            len - kFamilyEnd));
  return o;
}

namespace {

// sockaddr(address) -> Buffer: encode once, reuse on a hot path.
Napi::Value JsEncode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_storage ss;
  int len = EncodeSockaddr(env, info[0], &ss);
  if (len < 0) return env.Undefined();
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&ss),
                                     static_cast<size_t>(len));
}

// decodeSockaddr(buffer[, length]) -> address object.
Napi::Value JsDecode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) {
    Napi::TypeError::New(env, "decodeSockaddr: expected a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto b = info[0].As<Napi::Buffer<uint8_t>>();
  size_t len = b.Length();
  if (info[1].IsNumber()) {
    double d = info[1].As<Napi::Number>().DoubleValue();
    if (d >= 0 && d < static_cast<double>(len)) len = static_cast<size_t>(d);
  }
  if (len > sizeof(sockaddr_storage)) len = sizeof(sockaddr_storage);
  sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  if (len > 0) memcpy(&ss, b.Data(), len);
  return DecodeSockaddr(env, &ss, static_cast<socklen_t>(len));
}

}  // namespace

void InitSockaddr(Napi::Env env, Napi::Object exports) {
  exports.Set("sockaddr", Napi::Function::New(env, JsEncode, "sockaddr"));
  exports.Set("decodeSockaddr", Napi::Function::New(env, JsDecode, "decodeSockaddr"));
}

}  // namespace ksock
