// Control-message (cmsg) codec core: plain bytes and structs, no N-API, so that
// libFuzzer can drive it (fuzz/cmsg_fuzz.cc). cmsg.cc converts to and from JS.
//
// Receive: Walk() visits the items of a received control buffer bounded by
// msg_controllen, with every cmsg_len clamped to what remains (macOS reports
// untruncated lengths); descriptor payloads are rounded down to whole ints.
// Headers are copied out with memcpy, never dereferenced in place, so any
// alignment and any const-ness of the buffer is fine (NetBSD's CMSG_DATA
// cannot take a const cmsghdr*).
//
// Send: Layout() sizes, Encode() lays out the items with the platform's
// CMSG_SPACE/CMSG_LEN into a zeroed, over-aligned buffer; all descriptors of
// one send travel in ONE SCM_RIGHTS item (several lose descriptors on
// NetBSD/OpenBSD).
#ifndef KSOCK_CMSG_CODEC_H
#define KSOCK_CMSG_CODEC_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bsdcred_codec.h"
#include "compat.h"

namespace ksock {
namespace cmsg {

// Limits of one send (the adapter reports a RangeError beyond them).
constexpr size_t kMaxItems = 1024;
constexpr size_t kMaxFds = 253;          // Linux SCM_MAX_FD
constexpr size_t kMaxBytes = 1u << 20;  // one item's payload, and the whole buffer

// One item of a received buffer: the payload lies inside that buffer.
struct Span {
  int level = 0;
  int type = 0;
  const unsigned char* data = nullptr;
  size_t len = 0;
};

// Visits each item: f(const Span&). Never reads outside [control, control+controllen).
template <typename F>
void Walk(const void* control, size_t controllen, F&& f) {
  if (control == nullptr) return;
  const auto* base = static_cast<const unsigned char*>(control);
  const size_t hdr = CMSG_LEN(0);
  size_t off = 0;
  while (off <= controllen && controllen - off >= hdr) {
    cmsghdr h;
    __builtin_memcpy(&h, base + off, sizeof(h));
    size_t clen = static_cast<size_t>(h.cmsg_len);
    if (clen < hdr) break;
    if (clen > controllen - off) clen = controllen - off;
    Span s;
    s.level = h.cmsg_level;
    s.type = h.cmsg_type;
    s.data = base + off + hdr;
    s.len = clen - hdr;
    f(static_cast<const Span&>(s));
    size_t step = CMSG_SPACE(s.len);
    if (step == 0 || step > controllen - off) break;
    off += step;
  }
}

// SCM_RIGHTS, or SCM_PIDFD where the platform has it: items that carry
// descriptors the receiver now holds.
inline bool CarriesFds(int level, int type) {
  if (level != SOL_SOCKET) return false;
  if (type == SCM_RIGHTS) return true;
#ifdef SCM_PIDFD
  if (type == SCM_PIDFD) return true;
#endif
  return false;
}
inline bool CarriesFds(const Span& s) { return CarriesFds(s.level, s.type); }

// Whole descriptors in a payload, and the i-th of them.
inline size_t FdCount(const Span& s) { return s.len / sizeof(int); }
inline int FdAt(const Span& s, size_t i) {
  int fd;
  __builtin_memcpy(&fd, s.data + i * sizeof(int), sizeof(int));
  return fd;
}

// Closes every descriptor of every fd-carrying item / sets FD_CLOEXEC on it.
void DisposeFds(const void* control, size_t controllen);
void CloexecFds(const void* control, size_t controllen);

// ---- typed decode of received items ------------------------------------

enum class Kind {
  kRaw,           // unknown or truncated: { level, type, data } only
  kFds,           // SCM_RIGHTS / SCM_PIDFD (decoded by the adapter: ownership)
  kCredentials,   // SCM_CREDENTIALS: pid uid gid
  kCmsgcred,      // SCM_CREDS (FreeBSD cmsgcred): pid uid euid gid groups
  kSockcred,      // SCM_CREDS (NetBSD sockcred: pid uid euid gid egid groups; FreeBSD's has no pid)
  kSockcred2,     // SCM_CREDS2 (FreeBSD sockcred2): version pid uid euid gid egid groups
  kBintime,       // SCM_BINTIME: sec frac (2**-64 s) nsec
  kTimestampNs,   // sec nsec
  kTimestamping,  // ts[3]
  kTimestamp,     // sec usec
  kDropped,       // SO_RXQ_OVFL: u32
  kMark,          // SO_MARK: u32
  kPktinfo,       // IP_PKTINFO: ifindex spec_dst addr
  kRecvDstAddr,   // IP_RECVDSTADDR: addr
  kRecvIf,        // IP_RECVIF: ifindex
  kTtl,           // IP_TTL / IP_RECVTTL: i32
  kTos,           // IP_TOS / IP_RECVTOS: i32
  kOrigDstAddr,   // IP(V6)_ORIGDSTADDR: sockaddr bytes
  kPktinfo6,      // IPV6_PKTINFO: addr6 ifindex
  kHopLimit,      // i32
  kTclass,        // i32
  kExtendedErr,   // IP(V6)_RECVERR: sock_extended_err + optional offender sockaddr
  kGro,           // UDP_GRO: i32
  kSegment,       // UDP_SEGMENT: u16
  kAuxdata,       // PACKET_AUXDATA: tpacket_auxdata (status len snaplen mac net vlan_tci vlan_tpid)
};

struct Timespec {
  double sec = 0;
  double nsec = 0;
};

struct Decoded {
  Kind kind = Kind::kRaw;
  // SCM_CREDS, SCM_CREDS2: the fields a BSD layout has, and its table's name.
  bsd::Cred cred;
  const char* layout = nullptr;
  uint64_t frac = 0;  // SCM_BINTIME
  double pid = 0, uid = 0, euid = 0, gid = 0, egid = 0;
  int ngroups = 0;
  double groups[16] = {};
  double sec = 0, nsec = 0, usec = 0;
  Timespec ts[3];
  double u32 = 0;  // dropped, mark
  int32_t i32 = 0;  // ttl, tos, hoplimit, tclass, gro segsize, segment segsize
  double ifindex = 0;
  in_addr addr4{};
  in_addr spec_dst{};
  in6_addr addr6{};
  // sock_extended_err
  double ee_errno = 0, ee_origin = 0, ee_type = 0, ee_code = 0, ee_info = 0, ee_data = 0;
  // ORIGDSTADDR, or the offender of an extended error: sockaddr bytes within the payload.
  const unsigned char* sa = nullptr;
  size_t salen = 0;
  // tpacket_auxdata
  double tp_status = 0, tp_len = 0, tp_snaplen = 0, tp_mac = 0, tp_net = 0, tp_vlan_tci = 0, tp_vlan_tpid = 0;
};

// Decodes a non-fd item. Reads only s.data[0, s.len).
Decoded Decode(const Span& s);

// ---- encode ------------------------------------------------------------

// An item to send; `bytes` is its payload (owned, copied from JS at once).
struct OutItem {
  int level = 0;
  int type = 0;
  std::vector<uint8_t> bytes;
};

// Payload builders for the typed send forms. Which one applies is Typed();
// the adapter reads the named fields, then calls Build().
enum class Typed {
  kNone,         // no typed encoding: `data` is required
  kCredentials,  // pid uid gid
  kCmsgcred,     // nothing (filled in by the kernel)
  kPktinfo,      // ifindex addr spec_dst
  kSendSrcAddr,  // addr
  kTtl,          // ttl (int)
  kTos,          // tos (int)
  kPktinfo6,     // ifindex addr6
  kHopLimit,     // hoplimit (int)
  kTclass,       // tclass (int)
  kSegment,      // segsize (u16)
  kMark,         // mark (u32)
};
Typed TypedOf(int level, int type);

struct TypedFields {
  double pid = 0, uid = 0, gid = 0;
  double ifindex = 0;
  double value = 0;  // ttl tos hoplimit tclass segsize mark
  in_addr addr4{};
  in_addr spec_dst{};
  in6_addr addr6{};
};
// False when a field does not fit its C type (the adapter checks the ranges
// first; this keeps the core safe on its own).
bool Build(Typed t, const TypedFields& f, std::vector<uint8_t>* out);

// The buffer length for `nfds` descriptors (one SCM_RIGHTS item when > 0)
// plus `items`; false when beyond the limits above.
bool Layout(size_t nfds, const std::vector<OutItem>& items, size_t* total);
// Writes into buf[0, total) (total from Layout; buf zeroed and aligned for
// cmsghdr).
void Encode(const int* fds, size_t nfds, const std::vector<OutItem>& items, unsigned char* buf, size_t total);

}  // namespace cmsg
}  // namespace ksock

#endif  // KSOCK_CMSG_CODEC_H
