// sockaddr codec core (see sockaddr_codec.h). No N-API here.
#include "sockaddr_codec.h"

#include <arpa/inet.h>

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
namespace sa {

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
    if (len > n - i) return false;
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

namespace {

void SetFamilyLen(sockaddr_storage* ss, int family, size_t len) {
  reinterpret_cast<sockaddr*>(ss)->sa_family = static_cast<sa_family_t>(family);
#ifdef SIN6_LEN
  reinterpret_cast<sockaddr*>(ss)->sa_len = static_cast<uint8_t>(len);
#else
  (void)len;
#endif
}

// The raw bytes after sa_family, from a zeroed copy of len bytes.
void Raw(const sockaddr_storage& ss, size_t len, Addr* out) {
  out->shape = Shape::kRaw;
  out->bytes_off = 0;
  out->bytes_len = len - kFamilyEnd;
  memcpy(out->bytes, reinterpret_cast<const unsigned char*>(&ss) + kFamilyEnd, out->bytes_len);
}

}  // namespace

void Decode(const void* p, size_t len, Addr* out) {
  *out = Addr();
  if (len > sizeof(sockaddr_storage)) len = sizeof(sockaddr_storage);
  if (p == nullptr) len = 0;
  // A zeroed, aligned copy: nothing below reads the caller's bytes past len.
  sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  if (len > 0) memcpy(&ss, p, len);
  if (len < kFamilyEnd) {  // e.g. an unconnected datagram peer
    out->shape = Shape::kUnspec;
    out->family = AF_UNSPEC;
    return;
  }
  const int family = reinterpret_cast<const sockaddr*>(&ss)->sa_family;
  out->family = family;
  if (family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    out->shape = Shape::kInet;
    memcpy(out->ip, &sin->sin_addr, sizeof(sin->sin_addr));
    out->port = ntohs(sin->sin_port);
    return;
  }
  if (family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    out->shape = Shape::kInet6;
    memcpy(out->ip, &sin6->sin6_addr, sizeof(sin6->sin6_addr));
    out->port = ntohs(sin6->sin6_port);
    out->flowinfo = ntohl(sin6->sin6_flowinfo);
    out->scopeid = sin6->sin6_scope_id;
    return;
  }
  if (family == AF_UNIX) {
    const auto* sun = reinterpret_cast<const sockaddr_un*>(&ss);
    const size_t base = offsetof(sockaddr_un, sun_path);
    size_t n = len > base ? len - base : 0;
    if (n > kPathMax) n = kPathMax;
    if (n > 0 && sun->sun_path[0] != '\0') {
      // Filesystem name: up to the first NUL (some kernels count it).
      const void* nul = memchr(sun->sun_path, '\0', n);
      if (nul != nullptr) n = static_cast<size_t>(static_cast<const char*>(nul) - sun->sun_path);
    }
    out->shape = Shape::kUnix;
    memcpy(out->path, sun->sun_path, n);
    out->pathlen = n;
    return;
  }
#if __has_include(<netpacket/packet.h>) && defined(AF_PACKET)
  if (family == AF_PACKET && len >= offsetof(sockaddr_ll, sll_addr)) {
    const auto* sll = reinterpret_cast<const sockaddr_ll*>(&ss);
    out->shape = Shape::kPacket;
    out->ifindex = static_cast<uint32_t>(sll->sll_ifindex);
    out->protocol = ntohs(sll->sll_protocol);
    out->hatype = sll->sll_hatype;
    out->pkttype = sll->sll_pkttype;
    size_t avail = len - offsetof(sockaddr_ll, sll_addr);
    size_t halen = sll->sll_halen;
    if (halen > avail) halen = avail;
    if (halen > sizeof(sll->sll_addr)) halen = sizeof(sll->sll_addr);
    memcpy(out->bytes, sll->sll_addr, halen);
    out->bytes_len = halen;
    return;
  }
#endif
#if __has_include(<linux/netlink.h>) && defined(AF_NETLINK)
  if (family == AF_NETLINK && len >= sizeof(sockaddr_nl)) {
    const auto* snl = reinterpret_cast<const sockaddr_nl*>(&ss);
    out->shape = Shape::kNetlink;
    out->pid = snl->nl_pid;
    out->groups = snl->nl_groups;
    return;
  }
#endif
#if __has_include(<net/if_dl.h>) && defined(AF_LINK)
  // BSD link-level address: { family: AF_LINK, index, type, name, addr }.
  if (family == AF_LINK && len >= offsetof(sockaddr_dl, sdl_data)) {
    const auto* sdl = reinterpret_cast<const sockaddr_dl*>(&ss);
    const size_t start = offsetof(sockaddr_dl, sdl_data);
    size_t avail = len - start;
    size_t nlen = sdl->sdl_nlen, alen = sdl->sdl_alen;
    if (nlen > avail) nlen = avail;
    if (alen > avail - nlen) alen = avail - nlen;
    out->shape = Shape::kLink;
    out->index = sdl->sdl_index;
    out->type = sdl->sdl_type;
    memcpy(out->bytes, reinterpret_cast<const unsigned char*>(&ss) + start, nlen + alen);
    out->name_off = 0;
    out->name_len = nlen;
    out->bytes_off = nlen;
    out->bytes_len = alen;
    return;
  }
#endif
  Raw(ss, len, out);
}

Err Encode(const Addr& in, sockaddr_storage* ss, size_t* len) {
  memset(ss, 0, sizeof(*ss));
  *len = 0;
  switch (in.shape) {
    case Shape::kInet: {
      if (in.port > 65535) return Err::kBadField;
      auto* sin = reinterpret_cast<sockaddr_in*>(ss);
      memcpy(&sin->sin_addr, in.ip, sizeof(sin->sin_addr));
      sin->sin_port = htons(static_cast<uint16_t>(in.port));
      SetFamilyLen(ss, AF_INET, sizeof(sockaddr_in));
      *len = sizeof(sockaddr_in);
      return Err::kOk;
    }
    case Shape::kInet6: {
      if (in.port > 65535) return Err::kBadField;
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
      memcpy(&sin6->sin6_addr, in.ip, sizeof(sin6->sin6_addr));
      sin6->sin6_port = htons(static_cast<uint16_t>(in.port));
      sin6->sin6_flowinfo = htonl(in.flowinfo);
      sin6->sin6_scope_id = in.scopeid;
      SetFamilyLen(ss, AF_INET6, sizeof(sockaddr_in6));
      *len = sizeof(sockaddr_in6);
      return Err::kOk;
    }
    case Shape::kUnix: {
      auto* sun = reinterpret_cast<sockaddr_un*>(ss);
      const size_t base = offsetof(sockaddr_un, sun_path);
      size_t n = in.unnamed ? 0 : in.pathlen;
      if (n > kPathMax) return Err::kPathTooLong;
      memcpy(sun->sun_path, in.path, n);
      size_t l = base + n;
      if (n > 0 && in.path[0] != '\0') {
        // Filesystem name: NUL-terminated when there is room (the kernel
        // accepts a full-length name without one).
        if (memchr(in.path, '\0', n) != nullptr) return Err::kPathNul;
        if (n < kPathMax) l += 1;
      }
      // A leading NUL: a Linux abstract name, passed with its exact length.
      SetFamilyLen(ss, AF_UNIX, l);
      *len = l;
      return Err::kOk;
    }
#if __has_include(<netpacket/packet.h>) && defined(AF_PACKET)
    case Shape::kPacket: {
      auto* sll = reinterpret_cast<sockaddr_ll*>(ss);
      if (in.bytes_len > sizeof(sll->sll_addr) || in.bytes_off > sizeof(in.bytes) - in.bytes_len)
        return Err::kAddrTooLong;
      if (in.ifindex > 0x7fffffff || in.protocol > 0xffff || in.hatype > 0xffff || in.pkttype > 0xff)
        return Err::kBadField;
      memcpy(sll->sll_addr, in.bytes + in.bytes_off, in.bytes_len);
      sll->sll_halen = static_cast<unsigned char>(in.bytes_len);
      sll->sll_family = AF_PACKET;
      sll->sll_ifindex = static_cast<int>(in.ifindex);
      sll->sll_protocol = htons(static_cast<uint16_t>(in.protocol));
      sll->sll_hatype = static_cast<unsigned short>(in.hatype);
      sll->sll_pkttype = static_cast<unsigned char>(in.pkttype);
      *len = sizeof(sockaddr_ll);
      return Err::kOk;
    }
#endif
#if __has_include(<linux/netlink.h>) && defined(AF_NETLINK)
    case Shape::kNetlink: {
      auto* snl = reinterpret_cast<sockaddr_nl*>(ss);
      snl->nl_family = AF_NETLINK;
      snl->nl_pid = in.pid;
      snl->nl_groups = in.groups;
      *len = sizeof(sockaddr_nl);
      return Err::kOk;
    }
#endif
    case Shape::kUnspec:
      // { family: AF_UNSPEC }: connect() to it dissolves a datagram association.
      SetFamilyLen(ss, AF_UNSPEC, kFamilyEnd);
      *len = kFamilyEnd;
      return Err::kOk;
    case Shape::kRaw: {
      if (in.family < 0 || in.family > 0xffff) return Err::kBadField;
      if (in.bytes_len > sizeof(*ss) - kFamilyEnd || in.bytes_off > sizeof(in.bytes) - in.bytes_len)
        return Err::kDataTooLong;
      memcpy(reinterpret_cast<unsigned char*>(ss) + kFamilyEnd, in.bytes + in.bytes_off, in.bytes_len);
      size_t l = kFamilyEnd + in.bytes_len;
      SetFamilyLen(ss, in.family, l);
      *len = l;
      return Err::kOk;
    }
    default:
      return Err::kBadField;
  }
}

}  // namespace sa
}  // namespace ksock
