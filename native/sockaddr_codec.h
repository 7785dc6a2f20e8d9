// sockaddr codec core: sockaddr bytes <-> plain fields, no N-API, so that
// libFuzzer can drive it (fuzz/sockaddr_fuzz.cc). sockaddr.cc converts to and
// from JS objects.
//
// Decode never reads past the length it is given. Encode checks every bound
// (AF_UNIX path length, abstract names included; AF_PACKET address length;
// the raw bytes of other families) and never writes past sockaddr_storage.
#ifndef KSOCK_SOCKADDR_CODEC_H
#define KSOCK_SOCKADDR_CODEC_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>

namespace ksock {
namespace sa {

constexpr size_t kFamilyEnd = offsetof(sockaddr, sa_family) + sizeof(sa_family_t);
constexpr size_t kPathMax = sizeof(sockaddr_un::sun_path);
constexpr size_t kLinkAddrMax = 8;  // sockaddr_ll.sll_addr

enum class Shape {
  kUnspec,   // shorter than sa_family: { family: AF_UNSPEC }
  kInet,     // address port
  kInet6,    // address port flowinfo scopeid
  kUnix,     // path (bytes; text when valid UTF-8)
  kPacket,   // ifindex protocol hatype pkttype addr
  kNetlink,  // pid groups
  kLink,     // BSD AF_LINK: index type name addr
  kRaw,      // data: the bytes after sa_family
};

struct Addr {
  Shape shape = Shape::kUnspec;
  int family = 0;
  // kInet / kInet6 (network byte order in `ip`, host order elsewhere)
  unsigned char ip[16] = {};
  uint32_t port = 0, flowinfo = 0, scopeid = 0;
  // kUnix: the name; abstract names keep their leading NUL and exact length.
  unsigned char path[kPathMax] = {};
  size_t pathlen = 0;
  bool unnamed = false;  // encode: no path at all (autobind)
  // kPacket
  uint32_t ifindex = 0, protocol = 0, hatype = 0, pkttype = 0;
  // kNetlink
  uint32_t pid = 0, groups = 0;
  // kLink: index, type; name and addr point into `bytes` below
  uint32_t index = 0, type = 0;
  size_t name_off = 0, name_len = 0;
  // kPacket addr, kLink addr, kRaw data: in `bytes`
  unsigned char bytes[sizeof(sockaddr_storage)] = {};
  size_t bytes_off = 0, bytes_len = 0;
};

// Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool ValidUtf8(const unsigned char* s, size_t n);

// Decodes `len` bytes at `p` (at most sizeof(sockaddr_storage) are used).
void Decode(const void* p, size_t len, Addr* out);

enum class Err {
  kOk,
  kPathTooLong,   // AF_UNIX path longer than sun_path
  kPathNul,       // a filesystem name with a NUL byte
  kAddrTooLong,   // AF_PACKET addr longer than sll_addr
  kDataTooLong,   // raw bytes longer than sockaddr_storage allows
  kBadField,      // a field out of its C type's range
};

// Encodes `in` (shape kInet/kInet6/kUnix/kPacket/kNetlink/kRaw/kUnspec, and
// family) into *ss; *len is the length to pass to the kernel.
Err Encode(const Addr& in, sockaddr_storage* ss, size_t* len);

}  // namespace sa
}  // namespace ksock

#endif  // KSOCK_SOCKADDR_CODEC_H
