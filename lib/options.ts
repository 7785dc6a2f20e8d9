// Typed socket options: one table says, for each (level, name) this platform
// has, what kind of value it takes. Struct layouts are the native layer's
// business (they differ between platforms); this file only picks the kind.
import { native } from './native';
import { constants } from './constants';
import { readHostInt, writeHostInt } from './core/socket';

/** The kinds of option value. */
export type OptType =
  | 'int' | 'bool' | 'uchar' | 'linger' | 'timeval' | 'in_addr' | 'ip_mreq' | 'ip_mreq_source'
  | 'ipv6_mreq' | 'ucred' | 'xucred' | 'sockpeercred' | 'string' | 'buffer' | 'tcp_info'
  /** A new descriptor (close-on-exec) that the caller owns and must close: SO_PEERPIDFD. */
  | 'fd';

export interface Linger { onoff: number | boolean; linger: number }
export interface Timeval { sec: number; usec: number }
/** ip_mreq; with `ifindex` or `address` it is sent as Linux's ip_mreqn. */
export interface IpMreq { multiaddr: string; interface?: string; address?: string; ifindex?: number }
export interface IpMreqSource { multiaddr: string; sourceaddr: string; interface?: string }
export interface Ipv6Mreq { multiaddr: string; ifindex?: number }
export interface PeerCred { pid?: number; uid: number; gid: number; groups?: number[]; version?: number }
export interface TcpInfo {
  state: number; options: number; snd_wscale: number; rcv_wscale: number; rto: number; snd_mss: number;
  rcv_mss: number; last_data_recv: number; rtt: number; rttvar: number; snd_ssthresh: number; snd_cwnd: number; rcv_space: number;
}
/** Any typed option value. */
export type OptValue = number | boolean | string | Buffer | Linger | Timeval | IpMreq | IpMreqSource | Ipv6Mreq | PeerCred | TcpInfo;

/** One row of the option table. */
export interface OptSpec {
  readonly level: number;
  readonly name: number;
  readonly levelName: string;
  readonly optName: string;
  readonly type: OptType;
  /** Get only. */
  readonly readonly: boolean;
}

// [level, name, type, read-only?]. Rows whose constants this platform lacks
// are dropped, never given a wrong number.
const ROWS: ReadonlyArray<readonly [string, string, OptType, boolean?]> = [
  ['SOL_SOCKET', 'SO_DEBUG', 'bool'], ['SOL_SOCKET', 'SO_REUSEADDR', 'bool'], ['SOL_SOCKET', 'SO_REUSEPORT', 'bool'],
  ['SOL_SOCKET', 'SO_REUSEPORT_LB', 'bool'], ['SOL_SOCKET', 'SO_KEEPALIVE', 'bool'], ['SOL_SOCKET', 'SO_DONTROUTE', 'bool'],
  ['SOL_SOCKET', 'SO_BROADCAST', 'bool'], ['SOL_SOCKET', 'SO_LINGER', 'linger'], ['SOL_SOCKET', 'SO_OOBINLINE', 'bool'],
  ['SOL_SOCKET', 'SO_SNDBUF', 'int'], ['SOL_SOCKET', 'SO_RCVBUF', 'int'], ['SOL_SOCKET', 'SO_SNDBUFFORCE', 'int'],
  ['SOL_SOCKET', 'SO_RCVBUFFORCE', 'int'], ['SOL_SOCKET', 'SO_SNDLOWAT', 'int'], ['SOL_SOCKET', 'SO_RCVLOWAT', 'int'],
  ['SOL_SOCKET', 'SO_SNDTIMEO', 'timeval'], ['SOL_SOCKET', 'SO_RCVTIMEO', 'timeval'], ['SOL_SOCKET', 'SO_TYPE', 'int', true],
  ['SOL_SOCKET', 'SO_ERROR', 'int', true], ['SOL_SOCKET', 'SO_ACCEPTCONN', 'bool', true], ['SOL_SOCKET', 'SO_DOMAIN', 'int', true],
  ['SOL_SOCKET', 'SO_PROTOCOL', 'int', true], ['SOL_SOCKET', 'SO_PASSCRED', 'bool'], ['SOL_SOCKET', 'SO_NOSIGPIPE', 'bool'],
  ['SOL_SOCKET', 'SO_TIMESTAMP', 'bool'], ['SOL_SOCKET', 'SO_TIMESTAMPNS', 'bool'], ['SOL_SOCKET', 'SO_TIMESTAMPING', 'int'],
  ['SOL_SOCKET', 'SO_MARK', 'int'], ['SOL_SOCKET', 'SO_BINDTODEVICE', 'string'], ['SOL_SOCKET', 'SO_PRIORITY', 'int'],
  ['SOL_SOCKET', 'SO_RXQ_OVFL', 'bool'], ['SOL_SOCKET', 'SO_BUSY_POLL', 'int'], ['SOL_SOCKET', 'SO_INCOMING_CPU', 'int'],
  ['SOL_SOCKET', 'SO_PEERCRED', native.optKinds.ucred ? 'ucred' : 'sockpeercred', true],
  ['SOL_SOCKET', 'SO_PASSPIDFD', 'bool'], ['SOL_SOCKET', 'SO_PEERPIDFD', 'fd', true],
  ['SOL_LOCAL', 'LOCAL_PEERCRED', 'xucred', true],
  ['IPPROTO_IP', 'IP_TTL', 'int'], ['IPPROTO_IP', 'IP_TOS', 'int'], ['IPPROTO_IP', 'IP_HDRINCL', 'bool'],
  ['IPPROTO_IP', 'IP_PKTINFO', 'bool'], ['IPPROTO_IP', 'IP_RECVPKTINFO', 'bool'], ['IPPROTO_IP', 'IP_RECVDSTADDR', 'bool'],
  ['IPPROTO_IP', 'IP_RECVIF', 'bool'], ['IPPROTO_IP', 'IP_RECVTTL', 'bool'], ['IPPROTO_IP', 'IP_RECVTOS', 'bool'],
  ['IPPROTO_IP', 'IP_RECVERR', 'bool'], ['IPPROTO_IP', 'IP_MTU_DISCOVER', 'int'], ['IPPROTO_IP', 'IP_MTU', 'int', true],
  ['IPPROTO_IP', 'IP_FREEBIND', 'bool'], ['IPPROTO_IP', 'IP_TRANSPARENT', 'bool'], ['IPPROTO_IP', 'IP_RECVORIGDSTADDR', 'bool'],
  ['IPPROTO_IP', 'IP_MULTICAST_IF', 'in_addr'], ['IPPROTO_IP', 'IP_MULTICAST_TTL', 'uchar'], ['IPPROTO_IP', 'IP_MULTICAST_LOOP', 'uchar'],
  ['IPPROTO_IP', 'IP_ADD_MEMBERSHIP', 'ip_mreq'], ['IPPROTO_IP', 'IP_DROP_MEMBERSHIP', 'ip_mreq'],
  ['IPPROTO_IP', 'IP_ADD_SOURCE_MEMBERSHIP', 'ip_mreq_source'], ['IPPROTO_IP', 'IP_DROP_SOURCE_MEMBERSHIP', 'ip_mreq_source'],
  ['IPPROTO_IP', 'IP_BIND_ADDRESS_NO_PORT', 'bool'], ['IPPROTO_IP', 'IP_MULTICAST_ALL', 'bool'],
  ['IPPROTO_IPV6', 'IPV6_V6ONLY', 'bool'], ['IPPROTO_IPV6', 'IPV6_UNICAST_HOPS', 'int'], ['IPPROTO_IPV6', 'IPV6_RECVPKTINFO', 'bool'],
  ['IPPROTO_IPV6', 'IPV6_RECVHOPLIMIT', 'bool'], ['IPPROTO_IPV6', 'IPV6_RECVTCLASS', 'bool'], ['IPPROTO_IPV6', 'IPV6_TCLASS', 'int'],
  ['IPPROTO_IPV6', 'IPV6_RECVERR', 'bool'], ['IPPROTO_IPV6', 'IPV6_MULTICAST_IF', 'int'], ['IPPROTO_IPV6', 'IPV6_MULTICAST_HOPS', 'int'],
  ['IPPROTO_IPV6', 'IPV6_MULTICAST_LOOP', 'bool'], ['IPPROTO_IPV6', 'IPV6_JOIN_GROUP', 'ipv6_mreq'],
  ['IPPROTO_IPV6', 'IPV6_LEAVE_GROUP', 'ipv6_mreq'], ['IPPROTO_IPV6', 'IPV6_ADD_MEMBERSHIP', 'ipv6_mreq'],
  ['IPPROTO_IPV6', 'IPV6_DROP_MEMBERSHIP', 'ipv6_mreq'], ['IPPROTO_IPV6', 'IPV6_RECVORIGDSTADDR', 'bool'],
  ['IPPROTO_IPV6', 'IPV6_MTU_DISCOVER', 'int'], ['IPPROTO_IPV6', 'IPV6_MTU', 'int', true], ['IPPROTO_IPV6', 'IPV6_DONTFRAG', 'bool'],
  ['IPPROTO_IPV6', 'IPV6_FREEBIND', 'bool'], ['IPPROTO_IPV6', 'IPV6_TRANSPARENT', 'bool'],
  ['IPPROTO_TCP', 'TCP_NODELAY', 'bool'], ['IPPROTO_TCP', 'TCP_KEEPIDLE', 'int'], ['IPPROTO_TCP', 'TCP_KEEPINTVL', 'int'],
  ['IPPROTO_TCP', 'TCP_KEEPCNT', 'int'], ['IPPROTO_TCP', 'TCP_KEEPALIVE', 'int'], ['IPPROTO_TCP', 'TCP_CORK', 'bool'],
  ['IPPROTO_TCP', 'TCP_NOPUSH', 'bool'], ['IPPROTO_TCP', 'TCP_MAXSEG', 'int'], ['IPPROTO_TCP', 'TCP_USER_TIMEOUT', 'int'],
  ['IPPROTO_TCP', 'TCP_FASTOPEN', 'int'], ['IPPROTO_TCP', 'TCP_FASTOPEN_CONNECT', 'bool'], ['IPPROTO_TCP', 'TCP_QUICKACK', 'bool'],
  ['IPPROTO_TCP', 'TCP_NOTSENT_LOWAT', 'int'], ['IPPROTO_TCP', 'TCP_DEFER_ACCEPT', 'int'], ['IPPROTO_TCP', 'TCP_SYNCNT', 'int'],
  ['IPPROTO_TCP', 'TCP_CONGESTION', 'string'], ['IPPROTO_TCP', 'TCP_INFO', 'tcp_info', true],
  ['IPPROTO_UDP', 'UDP_SEGMENT', 'int'], ['IPPROTO_UDP', 'UDP_GRO', 'bool'], ['IPPROTO_UDP', 'UDP_CORK', 'bool'],
];

function levelValue(levelName: string): number | undefined {
  // SOL_LOCAL is 0 where the platform names it; Linux has no such level.
  return constants[levelName];
}

/** The option table for this platform, in the order above. */
export const sockopts: ReadonlyArray<OptSpec> = Object.freeze(ROWS.flatMap(([levelName, optName, type, ro]) => {
  const level = levelValue(levelName);
  const name = constants[optName];
  if (level === undefined || name === undefined) return [];
  const structKinds = ['linger', 'timeval', 'ip_mreq', 'ip_mreq_source', 'ipv6_mreq', 'ucred', 'xucred', 'sockpeercred', 'tcp_info'];
  if (structKinds.includes(type) && !native.optKinds[type]) return [];
  return [Object.freeze({ level, name, levelName, optName, type, readonly: ro === true })];
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
    case 'ucred':
    case 'xucred':
    case 'sockpeercred':
    case 'tcp_info':
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
      return INT;
    case 'uchar':
      return 1;
    case 'in_addr':
      return 4;
    case 'string':
      return 256;
    case 'buffer':
      return 1024;
    default:
      return 512; // structs: the kernel reports the real length
  }
}
