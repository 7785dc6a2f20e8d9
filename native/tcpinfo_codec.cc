// TCP_INFO, core (see tcpinfo_codec.h). No N-API here.
#include "tcpinfo_codec.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <cstring>
#include <type_traits>
#include <utility>

#if __has_include(<linux/tcp.h>)
#include <linux/tcp.h>  // the full struct tcp_info
#define KSOCK_TCPINFO_LINUX 1
#else
#include <netinet/in.h>
#include <netinet/tcp.h>
#endif

namespace ksock {
namespace opt {

namespace {

void Add(TcpInfoFields* o, const char* name, double v) {
  if (o->count < kTcpInfoMax) o->f[o->count++] = TcpInfoField{name, v};
}

// Copies up to sizeof(T) bytes into a zeroed T.
template <typename T>
void Load(const uint8_t* data, size_t len, T* out) {
  memset(out, 0, sizeof(T));
  if (data != nullptr && len > 0) memcpy(out, data, len < sizeof(T) ? len : sizeof(T));
}

#if defined(KSOCK_TCPINFO_LINUX) && defined(TCP_INFO)

// One detector and one emitter per field: a field these headers lack is
// skipped (older headers compile; newer ones add their fields), never given a
// hand-written offset. A field is emitted only if its bytes lie within len.
#define KSOCK_TCPI(name)                                                                                   \
  template <typename T, typename = void>                                                                   \
  struct Has_##name : std::false_type {};                                                                  \
  template <typename T>                                                                                    \
  struct Has_##name<T, decltype(void(std::declval<const T&>().tcpi_##name))> : std::true_type {};          \
  template <typename T>                                                                                    \
  void Put_##name(const T& t, size_t len, TcpInfoFields* o) {                                              \
    if constexpr (Has_##name<T>::value) {                                                                  \
      if (offsetof(T, tcpi_##name) + sizeof(t.tcpi_##name) <= len) Add(o, #name, static_cast<double>(t.tcpi_##name)); \
    }                                                                                                      \
  }
// Bitfields have no offsetof: they all lie before tcpi_rto.
#define KSOCK_TCPI_BITS(name)                                                                     \
  template <typename T, typename = void>                                                          \
  struct Has_##name : std::false_type {};                                                         \
  template <typename T>                                                                           \
  struct Has_##name<T, decltype(void(std::declval<const T&>().tcpi_##name))> : std::true_type {}; \
  template <typename T>                                                                           \
  void Put_##name(const T& t, size_t len, TcpInfoFields* o) {                                     \
    if constexpr (Has_##name<T>::value) {                                                         \
      if (offsetof(T, tcpi_rto) <= len) Add(o, #name, static_cast<double>(t.tcpi_##name));        \
    }                                                                                             \
  }

// In the struct's order (Linux 6.1's uapi header, then later additions).
#define KSOCK_TCPI_FIELDS(F, B)                                                                                    \
  F(state) F(ca_state) F(retransmits) F(probes) F(backoff) F(options) B(snd_wscale) B(rcv_wscale)                \
  B(delivery_rate_app_limited) B(fastopen_client_fail) F(rto) F(ato) F(snd_mss) F(rcv_mss) F(unacked) F(sacked) \
  F(lost) F(retrans) F(fackets) F(last_data_sent) F(last_ack_sent) F(last_data_recv) F(last_ack_recv) F(pmtu)    \
  F(rcv_ssthresh) F(rtt) F(rttvar) F(snd_ssthresh) F(snd_cwnd) F(advmss) F(reordering) F(rcv_rtt) F(rcv_space)   \
  F(total_retrans) F(pacing_rate) F(max_pacing_rate) F(bytes_acked) F(bytes_received) F(segs_out) F(segs_in)     \
  F(notsent_bytes) F(min_rtt) F(data_segs_in) F(data_segs_out) F(delivery_rate) F(busy_time) F(rwnd_limited)     \
  F(sndbuf_limited) F(delivered) F(delivered_ce) F(bytes_sent) F(bytes_retrans) F(dsack_dups) F(reord_seen)      \
  F(rcv_ooopack) F(snd_wnd) F(rcv_wnd) F(rehash) F(total_rto) F(total_rto_recoveries) F(total_rto_time)

KSOCK_TCPI_FIELDS(KSOCK_TCPI, KSOCK_TCPI_BITS)

template <typename T>
void DecodeAll(const uint8_t* p, size_t len, TcpInfoFields* o) {
  T t;
  Load(p, len, &t);
  if (len > sizeof(T)) len = sizeof(T);
#define KSOCK_TCPI_PUT(name) Put_##name(t, len, o);
  KSOCK_TCPI_FIELDS(KSOCK_TCPI_PUT, KSOCK_TCPI_PUT)
#undef KSOCK_TCPI_PUT
}

#endif

}  // namespace

bool DecodeTcpInfo(const uint8_t* p, size_t len, TcpInfoFields* o) {
  *o = TcpInfoFields();
#if defined(KSOCK_TCPINFO_LINUX) && defined(TCP_INFO)
  DecodeAll<struct tcp_info>(p, len, o);
  return true;
#elif defined(TCP_INFO)
  tcp_info t;
  Load(p, len, &t);
  // Fields both Linux and FreeBSD define under these names.
  Add(o, "state", t.tcpi_state);
  Add(o, "options", t.tcpi_options);
  Add(o, "snd_wscale", t.tcpi_snd_wscale);
  Add(o, "rcv_wscale", t.tcpi_rcv_wscale);
  Add(o, "rto", t.tcpi_rto);
  Add(o, "snd_mss", t.tcpi_snd_mss);
  Add(o, "rcv_mss", t.tcpi_rcv_mss);
  Add(o, "last_data_recv", t.tcpi_last_data_recv);
  Add(o, "rtt", t.tcpi_rtt);
  Add(o, "rttvar", t.tcpi_rttvar);
  Add(o, "snd_ssthresh", t.tcpi_snd_ssthresh);
  Add(o, "snd_cwnd", t.tcpi_snd_cwnd);
  Add(o, "rcv_space", t.tcpi_rcv_space);
  return true;
#else
  (void)p;
  (void)len;
  (void)Add;
  return false;
#endif
}

bool TcpInfoGet(const TcpInfoFields& f, const char* name, double* out) {
  for (int i = 0; i < f.count && i < kTcpInfoMax; i++)
    if (strcmp(f.f[i].name, name) == 0) {
      *out = f.f[i].value;
      return true;
    }
  return false;
}

}  // namespace opt
}  // namespace ksock
