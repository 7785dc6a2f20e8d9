// BSD layout tables for JavaScript (see bsdlayouts.h).
//
// exports.layouts = {
//   cred: { 'freebsd.sockcred2': { min, version: {off, width, signed}, pid, …, groups, capacity }, … },
//   time: { timespec64: { sec, sub, unit }, … },
//   native: { cmsgcred, sockcred, sockcred2, xucred, unpcbid, bintime, timespec }  (table names or null),
//   decodeCred(name, bytes) -> { layout, pid?, uid?, … groups? } | null (shorter than the table's min),
//   decodeTime(name, bytes) -> { sec, nsec, frac? } | null,
// }
// The decoders are the ones the control-item and option decoders use; lib/
// uses decodeCred for the one case only the receiver can resolve (FreeBSD's
// SCM_CREDS after LOCAL_CREDS), the tests for every table.
#include "bsdlayouts.h"

#include <cstring>

#include "args.h"

namespace ksock {

namespace {

bool SetNum(napi_env env, napi_value o, const char* key, double v) {
  napi_value x;
  return napi_create_double(env, v, &x) == napi_ok && napi_set_named_property(env, o, key, x) == napi_ok;
}

bool SetStr(napi_env env, napi_value o, const char* key, const char* s) {
  napi_value x;
  if (s == nullptr) return napi_get_null(env, &x) == napi_ok && napi_set_named_property(env, o, key, x) == napi_ok;
  return napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &x) == napi_ok &&
         napi_set_named_property(env, o, key, x) == napi_ok;
}

bool SetInt(napi_env env, napi_value o, const char* key, const bsd::Int& f) {
  if (f.width == 0) return true;  // the struct has no such field
  napi_value x, b;
  return napi_create_object(env, &x) == napi_ok && SetNum(env, x, "off", f.off) && SetNum(env, x, "width", f.width) &&
         napi_get_boolean(env, f.sign, &b) == napi_ok && napi_set_named_property(env, x, "signed", b) == napi_ok &&
         napi_set_named_property(env, o, key, x) == napi_ok;
}

bool DescribeCred(napi_env env, const bsd::CredLayout& l, napi_value* out) {
  napi_value o;
  if (napi_create_object(env, &o) != napi_ok) return false;
  bool ok = SetNum(env, o, "min", l.min) && SetInt(env, o, "version", l.version) && SetInt(env, o, "pid", l.pid) &&
            SetInt(env, o, "uid", l.uid) && SetInt(env, o, "euid", l.euid) && SetInt(env, o, "gid", l.gid) &&
            SetInt(env, o, "egid", l.egid) && SetInt(env, o, "ngroups", l.ngroups);
  if (ok && l.groups != 0) ok = SetNum(env, o, "groups", l.groups) && SetNum(env, o, "capacity", l.capacity);
  *out = o;
  return ok;
}

bool DescribeTime(napi_env env, const bsd::TimeLayout& l, napi_value* out) {
  napi_value o;
  if (napi_create_object(env, &o) != napi_ok) return false;
  const char* unit = l.unit == bsd::TimeUnit::kNsec ? "nsec" : l.unit == bsd::TimeUnit::kUsec ? "usec" : "frac";
  *out = o;
  return SetInt(env, o, "sec", l.sec) && SetInt(env, o, "sub", l.sub) && SetStr(env, o, "unit", unit);
}

// The table named by argument 0, read as a string of at most 31 bytes.
bool Name(napi_env env, napi_value v, char* buf, size_t cap) {
  size_t len = 0;
  return arg::Utf8(env, v, "layout name", buf, cap, &len, true);
}

napi_value DecodeCred(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  char name[32];
  if (!Name(env, argv[0], name, sizeof(name))) return nullptr;
  const bsd::CredLayout* l = nullptr;
  for (size_t i = 0; i < bsd::kCredLayoutCount; i++)
    if (strcmp(bsd::kCredLayouts[i]->name, name) == 0) l = bsd::kCredLayouts[i];
  if (l == nullptr) {
    arg::Throw(env, arg::kRange, "no credential layout named '%s'", name);
    return nullptr;
  }
  if (!arg::IsBytes(env, argv[1])) {
    arg::Throw(env, arg::kType, "decodeCred: bytes must be a Buffer");
    return nullptr;
  }
  arg::Bytes b;
  if (!arg::Pin(env, argv[1], "bytes", &b)) return nullptr;
  bsd::Cred c;
  napi_value o;
  if (!bsd::ParseCred(*l, b.data, b.len, &c)) {
    napi_get_null(env, &o);
    return o;
  }
  if (napi_create_object(env, &o) != napi_ok || !SetCred(env, o, c, l->name)) return nullptr;
  return o;
}

napi_value DecodeTime(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  char name[32];
  if (!Name(env, argv[0], name, sizeof(name))) return nullptr;
  const bsd::TimeLayout* l = nullptr;
  for (size_t i = 0; i < bsd::kTimeLayoutCount; i++)
    if (strcmp(bsd::kTimeLayouts[i]->name, name) == 0) l = bsd::kTimeLayouts[i];
  if (l == nullptr) {
    arg::Throw(env, arg::kRange, "no time layout named '%s'", name);
    return nullptr;
  }
  if (!arg::IsBytes(env, argv[1])) {
    arg::Throw(env, arg::kType, "decodeTime: bytes must be a Buffer");
    return nullptr;
  }
  arg::Bytes b;
  if (!arg::Pin(env, argv[1], "bytes", &b)) return nullptr;
  bsd::Time t;
  napi_value o;
  if (!bsd::ParseTime(*l, b.data, b.len, &t)) {
    napi_get_null(env, &o);
    return o;
  }
  if (napi_create_object(env, &o) != napi_ok || !SetTime(env, o, t, l->unit == bsd::TimeUnit::kFrac)) return nullptr;
  return o;
}

}  // namespace

bool SetCred(napi_env env, napi_value o, const bsd::Cred& c, const char* layout) {
  using namespace bsd;
  const struct {
    CredField bit;
    const char* key;
    double v;
  } fields[] = {{kVersion, "version", c.version}, {kPid, "pid", c.pid}, {kUid, "uid", c.uid},
                {kEuid, "euid", c.euid},          {kGid, "gid", c.gid}, {kEgid, "egid", c.egid}};
  for (const auto& f : fields)
    if ((c.has & f.bit) && !SetNum(env, o, f.key, f.v)) return false;
  if (c.has & kGroups) {
    napi_value g;
    if (napi_create_array_with_length(env, c.ngroups, &g) != napi_ok) return false;
    for (size_t i = 0; i < c.ngroups && i < kMaxGroups; i++) {
      napi_value x;
      if (napi_create_double(env, c.groups[i], &x) != napi_ok || napi_set_element(env, g, static_cast<uint32_t>(i), x) != napi_ok)
        return false;
    }
    if (napi_set_named_property(env, o, "groups", g) != napi_ok) return false;
  }
  return layout == nullptr || SetStr(env, o, "layout", layout);
}

bool SetTime(napi_env env, napi_value o, const bsd::Time& t, bool bintime) {
  if (!SetNum(env, o, "sec", t.sec) || !SetNum(env, o, "nsec", t.nsec)) return false;
  if (!bintime) return true;
  napi_value f;
  return napi_create_bigint_uint64(env, t.frac, &f) == napi_ok && napi_set_named_property(env, o, "frac", f) == napi_ok;
}

void InitLayouts(napi_env env, napi_value exports) {
  napi_value root, cred, time, nat;
  if (napi_create_object(env, &root) != napi_ok || napi_create_object(env, &cred) != napi_ok ||
      napi_create_object(env, &time) != napi_ok || napi_create_object(env, &nat) != napi_ok)
    return;
  for (size_t i = 0; i < bsd::kCredLayoutCount; i++) {
    napi_value d;
    if (DescribeCred(env, *bsd::kCredLayouts[i], &d)) napi_set_named_property(env, cred, bsd::kCredLayouts[i]->name, d);
  }
  for (size_t i = 0; i < bsd::kTimeLayoutCount; i++) {
    napi_value d;
    if (DescribeTime(env, *bsd::kTimeLayouts[i], &d)) napi_set_named_property(env, time, bsd::kTimeLayouts[i]->name, d);
  }
  const struct {
    const char* key;
    const bsd::CredLayout* l;
  } creds[] = {{"cmsgcred", bsd::NativeCmsgcred()}, {"sockcred", bsd::NativeSockcred()},
               {"sockcred2", bsd::NativeSockcred2()}, {"xucred", bsd::NativeXucred()},
               {"unpcbid", bsd::NativeUnpcbid()}};
  for (const auto& c : creds) SetStr(env, nat, c.key, c.l != nullptr ? c.l->name : nullptr);
  const bsd::TimeLayout* bt = bsd::NativeBintime();
  const bsd::TimeLayout* ts = bsd::NativeTimespec();
  SetStr(env, nat, "bintime", bt != nullptr ? bt->name : nullptr);
  SetStr(env, nat, "timespec", ts != nullptr ? ts->name : nullptr);
  napi_set_named_property(env, root, "cred", cred);
  napi_set_named_property(env, root, "time", time);
  napi_set_named_property(env, root, "native", nat);
  const struct {
    const char* name;
    napi_callback cb;
  } fns[] = {{"decodeCred", DecodeCred}, {"decodeTime", DecodeTime}};
  for (const auto& f : fns) {
    napi_value fn;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn) == napi_ok)
      napi_set_named_property(env, root, f.name, fn);
  }
  napi_object_freeze(env, cred);
  napi_object_freeze(env, time);
  napi_object_freeze(env, nat);
  napi_object_freeze(env, root);
  napi_set_named_property(env, exports, "layouts", root);
}

}  // namespace ksock
