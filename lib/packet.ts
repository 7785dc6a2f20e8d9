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
  // Each field is read once (a getter answers once).
  const { ifname, ifindex: index, type: t, address } = v as PacketMreq;
  let ifindex: number;
  if (ifname !== undefined) {
    if (typeof ifname !== 'string') throw new TypeError(`${where}: ifname must be a string`);
    if (index !== undefined) throw new TypeError(`${where}: give ifindex or ifname, not both`);
    ifindex = native.if_nametoindex(ifname);
    if (ifindex <= 0) throw new SocketError(constants.ENODEV ?? 19, 'if_nametoindex', undefined, `if_nametoindex ENODEV: no interface '${ifname}'`);
  } else {
    if (!isInt(index)) throw new TypeError(`${where}: ifindex must be an integer (or give ifname)`);
    if (index < 0 || index > 0x7fffffff) throw new RangeError(`${where}: ifindex is out of range`);
    ifindex = index;
  }
  const type = membershipType(t);
  if (address !== undefined && !Buffer.isBuffer(address)) throw new TypeError(`${where}: address must be a Buffer`);
  if (address !== undefined && address.length > 8) throw new RangeError(`${where}: address is longer than 8 bytes`);
  return native.encodeOpt('packet_mreq', { ifindex, type, address });
}

/** The int PACKET_FANOUT takes, from its typed form (or an int as it is). */
export function fanoutValue(v: unknown, where = 'PACKET_FANOUT'): number {
  if (isInt(v)) {
    if (v < 0 || v > 0xffffffff) throw new RangeError(`${where} is out of range`);
    return v;
  }
  if (typeof v !== 'object' || v === null) throw new TypeError(`${where} takes { group, mode, flags? } or an integer`);
  // Each field is read once (a getter answers once).
  const { group, mode: m, flags: fl } = v as PacketFanout;
  if (!isInt(group)) throw new TypeError(`${where}: group must be an integer`);
  if (group < 0 || group > 0xffff) throw new RangeError(`${where}: group is out of range 0..65535`);
  let mode: number;
  if (isInt(m)) {
    if (m < 0 || m > 0xff) throw new RangeError(`${where}: mode is out of range 0..255`);
    mode = m;
  } else if (typeof m === 'string' && (MODES as readonly string[]).includes(m)) {
    mode = constant(`PACKET_FANOUT_${m.toUpperCase()}`, where);
  } else {
    throw new TypeError(`${where}: mode must be one of ${MODES.join(', ')} or a number`);
  }
  let flags = 0;
  if (isInt(fl)) {
    if ((fl & ~0xff00) !== 0) throw new RangeError(`${where}: flags must be PACKET_FANOUT_FLAG_* bits`);
    flags = fl;
  } else if (Array.isArray(fl)) {
    const n = fl.length;
    if (!(n <= FLAGS.length)) throw new RangeError(`${where}: too many flags`);
    for (let i = 0; i < n; i++) {
      const x: unknown = fl[i];
      if (typeof x !== 'string' || !(FLAGS as readonly string[]).includes(x)) {
        throw new TypeError(`${where}: flags must be among ${FLAGS.join(', ')}`);
      }
      flags |= constant(`PACKET_FANOUT_FLAG_${x.toUpperCase()}`, where);
    }
  } else if (fl !== undefined) {
    throw new TypeError(`${where}: flags must be a list of names or a number`);
  }
  return (group | ((mode | flags) << 16)) >>> 0;
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

// ------------------------------------------------------------------ printing

/** An IPv4 address from 4 bytes. */
function ip4(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** An IPv6 address from 16 bytes, as inet_ntop writes it (RFC 5952: the longest run of ≥ 2 zero groups as ::). */
function ip6(b: Buffer, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(o + 2 * i));
  // IPv4-mapped and -compatible forms as inet_ntop prints them.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || (g[5] === 0 && (g[6]! > 0 || g[7]! > 1)))) {
    return `::${g[5] === 0xffff ? 'ffff:' : ''}${ip4(b, o + 12)}`;
  }
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

function mac(b: Buffer, o: number): string {
  const p: string[] = [];
  for (let i = 0; i < 6; i++) p.push(b[o + i]!.toString(16).padStart(2, '0'));
  return p.join(':');
}

/** `HH:MM:SS.uuuuuu` in local time, as tcpdump's default timestamp. */
export function tcpdumpTime(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}`;
}

const TCP_FLAGS: ReadonlyArray<[number, string]> = [[0x01, 'F'], [0x02, 'S'], [0x04, 'R'], [0x08, 'P'], [0x10, '.'], [0x20, 'U'], [0x40, 'E'], [0x80, 'W']];

interface TcpFlowBase { seq: number; ack: number }

/**
 * Prints captured frames as one line each, in the format of `tcpdump -n`
 * (IPv4/IPv6 with UDP, TCP, ICMP and ICMPv6; ARP; other ethertypes by
 * number). Application protocols are not decoded (tcpdump decodes DNS and
 * others on their well-known ports). TCP sequence numbers are relative after
 * the handshake, as tcpdump prints them, so a printer keeps per-flow state:
 * use one printer per capture.
 */
export class PacketPrinter {
  readonly #flows = new Map<string, TcpFlowBase>();

  /** The line for one frame (without a newline). `linktype`: 1 Ethernet (default), 101 raw IP. */
  line(frame: Buffer, sec: number, nsec: number, linktype = 1): string {
    return `${tcpdumpTime(sec, nsec)} ${this.describe(frame, linktype)}`;
  }

  /** The line without its timestamp. */
  describe(frame: Buffer, linktype = 1): string {
    if (!Buffer.isBuffer(frame)) throw new TypeError('PacketPrinter: frame must be a Buffer');
    try {
      if (linktype === 101) return this.#ipAny(frame, 0, frame.length);
      if (linktype !== 1) return `linktype ${linktype}, length ${frame.length}`;
      return this.#ether(frame);
    } catch (e) {
      if (e instanceof RangeError) return `[|truncated], length ${frame.length}`;
      throw e;
    }
  }

  #ether(b: Buffer): string {
    if (b.length < 14) return `[|ether]`;
    let o = 12;
    let type = b.readUInt16BE(o);
    // 802.1Q / 802.1ad tags: tcpdump without -e says nothing of them.
    for (let n = 0; (type === 0x8100 || type === 0x88a8 || type === 0x9100) && n < 4 && o + 6 <= b.length; n++) {
      o += 4;
      type = b.readUInt16BE(o);
    }
    const p = o + 2;
    const rest = b.length - p;
    switch (type) {
      case 0x0800: return this.#ip(b, p, rest);
      case 0x86dd: return this.#ip6(b, p, rest);
      case 0x0806: return this.#arp(b, p, rest);
      default:
        if (type <= 1500) return `${mac(b, 6)} > ${mac(b, 0)}, 802.3, length ${b.length}: LLC`;
        return `${mac(b, 6)} > ${mac(b, 0)}, ethertype Unknown (0x${type.toString(16).padStart(4, '0')}), length ${b.length}: `;
    }
  }

  #ipAny(b: Buffer, p: number, len: number): string {
    const v = (b[p]! >> 4) & 0xf;
    if (v === 4) return this.#ip(b, p, len);
    if (v === 6) return this.#ip6(b, p, len);
    return `IP${v} (invalid)`;
  }

  #arp(b: Buffer, p: number, len: number): string {
    const hrd = b.readUInt16BE(p), pro = b.readUInt16BE(p + 2), hln = b[p + 4]!, pln = b[p + 5]!, op = b.readUInt16BE(p + 6);
    if (hrd !== 1 || pro !== 0x0800 || hln !== 6 || pln !== 4) return `ARP, length ${len}`;
    const sha = mac(b, p + 8), spa = ip4(b, p + 14), tha = mac(b, p + 18), tpa = ip4(b, p + 24);
    if (op === 1) return `ARP, Request who-has ${tpa}${tha === '00:00:00:00:00:00' ? '' : ` (${tha})`} tell ${spa}, length ${len}`;
    if (op === 2) return `ARP, Reply ${spa} is-at ${sha}, length ${len}`;
    return `ARP, op ${op}, length ${len}`;
  }

  #ip(b: Buffer, p: number, avail: number): string {
    const ihl = (b[p]! & 0xf) * 4;
    const total = b.readUInt16BE(p + 2);
    const frag = b.readUInt16BE(p + 6);
    const proto = b[p + 9]!;
    const src = ip4(b, p + 12), dst = ip4(b, p + 16);
    const len = Math.min(total, avail) - ihl;
    const q = p + ihl;
    if ((frag & 0x1fff) !== 0) return `IP ${src} > ${dst}: ip-proto-${proto}`;
    switch (proto) {
      case 17: return `IP ${this.#udp(b, q, src, dst)}`;
      case 6: return `IP ${this.#tcp(b, q, len, src, dst)}`;
      case 1: return `IP ${src} > ${dst}: ${this.#icmp(b, q, len)}`;
      default: return `IP ${src} > ${dst}: ip-proto-${proto} ${len}`;
    }
  }

  #ip6(b: Buffer, p: number, avail: number): string {
    const plen = b.readUInt16BE(p + 4);
    let next = b[p + 6]!;
    const src = ip6(b, p + 8), dst = ip6(b, p + 24);
    let q = p + 40;
    let len = Math.min(plen, avail - 40);
    let pre = '';
    if (next === 0) {
      // A hop-by-hop options header (MLD reports carry one): tcpdump says "HBH".
      const hl = (b[q + 1]! + 1) * 8;
      next = b[q]!;
      q += hl;
      len -= hl;
      pre = 'HBH ';
    }
    switch (next) {
      case 17: return `IP6 ${this.#udp(b, q, src, dst)}`;
      case 6: return `IP6 ${this.#tcp(b, q, len, src, dst)}`;
      case 58: return `IP6 ${src} > ${dst}: ${pre}${this.#icmp6(b, q, len)}`;
      default: return `IP6 ${src} > ${dst}: ${pre}ip-proto-${next} ${len}`;
    }
  }

  #udp(b: Buffer, q: number, src: string, dst: string): string {
    const sport = b.readUInt16BE(q), dport = b.readUInt16BE(q + 2), ulen = b.readUInt16BE(q + 4);
    return `${src}.${sport} > ${dst}.${dport}: UDP, length ${ulen - 8}`;
  }

  #icmp(b: Buffer, q: number, len: number): string {
    const type = b[q]!, code = b[q + 1]!;
    switch (type) {
      case 8:
      case 0:
        return `ICMP echo ${type === 8 ? 'request' : 'reply'}, id ${b.readUInt16BE(q + 4)}, seq ${b.readUInt16BE(q + 6)}, length ${len}`;
      case 3: {
        // The offending datagram follows: its destination and (for UDP/TCP) port.
        const ip = q + 8;
        const odst = ip4(b, ip + 16);
        const oproto = b[ip + 9]!;
        const ohl = (b[ip]! & 0xf) * 4;
        if (code === 3 && (oproto === 17 || oproto === 6)) {
          return `ICMP ${odst} ${oproto === 17 ? 'udp' : 'tcp'} port ${b.readUInt16BE(ip + ohl + 2)} unreachable, length ${len}`;
        }
        if (code === 2) return `ICMP ${odst} protocol ${oproto} unreachable, length ${len}`;
        if (code === 1) return `ICMP host ${odst} unreachable, length ${len}`;
        if (code === 0) return `ICMP net ${odst} unreachable, length ${len}`;
        return `ICMP ${odst} unreachable - code ${code}, length ${len}`;
      }
      case 11:
        return `ICMP time exceeded in-transit, length ${len}`;
      default:
        return `ICMP type-#${type}, length ${len}`;
    }
  }

  #icmp6(b: Buffer, q: number, len: number): string {
    const type = b[q]!;
    switch (type) {
      case 128: return `ICMP6, echo request, id ${b.readUInt16BE(q + 4)}, seq ${b.readUInt16BE(q + 6)}, length ${len}`;
      case 129: return `ICMP6, echo reply, id ${b.readUInt16BE(q + 4)}, seq ${b.readUInt16BE(q + 6)}, length ${len}`;
      case 133: return `ICMP6, router solicitation, length ${len}`;
      case 134: return `ICMP6, router advertisement, length ${len}`;
      case 135: return `ICMP6, neighbor solicitation, who has ${ip6(b, q + 8)}, length ${len}`;
      case 136: return `ICMP6, neighbor advertisement, tgt is ${ip6(b, q + 8)}, length ${len}`;
      case 143: return `ICMP6, multicast listener report v2, ${b.readUInt16BE(q + 6)} group record(s), length ${len}`;
      case 1: {
        // The offending packet follows the 8-byte header: its destination, and for a port its upper layer.
        const code = b[q + 1]!;
        const o = q + 8;
        const odst = ip6(b, o + 24);
        const what = ['unreachable route', 'unreachable prohibited', 'beyond scope', 'unreachable address', 'unreachable port'][code]
          ?? `unknown unreach code (${code})`;
        if (code === 4) {
          const nh = b[o + 6]!;
          const port = b.readUInt16BE(o + 40 + 2);
          const tail = nh === 17 || nh === 6 ? `${odst} ${nh === 17 ? 'udp' : 'tcp'} port ${port}` : `${odst} protocol ${nh} port ${port} unreachable`;
          return `ICMP6, destination unreachable, ${what}, ${tail}, length ${len}`;
        }
        if (code === 0 || code === 1 || code === 3) return `ICMP6, destination unreachable, ${what} ${odst}, length ${len}`;
        return `ICMP6, destination unreachable, ${what}, length ${len}`;
      }
      default: return `ICMP6, type-#${type}, length ${len}`;
    }
  }

  #tcp(b: Buffer, q: number, len: number, src: string, dst: string): string {
    const sport = b.readUInt16BE(q), dport = b.readUInt16BE(q + 2);
    let seq = b.readUInt32BE(q + 4), ack = b.readUInt32BE(q + 8);
    const hlen = ((b[q + 12]! >> 4) & 0xf) * 4;
    const flags = b[q + 13]!;
    const win = b.readUInt16BE(q + 14);
    const urp = b.readUInt16BE(q + 18);
    const payload = len - hlen;
    let out = `${src}.${sport} > ${dst}.${dport}: Flags [${TCP_FLAGS.filter(([bit]) => flags & bit).map(([, c]) => c).join('') || 'none'}]`;
    if (flags & 0x10) {
      // tcpdump's relative numbering: the first ACK-carrying segment of a
      // flow (or any SYN) sets the bases; later ones print offsets.
      const rev = sport > dport || (sport === dport && src > dst);
      const key = rev ? `${dst}.${dport}>${src}.${sport}` : `${src}.${sport}>${dst}.${dport}`;
      const th = this.#flows.get(key);
      if (!th || (flags & 0x02)) {
        if (this.#flows.size >= 4096) this.#flows.clear(); // bounded state
        this.#flows.set(key, rev ? { seq: (ack - 1) >>> 0, ack: seq } : { seq, ack: (ack - 1) >>> 0 });
      } else if (rev) {
        seq = (seq - th.ack) >>> 0;
        ack = (ack - th.seq) >>> 0;
      } else {
        seq = (seq - th.seq) >>> 0;
        ack = (ack - th.ack) >>> 0;
      }
    }
    if (payload > 0 || (flags & 0x07)) {
      out += `, seq ${seq}`;
      if (payload > 0) out += `:${(seq + payload) >>> 0}`;
    }
    if (flags & 0x10) out += `, ack ${ack}`;
    out += `, win ${win}`;
    if (flags & 0x20) out += `, urg ${urp}`;
    if (hlen > 20) out += `, options [${this.#tcpOptions(b, q + 20, q + hlen)}]`;
    return `${out}, length ${payload}`;
  }

  #tcpOptions(b: Buffer, o: number, end: number): string {
    const items: string[] = [];
    for (let n = 0; o < end && n < 40; n++) {
      const kind = b[o]!;
      if (kind === 0) { items.push('eol'); break; }
      if (kind === 1) { items.push('nop'); o++; continue; }
      const l = b[o + 1]!;
      if (l < 2 || o + l > end) { items.push('bad opt'); break; }
      switch (kind) {
        case 2: items.push(`mss ${b.readUInt16BE(o + 2)}`); break;
        case 3: items.push(`wscale ${b[o + 2]}`); break;
        case 4: items.push('sackOK'); break;
        case 8: items.push(`TS val ${b.readUInt32BE(o + 2)} ecr ${b.readUInt32BE(o + 6)}`); break;
        default: items.push(`unknown-${kind} 0x${b.subarray(o + 2, o + l).toString('hex')}`);
      }
      o += l;
    }
    return items.join(',');
  }
}
