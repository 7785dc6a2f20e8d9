// Ownership of received descriptors (SCM_RIGHTS, SCM_PIDFD): the seam between
// the cmsg codec and the descriptor owners.
//
// Every env has one owner of the descriptors it received and nobody claimed
// yet (Held, in handle.cc): a table of records, each holding the descriptors
// of one control item under an (id, token) pair. The token is random, so a
// forged or stale pair (almost) never names a live record. A record goes when
// its item is claimed (heldClaim), closed (heldClose: explicitly, or by the
// collector through lib/core/rights.ts) or at env teardown, which closes
// every record still there. Nothing per item is made on the V8 heap here:
// no external, no finalizer, no global handle.
//
// The report (`native.rights`, an Int32Array per env): a receive call with
// control room reports each message it decodes as one group, in order:
//   a[0] the read cursor (JavaScript advances it), a[1] the end of the report,
//   per message: a header, then per descriptor item: level, type, id, token,
//   n, fd[0] … fd[n-1].
// Header count >= 0: the message's items are all descriptor items (the hot
// case, and the empty list); there are `count` of them and no list was made
// natively: JavaScript makes it from the report. Header -1: the list was
// made natively (holder.value, or the message's element of a recvmmsg's
// lists), its descriptor items as objects { level, type, fds, held: id,
// heldToken: token }. Every receive call starts the report afresh:
// JavaScript reads it right after the call (takeControl / takeControls in
// lib/core/rights.ts).
#ifndef KSOCK_HELD_H
#define KSOCK_HELD_H

#include <node_api.h>

#include <cstddef>
#include <cstdint>

namespace ksock {

struct Held;

// The env's owner (nullptr once the env is stopping or if it has none).
Held* HeldOf(napi_env env);

// Gives the `n` descriptors of one received control item to the owner:
// *id and *token name the record. From this call on the descriptors are the
// owner's: the caller must not close them. Returns false, the descriptors
// closed, when there is no owner.
bool HoldReceivedFds(Held* held, const int* fds, size_t n, uint32_t* id, uint32_t* token);

// The same for an item that JavaScript gets as an object: sets on `item` the
// properties through which takeControl reaches the record (`fds`, `held`,
// `heldToken`). Returns false with a JS exception pending; the descriptors
// are then already closed.
bool OwnReceivedFds(napi_env env, Held* held, napi_value item, const int* fds, size_t n);

// The report. RightsBegin() starts a receive call's report; RightsGroup()
// opens the group of its next message (false when there is no room for one:
// then nothing about that message may be reported, and its list must not be
// made natively either … which cannot happen below kRightsMaxGroups groups);
// RightsRoom() is how many ints the open group's items may still take;
// RightsItem() appends one item; RightsBuilt() marks the open group's list as
// made natively (header -1).
constexpr size_t kRightsMaxGroups = 1024;
void RightsBegin(Held* held);
bool RightsGroup(Held* held);
size_t RightsRoom(Held* held);
void RightsItem(Held* held, int level, int type, uint32_t id, uint32_t token, const int* fds, size_t n);
void RightsBuilt(Held* held);
// A receive call that fails after descriptors were held (JavaScript will
// never see its items): closes every record made since RightsBegin() and
// empties the report.
void RightsAbort(Held* held);

}  // namespace ksock

#endif  // KSOCK_HELD_H
