// Readiness watcher: the one file that touches libuv.
//
// One uv_poll_t per socket, on the environment's own loop (workers have their
// own), armed only while something waits. Every wakeup is a hint: the caller
// retries its syscall and accepts EAGAIN. JavaScript is entered through a
// callback scope (MakeCallback), once per wakeup.
//
// Lifetime: the uv handle lives in its own heap block (PollHandle), so that
// the JS object may be collected while libuv still owns the handle; the
// block is freed in the close callback. While armed, the JS object holds a
// strong reference to itself, so an armed watcher is never collected.
#include "ksock.h"

#include <uv.h>

namespace ksock {

struct PollHandle {
  uv_poll_t handle;
  Instance* inst;
  Poller* owner;  // null once the JS side is detached (closed or collected)
  int fd;
  bool initialized;
};

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Poller",
                       {InstanceMethod<&Poller::Start>("start"),
                        InstanceMethod<&Poller::Stop>("stop"),
                        InstanceMethod<&Poller::Idle>("idle"),
                        InstanceMethod<&Poller::Close>("close")});
  }

  Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info) {
    Napi::Env env = info.Env();
    inst_ = GetInstance(env);
    if (!info[0].IsNumber() || !info[1].IsFunction()) {
      ThrowType(env, "Poller(fd, callback): expected a descriptor and a function");
      return;
    }
    int fd = info[0].As<Napi::Number>().Int32Value();
    if (fd < 0) {
      ThrowRange(env, "Poller: fd must not be negative");
      return;
    }
    if (inst_->pollers.count(fd) != 0) {
      Napi::Error::New(env, "Poller: this descriptor already has a watcher")
          .ThrowAsJavaScriptException();
      return;
    }
    fd_ = fd;
    // Weak until someone waits: the Socket holds the closure while it lives,
    // and a strong handle here would keep that Socket (which the closure
    // captures) from ever being collected.
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    callback_.Unref();
    ph_ = new PollHandle{};
    ph_->inst = inst_;
    ph_->owner = this;
    ph_->fd = fd;
    inst_->pollers[fd] = this;
    inst_->live.insert(ph_);
  }

  ~Poller() override {
    // Collected or finalized at teardown: the reference is going away, so
    // it must not be touched again.
    active_ = false;
    Detach();
  }

  // Stops watching and hands the uv handle to libuv for closing. Idempotent.
  void Detach() {
    if (ph_ == nullptr) return;
    PollHandle* ph = ph_;
    ph_ = nullptr;
    ph->owner = nullptr;
    if (inst_->pollers.count(fd_) != 0 && inst_->pollers[fd_] == this) inst_->pollers.erase(fd_);
    if (ph->initialized) {
      uv_poll_stop(&ph->handle);
      uv_close(reinterpret_cast<uv_handle_t*>(&ph->handle), OnClose);
    } else {
      Release(ph);
    }
    Deactivate();
  }

 private:
  // start(events) -> 0 | -errno. events: UV_READABLE | UV_WRITABLE | ...
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (ph_ == nullptr) return Napi::Number::New(env, UV_EBADF);
    int events = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
    events &= UV_READABLE | UV_WRITABLE | UV_DISCONNECT | UV_PRIORITIZED;
    if (!ph_->initialized) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr)
        return Napi::Number::New(env, UV_EINVAL);
      // uv_poll_init_socket: on Unix the same as uv_poll_init.
      int r = uv_poll_init_socket(loop, &ph_->handle, ph_->fd);
      if (r != 0) return Napi::Number::New(env, r);
      ph_->handle.data = ph_;
      ph_->initialized = true;
    }
    if (events == 0) return Stop(info);
    if (events != events_ || !started_) {
      int r = uv_poll_start(&ph_->handle, events, OnPoll);
      if (r != 0) return Napi::Number::New(env, r);
      events_ = events;
      started_ = true;
    }
    uv_ref(reinterpret_cast<uv_handle_t*>(&ph_->handle));
    if (!active_) {
      active_ = true;
      Ref();
      callback_.Ref();
    }
    return Napi::Number::New(env, 0);
  }

  // idle(): nobody waits now, but someone probably will again soon: keep
  // watching (no epoll_ctl round trip per sleep) without keeping the loop
  // alive and without pinning the JS object. The next wakeup with nobody
  // waiting stops it for real.
  Napi::Value Idle(const Napi::CallbackInfo& info) {
    if (ph_ != nullptr && ph_->initialized) uv_unref(reinterpret_cast<uv_handle_t*>(&ph_->handle));
    Deactivate();
    return Napi::Number::New(info.Env(), 0);
  }

  // Nobody waits: drop the strong references (to this wrapper and to the callback).
  void Deactivate() {
    if (!active_) return;
    active_ = false;
    Unref();
    if (!callback_.IsEmpty()) callback_.Unref();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (ph_ != nullptr && ph_->initialized) uv_poll_stop(&ph_->handle);
    started_ = false;
    events_ = 0;
    Deactivate();
    return Napi::Number::New(info.Env(), 0);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Detach();
    return info.Env().Undefined();
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* ph = static_cast<PollHandle*>(handle->data);
    Poller* self = ph->owner;
    if (self == nullptr || self->callback_.IsEmpty()) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::Function fn = self->callback_.Value();
    if (fn.IsEmpty()) {
      // The Socket (and its closure) is gone: nothing will ever wait here again.
      uv_poll_stop(handle);
      return;
    }
    // Keep the wrapper alive across the call even if JS closes it inside.
    Napi::Object recv = self->Value();
    if (recv.IsEmpty()) {
      uv_poll_stop(handle);
      return;
    }
    fn.MakeCallback(recv, {Napi::Number::New(env, status), Napi::Number::New(env, events)});
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }

  static void OnClose(uv_handle_t* handle) {
    Release(static_cast<PollHandle*>(handle->data));
  }

  static void Release(PollHandle* ph) {
    Instance* inst = ph->inst;
    inst->live.erase(ph);
    delete ph;
    MaybeFinishTeardown(inst);
  }

 public:
  static void MaybeFinishTeardown(Instance* inst);

 private:
  Instance* inst_ = nullptr;
  PollHandle* ph_ = nullptr;
  int fd_ = -1;
  bool active_ = false;   // holds a strong reference to itself (someone waits)
  bool started_ = false;  // uv_poll_start is in effect
  int events_ = 0;
  Napi::FunctionReference callback_;
};

void Poller::MaybeFinishTeardown(Instance* inst) {
  if (inst->tearing_down && inst->live.empty() && inst->teardown_done != nullptr) {
    void (*done)(Instance*) = inst->teardown_done;
    inst->teardown_done = nullptr;
    done(inst);
  }
}

void ClosePollerOf(Instance* inst, int fd) {
  auto it = inst->pollers.find(fd);
  if (it != inst->pollers.end()) it->second->Detach();
}

void CloseAllPollers(Instance* inst, void (*done)(Instance*)) {
  inst->teardown_done = done;
  inst->tearing_down = true;
  while (!inst->pollers.empty()) inst->pollers.begin()->second->Detach();
  // Handles never started need no uv_close; any still listed are closing.
  Poller::MaybeFinishTeardown(inst);
}

void InitPoller(Napi::Env env, Napi::Object exports, Instance* inst) {
  (void)inst;
  exports.Set("Poller", Poller::Define(env));
  Napi::Object ev = Napi::Object::New(env);
  ev.Set("READABLE", static_cast<int>(UV_READABLE));
  ev.Set("WRITABLE", static_cast<int>(UV_WRITABLE));
  ev.Set("DISCONNECT", static_cast<int>(UV_DISCONNECT));
  ev.Set("PRIORITIZED", static_cast<int>(UV_PRIORITIZED));
  exports.Set("pollEvents", ev);
}

}  // namespace ksock
