// Typed socket options: one table says, for each (level, name) this platform
// has, what kind of value it takes. Struct layouts are the native layer's
// business (they differ between platforms); this file only picks the kind.
import { native } from './native';
import { constants } from './constants';
import { readHostInt, writeHostInt } from './core/socket';
import { assemble, fromBytes } from './bpf/asm';
import type { BpfInsn } from './bpf/insn';
import {
  encodePacketMreq, fanoutValue, decodeFanout, type PacketMreq, type PacketFanout, type PacketFanoutValue, type TpacketStats,
} from './packet';

/** The kinds of option value. */
export type OptType =
  | 'int' | 'bool' | 'uchar' | 'linger' | 'timeval' | 'in_addr' | 'ip_mreq' | 'ip_mreq_source'
  | 'ipv6_mreq' | 'ucred' | 'xucred' | 'sockpeercred' | 'string' | 'buffer' | 'tcp_info'
  /** NetBSD LOCAL_PEEREID: the peer's pid and effective uid/gid at connect time. */
  | 'unpcbid'
  /** A new descriptor (close-on-exec) that the caller owns and must close: SO_PEERPIDFD. */
  | 'fd'
  /** A classic BPF program: an instruction array (or its assembled bytes) in, instructions out (SO_ATTACH_FILTER / SO_GET_FILTER). */
  | 'sock_fprog'
  /** Packet sockets (lib/packet.ts): membership, fanout group, statistics. */
  | 'packet_mreq' | 'packet_fanout' | 'tpacket_stats';

export interface Linger { onoff: number | boolean; linger: number }
export interface Timeval { sec: number; usec: number }
/** ip_mreq; with `ifindex` or `address` it is sent as Linux's ip_mreqn. */
export interface IpMreq { multiaddr: string; interface?: string; address?: string; ifindex?: number }
export interface IpMreqSource { multiaddr: string; sourceaddr: string; interface?: string }
export interface Ipv6Mreq { multiaddr: string; ifindex?: number }
/**
 * A peer's credentials: SO_PEERCRED (Linux ucred, OpenBSD sockpeercred),
 * LOCAL_PEERCRED (xucred: `pid` from FreeBSD 13's cr_pid; macOS has none, ask
 * LOCAL_PEERPID), LOCAL_PEEREID (NetBSD unpcbid: effective ids).
 */
export interface PeerCred { pid?: number; uid: number; gid: number; groups?: number[]; version?: number }
/**
 * TCP_INFO. On Linux every field of the headers' `struct tcp_info` that the
 * kernel returned (named without `tcpi_`; an older kernel returns fewer, so
 * those are optional); elsewhere the 13 shared fields. 64-bit counters
 * (`bytes_acked`, `delivery_rate`, …) are numbers, exact up to 2**53.
 */
export interface TcpInfo {
  /** The TCP state number (1 is ESTABLISHED on Linux); see `stateName`. */
  state: number;
  /** The state's name from the headers' enum: 'ESTABLISHED', 'LISTEN', 'SYN_SENT', 'CLOSE_WAIT', … */
  stateName?: string;
  options: number; snd_wscale: number; rcv_wscale: number; rto: number; snd_mss: number;
  rcv_mss: number; last_data_recv: number; rtt: number; rttvar: number; snd_ssthresh: number; snd_cwnd: number; rcv_space: number;
  // Linux.
  ca_state?: number; retransmits?: number; probes?: number; backoff?: number;
  delivery_rate_app_limited?: number; fastopen_client_fail?: number; ato?: number; unacked?: number; sacked?: number;
  lost?: number; retrans?: number; fackets?: number; last_data_sent?: number; last_ack_sent?: number; last_ack_recv?: number;
  pmtu?: number; rcv_ssthresh?: number; advmss?: number; reordering?: number; rcv_rtt?: number; total_retrans?: number;
  pacing_rate?: number; max_pacing_rate?: number; bytes_acked?: number; bytes_received?: number; segs_out?: number;
  segs_in?: number; notsent_bytes?: number; min_rtt?: number; data_segs_in?: number; data_segs_out?: number;
  delivery_rate?: number; busy_time?: number; rwnd_limited?: number; sndbuf_limited?: number; delivered?: number;
  delivered_ce?: number; bytes_sent?: number; bytes_retrans?: number; dsack_dups?: number; reord_seen?: number;
  rcv_ooopack?: number; snd_wnd?: number; rcv_wnd?: number; rehash?: number; total_rto?: number;
  total_rto_recoveries?: number; total_rto_time?: number;
}
/** Any typed option value. */
export type OptValue = number | boolean | string | Buffer | Linger | Timeval | IpMreq | IpMreqSource | Ipv6Mreq | PeerCred | TcpInfo | BpfInsn[]
  | PacketMreq | PacketFanoutValue | TpacketStats | null;

/** One row of the option table. */
export interface OptSpec {
  readonly level: number;
  readonly name: number;
  readonly levelName: string;
  readonly optName: string;
  readonly type: OptType;
  /** Get only. */
  readonly readonly: boolean;
  /** Set only (the kernel answers a get with an error: memberships). */
  readonly writeonly: boolean;
}

// The option table, by level and name: the kind of value, and ':get' (get
// only) or ':set' (set only). It is the one source of both the run-time
// table (rows whose constants this platform lacks are dropped, never given a
// wrong number) and the compile-time types of setsockopt/getsockopt.
const TABLE = {
  SOL_SOCKET: {
    SO_DEBUG: 'bool', SO_REUSEADDR: 'bool', SO_REUSEPORT: 'bool', SO_REUSEPORT_LB: 'bool', SO_KEEPALIVE: 'bool',
    SO_DONTROUTE: 'bool', SO_BROADCAST: 'bool', SO_LINGER: 'linger', SO_OOBINLINE: 'bool', SO_SNDBUF: 'int',
    SO_RCVBUF: 'int', SO_SNDBUFFORCE: 'int', SO_RCVBUFFORCE: 'int', SO_SNDLOWAT: 'int', SO_RCVLOWAT: 'int',
    SO_SNDTIMEO: 'timeval', SO_RCVTIMEO: 'timeval', SO_TYPE: 'int:get', SO_ERROR: 'int:get', SO_ACCEPTCONN: 'bool:get',
    SO_DOMAIN: 'int:get', SO_PROTOCOL: 'int:get', SO_PASSCRED: 'bool', SO_NOSIGPIPE: 'bool', SO_TIMESTAMP: 'bool',
    SO_TIMESTAMPNS: 'bool', SO_TIMESTAMPING: 'int', SO_MARK: 'int', SO_BINDTODEVICE: 'string', SO_PRIORITY: 'int',
    SO_RXQ_OVFL: 'bool', SO_BUSY_POLL: 'int', SO_INCOMING_CPU: 'int', SO_PEERCRED: 'peercred:get',
    SO_PASSPIDFD: 'bool', SO_PEERPIDFD: 'fd:get',
    // Classic BPF (lib/bpf): a get of SO_ATTACH_FILTER is SO_GET_FILTER (the same number).
    SO_ATTACH_FILTER: 'sock_fprog', SO_ATTACH_REUSEPORT_CBPF: 'sock_fprog:set', SO_DETACH_FILTER: 'int:set',
    SO_DETACH_REUSEPORT_BPF: 'int:set', SO_LOCK_FILTER: 'bool', SO_GET_FILTER: 'sock_fprog:get',
  },
  SOL_LOCAL: {
    LOCAL_PEERCRED: 'xucred:get', LOCAL_PEERPID: 'int:get', LOCAL_PEEREPID: 'int:get', LOCAL_PEEREID: 'unpcbid:get',
    LOCAL_CREDS: 'bool', LOCAL_CREDS_PERSISTENT: 'bool',
  },
  IPPROTO_IP: {
    IP_TTL: 'int', IP_TOS: 'int', IP_HDRINCL: 'bool', IP_PKTINFO: 'bool', IP_RECVPKTINFO: 'bool', IP_RECVDSTADDR: 'bool',
    IP_RECVIF: 'bool', IP_RECVTTL: 'bool', IP_RECVTOS: 'bool', IP_RECVERR: 'bool', IP_MTU_DISCOVER: 'int', IP_MTU: 'int:get',
    IP_FREEBIND: 'bool', IP_TRANSPARENT: 'bool', IP_RECVORIGDSTADDR: 'bool', IP_MULTICAST_IF: 'in_addr',
    IP_MULTICAST_TTL: 'uchar', IP_MULTICAST_LOOP: 'uchar', IP_ADD_MEMBERSHIP: 'ip_mreq:set', IP_DROP_MEMBERSHIP: 'ip_mreq:set',
    IP_ADD_SOURCE_MEMBERSHIP: 'ip_mreq_source:set', IP_DROP_SOURCE_MEMBERSHIP: 'ip_mreq_source:set',
    IP_BIND_ADDRESS_NO_PORT: 'bool', IP_MULTICAST_ALL: 'bool',
  },
  IPPROTO_IPV6: {
    IPV6_V6ONLY: 'bool', IPV6_UNICAST_HOPS: 'int', IPV6_RECVPKTINFO: 'bool', IPV6_RECVHOPLIMIT: 'bool', IPV6_RECVTCLASS: 'bool',
    IPV6_TCLASS: 'int', IPV6_RECVERR: 'bool', IPV6_MULTICAST_IF: 'int', IPV6_MULTICAST_HOPS: 'int', IPV6_MULTICAST_LOOP: 'bool',
    IPV6_JOIN_GROUP: 'ipv6_mreq:set', IPV6_LEAVE_GROUP: 'ipv6_mreq:set', IPV6_ADD_MEMBERSHIP: 'ipv6_mreq:set',
    IPV6_DROP_MEMBERSHIP: 'ipv6_mreq:set', IPV6_RECVORIGDSTADDR: 'bool', IPV6_MTU_DISCOVER: 'int', IPV6_MTU: 'int:get',
    IPV6_DONTFRAG: 'bool', IPV6_FREEBIND: 'bool', IPV6_TRANSPARENT: 'bool',
  },
  IPPROTO_TCP: {
    TCP_NODELAY: 'bool', TCP_KEEPIDLE: 'int', TCP_KEEPINTVL: 'int', TCP_KEEPCNT: 'int', TCP_KEEPALIVE: 'int', TCP_CORK: 'bool',
    TCP_NOPUSH: 'bool', TCP_MAXSEG: 'int', TCP_USER_TIMEOUT: 'int', TCP_FASTOPEN: 'int', TCP_FASTOPEN_CONNECT: 'bool',
    TCP_QUICKACK: 'bool', TCP_NOTSENT_LOWAT: 'int', TCP_DEFER_ACCEPT: 'int', TCP_SYNCNT: 'int', TCP_CONGESTION: 'string',
    TCP_INFO: 'tcp_info:get',
  },
  IPPROTO_UDP: { UDP_SEGMENT: 'int', UDP_GRO: 'bool', UDP_CORK: 'bool' },
  SOL_NETLINK: {
    NETLINK_ADD_MEMBERSHIP: 'int:set', NETLINK_DROP_MEMBERSHIP: 'int:set', NETLINK_PKTINFO: 'bool', NETLINK_BROADCAST_ERROR: 'bool',
    NETLINK_NO_ENOBUFS: 'bool', NETLINK_LISTEN_ALL_NSID: 'bool', NETLINK_CAP_ACK: 'bool', NETLINK_EXT_ACK: 'bool',
    NETLINK_GET_STRICT_CHK: 'bool',
  },
  SOL_PACKET: {
    PACKET_ADD_MEMBERSHIP: 'packet_mreq:set', PACKET_DROP_MEMBERSHIP: 'packet_mreq:set', PACKET_AUXDATA: 'bool',
    PACKET_FANOUT: 'packet_fanout', PACKET_STATISTICS: 'tpacket_stats:get', PACKET_IGNORE_OUTGOING: 'bool',
    PACKET_QDISC_BYPASS: 'bool', PACKET_VERSION: 'int', PACKET_ORIGDEV: 'bool', PACKET_LOSS: 'bool', PACKET_RESERVE: 'int',
    PACKET_TIMESTAMP: 'int', PACKET_VNET_HDR: 'bool',
  },
} as const;

/** The value of each kind, as setsockopt takes it and getsockopt returns it. */
interface KindValues {
  int: number; bool: boolean; uchar: number; fd: number; linger: Linger; timeval: Timeval; in_addr: string;
  ip_mreq: IpMreq; ip_mreq_source: IpMreqSource; ipv6_mreq: Ipv6Mreq; peercred: PeerCred; xucred: PeerCred; unpcbid: PeerCred;
  string: string; tcp_info: TcpInfo; sock_fprog: BpfInsn[];
  packet_mreq: PacketMreq; packet_fanout: PacketFanoutValue | null; tpacket_stats: TpacketStats;
}
/** What setsockopt takes for a kind (SO_RCVTIMEO/SO_SNDTIMEO also take milliseconds). */
interface KindInputs extends Omit<KindValues, 'timeval' | 'bool' | 'uchar' | 'sock_fprog' | 'packet_fanout'> {
  timeval: Timeval | number; bool: boolean | number; uchar: number | boolean; packet_fanout: PacketFanout | number;
  /** Instructions (validated as the kernel does), or their assembled `sock_filter[]` bytes. */
  sock_fprog: readonly BpfInsn[] | Buffer;
}

type Table = typeof TABLE;
type KindOf<S> = S extends `${infer K}:${string}` ? K : S;
/** The levels of the option table, by name. */
export type OptLevel = keyof Table;
/** The options of one level, by name. */
export type OptName<L extends OptLevel> = keyof Table[L] & string;
/** Every option name in the table. */
export type AnyOptName = { [L in OptLevel]: OptName<L> }[OptLevel];
/** What getsockopt(level, name) returns for a typed option. */
export type OptGet<L extends OptLevel, N extends OptName<L>> =
  Table[L][N] extends `${string}:set` ? never : KindValues[KindOf<Table[L][N]> & keyof KindValues];
/** What setsockopt(level, name, value) takes for a typed option (never for a get-only one). */
export type OptSet<L extends OptLevel, N extends OptName<L>> =
  Table[L][N] extends `${string}:get` ? never : KindInputs[KindOf<Table[L][N]> & keyof KindInputs] | Buffer;
/**
 * The value type of setsockopt for (L, N) given as names or numbers: the
 * table's type for a known pair; `never` for an option name of another
 * level (a mistake); anything encodable otherwise (numbers, raw options).
 */
export type SetValue<L, N> = L extends OptLevel
  ? N extends OptName<L> ? OptSet<L, N> : N extends AnyOptName ? never : OptValue | Buffer
  : N extends AnyOptName ? (L extends string ? never : OptValue | Buffer) : OptValue | Buffer;
/** The return type of getsockopt for (L, N), as for SetValue. */
export type GetValue<L, N> = L extends OptLevel
  ? N extends OptName<L> ? OptGet<L, N> : N extends AnyOptName ? never : OptValue
  : OptValue;

function levelValue(levelName: string): number | undefined {
  // SOL_LOCAL is 0 where the platform names it; Linux has no such level.
  return constants[levelName];
}

/** The option table for this platform, in the order above. */
export const sockopts: ReadonlyArray<OptSpec> = Object.freeze(Object.entries(TABLE).flatMap(([levelName, names]) => {
  const level = levelValue(levelName);
  if (level === undefined) return [];
  return Object.entries(names as Record<string, string>).flatMap(([optName, spec]) => {
    const name = constants[optName];
    if (name === undefined) return [];
    const [kind, access] = spec.split(':') as [string, string | undefined];
    const type = (kind === 'peercred' ? (native.optKinds.ucred ? 'ucred' : 'sockpeercred') : kind) as OptType;
    const structKinds = ['linger', 'timeval', 'ip_mreq', 'ip_mreq_source', 'ipv6_mreq', 'ucred', 'xucred', 'sockpeercred', 'tcp_info', 'sock_fprog',
      'packet_mreq', 'tpacket_stats', 'unpcbid'];
    if (structKinds.includes(type) && !native.optKinds[type]) return [];
    return [Object.freeze({ level, name, levelName, optName, type, readonly: access === 'get', writeonly: access === 'set' })];
  });
}));

const byKey = new Map<string, OptSpec>();
for (const s of sockopts) if (!byKey.has(`${s.level}:${s.name}`)) byKey.set(`${s.level}:${s.name}`, s);

/** The table row for (level, name), if the option is typed here. */
export function optSpec(level: number, name: number): OptSpec | undefined {
  return byKey.get(`${level}:${name}`);
}

const INT = native.sizes.int!;

function int(v: number): Buffer {
  const b = Buffer.alloc(INT);
  writeHostInt(b, v);
  return b;
}

function inAddr(s: unknown): Buffer {
  if (typeof s !== 'string') throw new TypeError('option value must be an IPv4 address string');
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) {
    throw new TypeError(`option value is not an IPv4 address: '${s}'`);
  }
  return Buffer.from(parts.map(Number));
}

/** Encodes a typed value for (level, name); anything not in the table must be a Buffer. */
export function encodeOption(spec: OptSpec | undefined, value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  const t = spec?.type ?? 'buffer';
  const where = spec ? `${spec.optName}` : 'option';
  switch (t) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${where} takes an integer`);
      if (value < -0x80000000 || value > 0xffffffff) throw new RangeError(`${where} is out of range`);
      return int(value | 0);
    case 'bool':
      if (typeof value === 'boolean') return int(value ? 1 : 0);
      if (typeof value === 'number' && Number.isInteger(value)) return int(value | 0);
      throw new TypeError(`${where} takes a boolean`);
    case 'uchar': {
      const n = typeof value === 'boolean' ? (value ? 1 : 0) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw new TypeError(`${where} takes an integer 0..255`);
      if (n < 0 || n > 255) throw new RangeError(`${where} takes an integer 0..255`);
      return Buffer.from([n]);
    }
    case 'linger': {
      const v = value as Linger;
      if (typeof v !== 'object' || v === null) throw new TypeError(`${where} takes { onoff, linger }`);
      return native.encodeOpt('linger', { onoff: v.onoff === true ? 1 : v.onoff === false ? 0 : v.onoff, linger: v.linger });
    }
    case 'timeval': {
      if (typeof value === 'number') {
        if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`${where} takes milliseconds >= 0 or { sec, usec }`);
        return native.encodeOpt('timeval', { sec: Math.floor(value / 1000), usec: Math.round((value % 1000) * 1000) });
      }
      if (typeof value !== 'object' || value === null) throw new TypeError(`${where} takes { sec, usec } or milliseconds`);
      return native.encodeOpt('timeval', value);
    }
    case 'in_addr':
      return inAddr(value);
    case 'ip_mreq': {
      const v = value as IpMreq;
      if (typeof v !== 'object' || v === null) throw new TypeError(`${where} takes { multiaddr, interface }`);
      if ((v.ifindex !== undefined || v.address !== undefined) && native.optKinds.ip_mreqn) return native.encodeOpt('ip_mreqn', v);
      return native.encodeOpt('ip_mreq', v);
    }
    case 'ip_mreq_source':
    case 'ipv6_mreq':
      if (typeof value !== 'object' || value === null) throw new TypeError(`${where} takes an object`);
      return native.encodeOpt(t, value);
    case 'string':
      if (typeof value !== 'string') throw new TypeError(`${where} takes a string`);
      return Buffer.from(value, 'utf8');
    case 'sock_fprog':
      // Checked here as the kernel will (TypeError/RangeError); native builds the sock_fprog over these bytes.
      if (!Array.isArray(value)) throw new TypeError(`${where} takes a BPF program: an array of { code, jt, jf, k } or its assembled Buffer`);
      return assemble(value);
    case 'packet_mreq':
      return encodePacketMreq(value, where);
    case 'packet_fanout':
      return int(fanoutValue(value, where) | 0);
    case 'ucred':
    case 'xucred':
    case 'sockpeercred':
    case 'unpcbid':
    case 'tcp_info':
    case 'tpacket_stats':
      throw new TypeError(`${where} is read-only`);
    case 'buffer':
    default:
      throw new TypeError(`${where} is not in the option table: pass a Buffer`);
  }
}

/** Decodes `len` bytes of a value for (level, name); short values read missing fields as 0. */
export function decodeOption(spec: OptSpec | undefined, buf: Buffer, len: number): OptValue {
  const b = buf.subarray(0, Math.min(len, buf.length));
  switch (spec?.type ?? 'buffer') {
    case 'fd':
    case 'int': {
      if (b.length >= INT) return readHostInt(b);
      const p = Buffer.alloc(INT);
      b.copy(p);
      return readHostInt(p);
    }
    case 'bool':
      return b.some((x) => x !== 0);
    case 'packet_fanout': {
      const p = Buffer.alloc(INT);
      b.copy(p);
      return decodeFanout(readHostInt(p));
    }
    case 'uchar':
      // Linux answers a one-byte get with one byte and an int get with an int.
      return b.length >= INT ? readHostInt(b) : b.length > 0 ? b[0]! : 0;
    case 'in_addr':
      return b.length >= 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : '0.0.0.0';
    case 'string': {
      const z = b.indexOf(0);
      return b.subarray(0, z < 0 ? b.length : z).toString('utf8');
    }
    case 'buffer':
      return Buffer.from(b);
    case 'sock_fprog':
      return fromBytes(b.subarray(0, b.length - (b.length % 8)));
    case 'ip_mreq':
      return native.decodeOpt(b.length > 8 && native.optKinds.ip_mreqn ? 'ip_mreqn' : 'ip_mreq', b, b.length) as unknown as IpMreq;
    default:
      return native.decodeOpt(spec!.type, b, b.length) as unknown as OptValue;
  }
}

/** Bytes to ask the kernel for when getting (level, name). */
export function optionSize(spec: OptSpec | undefined): number {
  switch (spec?.type ?? 'buffer') {
    case 'fd':
    case 'int':
    case 'bool':
    case 'packet_fanout':
      return INT;
    case 'uchar':
      return 1;
    case 'in_addr':
      return 4;
    case 'string':
      return 256;
    case 'sock_fprog':
      return 4096 * 8; // BPF_MAXINSNS instructions
    case 'buffer':
      return 1024;
    default:
      return 512; // structs: the kernel reports the real length
  }
}
