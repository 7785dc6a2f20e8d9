// The TPACKET_V3 capture ring: PACKET_RX_RING on an AF_PACKET socket, mapped
// here, its blocks handed to JavaScript as zero-copy ArrayBuffers.
//
// Lifetime rules:
//  - A Ring owns one mapping. JavaScript holds it as an external (checked
//    against the set of live rings, like a Handle); its descriptor stays with
//    the socket's Handle: the mapping keeps the kernel's ring alive by
//    itself, so closing the socket while blocks are out is safe.
//  - A block the kernel gave to user space (TP_STATUS_USER) is handed out as
//    an external ArrayBuffer over the block (a Lease). Releasing it detaches
//    that ArrayBuffer (every view over it then has length 0) and only then
//    gives the block back to the kernel (TP_STATUS_KERNEL, after a barrier).
//  - The mapping goes when the ring is closed — every handed-out ArrayBuffer
//    detached first — or, without a close, once the ring's external and
//    every ArrayBuffer still reachable from JavaScript have been collected.
//    At environment teardown (exit, worker termination) it goes at once: no
//    JavaScript runs after that.
//  - Frames are parsed here, once, when the block is handed out: every
//    offset is bounded by the block size, so a corrupt or hostile block never
//    makes anything read outside it. JavaScript receives the frames as
//    numbers (a Uint32Array) and the data as offsets into the block.
#include <arpa/inet.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "args.h"
#include "handle.h"
#include "ksock.h"

#if __has_include(<linux/if_packet.h>)
#include <linux/if_packet.h>
#endif

#if defined(PACKET_RX_RING) && defined(PACKET_VERSION) && defined(TP_STATUS_BLK_TMO) && defined(TPACKET3_HDRLEN)
#define KSOCK_HAVE_TPACKET_V3 1
#endif

namespace ksock {

namespace {

using arg::Throw;

// The layout of the frame table JavaScript reads (a Uint32Array): a header,
// then kFrameFields numbers per frame.
enum MetaHeader : uint32_t { kMetaBlock = 0, kMetaCount = 1, kMetaSeq = 2, kMetaFlags = 3, kMetaHeader = 4 };
enum FrameField : uint32_t {
  kMac = 0,       // offset of the link-layer header in the block
  kSnaplen = 1,   // bytes captured
  kLen = 2,       // bytes on the wire
  kSec = 3,
  kNsec = 4,
  kStatus = 5,    // tp_status (TP_STATUS_*)
  kVlanTci = 6,
  kVlanTpid = 7,
  kIfindex = 8,   // sockaddr_ll after the header
  kProtocol = 9,  // host order
  kPkttype = 10,
  kHatype = 11,
  kHalen = 12,
  kAddr0 = 13,    // sll_addr[0..3] as stored
  kAddr1 = 14,    // sll_addr[4..7]
  kNet = 15,      // offset of the network header in the block
  kFrameFields = 16,
};
constexpr uint32_t kFlagCorrupt = 1;  // the walk stopped at a frame that was out of bounds

// Bounds the JavaScript side also checks (RangeError before native is called).
constexpr uint64_t kMaxBlockSize = 1u << 28;     // 256 MiB: a block is one contiguous allocation
constexpr uint64_t kMaxBlocks = 1u << 16;
constexpr uint64_t kMaxRingBytes = 1ull << 32;   // 4 GiB of ring in all
constexpr uint32_t kMaxTimeoutMs = 60000;

struct Ring;

struct Lease {
  Ring* ring = nullptr;
  uint32_t block = 0;
  napi_ref ab = nullptr;  // weak: the ArrayBuffer over the block
  bool live = true;       // not yet detached (JavaScript may still read through it)
};

struct Ring {
  napi_env env = nullptr;
  uint8_t* map = nullptr;  // null once unmapped
  size_t map_len = 0;
  uint32_t block_size = 0;
  uint32_t block_nr = 0;
  uint32_t next = 0;              // the block the kernel fills after the last one handed out
  std::vector<Lease*> leased;     // per block: the lease out now, or null
  size_t leases = 0;              // Lease structs not yet finalized
  size_t live = 0;                // leases whose ArrayBuffer may still be read
  bool closed = false;            // closed, or its external was collected
  bool external_gone = false;
  bool stopping = false;          // the env is being torn down
};

std::mutex g_mu;
std::unordered_set<Ring*> g_rings;  // every Ring not yet freed (all envs)
std::unordered_set<napi_env> g_hooked;

void Unmap(Ring* r) {
  if (r->map == nullptr) return;
  munmap(r->map, r->map_len);
  r->map = nullptr;
}

void MaybeFree(Ring* r) {
  if (r->map != nullptr && r->closed && r->live == 0) Unmap(r);
  if (!r->external_gone || r->leases != 0) return;
  Unmap(r);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_rings.erase(r);
  }
  delete r;
}

bool GetRing(napi_env env, napi_value v, Ring** out) {
  void* p = nullptr;
  bool ok = v != nullptr && napi_get_value_external(env, v, &p) == napi_ok && p != nullptr;
  if (ok) {
    std::lock_guard<std::mutex> lock(g_mu);
    ok = g_rings.count(static_cast<Ring*>(p)) != 0 && static_cast<Ring*>(p)->env == env;
  }
  if (!ok) return Throw(env, arg::kType, "expected a capture ring");
  *out = static_cast<Ring*>(p);
  return true;
}

void FinalizeRing(napi_env, void* data, void*) {
  Ring* r = static_cast<Ring*>(data);
  r->external_gone = true;
  r->closed = true;
  MaybeFree(r);
}

#ifdef KSOCK_HAVE_TPACKET_V3

inline uint32_t LoadStatus(const uint8_t* block) {
  const auto* bd = reinterpret_cast<const tpacket_block_desc*>(block);
  return __atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
}

inline void GiveBack(Ring* r, uint32_t i) {
  if (r->map == nullptr) return;
  auto* bd = reinterpret_cast<tpacket_block_desc*>(r->map + static_cast<size_t>(i) * r->block_size);
  // Everything read from the block happens before the kernel may reuse it.
  __atomic_store_n(&bd->hdr.bh1.block_status, static_cast<uint32_t>(TP_STATUS_KERNEL), __ATOMIC_RELEASE);
}

// The lease's ArrayBuffer was collected (or detached and then collected).
void FinalizeLease(napi_env env, void* /*data*/, void* hint) {
  Lease* l = static_cast<Lease*>(hint);
  Ring* r = l->ring;
  if (l->ab != nullptr && !r->stopping) napi_delete_reference(env, l->ab);
  l->ab = nullptr;
  if (l->live) {
    // Collected while still out: nothing can read the block any more, so it
    // goes back to the kernel.
    l->live = false;
    r->live--;
    if (l->block < r->leased.size() && r->leased[l->block] == l) {
      r->leased[l->block] = nullptr;
      if (!r->closed) GiveBack(r, l->block);
    }
  }
  delete l;
  r->leases--;
  MaybeFree(r);
}

// Detaches the lease's ArrayBuffer (if JavaScript can still reach it) and
// forgets it; the block goes back to the kernel when `give_back`.
void EndLease(napi_env env, Ring* r, Lease* l, bool give_back) {
  if (!l->live) return;
  l->live = false;
  r->live--;
  if (l->ab != nullptr) {
    napi_value ab = nullptr;
    if (napi_get_reference_value(env, l->ab, &ab) == napi_ok && ab != nullptr) napi_detach_arraybuffer(env, ab);
  }
  if (r->leased[l->block] == l) r->leased[l->block] = nullptr;
  if (give_back) GiveBack(r, l->block);
}

inline uint32_t Rd32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Walks the frames of one block into `meta` (room for `cap` frames). Every
// offset is checked against the block size before anything at it is read.
uint32_t ParseBlock(const uint8_t* block, uint32_t size, uint32_t* meta, uint32_t cap, uint32_t* flags) {
  if (size < sizeof(tpacket_block_desc)) {
    *flags |= kFlagCorrupt;
    return 0;
  }
  tpacket_block_desc bd;
  std::memcpy(&bd, block, sizeof(bd));
  uint32_t n = bd.hdr.bh1.num_pkts;
  uint64_t off = bd.hdr.bh1.offset_to_first_pkt;
  constexpr uint64_t kHdr = sizeof(tpacket3_hdr);
  constexpr uint64_t kLl = TPACKET_ALIGN(sizeof(tpacket3_hdr));
  uint32_t count = 0;
  for (uint32_t i = 0; i < n && count < cap; i++) {
    if (off < sizeof(tpacket_block_desc) || off + kLl + sizeof(sockaddr_ll) > size) {
      *flags |= kFlagCorrupt;
      break;
    }
    tpacket3_hdr h;
    std::memcpy(&h, block + off, sizeof(h));
    sockaddr_ll ll;
    std::memcpy(&ll, block + off + kLl, sizeof(ll));
    uint64_t mac = off + h.tp_mac, net = off + h.tp_net;
    if (h.tp_mac < kHdr || mac + h.tp_snaplen > size || net > size) {
      *flags |= kFlagCorrupt;
      break;
    }
    uint32_t* m = meta + kMetaHeader + static_cast<size_t>(count) * kFrameFields;
    m[kMac] = static_cast<uint32_t>(mac);
    m[kSnaplen] = h.tp_snaplen;
    m[kLen] = h.tp_len;
    m[kSec] = h.tp_sec;
    m[kNsec] = h.tp_nsec;
    m[kStatus] = h.tp_status;
    m[kVlanTci] = h.hv1.tp_vlan_tci;
    m[kVlanTpid] = h.hv1.tp_vlan_tpid;
    m[kIfindex] = static_cast<uint32_t>(ll.sll_ifindex);
    m[kProtocol] = ntohs(ll.sll_protocol);
    m[kPkttype] = ll.sll_pkttype;
    m[kHatype] = ll.sll_hatype;
    m[kHalen] = ll.sll_halen > 8 ? 8 : ll.sll_halen;
    m[kAddr0] = Rd32(ll.sll_addr);
    m[kAddr1] = Rd32(ll.sll_addr + 4);
    m[kNet] = static_cast<uint32_t>(net);
    count++;
    if (i + 1 == n) break;
    // The next frame must lie strictly after this one (so the walk ends).
    if (h.tp_next_offset == 0) {
      *flags |= kFlagCorrupt;
      break;
    }
    off += h.tp_next_offset;
  }
  if (count < n && !(*flags & kFlagCorrupt)) *flags |= kFlagCorrupt;
  return count;
}

// ringOpen(handle, blockSize, blockCount, frameSize, timeoutMs) -> ring | -errno.
// Sets PACKET_VERSION TPACKET_V3 and PACKET_RX_RING, then maps the ring.
napi_value RingOpen(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  arg::Args(env, info, 5, argv);
  int fd = -1;
  double bs, bn, fs, to;
  if (!GetHandleFd(env, argv[0], &fd) || !arg::Integer(env, argv[1], "blockSize", 1, kMaxBlockSize, &bs) ||
      !arg::Integer(env, argv[2], "blockCount", 1, kMaxBlocks, &bn) ||
      !arg::Integer(env, argv[3], "frameSize", 1, kMaxBlockSize, &fs) ||
      !arg::Integer(env, argv[4], "timeout", 0, kMaxTimeoutMs, &to))
    return nullptr;
  uint64_t block_size = static_cast<uint64_t>(bs), block_nr = static_cast<uint64_t>(bn),
           frame_size = static_cast<uint64_t>(fs);
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) page = 4096;
  if (block_size % static_cast<uint64_t>(page) != 0 || (block_size & (block_size - 1)) != 0)
    return Throw(env, arg::kRange, "blockSize must be a power of two and a multiple of the page size (%ld)", page), nullptr;
  if (frame_size % TPACKET_ALIGNMENT != 0 || frame_size < TPACKET3_HDRLEN || frame_size > block_size)
    return Throw(env, arg::kRange, "frameSize must be a multiple of %d in [%d, blockSize]", TPACKET_ALIGNMENT,
                 static_cast<int>(TPACKET3_HDRLEN)), nullptr;
  if (block_size * block_nr > kMaxRingBytes)
    return Throw(env, arg::kRange, "the ring (blockSize * blockCount) must be at most 4 GiB"), nullptr;
  if (fd < 0) return arg::Number(env, -EBADF);

  int version = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0) return arg::Number(env, -errno);
  tpacket_req3 req{};
  req.tp_block_size = static_cast<unsigned>(block_size);
  req.tp_block_nr = static_cast<unsigned>(block_nr);
  req.tp_frame_size = static_cast<unsigned>(frame_size);
  req.tp_frame_nr = static_cast<unsigned>((block_size / frame_size) * block_nr);
  req.tp_retire_blk_tov = static_cast<unsigned>(to);
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) return arg::Number(env, -errno);
  size_t len = static_cast<size_t>(block_size * block_nr);
  void* map = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    long e = -errno;
    tpacket_req3 none{};  // take the ring down again: the socket stays usable
    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &none, sizeof(none));
    return arg::Number(env, e);
  }
  Ring* r = new Ring();
  r->env = env;
  r->map = static_cast<uint8_t*>(map);
  r->map_len = len;
  r->block_size = static_cast<uint32_t>(block_size);
  r->block_nr = static_cast<uint32_t>(block_nr);
  r->leased.assign(r->block_nr, nullptr);
  napi_value ext = nullptr;
  if (napi_create_external(env, r, FinalizeRing, nullptr, &ext) != napi_ok) {
    Unmap(r);
    delete r;
    arg::Fail(env, "cannot make a capture ring");
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  g_rings.insert(r);
  return ext;
}

// ringNext(ring) -> [block ArrayBuffer, frame table ArrayBuffer] | -EAGAIN
// (the next block is still the kernel's) | -EBUSY (it is still handed out)
// | -EBADF (closed).
napi_value RingNext(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  Ring* r = nullptr;
  if (!GetRing(env, argv[0], &r)) return nullptr;
  if (r->closed || r->map == nullptr || r->stopping) return arg::Number(env, -EBADF);
  uint32_t i = r->next;
  if (r->leased[i] != nullptr) return arg::Number(env, -EBUSY);
  uint8_t* block = r->map + static_cast<size_t>(i) * r->block_size;
  if (!(LoadStatus(block) & TP_STATUS_USER)) return arg::Number(env, -EAGAIN);

  // The frame table: at most one frame per header-sized slice of the block.
  tpacket_block_desc bd;
  std::memcpy(&bd, block, sizeof(bd));
  uint32_t cap = r->block_size / static_cast<uint32_t>(TPACKET_ALIGN(sizeof(tpacket3_hdr)));
  uint32_t n = bd.hdr.bh1.num_pkts < cap ? bd.hdr.bh1.num_pkts : cap;
  size_t meta_len = (kMetaHeader + static_cast<size_t>(n) * kFrameFields) * sizeof(uint32_t);
  void* meta_data = nullptr;
  napi_value meta = nullptr, data = nullptr, out = nullptr;
  if (napi_create_arraybuffer(env, meta_len, &meta_data, &meta) != napi_ok) return arg::Fail(env, "cannot allocate a frame table"), nullptr;
  auto* m = static_cast<uint32_t*>(meta_data);
  uint32_t flags = 0;
  uint32_t count = ParseBlock(block, r->block_size, m, n, &flags);
  if (count < bd.hdr.bh1.num_pkts) flags |= kFlagCorrupt;
  m[kMetaBlock] = i;
  m[kMetaCount] = count;
  m[kMetaSeq] = static_cast<uint32_t>(bd.hdr.bh1.seq_num);
  m[kMetaFlags] = flags;

  Lease* l = new Lease();
  l->ring = r;
  l->block = i;
  if (napi_create_external_arraybuffer(env, block, r->block_size, FinalizeLease, l, &data) != napi_ok) {
    delete l;
    return arg::Fail(env, "cannot hand out a ring block"), nullptr;
  }
  // From here on the finalizer accounts for the lease.
  r->leases++;
  r->live++;
  r->leased[i] = l;
  r->next = (i + 1) % r->block_nr;
  if (napi_create_reference(env, data, 0, &l->ab) != napi_ok || napi_create_array_with_length(env, 2, &out) != napi_ok ||
      napi_set_element(env, out, 0, data) != napi_ok || napi_set_element(env, out, 1, meta) != napi_ok) {
    EndLease(env, r, l, true);
    return arg::Fail(env, "cannot hand out a ring block"), nullptr;
  }
  return out;
}

// ringRelease(ring, block ArrayBuffer) -> 1 if it was out and is now the
// kernel's again, 0 if it was already released (or the ring closed).
napi_value RingRelease(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  Ring* r = nullptr;
  if (!GetRing(env, argv[0], &r)) return nullptr;
  bool is_ab = false;
  if (argv[1] == nullptr || napi_is_arraybuffer(env, argv[1], &is_ab) != napi_ok || !is_ab)
    return Throw(env, arg::kType, "expected a ring block's ArrayBuffer"), nullptr;
  if (r->closed || r->map == nullptr) return arg::Number(env, 0);
  void* p = nullptr;
  size_t len = 0;
  if (napi_get_arraybuffer_info(env, argv[1], &p, &len) != napi_ok || p == nullptr) return arg::Number(env, 0);
  auto* b = static_cast<uint8_t*>(p);
  if (b < r->map || b >= r->map + r->map_len || len != r->block_size ||
      static_cast<size_t>(b - r->map) % r->block_size != 0)
    return Throw(env, arg::kType, "not a block of this ring"), nullptr;
  uint32_t i = static_cast<uint32_t>(static_cast<size_t>(b - r->map) / r->block_size);
  Lease* l = r->leased[i];
  if (l == nullptr || l->ab == nullptr) return arg::Number(env, 0);
  napi_value mine = nullptr;
  bool same = false;
  if (napi_get_reference_value(env, l->ab, &mine) != napi_ok || mine == nullptr ||
      napi_strict_equals(env, mine, argv[1], &same) != napi_ok || !same)
    return Throw(env, arg::kType, "not a block of this ring"), nullptr;
  EndLease(env, r, l, true);
  return arg::Number(env, 1);
}

// ringParseBlock(bytes) -> frame table ArrayBuffer: the same walk as ringNext
// over any bytes laid out as a block (tests and fuzzing; nothing is mapped).
napi_value RingParseBlock(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  if (!arg::IsBytes(env, argv[0])) return Throw(env, arg::kType, "ringParseBlock: expected bytes"), nullptr;
  arg::Bytes in;
  if (!arg::Pin(env, argv[0], "bytes", &in)) return nullptr;
  if (in.len > kMaxBlockSize) return Throw(env, arg::kRange, "ringParseBlock: at most %llu bytes",
                                           static_cast<unsigned long long>(kMaxBlockSize)), nullptr;
  uint32_t size = static_cast<uint32_t>(in.len);
  uint32_t cap = size / static_cast<uint32_t>(TPACKET_ALIGN(sizeof(tpacket3_hdr)));
  size_t meta_len = (kMetaHeader + static_cast<size_t>(cap) * kFrameFields) * sizeof(uint32_t);
  void* meta_data = nullptr;
  napi_value meta = nullptr;
  if (napi_create_arraybuffer(env, meta_len, &meta_data, &meta) != napi_ok) return arg::Fail(env, "cannot allocate a frame table"), nullptr;
  // (Creating an ArrayBuffer runs no JavaScript and moves no backing store: the pin holds.)
  auto* m = static_cast<uint32_t*>(meta_data);
  uint32_t flags = 0;
  uint32_t count = size == 0 ? 0 : ParseBlock(in.data, size, m, cap, &flags);
  if (size == 0) flags |= kFlagCorrupt;
  m[kMetaBlock] = 0;
  m[kMetaCount] = count;
  m[kMetaSeq] = 0;
  m[kMetaFlags] = flags;
  return meta;
}

#endif  // KSOCK_HAVE_TPACKET_V3

// ringClose(ring) -> 0, or -EBADF if it was closed already. Detaches every
// block still out, then unmaps.
napi_value RingClose(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  Ring* r = nullptr;
  if (!GetRing(env, argv[0], &r)) return nullptr;
  if (r->closed) return arg::Number(env, -EBADF);
#ifdef KSOCK_HAVE_TPACKET_V3
  for (Lease* l : r->leased)
    if (l != nullptr) EndLease(env, r, l, false);
#endif
  r->closed = true;
  MaybeFree(r);
  return arg::Number(env, 0);
}

// ringMapped(ring) -> the mapping's length while it exists, else 0.
napi_value RingMapped(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  Ring* r = nullptr;
  if (!GetRing(env, argv[0], &r)) return nullptr;
  return arg::Number(env, r->map == nullptr ? 0 : static_cast<long>(r->map_len));
}

// ringHeld(ring) -> how many blocks are handed out and not yet released
// (released explicitly, at close, or by the collector).
napi_value RingHeld(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  Ring* r = nullptr;
  if (!GetRing(env, argv[0], &r)) return nullptr;
  return arg::Number(env, static_cast<long>(r->live));
}

#ifndef KSOCK_HAVE_TPACKET_V3
napi_value NoRing(napi_env env, napi_callback_info) { return arg::Number(env, -ENOSYS); }
#endif

// Environment teardown: no JavaScript runs any more, so nothing can read a
// block; every ring of this env is unmapped now.
void OnEnvCleanup(void* arg) {
  napi_env env = static_cast<napi_env>(arg);
  std::lock_guard<std::mutex> lock(g_mu);
  for (Ring* r : g_rings) {
    if (r->env != env) continue;
    r->stopping = true;
    r->closed = true;
    Unmap(r);
  }
  g_hooked.erase(env);
}

}  // namespace

void InitRing(napi_env env, napi_value exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
  };
#ifdef KSOCK_HAVE_TPACKET_V3
  const Fn fns[] = {{"ringOpen", RingOpen}, {"ringNext", RingNext}, {"ringRelease", RingRelease},
                    {"ringClose", RingClose}, {"ringMapped", RingMapped},
                    {"ringParseBlock", RingParseBlock}, {"ringHeld", RingHeld}};
  const bool supported = true;
#else
  const Fn fns[] = {{"ringOpen", NoRing}, {"ringNext", NoRing}, {"ringRelease", NoRing},
                    {"ringClose", RingClose}, {"ringMapped", RingMapped},
                    {"ringParseBlock", NoRing}, {"ringHeld", RingHeld}};
  const bool supported = false;
#endif
  for (const Fn& f : fns) {
    napi_value fn;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn) == napi_ok)
      napi_set_named_property(env, exports, f.name, fn);
  }
  // The layout of the frame table, and the limits, by name.
  napi_value layout;
  napi_create_object(env, &layout);
  long page = sysconf(_SC_PAGESIZE);
  const std::pair<const char*, double> names[] = {
      {"supported", supported ? 1 : 0},
      {"header", kMetaHeader},
      {"fields", kFrameFields},
      {"block", kMetaBlock},
      {"count", kMetaCount},
      {"seq", kMetaSeq},
      {"flags", kMetaFlags},
      {"flagCorrupt", kFlagCorrupt},
      {"mac", kMac},
      {"snaplen", kSnaplen},
      {"len", kLen},
      {"sec", kSec},
      {"nsec", kNsec},
      {"status", kStatus},
      {"vlanTci", kVlanTci},
      {"vlanTpid", kVlanTpid},
      {"ifindex", kIfindex},
      {"protocol", kProtocol},
      {"pkttype", kPkttype},
      {"hatype", kHatype},
      {"halen", kHalen},
      {"addr0", kAddr0},
      {"addr1", kAddr1},
      {"net", kNet},
      {"pageSize", static_cast<double>(page > 0 ? page : 4096)},
      {"maxBlockSize", static_cast<double>(kMaxBlockSize)},
      {"maxBlocks", static_cast<double>(kMaxBlocks)},
      {"maxRingBytes", static_cast<double>(kMaxRingBytes)},
      {"maxTimeout", kMaxTimeoutMs},
#ifdef KSOCK_HAVE_TPACKET_V3
      {"frameAlign", TPACKET_ALIGNMENT},
      {"hdrLen", static_cast<double>(TPACKET3_HDRLEN)},
      {"TP_STATUS_KERNEL", TP_STATUS_KERNEL},
      {"TP_STATUS_USER", TP_STATUS_USER},
      {"TP_STATUS_VLAN_VALID", TP_STATUS_VLAN_VALID},
#ifdef TP_STATUS_VLAN_TPID_VALID
      {"TP_STATUS_VLAN_TPID_VALID", TP_STATUS_VLAN_TPID_VALID},
#endif
#endif
  };
  for (const auto& n : names) {
    napi_value v;
    napi_create_double(env, n.second, &v);
    napi_set_named_property(env, layout, n.first, v);
  }
  napi_set_named_property(env, exports, "ringLayout", layout);
  bool hook = false;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    hook = g_hooked.insert(env).second;
  }
  if (hook) napi_add_env_cleanup_hook(env, OnEnvCleanup, env);
}

}  // namespace ksock
