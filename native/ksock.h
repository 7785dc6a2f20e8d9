// ksock native core: shared declarations.
//
// native/ is a thin, 1:1 layer over the socket syscalls. Every wrapper returns
// a non-negative result or -errno (never an Error object: EAGAIN is the common
// case and must cost nothing). EINTR is retried inside. Argument *types* are
// checked by the TypeScript layer before it calls in; the checks here exist
// only so that no input can crash the process.
#ifndef KSOCK_H
#define KSOCK_H

#include <napi.h>
#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <sys/socket.h>
#include <sys/types.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ksock {

struct Handle;
struct Held;

// Result slots shared with JavaScript through one Int32Array, so that a
// syscall can report more than its return value without allocating. The
// names and the count are exported as `slots` (JavaScript never uses a bare
// index).
enum Slot : int {
  kMsgFlags = 0,    // msg_flags of the last recvmsg
  kAddrLen = 1,     // msg_namelen of the last recvmsg
  kControlLen = 2,  // msg_controllen of the last recvmsg
  kBytes = 3,       // the byte count of the last recvmsgAlloc (which returns its Buffer)
  kSlotCount = 4,
};

// Per-environment state (the main thread and each worker has its own).
struct Instance {
  napi_env env = nullptr;
  int32_t* slots = nullptr;
  napi_ref slots_ref = nullptr;
  // The one function every readiness wakeup calls (with the handle's owner
  // as `this`).
  napi_ref poll_callback = nullptr;
  // Every live handle (open or closed, until its wrapper is finalized), and
  // the open ones by descriptor number.
  std::unordered_set<Handle*> handles;
  std::unordered_map<int, Handle*> by_fd;
  // The owner of received descriptors not yet claimed, and their report
  // area (held.h; made by InitHandles, freed with the instance).
  Held* held = nullptr;
  // uv_poll_t blocks handed to uv_close and not yet released.
  size_t closing_polls = 0;
  // Receive buffer of the mp0 form (recvmsgAlloc): grown on demand, reused.
  std::vector<unsigned char> scratch;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  bool stopping = false;   // teardown began: no more calls into JavaScript
  bool torn_down = false;  // teardown finished
  bool finalized = false;  // the env released its instance data
};

Instance* GetInstance(const Napi::Env& env);

// Registration functions, one per translation unit.
void InitConstants(Napi::Env env, Napi::Object exports);
void InitSockaddr(Napi::Env env, Napi::Object exports);
void InitSyscalls(Napi::Env env, Napi::Object exports);
void InitSockopt(Napi::Env env, Napi::Object exports);
void InitHandles(napi_env env, napi_value exports, Instance* inst);
void InitMsgIo(napi_env env, napi_value exports);
void InitBpfDev(napi_env env, napi_value exports);  // bpfdev.cc
// Closes every descriptor and watcher of the env (teardown); calls
// FinishTeardown once libuv has released every watcher.
void TeardownHandles(Instance* inst);
// Drops the references the received-descriptor owner holds (FinalizeInstance).
void ReleaseHeld(napi_env env, Instance* inst);
void MaybeFinishTeardown(Instance* inst);
// Frees the instance once nothing refers to it any more.
void MaybeFree(Instance* inst);

// sockaddr codec (sockaddr.cc).
// Encodes a JS address object or a Buffer holding a raw sockaddr into `ss`.
// Returns the length, or -1 with a JS exception pending.
int EncodeSockaddr(Napi::Env env, Napi::Value v, sockaddr_storage* ss);
// An IPv4 (af AF_INET, in_addr) or IPv6 (AF_INET6, in6_addr) address as text.
Napi::Value InetText(Napi::Env env, int af, const void* addr);
// Decodes `len` bytes of sockaddr into a JS object. Never reads past `len`.
Napi::Value DecodeSockaddr(Napi::Env env, const sockaddr_storage* ss, socklen_t len);

// cmsg codec (cmsg.cc).
// Builds a control buffer from an array of {level, type, data|fds} items into
// `out` (zeroed, aligned). Returns the length or -1 with a JS exception pending.
struct ControlBuffer {
  void* data = nullptr;
  size_t len = 0;
  size_t cap = 0;
  alignas(alignof(max_align_t)) unsigned char inline_buf[512];
  ~ControlBuffer();
  bool Reserve(size_t n);
};
long EncodeControl(Napi::Env env, Napi::Value items, ControlBuffer* out);
// Decodes a received control buffer (one message's). Received descriptors
// are made close-on-exec and given to the env's owner `held` (held.h), and
// the message is reported as one group of the report; `fresh` starts a
// receive call's report (false for the later messages of one recvmmsg).
// *list: the array of items when it was made natively, nullptr when the
// report alone describes them (JavaScript makes the list). Returns false
// with a JS exception pending; every received descriptor is then closed.
bool DecodeControl(napi_env env, Held* held, const msghdr* msg, bool peek, bool fresh, napi_value* list);
// Sets FD_CLOEXEC on every descriptor carried in SCM_RIGHTS items of `msg`.
void SetCloexecOnRights(const msghdr* msg);
// Closes every descriptor carried in SCM_RIGHTS items of `msg`.
void DisposeRights(const msghdr* msg);

}  // namespace ksock

#endif  // KSOCK_H
