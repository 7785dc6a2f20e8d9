// Packet sockets (AF_PACKET): the typed values of their options, the
// ethertype a socket is created with, and the names of fanout modes and
// membership types. Numbers come from the platform's headers (constants);
// this file only maps names to them. It imports nothing that imports it back
// (lib/options.ts and the kernel face use it).
import { endianness } from 'node:os';
import { native } from './native';
import { constants } from './constants';
import { SocketError } from './errors';

/** Membership types of PACKET_ADD_MEMBERSHIP, by name (PACKET_MR_* constants or numbers also work). */
export type PacketMembershipType = 'promisc' | 'multicast' | 'allmulti' | 'unicast';

/**
 * `struct packet_mreq`: the value of PACKET_ADD_MEMBERSHIP / PACKET_DROP_MEMBERSHIP.
 * Give the interface by `ifindex` or `ifname`. `address` (up to 8 bytes) is
 * the link-layer address for 'multicast' and 'unicast'.
 */
export interface PacketMreq {
  ifindex?: number;
  ifname?: string;
  type: PacketMembershipType | `PACKET_MR_${string}` | number;
  address?: Buffer;
}

/** Fanout modes of PACKET_FANOUT (the PACKET_FANOUT_* constants without the prefix, lower-case). */
export type FanoutMode = 'hash' | 'lb' | 'cpu' | 'rollover' | 'rnd' | 'qm' | 'cbpf' | 'ebpf';
/** Fanout flags (PACKET_FANOUT_FLAG_*). */
export type FanoutFlag = 'rollover' | 'uniqueid' | 'ignore_outgoing' | 'defrag';

/**
 * PACKET_FANOUT: join fanout group `group` (0..65535) with `mode`; sockets of
 * one group (same mode and flags) share the packets of their interface.
 * The kernel's int is `group | mode << 16 | flags << 16`.
 */
export interface PacketFanout {
  group: number;
  mode: FanoutMode | number;
  flags?: FanoutFlag[] | number;
}

/** PACKET_FANOUT as getsockopt returns it (null when the socket is in no group). */
export interface PacketFanoutValue {
  group: number;
  /** The mode's name, or its number when this platform does not name it. */
  mode: FanoutMode | number;
  flags: Array<FanoutFlag | number>;
}

/**
 * PACKET_STATISTICS (`struct tpacket_stats`): packets received and dropped
 * since the last read. **The kernel resets both counters on every read.**
 * `freeze_q_cnt` is there on a TPACKET_V3 socket.
 */
export interface TpacketStats { packets: number; drops: number; freeze_q_cnt?: number }

/**
 * A PACKET_AUXDATA control item (`struct tpacket_auxdata`): the frame's
 * status bits (TP_STATUS_*), original and captured lengths, offsets of the
 * link and network headers, and the VLAN tag the device stripped: `vlan_tci`
 * is valid when `status & TP_STATUS_VLAN_VALID` (the VLAN id is `vlan_tci &
 * 0xfff`), `vlan_tpid` when `status & TP_STATUS_VLAN_TPID_VALID`.
 */
export interface TpacketAuxdata {
  status: number; len: number; snaplen: number; mac: number; net: number; vlan_tci: number; vlan_tpid: number;
}

const MODES: readonly FanoutMode[] = ['hash', 'lb', 'cpu', 'rollover', 'rnd', 'qm', 'cbpf', 'ebpf'];
const FLAGS: readonly FanoutFlag[] = ['rollover', 'uniqueid', 'ignore_outgoing', 'defrag'];
const MR_TYPES: readonly PacketMembershipType[] = ['promisc', 'multicast', 'allmulti', 'unicast'];

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function constant(name: string, what: string): number {
  const v = constants[name];
  if (v === undefined) throw new TypeError(`${what}: this platform has no ${name}`);
  return v;
}

/** The membership type's number. */
export function membershipType(t: unknown): number {
  if (isInt(t)) {
    if (t < 0 || t > 0xffff) throw new RangeError('packet_mreq type is out of range 0..65535');
    return t;
  }
  if (typeof t === 'string') {
    if (t.startsWith('PACKET_MR_')) return constant(t, 'packet_mreq type');
    if ((MR_TYPES as readonly string[]).includes(t)) return constant(`PACKET_MR_${t.toUpperCase()}`, 'packet_mreq type');
  }
  throw new TypeError(`packet_mreq type must be one of ${MR_TYPES.join(', ')}, a PACKET_MR_* name or a number`);
}

/** Encodes a PacketMreq (the interface name is resolved here: ENODEV when there is none). */
export function encodePacketMreq(v: unknown, where: string): Buffer {
  if (typeof v !== 'object' || v === null) throw new TypeError(`${where} takes { ifindex | ifname, type, address? }`);
  const m = v as PacketMreq;
  let ifindex: number;
  if (m.ifname !== undefined) {
    if (typeof m.ifname !== 'string') throw new TypeError(`${where}: ifname must be a string`);
    if (m.ifindex !== undefined) throw new TypeError(`${where}: give ifindex or ifname, not both`);
    ifindex = native.if_nametoindex(m.ifname);
    if (ifindex <= 0) throw new SocketError(constants.ENODEV ?? 19, 'if_nametoindex', undefined, `if_nametoindex ENODEV: no interface '${m.ifname}'`);
  } else {
    if (!isInt(m.ifindex)) throw new TypeError(`${where}: ifindex must be an integer (or give ifname)`);
    if (m.ifindex < 0 || m.ifindex > 0x7fffffff) throw new RangeError(`${where}: ifindex is out of range`);
    ifindex = m.ifindex;
  }
  const type = membershipType(m.type);
  if (m.address !== undefined && !Buffer.isBuffer(m.address)) throw new TypeError(`${where}: address must be a Buffer`);
  if (m.address !== undefined && m.address.length > 8) throw new RangeError(`${where}: address is longer than 8 bytes`);
  return native.encodeOpt('packet_mreq', { ifindex, type, address: m.address });
}

/** The int PACKET_FANOUT takes, from its typed form (or an int as it is). */
export function fanoutValue(v: unknown, where = 'PACKET_FANOUT'): number {
  if (isInt(v)) {
    if (v < 0 || v > 0xffffffff) throw new RangeError(`${where} is out of range`);
    return v;
  }
  if (typeof v !== 'object' || v === null) throw new TypeError(`${where} takes { group, mode, flags? } or an integer`);
  const f = v as PacketFanout;
  if (!isInt(f.group)) throw new TypeError(`${where}: group must be an integer`);
  if (f.group < 0 || f.group > 0xffff) throw new RangeError(`${where}: group is out of range 0..65535`);
  let mode: number;
  if (isInt(f.mode)) {
    if (f.mode < 0 || f.mode > 0xff) throw new RangeError(`${where}: mode is out of range 0..255`);
    mode = f.mode;
  } else if (typeof f.mode === 'string' && (MODES as readonly string[]).includes(f.mode)) {
    mode = constant(`PACKET_FANOUT_${f.mode.toUpperCase()}`, where);
  } else {
    throw new TypeError(`${where}: mode must be one of ${MODES.join(', ')} or a number`);
  }
  let flags = 0;
  if (isInt(f.flags)) {
    if ((f.flags & ~0xff00) !== 0) throw new RangeError(`${where}: flags must be PACKET_FANOUT_FLAG_* bits`);
    flags = f.flags;
  } else if (Array.isArray(f.flags)) {
    if (f.flags.length > FLAGS.length) throw new RangeError(`${where}: too many flags`);
    for (const x of f.flags) {
      if (typeof x !== 'string' || !(FLAGS as readonly string[]).includes(x)) {
        throw new TypeError(`${where}: flags must be among ${FLAGS.join(', ')}`);
      }
      flags |= constant(`PACKET_FANOUT_FLAG_${x.toUpperCase()}`, where);
    }
  } else if (f.flags !== undefined) {
    throw new TypeError(`${where}: flags must be a list of names or a number`);
  }
  return (f.group | ((mode | flags) << 16)) >>> 0;
}

/** The typed form of PACKET_FANOUT's int (null for 0: in no group). */
export function decodeFanout(v: number): PacketFanoutValue | null {
  if (v === 0) return null;
  const u = v >>> 0;
  const modeNum = (u >>> 16) & 0xff;
  const flagBits = (u >>> 16) & 0xff00;
  const mode = MODES.find((m) => constants[`PACKET_FANOUT_${m.toUpperCase()}`] === modeNum) ?? modeNum;
  const flags: Array<FanoutFlag | number> = [];
  let rest = flagBits;
  for (const f of FLAGS) {
    const bit = constants[`PACKET_FANOUT_FLAG_${f.toUpperCase()}`];
    if (bit !== undefined && (rest & bit) !== 0) {
      flags.push(f);
      rest &= ~bit;
    }
  }
  if (rest !== 0) flags.push(rest);
  return { group: u & 0xffff, mode, flags };
}

const LE = endianness() === 'LE';

/** htons: a 16-bit value in network byte order, as the kernel wants an AF_PACKET protocol. */
export function htons(v: number): number {
  return LE ? ((v & 0xff) << 8) | ((v >>> 8) & 0xff) : v & 0xffff;
}

/** ntohs (the same swap). */
export const ntohs = htons;

/**
 * The protocol argument of socket(2) as the kernel wants it for `domain`:
 * for AF_PACKET it is an ethertype in network byte order, so the host-order
 * number ksock takes (ETH_P_ALL, ETH_P_IP, 0x88cc …) is converted with htons,
 * the same convention as the `protocol` field of an AF_PACKET address. It is
 * converted always: a value already swapped by hand (htons(ETH_P_ALL) = 768
 * on a little-endian host) would be swapped back and means ethertype 0x0300.
 * Other domains: unchanged.
 */
export function socketProtocol(domain: number, protocol: number, where: string): number {
  if (domain !== constants.AF_PACKET || constants.AF_PACKET === undefined) return protocol;
  if (protocol < 0 || protocol > 0xffff) throw new RangeError(`${where}: an AF_PACKET protocol is an ethertype 0..0xffff in host byte order`);
  return htons(protocol);
}

/** The host-order ethertype of an AF_PACKET socket whose protocol the kernel reports (SO_PROTOCOL is in network order). */
export function hostProtocol(domain: number, protocol: number): number {
  if (domain !== constants.AF_PACKET || constants.AF_PACKET === undefined) return protocol;
  return ntohs(protocol & 0xffff);
}
