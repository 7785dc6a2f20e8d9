// TCP_INFO, core: the kernel's struct tcp_info -> (name, value) pairs, no
// N-API (fuzz/optstruct_fuzz.cc drives it through optstruct_codec.h).
//
// Its own translation unit because Linux's <linux/tcp.h> (the full struct)
// and the libc's <netinet/tcp.h> (a shorter copy) cannot both be included.
// This header includes neither.
#ifndef KSOCK_TCPINFO_CODEC_H
#define KSOCK_TCPINFO_CODEC_H

#include <cstddef>
#include <cstdint>

namespace ksock {
namespace opt {

struct TcpInfoField {
  const char* name;  // without the tcpi_ prefix: "rtt", "bytes_acked", ...
  double value;      // 64-bit counters too: exact up to 2**53
};

constexpr int kTcpInfoMax = 96;

struct TcpInfoFields {
  int count = 0;
  TcpInfoField f[kTcpInfoMax] = {};
  const char* state_name = nullptr;  // "ESTABLISHED", ... (set by optstruct_codec.cc)
};

// Decodes p[0, len) as the platform's struct tcp_info into out. With
// <linux/tcp.h>: every field the headers declare whose bytes lie wholly within
// len (an older kernel returns a shorter struct); otherwise the 13 fields the
// BSDs share, missing bytes read as 0. False where the platform has no
// TCP_INFO.
bool DecodeTcpInfo(const uint8_t* p, size_t len, TcpInfoFields* out);

// The value of the field named `name`, or false when it is absent.
bool TcpInfoGet(const TcpInfoFields& f, const char* name, double* out);

}  // namespace opt
}  // namespace ksock

#endif  // KSOCK_TCPINFO_CODEC_H
