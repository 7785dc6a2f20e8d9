// libFuzzer harness for the sockaddr codec core (native/sockaddr_codec.h).
//
// 1. Decode: arbitrary bytes and an arbitrary length (the input is copied to
//    a heap block of exactly that length, so ASan sees any read past it).
//    Whatever decodes must re-encode to an address that decodes the same.
// 2. Encode: fields derived from the input; an encode that succeeds must
//    decode back to the same fields, and stay within sockaddr_storage.
// A broken invariant traps (__builtin_trap), which libFuzzer reports.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "sockaddr_codec.h"

#if __has_include(<netpacket/packet.h>)
#include <netpacket/packet.h>
#endif

using namespace ksock;

#define CHECK(c)                 \
  do {                           \
    if (!(c)) __builtin_trap(); \
  } while (0)

namespace {

bool SameBytes(const unsigned char* a, size_t an, const unsigned char* b, size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

// a and b describe the same address (what a JS caller would see).
bool Same(const sa::Addr& a, const sa::Addr& b) {
  if (a.shape != b.shape || a.family != b.family) return false;
  switch (a.shape) {
    case sa::Shape::kUnspec:
      return true;
    case sa::Shape::kInet:
      return memcmp(a.ip, b.ip, 4) == 0 && a.port == b.port;
    case sa::Shape::kInet6:
      return memcmp(a.ip, b.ip, 16) == 0 && a.port == b.port && a.flowinfo == b.flowinfo && a.scopeid == b.scopeid;
    case sa::Shape::kUnix:
      return SameBytes(a.path, a.pathlen, b.path, b.pathlen);
    case sa::Shape::kPacket:
      return a.ifindex == b.ifindex && a.protocol == b.protocol && a.hatype == b.hatype && a.pkttype == b.pkttype &&
             SameBytes(a.bytes + a.bytes_off, a.bytes_len, b.bytes + b.bytes_off, b.bytes_len);
    case sa::Shape::kNetlink:
      return a.pid == b.pid && a.groups == b.groups;
    case sa::Shape::kLink:
      return a.index == b.index && a.type == b.type &&
             SameBytes(a.bytes + a.name_off, a.name_len, b.bytes + b.name_off, b.name_len) &&
             SameBytes(a.bytes + a.bytes_off, a.bytes_len, b.bytes + b.bytes_off, b.bytes_len);
    case sa::Shape::kRaw:
      return SameBytes(a.bytes + a.bytes_off, a.bytes_len, b.bytes + b.bytes_off, b.bytes_len);
  }
  return false;
}

void CheckDecoded(const sa::Addr& a) {
  CHECK(a.pathlen <= sa::kPathMax);
  CHECK(a.bytes_off <= sizeof(a.bytes) && a.bytes_len <= sizeof(a.bytes) - a.bytes_off);
  CHECK(a.name_off <= sizeof(a.bytes) && a.name_len <= sizeof(a.bytes) - a.name_off);
  if (a.shape == sa::Shape::kUnix && a.pathlen > 0 && a.path[0] != '\0')
    CHECK(memchr(a.path, '\0', a.pathlen) == nullptr);
}

void DecodeArbitrary(const uint8_t* data, size_t size) {
  // Exactly `size` bytes on the heap: a read past them is an ASan report.
  unsigned char* p = static_cast<unsigned char*>(malloc(size > 0 ? size : 1));
  if (p == nullptr) return;
  if (size > 0) memcpy(p, data, size);
  sa::Addr a;
  sa::Decode(p, size, &a);
  free(p);
  CheckDecoded(a);
  if (size < sa::kFamilyEnd) CHECK(a.shape == sa::Shape::kUnspec);
  if (a.shape == sa::Shape::kLink) return;  // encoded only as raw bytes
  // Re-encode what decoded (the unspec shape keeps only the family), then decode again.
  sockaddr_storage ss;
  size_t len = 0;
  sa::Err e = sa::Encode(a, &ss, &len);
  if (a.shape == sa::Shape::kRaw && a.family == AF_UNSPEC && a.bytes_len == 0) CHECK(e == sa::Err::kOk);
  if (e != sa::Err::kOk) return;
  CHECK(len <= sizeof(ss));
  sa::Addr b;
  sa::Decode(&ss, len, &b);
  if (a.shape == sa::Shape::kUnspec) {
    CHECK(b.family == AF_UNSPEC);
    return;
  }
  CHECK(Same(a, b));
}

void EncodeArbitrary(const uint8_t* data, size_t size) {
  if (size < 2) return;
  sa::Addr a;
  const uint8_t mode = data[0] % 7;
  data++;
  size--;
  auto take = [&](void* out, size_t k) {
    size_t m = k < size ? k : size;
    if (m > 0) memcpy(out, data, m);
    data += m;
    size -= m;
    return m;
  };
  switch (mode) {
    case 0:
      a.shape = sa::Shape::kInet;
      a.family = AF_INET;
      take(a.ip, 4);
      take(&a.port, 2);
      break;
    case 1:
      a.shape = sa::Shape::kInet6;
      a.family = AF_INET6;
      take(a.ip, 16);
      take(&a.port, 2);
      take(&a.flowinfo, 4);
      take(&a.scopeid, 4);
      break;
    case 2: {
      a.shape = sa::Shape::kUnix;
      a.family = AF_UNIX;
      uint8_t n = 0;
      take(&n, 1);
      a.pathlen = n;  // up to 255: longer than sun_path must fail
      if (a.pathlen > sizeof(a.path)) {
        sockaddr_storage ss;
        size_t len;
        CHECK(sa::Encode(a, &ss, &len) == sa::Err::kPathTooLong);
        return;
      }
      a.pathlen = take(a.path, a.pathlen);
      break;
    }
    case 3:
      a.shape = sa::Shape::kPacket;
      a.family = 17;  // AF_PACKET on Linux; unused elsewhere
      take(&a.ifindex, 4);
      take(&a.protocol, 2);
      take(&a.hatype, 2);
      take(&a.pkttype, 1);
      {
        uint8_t n = 0;
        take(&n, 1);
        a.bytes_len = n % 16;  // > 8 must fail
        take(a.bytes, a.bytes_len);
      }
      break;
    case 4:
      a.shape = sa::Shape::kNetlink;
      a.family = 16;
      take(&a.pid, 4);
      take(&a.groups, 4);
      break;
    case 5: {
      a.shape = sa::Shape::kRaw;
      uint16_t fam = 0;
      take(&fam, 2);
      a.family = fam;
      uint8_t n = 0;
      take(&n, 1);
      a.bytes_len = n;  // up to 255: beyond sockaddr_storage must fail
      if (a.bytes_len > sizeof(sockaddr_storage) - sa::kFamilyEnd) {
        sockaddr_storage ss;
        size_t len;
        CHECK(sa::Encode(a, &ss, &len) == sa::Err::kDataTooLong);
        return;
      }
      a.bytes_len = take(a.bytes, a.bytes_len);
      break;
    }
    default:
      a.shape = sa::Shape::kUnix;
      a.family = AF_UNIX;
      a.unnamed = true;
      break;
  }
  sockaddr_storage ss;
  size_t len = 0;
  sa::Err e = sa::Encode(a, &ss, &len);
  if (e != sa::Err::kOk) {
    CHECK(len == 0);
    return;
  }
  CHECK(len <= sizeof(ss));
  sa::Addr b;
  sa::Decode(&ss, len, &b);
  CheckDecoded(b);
  switch (a.shape) {
    case sa::Shape::kInet:
      CHECK(a.port <= 65535 && b.shape == sa::Shape::kInet && memcmp(a.ip, b.ip, 4) == 0 && a.port == b.port);
      break;
    case sa::Shape::kInet6:
      CHECK(Same(a, b));
      break;
    case sa::Shape::kUnix:
      if (a.unnamed) {
        CHECK(b.shape == sa::Shape::kUnix && b.pathlen == 0);
      } else {
        CHECK(a.pathlen == 0 || a.path[0] == '\0' || memchr(a.path, '\0', a.pathlen) == nullptr);
        CHECK(Same(a, b));
      }
      break;
#if __has_include(<netpacket/packet.h>) && defined(AF_PACKET)
    case sa::Shape::kPacket:
      CHECK(a.bytes_len <= 8);
      CHECK(Same(a, b));
      break;
#endif
    case sa::Shape::kNetlink:
      CHECK(Same(a, b));
      break;
    case sa::Shape::kRaw:
      // A family the decoder knows reads the bytes as that family instead.
      if (b.shape == sa::Shape::kRaw) CHECK(b.family == a.family && Same(a, b));
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1)
    DecodeArbitrary(data + 1, size - 1);
  else
    EncodeArbitrary(data + 1, size - 1);
  return 0;
}
