// A compiler for the filters people write most, to classic BPF: a builder
// (`filter.and(filter.udp(), filter.port(53, 'dst'))`) and a parser for a
// tcpdump-like subset (`'udp and dst port 53'`), both giving an expression
// that compile() turns into instructions for a link type.
//
// Code generation: each expression is compiled with a "true" and a "false"
// target that lie after it, so every jump goes forward as the kernel
// requires; `and`/`or` chain through a label placed between their operands,
// and `not` swaps the targets. The program accepts with `ret #snaplen`
// (262144, tcpdump's) and drops with `ret #0`.
import { isIPv4, isIPv6 } from 'node:net';
import { type BpfInsn, type JmpOp, ins, BPF_JMP, BPF_MAXINSNS } from './insn';
import { validate } from './asm';

/** Which address or port of a packet: the source, the destination, or either. */
export type Dir = 'src' | 'dst' | 'either';

/** A filter expression: what the parser produces and the builder makes. */
export type FilterExpr =
  | { readonly type: 'and' | 'or'; readonly args: readonly FilterExpr[] }
  | { readonly type: 'not'; readonly arg: FilterExpr }
  | { readonly type: 'const'; readonly value: boolean }
  /** The link-layer protocol (ether type), e.g. 0x0800. */
  | { readonly type: 'ether'; readonly proto: number }
  | { readonly type: 'etherHost'; readonly addr: string; readonly dir: Dir }
  /** The IP protocol (IPv4 protocol / IPv6 next header); family 4, 6 or either (undefined). */
  | { readonly type: 'proto'; readonly proto: number; readonly family?: 4 | 6 }
  /** An IPv4 host also matches ARP/RARP packets (as tcpdump's `host`) unless `family` is 4 (`ip host`). */
  | { readonly type: 'host'; readonly addr: string; readonly dir: Dir; readonly family?: 4 | 6 }
  | { readonly type: 'net'; readonly net: string; readonly dir: Dir; readonly family?: 4 | 6 }
  /** A TCP/UDP/SCTP port; proto limits it to one of them. */
  | { readonly type: 'port'; readonly port: number; readonly dir: Dir; readonly proto?: number; readonly family?: 4 | 6 }
  /** 802.1Q: a VLAN tag (any, or this id); later primitives of the same `and` look inside the tag. */
  | { readonly type: 'vlan'; readonly id?: number }
  /** The packet length compared: `len >= n` is { op: 'jge', n }. */
  | { readonly type: 'len'; readonly op: 'jgt' | 'jge' | 'jeq'; readonly n: number };

/** Link types compile() knows: Ethernet (DLT_EN10MB), raw IP (DLT_RAW), Linux cooked (DLT_LINUX_SLL). */
export type LinkType = 'ethernet' | 'raw' | 'cooked';

/** Options of compile(). */
export interface CompileOptions {
  /** The link type of the socket the program will run on (default 'ethernet'; AF_PACKET SOCK_RAW on an Ethernet or loopback device). */
  linkType?: LinkType;
  /** What an accepted packet returns: the bytes kept (default 262144, as tcpdump). */
  snaplen?: number;
}

const ETH = { IP: 0x0800, IP6: 0x86dd, ARP: 0x0806, RARP: 0x8035, VLAN: [0x8100, 0x88a8, 0x9100] };
const IPPROTO: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, icmp6: 58, sctp: 132, ah: 51, esp: 50, gre: 47, pim: 103, vrrp: 112 };

// ------------------------------------------------------------------ builder

function dirOf(d: unknown): Dir {
  if (d === undefined) return 'either';
  if (d === 'src' || d === 'dst' || d === 'either') return d;
  throw new TypeError(`direction must be 'src', 'dst' or 'either' (got ${String(d)})`);
}
function uint(n: unknown, max: number, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new TypeError(`${what} must be an integer`);
  if (n < 0 || n > max) throw new RangeError(`${what} must be 0..${max} (got ${n})`);
  return n;
}
function exprs(args: unknown[], what: string): FilterExpr[] {
  if (args.length === 0) throw new TypeError(`${what}() needs at least one expression`);
  args.forEach((a, i) => {
    if (typeof a !== 'object' || a === null || typeof (a as { type?: unknown }).type !== 'string') {
      throw new TypeError(`${what}(): argument ${i} is not a filter expression`);
    }
  });
  return args as FilterExpr[];
}

/** Builders of filter expressions, the function face of the parser's syntax. */
export const filter = Object.freeze({
  and: (...args: FilterExpr[]): FilterExpr => ({ type: 'and', args: exprs(args, 'and') }),
  or: (...args: FilterExpr[]): FilterExpr => ({ type: 'or', args: exprs(args, 'or') }),
  not: (arg: FilterExpr): FilterExpr => ({ type: 'not', arg: exprs([arg], 'not')[0]! }),
  /** `ether proto N`. */
  etherType: (proto: number): FilterExpr => ({ type: 'ether', proto: uint(proto, 0xffff, 'ether type') }),
  /** `ether [src|dst] host aa:bb:cc:dd:ee:ff`. */
  etherHost: (addr: string, dir?: Dir): FilterExpr => (mac(addr), { type: 'etherHost', addr, dir: dirOf(dir) }),
  ip: (): FilterExpr => ({ type: 'ether', proto: ETH.IP }),
  ip6: (): FilterExpr => ({ type: 'ether', proto: ETH.IP6 }),
  arp: (): FilterExpr => ({ type: 'ether', proto: ETH.ARP }),
  /** `ip proto N` (family 4), `ip6 proto N` (6), or either. */
  ipProto: (proto: number, family?: 4 | 6): FilterExpr =>
    ({ type: 'proto', proto: uint(proto, 255, 'IP protocol'), ...(family === undefined ? {} : { family: fam(family) }) }),
  tcp: (): FilterExpr => ({ type: 'proto', proto: 6 }),
  udp: (): FilterExpr => ({ type: 'proto', proto: 17 }),
  sctp: (): FilterExpr => ({ type: 'proto', proto: 132 }),
  icmp: (): FilterExpr => ({ type: 'proto', proto: 1, family: 4 }),
  icmp6: (): FilterExpr => ({ type: 'proto', proto: 58, family: 6 }),
  /** `[src|dst] host ADDR`, IPv4 (also ARP/RARP, as tcpdump, unless ipOnly: `ip host`) or IPv6. */
  host: (addr: string, dir?: Dir, ipOnly?: boolean): FilterExpr => {
    const b = ipBytes(addr);
    return { type: 'host', addr, dir: dirOf(dir), ...(ipOnly === true ? { family: b.length === 4 ? 4 : 6 } : {}) };
  },
  /** `[src|dst] net ADDR/LEN` (IPv4 nets also match ARP/RARP unless ipOnly). */
  net: (cidr: string, dir?: Dir, ipOnly?: boolean): FilterExpr => {
    const { bytes } = cidrOf(cidr);
    return { type: 'net', net: cidr, dir: dirOf(dir), ...(ipOnly === true ? { family: bytes.length === 4 ? 4 : 6 } : {}) };
  },
  /** `[tcp|udp|sctp] [src|dst] port N`; proto is the IP protocol number (6, 17, 132) or its name. */
  port: (port: number, dir?: Dir, proto?: number | 'tcp' | 'udp' | 'sctp'): FilterExpr => {
    const p = proto === undefined ? undefined : typeof proto === 'string' ? IPPROTO[proto] : proto;
    if (p !== undefined && p !== 6 && p !== 17 && p !== 132) throw new TypeError(`port: proto must be tcp, udp or sctp (got ${String(proto)})`);
    return { type: 'port', port: uint(port, 0xffff, 'port'), dir: dirOf(dir), ...(p === undefined ? {} : { proto: p }) };
  },
  /** `vlan [id]`. */
  vlan: (id?: number): FilterExpr => (id === undefined ? { type: 'vlan' } : { type: 'vlan', id: uint(id, 4095, 'VLAN id') }),
  /** `greater N`: length >= N. */
  greater: (n: number): FilterExpr => ({ type: 'len', op: 'jge', n: uint(n, 0xffffffff, 'length') }),
  /** `less N`: length <= N. */
  less: (n: number): FilterExpr => ({ type: 'not', arg: { type: 'len', op: 'jgt', n: uint(n, 0xffffffff, 'length') } }),
  /** Every packet. */
  all: (): FilterExpr => ({ type: 'const', value: true }),
  /** No packet. */
  none: (): FilterExpr => ({ type: 'const', value: false }),
});

function fam(f: unknown): 4 | 6 {
  if (f === 4 || f === 6) return f;
  throw new TypeError(`family must be 4 or 6 (got ${String(f)})`);
}

/** The 4 or 16 bytes of an IPv4/IPv6 address written as text; TypeError otherwise. */
export function ipBytes(s: string): number[] {
  if (typeof s !== 'string') throw new TypeError('an address must be a string');
  if (isIPv4(s)) return s.split('.').map(Number);
  if (!isIPv6(s)) throw new TypeError(`not an IPv4 or IPv6 address: '${s}'`);
  let text = s.replace(/%.*$/, '');
  let tail: number[] = [];
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    text = text.slice(0, v4.index + 1) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const hs = head === '' ? [] : head.split(':');
  const rs = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? hs : [...hs, ...new Array<string>(8 - hs.length - rs.length).fill('0'), ...rs];
  const bytes = groups.flatMap((g) => { const v = parseInt(g, 16); return [v >> 8, v & 0xff]; });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function cidrOf(s: string): { bytes: number[]; len: number } {
  if (typeof s !== 'string') throw new TypeError('a network must be a string ADDR/LEN');
  const [a, l, extra] = s.split('/');
  if (extra !== undefined) throw new TypeError(`not a network ADDR/LEN: '${s}'`);
  const bytes = ipBytes(a!);
  const max = bytes.length * 8;
  const len = l === undefined ? max : /^\d+$/.test(l) ? Number(l) : NaN;
  if (!(len >= 0 && len <= max)) throw new RangeError(`prefix length of '${s}' must be 0..${max}`);
  return { bytes, len };
}

function mac(s: string): number[] {
  if (typeof s !== 'string' || !/^[0-9a-fA-F]{1,2}([:.-][0-9a-fA-F]{1,2}){5}$/.test(s)) {
    throw new TypeError(`not an Ethernet address aa:bb:cc:dd:ee:ff: '${String(s)}'`);
  }
  return s.split(/[:.-]/).map((x) => parseInt(x, 16));
}

// ------------------------------------------------------------------ lowering

// The intermediate form: tests (loads, then one conditional jump) combined
// with and/or/not.
type Node =
  | { t: 'and' | 'or'; a: Node; b: Node }
  | { t: 'not'; a: Node }
  | { t: 'const'; v: boolean }
  | { t: 'test'; loads: BpfInsn[]; op: JmpOp; k: number };

// Balanced trees (and/or are associative; the order of the operands is kept): recursion depth stays logarithmic.
function tree(t: 'and' | 'or', xs: Node[]): Node {
  if (xs.length === 1) return xs[0]!;
  const mid = xs.length >> 1;
  return { t, a: tree(t, xs.slice(0, mid)), b: tree(t, xs.slice(mid)) };
}
const AND = (...xs: Node[]): Node => tree('and', xs);
const OR = (...xs: Node[]): Node => tree('or', xs);
const NOT = (a: Node): Node => ({ t: 'not', a });
const TEST = (loads: BpfInsn[], op: JmpOp, k: number): Node => ({ t: 'test', loads, op, k: k >>> 0 });
const word = (b: number[], i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

interface Ctx {
  link: LinkType;
  /** Extra bytes of link-layer header (an inline VLAN tag: 4). */
  shift: number;
}

function linkErr(ctx: Ctx, what: string): never {
  throw new TypeError(`'${what}' cannot be compiled for link type '${ctx.link}'`);
}

/** The ether-type test of the link layer (raw IP: the IP version nibble). */
function etherType(ctx: Ctx, proto: number): Node {
  if (ctx.link === 'ethernet') return TEST([ins.ldAbs('h', 12 + ctx.shift)], 'jeq', proto);
  if (ctx.link === 'cooked') return TEST([ins.ldAbs('h', 14)], 'jeq', proto);
  if (proto === ETH.IP) return TEST([ins.ldAbs('b', 0), ins.alu('and', 0xf0)], 'jeq', 0x40);
  if (proto === ETH.IP6) return TEST([ins.ldAbs('b', 0), ins.alu('and', 0xf0)], 'jeq', 0x60);
  return { t: 'const', v: false }; // raw IP carries nothing else
}

/** Where the network header starts. */
function nh(ctx: Ctx): number {
  return ctx.link === 'ethernet' ? 14 + ctx.shift : ctx.link === 'cooked' ? 16 : 0;
}

function either(dir: Dir, src: () => Node, dst: () => Node): Node {
  return dir === 'src' ? src() : dir === 'dst' ? dst() : OR(src(), dst());
}

function proto4(ctx: Ctx, p: number): Node {
  return AND(etherType(ctx, ETH.IP), TEST([ins.ldAbs('b', nh(ctx) + 9)], 'jeq', p));
}
function proto6(ctx: Ctx, p: number): Node {
  // The next header, or the one after a fragment header (as tcpdump).
  const n = nh(ctx);
  return AND(etherType(ctx, ETH.IP6), OR(TEST([ins.ldAbs('b', n + 6)], 'jeq', p),
    AND(TEST([ins.ldAbs('b', n + 6)], 'jeq', 44), TEST([ins.ldAbs('b', n + 40)], 'jeq', p))));
}

function addrTests(bytes: number[], prefix: number, off: number): Node {
  const tests: Node[] = [];
  for (let i = 0; i < bytes.length; i += 4) {
    const bits = Math.max(0, Math.min(32, prefix - i * 8));
    if (bits === 0) break;
    const mask = bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    const loads = [ins.ldAbs('w', off + i)];
    if (mask !== 0xffffffff) loads.push(ins.alu('and', mask));
    tests.push(TEST(loads, 'jeq', (word(bytes, i) & mask) >>> 0));
  }
  return tests.length === 0 ? { t: 'const', v: true } : AND(...tests);
}

function hostOrNet(ctx: Ctx, bytes: number[], prefix: number, dir: Dir, ipOnly: boolean): Node {
  const n = nh(ctx);
  if (bytes.length === 16) {
    return AND(etherType(ctx, ETH.IP6), either(dir, () => addrTests(bytes, prefix, n + 8), () => addrTests(bytes, prefix, n + 24)));
  }
  const ip = AND(etherType(ctx, ETH.IP), either(dir, () => addrTests(bytes, prefix, n + 12), () => addrTests(bytes, prefix, n + 16)));
  if (ctx.link === 'raw' || ipOnly) return ip;
  // ARP and RARP carry IPv4 addresses too (sender at 14, target at 24 of the ARP header).
  const arp = AND(OR(etherType(ctx, ETH.ARP), etherType(ctx, ETH.RARP)),
    either(dir, () => addrTests(bytes, prefix, n + 14), () => addrTests(bytes, prefix, n + 24)));
  return OR(ip, arp);
}

// Ports (any of `ports`: `port 53 or 80` checks the headers once).
function portNode(ctx: Ctx, e: { ports: number[]; dir: Dir; proto?: number; family?: 4 | 6 }): Node {
  const n = nh(ctx);
  const any = (loads: () => BpfInsn[]): Node => OR(...e.ports.map((p) => TEST(loads(), 'jeq', p)));
  const protos = e.proto === undefined ? [132, 6, 17] : [e.proto];
  const v4 = (): Node => AND(
    etherType(ctx, ETH.IP),
    OR(...protos.map((p) => TEST([ins.ldAbs('b', n + 9)], 'jeq', p))),
    NOT(TEST([ins.ldAbs('h', n + 6)], 'jset', 0x1fff)), // not a later fragment
    either(e.dir, () => any(() => [ins.ldxMsh(n), ins.ldInd('h', n)]), () => any(() => [ins.ldxMsh(n), ins.ldInd('h', n + 2)])),
  );
  const v6 = (): Node => AND(
    etherType(ctx, ETH.IP6),
    OR(...protos.map((p) => TEST([ins.ldAbs('b', n + 6)], 'jeq', p))),
    either(e.dir, () => any(() => [ins.ldAbs('h', n + 40)]), () => any(() => [ins.ldAbs('h', n + 42)])),
  );
  return e.family === 4 ? v4() : e.family === 6 ? v6() : OR(v4(), v6());
}

function vlanTests(ctx: Ctx, id: number | undefined): { anc: Node; inline: Node } {
  const anc = id === undefined ? TEST([ins.ldAnc('VLAN_TAG_PRESENT')], 'jeq', 1)
    : AND(TEST([ins.ldAnc('VLAN_TAG_PRESENT')], 'jeq', 1), TEST([ins.ldAnc('VLAN_TAG'), ins.alu('and', 0xfff)], 'jeq', id));
  const tag = OR(...ETH.VLAN.map((t) => TEST([ins.ldAbs('h', 12 + ctx.shift)], 'jeq', t)));
  const inline = id === undefined ? tag : AND(tag, TEST([ins.ldAbs('h', 14 + ctx.shift), ins.alu('and', 0xfff)], 'jeq', id));
  return { anc, inline };
}

function lower(e: FilterExpr, ctx: Ctx, depth = 0): Node {
  if (depth > 256) throw new RangeError('the filter expression is nested deeper than 256');
  if (typeof e !== 'object' || e === null) throw new TypeError('not a filter expression');
  const sub = (a: FilterExpr, c: Ctx = ctx): Node => lower(a, c, depth + 1);
  const list = (xs: unknown): readonly FilterExpr[] => {
    if (!Array.isArray(xs) || xs.length === 0) throw new TypeError(`'${e.type}' needs a non-empty array of expressions`);
    return xs as FilterExpr[];
  };
  switch (e.type) {
    case 'and': {
      const args = list(e.args);
      const i = args.findIndex((a) => a?.type === 'vlan');
      if (i < 0) return AND(...args.map((a) => sub(a)));
      if (ctx.link !== 'ethernet') linkErr(ctx, 'vlan');
      // A tag the device took out of the frame (Linux: ancillary data), or
      // one still inline, which moves everything after it by 4 bytes.
      const before = args.slice(0, i).map((a) => sub(a));
      const rest = args.slice(i + 1);
      const v = args[i] as { id?: number };
      const { anc, inline } = vlanTests(ctx, v.id === undefined ? undefined : uint(v.id, 4095, 'VLAN id'));
      const after = (c: Ctx): Node[] => rest.map((a) => sub(a, c));
      const shifted = { ...ctx, shift: ctx.shift + 4 };
      return AND(...before, OR(AND(anc, ...after(ctx)), AND(inline, ...after(shifted))));
    }
    case 'or': {
      // Neighbouring ports of the same kind share one header check.
      const groups: FilterExpr[][] = [];
      for (const a of list(e.args)) {
        const g = groups[groups.length - 1];
        const p = g?.[0];
        if (a.type === 'port' && p?.type === 'port' && p.dir === a.dir && p.proto === a.proto && p.family === a.family) g!.push(a);
        else groups.push([a]);
      }
      return OR(...groups.map((g) => g.length === 1 ? sub(g[0]!)
        : portNode(ctx, { ...(g[0] as FilterExpr & { type: 'port' }), ports: g.map((x) => (x as { port: number }).port) })));
    }
    case 'not': return NOT(sub(e.arg));
    case 'const': return { t: 'const', v: e.value === true };
    case 'ether':
      uint(e.proto, 0xffff, 'ether type');
      if (ctx.link === 'raw' && e.proto !== ETH.IP && e.proto !== ETH.IP6) linkErr(ctx, `ether proto 0x${e.proto.toString(16)}`);
      return etherType(ctx, e.proto);
    case 'etherHost': {
      dirOf(e.dir);
      if (ctx.link !== 'ethernet') linkErr(ctx, 'ether host');
      const m = mac(e.addr);
      const at = (off: number): Node => AND(TEST([ins.ldAbs('w', off + 2)], 'jeq', word(m, 2)), TEST([ins.ldAbs('h', off)], 'jeq', (m[0]! << 8) | m[1]!));
      return either(e.dir, () => at(6), () => at(0));
    }
    case 'proto':
      uint(e.proto, 255, 'IP protocol');
      if (e.family !== undefined) fam(e.family);
      return e.family === 4 ? proto4(ctx, e.proto) : e.family === 6 ? proto6(ctx, e.proto) : OR(proto4(ctx, e.proto), proto6(ctx, e.proto));
    case 'host': {
      dirOf(e.dir);
      const b = ipBytes(e.addr);
      return hostOrNet(ctx, b, b.length * 8, e.dir, e.family !== undefined);
    }
    case 'net': {
      dirOf(e.dir);
      const { bytes, len } = cidrOf(e.net);
      return hostOrNet(ctx, bytes, len, e.dir, e.family !== undefined);
    }
    case 'port':
      uint(e.port, 0xffff, 'port');
      dirOf(e.dir);
      if (e.proto !== undefined && e.proto !== 6 && e.proto !== 17 && e.proto !== 132) throw new TypeError('port: proto must be 6, 17 or 132');
      if (e.family !== undefined) fam(e.family);
      return portNode(ctx, { ...e, ports: [e.port] });
    case 'vlan': {
      if (ctx.link !== 'ethernet') linkErr(ctx, 'vlan');
      const { anc, inline } = vlanTests(ctx, e.id === undefined ? undefined : uint(e.id, 4095, 'VLAN id'));
      return OR(anc, inline);
    }
    case 'len':
      if (e.op !== 'jgt' && e.op !== 'jge' && e.op !== 'jeq') throw new TypeError("len: op must be 'jgt', 'jge' or 'jeq'");
      return TEST([ins.ldLen()], e.op, uint(e.n, 0xffffffff, 'length'));
    default:
      throw new TypeError(`not a filter expression: ${JSON.stringify((e as { type?: unknown }).type)}`);
  }
}

// ------------------------------------------------------------------ code generation

// A test: its loads (dropped when A already holds that value) and its jump.
type Item =
  | { kind: 'test'; loads: BpfInsn[]; keep: boolean; op: JmpOp; k: number; t: number; f: number }
  | { kind: 'ja'; to: number }
  | { kind: 'ret'; k: number }
  | { kind: 'label'; id: number };

const JOP: Record<JmpOp, number> = { jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40 };

// What one path knows: which load A holds (a key naming the loads), and the
// outcome of `jeq` tests already made on the packet (values a key was found
// equal to, or not equal to). Packet bytes do not change while a program
// runs, so facts survive every later load.
interface Fact { eq?: number; ne: Set<number> }
interface State {
  a: string | null;
  facts: Map<string, Fact>;
  /** Outcomes of any test already made: 'loads|op|k' → taken or not. */
  seen: Map<string, boolean>;
}

const keyOf = (loads: BpfInsn[]): string => loads.map((x) => `${x.code}:${x.k}`).join(';');

function after(s: State, it: Item & { kind: 'test' }, taken: boolean): State {
  const key = keyOf(it.loads);
  // jeq outcomes live in `facts`; the others (jset, jgt, jge) are few.
  if (it.op !== 'jeq') return { a: key, facts: s.facts, seen: new Map(s.seen).set(`${key}|${it.op}|${it.k}`, taken) };
  return withFact(s, key, taken, it.k);
}

function withFact(s: State, key: string, eq: boolean, k: number): State {
  const facts = new Map(s.facts);
  const old = facts.get(key);
  if (eq) facts.set(key, { eq: k, ne: new Set() });
  else if (old?.eq !== undefined) return { a: key, facts: s.facts, seen: s.seen }; // nothing new: it equals old.eq
  else if ((old?.ne.size ?? 0) < 32) facts.set(key, { ne: new Set([...(old?.ne ?? []), k]) }); // bounded: fewer facts stay sound
  return { a: key, facts, seen: s.seen };
}

function meet(states: State[]): State | null {
  if (states.length === 0) return null;
  const [first, ...rest] = states as [State, ...State[]];
  const a = rest.every((s) => s.a === first.a) ? first.a : null;
  const seen = new Map([...first.seen].filter(([key, v]) => rest.every((s) => s.seen.get(key) === v)));
  const facts = new Map<string, Fact>();
  for (const [key, f0] of first.facts) {
    const all = states.map((s) => s.facts.get(key));
    if (all.some((f) => f === undefined)) continue;
    const fs = all as Fact[];
    if (f0.eq !== undefined && fs.every((f) => f.eq === f0.eq)) { facts.set(key, { eq: f0.eq, ne: new Set() }); continue; }
    const excluded = (f: Fact, v: number): boolean => (f.eq !== undefined ? f.eq !== v : f.ne.has(v));
    const cands = new Set<number>(fs.flatMap((f) => [...f.ne, ...(f.eq === undefined ? [] : [f.eq])]));
    const ne = new Set([...cands].filter((v) => fs.every((f) => excluded(f, v))));
    if (ne.size > 0) facts.set(key, { ne });
  }
  return { a, facts, seen };
}

// One forward pass (every jump goes forward): tests whose outcome the path
// already knows become `ja`, loads of what A already holds are dropped, and
// code no path reaches is removed.
function outcome(it: Item & { kind: 'test' }, s: State): boolean | undefined {
  if (it.t === it.f) return true;
  const memo = s.seen.get(`${keyOf(it.loads)}|${it.op}|${it.k}`);
  if (memo !== undefined) return memo;
  const fact = s.facts.get(keyOf(it.loads));
  if (it.op !== 'jeq' || fact === undefined) return undefined;
  return fact.eq !== undefined ? fact.eq === it.k : fact.ne.has(it.k) ? false : undefined;
}

function optimize(items: Item[]): Item[] {
  // Labels by index; adjacent labels are one place, named by the first of them.
  const at = new Map<number, number>();
  const canon = new Map<number, number>();
  items.forEach((it, i) => {
    if (it.kind !== 'label') return;
    at.set(it.id, i);
    const prev = items[i - 1];
    canon.set(it.id, prev?.kind === 'label' ? canon.get(prev.id)! : it.id);
  });
  // Jump threading: an edge to a test whose outcome the edge already knows goes straight to that outcome.
  const thread = (label: number, s: State): number => {
    for (let n = 0; n < 64; n++) {
      let i = at.get(label)!;
      while (i < items.length && items[i]!.kind === 'label') i++;
      const it = items[i];
      if (it?.kind === 'ja') { label = it.to; continue; }
      if (it?.kind !== 'test') return canon.get(label)!;
      const o = outcome(it, s);
      if (o === undefined) return canon.get(label)!;
      label = o ? it.t : it.f;
    }
    return canon.get(label)!;
  };
  const incoming = new Map<number, State[]>();
  const arrive = (label: number, s: State): number => {
    const to = thread(label, s);
    const list = incoming.get(to);
    if (list) list.push(s);
    else incoming.set(to, [s]);
    return to;
  };
  const out: Item[] = [];
  let cur: State | null = { a: null, facts: new Map(), seen: new Map() };
  for (const it of items) {
    if (it.kind === 'label') {
      cur = meet([...(incoming.get(it.id) ?? []), ...(cur ? [cur] : [])]);
      out.push(it);
      continue;
    }
    if (cur === null) continue; // unreachable
    if (it.kind === 'ret') { out.push(it); cur = null; continue; }
    if (it.kind === 'ja') { out.push({ kind: 'ja', to: arrive(it.to, cur) }); cur = null; continue; }
    const key = keyOf(it.loads);
    const known = outcome(it, cur);
    if (known !== undefined) {
      out.push({ kind: 'ja', to: arrive(known ? it.t : it.f, cur) });
      cur = null;
      continue;
    }
    const t = arrive(it.t, after(cur, it, true));
    const f = arrive(it.f, after(cur, it, false));
    out.push({ ...it, keep: cur.a !== key, t, f });
    cur = null;
  }
  return out;
}

function generate(root: Node, snaplen: number): BpfInsn[] {
  const items: Item[] = [];
  let labels = 0;
  const newLabel = (): number => labels++;
  const gen = (n: Node, t: number, f: number): void => {
    switch (n.t) {
      case 'const': items.push({ kind: 'ja', to: n.v ? t : f }); break;
      case 'test': items.push({ kind: 'test', loads: n.loads, keep: true, op: n.op, k: n.k, t, f }); break;
      case 'not': gen(n.a, f, t); break;
      case 'and': { const l = newLabel(); gen(n.a, l, f); items.push({ kind: 'label', id: l }); gen(n.b, t, f); break; }
      case 'or': { const l = newLabel(); gen(n.a, t, l); items.push({ kind: 'label', id: l }); gen(n.b, t, f); break; }
    }
  };
  const accept = newLabel(), reject = newLabel();
  gen(root, accept, reject);
  items.push({ kind: 'label', id: accept }, { kind: 'ret', k: snaplen }, { kind: 'label', id: reject }, { kind: 'ret', k: 0 });

  // Each pass can expose more (a test whose two targets became one place): until nothing changes, bounded.
  let list = items;
  for (let n = 0; n < 16; n++) {
    const next = optimize(list);
    if (JSON.stringify(next) === JSON.stringify(list)) break;
    list = next;
  }
  const size = (it: Item): number => (it.kind === 'label' ? 0 : it.kind === 'test' ? (it.keep ? it.loads.length : 0) + 1 : 1);
  const layout = (xs: Item[]): Map<number, number> => {
    const pos = new Map<number, number>();
    let pc = 0;
    for (const it of xs) { if (it.kind === 'label') pos.set(it.id, pc); pc += size(it); }
    return pos;
  };
  // Drop every `ja` to the very next instruction, until none is left.
  for (let n = 0; n < 64; n++) {
    const pos = layout(list);
    let pc = 0;
    const next = list.filter((it) => {
      const noop = it.kind === 'ja' && pos.get(it.to) === pc + 1;
      pc += size(it);
      return !noop;
    });
    if (next.length === list.length) break;
    list = next;
  }
  // A conditional jump reaches 255 instructions: a farther target gets a
  // trampoline (`ja`, 32-bit) placed right after the jump. Each trampoline
  // moves what follows by one, so repeat until none is needed (bounded: a
  // jump gets at most one per target).
  for (let round = 0; round < 64; round++) {
    const pos = layout(list);
    let pc = 0;
    let added = 0;
    const next: Item[] = [];
    for (const it of list) {
      const end = pc + size(it);
      pc = end;
      if (it.kind !== 'test') { next.push(it); continue; }
      const fix = (to: number): number => {
        if (pos.get(to)! - end <= 255 - 4) return to; // a margin for the trampolines this round adds before it
        const tramp = labels++;
        added++;
        tramps.push({ kind: 'label', id: tramp }, { kind: 'ja', to });
        return tramp;
      };
      const tramps: Item[] = [];
      next.push({ ...it, t: fix(it.t), f: fix(it.f) }, ...tramps);
    }
    list = next;
    if (added === 0) break;
  }
  const pos = layout(list);
  const out: BpfInsn[] = [];
  for (const it of list) {
    if (it.kind === 'label') continue;
    if (it.kind === 'ret') out.push(ins.ret(it.k));
    else if (it.kind === 'ja') out.push(ins.ja(pos.get(it.to)! - out.length - 1));
    else {
      if (it.keep) out.push(...it.loads);
      const jt = pos.get(it.t)! - out.length - 1, jf = pos.get(it.f)! - out.length - 1;
      if (jt > 255 || jf > 255) throw new RangeError('the filter is too large: a conditional jump spans more than 255 instructions');
      out.push({ code: BPF_JMP | JOP[it.op], jt, jf, k: it.k });
    }
    if (out.length > BPF_MAXINSNS) throw new RangeError(`the filter is too large: more than ${BPF_MAXINSNS} instructions`);
  }
  return out;
}

/**
 * Compiles a filter (a tcpdump-like expression such as `'udp and dst port 53'`,
 * or an expression from `filter`) to classic BPF for `linkType`. The result
 * is validated and ready for setsockopt(SOL_SOCKET, SO_ATTACH_FILTER, …).
 * Unsupported syntax is a SyntaxError naming the token.
 */
export function compile(expr: string | FilterExpr, opts: CompileOptions = {}): BpfInsn[] {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('compile: opts must be an object');
  const link = opts.linkType ?? 'ethernet';
  if (link !== 'ethernet' && link !== 'raw' && link !== 'cooked') throw new TypeError(`compile: unknown link type '${String(link)}'`);
  const snaplen = opts.snaplen === undefined ? 262144 : uint(opts.snaplen, 0xffffffff, 'snaplen');
  const e = typeof expr === 'string' ? parse(expr) : expr;
  if (typeof e !== 'object' || e === null) throw new TypeError('compile: expr must be a string or a filter expression');
  const prog = generate(lower(e, { link, shift: 0 }), snaplen);
  return validate(prog);
}

// ------------------------------------------------------------------ parser

const TOKEN = /\s*(\(|\)|&&|\|\||!=|<=|>=|==|!|<|>|=|[^\s()!<>=&|]+)/y;

function tokenize(s: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (TOKEN.lastIndex < s.length && (m = TOKEN.exec(s)) !== null) out.push(m[1]!);
  if (/\S/.test(s.slice(TOKEN.lastIndex))) throw new SyntaxError(`filter: cannot read '${s.slice(TOKEN.lastIndex).trim()}'`);
  return out;
}

interface Quals { proto?: string; dir?: Dir; kind?: 'host' | 'net' | 'port' }

/**
 * Parses a tcpdump-like filter expression into a FilterExpr. The subset:
 * `and`/`&&`, `or`/`||` (equal precedence, left to right, as tcpdump),
 * `not`/`!`, parentheses; `ip`, `ip6`, `arp`, `rarp`, `tcp`, `udp`, `sctp`,
 * `icmp`, `icmp6`; `ether proto N`, `ip proto N`, `ip6 proto N`, `proto N`;
 * `[ip|ip6|tcp|udp|sctp] [src|dst|src or dst] host|net|port X` (a bare X
 * after and/or reuses the previous qualifiers: `port 53 or 80`);
 * `ether [src|dst] host MAC`; `vlan [id]`; `greater N`, `less N`,
 * `len <op> N`.
 */
export function parse(text: string): FilterExpr {
  if (typeof text !== 'string') throw new TypeError('parse: the filter must be a string');
  if (text.length > 65536) throw new SyntaxError('filter: the expression is too long (more than 65536 characters)');
  const toks = tokenize(text);
  if (toks.length > 8192) throw new SyntaxError('filter: the expression is too long (more than 8192 tokens)');
  let i = 0;
  let depth = 0;
  let last: Quals | null = null;
  const peek = (): string | undefined => toks[i];
  const err = (msg: string): never => {
    const t = toks[i];
    throw new SyntaxError(t === undefined ? `filter: ${msg} at the end of '${text}'` : `filter: ${msg}: unexpected '${t}'`);
  };
  const num = (): number => {
    const t = toks[i];
    if (t === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(t)) return err('a number is expected');
    i++;
    const v = Number(t);
    if (v > 0xffffffff) { i--; return err('the number is too large'); }
    return v;
  };
  const protoNum = (): number => {
    const t = (peek() ?? '').replace(/^\\/, '');
    if (Object.prototype.hasOwnProperty.call(IPPROTO, t)) { i++; return IPPROTO[t]!; }
    const v = num();
    if (v > 255) { i--; err('an IP protocol is 0..255'); }
    return v;
  };

  function expr(): FilterExpr {
    let left = unary();
    for (;;) {
      const t = peek();
      const op = t === 'and' || t === '&&' ? 'and' : t === 'or' || t === '||' ? 'or' : null;
      if (op === null) return left;
      i++;
      const right = unary();
      left = left.type === op ? { type: op, args: [...left.args, right] } : { type: op, args: [left, right] };
    }
  }
  function unary(): FilterExpr {
    const t = peek();
    if ((t === 'not' || t === '!' || t === '(') && ++depth > 256) err('nesting deeper than 256');
    try {
      if (t === 'not' || t === '!') { i++; return { type: 'not', arg: unary() }; }
      if (t === '(') {
        i++;
        const e = expr();
        if (peek() !== ')') err("')' is expected");
        i++;
        return e;
      }
      return primitive();
    } finally {
      if (t === 'not' || t === '!' || t === '(') depth--;
    }
  }
  function dirQual(): Dir | undefined {
    const t = peek();
    if (t !== 'src' && t !== 'dst') return undefined;
    i++;
    if ((peek() === 'or' || peek() === 'and') && (toks[i + 1] === 'src' || toks[i + 1] === 'dst') && toks[i + 1] !== t) {
      if (peek() === 'and') err("'src and dst' is not supported");
      i += 2;
      return 'either';
    }
    return t;
  }
  function value(q: Quals): FilterExpr {
    const t = peek();
    if (t === undefined) return err('a value is expected');
    const kind = q.kind ?? (/^(0x[0-9a-f]+|\d+)$/i.test(t) && q.proto !== undefined && ['tcp', 'udp', 'sctp'].includes(q.proto) ? 'port' : 'host');
    const dir = q.dir ?? 'either';
    last = { ...q, kind };
    const fam4or6 = (a: string): void => {
      const v6 = a.includes(':');
      if ((q.proto === 'ip' && v6) || (q.proto === 'ip6' && !v6)) err(`'${q.proto}' and this address do not agree`);
      if (q.proto !== undefined && q.proto !== 'ip' && q.proto !== 'ip6') err(`'${q.proto} ${kind}' is not supported`);
    };
    if (kind === 'port') {
      const port = num();
      if (port > 0xffff) { i--; err('a port is 0..65535'); }
      const proto = q.proto === undefined ? undefined : IPPROTO[q.proto];
      if (q.proto !== undefined && q.proto !== 'ip' && q.proto !== 'ip6' && proto !== 6 && proto !== 17 && proto !== 132) err(`'${q.proto} port' is not supported`);
      const family = q.proto === 'ip' ? 4 : q.proto === 'ip6' ? 6 : undefined;
      return { type: 'port', port, dir, ...(proto === 6 || proto === 17 || proto === 132 ? { proto } : {}), ...(family ? { family } : {}) };
    }
    if (kind === 'net') {
      try { cidrOf(t); } catch { err('a network ADDR/LEN is expected'); }
      fam4or6(t);
      i++;
      return { type: 'net', net: t, dir, ...(q.proto === 'ip' ? { family: 4 } : q.proto === 'ip6' ? { family: 6 } : {}) };
    }
    if (q.proto === 'ether') {
      try { mac(t); } catch { err('an Ethernet address is expected'); }
      i++;
      return { type: 'etherHost', addr: t, dir };
    }
    if (!isIPv4(t) && !isIPv6(t)) err('an IPv4 or IPv6 address is expected (names are not resolved)');
    fam4or6(t);
    i++;
    return { type: 'host', addr: t, dir, ...(q.proto === 'ip' ? { family: 4 } : q.proto === 'ip6' ? { family: 6 } : {}) };
  }
  function primitive(): FilterExpr {
    const t = peek();
    if (t === undefined) return err('a primitive is expected');
    switch (t) {
      case 'vlan': {
        i++;
        const n = peek();
        if (n !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(n)) {
          const id = num();
          if (id > 4095) { i--; err('a VLAN id is 0..4095'); }
          return { type: 'vlan', id };
        }
        return { type: 'vlan' };
      }
      case 'greater': i++; return { type: 'len', op: 'jge', n: num() };
      case 'less': i++; return { type: 'not', arg: { type: 'len', op: 'jgt', n: num() } };
      case 'len': {
        i++;
        const op = peek();
        i++;
        const n = num();
        switch (op) {
          case '>=': return { type: 'len', op: 'jge', n };
          case '>': return { type: 'len', op: 'jgt', n };
          case '=': case '==': return { type: 'len', op: 'jeq', n };
          case '!=': return { type: 'not', arg: { type: 'len', op: 'jeq', n } };
          case '<': return { type: 'not', arg: { type: 'len', op: 'jge', n } };
          case '<=': return { type: 'not', arg: { type: 'len', op: 'jgt', n } };
          default: i -= 2; return err('a comparison (<, <=, =, !=, >=, >) is expected after len');
        }
      }
      case 'proto': i++; return { type: 'proto', proto: protoNum() };
      case 'ether': {
        i++;
        if (peek() === 'proto') {
          i++;
          const p = num();
          if (p > 0xffff) { i--; err('an ether type is 0..65535'); }
          return { type: 'ether', proto: p };
        }
        const dir = dirQual();
        if (peek() === 'host') i++;
        return value({ proto: 'ether', dir, kind: 'host' });
      }
      case 'ip': case 'ip6': case 'arp': case 'rarp': case 'tcp': case 'udp': case 'sctp': case 'icmp': case 'icmp6': {
        i++;
        const n = peek();
        if ((t === 'ip' || t === 'ip6') && n === 'proto') { i++; return { type: 'proto', proto: protoNum(), family: t === 'ip' ? 4 : 6 }; }
        if (n === 'src' || n === 'dst' || n === 'host' || n === 'net' || n === 'port') return qualified(t);
        if (t === 'ip') return { type: 'ether', proto: ETH.IP };
        if (t === 'ip6') return { type: 'ether', proto: ETH.IP6 };
        if (t === 'arp') return { type: 'ether', proto: ETH.ARP };
        if (t === 'rarp') return { type: 'ether', proto: ETH.RARP };
        if (t === 'icmp') return { type: 'proto', proto: 1, family: 4 };
        if (t === 'icmp6') return { type: 'proto', proto: 58, family: 6 };
        return { type: 'proto', proto: IPPROTO[t]! };
      }
      case 'src': case 'dst': case 'host': case 'net': case 'port':
        return qualified(undefined);
      default:
        // A bare value after and/or: the previous qualifiers again (`port 53 or 80`).
        if (last !== null && (/^(0x[0-9a-f]+|\d+)$/i.test(t) || isIPv4(t) || isIPv6(t) || t.includes('/'))) return value(last);
        return err('an unsupported or unknown primitive');
    }
  }
  function qualified(proto: string | undefined): FilterExpr {
    if (proto === 'arp' || proto === 'rarp' || proto === 'icmp' || proto === 'icmp6') err(`'${proto}' takes no host/net/port here`);
    const dir = dirQual();
    const k = peek();
    let kind: Quals['kind'];
    if (k === 'host' || k === 'net' || k === 'port') { kind = k; i++; }
    if (kind === undefined && dir === undefined) err("'host', 'net' or 'port' is expected");
    if ((proto === 'tcp' || proto === 'udp' || proto === 'sctp') && kind !== 'port') err(`'${proto}' qualifies only 'port'`);
    const q: Quals = {};
    if (proto !== undefined) q.proto = proto;
    if (dir !== undefined) q.dir = dir;
    if (kind !== undefined) q.kind = kind;
    return value(q);
  }

  const e = expr();
  if (i < toks.length) err('the expression should end here');
  return e;
}

