// The one owner of a descriptor: a Handle.
//
// Every descriptor ksock creates, accepts or adopts belongs to exactly one
// Handle; JavaScript holds it as an opaque external value, which the addon's
// functions take where a descriptor would be (`sendmsg(handle, …)`). The
// Handle owns the number, its readiness watcher (one uv_poll_t, created on
// first use) and its close — explicit (`close`), given away (`detach`), by
// the garbage collector when the wrapper is unreachable, or at environment
// teardown. JavaScript never passes a bare descriptor number for an owned
// socket: a forged or foreign object is a TypeError, so no call can close or
// touch a number that is not its own.
#ifndef KSOCK_HANDLE_H
#define KSOCK_HANDLE_H

#include <node_api.h>
#include <sys/socket.h>
#include <uv.h>

#include <vector>

#include "ksock.h"

namespace ksock {

struct Poll;

// A reader: datagrams read natively on each readable wakeup, before the one
// call into JavaScript (the 'message' event), as libuv's udp.c reads for
// dgram. Its JavaScript side is four arrays it fills: `meta` (Int32Array:
// [0,max) lengths, [max,2max) msg_flags, [2max,3max) address lengths,
// [3max,4max) where message i's bytes are: an offset into `arena`, where the
// wakeup's small messages lie back to back until the next wakeup (JavaScript
// copies them out: a Buffer made here would cost more than the copy), or -1
// when `buffers[i]` is a Buffer of its own, as each message of kOwnBuffer
// bytes or more gets), `buffers`, `addrs` (max sockaddr_storage) and `arena`
// (max * kOwnBuffer bytes).
struct Reader {
  napi_ref buffers = nullptr;
  napi_ref meta = nullptr;
  napi_ref addrs = nullptr;
  napi_ref arena = nullptr;
  size_t size = 0;   // bytes per message (larger ones are truncated: MSG_TRUNC)
  uint32_t max = 0;  // messages per wakeup
  // Where a wakeup's results wait (no allocation per wakeup) until the
  // JavaScript arrays are pinned: lengths, flags, address lengths; addresses.
  std::vector<int32_t> info;
  std::vector<sockaddr_storage> names;
  // A read is under way (making Buffers and storing them can run JavaScript:
  // a setter on the array): a stop then only marks it, and the read frees it.
  bool busy = false;
  bool dropped = false;
  // The loop's idle time at the last read (libuv's metrics, which Node keeps):
  // when it grew, the loop slept waiting for this data, and a request/response
  // exchange rarely has a second message queued behind the first.
  uint64_t idle = 0;
  // Libuv first polls without waiting when it keeps idle-time metrics, so a
  // reply that arrived while this process was in sendmsg (both ends on one
  // CPU) wakes it with no sleep seen. So the reads past the first adapt:
  // after two wakeups in a row whose second read found nothing, a wakeup
  // reads one message; every 16th reads on (up to max) to notice a burst.
  uint32_t misses = 0;
  uint32_t wakeups = 0;
};

struct Handle {
  Instance* inst = nullptr;
  int fd = -1;               // -1 once closed or detached
  napi_ref owner = nullptr;  // the object woken on readiness: weak, strong while armed
  bool armed = false;        // someone waits: keep the owner (and this) alive
  Poll* poll = nullptr;      // the watcher, while it exists
  int events = 0;            // what it is started for (0: stopped)
  Reader* reader = nullptr;  // set while 'message' listeners exist
};

// Reads a Handle argument: false with a TypeError pending for anything else.
bool GetHandle(napi_env env, napi_value v, Handle** out);

// Reads a Handle argument and its descriptor: *fd is -1 when it is closed.
inline bool GetHandleFd(napi_env env, napi_value v, int* fd, Handle** out = nullptr) {
  Handle* h = nullptr;
  if (!GetHandle(env, v, &h)) return false;
  *fd = h->fd;
  if (out != nullptr) *out = h;
  return true;
}

// A new Handle owning fd (already nonblocking and close-on-exec). On
// failure the descriptor is closed and nullptr returned, an exception pending.
napi_value NewHandle(napi_env env, Instance* inst, int fd);

// Stops and closes the watcher of h, if any (libuv requires it before the
// descriptor closes or another file is dup'ed onto its number).
void ClosePoll(Handle* h);

// The per-env state, from any entry point.
Instance* InstanceOf(napi_env env);

}  // namespace ksock

#endif  // KSOCK_HANDLE_H
