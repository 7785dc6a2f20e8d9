// Control-message (cmsg) codec.
//
// Send: items { level, type, data?: Buffer, fds?: number[] } are laid out in
// a zeroed, over-aligned buffer with the platform's CMSG_SPACE/CMSG_LEN per
// item (odd payload sizes included). All descriptors of one send travel in a
// single SCM_RIGHTS item (several items lose descriptors on some BSDs).
//
// Receive: parsing is bounded by msg_controllen, every cmsg_len is clamped to
// what remains (macOS reports untruncated lengths), and SCM_RIGHTS payloads
// are rounded down to whole descriptors. Descriptors that arrived are made
// close-on-exec (where MSG_CMSG_CLOEXEC is missing) and are always returned,
// even when MSG_CTRUNC is set.
#include "ksock.h"
#include "held.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/time.h>
#include <unistd.h>
#include <ctime>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#if __has_include(<linux/errqueue.h>)
#include <linux/errqueue.h>
#endif
#if __has_include(<net/if_dl.h>)
#include <net/if_dl.h>
#endif

namespace ksock {

ControlBuffer::~ControlBuffer() {
  if (data != nullptr && data != inline_buf) free(data);
}

bool ControlBuffer::Reserve(size_t n) {
  if (n <= sizeof(inline_buf)) {
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

struct Item {
  int level;
  int type;
  const uint8_t* data;
  size_t len;
  std::vector<uint8_t> owned;  // a payload built from typed fields
};

bool Field(Napi::Env env, Napi::Object o, const char* key, double lo, double hi, double dflt, double* out) {
  return ReadField(env, o, key, lo, hi, dflt, "control item", out);
}

bool Inet(Napi::Env env, Napi::Object o, const char* key, int af, void* out) {
  Napi::Value v = o.Get(key);
  if (env.IsExceptionPending()) return false;
  if (v.IsUndefined() || v.IsNull()) return true;  // zeroed: "any"
  if (!v.IsString() || inet_pton(af, v.As<Napi::String>().Utf8Value().c_str(), out) != 1) {
    Napi::TypeError::New(env, std::string("control item ") + key + (af == AF_INET ? " must be an IPv4 address" : " must be an IPv6 address"))
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

template <typename T>
void Own(Item* it, const T& v) {
  it->owned.assign(reinterpret_cast<const uint8_t*>(&v), reinterpret_cast<const uint8_t*>(&v) + sizeof(T));
}

// Builds the payload of a typed item (no `data`). Returns false with an
// exception pending when the fields are wrong or the type is not known here.
bool EncodeTyped(Napi::Env env, Napi::Object o, Item* it) {
  double a, b, c;
#ifdef SCM_CREDENTIALS
  if (it->level == SOL_SOCKET && it->type == SCM_CREDENTIALS) {
    ucred u{};
    if (!Field(env, o, "pid", INT32_MIN, INT32_MAX, getpid(), &a) || !Field(env, o, "uid", 0, UINT32_MAX, getuid(), &b) ||
        !Field(env, o, "gid", 0, UINT32_MAX, getgid(), &c))
      return false;
    u.pid = static_cast<pid_t>(a);
    u.uid = static_cast<uid_t>(b);
    u.gid = static_cast<gid_t>(c);
    Own(it, u);
    return true;
  }
#endif
#if defined(SCM_CREDS) && defined(CMGROUP_MAX)
  if (it->level == SOL_SOCKET && it->type == SCM_CREDS) {
    cmsgcred cc{};  // "allocated by the peer process but filled in by the kernel"
    Own(it, cc);
    return true;
  }
#endif
#ifdef IP_PKTINFO
  if (it->level == IPPROTO_IP && it->type == IP_PKTINFO) {
    in_pktinfo pi{};
    if (!Field(env, o, "ifindex", 0, INT32_MAX, 0, &a) || !Inet(env, o, "addr", AF_INET, &pi.ipi_addr) ||
        !Inet(env, o, "spec_dst", AF_INET, &pi.ipi_spec_dst))
      return false;
    pi.ipi_ifindex = static_cast<decltype(pi.ipi_ifindex)>(a);
    Own(it, pi);
    return true;
  }
#endif
#ifdef IP_SENDSRCADDR
  if (it->level == IPPROTO_IP && it->type == IP_SENDSRCADDR) {
    in_addr ad{};
    if (!Inet(env, o, "addr", AF_INET, &ad)) return false;
    Own(it, ad);
    return true;
  }
#endif
  if (it->level == IPPROTO_IP && (it->type == IP_TTL || it->type == IP_TOS)) {
    if (!Field(env, o, it->type == IP_TTL ? "ttl" : "tos", 0, 255, 0, &a)) return false;
    int v = static_cast<int>(a);
    Own(it, v);
    return true;
  }
#ifdef IPV6_PKTINFO
  if (it->level == IPPROTO_IPV6 && it->type == IPV6_PKTINFO) {
    in6_pktinfo pi{};
    if (!Field(env, o, "ifindex", 0, UINT32_MAX, 0, &a) || !Inet(env, o, "addr", AF_INET6, &pi.ipi6_addr)) return false;
    pi.ipi6_ifindex = static_cast<decltype(pi.ipi6_ifindex)>(a);
    Own(it, pi);
    return true;
  }
#endif
#ifdef IPV6_HOPLIMIT
  if (it->level == IPPROTO_IPV6 && it->type == IPV6_HOPLIMIT) {
    if (!Field(env, o, "hoplimit", -1, 255, -1, &a)) return false;
    int v = static_cast<int>(a);
    Own(it, v);
    return true;
  }
#endif
#ifdef IPV6_TCLASS
  if (it->level == IPPROTO_IPV6 && it->type == IPV6_TCLASS) {
    if (!Field(env, o, "tclass", -1, 255, -1, &a)) return false;
    int v = static_cast<int>(a);
    Own(it, v);
    return true;
  }
#endif
#ifdef UDP_SEGMENT
  if (it->level == IPPROTO_UDP && it->type == UDP_SEGMENT) {
    if (!Field(env, o, "segsize", 1, 65535, 0, &a)) return false;
    uint16_t v = static_cast<uint16_t>(a);
    Own(it, v);
    return true;
  }
#endif
#ifdef SO_MARK
  if (it->level == SOL_SOCKET && it->type == SO_MARK) {
    if (!Field(env, o, "mark", 0, UINT32_MAX, 0, &a)) return false;
    uint32_t v = static_cast<uint32_t>(a);
    Own(it, v);
    return true;
  }
#endif
  Napi::TypeError::New(env, "control item data must be a Buffer (no typed encoding for this level/type here)")
      .ThrowAsJavaScriptException();
  return false;
}

bool ReadInt(Napi::Env env, Napi::Object o, const char* key, int* out) {
  Napi::Value v = o.Get(key);
  if (env.IsExceptionPending()) return false;
  if (!v.IsNumber()) {
    std::string m = std::string("control item ") + key + " must be a number";
    Napi::TypeError::New(env, m).ThrowAsJavaScriptException();
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= INT32_MIN && d <= INT32_MAX) || d != static_cast<double>(static_cast<int>(d))) {
    std::string m = std::string("control item ") + key + " is out of range";
    Napi::RangeError::New(env, m).ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int>(d);
  return true;
}

}  // namespace

long EncodeControl(Napi::Env env, Napi::Value value, ControlBuffer* out) {
  if (value.IsUndefined() || value.IsNull()) return 0;
  if (!value.IsArray()) {
    Napi::TypeError::New(env, "control must be an array of { level, type, data } items")
        .ThrowAsJavaScriptException();
    return -1;
  }
  Napi::Array arr = value.As<Napi::Array>();
  uint32_t n = arr.Length();
  std::vector<Item> items;
  std::vector<int> fds;
  items.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value e = arr.Get(i);
    if (env.IsExceptionPending()) return -1;
    if (!e.IsObject()) {
      Napi::TypeError::New(env, "control item must be an object").ThrowAsJavaScriptException();
      return -1;
    }
    Napi::Object o = e.As<Napi::Object>();
    Item it{};
    if (!ReadInt(env, o, "level", &it.level) || !ReadInt(env, o, "type", &it.type)) return -1;
    Napi::Value f = o.Get("fds");
    if (env.IsExceptionPending()) return -1;
    if (it.level == SOL_SOCKET && it.type == SCM_RIGHTS && f.IsArray()) {
      Napi::Array fa = f.As<Napi::Array>();
      for (uint32_t k = 0; k < fa.Length(); k++) {
        Napi::Value fv = fa.Get(k);
        if (!fv.IsNumber()) {
          Napi::TypeError::New(env, "control item fds must be numbers").ThrowAsJavaScriptException();
          return -1;
        }
        double d = fv.As<Napi::Number>().DoubleValue();
        if (!(d >= 0 && d <= INT32_MAX) || d != static_cast<double>(static_cast<int>(d))) {
          Napi::RangeError::New(env, "control item fds must be descriptor numbers")
              .ThrowAsJavaScriptException();
          return -1;
        }
        fds.push_back(static_cast<int>(d));
      }
      continue;  // merged into one SCM_RIGHTS item below
    }
    Napi::Value d = o.Get("data");
    if (env.IsExceptionPending()) return -1;
    if (d.IsUndefined() || d.IsNull()) {
      if (!EncodeTyped(env, o, &it)) return -1;
      it.data = it.owned.data();
      it.len = it.owned.size();
    } else if (d.IsBuffer()) {
      auto b = d.As<Napi::Buffer<uint8_t>>();
      it.data = b.Data();
      it.len = b.Length();
    } else {
      Napi::TypeError::New(env, "control item data must be a Buffer").ThrowAsJavaScriptException();
      return -1;
    }
    items.push_back(std::move(it));
  }
  const size_t kMax = 1 << 20;
  size_t total = 0;
  if (!fds.empty()) total += CMSG_SPACE(fds.size() * sizeof(int));
  for (const Item& it : items) {
    if (it.len > kMax) {
      Napi::RangeError::New(env, "control item data is too large").ThrowAsJavaScriptException();
      return -1;
    }
    total += CMSG_SPACE(it.len);
  }
  if (total > kMax) {
    Napi::RangeError::New(env, "control data is too large").ThrowAsJavaScriptException();
    return -1;
  }
  if (total == 0) return 0;
  if (!out->Reserve(total)) {
    Napi::Error::New(env, "out of memory building control data").ThrowAsJavaScriptException();
    return -1;
  }
  // Walk with CMSG_FIRSTHDR/CMSG_NXTHDR over the final length, filling each
  // header before stepping (NXTHDR reads the current cmsg_len).
  msghdr m{};
  m.msg_control = out->data;
  m.msg_controllen = total;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  if (!fds.empty() && c != nullptr) {
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
    c = CMSG_NXTHDR(&m, c);
  }
  for (const Item& it : items) {
    if (c == nullptr) break;  // cannot happen: total was sized for every item
    c->cmsg_level = it.level;
    c->cmsg_type = it.type;
    c->cmsg_len = CMSG_LEN(it.len);
    if (it.len > 0) memcpy(CMSG_DATA(c), it.owned.empty() ? it.data : it.owned.data(), it.len);
    c = CMSG_NXTHDR(&m, c);
  }
  out->len = total;
  return static_cast<long>(total);
}

namespace {

// Visits each complete item of a received control buffer, bounded by
// msg_controllen with cmsg_len clamped to what remains.
template <typename F>
void ForEachCmsg(const msghdr* msg, F&& f) {
  if (msg->msg_control == nullptr) return;
  const auto* base = static_cast<const unsigned char*>(msg->msg_control);
  size_t total = static_cast<size_t>(msg->msg_controllen);
  size_t off = 0;
  const size_t hdr = CMSG_LEN(0);
  while (off + hdr <= total) {
    const auto* c = reinterpret_cast<const cmsghdr*>(base + off);
    size_t clen = static_cast<size_t>(c->cmsg_len);
    if (clen < hdr) break;
    if (clen > total - off) clen = total - off;
    const unsigned char* data = CMSG_DATA(c);
    size_t dlen = clen - hdr;
    f(c, data, dlen);
    size_t step = CMSG_SPACE(dlen);
    if (step == 0 || step > total - off) break;
    off += step;
  }
}

}  // namespace

void DisposeRights(const msghdr* msg) {
  ForEachCmsg(msg, [](const cmsghdr* c, const unsigned char* data, size_t dlen) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return;
    for (size_t i = 0; i + sizeof(int) <= dlen; i += sizeof(int)) {
      int fd;
      memcpy(&fd, data + i, sizeof(int));
      if (fd >= 0) close(fd);
    }
  });
}

namespace {

template <typename T>
bool Read(const unsigned char* data, size_t dlen, T* out) {
  if (dlen < sizeof(T)) return false;  // a truncated item stays raw
  memcpy(out, data, sizeof(T));
  return true;
}

// For variable-length structs: zero, then copy what is there.
template <typename T>
void ReadSome(const unsigned char* data, size_t dlen, T* out) {
  memset(out, 0, sizeof(T));
  memcpy(out, data, dlen < sizeof(T) ? dlen : sizeof(T));
}

Napi::Value Ip4(Napi::Env env, const in_addr& a) { return InetText(env, AF_INET, &a); }
Napi::Value Ip6(Napi::Env env, const in6_addr& a) { return InetText(env, AF_INET6, &a); }

Napi::Value Timespec(Napi::Env env, double sec, double nsec) {
  Napi::Object t = Napi::Object::New(env);
  t.Set("sec", Napi::Number::New(env, sec));
  t.Set("nsec", Napi::Number::New(env, nsec));
  return t;
}

Napi::Value SockaddrFrom(Napi::Env env, const unsigned char* data, size_t dlen) {
  sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  size_t n = dlen < sizeof(ss) ? dlen : sizeof(ss);
  memcpy(&ss, data, n);
  return DecodeSockaddr(env, &ss, static_cast<socklen_t>(n));
}

// Adds the decoded fields of known item types to `o`. Unknown or truncated
// items keep only { level, type, data }.
void DecodeTyped(Napi::Env env, Napi::Object o, int level, int type, const unsigned char* data, size_t dlen) {
  auto num = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
  if (level == SOL_SOCKET) {
#ifdef SCM_CREDENTIALS
    ucred u;
    if (type == SCM_CREDENTIALS && Read(data, dlen, &u)) {
      num("pid", u.pid);
      num("uid", u.uid);
      num("gid", u.gid);
      o.Set("mechanism", "SCM_CREDENTIALS");
      return;
    }
#endif
#if defined(SCM_CREDS) && defined(CMGROUP_MAX)
    cmsgcred cc;
    if (type == SCM_CREDS && Read(data, dlen, &cc)) {
      num("pid", cc.cmcred_pid);
      num("uid", cc.cmcred_uid);
      num("euid", cc.cmcred_euid);
      num("gid", cc.cmcred_gid);
      int ng = cc.cmcred_ngroups < 0 ? 0 : cc.cmcred_ngroups > CMGROUP_MAX ? CMGROUP_MAX : cc.cmcred_ngroups;
      Napi::Array g = Napi::Array::New(env, ng);
      for (int i = 0; i < ng; i++) g.Set(static_cast<uint32_t>(i), Napi::Number::New(env, cc.cmcred_groups[i]));
      o.Set("groups", g);
      o.Set("mechanism", "SCM_CREDS");
      return;
    }
#elif defined(SCM_CREDS) && defined(SOCKCREDSIZE)
    sockcred sc;
    if (type == SCM_CREDS && dlen >= SOCKCREDSIZE(0)) {
      ReadSome(data, dlen, &sc);
      num("pid", sc.sc_pid);
      num("uid", sc.sc_uid);
      num("euid", sc.sc_euid);
      num("gid", sc.sc_gid);
      num("egid", sc.sc_egid);
      o.Set("mechanism", "SCM_CREDS");
      return;
    }
#endif
#ifdef SCM_TIMESTAMPNS
    timespec ts;
    if (type == SCM_TIMESTAMPNS && Read(data, dlen, &ts)) {
      num("sec", static_cast<double>(ts.tv_sec));
      num("nsec", static_cast<double>(ts.tv_nsec));
      return;
    }
#endif
#ifdef SCM_TIMESTAMPING
    timespec tss[3];
    if (type == SCM_TIMESTAMPING && Read(data, dlen, &tss)) {
      Napi::Array a = Napi::Array::New(env, 3);
      for (uint32_t i = 0; i < 3; i++)
        a.Set(i, Timespec(env, static_cast<double>(tss[i].tv_sec), static_cast<double>(tss[i].tv_nsec)));
      o.Set("timestamps", a);
      return;
    }
#endif
#ifdef SCM_TIMESTAMP
    timeval tv;
    if (type == SCM_TIMESTAMP && Read(data, dlen, &tv)) {
      num("sec", static_cast<double>(tv.tv_sec));
      num("usec", static_cast<double>(tv.tv_usec));
      return;
    }
#endif
#ifdef SO_RXQ_OVFL
    uint32_t dropped;
    if (type == SO_RXQ_OVFL && Read(data, dlen, &dropped)) {
      num("dropped", dropped);
      return;
    }
#endif
#ifdef SO_MARK
    uint32_t mark;
    if (type == SO_MARK && Read(data, dlen, &mark)) {
      num("mark", mark);
      return;
    }
#endif
    return;
  }
  if (level == IPPROTO_IP) {
#ifdef IP_PKTINFO
    in_pktinfo pi;
    if (type == IP_PKTINFO && Read(data, dlen, &pi)) {
      num("ifindex", pi.ipi_ifindex);
      o.Set("spec_dst", Ip4(env, pi.ipi_spec_dst));
      o.Set("addr", Ip4(env, pi.ipi_addr));
      return;
    }
#endif
#ifdef IP_RECVDSTADDR
    in_addr da;
    if (type == IP_RECVDSTADDR && Read(data, dlen, &da)) {
      o.Set("addr", Ip4(env, da));
      return;
    }
#endif
#if defined(IP_RECVIF) && __has_include(<net/if_dl.h>)
    if (type == IP_RECVIF && dlen >= offsetof(sockaddr_dl, sdl_data)) {
      sockaddr_dl sdl;
      ReadSome(data, dlen, &sdl);
      num("ifindex", sdl.sdl_index);
      return;
    }
#endif
    if (type == IP_TTL || type == IP_TOS
#ifdef IP_RECVTTL
        || type == IP_RECVTTL
#endif
#ifdef IP_RECVTOS
        || type == IP_RECVTOS
#endif
    ) {
      // Linux: IP_TTL is an int, IP_TOS one byte; the BSDs send u_char for both.
      int v = -1;
      if (dlen >= sizeof(int)) memcpy(&v, data, sizeof(int));
      else if (dlen >= 1) v = data[0];
      if (v >= 0) {
        bool ttl = type == IP_TTL;
#ifdef IP_RECVTTL
        ttl = ttl || type == IP_RECVTTL;
#endif
        num(ttl ? "ttl" : "tos", v);
      }
      return;
    }
#if defined(IP_RECVERR) && __has_include(<linux/errqueue.h>)
    if (type == IP_RECVERR) goto extended_err;
#endif
#ifdef IP_ORIGDSTADDR
    if (type == IP_ORIGDSTADDR) {
      o.Set("address", SockaddrFrom(env, data, dlen));
      return;
    }
#endif
    return;
  }
  if (level == IPPROTO_IPV6) {
#ifdef IPV6_PKTINFO
    in6_pktinfo pi6;
    if (type == IPV6_PKTINFO && Read(data, dlen, &pi6)) {
      o.Set("addr", Ip6(env, pi6.ipi6_addr));
      num("ifindex", pi6.ipi6_ifindex);
      return;
    }
#endif
    int v;
#ifdef IPV6_HOPLIMIT
    if (type == IPV6_HOPLIMIT && Read(data, dlen, &v)) {
      num("hoplimit", v);
      return;
    }
#endif
#ifdef IPV6_TCLASS
    if (type == IPV6_TCLASS && Read(data, dlen, &v)) {
      num("tclass", v);
      return;
    }
#endif
#if defined(IPV6_RECVERR) && __has_include(<linux/errqueue.h>)
    if (type == IPV6_RECVERR) goto extended_err;
#endif
#ifdef IPV6_ORIGDSTADDR
    if (type == IPV6_ORIGDSTADDR) {
      o.Set("address", SockaddrFrom(env, data, dlen));
      return;
    }
#endif
    return;
  }
  if (level == IPPROTO_UDP) {
#ifdef UDP_GRO
    int seg;
    if (type == UDP_GRO && Read(data, dlen, &seg)) {
      num("segsize", seg);
      return;
    }
#endif
#ifdef UDP_SEGMENT
    uint16_t s16;
    if (type == UDP_SEGMENT && Read(data, dlen, &s16)) {
      num("segsize", s16);
      return;
    }
#endif
    return;
  }
  return;
#if __has_include(<linux/errqueue.h>) && (defined(IP_RECVERR) || defined(IPV6_RECVERR))
extended_err : {
  sock_extended_err ee;
  if (!Read(data, dlen, &ee)) return;
  num("errno", ee.ee_errno);
  num("origin", ee.ee_origin);
  num("icmpType", ee.ee_type);
  num("icmpCode", ee.ee_code);
  num("info", ee.ee_info);
  num("data", ee.ee_data);
  // SO_EE_OFFENDER: the address that follows the struct, when it is there.
  if (dlen > sizeof(ee)) {
    Napi::Value off = SockaddrFrom(env, data + sizeof(ee), dlen - sizeof(ee));
    Napi::Object oo = off.As<Napi::Object>();
    if (oo.Get("family").As<Napi::Number>().Int32Value() != AF_UNSPEC) o.Set("offender", off);
  }
  return;
}
#endif
}

}  // namespace

void SetCloexecOnRights(const msghdr* msg) {
  ForEachCmsg(msg, [](const cmsghdr* c, const unsigned char* data, size_t dlen) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return;
    for (size_t i = 0; i + sizeof(int) <= dlen; i += sizeof(int)) {
      int fd;
      memcpy(&fd, data + i, sizeof(int));
      if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  });
}

Napi::Value DecodeControl(Napi::Env env, const msghdr* msg, bool peek) {
  // MSG_PEEK: Linux installs duplicate descriptors on every peek; close
  // them and leave SCM_RIGHTS out (OpenBSD's rule), so that only the real
  // receive hands descriptors over.
  if (peek) DisposeRights(msg);
  // Make every received descriptor close-on-exec first, whatever happens next.
#ifndef MSG_CMSG_CLOEXEC
  SetCloexecOnRights(msg);
#endif
  Napi::Array arr = Napi::Array::New(env);
  uint32_t i = 0;
  bool failed = false;
  ForEachCmsg(msg, [&](const cmsghdr* c, const unsigned char* data, size_t dlen) {
    if (failed) return;
    bool rights = c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS;
    if (rights && peek) return;
    Napi::Object o = Napi::Object::New(env);
    o.Set("level", Napi::Number::New(env, c->cmsg_level));
    o.Set("type", Napi::Number::New(env, c->cmsg_type));
    if (rights) {
      // Whole descriptors: `data` is rebuilt from `fds` on demand (the hot
      // path of descriptor passing copies nothing else); a payload with a
      // partial int keeps its exact bytes.
      size_t whole = dlen / sizeof(int);
      std::vector<int> fds(whole);
      if (whole > 0) memcpy(fds.data(), data, whole * sizeof(int));
      if (!OwnReceivedFds(env, o, fds.data(), whole)) {
        failed = true;
        return;
      }
      if (dlen % sizeof(int) != 0) o.Set("data", Napi::Buffer<uint8_t>::Copy(env, data, dlen));
    } else {
      o.Set("data", Napi::Buffer<uint8_t>::Copy(env, data, dlen));
      DecodeTyped(env, o, c->cmsg_level, c->cmsg_type, data, dlen);
    }
    if (env.IsExceptionPending()) {
      failed = true;
      return;
    }
    arr.Set(i++, o);
  });
  if (failed || env.IsExceptionPending()) {
    if (!peek) DisposeRights(msg);
    return Napi::Value();
  }
  return arr;
}

}  // namespace ksock
