// Struct-valued socket options, core (see optstruct_codec.h). No N-API here.
#include "optstruct_codec.h"

#include "bsdcred_codec.h"

#include <sys/time.h>
#if __has_include(<netinet/tcp_fsm.h>) && !__has_include(<linux/tcp.h>)
#include <netinet/tcp_fsm.h>
#endif

#include <cmath>
#include <cstring>
#include <limits>

namespace ksock {
namespace opt {

namespace {

struct Name {
  const char* name;
  Kind kind;
};

const Name kNames[] = {
    {"linger", Kind::kLinger},
    {"timeval", Kind::kTimeval},
#ifdef KSOCK_HAVE_IP_MREQ
    {"ip_mreq", Kind::kIpMreq},
#endif
#ifdef KSOCK_HAVE_IP_MREQN
    {"ip_mreqn", Kind::kIpMreqn},
#endif
#ifdef KSOCK_HAVE_IP_MREQ_SOURCE
    {"ip_mreq_source", Kind::kIpMreqSource},
#endif
#ifdef KSOCK_HAVE_IPV6_MREQ
    {"ipv6_mreq", Kind::kIpv6Mreq},
#endif
#ifdef KSOCK_HAVE_UCRED
    {"ucred", Kind::kUcred},
#endif
#ifdef KSOCK_HAVE_SOCKPEERCRED
    {"sockpeercred", Kind::kSockpeercred},
#endif
#ifdef KSOCK_HAVE_XUCRED
    {"xucred", Kind::kXucred},
#endif
#ifdef KSOCK_HAVE_UNPCBID
    {"unpcbid", Kind::kUnpcbid},
#endif
#ifdef KSOCK_HAVE_TCP_INFO
    {"tcp_info", Kind::kTcpInfo},
#endif
#ifdef KSOCK_HAVE_PACKET_MREQ
    {"packet_mreq", Kind::kPacketMreq},
#endif
#ifdef KSOCK_HAVE_TPACKET_STATS
    {"tpacket_stats", Kind::kTpacketStats},
#endif
};

// Copies up to sizeof(T) bytes into a zeroed T.
template <typename T>
void Load(const uint8_t* data, size_t len, T* out) {
  memset(out, 0, sizeof(T));
  if (data != nullptr && len > 0) memcpy(out, data, len < sizeof(T) ? len : sizeof(T));
}

template <typename T>
size_t Store(const T& v, uint8_t* out, size_t cap) {
  static_assert(sizeof(T) <= kMaxEncoded, "kMaxEncoded is too small");
  if (sizeof(T) > cap) return 0;
  memcpy(out, &v, sizeof(T));
  return sizeof(T);
}

bool In(double v, double lo, double hi) { return v >= lo && v <= hi; }

// v fits the integer type T (whole numbers only).
template <typename T>
bool Fits(double v) {
  if (!(v == v)) return false;
  const double lo = static_cast<double>(std::numeric_limits<T>::min());
  const double hi = static_cast<double>(std::numeric_limits<T>::max());
  return v >= lo && v <= hi && std::trunc(v) == v;
}

}  // namespace

Kind KindOf(const char* name, size_t len) {
  for (const Name& n : kNames)
    if (strlen(n.name) == len && memcmp(n.name, name, len) == 0) return n.kind;
  return Kind::kUnknown;
}

const char* NameOf(Kind k) {
  for (const Name& n : kNames)
    if (n.kind == k) return n.name;
  return "";
}

bool CanEncode(Kind k) {
  switch (k) {
    case Kind::kLinger:
    case Kind::kTimeval:
#ifdef KSOCK_HAVE_IP_MREQ
    case Kind::kIpMreq:
#endif
#ifdef KSOCK_HAVE_IP_MREQN
    case Kind::kIpMreqn:
#endif
#ifdef KSOCK_HAVE_IP_MREQ_SOURCE
    case Kind::kIpMreqSource:
#endif
#ifdef KSOCK_HAVE_IPV6_MREQ
    case Kind::kIpv6Mreq:
#endif
#ifdef KSOCK_HAVE_UCRED
    case Kind::kUcred:
#endif
#ifdef KSOCK_HAVE_PACKET_MREQ
    case Kind::kPacketMreq:
#endif
      return true;
    default:
      return false;
  }
}

const char* TcpStateName(double s) {
  struct State {
    int n;
    const char* name;
  };
  // Linux: the enum of <netinet/tcp.h> (TCP_ESTABLISHED = 1 ...); the BSDs:
  // <netinet/tcp_fsm.h>'s TCPS_* (other numbers). Names without the prefix.
  static const State kStates[] = {
#if __has_include(<linux/tcp.h>) && defined(TCP_INFO)
      {TCP_ESTABLISHED, "ESTABLISHED"}, {TCP_SYN_SENT, "SYN_SENT"},   {TCP_SYN_RECV, "SYN_RECV"},
      {TCP_FIN_WAIT1, "FIN_WAIT1"},     {TCP_FIN_WAIT2, "FIN_WAIT2"}, {TCP_TIME_WAIT, "TIME_WAIT"},
      {TCP_CLOSE, "CLOSE"},             {TCP_CLOSE_WAIT, "CLOSE_WAIT"}, {TCP_LAST_ACK, "LAST_ACK"},
      {TCP_LISTEN, "LISTEN"},           {TCP_CLOSING, "CLOSING"},
#ifdef TCP_NEW_SYN_RECV
      {TCP_NEW_SYN_RECV, "NEW_SYN_RECV"},
#endif
#elif defined(TCPS_ESTABLISHED)
      {TCPS_CLOSED, "CLOSED"},         {TCPS_LISTEN, "LISTEN"},           {TCPS_SYN_SENT, "SYN_SENT"},
      {TCPS_SYN_RECEIVED, "SYN_RECEIVED"}, {TCPS_ESTABLISHED, "ESTABLISHED"}, {TCPS_CLOSE_WAIT, "CLOSE_WAIT"},
      {TCPS_FIN_WAIT_1, "FIN_WAIT_1"}, {TCPS_CLOSING, "CLOSING"},         {TCPS_LAST_ACK, "LAST_ACK"},
      {TCPS_FIN_WAIT_2, "FIN_WAIT_2"}, {TCPS_TIME_WAIT, "TIME_WAIT"},
#endif
      {-1, nullptr},
  };
  for (const State& st : kStates)
    if (st.name != nullptr && static_cast<double>(st.n) == s) return st.name;
  return nullptr;
}

bool Decode(Kind k, const uint8_t* p, size_t len, Fields* o) {
  *o = Fields();
  switch (k) {
    case Kind::kLinger: {
      linger l;
      Load(p, len, &l);
      o->onoff = l.l_onoff;
      o->linger = l.l_linger;
      return true;
    }
    case Kind::kTimeval: {
      timeval tv;
      Load(p, len, &tv);
      o->sec = static_cast<double>(tv.tv_sec);
      o->usec = static_cast<double>(tv.tv_usec);
      return true;
    }
#ifdef KSOCK_HAVE_IP_MREQ
    case Kind::kIpMreq: {
      ip_mreq m;
      Load(p, len, &m);
      o->multiaddr = m.imr_multiaddr;
      o->interface_ = m.imr_interface;
      return true;
    }
#endif
#ifdef KSOCK_HAVE_IP_MREQN
    case Kind::kIpMreqn: {
      ip_mreqn m;
      Load(p, len, &m);
      o->multiaddr = m.imr_multiaddr;
      o->address = m.imr_address;
      o->ifindex = m.imr_ifindex;
      return true;
    }
#endif
#ifdef KSOCK_HAVE_IP_MREQ_SOURCE
    case Kind::kIpMreqSource: {
      ip_mreq_source m;
      Load(p, len, &m);
      o->multiaddr = m.imr_multiaddr;
      o->sourceaddr = m.imr_sourceaddr;
      o->interface_ = m.imr_interface;
      return true;
    }
#endif
#ifdef KSOCK_HAVE_IPV6_MREQ
    case Kind::kIpv6Mreq: {
      ipv6_mreq m;
      Load(p, len, &m);
      o->multiaddr6 = m.ipv6mr_multiaddr;
      o->ifindex = m.ipv6mr_interface;
      return true;
    }
#endif
#ifdef KSOCK_HAVE_UCRED
    case Kind::kUcred: {
      ucred u;
      Load(p, len, &u);
      o->pid = u.pid;
      o->uid = u.uid;
      o->gid = u.gid;
      return true;
    }
#endif
#ifdef KSOCK_HAVE_SOCKPEERCRED
    case Kind::kSockpeercred: {
      sockpeercred u;
      Load(p, len, &u);
      o->pid = u.pid;
      o->uid = u.uid;
      o->gid = u.gid;
      return true;
    }
#endif
#if defined(KSOCK_HAVE_XUCRED) || defined(KSOCK_HAVE_UNPCBID)
    case Kind::kXucred:
    case Kind::kUnpcbid: {
      // The layout tables of bsdcred_codec.h, checked against the headers there.
      const bsd::CredLayout* l = k == Kind::kXucred ? bsd::NativeXucred() : bsd::NativeUnpcbid();
      bsd::Cred c;
      if (l == nullptr) return false;
      // A short answer reads as zeros, as for every struct here.
      uint8_t buf[128] = {};
      if (p != nullptr && len > 0) memcpy(buf, p, len < sizeof(buf) ? len : sizeof(buf));
      size_t n = len < sizeof(buf) ? len : sizeof(buf);
      if (n < l->min) n = l->min;
      bsd::ParseCred(*l, buf, n, &c);
      o->version = c.version;
      o->uid = c.uid;
      o->gid = c.gid;
      o->pid = c.pid;
      o->has_pid = (c.has & bsd::kPid) != 0;
      o->ngroups = static_cast<int>(c.ngroups);
      for (size_t i = 0; i < c.ngroups && i < 16; i++) o->groups[i] = c.groups[i];
      return true;
    }
#endif
#ifdef KSOCK_HAVE_PACKET_MREQ
    case Kind::kPacketMreq: {
      packet_mreq m;
      Load(p, len, &m);
      o->ifindex = m.mr_ifindex;
      o->type = m.mr_type;
      size_t n = m.mr_alen;
      if (n > sizeof(m.mr_address)) n = sizeof(m.mr_address);
      if (n > sizeof(o->hwaddr)) n = sizeof(o->hwaddr);
      memcpy(o->hwaddr, m.mr_address, n);
      o->hwlen = n;
      return true;
    }
#endif
#ifdef KSOCK_HAVE_TPACKET_STATS
    case Kind::kTpacketStats: {
      // TPACKET_V3 sockets answer with tpacket_stats_v3 (one more field);
      // the length the kernel reported says which.
      tpacket_stats_v3 st;
      Load(p, len, &st);
      o->packets = st.tp_packets;
      o->drops = st.tp_drops;
      o->has_freeze = len >= sizeof(tpacket_stats_v3);
      o->freeze_q_cnt = o->has_freeze ? st.tp_freeze_q_cnt : 0;
      return true;
    }
#endif
#ifdef KSOCK_HAVE_TCP_INFO
    case Kind::kTcpInfo: {
      if (!DecodeTcpInfo(p, len, &o->tcp)) return false;
      double st = 0;
      if (TcpInfoGet(o->tcp, "state", &st)) o->tcp.state_name = TcpStateName(st);
      return true;
    }
#endif
    default:
      (void)p;
      (void)len;
      return false;
  }
}

size_t Encode(Kind k, const Fields& f, uint8_t* out, size_t cap) {
  switch (k) {
    case Kind::kLinger: {
      linger l{};
      if (!Fits<decltype(l.l_onoff)>(f.onoff) || !Fits<decltype(l.l_linger)>(f.linger)) return 0;
      l.l_onoff = static_cast<decltype(l.l_onoff)>(f.onoff);
      l.l_linger = static_cast<decltype(l.l_linger)>(f.linger);
      return Store(l, out, cap);
    }
    case Kind::kTimeval: {
      timeval tv{};
      if (!In(f.sec, -1e15, 1e15) || !In(f.usec, -1e15, 1e15)) return 0;
      if (!Fits<decltype(tv.tv_sec)>(f.sec) || !Fits<decltype(tv.tv_usec)>(f.usec)) return 0;
      tv.tv_sec = static_cast<decltype(tv.tv_sec)>(f.sec);
      tv.tv_usec = static_cast<decltype(tv.tv_usec)>(f.usec);
      return Store(tv, out, cap);
    }
#ifdef KSOCK_HAVE_IP_MREQ
    case Kind::kIpMreq: {
      ip_mreq m{};
      m.imr_multiaddr = f.multiaddr;
      m.imr_interface = f.interface_;
      return Store(m, out, cap);
    }
#endif
#ifdef KSOCK_HAVE_IP_MREQN
    case Kind::kIpMreqn: {
      ip_mreqn m{};
      if (!Fits<decltype(m.imr_ifindex)>(f.ifindex) || f.ifindex < 0) return 0;
      m.imr_multiaddr = f.multiaddr;
      m.imr_address = f.address;
      m.imr_ifindex = static_cast<decltype(m.imr_ifindex)>(f.ifindex);
      return Store(m, out, cap);
    }
#endif
#ifdef KSOCK_HAVE_IP_MREQ_SOURCE
    case Kind::kIpMreqSource: {
      ip_mreq_source m{};
      m.imr_multiaddr = f.multiaddr;
      m.imr_sourceaddr = f.sourceaddr;
      m.imr_interface = f.interface_;
      return Store(m, out, cap);
    }
#endif
#ifdef KSOCK_HAVE_IPV6_MREQ
    case Kind::kIpv6Mreq: {
      ipv6_mreq m{};
      if (!Fits<decltype(m.ipv6mr_interface)>(f.ifindex)) return 0;
      m.ipv6mr_multiaddr = f.multiaddr6;
      m.ipv6mr_interface = static_cast<decltype(m.ipv6mr_interface)>(f.ifindex);
      return Store(m, out, cap);
    }
#endif
#ifdef KSOCK_HAVE_PACKET_MREQ
    case Kind::kPacketMreq: {
      packet_mreq m{};
      if (!Fits<decltype(m.mr_ifindex)>(f.ifindex) || f.ifindex < 0) return 0;
      if (!Fits<decltype(m.mr_type)>(f.type)) return 0;
      if (f.hwlen > sizeof(m.mr_address) || f.hwlen > sizeof(f.hwaddr)) return 0;
      m.mr_ifindex = static_cast<decltype(m.mr_ifindex)>(f.ifindex);
      m.mr_type = static_cast<decltype(m.mr_type)>(f.type);
      m.mr_alen = static_cast<decltype(m.mr_alen)>(f.hwlen);
      memcpy(m.mr_address, f.hwaddr, f.hwlen);
      return Store(m, out, cap);
    }
#endif
#ifdef KSOCK_HAVE_UCRED
    case Kind::kUcred: {
      ucred u{};
      if (!Fits<decltype(u.pid)>(f.pid) || !Fits<decltype(u.uid)>(f.uid) || !Fits<decltype(u.gid)>(f.gid)) return 0;
      u.pid = static_cast<decltype(u.pid)>(f.pid);
      u.uid = static_cast<decltype(u.uid)>(f.uid);
      u.gid = static_cast<decltype(u.gid)>(f.gid);
      return Store(u, out, cap);
    }
#endif
    default:
      return 0;
  }
}

}  // namespace opt
}  // namespace ksock
