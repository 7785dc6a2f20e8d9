// Ownership of received descriptors (see held.h).
#include "held.h"

#include <unistd.h>

#include <cstring>

namespace ksock {

bool OwnReceivedFds(napi_env env, napi_value item, const int* fds, size_t n) {
  napi_value arr;
  bool ok = napi_create_array_with_length(env, n, &arr) == napi_ok;
  for (size_t i = 0; ok && i < n; i++) {
    napi_value v;
    ok = napi_create_int32(env, fds[i], &v) == napi_ok && napi_set_element(env, arr, static_cast<uint32_t>(i), v) == napi_ok;
  }
  ok = ok && napi_set_named_property(env, item, "fds", arr) == napi_ok;
  if (!ok)
    for (size_t i = 0; i < n; i++) close(fds[i]);
  return ok;
}

}  // namespace ksock
