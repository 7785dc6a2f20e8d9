// Addon entry point: per-environment state and teardown.
//
// Context-aware (NODE_API_MODULE): the main thread and every worker get their
// own Instance. At environment teardown an async cleanup hook closes every
// descriptor and watcher the environment still owns (handle.cc) and waits
// for libuv to release the watchers.
#include <node_api.h>

#include "bsdlayouts.h"
#include "handle.h"
#include "ksock.h"
#include "ring.h"

namespace ksock {

Instance* GetInstance(const Napi::Env& env) { return env.GetInstanceData<Instance>(); }

// Network namespaces (netns.cc).
void InitNetns(napi_env env, napi_value exports);

namespace {

void OnTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* inst = static_cast<Instance*>(arg);
  inst->cleanup = handle;
  TeardownHandles(inst);
}

void FinalizeInstance(napi_env env, void* data, void*) {
  auto* inst = static_cast<Instance*>(data);
  for (napi_ref* r : {&inst->slots_ref, &inst->poll_callback}) {
    if (*r != nullptr) napi_delete_reference(env, *r);
    *r = nullptr;
  }
  ReleaseHeld(env, inst);
  inst->finalized = true;
  MaybeFree(inst);
}

// The names of the result slots, for JavaScript.
napi_value SlotNames(napi_env env) {
  napi_value o;
  napi_create_object(env, &o);
  const std::pair<const char*, int> names[] = {
      {"MSG_FLAGS", kMsgFlags}, {"ADDR_LEN", kAddrLen}, {"CONTROL_LEN", kControlLen}, {"BYTES", kBytes}};
  for (const auto& n : names) {
    napi_value v;
    napi_create_int32(env, n.second, &v);
    napi_set_named_property(env, o, n.first, v);
  }
  return o;
}

Napi::Object InitImpl(Napi::Env env, Napi::Object exports) {
  auto* inst = new Instance();
  inst->env = env;
  if (napi_set_instance_data(env, inst, FinalizeInstance, nullptr) != napi_ok) {
    delete inst;
    return exports;
  }
  napi_value ab, slots;
  void* data = nullptr;
  if (napi_create_arraybuffer(env, kSlotCount * sizeof(int32_t), &data, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_int32_array, kSlotCount, ab, 0, &slots) != napi_ok)
    return exports;
  inst->slots = static_cast<int32_t*>(data);
  napi_create_reference(env, slots, 1, &inst->slots_ref);
  exports.Set("slots", Napi::Value(env, slots));
  exports.Set("slotNames", Napi::Value(env, SlotNames(env)));

  if (napi_add_async_cleanup_hook(env, OnTeardown, inst, nullptr) != napi_ok) {
    napi_throw_error(env, nullptr, "ksock: cannot register the environment cleanup hook");
    return exports;
  }

  InitConstants(env, exports);
  InitSockaddr(env, exports);
  InitSyscalls(env, exports);
  InitSockopt(env, exports);
  InitHandles(env, exports, inst);
  InitMsgIo(env, exports);
  InitNetns(env, exports);
  InitRing(env, exports);
  InitLayouts(env, exports);
  InitBpfDev(env, exports);
  return exports;
}

}  // namespace

}  // namespace ksock

static Napi::Object InitKsock(Napi::Env env, Napi::Object exports) { return ksock::InitImpl(env, exports); }

NODE_API_MODULE(ksock, InitKsock)
