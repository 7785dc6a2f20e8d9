// The N-API side of the BSD layout tables (bsdcred_codec.h): decoded
// credentials and times as JS fields, and the `layouts` entry point.
#ifndef KSOCK_BSDLAYOUTS_H
#define KSOCK_BSDLAYOUTS_H

#include <node_api.h>

#include "bsdcred_codec.h"

namespace ksock {

// Sets the fields of `c` that its layout has (version pid uid euid gid egid
// groups) and `layout` (the table's name) on o. False with an exception pending.
bool SetCred(napi_env env, napi_value o, const bsd::Cred& c, const char* layout);
// Sets { sec, nsec } and, for bintime, `frac` (a BigInt) on o.
bool SetTime(napi_env env, napi_value o, const bsd::Time& t, bool bintime);

// exports.layouts: the tables by name, this platform's choice of them, and
// decodeCred/decodeTime over a Buffer with a named table.
void InitLayouts(napi_env env, napi_value exports);

}  // namespace ksock

#endif  // KSOCK_BSDLAYOUTS_H
