// BSD credential and time layouts, core (see bsdcred_codec.h). No N-API here.
#include "bsdcred_codec.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <cstring>
#include <ctime>
#include <type_traits>

#if __has_include(<sys/ucred.h>)
#include <sys/ucred.h>
#endif
#if __has_include(<sys/un.h>)
#include <sys/un.h>
#endif

namespace ksock {
namespace bsd {

namespace {

// Reads field f of p[0, len) into *v; false when the struct has no such
// field or it lies (partly) past len.
bool Get(const uint8_t* p, size_t len, const Int& f, double* v) {
  if (f.width == 0 || static_cast<size_t>(f.off) + f.width > len) return false;
  const uint8_t* q = p + f.off;
  switch (f.width) {
    case 1:
      *v = f.sign ? static_cast<double>(static_cast<int8_t>(q[0])) : q[0];
      return true;
    case 2: {
      uint16_t u;
      memcpy(&u, q, 2);
      *v = f.sign ? static_cast<double>(static_cast<int16_t>(u)) : u;
      return true;
    }
    case 4: {
      uint32_t u;
      memcpy(&u, q, 4);
      *v = f.sign ? static_cast<double>(static_cast<int32_t>(u)) : u;
      return true;
    }
    case 8: {
      uint64_t u;
      memcpy(&u, q, 8);
      *v = f.sign ? static_cast<double>(static_cast<int64_t>(u)) : static_cast<double>(u);
      return true;
    }
    default:
      return false;
  }
}

uint64_t GetU64(const uint8_t* p, size_t len, const Int& f) {
  uint64_t u = 0;
  if (f.width == 8 && static_cast<size_t>(f.off) + 8 <= len) memcpy(&u, p + f.off, 8);
  return u;
}

}  // namespace

bool ParseCred(const CredLayout& l, const uint8_t* p, size_t len, Cred* o) {
  *o = Cred();
  if (p == nullptr || len < l.min) return false;
  struct One {
    const Int* field;
    CredField bit;
    double* out;
  };
  const One fields[] = {
      {&l.version, kVersion, &o->version}, {&l.pid, kPid, &o->pid}, {&l.uid, kUid, &o->uid},
      {&l.euid, kEuid, &o->euid},          {&l.gid, kGid, &o->gid}, {&l.egid, kEgid, &o->egid},
  };
  for (const One& f : fields)
    if (Get(p, len, *f.field, f.out)) o->has |= f.bit;
  double count = 0;
  if (l.groups != 0 && Get(p, len, l.ngroups, &count)) {
    size_t n = count < 0 ? 0 : static_cast<size_t>(count);
    if (l.capacity != 0 && n > l.capacity) n = l.capacity;
    size_t room = len > l.groups ? (len - l.groups) / 4 : 0;  // whole gid_t only
    if (n > room) n = room;
    if (n > kMaxGroups) n = kMaxGroups;
    for (size_t i = 0; i < n; i++) {
      uint32_t g;
      memcpy(&g, p + l.groups + 4 * i, 4);
      o->groups[i] = g;
    }
    o->ngroups = n;
    o->has |= kGroups;
    if (l.gid_is_group0 && n > 0) {
      o->gid = o->groups[0];
      o->has |= kGid;
    }
  }
  return true;
}

uint64_t FracToNsec(uint64_t frac) { return (UINT64_C(1000000000) * (frac >> 32)) >> 32; }

bool ParseTime(const TimeLayout& l, const uint8_t* p, size_t len, Time* o) {
  *o = Time();
  if (p == nullptr) return false;
  if (!Get(p, len, l.sec, &o->sec) || !Get(p, len, l.sub, &o->sub)) return false;
  switch (l.unit) {
    case TimeUnit::kNsec:
      o->nsec = o->sub;
      break;
    case TimeUnit::kUsec:
      o->nsec = o->sub * 1000;
      break;
    case TimeUnit::kFrac:
      o->frac = GetU64(p, len, l.sub);
      o->nsec = static_cast<double>(FracToNsec(o->frac));
      break;
  }
  return true;
}

const CredLayout* const kCredLayouts[] = {
    &kFreeBSDCmsgcred, &kFreeBSDSockcred, &kFreeBSDSockcred2,   &kFreeBSDXucred,
    &kMacosXucred,     &kNetBSDSockcred,  &kNetBSDUnpcbid,      &kOpenBSDSockpeercred,
};
const size_t kCredLayoutCount = sizeof(kCredLayouts) / sizeof(kCredLayouts[0]);
const TimeLayout* const kTimeLayouts[] = {&kTimespec64, &kTimeval64, &kBintime64};
const size_t kTimeLayoutCount = sizeof(kTimeLayouts) / sizeof(kTimeLayouts[0]);

// ---- the platform's tables, checked against its headers -----------------
//
// KSOCK_FIELD(T, member, layout.field): the table says where the headers put
// the member, and how wide it is.
#define KSOCK_FIELD(T, m, f) \
  (offsetof(T, m) == (f).off && sizeof(static_cast<T*>(nullptr)->m) == (f).width)

namespace {
// Member tests (feature tests on a struct: which sockcred, which xucred).
template <class T, class = void>
struct HasScPid : std::false_type {};
template <class T>
struct HasScPid<T, decltype(void(&T::sc_pid))> : std::true_type {};
template <class T, class = void>
struct HasCrPid : std::false_type {};
template <class T>
struct HasCrPid<T, decltype(void(static_cast<T*>(nullptr)->cr_pid))> : std::true_type {};

template <class T>
constexpr bool SockcredIs(const CredLayout& l) {
  bool ok = KSOCK_FIELD(T, sc_uid, l.uid) && KSOCK_FIELD(T, sc_euid, l.euid) && KSOCK_FIELD(T, sc_gid, l.gid) &&
            KSOCK_FIELD(T, sc_egid, l.egid) && KSOCK_FIELD(T, sc_ngroups, l.ngroups) &&
            offsetof(T, sc_groups) == l.groups;
  if constexpr (HasScPid<T>::value) ok = ok && KSOCK_FIELD(T, sc_pid, l.pid);
  else ok = ok && l.pid.width == 0;
  return ok;
}

template <class T>
constexpr bool XucredIs(const CredLayout& l) {
  bool ok = KSOCK_FIELD(T, cr_version, l.version) && KSOCK_FIELD(T, cr_uid, l.uid) &&
            KSOCK_FIELD(T, cr_ngroups, l.ngroups) && offsetof(T, cr_groups) == l.groups &&
            sizeof(static_cast<T*>(nullptr)->cr_groups) / 4 == l.capacity;
  if constexpr (HasCrPid<T>::value) ok = ok && KSOCK_FIELD(T, cr_pid, l.pid);
  else ok = ok && l.pid.width == 0;
  return ok;
}
}  // namespace

const CredLayout* NativeCmsgcred() {
#if defined(SCM_CREDS) && defined(CMGROUP_MAX)
  static_assert(KSOCK_FIELD(cmsgcred, cmcred_pid, kFreeBSDCmsgcred.pid) &&
                    KSOCK_FIELD(cmsgcred, cmcred_uid, kFreeBSDCmsgcred.uid) &&
                    KSOCK_FIELD(cmsgcred, cmcred_euid, kFreeBSDCmsgcred.euid) &&
                    KSOCK_FIELD(cmsgcred, cmcred_gid, kFreeBSDCmsgcred.gid) &&
                    KSOCK_FIELD(cmsgcred, cmcred_ngroups, kFreeBSDCmsgcred.ngroups) &&
                    offsetof(cmsgcred, cmcred_groups) == kFreeBSDCmsgcred.groups && CMGROUP_MAX == 16,
                "struct cmsgcred differs from the freebsd.cmsgcred table");
  return &kFreeBSDCmsgcred;
#else
  return nullptr;
#endif
}

const CredLayout* NativeSockcred() {
#if defined(SCM_CREDS) && defined(SOCKCREDSIZE)
  constexpr bool netbsd_like = HasScPid<sockcred>::value;
  static_assert(SockcredIs<sockcred>(netbsd_like ? kNetBSDSockcred : kFreeBSDSockcred),
                "struct sockcred differs from the netbsd.sockcred / freebsd.sockcred table");
  return netbsd_like ? &kNetBSDSockcred : &kFreeBSDSockcred;
#else
  return nullptr;
#endif
}

const CredLayout* NativeSockcred2() {
#if defined(SCM_CREDS2) && defined(SOCKCRED2SIZE)
  constexpr const CredLayout& l = kFreeBSDSockcred2;
  static_assert(KSOCK_FIELD(sockcred2, sc_version, l.version) && KSOCK_FIELD(sockcred2, sc_pid, l.pid) &&
                    KSOCK_FIELD(sockcred2, sc_uid, l.uid) && KSOCK_FIELD(sockcred2, sc_euid, l.euid) &&
                    KSOCK_FIELD(sockcred2, sc_gid, l.gid) && KSOCK_FIELD(sockcred2, sc_egid, l.egid) &&
                    KSOCK_FIELD(sockcred2, sc_ngroups, l.ngroups) && offsetof(sockcred2, sc_groups) == l.groups,
                "struct sockcred2 differs from the freebsd.sockcred2 table");
  return &l;
#else
  return nullptr;
#endif
}

const CredLayout* NativeXucred() {
#if defined(LOCAL_PEERCRED) && defined(XUCRED_VERSION)
  constexpr bool with_pid = HasCrPid<xucred>::value;
  static_assert(XucredIs<xucred>(with_pid ? kFreeBSDXucred : kMacosXucred),
                "struct xucred differs from the freebsd.xucred / macos.xucred table");
  return with_pid ? &kFreeBSDXucred : &kMacosXucred;
#else
  return nullptr;
#endif
}

const CredLayout* NativeUnpcbid() {
#if defined(LOCAL_PEEREID)
  constexpr const CredLayout& l = kNetBSDUnpcbid;
  static_assert(KSOCK_FIELD(unpcbid, unp_pid, l.pid) && KSOCK_FIELD(unpcbid, unp_euid, l.uid) &&
                    KSOCK_FIELD(unpcbid, unp_egid, l.gid) && sizeof(unpcbid) == l.min,
                "struct unpcbid differs from the netbsd.unpcbid table");
  return &l;
#else
  return nullptr;
#endif
}

const TimeLayout* NativeBintime() {
#if defined(SCM_BINTIME)
  static_assert(KSOCK_FIELD(bintime, sec, kBintime64.sec) && KSOCK_FIELD(bintime, frac, kBintime64.sub),
                "struct bintime differs from the bintime64 table");
  return &kBintime64;
#else
  return nullptr;
#endif
}

const TimeLayout* NativeTimespec() {
  // Every platform: used for SCM_REALTIME/SCM_MONOTONIC where they exist.
  if (KSOCK_FIELD(timespec, tv_sec, kTimespec64.sec) && KSOCK_FIELD(timespec, tv_nsec, kTimespec64.sub))
    return &kTimespec64;
  return nullptr;  // a 32-bit time_t or long: not described here
}

#undef KSOCK_FIELD

}  // namespace bsd
}  // namespace ksock
