// BSD credential and time layouts, core: pure parsers over bytes, no N-API,
// compiled on every platform (fuzz- and unit-testable on Linux).
//
// Each struct is described by a layout table (offset and width of every
// field as that system lays it out on its 64-bit ports, amd64/arm64,
// host-endian). The real decoder (cmsg_codec.cc, optstruct_codec.cc) parses
// a received item with the table of the running platform, chosen by feature
// tests; where the platform declares the struct, bsdcred_codec.cc checks the
// table against the headers' own offsetof/sizeof at compile time, so the
// portability check (FreeBSD, NetBSD, OpenBSD, macOS headers) verifies every
// table below. Tests drive the same parser with every table
// (native.layouts, test/bsd-layouts.test.ts).
//
// Sources of the tables (the header text, read, not copied):
//   FreeBSD 14  sys/sys/socket.h   struct cmsgcred, sockcred, sockcred2
//               sys/sys/ucred.h    struct xucred (cr_pid in a union with a
//                                  pointer since 13.0: offset 80, size 88)
//               sys/sys/_timespec.h, sys/sys/time.h  struct bintime
//   NetBSD 10   sys/sys/socket.h   struct sockcred (sc_pid first)
//               sys/sys/un.h       struct unpcbid (LOCAL_PEEREID)
//   OpenBSD 7   sys/sys/socket.h   struct sockpeercred (SO_PEERCRED)
//   macOS 13    bsd/sys/ucred.h    struct xucred (no pid: LOCAL_PEERPID)
#ifndef KSOCK_BSDCRED_CODEC_H
#define KSOCK_BSDCRED_CODEC_H

#include <cstddef>
#include <cstdint>

namespace ksock {
namespace bsd {

// One integer field: offset, width in bytes (0: the struct has no such
// field), signedness.
struct Int {
  uint16_t off;
  uint8_t width;
  bool sign;
};

// A credential struct. Fields are named by what they mean (uid is the real
// uid where the struct has both, the effective one where it has one only).
struct CredLayout {
  const char* name;
  uint16_t min;  // bytes without which the item is not decoded (stays raw)
  Int version, pid, uid, euid, gid, egid, ngroups;
  uint16_t groups;      // offset of the gid_t array (0: none)
  uint16_t capacity;    // array length when fixed (cmsgcred, xucred); 0: variable, counted by ngroups
  bool gid_is_group0;   // xucred: the effective gid is cr_groups[0]
};

constexpr size_t kMaxGroups = 16;  // CMGROUP_MAX, XU_NGROUPS, NGROUPS (NetBSD, macOS)

enum CredField : uint32_t {
  kVersion = 1,
  kPid = 2,
  kUid = 4,
  kEuid = 8,
  kGid = 16,
  kEgid = 32,
  kGroups = 64,
};

struct Cred {
  uint32_t has = 0;  // CredField bits
  double version = 0, pid = 0, uid = 0, euid = 0, gid = 0, egid = 0;
  size_t ngroups = 0;  // groups decoded: min(count field, capacity, what the length holds, kMaxGroups)
  double groups[kMaxGroups] = {};
};

// Decodes p[0, len) by layout l. False when len < l.min (nothing is read
// past len: a field beyond it is left out, groups stop at the last whole one).
bool ParseCred(const CredLayout& l, const uint8_t* p, size_t len, Cred* out);

// Time structs (LP64: both members 8 bytes).
enum class TimeUnit { kNsec, kUsec, kFrac };  // timespec, timeval, bintime (2**-64 s)
struct TimeLayout {
  const char* name;
  Int sec, sub;
  TimeUnit unit;
};
struct Time {
  double sec = 0;
  double nsec = 0;        // the sub-second part in nanoseconds, whatever the unit
  uint64_t frac = 0;      // bintime: the raw fraction
  double sub = 0;         // the raw sub-second field (usec for timeval)
};
// False when len is shorter than the struct.
bool ParseTime(const TimeLayout& l, const uint8_t* p, size_t len, Time* out);

// bintime's fraction in nanoseconds, as the kernel's bintime2timespec
// rounds it: (1e9 * (frac >> 32)) >> 32.
uint64_t FracToNsec(uint64_t frac);

// ---- the tables -------------------------------------------------------

// FreeBSD SCM_CREDS received after the sender sent SCM_CREDS: struct cmsgcred.
constexpr CredLayout kFreeBSDCmsgcred = {
    "freebsd.cmsgcred", 20, {0, 0, false}, {0, 4, true}, {4, 4, false}, {8, 4, false}, {12, 4, false}, {0, 0, false},
    {16, 2, true}, 20, 16, false};
// FreeBSD SCM_CREDS received with LOCAL_CREDS set: struct sockcred.
constexpr CredLayout kFreeBSDSockcred = {
    "freebsd.sockcred", 20, {0, 0, false}, {0, 0, false}, {0, 4, false}, {4, 4, false}, {8, 4, false}, {12, 4, false},
    {16, 4, true}, 20, 0, false};
// FreeBSD SCM_CREDS2 (LOCAL_CREDS_PERSISTENT): struct sockcred2.
constexpr CredLayout kFreeBSDSockcred2 = {
    "freebsd.sockcred2", 28, {0, 4, true}, {4, 4, true}, {8, 4, false}, {12, 4, false}, {16, 4, false}, {20, 4, false},
    {24, 4, true}, 28, 0, false};
// FreeBSD LOCAL_PEERCRED: struct xucred; cr_pid (13.0+) at 80.
constexpr CredLayout kFreeBSDXucred = {
    "freebsd.xucred", 12, {0, 4, false}, {80, 4, true}, {4, 4, false}, {0, 0, false}, {0, 0, false}, {0, 0, false},
    {8, 2, true}, 12, 16, true};
// macOS LOCAL_PEERCRED: struct xucred, no pid.
constexpr CredLayout kMacosXucred = {
    "macos.xucred", 12, {0, 4, false}, {0, 0, false}, {4, 4, false}, {0, 0, false}, {0, 0, false}, {0, 0, false},
    {8, 2, true}, 12, 16, true};
// NetBSD SCM_CREDS (LOCAL_CREDS): struct sockcred, sc_pid first.
constexpr CredLayout kNetBSDSockcred = {
    "netbsd.sockcred", 24, {0, 0, false}, {0, 4, true}, {4, 4, false}, {8, 4, false}, {12, 4, false}, {16, 4, false},
    {20, 4, true}, 24, 0, false};
// NetBSD LOCAL_PEEREID: struct unpcbid (effective ids only: uid/gid here).
constexpr CredLayout kNetBSDUnpcbid = {
    "netbsd.unpcbid", 12, {0, 0, false}, {0, 4, true}, {4, 4, false}, {0, 0, false}, {8, 4, false}, {0, 0, false},
    {0, 0, false}, 0, 0, false};
// OpenBSD SO_PEERCRED: struct sockpeercred { uid, gid, pid }.
constexpr CredLayout kOpenBSDSockpeercred = {
    "openbsd.sockpeercred", 12, {0, 0, false}, {8, 4, true}, {0, 4, false}, {0, 0, false}, {4, 4, false},
    {0, 0, false}, {0, 0, false}, 0, 0, false};

// struct timespec / timeval / bintime on LP64 (every 64-bit BSD and macOS;
// FreeBSD's bintime is { time_t sec; uint64_t frac; }).
constexpr TimeLayout kTimespec64 = {"timespec64", {0, 8, true}, {8, 8, true}, TimeUnit::kNsec};
constexpr TimeLayout kTimeval64 = {"timeval64", {0, 8, true}, {8, 8, true}, TimeUnit::kUsec};
constexpr TimeLayout kBintime64 = {"bintime64", {0, 8, true}, {8, 8, false}, TimeUnit::kFrac};

// Every table, for the test entry point.
extern const CredLayout* const kCredLayouts[];
extern const size_t kCredLayoutCount;
extern const TimeLayout* const kTimeLayouts[];
extern const size_t kTimeLayoutCount;

// The tables of this platform, where it has the struct (nullptr where not):
// the same objects as above, chosen by feature tests and checked against
// the headers in bsdcred_codec.cc.
const CredLayout* NativeCmsgcred();   // SCM_CREDS from a sender's SCM_CREDS
const CredLayout* NativeSockcred();   // SCM_CREDS with LOCAL_CREDS
const CredLayout* NativeSockcred2();  // SCM_CREDS2
const CredLayout* NativeXucred();     // LOCAL_PEERCRED
const CredLayout* NativeUnpcbid();    // LOCAL_PEEREID
const TimeLayout* NativeBintime();    // SCM_BINTIME
const TimeLayout* NativeTimespec();   // SCM_REALTIME, SCM_MONOTONIC

}  // namespace bsd
}  // namespace ksock

#endif  // KSOCK_BSDCRED_CODEC_H
