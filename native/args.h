// Reading JavaScript arguments: the one validator style of native/.
//
// Rules every native entry point follows:
//  1. Read and validate every value first. Reading a property, an array
//     element or a holder may run JavaScript (getters, proxies), and that
//     JavaScript may detach, transfer or resize any ArrayBuffer.
//  2. Then pin: take pointers into ArrayBuffers (Pin) only after the last
//     step that can run JavaScript, and make the syscall. Nothing between the
//     pin and the syscall calls back into JavaScript.
//  3. A helper that fails returns false with a JavaScript exception pending;
//     the caller returns nullptr at once. An exception that JavaScript threw
//     (a getter) is propagated as it is, never replaced or followed by a
//     second throw.
//  4. Counts and lengths are bounded before anything is reserved; nothing
//     here aborts.
#ifndef KSOCK_ARGS_H
#define KSOCK_ARGS_H

#include <node_api.h>

#include <cstddef>
#include <cstdint>

namespace ksock {
namespace arg {

enum Kind { kType, kRange, kError };

// Throws a TypeError/RangeError/Error with a printf-style message, unless an
// exception is already pending (then that one stands). Always returns false.
bool Throw(napi_env env, Kind kind, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

// After a napi call that failed: keeps a pending exception, or throws a
// TypeError naming `what`. Always returns false.
bool Fail(napi_env env, const char* what);

inline bool Pending(napi_env env) {
  bool p = false;
  napi_is_exception_pending(env, &p);
  return p;
}

inline napi_valuetype TypeOf(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  if (v == nullptr || napi_typeof(env, v, &t) != napi_ok) return napi_undefined;
  return t;
}

inline bool IsNullish(napi_env env, napi_value v) {
  napi_valuetype t = TypeOf(env, v);
  return t == napi_undefined || t == napi_null;
}

// An object (or function): something that can carry properties.
inline bool IsObject(napi_env env, napi_value v) {
  napi_valuetype t = TypeOf(env, v);
  return t == napi_object || t == napi_function;
}

inline bool IsArray(napi_env env, napi_value v) {
  bool r = false;
  return v != nullptr && napi_is_array(env, v, &r) == napi_ok && r;
}

// Any ArrayBufferView (Buffer, Uint8Array, other typed arrays, DataView).
// Runs no JavaScript.
inline bool IsBytes(napi_env env, napi_value v) {
  // napi_is_buffer is true for every ArrayBufferView (Node's
  // Buffer::HasInstance): one call on the hot path.
  bool r = false;
  return v != nullptr && napi_is_buffer(env, v, &r) == napi_ok && r;
}

// An integer-valued number in [lo, hi]. No coercion: valueOf never runs.
bool Integer(napi_env env, napi_value v, const char* what, double lo, double hi, double* out);
bool Int32(napi_env env, napi_value v, const char* what, int32_t* out);
bool Size(napi_env env, napi_value v, const char* what, size_t max, size_t* out);

// obj[key]; may run JavaScript.
bool Get(napi_env env, napi_value obj, const char* key, napi_value* out);
// arr[i]; may run JavaScript.
bool Element(napi_env env, napi_value arr, uint32_t i, napi_value* out);
// A real Array (not a proxy) of at most `max` elements: the length, before
// anything is reserved for them. A longer array is a RangeError.
bool ArrayLength(napi_env env, napi_value v, const char* what, uint32_t max, uint32_t* out);

// An integer field of an object: undefined/null reads as `dflt`, a boolean as
// 1/0 (flags), anything else must be an integer in [lo, hi].
bool Field(napi_env env, napi_value obj, const char* key, double lo, double hi, double dflt, const char* what,
           double* out);

// A string, as UTF-8 into buf[cap] with a terminating NUL. Longer than cap-1
// bytes is a RangeError; an embedded NUL is a TypeError when `no_nul`.
bool Utf8(napi_env env, napi_value v, const char* what, char* buf, size_t cap, size_t* len, bool no_nul);

// The bytes of an ArrayBufferView. Runs no JavaScript: call it in the pin
// phase, after every read that could. A detached view pins as { nullptr, 0 }.
struct Bytes {
  uint8_t* data = nullptr;
  size_t len = 0;
};
bool Pin(napi_env env, napi_value v, const char* what, Bytes* out);

// Copies n bytes; n == 0 (where either pointer may be null) does nothing.
void CopyBytes(void* dst, const void* src, size_t n);

// The call's first `want` arguments into argv (missing ones undefined); the
// number actually passed in *argc when asked for.
void Args(napi_env env, napi_callback_info info, size_t want, napi_value* argv, size_t* argc = nullptr);

// A result number (an int32 where it fits).
napi_value Number(napi_env env, long v);

// obj[key] as an IPv4 (af AF_INET) or IPv6 address written as text, into
// `out` (an in_addr / in6_addr). *present says whether the field was there
// (undefined/null: absent, `out` untouched). A field that is there must be a
// valid address of that family: TypeError "<what> <key> must be an IPv4 address".
bool InetField(napi_env env, napi_value obj, const char* key, int af, void* out, const char* what, bool* present);

}  // namespace arg
}  // namespace ksock

#endif  // KSOCK_ARGS_H
