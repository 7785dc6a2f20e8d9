// Addon entry point: per-environment state and teardown.
//
// Context-aware (NODE_API_MODULE): the main thread and every worker get their
// own Instance. At environment teardown an async cleanup hook closes the poll
// watchers, waits for libuv to release them, and closes every descriptor this
// environment still owns.
#include "ksock.h"

#include <unistd.h>

namespace ksock {

Instance* GetInstance(const Napi::Env& env) { return env.GetInstanceData<Instance>(); }

namespace {

void MaybeFree(Instance* inst) {
  if (inst->finalized && inst->torn_down) delete inst;
}

void TeardownDone(Instance* inst) {
  for (int fd : inst->fds) close(fd);
  inst->fds.clear();
  inst->torn_down = true;
  napi_async_cleanup_hook_handle h = inst->cleanup;
  inst->cleanup = nullptr;
  if (h != nullptr) napi_remove_async_cleanup_hook(h);
  MaybeFree(inst);
}

void OnTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* inst = static_cast<Instance*>(arg);
  inst->cleanup = handle;
  CloseAllPollers(inst, TeardownDone);
}

void FinalizeInstance(Napi::Env, Instance* inst) {
  inst->state_ref.Reset();
  inst->finalized = true;
  MaybeFree(inst);
}

Napi::Object InitImpl(Napi::Env env, Napi::Object exports) {
  auto* inst = new Instance();
  env.SetInstanceData<Instance, FinalizeInstance>(inst);

  Napi::Int32Array state = Napi::Int32Array::New(env, kStateSlots);
  inst->state = state.Data();
  inst->state_ref = Napi::Persistent(state);
  exports.Set("state", state);

  napi_async_cleanup_hook_handle h = nullptr;
  if (napi_add_async_cleanup_hook(env, OnTeardown, inst, &h) != napi_ok) {
    Napi::Error::New(env, "ksock: cannot register the environment cleanup hook")
        .ThrowAsJavaScriptException();
    return exports;
  }

  InitConstants(env, exports);
  InitSockaddr(env, exports);
  InitSyscalls(env, exports);
  InitSockopt(env, exports);
  InitPoller(env, exports, inst);
  return exports;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) { return InitImpl(env, exports); }

}  // namespace ksock

static Napi::Object InitKsock(Napi::Env env, Napi::Object exports) {
  return ksock::Init(env, exports);
}

NODE_API_MODULE(ksock, InitKsock)
