// Control-message codec core (see cmsg_codec.h). No N-API here.
#include "cmsg_codec.h"

#include <fcntl.h>
#include <netinet/udp.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#if __has_include(<sys/ucred.h>)
#include <sys/ucred.h>
#endif
#if __has_include(<linux/errqueue.h>)
#include <linux/errqueue.h>
#endif
#if __has_include(<net/if_dl.h>)
#include <net/if_dl.h>
#endif
#if __has_include(<linux/if_packet.h>)
#include <linux/if_packet.h>  // tpacket_auxdata (glibc's <netpacket/packet.h> lacks it)
#endif

namespace ksock {
namespace cmsg {

void DisposeFds(const void* control, size_t controllen) {
  Walk(control, controllen, [](const Span& s) {
    if (!CarriesFds(s)) return;
    for (size_t i = 0, n = FdCount(s); i < n; i++) {
      int fd = FdAt(s, i);
      if (fd >= 0) close(fd);
    }
  });
}

void CloexecFds(const void* control, size_t controllen) {
  Walk(control, controllen, [](const Span& s) {
    if (!CarriesFds(s)) return;
    for (size_t i = 0, n = FdCount(s); i < n; i++) {
      int fd = FdAt(s, i);
      if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  });
}

namespace {

// A whole T, or false: a truncated item stays raw.
template <typename T>
bool Read(const Span& s, T* out) {
  if (s.len < sizeof(T)) return false;
  memcpy(out, s.data, sizeof(T));
  return true;
}

// Variable-length structs: zero, then copy what is there.
template <typename T>
void ReadSome(const Span& s, T* out) {
  memset(out, 0, sizeof(T));
  memcpy(out, s.data, s.len < sizeof(T) ? s.len : sizeof(T));
}

// A credential item by a BSD layout table (bsdcred_codec.h).
[[maybe_unused]] bool Cred(const bsd::CredLayout& l, const Span& s, Decoded* d) {
  if (!bsd::ParseCred(l, s.data, s.len, &d->cred)) return false;
  d->layout = l.name;
  return true;
}

bool DecodeSocket(const Span& s, Decoded* d) {
  const int type = s.type;
  (void)type;
#ifdef SCM_CREDENTIALS
  ucred u;
  if (type == SCM_CREDENTIALS && Read(s, &u)) {
    d->kind = Kind::kCredentials;
    d->pid = u.pid;
    d->uid = u.uid;
    d->gid = u.gid;
    return true;
  }
#endif
#ifdef SCM_CREDS
  // FreeBSD: struct cmsgcred (the sender sent SCM_CREDS); a receiver that set
  // LOCAL_CREDS gets struct sockcred under the same type instead, which only
  // it can tell (lib/core/rights.ts re-decodes those). NetBSD: sockcred.
  if (type == SCM_CREDS) {
    const bsd::CredLayout* l = bsd::NativeCmsgcred();
    Kind k = Kind::kCmsgcred;
    if (l == nullptr) {
      l = bsd::NativeSockcred();
      k = Kind::kSockcred;
    }
    if (l != nullptr && Cred(*l, s, d)) {
      d->kind = k;
      return true;
    }
  }
#endif
#ifdef SCM_CREDS2
  if (type == SCM_CREDS2) {
    const bsd::CredLayout* l = bsd::NativeSockcred2();
    if (l != nullptr && Cred(*l, s, d)) {
      d->kind = Kind::kSockcred2;
      return true;
    }
  }
#endif
#ifdef SCM_BINTIME
  if (type == SCM_BINTIME) {
    const bsd::TimeLayout* l = bsd::NativeBintime();
    bsd::Time t;
    if (l != nullptr && bsd::ParseTime(*l, s.data, s.len, &t)) {
      d->kind = Kind::kBintime;
      d->sec = t.sec;
      d->frac = t.frac;
      d->nsec = t.nsec;
      return true;
    }
  }
#endif
#if defined(SCM_REALTIME) || defined(SCM_MONOTONIC)
  {
    bool ts = false;
#ifdef SCM_REALTIME
    ts = ts || type == SCM_REALTIME;
#endif
#ifdef SCM_MONOTONIC
    ts = ts || type == SCM_MONOTONIC;
#endif
    const bsd::TimeLayout* l = bsd::NativeTimespec();
    bsd::Time t;
    if (ts && l != nullptr && bsd::ParseTime(*l, s.data, s.len, &t)) {
      d->kind = Kind::kTimestampNs;
      d->sec = t.sec;
      d->nsec = t.nsec;
      return true;
    }
  }
#endif
#ifdef SCM_TIMESTAMPNS
  timespec ts;
  if (type == SCM_TIMESTAMPNS && Read(s, &ts)) {
    d->kind = Kind::kTimestampNs;
    d->sec = static_cast<double>(ts.tv_sec);
    d->nsec = static_cast<double>(ts.tv_nsec);
    return true;
  }
#endif
#ifdef SCM_TIMESTAMPING
  timespec tss[3];
  if (type == SCM_TIMESTAMPING && Read(s, &tss)) {
    d->kind = Kind::kTimestamping;
    for (int i = 0; i < 3; i++) {
      d->ts[i].sec = static_cast<double>(tss[i].tv_sec);
      d->ts[i].nsec = static_cast<double>(tss[i].tv_nsec);
    }
    return true;
  }
#endif
#ifdef SCM_TIMESTAMP
  timeval tv;
  if (type == SCM_TIMESTAMP && Read(s, &tv)) {
    d->kind = Kind::kTimestamp;
    d->sec = static_cast<double>(tv.tv_sec);
    d->usec = static_cast<double>(tv.tv_usec);
    return true;
  }
#endif
#ifdef SO_RXQ_OVFL
  uint32_t dropped;
  if (type == SO_RXQ_OVFL && Read(s, &dropped)) {
    d->kind = Kind::kDropped;
    d->u32 = dropped;
    return true;
  }
#endif
#ifdef SO_MARK
  uint32_t mark;
  if (type == SO_MARK && Read(s, &mark)) {
    d->kind = Kind::kMark;
    d->u32 = mark;
    return true;
  }
#endif
  return false;
}

#if __has_include(<linux/errqueue.h>) && (defined(IP_RECVERR) || defined(IPV6_RECVERR))
#define KSOCK_HAVE_EXTENDED_ERR 1
bool ExtendedErr(const Span& s, Decoded* d) {
  sock_extended_err ee;
  if (!Read(s, &ee)) return false;
  d->kind = Kind::kExtendedErr;
  d->ee_errno = ee.ee_errno;
  d->ee_origin = ee.ee_origin;
  d->ee_type = ee.ee_type;
  d->ee_code = ee.ee_code;
  d->ee_info = ee.ee_info;
  d->ee_data = ee.ee_data;
  // SO_EE_OFFENDER: the address that follows the struct, when it is there.
  if (s.len > sizeof(ee)) {
    d->sa = s.data + sizeof(ee);
    d->salen = s.len - sizeof(ee);
  }
  return true;
}
#endif

bool DecodeIp(const Span& s, Decoded* d) {
  const int type = s.type;
#ifdef IP_PKTINFO
  in_pktinfo pi;
  if (type == IP_PKTINFO && Read(s, &pi)) {
    d->kind = Kind::kPktinfo;
    d->ifindex = pi.ipi_ifindex;
    d->spec_dst = pi.ipi_spec_dst;
    d->addr4 = pi.ipi_addr;
    return true;
  }
#endif
#ifdef IP_RECVDSTADDR
  if (type == IP_RECVDSTADDR && Read(s, &d->addr4)) {
    d->kind = Kind::kRecvDstAddr;
    return true;
  }
#endif
#if defined(IP_RECVIF) && __has_include(<net/if_dl.h>)
  if (type == IP_RECVIF && s.len >= offsetof(sockaddr_dl, sdl_data)) {
    sockaddr_dl sdl;
    ReadSome(s, &sdl);
    d->kind = Kind::kRecvIf;
    d->ifindex = sdl.sdl_index;
    return true;
  }
#endif
  bool ttl = type == IP_TTL;
#ifdef IP_RECVTTL
  ttl = ttl || type == IP_RECVTTL;
#endif
  bool tos = type == IP_TOS;
#ifdef IP_RECVTOS
  tos = tos || type == IP_RECVTOS;
#endif
  if (ttl || tos) {
    // Linux: IP_TTL is an int, IP_TOS one byte; the BSDs send u_char for both.
    int v = -1;
    if (s.len >= sizeof(int)) memcpy(&v, s.data, sizeof(int));
    else if (s.len >= 1) v = s.data[0];
    if (v < 0) return false;
    d->kind = ttl ? Kind::kTtl : Kind::kTos;
    d->i32 = v;
    return true;
  }
#if defined(IP_RECVERR) && defined(KSOCK_HAVE_EXTENDED_ERR)
  if (type == IP_RECVERR) return ExtendedErr(s, d);
#endif
#ifdef IP_ORIGDSTADDR
  if (type == IP_ORIGDSTADDR) {
    d->kind = Kind::kOrigDstAddr;
    d->sa = s.data;
    d->salen = s.len;
    return true;
  }
#endif
  return false;
}

bool DecodeIp6(const Span& s, Decoded* d) {
  const int type = s.type;
  (void)type;
#ifdef IPV6_PKTINFO
  in6_pktinfo pi6;
  if (type == IPV6_PKTINFO && Read(s, &pi6)) {
    d->kind = Kind::kPktinfo6;
    d->addr6 = pi6.ipi6_addr;
    d->ifindex = pi6.ipi6_ifindex;
    return true;
  }
#endif
#ifdef IPV6_HOPLIMIT
  if (type == IPV6_HOPLIMIT && Read(s, &d->i32)) {
    d->kind = Kind::kHopLimit;
    return true;
  }
#endif
#ifdef IPV6_TCLASS
  if (type == IPV6_TCLASS && Read(s, &d->i32)) {
    d->kind = Kind::kTclass;
    return true;
  }
#endif
#if defined(IPV6_RECVERR) && defined(KSOCK_HAVE_EXTENDED_ERR)
  if (type == IPV6_RECVERR) return ExtendedErr(s, d);
#endif
#ifdef IPV6_ORIGDSTADDR
  if (type == IPV6_ORIGDSTADDR) {
    d->kind = Kind::kOrigDstAddr;
    d->sa = s.data;
    d->salen = s.len;
    return true;
  }
#endif
  return false;
}

bool DecodeUdp(const Span& s, Decoded* d) {
  (void)s;
  (void)d;
#ifdef UDP_GRO
  if (s.type == UDP_GRO && Read(s, &d->i32)) {
    d->kind = Kind::kGro;
    return true;
  }
#endif
#ifdef UDP_SEGMENT
  uint16_t s16;
  if (s.type == UDP_SEGMENT && Read(s, &s16)) {
    d->kind = Kind::kSegment;
    d->i32 = s16;
    return true;
  }
#endif
  return false;
}

bool DecodePacket(const Span& s, Decoded* d) {
  (void)s;
  (void)d;
#if defined(PACKET_AUXDATA) && __has_include(<linux/if_packet.h>)
  tpacket_auxdata aux;
  if (s.type == PACKET_AUXDATA && Read(s, &aux)) {
    d->kind = Kind::kAuxdata;
    d->tp_status = aux.tp_status;
    d->tp_len = aux.tp_len;
    d->tp_snaplen = aux.tp_snaplen;
    d->tp_mac = aux.tp_mac;
    d->tp_net = aux.tp_net;
    d->tp_vlan_tci = aux.tp_vlan_tci;
    d->tp_vlan_tpid = aux.tp_vlan_tpid;
    return true;
  }
#endif
  return false;
}

}  // namespace

Decoded Decode(const Span& s) {
  Decoded d;
  if (CarriesFds(s)) {
    d.kind = Kind::kFds;
    return d;
  }
  bool known = false;
  if (s.level == SOL_SOCKET) known = DecodeSocket(s, &d);
  else if (s.level == IPPROTO_IP) known = DecodeIp(s, &d);
  else if (s.level == IPPROTO_IPV6) known = DecodeIp6(s, &d);
  else if (s.level == IPPROTO_UDP) known = DecodeUdp(s, &d);
#ifdef SOL_PACKET
  else if (s.level == SOL_PACKET) known = DecodePacket(s, &d);
#endif
  if (!known) d = Decoded();
  return d;
}

// ---- encode ------------------------------------------------------------

Typed TypedOf(int level, int type) {
  if (level == SOL_SOCKET) {
#ifdef SCM_CREDENTIALS
    if (type == SCM_CREDENTIALS) return Typed::kCredentials;
#endif
#if defined(SCM_CREDS) && defined(CMGROUP_MAX)
    if (type == SCM_CREDS) return Typed::kCmsgcred;
#endif
#ifdef SO_MARK
    if (type == SO_MARK) return Typed::kMark;
#endif
    return Typed::kNone;
  }
  if (level == IPPROTO_IP) {
#ifdef IP_PKTINFO
    if (type == IP_PKTINFO) return Typed::kPktinfo;
#endif
#ifdef IP_SENDSRCADDR
    if (type == IP_SENDSRCADDR) return Typed::kSendSrcAddr;
#endif
    if (type == IP_TTL) return Typed::kTtl;
    if (type == IP_TOS) return Typed::kTos;
    return Typed::kNone;
  }
  if (level == IPPROTO_IPV6) {
#ifdef IPV6_PKTINFO
    if (type == IPV6_PKTINFO) return Typed::kPktinfo6;
#endif
#ifdef IPV6_HOPLIMIT
    if (type == IPV6_HOPLIMIT) return Typed::kHopLimit;
#endif
#ifdef IPV6_TCLASS
    if (type == IPV6_TCLASS) return Typed::kTclass;
#endif
    return Typed::kNone;
  }
#ifdef UDP_SEGMENT
  if (level == IPPROTO_UDP && type == UDP_SEGMENT) return Typed::kSegment;
#endif
  return Typed::kNone;
}

namespace {

template <typename T>
void Own(std::vector<uint8_t>* out, const T& v) {
  out->assign(reinterpret_cast<const uint8_t*>(&v), reinterpret_cast<const uint8_t*>(&v) + sizeof(T));
}

bool In(double v, double lo, double hi) { return v >= lo && v <= hi; }

}  // namespace

bool Build(Typed t, const TypedFields& f, std::vector<uint8_t>* out) {
  switch (t) {
#ifdef SCM_CREDENTIALS
    case Typed::kCredentials: {
      if (!In(f.pid, INT32_MIN, INT32_MAX) || !In(f.uid, 0, UINT32_MAX) || !In(f.gid, 0, UINT32_MAX)) return false;
      ucred u{};
      u.pid = static_cast<pid_t>(f.pid);
      u.uid = static_cast<uid_t>(f.uid);
      u.gid = static_cast<gid_t>(f.gid);
      Own(out, u);
      return true;
    }
#endif
#if defined(SCM_CREDS) && defined(CMGROUP_MAX)
    case Typed::kCmsgcred: {
      cmsgcred cc{};  // "allocated by the peer process but filled in by the kernel"
      Own(out, cc);
      return true;
    }
#endif
#ifdef IP_PKTINFO
    case Typed::kPktinfo: {
      if (!In(f.ifindex, 0, INT32_MAX)) return false;
      in_pktinfo pi{};
      pi.ipi_ifindex = static_cast<decltype(pi.ipi_ifindex)>(f.ifindex);
      pi.ipi_addr = f.addr4;
      pi.ipi_spec_dst = f.spec_dst;
      Own(out, pi);
      return true;
    }
#endif
#ifdef IP_SENDSRCADDR
    case Typed::kSendSrcAddr:
      Own(out, f.addr4);
      return true;
#endif
    case Typed::kTtl:
    case Typed::kTos: {
      if (!In(f.value, 0, 255)) return false;
      int v = static_cast<int>(f.value);
      Own(out, v);
      return true;
    }
#ifdef IPV6_PKTINFO
    case Typed::kPktinfo6: {
      if (!In(f.ifindex, 0, UINT32_MAX)) return false;
      in6_pktinfo pi{};
      pi.ipi6_ifindex = static_cast<decltype(pi.ipi6_ifindex)>(f.ifindex);
      pi.ipi6_addr = f.addr6;
      Own(out, pi);
      return true;
    }
#endif
    case Typed::kHopLimit:
    case Typed::kTclass: {
      if (!In(f.value, -1, 255)) return false;
      int v = static_cast<int>(f.value);
      Own(out, v);
      return true;
    }
    case Typed::kSegment: {
      if (!In(f.value, 1, 65535)) return false;
      uint16_t v = static_cast<uint16_t>(f.value);
      Own(out, v);
      return true;
    }
    case Typed::kMark: {
      if (!In(f.value, 0, UINT32_MAX)) return false;
      uint32_t v = static_cast<uint32_t>(f.value);
      Own(out, v);
      return true;
    }
    default:
      return false;
  }
}

bool Layout(size_t nfds, const std::vector<OutItem>& items, size_t* total) {
  if (nfds > kMaxFds || items.size() > kMaxItems) return false;
  size_t t = 0;
  if (nfds > 0) t += CMSG_SPACE(nfds * sizeof(int));
  for (const OutItem& it : items) {
    if (it.bytes.size() > kMaxBytes) return false;
    t += CMSG_SPACE(it.bytes.size());
    if (t > kMaxBytes) return false;
  }
  if (t > kMaxBytes) return false;
  *total = t;
  return true;
}

namespace {

// One header and its payload at buf + off; returns the next offset.
size_t Put(unsigned char* buf, size_t off, int level, int type, const void* data, size_t len) {
  cmsghdr h;
  memset(&h, 0, sizeof(h));
  h.cmsg_level = level;
  h.cmsg_type = type;
  h.cmsg_len = CMSG_LEN(len);
  memcpy(buf + off, &h, sizeof(h));
  if (len > 0) memcpy(buf + off + CMSG_LEN(0), data, len);
  return off + CMSG_SPACE(len);
}

}  // namespace

void Encode(const int* fds, size_t nfds, const std::vector<OutItem>& items, unsigned char* buf, size_t total) {
  size_t off = 0;
  if (nfds > 0 && off + CMSG_SPACE(nfds * sizeof(int)) <= total)
    off = Put(buf, off, SOL_SOCKET, SCM_RIGHTS, fds, nfds * sizeof(int));
  for (const OutItem& it : items) {
    if (off + CMSG_SPACE(it.bytes.size()) > total) break;  // cannot happen: total came from Layout
    off = Put(buf, off, it.level, it.type, it.bytes.data(), it.bytes.size());
  }
}

}  // namespace cmsg
}  // namespace ksock
