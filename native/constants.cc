// Constants from the platform's own headers, and what this build supports.
//
// Nothing here is a hard-coded number: each name is exported only when the
// platform's headers define it (see scripts/gen-constants.py), so Linux and
// the BSDs each get their own values.
#include "ksock.h"
#include "compat.h"
#include "args.h"

#include <net/if.h>
#include <netinet/in.h>
#if __has_include(<netinet/in_systm.h>)
#include <netinet/in_systm.h>  // n_long etc., which the BSDs' ip.h and ip_icmp.h need
#endif
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/un.h>
#include <cerrno>
#include <climits>

#if __has_include(<net/ethernet.h>)
#include <net/ethernet.h>
#endif
#if __has_include(<net/if_arp.h>)
#include <net/if_arp.h>
#endif
#if __has_include(<sys/sockio.h>)
#include <sys/sockio.h>
#endif
#if __has_include(<sys/filio.h>)
#include <sys/filio.h>
#endif
#if __has_include(<linux/sockios.h>)
#include <linux/sockios.h>
#endif
#if __has_include(<linux/errqueue.h>)
#include <linux/errqueue.h>
#endif
#if __has_include(<linux/net_tstamp.h>)
#include <linux/net_tstamp.h>
#endif
#if __has_include(<linux/if_packet.h>)
#include <linux/if_packet.h>  // <netpacket/packet.h>'s names plus fanout modes, TP_STATUS_*
#elif __has_include(<netpacket/packet.h>)
#include <netpacket/packet.h>
#endif
#if __has_include(<linux/netlink.h>)
#include <linux/netlink.h>
#endif
#if __has_include(<linux/rtnetlink.h>)
#include <linux/rtnetlink.h>
#endif
// The netlink families' enumerators (constants_enum_list.h tests the same headers).
#if __has_include(<linux/if.h>)
#include <linux/if.h>  // after <net/if.h>: the uapi headers step aside for libc's definitions
#endif
#if __has_include(<linux/if_link.h>)
#include <linux/if_link.h>
#endif
#if __has_include(<linux/if_addr.h>)
#include <linux/if_addr.h>
#endif
#if __has_include(<linux/neighbour.h>)
#include <linux/neighbour.h>
#endif
#if __has_include(<linux/genetlink.h>)
#include <linux/genetlink.h>
#endif
#if __has_include(<linux/veth.h>)
#include <linux/veth.h>
#endif
#if __has_include(<linux/net_namespace.h>)
#include <linux/net_namespace.h>
#endif

namespace ksock {

namespace {

// Constants are exported as plain numbers. A few are unsigned 32-bit values
// (INADDR_*), which a double holds exactly.
template <typename T>
void Put(Napi::Env env, Napi::Object obj, const char* name, T value) {
  obj.Set(name, Napi::Number::New(env, static_cast<double>(value)));
}

Napi::Object MakeConstants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
#define KSOCK_CONSTANT(name) Put(env, c, #name, name);
#define KSOCK_ERRNO(name) Put(env, c, #name, name);
#include "constants_list.h"
#include "constants_enum_list.h"
#include "errno_list.h"
#undef KSOCK_CONSTANT
#undef KSOCK_ERRNO
#if __has_include(<linux/net_tstamp.h>)
  // Enumerators, not macros: the header's presence is the feature test.
  // (Flags newer than Linux 4.x are left out: an older header lacks them.)
  Put(env, c, "SOF_TIMESTAMPING_TX_HARDWARE", SOF_TIMESTAMPING_TX_HARDWARE);
  Put(env, c, "SOF_TIMESTAMPING_TX_SOFTWARE", SOF_TIMESTAMPING_TX_SOFTWARE);
  Put(env, c, "SOF_TIMESTAMPING_RX_HARDWARE", SOF_TIMESTAMPING_RX_HARDWARE);
  Put(env, c, "SOF_TIMESTAMPING_RX_SOFTWARE", SOF_TIMESTAMPING_RX_SOFTWARE);
  Put(env, c, "SOF_TIMESTAMPING_SOFTWARE", SOF_TIMESTAMPING_SOFTWARE);
  Put(env, c, "SOF_TIMESTAMPING_SYS_HARDWARE", SOF_TIMESTAMPING_SYS_HARDWARE);
  Put(env, c, "SOF_TIMESTAMPING_RAW_HARDWARE", SOF_TIMESTAMPING_RAW_HARDWARE);
  Put(env, c, "SOF_TIMESTAMPING_OPT_ID", SOF_TIMESTAMPING_OPT_ID);
  Put(env, c, "SOF_TIMESTAMPING_TX_SCHED", SOF_TIMESTAMPING_TX_SCHED);
  Put(env, c, "SOF_TIMESTAMPING_TX_ACK", SOF_TIMESTAMPING_TX_ACK);
  Put(env, c, "SOF_TIMESTAMPING_OPT_CMSG", SOF_TIMESTAMPING_OPT_CMSG);
  Put(env, c, "SOF_TIMESTAMPING_OPT_TSONLY", SOF_TIMESTAMPING_OPT_TSONLY);
  Put(env, c, "SOF_TIMESTAMPING_OPT_STATS", SOF_TIMESTAMPING_OPT_STATS);
  Put(env, c, "SOF_TIMESTAMPING_OPT_PKTINFO", SOF_TIMESTAMPING_OPT_PKTINFO);
  Put(env, c, "SOF_TIMESTAMPING_OPT_TX_SWHW", SOF_TIMESTAMPING_OPT_TX_SWHW);
#endif
  return c;
}

Napi::Object MakeErrnoNames(Napi::Env env) {
  // errno value -> name. Where two names share a value (EAGAIN/EWOULDBLOCK,
  // EOPNOTSUPP/ENOTSUP, EDEADLK/EDEADLOCK) the first listed wins.
  Napi::Object e = Napi::Object::New(env);
#define KSOCK_ERRNO(name) \
  if (!e.Has(static_cast<uint32_t>(name))) e.Set(static_cast<uint32_t>(name), #name);
#include "errno_list.h"
#undef KSOCK_ERRNO
  return e;
}

// What this *build* supports (the library adds what the kernel supports,
// probed at run time). Each entry is a feature test, never an OS name.
Napi::Object MakeBuildFeatures(Napi::Env env) {
  Napi::Object f = Napi::Object::New(env);
  auto put = [&](const char* name, bool v) { f.Set(name, Napi::Boolean::New(env, v)); };
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  put("sock_nonblock_cloexec", true);
  put("accept4", true);
  put("dup3", true);
#else
  put("sock_nonblock_cloexec", false);
  put("accept4", false);
  put("dup3", false);
#endif
#ifdef MSG_CMSG_CLOEXEC
  put("msg_cmsg_cloexec", true);
#else
  put("msg_cmsg_cloexec", false);
#endif
#ifdef MSG_NOSIGNAL
  put("msg_nosignal", true);
#else
  put("msg_nosignal", false);
#endif
#ifdef SO_NOSIGPIPE
  put("so_nosigpipe", true);
#else
  put("so_nosigpipe", false);
#endif
#ifdef MSG_WAITFORONE
  put("recvmmsg", true);
  put("sendmmsg", true);
#else
  put("recvmmsg", false);
  put("sendmmsg", false);
#endif
#ifdef SIN6_LEN
  put("sa_len", true);
#else
  put("sa_len", false);
#endif
#if __has_include(<netpacket/packet.h>) && defined(AF_PACKET)
  put("af_packet", true);
#else
  put("af_packet", false);
#endif
#if __has_include(<linux/netlink.h>) && defined(AF_NETLINK)
  put("af_netlink", true);
#else
  put("af_netlink", false);
#endif
#if defined(SIOCOUTQ) || defined(FIONWRITE) || defined(TIOCOUTQ)
  put("outq", true);
#else
  put("outq", false);
#endif
  return f;
}

// CMSG_SPACE(len) / CMSG_LEN(len) with the platform's own macros.
Napi::Value CmsgMacro(const Napi::CallbackInfo& info, bool space) {
  Napi::Env env = info.Env();
  size_t len;
  if (!arg::Size(env, info[0], space ? "CMSG_SPACE: len" : "CMSG_LEN: len", 1 << 24, &len)) return Napi::Value();
  return Napi::Number::New(env, static_cast<double>(space ? CMSG_SPACE(len) : CMSG_LEN(len)));
}

Napi::Value CmsgSpace(const Napi::CallbackInfo& info) { return CmsgMacro(info, true); }
Napi::Value CmsgLen(const Napi::CallbackInfo& info) { return CmsgMacro(info, false); }

}  // namespace

void InitConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object c = MakeConstants(env);
  c.Freeze();
  exports.Set("constants", c);
  exports.Set("errnoNames", MakeErrnoNames(env));
  exports.Set("buildFeatures", MakeBuildFeatures(env));
  // Sizes the TypeScript layer needs to size buffers, from this platform.
  Napi::Object sizes = Napi::Object::New(env);
  Put(env, sizes, "sockaddr_storage", sizeof(sockaddr_storage));
  Put(env, sizes, "sun_path", sizeof(sockaddr_un::sun_path));
  Put(env, sizes, "int", sizeof(int));
  Put(env, sizes, "cmsghdr", sizeof(cmsghdr));
  Put(env, sizes, "CMSG_SPACE_0", CMSG_SPACE(0));
  Put(env, sizes, "CMSG_LEN_0", CMSG_LEN(0));
  Put(env, sizes, "timeval", sizeof(timeval));
  Put(env, sizes, "tv_sec", sizeof(timeval::tv_sec));
  Put(env, sizes, "tv_usec", sizeof(timeval::tv_usec));
  Put(env, sizes, "tv_usec_offset", offsetof(timeval, tv_usec));
  Put(env, sizes, "linger", sizeof(linger));
  exports.Set("sizes", sizes);
  exports.Set("CMSG_SPACE", Napi::Function::New(env, CmsgSpace, "CMSG_SPACE"));
  exports.Set("CMSG_LEN", Napi::Function::New(env, CmsgLen, "CMSG_LEN"));
}

}  // namespace ksock
