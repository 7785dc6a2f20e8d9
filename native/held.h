// Ownership of received descriptors (SCM_RIGHTS, SCM_PIDFD): the seam between
// the cmsg codec and the descriptor owners.
#ifndef KSOCK_HELD_H
#define KSOCK_HELD_H

#include <node_api.h>

#include <cstddef>

namespace ksock {

// Gives the `n` descriptors of one received control item to an owner and sets
// on `item` the properties through which JavaScript reaches them (`fds`, …).
// From this call on the descriptors are the owner's: the caller must not
// close them. Returns false with a JS exception pending; the descriptors are
// then already closed.
bool OwnReceivedFds(napi_env env, napi_value item, const int* fds, size_t n);

}  // namespace ksock

#endif  // KSOCK_HELD_H
