// Struct-valued socket options, core: the platform's own C structs <-> plain
// fields, no N-API, so that libFuzzer can drive it (fuzz/optstruct_fuzz.cc).
// sockopt.cc converts to and from JS.
//
// Layouts differ between platforms (ip_mreq_source field order, timeval
// width, xucred vs ucred), so they are only ever built and read here, with
// the platform's struct definitions. Decoding tolerates a short length:
// fields beyond it read as 0.
#ifndef KSOCK_OPTSTRUCT_CODEC_H
#define KSOCK_OPTSTRUCT_CODEC_H

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "tcpinfo_codec.h"

#if __has_include(<sys/ucred.h>)
#include <sys/ucred.h>
#endif
// Packet sockets: the kernel's own header has packet_mreq and the statistics
// structs (glibc's <netpacket/packet.h> lacks the latter; never both).
#if __has_include(<linux/if_packet.h>)
#include <linux/if_packet.h>
#endif

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
#if defined(LOCAL_PEEREID)
#define KSOCK_HAVE_UNPCBID 1  // NetBSD: struct unpcbid {pid, euid, egid}
#endif
#if defined(TCP_INFO)
#define KSOCK_HAVE_TCP_INFO 1
#endif
#if defined(PACKET_ADD_MEMBERSHIP) && defined(PACKET_MR_PROMISC)
#define KSOCK_HAVE_PACKET_MREQ 1  // struct packet_mreq {ifindex, type, alen, address[8]}
#endif
#if defined(PACKET_STATISTICS) && __has_include(<linux/if_packet.h>)
#define KSOCK_HAVE_TPACKET_STATS 1  // struct tpacket_stats(_v3) {packets, drops, freeze_q_cnt}
#endif

namespace ksock {
namespace opt {

enum class Kind {
  kUnknown,
  kLinger,        // onoff linger
  kTimeval,       // sec usec
  kIpMreq,        // multiaddr interface
  kIpMreqn,       // multiaddr address ifindex
  kIpMreqSource,  // multiaddr sourceaddr interface
  kIpv6Mreq,      // multiaddr6 ifindex
  kUcred,         // pid uid gid
  kSockpeercred,  // pid uid gid
  kXucred,        // version uid gid groups, pid (FreeBSD 13+ cr_pid)
  kUnpcbid,       // pid uid gid (effective ids)
  kTcpInfo,       // tcp (tcpinfo_codec.h)
  kPacketMreq,    // ifindex type address[alen]
  kTpacketStats,  // packets drops (freeze_q_cnt when the kernel returns tpacket_stats_v3)
};

// The kind named `name` (e.g. "ip_mreq"), or kUnknown where this platform
// has no such struct.
Kind KindOf(const char* name, size_t len);
const char* NameOf(Kind k);
bool CanEncode(Kind k);

struct Fields {
  double onoff = 0, linger = 0;
  double sec = 0, usec = 0;
  in_addr multiaddr{}, interface_{}, address{}, sourceaddr{};
  in6_addr multiaddr6{};
  double ifindex = 0;
  double pid = 0, uid = 0, gid = 0, version = 0;
  bool has_pid = false;  // xucred: the platform's struct has cr_pid
  int ngroups = 0;
  double groups[16] = {};
  TcpInfoFields tcp;  // (name, value) pairs, state_name
  double type = 0;  // packet_mreq
  uint8_t hwaddr[8] = {};  // packet_mreq address
  size_t hwlen = 0;
  double packets = 0, drops = 0, freeze_q_cnt = 0;
  bool has_freeze = false;
};

// Reads p[0, len) as the struct of kind k (bytes past len read as 0; for
// tcp_info, fields past len are left out where the headers give the layout).
bool Decode(Kind k, const uint8_t* p, size_t len, Fields* out);

// The struct of kind k into out[0, cap); returns its size, or 0 when a field
// does not fit its C type or the kind cannot be encoded here.
size_t Encode(Kind k, const Fields& f, uint8_t* out, size_t cap);

// The name of TCP state number s ("ESTABLISHED", "LISTEN", ...) from the
// headers' TCP state enum, or nullptr when unknown here.
const char* TcpStateName(double s);

// Room for any struct Encode writes.
constexpr size_t kMaxEncoded = 64;

}  // namespace opt
}  // namespace ksock

#endif  // KSOCK_OPTSTRUCT_CODEC_H
