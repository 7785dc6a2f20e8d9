// Prints the README's option table from this platform's live table, with
// where each option exists elsewhere (from the headers read for the research
// notes: L Linux, F FreeBSD, N NetBSD, O OpenBSD, M macOS).
import { createRequire } from 'node:module';
const k = createRequire(import.meta.url)('../dist/index.js');

const ALL = 'L F N O M';
const WHERE = {
  SO_REUSEPORT_LB: 'F', SO_SNDBUFFORCE: 'L', SO_RCVBUFFORCE: 'L', SO_DOMAIN: 'L F', SO_PROTOCOL: 'L F', SO_PASSCRED: 'L',
  SO_PEERCRED: 'L O', LOCAL_PEERCRED: 'F M', SO_NOSIGPIPE: 'F N M', SO_TIMESTAMPNS: 'L', SO_TIMESTAMPING: 'L', SO_MARK: 'L',
  SO_BINDTODEVICE: 'L', SO_PRIORITY: 'L', SO_RXQ_OVFL: 'L', SO_BUSY_POLL: 'L', SO_INCOMING_CPU: 'L',
  IP_PKTINFO: 'L N M', IP_RECVPKTINFO: 'N M', IP_RECVDSTADDR: 'F N O M', IP_RECVIF: 'F N O M', IP_RECVTOS: 'L F M', IP_RECVERR: 'L',
  IP_MTU_DISCOVER: 'L', IP_MTU: 'L', IP_FREEBIND: 'L', IP_TRANSPARENT: 'L', IP_RECVORIGDSTADDR: 'L', IP_BIND_ADDRESS_NO_PORT: 'L',
  IP_MULTICAST_ALL: 'L', IP_ADD_SOURCE_MEMBERSHIP: 'L F N M', IP_DROP_SOURCE_MEMBERSHIP: 'L F N M', IPV6_RECVERR: 'L',
  IPV6_MTU_DISCOVER: 'L', IPV6_MTU: 'L F N O M', IPV6_RECVORIGDSTADDR: 'L', IPV6_FREEBIND: 'L', IPV6_TRANSPARENT: 'L',
  IPV6_ADD_MEMBERSHIP: 'L', IPV6_DROP_MEMBERSHIP: 'L', TCP_KEEPIDLE: 'L F N O', TCP_KEEPINTVL: 'L F N O M', TCP_KEEPCNT: 'L F N O M',
  TCP_KEEPALIVE: 'M', TCP_CORK: 'L', TCP_NOPUSH: 'F N O M', TCP_USER_TIMEOUT: 'L', TCP_FASTOPEN: 'L F M',
  TCP_FASTOPEN_CONNECT: 'L', TCP_QUICKACK: 'L', TCP_NOTSENT_LOWAT: 'L M', TCP_DEFER_ACCEPT: 'L', TCP_SYNCNT: 'L',
  TCP_CONGESTION: 'L F', TCP_INFO: 'L F', UDP_SEGMENT: 'L', UDP_GRO: 'L', UDP_CORK: 'L',
  SO_ATTACH_FILTER: 'L', SO_ATTACH_REUSEPORT_CBPF: 'L', SO_DETACH_FILTER: 'L', SO_DETACH_REUSEPORT_BPF: 'L', SO_LOCK_FILTER: 'L', SO_GET_FILTER: 'L',
};
const TYPE = {
  int: 'integer', bool: 'boolean', uchar: 'integer 0..255', linger: '`{ onoff, linger }`', timeval: '`{ sec, usec }` or ms',
  in_addr: 'IPv4 address string', ip_mreq: '`{ multiaddr, interface }` or `{ multiaddr, ifindex, address }` (ip_mreqn)',
  ip_mreq_source: '`{ multiaddr, sourceaddr, interface }`', ipv6_mreq: '`{ multiaddr, ifindex }`', ucred: '`{ pid, uid, gid }`',
  xucred: '`{ uid, gid, groups }`', sockpeercred: '`{ pid, uid, gid }`', string: 'string', buffer: 'Buffer',
  tcp_info: '`{ state, stateName, rtt, snd_cwnd, bytes_acked, … }`',
  sock_fprog: 'BPF program: `[{ code, jt, jf, k }]` or its bytes',
  packet_mreq: '`{ ifindex | ifname, type, address? }` (packet_mreq)', packet_fanout: '`{ group, mode, flags? }` or the int',
  tpacket_stats: '`{ packets, drops, freeze_q_cnt? }`',
};
// Netlink and packet sockets are Linux's.
for (const s of k.sockopts) if (s.levelName === 'SOL_NETLINK' || s.levelName === 'SOL_PACKET') WHERE[s.optName] = 'L';
console.log('| level | option | value | get/set | platforms |');
console.log('|---|---|---|---|---|');
for (const s of k.sockopts) {
  console.log(`| ${s.levelName} | ${s.optName} | ${TYPE[s.type]} | ${s.readonly ? 'get' : s.writeonly ? 'set' : 'get, set'} | ${WHERE[s.optName] ?? ALL} |`);
}
