// The TPACKET_V3 capture ring (ring.cc): ringOpen, ringNext, ringRelease,
// ringClose, ringMapped and the frame-table layout `ringLayout`.
#ifndef KSOCK_RING_H
#define KSOCK_RING_H

#include <node_api.h>

namespace ksock {

void InitRing(napi_env env, napi_value exports);

}  // namespace ksock

#endif  // KSOCK_RING_H
