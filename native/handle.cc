// Descriptor owners: Handles (sockets) and the env's Held (the records of
// received descriptors not yet claimed, held.h), the readiness watchers, and
// environment teardown. The one file that touches libuv.
//
// Lifetime rules:
//  - A Handle lives as long as its JavaScript wrapper; the wrapper's
//    finalizer closes a descriptor still open (a lingering close on a thread
//    of its own, so that nothing blocks).
//  - The uv_poll_t lives in its own heap block (Poll) from uv_poll_init to
//    its close callback, so that the wrapper may be collected while libuv
//    still owns the handle.
//  - While someone waits (armed) the owner object is held strongly and the
//    watcher keeps the loop alive; otherwise neither.
//  - A received descriptor's record lives from the receive until its item
//    claims it, closes it (explicitly or by the collector: heldClose) or
//    teardown; it holds no JavaScript value and JavaScript holds only its
//    (id, token) pair.
//  - Once the environment stops (worker terminate, process exit), wakeups
//    and threadpool completions only release: they never call into
//    JavaScript. Teardown closes every descriptor the env still owns,
//    received and unclaimed ones included.
#include "handle.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "args.h"
#include "held.h"
#include "sys.h"

namespace ksock {

struct Poll {
  uv_poll_t uv;
  Handle* owner = nullptr;  // null once the Handle let go of it
  Instance* inst = nullptr;
};

// The env's owner of received descriptors (held.h): records by id, each
// live while its token is nonzero, and the report area shared with
// JavaScript.
struct Held {
  struct Rec {
    uint32_t token = 0;  // 0: free
    uint32_t n = 0;
    int one = -1;           // the descriptor when n == 1 (the common case)
    std::vector<int> many;  // the descriptors when n != 1
    const int* fds() const { return n == 1 ? &one : many.data(); }
  };
  std::vector<Rec> recs;
  std::vector<uint32_t> free_ids;
  uint64_t rng = 0;
  // The report area: a JS Int32Array's memory, kept alive by area_ref.
  int32_t* area = nullptr;
  size_t cap = 0;
  size_t end = 0;    // where the next write goes
  size_t group = 0;  // the open group's count, or 0 when none is open
  size_t groups = 0;  // groups opened by this receive call
  // The records made since RightsBegin, for RightsAbort.
  std::vector<std::pair<uint32_t, uint32_t>> call_recs;
  napi_ref area_ref = nullptr;

  uint32_t NextToken() {
    // xorshift64*: tokens only need to be unguessable by accident (a forged
    // or stale pair), not by an adversary who can already call the addon.
    for (;;) {
      rng ^= rng >> 12;
      rng ^= rng << 25;
      rng ^= rng >> 27;
      uint32_t t = static_cast<uint32_t>((rng * 2685821657736338717ULL) >> 32);
      if (t != 0) return t;
    }
  }
};

namespace {

using arg::Throw;

// ------------------------------------------------------------------ closing

bool Lingers(int fd) {
  linger l{};
  socklen_t n = sizeof(l);
  return getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &n) == 0 && l.l_onoff != 0 && l.l_linger > 0;
}

// A close that nobody awaits (collector, teardown): never on the loop's
// thread when SO_LINGER would make it block.
void CloseDetached(int fd) {
  if (!Lingers(fd)) {
    sys::Close(fd);
    return;
  }
  std::thread([fd] { sys::Close(fd); }).detach();
}

void Disarm(Handle* h) {
  if (!h->armed) return;
  h->armed = false;
  if (h->owner != nullptr && !h->inst->torn_down) napi_reference_unref(h->inst->env, h->owner, nullptr);
}

void Arm(Handle* h) {
  if (h->armed || h->owner == nullptr) return;
  h->armed = true;
  napi_reference_ref(h->inst->env, h->owner, nullptr);
}

void OnPollClosed(uv_handle_t* uvh) {
  Poll* p = static_cast<Poll*>(uvh->data);
  Instance* inst = p->inst;
  delete p;
  inst->closing_polls--;
  MaybeFinishTeardown(inst);
}

// Gives up the number: the watcher goes, the number is forgotten. Returns it.
int Release(Handle* h) {
  int fd = h->fd;
  ClosePoll(h);
  if (fd >= 0) {
    auto it = h->inst->by_fd.find(fd);
    if (it != h->inst->by_fd.end() && it->second == h) h->inst->by_fd.erase(it);
  }
  h->fd = -1;
  return fd;
}

void DropReader(napi_env env, Handle* h) {
  Reader* r = h->reader;
  h->reader = nullptr;
  if (r == nullptr) return;
  for (napi_ref ref : {r->buffers, r->meta, r->addrs, r->arena})
    if (ref != nullptr) napi_delete_reference(env, ref);
  r->buffers = r->meta = r->addrs = r->arena = nullptr;
  if (r->busy)
    r->dropped = true;  // ReadBatch frees it when it is done
  else
    delete r;
}

void FinalizeHandle(napi_env env, void* data, void*) {
  Handle* h = static_cast<Handle*>(data);
  Instance* inst = h->inst;
  int fd = Release(h);
  if (fd >= 0) CloseDetached(fd);
  DropReader(env, h);
  if (h->owner != nullptr) napi_delete_reference(env, h->owner);
  h->owner = nullptr;
  inst->handles.erase(h);
  delete h;
  MaybeFree(inst);
}

// ------------------------------------------------------------------ wakeups

// Messages this long or longer get a Buffer of their own; shorter ones wait
// in the reader's arena, from which JavaScript copies them (into Node's
// Buffer pool, as Buffer.allocUnsafe does), before any listener runs.
constexpr size_t kOwnBuffer = 4096;

// The reader's work on a wakeup: up to r->max datagrams, until the queue is
// empty. Returns how many (their lengths, flags, places and addresses are in
// the reader's arrays), or -errno when the first read failed with something
// other than EAGAIN (a later failure ends the batch; the next wakeup reports
// it). No JavaScript runs while reading; storing the Buffers afterwards may
// (a setter on the array): the reader is kept alive across it, and the
// arrays are pinned only after the last one is stored.
napi_value ReadBatch(napi_env env, Handle* h) {
  Reader* r = h->reader;
  Instance* inst = h->inst;
  napi_value buffers = nullptr, meta = nullptr, addrs = nullptr, arena = nullptr, result = nullptr;
  napi_get_reference_value(env, r->buffers, &buffers);
  napi_get_reference_value(env, r->meta, &meta);
  napi_get_reference_value(env, r->arena, &arena);
  if (r->addrs != nullptr) napi_get_reference_value(env, r->addrs, &addrs);
  if (buffers == nullptr || meta == nullptr || arena == nullptr) return nullptr;
  r->busy = true;
  std::vector<int32_t>& info = r->info;
  std::vector<sockaddr_storage>& names = r->names;
  // After a sleep, one message and no read that finds the queue empty (the
  // watcher is level-triggered: more wakes the loop again at once); after no
  // sleep (a burst) up to max, until the queue is empty, unless the last two
  // such reads found just one (see Reader::misses).
  uv_loop_t* loop = nullptr;
  uint64_t idle = napi_get_uv_event_loop(env, &loop) == napi_ok && loop != nullptr ? uv_metrics_idle_time(loop) : 0;
  const bool slept = idle > r->idle;
  r->idle = idle;
  const bool probe = (++r->wakeups & 15) == 0;
  const uint32_t max = slept || (r->misses >= 2 && !probe) ? 1 : r->max;
  long got = 0;
  size_t shared = 0;  // bytes of small messages, back to back in the scratch buffer
  // Messages with a Buffer of their own, stored into `buffers` only after the
  // small messages have left the scratch buffer for the arena (which holds
  // max of them): storing may run JavaScript (a setter), which could receive
  // elsewhere into the scratch buffer.
  std::vector<std::pair<uint32_t, napi_value>> own;
  for (uint32_t i = 0; i < max && h->fd >= 0; i++) {
    if (inst->scratch.size() < shared + r->size) inst->scratch.resize(shared + r->size);
    iovec iov{inst->scratch.data() + shared, r->size};
    msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (addrs != nullptr) {
      m.msg_name = &names[i];
      m.msg_namelen = sizeof(sockaddr_storage);
    }
    ssize_t n = KSOCK_RETRY(recvmsg(h->fd, &m, MSG_DONTWAIT));
    if (n < 0) {
      if (got == 0 && errno != EAGAIN && errno != EWOULDBLOCK) got = sys::Err();
      break;
    }
    size_t len = static_cast<size_t>(n) < r->size ? static_cast<size_t>(n) : r->size;
    if (len >= kOwnBuffer) {
      napi_value buf;
      void* dst = nullptr;
      if (napi_create_buffer_copy(env, len, inst->scratch.data() + shared, &dst, &buf) != napi_ok)
        break;  // out of memory: what was read before is reported
      own.emplace_back(i, buf);
      info[3 * r->max + i] = -1;
    } else {
      info[3 * r->max + i] = static_cast<int32_t>(shared);
      shared += (len + 7) & ~static_cast<size_t>(7);
    }
    info[i] = static_cast<int32_t>(n);
    info[r->max + i] = m.msg_flags;
    info[2 * r->max + i] = addrs != nullptr ? static_cast<int32_t>(m.msg_namelen) : 0;
    got++;
    if (n == 0) break;  // a stream's end (or an empty datagram): no more this time
  }
  if (max > 1 && got >= 0) r->misses = got > 1 ? 0 : r->misses < 2 ? r->misses + 1 : 2;
  // The small messages into the arena now, while no JavaScript has run since
  // they were read: a setter below may receive elsewhere, into the scratch buffer.
  if (got > 0 && shared > 0) {
    arg::Bytes rb;
    if (!arg::Pin(env, arena, "arena", &rb) || rb.len < shared)
      got = -EFAULT;  // (a pending TypeError is cleared below)
    else
      memcpy(rb.data, inst->scratch.data(), shared);
  }
  if (got > 0) {
    for (size_t j = 0; got > 0 && j < own.size() && !r->dropped; j++)
      if (napi_set_element(env, buffers, own[j].first, own[j].second) != napi_ok) got = -ENOMEM;
  }
  r->busy = false;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {  // a setter threw: what it interrupted is dropped
    napi_value e;
    napi_get_and_clear_last_exception(env, &e);
  }
  if (r->dropped) {  // stopped from inside a setter: nobody wants these now
    delete r;
    napi_create_int64(env, 0, &result);
    return result;
  }
  if (got > 0) {
    arg::Bytes mb, ab;
    if (!arg::Pin(env, meta, "meta", &mb) || mb.len < info.size() * sizeof(int32_t) ||
        (addrs != nullptr && (!arg::Pin(env, addrs, "addrs", &ab) || ab.len < names.size() * sizeof(sockaddr_storage)))) {
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value e;
        napi_get_and_clear_last_exception(env, &e);
      }
      got = -EFAULT;
    } else {
      memcpy(mb.data, info.data(), info.size() * sizeof(int32_t));
      if (addrs != nullptr) memcpy(ab.data, names.data(), static_cast<size_t>(got) * sizeof(sockaddr_storage));
    }
  }
  napi_create_int64(env, got, &result);
  return result;
}

void OnPoll(uv_poll_t* uvh, int status, int events) {
  Poll* p = static_cast<Poll*>(uvh->data);
  Handle* h = p->owner;
  Instance* inst = p->inst;
  if (h == nullptr || inst->stopping || h->owner == nullptr || inst->poll_callback == nullptr) {
    uv_poll_stop(uvh);
    return;
  }
  // On an error (POLLERR) libuv has stopped the watcher: say so, so that the
  // next pollStart starts it again.
  if (status < 0) h->events = 0;
  napi_env env = inst->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    uv_poll_stop(uvh);
    return;
  }
  napi_value owner = nullptr, cb = nullptr, argv[3];
  napi_get_reference_value(env, h->owner, &owner);
  napi_get_reference_value(env, inst->poll_callback, &cb);
  if (owner == nullptr || cb == nullptr) {
    // The owner was collected: nothing will ever wait here again.
    uv_poll_stop(uvh);
    napi_close_handle_scope(env, scope);
    return;
  }
  napi_create_int32(env, status, &argv[0]);
  napi_create_int32(env, events, &argv[1]);
  size_t argc = 2;
  if (h->reader != nullptr && (status < 0 || (events & UV_READABLE) != 0)) {
    argv[2] = ReadBatch(env, h);
    if (argv[2] != nullptr) argc = 3;
  }
  napi_value result;
  if (napi_make_callback(env, nullptr, owner, cb, argc, argv, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      // JavaScript threw (an upcall): an uncaught exception, as from any
      // event handler. When the env is stopping this does nothing.
      napi_value e;
      if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
    } else if (p->owner != nullptr) {
      // The env cannot run JavaScript any more: stop; teardown closes.
      uv_poll_stop(uvh);
    }
  }
  napi_close_handle_scope(env, scope);
}

}  // namespace

void ClosePoll(Handle* h) {
  Poll* p = h->poll;
  h->poll = nullptr;
  h->events = 0;
  Disarm(h);
  if (p == nullptr) return;
  p->owner = nullptr;
  uv_poll_stop(&p->uv);
  p->inst->closing_polls++;
  uv_close(reinterpret_cast<uv_handle_t*>(&p->uv), OnPollClosed);
}

Instance* InstanceOf(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<Instance*>(data);
}

namespace {

// An owner argument: an external whose pointer is one of this env's live
// owners of that kind. A forged value, another addon's external or a stale
// pointer is never taken for one (the set lookup costs less than a type
// tag's private property, and is as strict).
template <typename T>
bool GetOwner(napi_env env, napi_value v, std::unordered_set<T*> Instance::*live, const char* what, T** out) {
  void* p = nullptr;
  Instance* inst = nullptr;
  if (v == nullptr || napi_get_value_external(env, v, &p) != napi_ok || p == nullptr ||
      (inst = InstanceOf(env)) == nullptr || (inst->*live).count(static_cast<T*>(p)) == 0)
    return Throw(env, arg::kType, "expected %s", what);
  *out = static_cast<T*>(p);
  return true;
}

}  // namespace

bool GetHandle(napi_env env, napi_value v, Handle** out) {
  return GetOwner(env, v, &Instance::handles, "a socket handle", out);
}

napi_value NewHandle(napi_env env, Instance* inst, int fd) {
  Handle* h = new Handle();
  h->inst = inst;
  h->fd = fd;
  napi_value ext = nullptr;
  if (napi_create_external(env, h, FinalizeHandle, nullptr, &ext) != napi_ok) {
    delete h;
    sys::Close(fd);
    arg::Fail(env, "cannot make a socket handle");
    return nullptr;
  }
  inst->handles.insert(h);
  inst->by_fd[fd] = h;  // from here on the finalizer closes it
  return ext;
}

// ------------------------------------------------------------------ received descriptors

namespace {

// Takes the record (id, token) out of the table: how many descriptors it
// held, closed first when `close_them` (on a thread of their own where
// SO_LINGER would block, when `detached`); 0 when the pair names no live
// record.
long Drop(Held* held, uint32_t id, uint32_t token, bool close_them, bool detached) {
  if (held == nullptr || token == 0 || id >= held->recs.size() || held->recs[id].token != token) return 0;
  Held::Rec& r = held->recs[id];
  const uint32_t n = r.n;
  if (close_them)
    for (uint32_t i = 0; i < n; i++) {
      int fd = r.fds()[i];
      if (detached) CloseDetached(fd);
      else sys::Close(fd);
    }
  r.token = 0;
  r.n = 0;
  r.one = -1;
  if (r.many.capacity() > 16) std::vector<int>().swap(r.many);
  else r.many.clear();
  held->free_ids.push_back(id);
  return static_cast<long>(n);
}

}  // namespace

Held* HeldOf(napi_env env) {
  Instance* inst = InstanceOf(env);
  return inst != nullptr && !inst->stopping ? inst->held : nullptr;
}

bool HoldReceivedFds(Held* held, const int* fds, size_t n, uint32_t* id, uint32_t* token) {
  if (held == nullptr) {
    for (size_t i = 0; i < n; i++) sys::Close(fds[i]);
    return false;
  }
  uint32_t i;
  if (!held->free_ids.empty()) {
    i = held->free_ids.back();
    held->free_ids.pop_back();
  } else {
    i = static_cast<uint32_t>(held->recs.size());
    held->recs.emplace_back();
  }
  Held::Rec& r = held->recs[i];
  r.n = static_cast<uint32_t>(n);
  if (n == 1) r.one = fds[0];
  else r.many.assign(fds, fds + n);
  r.token = held->NextToken();
  held->call_recs.emplace_back(i, r.token);
  *id = i;
  *token = r.token;
  return true;
}

bool OwnReceivedFds(napi_env env, Held* held, napi_value item, const int* fds, size_t n) {
  uint32_t id = 0, token = 0;
  if (!HoldReceivedFds(held, fds, n, &id, &token)) return arg::Fail(env, "cannot take ownership of received descriptors");
  // From here on the record owns them: on a failure below it closes them.
  napi_value arr = nullptr, vid = nullptr, vtok = nullptr;
  bool ok = napi_create_array_with_length(env, n, &arr) == napi_ok;
  for (size_t i = 0; ok && i < n; i++) {
    napi_value v;
    ok = napi_create_int32(env, fds[i], &v) == napi_ok && napi_set_element(env, arr, static_cast<uint32_t>(i), v) == napi_ok;
  }
  ok = ok && napi_create_uint32(env, id, &vid) == napi_ok &&
       napi_create_int32(env, static_cast<int32_t>(token), &vtok) == napi_ok &&
       napi_set_named_property(env, item, "fds", arr) == napi_ok && napi_set_named_property(env, item, "held", vid) == napi_ok &&
       napi_set_named_property(env, item, "heldToken", vtok) == napi_ok;
  if (!ok) {
    Drop(held, id, token, true, false);
    return arg::Fail(env, "cannot take ownership of received descriptors");
  }
  return true;
}

void RightsBegin(Held* held) {
  if (held == nullptr) return;
  held->end = 2;
  held->group = 0;
  held->groups = 0;
  held->call_recs.clear();
  if (held->area != nullptr) held->area[0] = held->area[1] = 2;
}

bool RightsGroup(Held* held) {
  if (held == nullptr) return false;
  held->group = 0;
  if (held->area == nullptr || held->groups >= kRightsMaxGroups || held->end >= held->cap) return false;
  held->group = held->end;
  held->area[held->end++] = 0;
  held->area[1] = static_cast<int32_t>(held->end);
  held->groups++;
  return true;
}

size_t RightsRoom(Held* held) {
  if (held == nullptr || held->area == nullptr || held->group == 0) return 0;
  // Keep room for the headers of the groups this call may still open.
  const size_t reserve = kRightsMaxGroups - held->groups;
  if (held->end + reserve >= held->cap) return 0;
  return held->cap - held->end - reserve;
}

void RightsItem(Held* held, int level, int type, uint32_t id, uint32_t token, const int* fds, size_t n) {
  // The caller checked RightsRoom(); this only guards the bound.
  if (held == nullptr || held->area == nullptr || held->group == 0 || n > held->cap || held->end + 5 + n > held->cap) return;
  int32_t* a = held->area;
  size_t e = held->end;
  a[e++] = level;
  a[e++] = type;
  a[e++] = static_cast<int32_t>(id);
  a[e++] = static_cast<int32_t>(token);
  a[e++] = static_cast<int32_t>(n);
  for (size_t i = 0; i < n; i++) a[e++] = fds[i];
  held->end = e;
  a[held->group]++;
  a[1] = static_cast<int32_t>(e);
}

void RightsBuilt(Held* held) {
  if (held == nullptr || held->area == nullptr || held->group == 0) return;
  held->area[held->group] = -1;
}

void RightsAbort(Held* held) {
  if (held == nullptr) return;
  for (const auto& r : held->call_recs) Drop(held, r.first, r.second, true, false);
  held->call_recs.clear();
  held->end = 2;
  held->group = 0;
  if (held->area != nullptr) held->area[0] = held->area[1] = 2;
}

// ------------------------------------------------------------------ teardown

void TeardownHandles(Instance* inst) {
  inst->stopping = true;
  for (Handle* h : inst->handles) {
    int fd = Release(h);
    if (fd >= 0) CloseDetached(fd);
  }
  if (Held* held = inst->held) {
    for (uint32_t i = 0; i < held->recs.size(); i++) Drop(held, i, held->recs[i].token, true, true);
  }
  MaybeFinishTeardown(inst);
}

void MaybeFinishTeardown(Instance* inst) {
  if (!inst->stopping || inst->torn_down || inst->closing_polls != 0) return;
  inst->torn_down = true;
  napi_async_cleanup_hook_handle hook = inst->cleanup;
  inst->cleanup = nullptr;
  if (hook != nullptr) napi_remove_async_cleanup_hook(hook);
  MaybeFree(inst);
}

void ReleaseHeld(napi_env env, Instance* inst) {
  Held* held = inst->held;
  if (held == nullptr) return;
  if (held->area_ref != nullptr) napi_delete_reference(env, held->area_ref);
  held->area_ref = nullptr;
  held->area = nullptr;
  held->cap = 0;
}

void MaybeFree(Instance* inst) {
  if (inst->finalized && inst->torn_down && inst->handles.empty() && inst->closing_polls == 0) {
    delete inst->held;
    delete inst;
  }
}

// ------------------------------------------------------------------ exports

namespace {

// setPollCallback(fn): the function every wakeup calls, `this` = the owner,
// with (status, events). Set once per env.
napi_value SetPollCallback(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  Instance* inst = InstanceOf(env);
  if (arg::TypeOf(env, argv[0]) != napi_function) return Throw(env, arg::kType, "setPollCallback: expected a function"), nullptr;
  if (inst->poll_callback != nullptr) return Throw(env, arg::kError, "setPollCallback: already set"), nullptr;
  napi_create_reference(env, argv[0], 1, &inst->poll_callback);
  return nullptr;
}

// watch(handle, owner): the object woken on readiness (held weakly).
napi_value Watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  Handle* h = nullptr;
  if (!GetHandle(env, argv[0], &h)) return nullptr;
  if (!arg::IsObject(env, argv[1])) return Throw(env, arg::kType, "watch: owner must be an object"), nullptr;
  bool was_armed = h->armed;
  Disarm(h);
  if (h->owner != nullptr) napi_delete_reference(env, h->owner);
  h->owner = nullptr;
  napi_create_reference(env, argv[1], 0, &h->owner);
  if (was_armed) Arm(h);
  return nullptr;
}

// pollStart(handle, events) -> 0 | -errno: watch for events (UV_READABLE …)
// and keep the owner and the loop alive until pollIdle/pollStop.
napi_value PollStart(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  Handle* h = nullptr;
  int32_t events;
  if (!GetHandle(env, argv[0], &h) || !arg::Int32(env, argv[1], "events", &events)) return nullptr;
  Instance* inst = h->inst;
  if (h->fd < 0) return arg::Number(env, -EBADF);
  if (inst->stopping) return arg::Number(env, -ECANCELED);
  events &= UV_READABLE | UV_WRITABLE | UV_DISCONNECT | UV_PRIORITIZED;
  if (h->poll == nullptr) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return arg::Number(env, -EINVAL);
    Poll* p = new Poll();
    p->inst = inst;
    int r = uv_poll_init_socket(loop, &p->uv, h->fd);
    if (r != 0) {
      delete p;
      return arg::Number(env, r);
    }
    p->uv.data = p;
    p->owner = h;
    h->poll = p;
  }
  if (events == 0) {
    uv_poll_stop(&h->poll->uv);
    h->events = 0;
    Disarm(h);
    return arg::Number(env, 0);
  }
  if (events != h->events) {
    int r = uv_poll_start(&h->poll->uv, events, OnPoll);
    if (r != 0) return arg::Number(env, r);
    h->events = events;
  }
  uv_ref(reinterpret_cast<uv_handle_t*>(&h->poll->uv));
  Arm(h);
  return arg::Number(env, 0);
}

// pollIdle(handle): nobody waits now, but someone probably will again soon:
// keep watching (no epoll_ctl round trip per sleep) without keeping the loop
// or the owner alive. The next wakeup with nobody waiting stops it for real.
napi_value PollIdle(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  Handle* h = nullptr;
  if (!GetHandle(env, argv[0], &h)) return nullptr;
  if (h->poll != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&h->poll->uv));
  Disarm(h);
  return nullptr;
}

napi_value PollStop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  Handle* h = nullptr;
  if (!GetHandle(env, argv[0], &h)) return nullptr;
  if (h->poll != nullptr) uv_poll_stop(&h->poll->uv);
  h->events = 0;
  Disarm(h);
  return nullptr;
}

// readerStart(handle, size, max, buffers[], meta: Int32Array, addrs: Buffer | null, arena: Buffer):
// read up to `max` datagrams of at most `size` bytes natively on each
// readable wakeup (see Reader); the wakeup's callback gets the count as its
// third argument. Replaces an earlier reader.
napi_value ReaderStart(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  arg::Args(env, info, 7, argv);
  Handle* h = nullptr;
  size_t size, max;
  if (!GetHandle(env, argv[0], &h) || !arg::Size(env, argv[1], "size", 1 << 26, &size) ||
      !arg::Size(env, argv[2], "max", 1024, &max))
    return nullptr;
  if (size == 0 || max == 0) return Throw(env, arg::kRange, "readerStart: size and max must be positive"), nullptr;
  if (!arg::IsArray(env, argv[3])) return Throw(env, arg::kType, "readerStart: buffers must be an array"), nullptr;
  bool is_ta = false;
  napi_typedarray_type tt;
  size_t tl = 0;
  if (napi_is_typedarray(env, argv[4], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[4], &tt, &tl, nullptr, nullptr, nullptr) != napi_ok || tt != napi_int32_array ||
      tl < max * 4)
    return Throw(env, arg::kType, "readerStart: meta must be an Int32Array of 4 * max"), nullptr;
  bool want_addrs = !arg::IsNullish(env, argv[5]);
  if (want_addrs) {
    arg::Bytes b;
    if (!arg::IsBytes(env, argv[5]) || !arg::Pin(env, argv[5], "addrs", &b) || b.len < max * sizeof(sockaddr_storage))
      return Throw(env, arg::kType, "readerStart: addrs must be a Buffer of max * sockaddr_storage bytes"), nullptr;
  }
  {
    arg::Bytes b;
    if (!arg::IsBytes(env, argv[6]) || !arg::Pin(env, argv[6], "arena", &b) || b.len < max * kOwnBuffer)
      return Throw(env, arg::kType, "readerStart: arena must be a Buffer of max * %zu bytes", kOwnBuffer), nullptr;
  }
  DropReader(env, h);
  Reader* r = new Reader();
  r->size = size;
  r->max = static_cast<uint32_t>(max);
  r->info.assign(max * 4, 0);
  r->names.resize(want_addrs ? max : 0);
  if (napi_create_reference(env, argv[3], 1, &r->buffers) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &r->meta) != napi_ok ||
      napi_create_reference(env, argv[6], 1, &r->arena) != napi_ok ||
      (want_addrs && napi_create_reference(env, argv[5], 1, &r->addrs) != napi_ok)) {
    h->reader = r;
    DropReader(env, h);
    return arg::Fail(env, "readerStart"), nullptr;
  }
  h->reader = r;
  return nullptr;
}

// readerStop(handle): no more native reads on wakeups.
napi_value ReaderStop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  Handle* h = nullptr;
  if (!GetHandle(env, argv[0], &h)) return nullptr;
  DropReader(env, h);
  return nullptr;
}

// A close(2) on the threadpool, for a descriptor whose SO_LINGER would block.
struct LingerClose {
  int fd;
  long result = 0;
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
};

void LingerExecute(napi_env, void* data) {
  auto* c = static_cast<LingerClose*>(data);
  c->result = sys::Close(c->fd);
  c->fd = -1;
}

void LingerComplete(napi_env env, napi_status status, void* data) {
  auto* c = static_cast<LingerClose*>(data);
  if (c->fd >= 0) CloseDetached(c->fd);  // cancelled before it ran
  Instance* inst = InstanceOf(env);
  if (status == napi_ok && inst != nullptr && !inst->stopping) {
    napi_value v = arg::Number(env, c->result);
    if (v != nullptr) napi_resolve_deferred(env, c->deferred, v);
  }
  // Otherwise the env is stopping: the promise is never settled, nothing
  // calls into JavaScript.
  napi_delete_async_work(env, c->work);
  delete c;
}

// close(handle) -> 0 | -errno, or a Promise of it when SO_LINGER would make
// close(2) block (it then runs on the threadpool). Idempotent: a closed
// handle says -EBADF. The watcher is closed and the number forgotten first.
napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  Handle* h = nullptr;
  if (!GetHandle(env, argv[0], &h)) return nullptr;
  int fd = Release(h);
  if (fd < 0) return arg::Number(env, -EBADF);
  if (!Lingers(fd)) return arg::Number(env, sys::Close(fd));
  auto* c = new LingerClose();
  c->fd = fd;
  napi_value promise = nullptr, name = nullptr;
  if (napi_create_promise(env, &c->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "ksock:close", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, LingerExecute, LingerComplete, c, &c->work) != napi_ok ||
      napi_queue_async_work(env, c->work) != napi_ok) {
    // No threadpool work could be queued: close on a thread of our own, and
    // answer 0 (a settled promise if there is one, else the number).
    CloseDetached(fd);
    if (c->work != nullptr) napi_delete_async_work(env, c->work);
    napi_value zero = arg::Number(env, 0);
    if (promise != nullptr && napi_resolve_deferred(env, c->deferred, zero) == napi_ok) {
      delete c;
      return promise;
    }
    delete c;
    return zero;
  }
  return promise;
}

// detach(handle) -> the descriptor, now the caller's (no longer owned or
// watched), or -EBADF.
napi_value Detach(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  Handle* h = nullptr;
  if (!GetHandle(env, argv[0], &h)) return nullptr;
  int fd = Release(h);
  return arg::Number(env, fd < 0 ? -EBADF : fd);
}

// adopt(fd, dup) -> a Handle | -errno. The descriptor must be a socket; it is
// made O_NONBLOCK (shared with every duplicate of the open file description)
// and close-on-exec. A number this env already owns is -EEXIST unless `dup`:
// then (as always with dup) a close-on-exec duplicate is adopted instead.
napi_value Adopt(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  int32_t fd;
  if (!arg::Int32(env, argv[0], "fd", &fd)) return nullptr;
  bool dup = false;
  if (arg::TypeOf(env, argv[1]) == napi_boolean) napi_get_value_bool(env, argv[1], &dup);
  if (fd < 0) return arg::Number(env, -EBADF);
  Instance* inst = InstanceOf(env);
  struct stat st;
  if (fstat(fd, &st) < 0) return arg::Number(env, sys::Err());
  if (!S_ISSOCK(st.st_mode)) return arg::Number(env, -ENOTSOCK);
  if (!dup && inst->by_fd.count(fd) != 0) return arg::Number(env, -EEXIST);
  long own = fd;
  if (dup) {
    own = sys::DupCloexec(fd);
    if (own < 0) return arg::Number(env, own);
  }
  long e = sys::SetNonblockCloexec(static_cast<int>(own));
  if (e < 0) {
    if (dup) sys::Close(static_cast<int>(own));
    return arg::Number(env, e);
  }
  sys::SetNoSigpipe(static_cast<int>(own));
  return NewHandle(env, inst, static_cast<int>(own));
}

// fdOf(handle) -> the descriptor number, -1 once closed or detached.
napi_value FdOf(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  arg::Args(env, info, 1, argv);
  Handle* h = nullptr;
  if (!GetHandle(env, argv[0], &h)) return nullptr;
  return arg::Number(env, h->fd);
}

// A record's (id, token) pair from JavaScript: two int32s (the token is a
// uint32 seen through an Int32Array). Anything else is a TypeError.
bool GetRecord(napi_env env, napi_value* argv, uint32_t* id, uint32_t* token) {
  int32_t i, t;
  if (!arg::Int32(env, argv[0], "held id", &i) || !arg::Int32(env, argv[1], "held token", &t)) return false;
  *id = static_cast<uint32_t>(i);
  *token = static_cast<uint32_t>(t);
  return true;
}

// heldClaim(id, token) -> how many descriptors became the caller's (0 if the
// pair names no live record: claimed, closed, or never made).
napi_value HeldClaim(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  arg::Args(env, info, 2, argv);
  uint32_t id, token;
  if (!GetRecord(env, argv, &id, &token)) return nullptr;
  Instance* inst = InstanceOf(env);
  return arg::Number(env, Drop(inst != nullptr ? inst->held : nullptr, id, token, false, false));
}

// heldClose(id, token, collected) -> how many descriptors it closed (0 if
// the pair names no live record). `collected` (the garbage collector's
// close): a descriptor whose SO_LINGER would block closes on a thread of its
// own.
napi_value HeldClose(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  arg::Args(env, info, 3, argv);
  uint32_t id, token;
  if (!GetRecord(env, argv, &id, &token)) return nullptr;
  bool collected = false;
  if (arg::TypeOf(env, argv[2]) == napi_boolean) napi_get_value_bool(env, argv[2], &collected);
  Instance* inst = InstanceOf(env);
  return arg::Number(env, Drop(inst != nullptr ? inst->held : nullptr, id, token, true, collected));
}

// Makes the env's owner of received descriptors and its report (exported as
// `rights`).
void InitHeld(napi_env env, napi_value exports, Instance* inst) {
  constexpr size_t kCap = 16384;  // ints: 64 KiB
  Held* held = new Held();
  held->rng = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
              (reinterpret_cast<uintptr_t>(held) << 16) ^ (static_cast<uint64_t>(getpid()) << 40) ^ 0x9E3779B97F4A7C15ULL;
  if (held->rng == 0) held->rng = 1;
  inst->held = held;
  napi_value ab, view;
  void* data = nullptr;
  if (napi_create_arraybuffer(env, kCap * sizeof(int32_t), &data, &ab) == napi_ok &&
      napi_create_typedarray(env, napi_int32_array, kCap, ab, 0, &view) == napi_ok &&
      napi_create_reference(env, view, 1, &held->area_ref) == napi_ok) {
    held->area = static_cast<int32_t*>(data);
    held->cap = kCap;
    held->area[0] = held->area[1] = 2;
    napi_set_named_property(env, exports, "rights", view);
  }
}

}  // namespace

void InitHandles(napi_env env, napi_value exports, Instance* inst) {
  InitHeld(env, exports, inst);
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  static const Fn fns[] = {
      {"setPollCallback", SetPollCallback}, {"watch", Watch},     {"pollStart", PollStart},
      {"pollIdle", PollIdle},               {"pollStop", PollStop}, {"close", Close},
      {"detach", Detach},                   {"adopt", Adopt},     {"heldClaim", HeldClaim},
      {"heldClose", HeldClose},             {"fdOf", FdOf},       {"readerStart", ReaderStart},
      {"readerStop", ReaderStop},
  };
  for (const Fn& f : fns) {
    napi_value fn;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn) == napi_ok)
      napi_set_named_property(env, exports, f.name, fn);
  }
  napi_value ev;
  napi_create_object(env, &ev);
  const std::pair<const char*, int> names[] = {
      {"READABLE", UV_READABLE}, {"WRITABLE", UV_WRITABLE}, {"DISCONNECT", UV_DISCONNECT}, {"PRIORITIZED", UV_PRIORITIZED}};
  for (const auto& n : names) {
    napi_value v;
    napi_create_int32(env, n.second, &v);
    napi_set_named_property(env, ev, n.first, v);
  }
  napi_set_named_property(env, exports, "pollEvents", ev);
}

}  // namespace ksock
