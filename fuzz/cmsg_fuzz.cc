// libFuzzer harness for the cmsg codec core (native/cmsg_codec.h).
//
// 1. Decode: the input, copied into an aligned buffer, is a received control
//    buffer. The walk must stay inside it, descriptor counts must be whole
//    ints of the payload, and the typed decode of every item must only point
//    inside the item.
// 2. Encode: items and descriptors derived from the input are laid out, then
//    walked back: the same items, in order, with the same payloads, and all
//    descriptors in one SCM_RIGHTS item first.
// 3. Typed forms: fields derived from the input are built into a payload,
//    which must decode to the same fields.
// A broken invariant traps (__builtin_trap), which libFuzzer reports.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bsdcred_codec.h"
#include "cmsg_codec.h"

using namespace ksock;

#define CHECK(c)                 \
  do {                           \
    if (!(c)) __builtin_trap(); \
  } while (0)

namespace {

// Consumes bytes from the input, zeros past its end.
struct Reader {
  const uint8_t* p;
  size_t n;
  size_t take(void* out, size_t k) {
    size_t m = k < n ? k : n;
    if (m > 0) memcpy(out, p, m);
    if (k > m) memset(static_cast<uint8_t*>(out) + m, 0, k - m);
    p += m;
    n -= m;
    return m;
  }
  template <typename T>
  T get() {
    T v;
    take(&v, sizeof(v));
    return v;
  }
};

void DecodeArbitrary(const uint8_t* data, size_t size) {
  // An aligned copy, as the kernel writes it into ControlBuffer.
  size_t cap = size > 0 ? size : 1;
  void* buf = aligned_alloc(alignof(max_align_t), (cap + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t));
  if (buf == nullptr) return;
  if (size > 0) memcpy(buf, data, size);
  const unsigned char* lo = static_cast<const unsigned char*>(buf);
  const unsigned char* hi = lo + size;
  size_t items = 0;
  cmsg::Walk(buf, size, [&](const cmsg::Span& s) {
    items++;
    CHECK(s.data >= lo && s.data <= hi && s.len <= static_cast<size_t>(hi - s.data));
    if (cmsg::CarriesFds(s)) {
      size_t n = cmsg::FdCount(s);
      CHECK(n * sizeof(int) <= s.len && s.len - n * sizeof(int) < sizeof(int));
      volatile unsigned sum = 0;
      for (size_t i = 0; i < n; i++) sum = sum + static_cast<unsigned>(cmsg::FdAt(s, i));
      (void)sum;
    }
    cmsg::Decoded d = cmsg::Decode(s);
    if (d.sa != nullptr) CHECK(d.sa >= s.data && d.salen <= s.len && d.sa + d.salen <= s.data + s.len);
    if (d.kind == cmsg::Kind::kCmsgcred || d.kind == cmsg::Kind::kSockcred || d.kind == cmsg::Kind::kSockcred2)
      CHECK(d.cred.ngroups <= 16);
    // Every BSD layout table over the payload, copied to a buffer of exactly
    // its size (ASan: nothing is read past it), whatever this platform is.
    uint8_t* exact = static_cast<uint8_t*>(malloc(s.len > 0 ? s.len : 1));
    if (exact == nullptr) return;
    if (s.len > 0) memcpy(exact, s.data, s.len);
    for (size_t i = 0; i < bsd::kCredLayoutCount; i++) {
      const bsd::CredLayout& l = *bsd::kCredLayouts[i];
      bsd::Cred c;
      if (bsd::ParseCred(l, exact, s.len, &c)) CHECK(c.ngroups <= bsd::kMaxGroups && l.groups + 4 * c.ngroups <= s.len + (c.ngroups == 0 ? l.groups : 0));
      else CHECK(s.len < l.min);
    }
    for (size_t i = 0; i < bsd::kTimeLayoutCount; i++) {
      bsd::Time t;
      const bsd::TimeLayout& l = *bsd::kTimeLayouts[i];
      if (!bsd::ParseTime(l, exact, s.len, &t)) continue;
      CHECK(s.len >= 16);
      if (l.unit == bsd::TimeUnit::kFrac) CHECK(t.nsec >= 0 && t.nsec < 1e9);  // a fraction of a second
    }
    free(exact);
  });
  CHECK(items <= size / CMSG_LEN(0) + 1);
  free(buf);
}

void EncodeRoundTrip(const uint8_t* data, size_t size) {
  Reader r{data, size};
  size_t nfds = r.get<uint8_t>() % (cmsg::kMaxFds + 8);
  size_t nitems = r.get<uint8_t>() % 12;
  std::vector<int> fds(nfds);
  for (size_t i = 0; i < nfds; i++) fds[i] = static_cast<int>(i) * 7 + r.get<uint8_t>();
  std::vector<cmsg::OutItem> items;
  for (size_t i = 0; i < nitems; i++) {
    cmsg::OutItem it;
    it.level = r.get<int32_t>();
    it.type = r.get<int32_t>();
    if (it.level == SOL_SOCKET && it.type == SCM_RIGHTS) it.type = -1;  // rights travel in `fds`
    size_t len = r.get<uint8_t>();
    if (len == 255) len = r.get<uint16_t>();
    it.bytes.resize(len);
    r.take(it.bytes.data(), len);
    items.push_back(std::move(it));
  }
  size_t total = 0;
  bool fits = cmsg::Layout(nfds, items, &total);
  if (nfds > cmsg::kMaxFds) {
    CHECK(!fits);
    return;
  }
  CHECK(fits);  // small items: always within the limits
  if (total == 0) {
    CHECK(nfds == 0 && items.empty());
    return;
  }
  size_t alloc = (total + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
  auto* buf = static_cast<unsigned char*>(aligned_alloc(alignof(max_align_t), alloc));
  if (buf == nullptr) return;
  memset(buf, 0, total);
  cmsg::Encode(fds.data(), nfds, items, buf, total);

  // Walk it back, also through the platform's own CMSG_FIRSTHDR/CMSG_NXTHDR.
  std::vector<cmsg::Span> got;
  cmsg::Walk(buf, total, [&](const cmsg::Span& s) { got.push_back(s); });
  CHECK(got.size() == items.size() + (nfds > 0 ? 1 : 0));
  size_t k = 0;
  if (nfds > 0) {
    CHECK(got[0].level == SOL_SOCKET && got[0].type == SCM_RIGHTS);
    CHECK(cmsg::FdCount(got[0]) == nfds && got[0].len == nfds * sizeof(int));
    for (size_t i = 0; i < nfds; i++) CHECK(cmsg::FdAt(got[0], i) == fds[i]);
    k = 1;
  }
  for (size_t i = 0; i < items.size(); i++, k++) {
    CHECK(got[k].level == items[i].level && got[k].type == items[i].type);
    CHECK(got[k].len == items[i].bytes.size());
    CHECK(got[k].len == 0 || memcmp(got[k].data, items[i].bytes.data(), got[k].len) == 0);
  }
  msghdr m{};
  m.msg_control = buf;
  m.msg_controllen = total;
  size_t n = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    CHECK(n < got.size());
    CHECK(c->cmsg_level == got[n].level && c->cmsg_type == got[n].type);
    CHECK(CMSG_DATA(c) == got[n].data);
    n++;
  }
  CHECK(n == got.size());
  free(buf);
}

void TypedRoundTrip(const uint8_t* data, size_t size) {
  Reader r{data, size};
  static const int kForms[][2] = {
#ifdef SCM_CREDENTIALS
      {SOL_SOCKET, SCM_CREDENTIALS},
#endif
#ifdef IP_PKTINFO
      {IPPROTO_IP, IP_PKTINFO},
#endif
      {IPPROTO_IP, IP_TTL},
      {IPPROTO_IP, IP_TOS},
#ifdef IPV6_PKTINFO
      {IPPROTO_IPV6, IPV6_PKTINFO},
#endif
#ifdef IPV6_HOPLIMIT
      {IPPROTO_IPV6, IPV6_HOPLIMIT},
#endif
#ifdef IPV6_TCLASS
      {IPPROTO_IPV6, IPV6_TCLASS},
#endif
#ifdef UDP_SEGMENT
      {IPPROTO_UDP, UDP_SEGMENT},
#endif
#ifdef SO_MARK
      {SOL_SOCKET, SO_MARK},
#endif
  };
  const size_t nforms = sizeof(kForms) / sizeof(kForms[0]);
  const int* form = kForms[r.get<uint8_t>() % nforms];
  cmsg::Typed t = cmsg::TypedOf(form[0], form[1]);
  CHECK(t != cmsg::Typed::kNone);
  cmsg::TypedFields f;
  f.pid = static_cast<double>(r.get<int32_t>());
  f.uid = static_cast<double>(r.get<uint32_t>());
  f.gid = static_cast<double>(r.get<uint32_t>());
  f.ifindex = static_cast<double>(r.get<int32_t>());
  f.value = static_cast<double>(r.get<int32_t>() % 70000);
  r.take(&f.addr4, sizeof(f.addr4));
  r.take(&f.spec_dst, sizeof(f.spec_dst));
  r.take(&f.addr6, sizeof(f.addr6));
  std::vector<uint8_t> payload;
  if (!cmsg::Build(t, f, &payload)) return;  // a field out of its C type's range
  cmsg::Span s;
  s.level = form[0];
  s.type = form[1];
  s.data = payload.data();
  s.len = payload.size();
  cmsg::Decoded d = cmsg::Decode(s);
  switch (t) {
    case cmsg::Typed::kCredentials:
      CHECK(d.kind == cmsg::Kind::kCredentials && d.pid == f.pid && d.uid == f.uid && d.gid == f.gid);
      break;
    case cmsg::Typed::kPktinfo:
      CHECK(d.kind == cmsg::Kind::kPktinfo && d.ifindex == f.ifindex);
      CHECK(memcmp(&d.addr4, &f.addr4, sizeof(f.addr4)) == 0 && memcmp(&d.spec_dst, &f.spec_dst, sizeof(f.spec_dst)) == 0);
      break;
    case cmsg::Typed::kTtl:
      CHECK(d.kind == cmsg::Kind::kTtl && d.i32 == f.value);
      break;
    case cmsg::Typed::kTos:
      CHECK(d.kind == cmsg::Kind::kTos && d.i32 == f.value);
      break;
    case cmsg::Typed::kPktinfo6:
      CHECK(d.kind == cmsg::Kind::kPktinfo6 && d.ifindex == f.ifindex && memcmp(&d.addr6, &f.addr6, sizeof(f.addr6)) == 0);
      break;
    case cmsg::Typed::kHopLimit:
      CHECK(d.kind == cmsg::Kind::kHopLimit && d.i32 == f.value);
      break;
    case cmsg::Typed::kTclass:
      CHECK(d.kind == cmsg::Kind::kTclass && d.i32 == f.value);
      break;
    case cmsg::Typed::kSegment:
      CHECK(d.kind == cmsg::Kind::kSegment && d.i32 == f.value);
      break;
    case cmsg::Typed::kMark:
      CHECK(d.kind == cmsg::Kind::kMark && d.u32 == f.value);
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    DecodeArbitrary(data, size);
    return 0;
  }
  // The first byte picks the mode; the rest is its input.
  switch (data[0] % 3) {
    case 0:
      DecodeArbitrary(data + 1, size - 1);
      break;
    case 1:
      EncodeRoundTrip(data + 1, size - 1);
      break;
    default:
      TypedRoundTrip(data + 1, size - 1);
      break;
  }
  return 0;
}
