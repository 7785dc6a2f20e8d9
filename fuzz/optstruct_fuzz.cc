// libFuzzer harness for the option-struct codec core (native/optstruct_codec.h).
//
// 1. Decode: every kind over arbitrary bytes of arbitrary length (a heap block
//    of exactly that length, so ASan sees a read past it); short lengths read
//    as zeros, so decoding a prefix must equal decoding it zero-padded.
// 2. Encode: fields derived from the input; an encode that succeeds must
//    decode back to the same fields.
// A broken invariant traps (__builtin_trap), which libFuzzer reports.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "optstruct_codec.h"

using namespace ksock;

#define CHECK(c)                 \
  do {                           \
    if (!(c)) __builtin_trap(); \
  } while (0)

namespace {

const opt::Kind kAll[] = {opt::Kind::kLinger,  opt::Kind::kTimeval,      opt::Kind::kIpMreq,
                          opt::Kind::kIpMreqn, opt::Kind::kIpMreqSource, opt::Kind::kIpv6Mreq,
                          opt::Kind::kUcred,   opt::Kind::kSockpeercred, opt::Kind::kXucred,
                          opt::Kind::kTcpInfo, opt::Kind::kPacketMreq,  opt::Kind::kTpacketStats,
                          opt::Kind::kUnknown};
const size_t kKinds = sizeof(kAll) / sizeof(kAll[0]);

bool Eq(double a, double b) { return a == b || (a != a && b != b); }

// Every TCP_INFO field of a (decoded from a prefix) is in b, in the same
// order, with the same value: a shorter length only leaves fields out.
bool TcpPrefix(const opt::TcpInfoFields& a, const opt::TcpInfoFields& b) {
  if (a.count < 0 || a.count > opt::kTcpInfoMax || b.count < 0 || b.count > opt::kTcpInfoMax) return false;
  int j = 0;
  for (int i = 0; i < a.count; i++) {
    while (j < b.count && strcmp(b.f[j].name, a.f[i].name) != 0) j++;
    if (j == b.count || !Eq(a.f[i].value, b.f[j].value)) return false;
  }
  return a.state_name == nullptr || a.state_name == b.state_name;
}

bool SameFields(const opt::Fields& a, const opt::Fields& b) {
  if (!Eq(a.onoff, b.onoff) || !Eq(a.linger, b.linger) || !Eq(a.sec, b.sec) || !Eq(a.usec, b.usec)) return false;
  if (memcmp(&a.multiaddr, &b.multiaddr, sizeof(in_addr)) != 0 || memcmp(&a.interface_, &b.interface_, sizeof(in_addr)) != 0 ||
      memcmp(&a.address, &b.address, sizeof(in_addr)) != 0 || memcmp(&a.sourceaddr, &b.sourceaddr, sizeof(in_addr)) != 0 ||
      memcmp(&a.multiaddr6, &b.multiaddr6, sizeof(in6_addr)) != 0)
    return false;
  if (!Eq(a.ifindex, b.ifindex) || !Eq(a.pid, b.pid) || !Eq(a.uid, b.uid) || !Eq(a.gid, b.gid) ||
      !Eq(a.version, b.version) || a.ngroups != b.ngroups)
    return false;
  for (int i = 0; i < 16; i++)
    if (!Eq(a.groups[i], b.groups[i])) return false;
  if (!Eq(a.type, b.type) || a.hwlen != b.hwlen || memcmp(a.hwaddr, b.hwaddr, sizeof(a.hwaddr)) != 0) return false;
  if (!Eq(a.packets, b.packets) || !Eq(a.drops, b.drops)) return false;
  return TcpPrefix(a.tcp, b.tcp) && a.tcp.count == b.tcp.count;
}

void DecodeArbitrary(opt::Kind k, const uint8_t* data, size_t size) {
  uint8_t* p = static_cast<uint8_t*>(malloc(size > 0 ? size : 1));
  if (p == nullptr) return;
  if (size > 0) memcpy(p, data, size);
  opt::Fields f;
  bool ok = opt::Decode(k, p, size, &f);
  free(p);
  CHECK(ok == (k != opt::Kind::kUnknown && opt::NameOf(k)[0] != '\0'));
  if (!ok) return;
  CHECK(f.ngroups >= 0 && f.ngroups <= 16);
  // Short lengths read as 0: the same bytes zero-padded decode the same.
  uint8_t padded[1024];
  if (size <= sizeof(padded)) {
    memset(padded, 0, sizeof(padded));
    if (size > 0) memcpy(padded, data, size);
    opt::Fields g;
    CHECK(opt::Decode(k, padded, sizeof(padded), &g));
    if (k == opt::Kind::kTcpInfo) {
      CHECK(TcpPrefix(f.tcp, g.tcp));  // fields wholly within `size` bytes only
      CHECK(g.tcp.count > 0);
      double st = -1;
      CHECK(opt::TcpInfoGet(g.tcp, "state", &st) && st >= 0 && st <= 255);
      const opt::TcpInfoFields tcp = g.tcp;
      f.tcp = opt::TcpInfoFields();
      g.tcp = opt::TcpInfoFields();
      CHECK(SameFields(f, g));
      CHECK(tcp.state_name == opt::TcpStateName(st));
    } else {
      CHECK(SameFields(f, g));
    }
  }
}

void EncodeArbitrary(opt::Kind k, const uint8_t* data, size_t size) {
  auto take = [&](void* out, size_t n) {
    size_t m = n < size ? n : size;
    if (m > 0) memcpy(out, data, m);
    if (n > m) memset(static_cast<uint8_t*>(out) + m, 0, n - m);
    data += m;
    size -= m;
  };
  auto num = [&]() {
    // Mostly integers of various widths, sometimes any double (NaN, huge, fractions).
    uint8_t how = 0;
    take(&how, 1);
    if (how % 4 == 0) {
      double d;
      take(&d, sizeof(d));
      return d;
    }
    if (how % 4 == 1) {
      int64_t v;
      take(&v, sizeof(v));
      return static_cast<double>(v);
    }
    int32_t v;
    take(&v, sizeof(v));
    return how % 4 == 2 ? static_cast<double>(v) : static_cast<double>(static_cast<uint32_t>(v));
  };
  opt::Fields f;
  f.onoff = num();
  f.linger = num();
  f.sec = num();
  f.usec = num();
  take(&f.multiaddr, sizeof(f.multiaddr));
  take(&f.interface_, sizeof(f.interface_));
  take(&f.address, sizeof(f.address));
  take(&f.sourceaddr, sizeof(f.sourceaddr));
  take(&f.multiaddr6, sizeof(f.multiaddr6));
  f.ifindex = num();
  f.pid = num();
  f.uid = num();
  f.gid = num();
  f.type = num();
  uint8_t alen = 0;
  take(&alen, 1);
  f.hwlen = alen % 12;  // sometimes longer than the 8 bytes packet_mreq holds
  take(f.hwaddr, sizeof(f.hwaddr));
  uint8_t out[opt::kMaxEncoded];
  size_t n = opt::Encode(k, f, out, sizeof(out));
  if (!opt::CanEncode(k)) {
    CHECK(n == 0);
    return;
  }
  if (n == 0) return;  // a field does not fit its C type
  CHECK(n <= sizeof(out));
  opt::Fields g;
  CHECK(opt::Decode(k, out, n, &g));
  switch (k) {
    case opt::Kind::kLinger:
      CHECK(g.onoff == f.onoff && g.linger == f.linger);
      break;
    case opt::Kind::kTimeval:
      CHECK(g.sec == f.sec && g.usec == f.usec);
      break;
    case opt::Kind::kIpMreq:
      CHECK(memcmp(&g.multiaddr, &f.multiaddr, 4) == 0 && memcmp(&g.interface_, &f.interface_, 4) == 0);
      break;
    case opt::Kind::kIpMreqn:
      CHECK(memcmp(&g.multiaddr, &f.multiaddr, 4) == 0 && memcmp(&g.address, &f.address, 4) == 0 && g.ifindex == f.ifindex);
      break;
    case opt::Kind::kIpMreqSource:
      CHECK(memcmp(&g.multiaddr, &f.multiaddr, 4) == 0 && memcmp(&g.sourceaddr, &f.sourceaddr, 4) == 0 &&
            memcmp(&g.interface_, &f.interface_, 4) == 0);
      break;
    case opt::Kind::kIpv6Mreq:
      CHECK(memcmp(&g.multiaddr6, &f.multiaddr6, 16) == 0 && g.ifindex == f.ifindex);
      break;
    case opt::Kind::kUcred:
      CHECK(g.pid == f.pid && g.uid == f.uid && g.gid == f.gid);
      break;
    case opt::Kind::kPacketMreq:
      CHECK(g.ifindex == f.ifindex && g.type == f.type && g.hwlen == f.hwlen && memcmp(g.hwaddr, f.hwaddr, f.hwlen) == 0);
      break;
    default:
      CHECK(false);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  opt::Kind k = kAll[(data[0] >> 1) % kKinds];
  if (data[0] & 1)
    DecodeArbitrary(k, data + 1, size - 1);
  else
    EncodeArbitrary(k, data + 1, size - 1);
  // Names map to kinds and back.
  const char* name = opt::NameOf(k);
  if (name[0] != '\0') CHECK(opt::KindOf(name, strlen(name)) == k);
  return 0;
}
