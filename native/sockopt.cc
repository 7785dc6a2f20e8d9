// Struct-valued socket options: JS objects <-> the platform's own C structs.
//
// encodeOpt(kind, value) -> Buffer, decodeOpt(kind, buffer, length) -> value.
// Layouts differ between platforms (ip_mreq_source field order, timeval
// width, xucred vs ucred), so they are only ever built and read here, with the
// platform's struct definitions. Decoding tolerates a short length: fields
// beyond it read as 0.
#include "ksock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/time.h>
#include <cstring>
#include <string>

#if __has_include(<sys/ucred.h>)
#include <sys/ucred.h>
#endif

namespace ksock {

namespace {

// Which structs this platform has (feature tests, one per struct).
#if defined(IP_ADD_MEMBERSHIP)
#define KSOCK_HAVE_IP_MREQ 1
#endif
#if defined(IP_ADD_MEMBERSHIP) && defined(_GNU_SOURCE) && defined(IP_MULTICAST_ALL)
#define KSOCK_HAVE_IP_MREQN 1  // glibc/musl declare it with _GNU_SOURCE
#endif
#if defined(IP_ADD_SOURCE_MEMBERSHIP)
#define KSOCK_HAVE_IP_MREQ_SOURCE 1
#endif
#if defined(IPV6_JOIN_GROUP) || defined(IPV6_ADD_MEMBERSHIP)
#define KSOCK_HAVE_IPV6_MREQ 1
#endif
#if defined(SO_PEERCRED) && defined(SCM_CREDENTIALS)
#define KSOCK_HAVE_UCRED 1  // Linux: struct ucred {pid, uid, gid}
#elif defined(SO_PEERCRED)
#define KSOCK_HAVE_SOCKPEERCRED 1  // OpenBSD: struct sockpeercred {uid, gid, pid}
#endif
#if defined(LOCAL_PEERCRED) && defined(XUCRED_VERSION)
#define KSOCK_HAVE_XUCRED 1  // FreeBSD, macOS
#endif
#if defined(TCP_INFO)
#define KSOCK_HAVE_TCP_INFO 1
#endif

// Reads a numeric field; a missing or nullish one is 0.
bool Num(Napi::Env env, Napi::Object o, const char* key, double lo, double hi, double* out) {
  return ReadField(env, o, key, lo, hi, 0, "option field", out);
}

bool Addr4(Napi::Env env, Napi::Object o, const char* key, in_addr* out, bool required) {
  Napi::Value v = o.Get(key);
  if (env.IsExceptionPending()) return false;
  if (v.IsUndefined() || v.IsNull()) {
    if (required) {
      Napi::TypeError::New(env, std::string("option field ") + key + " is required").ThrowAsJavaScriptException();
      return false;
    }
    out->s_addr = htonl(INADDR_ANY);
    return true;
  }
  if (!v.IsString() || inet_pton(AF_INET, v.As<Napi::String>().Utf8Value().c_str(), out) != 1) {
    Napi::TypeError::New(env, std::string("option field ") + key + " must be an IPv4 address string")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool Addr6(Napi::Env env, Napi::Object o, const char* key, in6_addr* out) {
  Napi::Value v = o.Get(key);
  if (env.IsExceptionPending()) return false;
  if (!v.IsString() || inet_pton(AF_INET6, v.As<Napi::String>().Utf8Value().c_str(), out) != 1) {
    Napi::TypeError::New(env, std::string("option field ") + key + " must be an IPv6 address string")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Value Str4(Napi::Env env, const in_addr& a) { return InetText(env, AF_INET, &a); }
Napi::Value Str6(Napi::Env env, const in6_addr& a) { return InetText(env, AF_INET6, &a); }

template <typename T>
Napi::Value Bytes(Napi::Env env, const T& v) {
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&v), sizeof(T));
}

// Copies up to sizeof(T) bytes of a Buffer into a zeroed T.
template <typename T>
void Load(const uint8_t* data, size_t len, T* out) {
  memset(out, 0, sizeof(T));
  memcpy(out, data, len < sizeof(T) ? len : sizeof(T));
}

Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsObject()) {
    ThrowType(env, "encodeOpt(kind, value): value must be an object");
    return env.Undefined();
  }
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  Napi::Object o = info[1].As<Napi::Object>();
  double a, b, c;
  if (kind == "linger") {
    linger l{};
    if (!Num(env, o, "onoff", INT32_MIN, INT32_MAX, &a) || !Num(env, o, "linger", INT32_MIN, INT32_MAX, &b))
      return env.Undefined();
    l.l_onoff = static_cast<int>(a);
    l.l_linger = static_cast<int>(b);
    return Bytes(env, l);
  }
  if (kind == "timeval") {
    timeval tv{};
    if (!Num(env, o, "sec", -1e15, 1e15, &a) || !Num(env, o, "usec", -1e15, 1e15, &b)) return env.Undefined();
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(a);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>(b);
    return Bytes(env, tv);
  }
#ifdef KSOCK_HAVE_IP_MREQ
  if (kind == "ip_mreq") {
    ip_mreq m{};
    if (!Addr4(env, o, "multiaddr", &m.imr_multiaddr, true) || !Addr4(env, o, "interface", &m.imr_interface, false))
      return env.Undefined();
    return Bytes(env, m);
  }
#endif
#ifdef KSOCK_HAVE_IP_MREQN
  if (kind == "ip_mreqn") {
    ip_mreqn m{};
    if (!Addr4(env, o, "multiaddr", &m.imr_multiaddr, true) || !Addr4(env, o, "address", &m.imr_address, false) ||
        !Num(env, o, "ifindex", 0, INT32_MAX, &a))
      return env.Undefined();
    m.imr_ifindex = static_cast<int>(a);
    return Bytes(env, m);
  }
#endif
#ifdef KSOCK_HAVE_IP_MREQ_SOURCE
  if (kind == "ip_mreq_source") {
    ip_mreq_source m{};
    if (!Addr4(env, o, "multiaddr", &m.imr_multiaddr, true) || !Addr4(env, o, "sourceaddr", &m.imr_sourceaddr, true) ||
        !Addr4(env, o, "interface", &m.imr_interface, false))
      return env.Undefined();
    return Bytes(env, m);
  }
#endif
#ifdef KSOCK_HAVE_IPV6_MREQ
  if (kind == "ipv6_mreq") {
    ipv6_mreq m{};
    if (!Addr6(env, o, "multiaddr", &m.ipv6mr_multiaddr) || !Num(env, o, "ifindex", 0, UINT32_MAX, &a))
      return env.Undefined();
    m.ipv6mr_interface = static_cast<unsigned>(a);
    return Bytes(env, m);
  }
#endif
#ifdef KSOCK_HAVE_UCRED
  if (kind == "ucred") {
    ucred u{};
    if (!Num(env, o, "pid", INT32_MIN, INT32_MAX, &a) || !Num(env, o, "uid", 0, UINT32_MAX, &b) ||
        !Num(env, o, "gid", 0, UINT32_MAX, &c))
      return env.Undefined();
    u.pid = static_cast<pid_t>(a);
    u.uid = static_cast<uid_t>(b);
    u.gid = static_cast<gid_t>(c);
    return Bytes(env, u);
  }
#endif
  Napi::TypeError::New(env, "encodeOpt: this platform has no struct for '" + kind + "'").ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsBuffer()) {
    ThrowType(env, "decodeOpt(kind, buffer, length)");
    return env.Undefined();
  }
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  auto buf = info[1].As<Napi::Buffer<uint8_t>>();
  size_t len = buf.Length();
  if (info[2].IsNumber()) {
    double d = info[2].As<Napi::Number>().DoubleValue();
    if (d >= 0 && d < static_cast<double>(len)) len = static_cast<size_t>(d);
  }
  const uint8_t* p = buf.Data();
  Napi::Object o = Napi::Object::New(env);
  if (kind == "linger") {
    linger l;
    Load(p, len, &l);
    o.Set("onoff", l.l_onoff);
    o.Set("linger", l.l_linger);
    return o;
  }
  if (kind == "timeval") {
    timeval tv;
    Load(p, len, &tv);
    o.Set("sec", Napi::Number::New(env, static_cast<double>(tv.tv_sec)));
    o.Set("usec", Napi::Number::New(env, static_cast<double>(tv.tv_usec)));
    return o;
  }
#ifdef KSOCK_HAVE_IP_MREQ
  if (kind == "ip_mreq") {
    ip_mreq m;
    Load(p, len, &m);
    o.Set("multiaddr", Str4(env, m.imr_multiaddr));
    o.Set("interface", Str4(env, m.imr_interface));
    return o;
  }
#endif
#ifdef KSOCK_HAVE_IP_MREQN
  if (kind == "ip_mreqn") {
    ip_mreqn m;
    Load(p, len, &m);
    o.Set("multiaddr", Str4(env, m.imr_multiaddr));
    o.Set("address", Str4(env, m.imr_address));
    o.Set("ifindex", m.imr_ifindex);
    return o;
  }
#endif
#ifdef KSOCK_HAVE_IP_MREQ_SOURCE
  if (kind == "ip_mreq_source") {
    ip_mreq_source m;
    Load(p, len, &m);
    o.Set("multiaddr", Str4(env, m.imr_multiaddr));
    o.Set("sourceaddr", Str4(env, m.imr_sourceaddr));
    o.Set("interface", Str4(env, m.imr_interface));
    return o;
  }
#endif
#ifdef KSOCK_HAVE_IPV6_MREQ
  if (kind == "ipv6_mreq") {
    ipv6_mreq m;
    Load(p, len, &m);
    o.Set("multiaddr", Str6(env, m.ipv6mr_multiaddr));
    o.Set("ifindex", Napi::Number::New(env, m.ipv6mr_interface));
    return o;
  }
#endif
#if defined(KSOCK_HAVE_UCRED) || defined(KSOCK_HAVE_SOCKPEERCRED)
  // Linux struct ucred and OpenBSD struct sockpeercred: the same three
  // fields in a different order.
  auto creds = [&](double pid, double uid, double gid) {
    o.Set("pid", Napi::Number::New(env, pid));
    o.Set("uid", Napi::Number::New(env, uid));
    o.Set("gid", Napi::Number::New(env, gid));
    return o;
  };
#endif
#ifdef KSOCK_HAVE_UCRED
  if (kind == "ucred") {
    ucred u;
    Load(p, len, &u);
    return creds(u.pid, u.uid, u.gid);
  }
#endif
#ifdef KSOCK_HAVE_SOCKPEERCRED
  if (kind == "sockpeercred") {
    sockpeercred u;
    Load(p, len, &u);
    return creds(u.pid, u.uid, u.gid);
  }
#endif
#ifdef KSOCK_HAVE_XUCRED
  if (kind == "xucred") {
    xucred u;
    Load(p, len, &u);
    o.Set("version", Napi::Number::New(env, u.cr_version));
    o.Set("uid", Napi::Number::New(env, u.cr_uid));
    int n = u.cr_ngroups;
    if (n < 0) n = 0;
    if (n > static_cast<int>(sizeof(u.cr_groups) / sizeof(u.cr_groups[0])))
      n = static_cast<int>(sizeof(u.cr_groups) / sizeof(u.cr_groups[0]));
    Napi::Array g = Napi::Array::New(env, n);
    for (int i = 0; i < n; i++) g.Set(static_cast<uint32_t>(i), Napi::Number::New(env, u.cr_groups[i]));
    o.Set("gid", Napi::Number::New(env, n > 0 ? u.cr_groups[0] : 0));
    o.Set("groups", g);
    return o;
  }
#endif
#ifdef KSOCK_HAVE_TCP_INFO
  if (kind == "tcp_info") {
    tcp_info t;
    Load(p, len, &t);
    auto put = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
    // Fields both Linux and FreeBSD define under these names.
    put("state", t.tcpi_state);
    put("options", t.tcpi_options);
    put("snd_wscale", t.tcpi_snd_wscale);
    put("rcv_wscale", t.tcpi_rcv_wscale);
    put("rto", t.tcpi_rto);
    put("snd_mss", t.tcpi_snd_mss);
    put("rcv_mss", t.tcpi_rcv_mss);
    put("last_data_recv", t.tcpi_last_data_recv);
    put("rtt", t.tcpi_rtt);
    put("rttvar", t.tcpi_rttvar);
    put("snd_ssthresh", t.tcpi_snd_ssthresh);
    put("snd_cwnd", t.tcpi_snd_cwnd);
    put("rcv_space", t.tcpi_rcv_space);
    return o;
  }
#endif
  Napi::TypeError::New(env, "decodeOpt: this platform has no struct for '" + kind + "'").ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

void InitSockopt(Napi::Env env, Napi::Object exports) {
  exports.Set("encodeOpt", Napi::Function::New(env, Encode, "encodeOpt"));
  exports.Set("decodeOpt", Napi::Function::New(env, Decode, "decodeOpt"));
  Napi::Object kinds = Napi::Object::New(env);
  auto have = [&](const char* k, bool v) { kinds.Set(k, Napi::Boolean::New(env, v)); };
  have("linger", true);
  have("timeval", true);
#ifdef KSOCK_HAVE_IP_MREQ
  have("ip_mreq", true);
#endif
#ifdef KSOCK_HAVE_IP_MREQN
  have("ip_mreqn", true);
#endif
#ifdef KSOCK_HAVE_IP_MREQ_SOURCE
  have("ip_mreq_source", true);
#endif
#ifdef KSOCK_HAVE_IPV6_MREQ
  have("ipv6_mreq", true);
#endif
#ifdef KSOCK_HAVE_UCRED
  have("ucred", true);
#endif
#ifdef KSOCK_HAVE_SOCKPEERCRED
  have("sockpeercred", true);
#endif
#ifdef KSOCK_HAVE_XUCRED
  have("xucred", true);
#endif
#ifdef KSOCK_HAVE_TCP_INFO
  have("tcp_info", true);
#endif
  exports.Set("optKinds", kinds);
}

}  // namespace ksock
