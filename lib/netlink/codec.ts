// The netlink wire format, in TypeScript: nlmsghdr framing, family headers
// (fixed structs such as ifinfomsg), and type-length-value attributes, nested
// both ways (NLA_F_NESTED), typed by a table per message family.
//
// Netlink is host byte order (except where an attribute says otherwise:
// NLA_F_NET_BYTEORDER, or a `be16`/`be32` kind here). Every read is bounded
// by the enclosing length: a short or lying length ends the walk, it never
// reads past the message.
import { endianness } from 'node:os';
import { constants as c } from '../constants';
import { native } from '../native';

const LE = endianness() === 'LE';
const C = c as Readonly<Record<string, number | undefined>>;

/** NLMSG_ALIGN / NLA_ALIGN: 4. */
export const align4 = (n: number): number => (n + 3) & ~3;
/** sizeof(struct nlmsghdr). */
export const NLMSG_HDRLEN = 16;
/** sizeof(struct nlattr). */
export const NLA_HDRLEN = 4;
const NLA_F_NESTED = C.NLA_F_NESTED ?? 0x8000;
const NLA_F_NET_BYTEORDER = C.NLA_F_NET_BYTEORDER ?? 0x4000;
const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

// ------------------------------------------------------------- host order

export function rd16(b: Buffer, o: number): number { return LE ? b.readUInt16LE(o) : b.readUInt16BE(o); }
export function rd32(b: Buffer, o: number): number { return LE ? b.readUInt32LE(o) : b.readUInt32BE(o); }
export function rds32(b: Buffer, o: number): number { return LE ? b.readInt32LE(o) : b.readInt32BE(o); }
export function rd64(b: Buffer, o: number): bigint { return LE ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o); }
export function wr16(b: Buffer, v: number, o: number): void { if (LE) b.writeUInt16LE(v, o); else b.writeUInt16BE(v, o); }
export function wr32(b: Buffer, v: number, o: number): void { if (LE) b.writeUInt32LE(v, o); else b.writeUInt32BE(v, o); }
export function wrs32(b: Buffer, v: number, o: number): void { if (LE) b.writeInt32LE(v, o); else b.writeInt32BE(v, o); }
export function wr64(b: Buffer, v: bigint, o: number): void { if (LE) b.writeBigUInt64LE(v, o); else b.writeBigUInt64BE(v, o); }

// ------------------------------------------------------------ arguments

/** A TypeError unless `b` is a Buffer (or Uint8Array): every reader here walks one, never an array-like. */
function checkBuf(b: unknown, what: string): asserts b is Buffer {
  if (!Buffer.isBuffer(b)) throw new TypeError(`${what} must be a Buffer`);
}

/** An offset or length: an integer 0..2**32 (a TypeError/RangeError otherwise). */
function checkOff(v: unknown, what: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer`);
  if (v < 0 || v > 0xffffffff) throw new RangeError(`${what} must be between 0 and 2**32`);
}

// ------------------------------------------------------------ addresses

const AF_INET = C.AF_INET ?? 2, AF_INET6 = C.AF_INET6 ?? 10;

/** An IPv4 or IPv6 address in text form as `ip` prints it (inet_ntop), from 4 or 16 bytes. */
export function formatIp(b: Buffer): string {
  checkBuf(b, 'formatIp: bytes');
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length === 16) {
    // The platform's sockaddr_in6 codec (inet_ntop underneath), so the text is what ip(8) prints.
    const sa = native.sockaddr({ family: AF_INET6, address: '::', port: 0 });
    b.copy(sa, IN6_ADDR_OFFSET);
    const a = native.decodeSockaddr(sa) as { address?: string };
    return a.address ?? b.toString('hex');
  }
  return b.toString('hex');
}

const IN6_ADDR_OFFSET = ((): number => {
  // Where sin6_addr sits in this platform's sockaddr_in6: find ::1's last byte.
  const sa = native.sockaddr({ family: AF_INET6, address: '::1', port: 0 });
  return sa.lastIndexOf(1) - 15;
})();

/** The 4 or 16 bytes of an IPv4 or IPv6 address in text form; a TypeError for anything else. */
export function parseIp(s: string, what = 'address'): Buffer {
  if (typeof s !== 'string') throw new TypeError(`${what} must be an IP address string`);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.every((p) => p <= 255)) return Buffer.from(parts);
  } else if (s.includes(':') && s.length <= 45 && /^[0-9a-fA-F:.]+$/.test(s)) {
    let sa: Buffer | undefined;
    try { sa = native.sockaddr({ family: AF_INET6, address: s, port: 0 }); } catch { sa = undefined; }
    if (sa) return Buffer.from(sa.subarray(IN6_ADDR_OFFSET, IN6_ADDR_OFFSET + 16));
  }
  throw new TypeError(`${what}: not an IPv4 or IPv6 address: ${JSON.stringify(s)}`);
}

/** The family of an address in text form: AF_INET, AF_INET6, or 0. */
export function ipFamily(s: string): number {
  try { return parseIp(s).length === 4 ? AF_INET : AF_INET6; } catch { return 0; }
}

/** "aa:bb:cc:dd:ee:ff" from link-layer bytes, as ip prints them. */
export function formatMac(b: Buffer): string {
  checkBuf(b, 'formatMac: bytes');
  if (b.length > 32) throw new RangeError('formatMac: at most 32 bytes');
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Link-layer bytes from "aa:bb:…" (1 to 32 octets). */
export function parseMac(s: string, what = 'address'): Buffer {
  if (typeof s !== 'string' || !/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){0,31}$/.test(s)) {
    throw new TypeError(`${what}: not a link-layer address (aa:bb:cc:dd:ee:ff): ${JSON.stringify(s)}`);
  }
  return Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
}

// ------------------------------------------------------------ structs

/** A field of a fixed family header: its name and C type. */
export type FieldKind = 'u8' | 'u16' | 'u32' | 's32' | 'be16';

/** A fixed-layout header (ifinfomsg, rtmsg, genlmsghdr …): natural alignment, host order. */
export class Struct<T extends Record<string, number>> {
  readonly size: number;
  private readonly fields: Array<[keyof T & string, FieldKind, number]> = [];

  constructor(readonly name: string, fields: Array<[keyof T & string, FieldKind]>) {
    let off = 0;
    for (const [n, k] of fields) {
      const w = k === 'u8' ? 1 : k === 'u16' || k === 'be16' ? 2 : 4;
      off = (off + w - 1) & ~(w - 1);
      this.fields.push([n, k, off]);
      off += w;
    }
    this.size = align4(off);
  }

  /** Reads the header at `off` (fields past the end of a short message read as 0). */
  decode(b: Buffer, off = 0, end?: number): T {
    checkBuf(b, `${this.name}.decode: buffer`);
    checkOff(off, `${this.name}.decode: offset`);
    if (end === undefined) end = b.length;
    checkOff(end, `${this.name}.decode: end`);
    end = Math.min(end, b.length);
    const out: Record<string, number> = {};
    for (const [n, k, o] of this.fields) {
      const at = off + o;
      const w = k === 'u8' ? 1 : k === 'u16' || k === 'be16' ? 2 : 4;
      if (at + w > end) { out[n] = 0; continue; }
      out[n] = k === 'u8' ? b[at]! : k === 'u16' ? rd16(b, at) : k === 'be16' ? b.readUInt16BE(at) : k === 'u32' ? rd32(b, at) : rds32(b, at);
    }
    return out as T;
  }

  /** Writes the header at `off`; fields not given are 0. */
  encode(v: Partial<T>, b: Buffer, off = 0): void {
    if (typeof v !== 'object' || v === null) throw new TypeError(`${this.name}: the fields must be an object`);
    checkBuf(b, `${this.name}.encode: buffer`);
    checkOff(off, `${this.name}.encode: offset`);
    if (off + this.size > b.length) throw new RangeError(`${this.name}.encode: ${this.size} bytes do not fit at offset ${off}`);
    for (const [n, k, o] of this.fields) {
      const x = v[n] ?? 0;
      if (typeof x !== 'number' || !Number.isInteger(x)) throw new TypeError(`${this.name}.${n} must be an integer`);
      const at = off + o;
      if (k === 'u8') { checkRange(x, 0, 0xff, `${this.name}.${n}`); b[at] = x; }
      else if (k === 'u16') { checkRange(x, 0, 0xffff, `${this.name}.${n}`); wr16(b, x, at); }
      else if (k === 'be16') { checkRange(x, 0, 0xffff, `${this.name}.${n}`); b.writeUInt16BE(x, at); }
      else if (k === 'u32') { checkRange(x, 0, 0xffffffff, `${this.name}.${n}`); wr32(b, x, at); }
      else { checkRange(x, -0x80000000, 0x7fffffff, `${this.name}.${n}`); wrs32(b, x, at); }
    }
  }
}

function checkRange(x: number, lo: number, hi: number, what: string): void {
  if (!(x >= lo && x <= hi)) throw new RangeError(`${what} must be between ${lo} and ${hi}, not ${x}`);
}

// ------------------------------------------------------------ attributes

/**
 * How an attribute's payload reads and writes:
 * integers in host order (`be16`/`be32` in network order, as ports and
 * ethertypes are); `string` NUL-terminated; `bytes` raw; `flag` no payload
 * (true when present); `ip` 4 or 16 bytes as text; `mac` link-layer bytes as
 * aa:bb:…; `nested` a table of its own; `array` nested attributes whose types
 * are indexes (1, 2, …), each element per `element`.
 */
export type AttrKind = 'u8' | 'u16' | 'u32' | 'u64' | 's32' | 'be16' | 'be32' | 'string' | 'bytes' | 'flag' | 'ip' | 'mac' | 'nested' | 'array';

/** A decoded attribute value. */
export type AttrValue = number | bigint | string | boolean | Buffer | Attrs | AttrValue[];
/** Decoded attributes, by the names of their table (unknown types by number). */
export interface Attrs { [name: string]: AttrValue }

/** One entry of an attribute table. */
export interface AttrSpec {
  name: string;
  type: number;
  kind: AttrKind;
  /** For `nested`: the table, or a function choosing it from the enclosing attributes (IFLA_INFO_DATA by IFLA_INFO_KIND). */
  nested?: AttrTable | ((parent: Attrs) => AttrTable | undefined);
  /** For `nested`: a fixed header before the attributes (VETH_INFO_PEER carries an ifinfomsg). */
  header?: Struct<Record<string, number>>;
  /** For `array`: each element's kind and table. */
  element?: { kind: AttrKind; nested?: AttrTable };
}

/** How a table entry is declared: a kind, or the kind with its nested table. */
export type AttrDecl = AttrKind | Omit<AttrSpec, 'name' | 'type'>;

/**
 * The attributes of one message family (or one nest), by name. Types come
 * from the platform's constants: a name this platform lacks is left out.
 */
export class AttrTable {
  readonly byType = new Map<number, AttrSpec>();
  readonly byName = new Map<string, AttrSpec>();

  constructor(readonly name: string, decls: Record<string, AttrDecl>, numbers: Record<string, number> = {}) {
    for (const [n, d] of Object.entries(decls)) {
      const type = numbers[n] ?? C[n];
      if (type === undefined) continue;
      const spec: AttrSpec = typeof d === 'string' ? { name: n, type, kind: d } : { name: n, type, ...d };
      this.byType.set(type, spec);
      this.byName.set(n, spec);
    }
  }
}

/**
 * Decodes the attributes in `b[off, end)`. Unknown types are kept as Buffers
 * under their number; a malformed attribute (length < 4 or past the end)
 * ends the walk.
 */
export function decodeAttrs(b: Buffer, off: number, end: number, table?: AttrTable, depth = 0): Attrs {
  checkBuf(b, 'decodeAttrs: buffer');
  if (typeof off !== 'number' || typeof end !== 'number' || Number.isNaN(off) || Number.isNaN(end)) throw new TypeError('decodeAttrs: offset and end must be numbers');
  if (table !== undefined && !(table instanceof AttrTable)) throw new TypeError('decodeAttrs: table must be an AttrTable');
  const out: Attrs = {};
  end = Math.min(end, b.length);
  if (!(off >= 0)) return out;
  while (off + NLA_HDRLEN <= end) {
    const len = rd16(b, off), rawType = rd16(b, off + 2);
    if (len < NLA_HDRLEN || off + len > end) break;
    const type = rawType & NLA_TYPE_MASK;
    const spec = table?.byType.get(type);
    const p0 = off + NLA_HDRLEN, p1 = off + len;
    if (spec) {
      const v = decodeValue(b, p0, p1, spec.kind, spec, out, depth);
      if (v !== undefined) out[spec.name] = v;
    } else {
      out[String(type)] = Buffer.from(b.subarray(p0, p1));
    }
    off += align4(len);
  }
  return out;
}

const MAX_DEPTH = 16;

function decodeValue(b: Buffer, p0: number, p1: number, kind: AttrKind, spec: Pick<AttrSpec, 'nested' | 'header' | 'element'> | undefined,
  parent: Attrs, depth: number): AttrValue | undefined {
  const n = p1 - p0;
  switch (kind) {
    case 'u8': return n >= 1 ? b[p0]! : undefined;
    case 'u16': return n >= 2 ? rd16(b, p0) : undefined;
    case 'be16': return n >= 2 ? b.readUInt16BE(p0) : undefined;
    case 'u32': return n >= 4 ? rd32(b, p0) : undefined;
    case 'be32': return n >= 4 ? b.readUInt32BE(p0) : undefined;
    case 's32': return n >= 4 ? rds32(b, p0) : undefined;
    case 'u64': return n >= 8 ? rd64(b, p0) : n >= 4 ? BigInt(rd32(b, p0)) : undefined;
    case 'flag': return true;
    case 'string': {
      const z = b.indexOf(0, p0);
      return b.toString('utf8', p0, z >= 0 && z < p1 ? z : p1);
    }
    case 'bytes': return Buffer.from(b.subarray(p0, p1));
    case 'ip': return n === 4 || n === 16 ? formatIp(b.subarray(p0, p1)) : Buffer.from(b.subarray(p0, p1));
    case 'mac': return formatMac(b.subarray(p0, p1));
    case 'nested': {
      if (depth >= MAX_DEPTH) return Buffer.from(b.subarray(p0, p1));
      const table = typeof spec?.nested === 'function' ? spec.nested(parent) : spec?.nested;
      let at = p0;
      let head: Record<string, number> | undefined;
      if (spec?.header) {
        head = spec.header.decode(b, p0, p1);
        at = p0 + spec.header.size;
      }
      const inner = decodeAttrs(b, at, p1, table, depth + 1);
      return head ? { header: head as unknown as Attrs, ...inner } : inner;
    }
    case 'array': {
      if (depth >= MAX_DEPTH) return Buffer.from(b.subarray(p0, p1));
      const list: AttrValue[] = [];
      const el = spec?.element ?? { kind: 'bytes' as AttrKind };
      for (let off = p0; off + NLA_HDRLEN <= p1;) {
        const len = rd16(b, off);
        if (len < NLA_HDRLEN || off + len > p1) break;
        const v = decodeValue(b, off + NLA_HDRLEN, off + len, el.kind, el, {}, depth + 1);
        if (v !== undefined) list.push(v);
        off += align4(len);
      }
      return list;
    }
  }
}

/** Builds attribute bytes; appended by `encodeAttrs`. */
class Writer {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void { this.chunks.push(b); this.length += b.length; }
  concat(): Buffer { return Buffer.concat(this.chunks, this.length); }
}

const MAX_ATTR_PAYLOAD = 0xffff - NLA_HDRLEN;

/**
 * Encodes attributes by the names of `table` (or by type number as a key),
 * in the order the object lists them. `undefined` values are skipped; a
 * name the table does not know is a TypeError.
 */
export function encodeAttrs(attrs: Record<string, unknown>, table: AttrTable | undefined, depth = 0): Buffer {
  if (typeof attrs !== 'object' || attrs === null) throw new TypeError(`${table?.name ?? 'attributes'} must be an object`);
  if (depth > MAX_DEPTH) throw new RangeError('attributes nest too deeply');
  const w = new Writer();
  for (const key of Object.keys(attrs)) {
    const v = attrs[key];
    if (v === undefined) continue;
    const spec = table?.byName.get(key);
    if (spec) {
      writeAttr(w, spec.type, spec.kind, v, spec, attrs, depth, `${table!.name}.${key}`);
    } else if (/^\d+$/.test(key) && Number(key) <= NLA_TYPE_MASK) {
      if (!Buffer.isBuffer(v)) throw new TypeError(`attribute ${key}: a numbered attribute takes a Buffer`);
      writeAttr(w, Number(key), 'bytes', v, undefined, attrs, depth, `attribute ${key}`);
    } else {
      throw new TypeError(`${table?.name ?? 'attributes'}: unknown attribute ${key}`);
    }
  }
  return w.concat();
}

function intOf(v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v === 'boolean') v = v ? 1 : 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer`);
  checkRange(v, lo, hi, what);
  return v;
}

function writeAttr(w: Writer, type: number, kind: AttrKind, v: unknown, spec: Pick<AttrSpec, 'nested' | 'header' | 'element'> | undefined,
  parent: Record<string, unknown>, depth: number, what: string): void {
  let payload: Buffer;
  let flags = 0;
  switch (kind) {
    case 'u8': payload = Buffer.from([intOf(v, 0, 0xff, what)]); break;
    case 'u16': payload = Buffer.alloc(2); wr16(payload, intOf(v, 0, 0xffff, what), 0); break;
    case 'be16': payload = Buffer.alloc(2); payload.writeUInt16BE(intOf(v, 0, 0xffff, what), 0); flags = NLA_F_NET_BYTEORDER; break;
    case 'u32': payload = Buffer.alloc(4); wr32(payload, intOf(v, 0, 0xffffffff, what), 0); break;
    case 'be32': payload = Buffer.alloc(4); payload.writeUInt32BE(intOf(v, 0, 0xffffffff, what), 0); flags = NLA_F_NET_BYTEORDER; break;
    case 's32': payload = Buffer.alloc(4); wrs32(payload, intOf(v, -0x80000000, 0x7fffffff, what), 0); break;
    case 'u64': {
      const x = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : v;
      if (typeof x !== 'bigint' || x < 0n || x > 0xffffffffffffffffn) throw new TypeError(`${what} must be an unsigned 64-bit integer`);
      payload = Buffer.alloc(8); wr64(payload, x, 0); break;
    }
    case 'flag':
      if (v !== true && v !== false) throw new TypeError(`${what} must be a boolean`);
      if (!v) return;
      payload = Buffer.alloc(0); break;
    case 'string':
      if (typeof v !== 'string') throw new TypeError(`${what} must be a string`);
      if (v.includes('\0')) throw new TypeError(`${what} must not contain NUL`);
      payload = Buffer.from(v + '\0'); break;
    case 'bytes':
      if (!Buffer.isBuffer(v)) throw new TypeError(`${what} must be a Buffer`);
      payload = v; break;
    case 'ip':
      payload = Buffer.isBuffer(v) ? v : parseIp(v as string, what); break;
    case 'mac':
      payload = Buffer.isBuffer(v) ? v : parseMac(v as string, what); break;
    case 'nested': {
      if (typeof v !== 'object' || v === null || Buffer.isBuffer(v) || Array.isArray(v)) throw new TypeError(`${what} must be an object of attributes`);
      const o = v as Record<string, unknown>;
      const table = typeof spec?.nested === 'function' ? spec.nested(parent as Attrs) : spec?.nested;
      const parts: Buffer[] = [];
      let rest = o;
      if (spec?.header) {
        const h = Buffer.alloc(spec.header.size);
        const { header, ...others } = o;
        if (header !== undefined && (typeof header !== 'object' || header === null)) throw new TypeError(`${what}.header must be an object`);
        spec.header.encode((header ?? {}) as Record<string, number>, h);
        parts.push(h);
        rest = others;
      }
      parts.push(encodeAttrs(rest, table, depth + 1));
      payload = Buffer.concat(parts);
      flags = NLA_F_NESTED;
      break;
    }
    case 'array': {
      if (!Array.isArray(v)) throw new TypeError(`${what} must be an array`);
      if (v.length > 4096) throw new RangeError(`${what}: at most 4096 elements`);
      const el = spec?.element ?? { kind: 'bytes' as AttrKind };
      const inner = new Writer();
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) throw new TypeError(`${what}[${i}] is missing`);
        writeAttr(inner, i + 1, el.kind, v[i], el, {}, depth + 1, `${what}[${i}]`);
      }
      payload = inner.concat();
      flags = NLA_F_NESTED;
      break;
    }
  }
  if (payload.length > MAX_ATTR_PAYLOAD) throw new RangeError(`${what}: ${payload.length} bytes do not fit in an attribute`);
  const h = Buffer.alloc(NLA_HDRLEN);
  wr16(h, NLA_HDRLEN + payload.length, 0);
  wr16(h, type | flags, 2);
  w.push(h);
  w.push(payload);
  const pad = align4(payload.length) - payload.length;
  if (pad) w.push(Buffer.alloc(pad));
}

// ------------------------------------------------------------ messages

/** One netlink message: the nlmsghdr fields and its payload (after the header). */
export interface NlMsg {
  /** nlmsg_type: RTM_NEWLINK, NLMSG_ERROR, a generic family's id … */
  type: number;
  /** nlmsg_flags: NLM_F_MULTI, NLM_F_DUMP_INTR … */
  flags: number;
  /** nlmsg_seq: the request's sequence number (0 for a notification). */
  seq: number;
  /** nlmsg_pid: the sender's port id (0 for the kernel). */
  pid: number;
  /** The payload after the 16-byte header. */
  data: Buffer;
}

/** Frames one message: a 16-byte nlmsghdr, then `payload` (padded to 4). */
export function encodeMessage(type: number, flags: number, seq: number, payload: Buffer | Buffer[], pid = 0): Buffer {
  for (const [v, what, max] of [[type, 'type', 0xffff], [flags, 'flags', 0xffff], [seq, 'seq', 0xffffffff], [pid, 'pid', 0xffffffff]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`encodeMessage: ${what} must be an integer`);
    if (v < 0 || v > max) throw new RangeError(`encodeMessage: ${what} must be between 0 and ${max}`);
  }
  const parts = Array.isArray(payload) ? payload : [payload];
  if (parts.length > 4096) throw new RangeError('encodeMessage: at most 4096 payload parts');
  let body = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    checkBuf(p, `encodeMessage: payload[${i}]`);
    body += p.length;
  }
  const len = NLMSG_HDRLEN + body;
  if (len > 0x7fffffff) throw new RangeError('netlink message too large');
  const out = Buffer.alloc(align4(len));
  wr32(out, len, 0);
  wr16(out, type & 0xffff, 4);
  wr16(out, flags & 0xffff, 6);
  wr32(out, seq >>> 0, 8);
  wr32(out, pid >>> 0, 12);
  let off = NLMSG_HDRLEN;
  for (const p of parts) { p.copy(out, off); off += p.length; }
  return out;
}

/**
 * The messages in one received datagram, in order. A header whose length is
 * short or runs past the datagram ends the walk (the kernel never sends one;
 * a forged buffer must not be read past its end). Payloads are views of `b`.
 */
export function parseMessages(b: Buffer, len?: number): Generator<NlMsg> {
  checkBuf(b, 'parseMessages: buffer');
  if (len === undefined) len = b.length;
  checkOff(len, 'parseMessages: length');
  return walkMessages(b, Math.min(len, b.length));
}

function* walkMessages(b: Buffer, end: number): Generator<NlMsg> {
  for (let off = 0; off + NLMSG_HDRLEN <= end;) {
    const mlen = rd32(b, off);
    if (mlen < NLMSG_HDRLEN || off + mlen > end) return;
    yield { type: rd16(b, off + 4), flags: rd16(b, off + 6), seq: rd32(b, off + 8), pid: rd32(b, off + 12), data: b.subarray(off + NLMSG_HDRLEN, off + mlen) };
    off += align4(mlen);
  }
}

/** The flags and data of a message, each read once (a getter is not asked twice). */
function msgParts(m: unknown, what: string): { flags: number; data: Buffer } {
  if (typeof m !== 'object' || m === null) throw new TypeError(`${what}: a message object ({ flags, data }) is needed`);
  const { flags, data } = m as NlMsg;
  if (typeof flags !== 'number') throw new TypeError(`${what}: message.flags must be a number`);
  checkBuf(data, `${what}: message.data`);
  return { flags, data };
}

/** What an NLMSG_ERROR (or a DONE carrying an error) says. */
export interface NlError {
  /** The positive errno (0: an acknowledgement). */
  errno: number;
  /** NLMSGERR_ATTR_MSG: the kernel's extended-ack text. */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: the byte offset, in the request, of the attribute at fault. */
  offset?: number;
  /** The request's type, from the echoed header. */
  requestType?: number;
}

const NLMSGERR_TABLE = new AttrTable('nlmsgerr', {
  NLMSGERR_ATTR_MSG: 'string',
  NLMSGERR_ATTR_OFFS: 'u32',
  NLMSGERR_ATTR_COOKIE: 'bytes',
}, { NLMSGERR_ATTR_MSG: 1, NLMSGERR_ATTR_OFFS: 2, NLMSGERR_ATTR_COOKIE: 3 });

const NLM_F_CAPPED = C.NLM_F_CAPPED ?? 0x100, NLM_F_ACK_TLVS = C.NLM_F_ACK_TLVS ?? 0x200;

/**
 * Decodes the payload of an NLMSG_ERROR message (struct nlmsgerr: an int
 * error, the request's header — and its payload unless NLM_F_CAPPED — then
 * extended-ack attributes when NLM_F_ACK_TLVS).
 */
export function decodeError(m: NlMsg): NlError {
  const { flags, data: d } = msgParts(m, 'decodeError');
  if (d.length < 4) return { errno: 0 };
  const err = rds32(d, 0);
  const out: NlError = { errno: err < 0 ? -err : err };
  if (d.length >= 4 + NLMSG_HDRLEN) {
    out.requestType = rd16(d, 8);
    if (flags & NLM_F_ACK_TLVS) {
      const reqLen = rd32(d, 4);
      // The echoed request's length is the sender's word: one that is short or runs past the
      // message leaves no attributes to read (align4 of a length >= 2**31 would go negative).
      const skip = flags & NLM_F_CAPPED ? NLMSG_HDRLEN : reqLen >= NLMSG_HDRLEN && reqLen <= d.length ? align4(reqLen) : d.length;
      const a = decodeAttrs(d, 4 + skip, d.length, NLMSGERR_TABLE);
      if (typeof a.NLMSGERR_ATTR_MSG === 'string') out.message = a.NLMSGERR_ATTR_MSG;
      if (typeof a.NLMSGERR_ATTR_OFFS === 'number') out.offset = a.NLMSGERR_ATTR_OFFS;
    }
  }
  return out;
}

/** Decodes an NLMSG_DONE's payload: an int error, then extended-ack attributes. */
export function decodeDone(m: NlMsg): NlError {
  const { flags, data: d } = msgParts(m, 'decodeDone');
  if (d.length < 4) return { errno: 0 };
  const err = rds32(d, 0);
  const out: NlError = { errno: err < 0 ? -err : err };
  if (flags & NLM_F_ACK_TLVS) {
    const a = decodeAttrs(d, 4, d.length, NLMSGERR_TABLE);
    if (typeof a.NLMSGERR_ATTR_MSG === 'string') out.message = a.NLMSGERR_ATTR_MSG;
  }
  return out;
}
