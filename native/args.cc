// Reading JavaScript arguments (see args.h).
#include "args.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace ksock {
namespace arg {

bool Throw(napi_env env, Kind kind, const char* fmt, ...) {
  if (Pending(env)) return false;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (kind == kType) napi_throw_type_error(env, nullptr, msg);
  else if (kind == kRange) napi_throw_range_error(env, nullptr, msg);
  else napi_throw_error(env, nullptr, msg);
  return false;
}

bool Fail(napi_env env, const char* what) { return Throw(env, kType, "%s", what); }

bool Integer(napi_env env, napi_value v, const char* what, double lo, double hi, double* out) {
  double d = 0;
  // napi_get_value_double refuses anything but a number (no valueOf).
  if (v == nullptr || napi_get_value_double(env, v, &d) != napi_ok) return Throw(env, kType, "%s must be a number", what);
  if (!(d >= lo && d <= hi) || std::trunc(d) != d) return Throw(env, kRange, "%s is out of range", what);
  *out = d;
  return true;
}

bool Int32(napi_env env, napi_value v, const char* what, int32_t* out) {
  double d = 0;
  if (!Integer(env, v, what, INT32_MIN, INT32_MAX, &d)) return false;
  *out = static_cast<int32_t>(d);
  return true;
}

bool Size(napi_env env, napi_value v, const char* what, size_t max, size_t* out) {
  double d = 0;
  if (!Integer(env, v, what, 0, static_cast<double>(max), &d)) return false;
  *out = static_cast<size_t>(d);
  return true;
}

bool Get(napi_env env, napi_value obj, const char* key, napi_value* out) {
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return Throw(env, kType, "cannot read %s", key);
  return true;
}

bool Element(napi_env env, napi_value arr, uint32_t i, napi_value* out) {
  if (napi_get_element(env, arr, i, out) != napi_ok) return Throw(env, kType, "cannot read element %u", i);
  return true;
}

bool ArrayLength(napi_env env, napi_value v, const char* what, uint32_t max, uint32_t* out) {
  if (!IsArray(env, v)) return Throw(env, kType, "%s must be an array", what);
  uint32_t n = 0;
  if (napi_get_array_length(env, v, &n) != napi_ok) return Fail(env, what);
  if (n > max) return Throw(env, kRange, "%s has %u elements; at most %u are allowed", what, n, max);
  *out = n;
  return true;
}

bool Field(napi_env env, napi_value obj, const char* key, double lo, double hi, double dflt, const char* what,
           double* out) {
  napi_value v;
  if (!Get(env, obj, key, &v)) return false;
  napi_valuetype t = TypeOf(env, v);
  if (t == napi_undefined || t == napi_null) {
    *out = dflt;
    return true;
  }
  if (t == napi_boolean) {
    bool b = false;
    napi_get_value_bool(env, v, &b);
    *out = b ? 1 : 0;
    return true;
  }
  double d = 0;
  if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok)
    return Throw(env, kType, "%s %s must be a number", what, key);
  if (!(d >= lo && d <= hi) || std::trunc(d) != d) return Throw(env, kRange, "%s %s is out of range", what, key);
  *out = d;
  return true;
}

bool Utf8(napi_env env, napi_value v, const char* what, char* buf, size_t cap, size_t* len, bool no_nul) {
  if (TypeOf(env, v) != napi_string) return Throw(env, kType, "%s must be a string", what);
  size_t need = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &need) != napi_ok) return Fail(env, what);
  if (need + 1 > cap) return Throw(env, kRange, "%s is too long (%zu bytes; at most %zu)", what, need, cap - 1);
  size_t got = 0;
  if (napi_get_value_string_utf8(env, v, buf, cap, &got) != napi_ok) return Fail(env, what);
  if (no_nul && memchr(buf, '\0', got) != nullptr) return Throw(env, kType, "%s must not contain NUL", what);
  *len = got;
  return true;
}

bool Pin(napi_env env, napi_value v, const char* what, Bytes* out) {
  // napi_get_buffer_info takes any ArrayBufferView (Buffer, typed arrays,
  // DataView) and gives its byte length; a detached one has no data.
  void* data = nullptr;
  size_t len = 0;
  if (!IsBytes(env, v) || napi_get_buffer_info(env, v, &data, &len) != napi_ok)
    return Throw(env, kType, "%s must be a Buffer, a TypedArray or a DataView", what);
  if (data == nullptr) len = 0;  // detached
  out->data = static_cast<uint8_t*>(data);
  out->len = len;
  return true;
}

void CopyBytes(void* dst, const void* src, size_t n) {
  if (n > 0 && dst != nullptr && src != nullptr) memcpy(dst, src, n);
}

void Args(napi_env env, napi_callback_info info, size_t want, napi_value* argv, size_t* argc) {
  size_t n = want;
  for (size_t i = 0; i < want; i++) argv[i] = nullptr;
  napi_get_cb_info(env, info, &n, argv, nullptr, nullptr);
  napi_value undef = nullptr;
  napi_get_undefined(env, &undef);
  for (size_t i = n; i < want; i++) argv[i] = undef;
  if (argc != nullptr) *argc = n;
}

napi_value Number(napi_env env, long v) {
  napi_value r = nullptr;
  if (v >= INT32_MIN && v <= INT32_MAX) napi_create_int32(env, static_cast<int32_t>(v), &r);
  else napi_create_double(env, static_cast<double>(v), &r);
  return r;
}

bool InetField(napi_env env, napi_value obj, const char* key, int af, void* out, const char* what, bool* present) {
  napi_value v;
  if (!Get(env, obj, key, &v)) return false;
  *present = !IsNullish(env, v);
  if (!*present) return true;
  char text[64];
  size_t need = 0;
  if (TypeOf(env, v) == napi_string && napi_get_value_string_utf8(env, v, nullptr, 0, &need) == napi_ok &&
      need < sizeof(text) && napi_get_value_string_utf8(env, v, text, sizeof(text), &need) == napi_ok &&
      inet_pton(af, text, out) == 1)
    return true;
  return Throw(env, kType, "%s %s must be an %s address", what, key, af == AF_INET ? "IPv4" : "IPv6");
}

}  // namespace arg
}  // namespace ksock
