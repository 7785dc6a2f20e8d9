// The netlink codec (lib/netlink/codec.ts): attribute kinds both ways,
// alignment, unknown attributes, hostile buffers (short, lying, deeply
// nested, random) that must never be read past, argument errors; then a real
// NETLINK_ROUTE session against ip(8): a link dump, the kernel's errors and
// extended-ack text, dumps abandoned or interrupted by a request, aborts and
// close. The codec needs no privilege; the session only reads.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { k } from './helpers';
import { openFds } from './setup/fd-guard';

const c = k.constants;
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const NLA_F_NESTED = 0x8000, NLA_F_NET_BYTEORDER = 0x4000;
const linux = c.NETLINK_ROUTE !== undefined && k.features.af_netlink;
const hasIp = linux && spawnSync('ip', ['-V'], { timeout: 5000 }).status === 0;

const u16 = (b: Buffer, o: number) => (LE ? b.readUInt16LE(o) : b.readUInt16BE(o));
const u32 = (b: Buffer, o: number) => (LE ? b.readUInt32LE(o) : b.readUInt32BE(o));

/** The raw attributes at the top of `b`: [len, type with flags, payload]. */
function rawAttrs(b: Buffer): Array<[number, number, Buffer]> {
  const out: Array<[number, number, Buffer]> = [];
  for (let o = 0; o + 4 <= b.length;) {
    const len = u16(b, o);
    out.push([len, u16(b, o + 2), b.subarray(o + 4, o + len)]);
    o += (len + 3) & ~3;
  }
  return out;
}

// Attribute numbers given explicitly: these tables do not depend on the platform's constants.
const inner = new k.AttrTable('inner', { A: 'u32', B: 'string' }, { A: 1, B: 2 });
const hdr = new k.Struct<{ family: number; index: number }>('hdr', [['family', 'u8'], ['index', 's32']]);
const kindA = new k.AttrTable('kind-a', { X: 'u16' }, { X: 1 });
const kindB = new k.AttrTable('kind-b', { Y: 'string' }, { Y: 1 });
const info = new k.AttrTable('info', {
  KIND: 'string',
  DATA: { kind: 'nested', nested: (p: k.Attrs) => (p.KIND === 'a' ? kindA : p.KIND === 'b' ? kindB : undefined) },
}, { KIND: 1, DATA: 2 });
const all = new k.AttrTable('all', {
  U8: 'u8', U16: 'u16', U32: 'u32', U64: 'u64', S32: 's32', BE16: 'be16', BE32: 'be32',
  STR: 'string', BYTES: 'bytes', FLAG: 'flag', IP: 'ip', MAC: 'mac',
  NEST: { kind: 'nested', nested: inner },
  NESTH: { kind: 'nested', nested: inner, header: hdr as unknown as k.Struct<Record<string, number>> },
  ARR: { kind: 'array', element: { kind: 'nested', nested: inner } },
  ARR32: { kind: 'array', element: { kind: 'u32' } },
  INFO: { kind: 'nested', nested: info },
}, { U8: 1, U16: 2, U32: 3, U64: 4, S32: 5, BE16: 6, BE32: 7, STR: 8, BYTES: 9, FLAG: 10, IP: 11, MAC: 12, NEST: 13, NESTH: 14, ARR: 15, ARR32: 16, INFO: 17 });
// A table that nests itself: attribute 1 holds the same table again.
const deep: k.AttrTable = new k.AttrTable('deep', { D: { kind: 'nested', nested: () => deep }, V: 'u32' }, { D: 1, V: 2 });

const roundTrip = (v: Record<string, unknown>, t: k.AttrTable = all) => {
  const b = k.encodeAttrs(v, t);
  return k.decodeAttrs(b, 0, b.length, t);
};

describe('netlink codec: attribute kinds round-trip', () => {
  it('integers u8..u64 and s32 in host order, at their limits', () => {
    for (const v of [
      { U8: 0, U16: 0, U32: 0, U64: 0n, S32: -0x80000000 },
      { U8: 0xff, U16: 0xffff, U32: 0xffffffff, U64: 0xffffffffffffffffn, S32: 0x7fffffff },
      { U8: 7, U16: 0x1234, U32: 0x12345678, U64: 0x0123456789abcdefn, S32: -1 },
    ]) expect(roundTrip(v)).toEqual(v);
    const b = k.encodeAttrs({ U32: 0x01020304 }, all);
    expect(rawAttrs(b)).toEqual([[8, 3, LE ? Buffer.from([4, 3, 2, 1]) : Buffer.from([1, 2, 3, 4])]]);
    // A u64 given as a safe integer number comes back as a bigint.
    expect(roundTrip({ U64: 2 ** 53 - 1 })).toEqual({ U64: 2n ** 53n - 1n });
  });

  it('be16/be32 are network order and carry NLA_F_NET_BYTEORDER; the flag is masked off when decoding', () => {
    const b = k.encodeAttrs({ BE16: 0x0800, BE32: 0xc0a80001 }, all);
    const raw = rawAttrs(b);
    expect(raw[0]).toEqual([6, 6 | NLA_F_NET_BYTEORDER, Buffer.from([0x08, 0x00])]);
    expect(raw[1]).toEqual([8, 7 | NLA_F_NET_BYTEORDER, Buffer.from([0xc0, 0xa8, 0, 1])]);
    expect(k.decodeAttrs(b, 0, b.length, all)).toEqual({ BE16: 0x0800, BE32: 0xc0a80001 });
  });

  it('string (NUL-terminated), bytes, flag (present when true, absent when false)', () => {
    expect(roundTrip({ STR: 'héllo', BYTES: Buffer.from([0, 1, 2, 255]), FLAG: true })).toEqual({ STR: 'héllo', BYTES: Buffer.from([0, 1, 2, 255]), FLAG: true });
    expect(rawAttrs(k.encodeAttrs({ STR: 'ab' }, all))).toEqual([[7, 8, Buffer.from('ab\0')]]);
    expect(rawAttrs(k.encodeAttrs({ FLAG: true }, all))).toEqual([[4, 10, Buffer.alloc(0)]]);
    expect(k.encodeAttrs({ FLAG: false }, all).length).toBe(0);
    expect(roundTrip({ STR: '' })).toEqual({ STR: '' });
    // A string without its NUL (as some families send) ends at the attribute's end.
    const b = Buffer.from([7, 0, 8, 0, 0x61, 0x62, 0x63, 0]);
    if (!LE) b.writeUInt16BE(7, 0), b.writeUInt16BE(8, 2);
    expect(k.decodeAttrs(b, 0, 7, all)).toEqual({ STR: 'abc' });
  });

  it('ip v4 and v6 in the text inet_ntop gives, mac as aa:bb:…', () => {
    expect(roundTrip({ IP: '192.0.2.1' })).toEqual({ IP: '192.0.2.1' });
    expect(roundTrip({ IP: '2001:db8:0:0:0:0:0:1' })).toEqual({ IP: '2001:db8::1' });
    expect(roundTrip({ IP: '::ffff:192.0.2.1' })).toEqual({ IP: '::ffff:192.0.2.1' });
    expect(rawAttrs(k.encodeAttrs({ IP: '10.1.2.3' }, all))).toEqual([[8, 11, Buffer.from([10, 1, 2, 3])]]);
    expect(rawAttrs(k.encodeAttrs({ IP: 'fe80::1' }, all))[0]![0]).toBe(20);
    expect(roundTrip({ MAC: '02:00:5e:10:00:ff' })).toEqual({ MAC: '02:00:5e:10:00:ff' });
    expect(roundTrip({ MAC: 'A:b:C:d:E:f' })).toEqual({ MAC: '0a:0b:0c:0d:0e:0f' });
  });

  it('nested without and with a header, arrays of nests and of integers, all with NLA_F_NESTED', () => {
    const v = {
      NEST: { A: 1, B: 'x' },
      NESTH: { header: { family: 10, index: -5 }, A: 2 },
      ARR: [{ A: 3 }, { B: 'y' }, {}],
      ARR32: [5, 6, 7],
    };
    expect(roundTrip(v)).toEqual(v);
    const raw = rawAttrs(k.encodeAttrs(v, all));
    expect(raw.map(([, t]) => t)).toEqual([13 | NLA_F_NESTED, 14 | NLA_F_NESTED, 15 | NLA_F_NESTED, 16 | NLA_F_NESTED]);
    // The header comes first in the nest (8 bytes: u8, 3 pad, s32), then the attributes.
    const nh = raw[1]![2];
    expect(nh[0]).toBe(10);
    expect(nh.length).toBe(8 + 8);
    // Array elements are numbered 1, 2, 3.
    expect(rawAttrs(raw[3]![2]).map(([len, t, p]) => [len, t, u32(p, 0)])).toEqual([[8, 1, 5], [8, 2, 6], [8, 3, 7]]);
    // A header omitted when encoding is zeros.
    expect(roundTrip({ NESTH: { A: 9 } })).toEqual({ NESTH: { header: { family: 0, index: 0 }, A: 9 } });
  });

  it('a nested table chosen from a sibling (the way IFLA_INFO_DATA follows IFLA_INFO_KIND)', () => {
    expect(roundTrip({ INFO: { KIND: 'a', DATA: { X: 0xbeef } } })).toEqual({ INFO: { KIND: 'a', DATA: { X: 0xbeef } } });
    expect(roundTrip({ INFO: { KIND: 'b', DATA: { Y: 'why' } } })).toEqual({ INFO: { KIND: 'b', DATA: { Y: 'why' } } });
    // The same bytes read as kind b's string when the kind says b.
    const asA = k.encodeAttrs({ INFO: { KIND: 'a', DATA: { X: 0x4142 } } }, all);
    const asB = Buffer.from(asA);
    const kindAt = asB.indexOf('a\0');
    asB[kindAt] = 0x62; // 'b'
    const d = k.decodeAttrs(asB, 0, asB.length, all) as { INFO: { KIND: string; DATA: { Y: string } } };
    expect(d.INFO.KIND).toBe('b');
    expect(typeof d.INFO.DATA.Y).toBe('string');
    // An unknown kind: DATA's attributes kept by number.
    const u = roundTrip({ INFO: { KIND: 'zz', DATA: { 1: Buffer.from([1, 2]) } } });
    expect(u).toEqual({ INFO: { KIND: 'zz', DATA: { 1: Buffer.from([1, 2]) } } });
  });

  it('alignment: every attribute starts on a 4-byte boundary, the length excludes the padding, the padding is zero', () => {
    for (const s of ['', 'a', 'ab', 'abc', 'abcd', 'abcde']) {
      const b = k.encodeAttrs({ STR: s, U8: 0xaa, U16: 0xbbbb, BYTES: Buffer.alloc(s.length, 0xcc), U32: 1 }, all);
      const raw = rawAttrs(b);
      expect(raw.map(([len]) => len)).toEqual([4 + s.length + 1, 5, 6, 4 + s.length, 8]);
      expect(b.length).toBe(raw.reduce((n, [len]) => n + ((len + 3) & ~3), 0));
      let o = 0;
      for (const [len] of raw) {
        for (let p = o + len; p < o + ((len + 3) & ~3); p++) expect(b[p]).toBe(0);
        o += (len + 3) & ~3;
      }
      expect(k.decodeAttrs(b, 0, b.length, all)).toEqual({ STR: s, U8: 0xaa, U16: 0xbbbb, BYTES: Buffer.alloc(s.length, 0xcc), U32: 1 });
    }
    expect(k.align4(0)).toBe(0);
    expect(k.align4(5)).toBe(8);
    expect(k.align4(8)).toBe(8);
  });

  it('unknown attributes are kept by number (and encode back by number)', () => {
    const b = Buffer.concat([k.encodeAttrs({ U8: 1 }, all), k.encodeAttrs({ 99: Buffer.from('zz'), 0x3fff: Buffer.alloc(0) }, undefined)]);
    const d = k.decodeAttrs(b, 0, b.length, all);
    expect(d).toEqual({ U8: 1, 99: Buffer.from('zz'), 16383: Buffer.alloc(0) });
    const again = k.encodeAttrs(d, all);
    expect(k.decodeAttrs(again, 0, again.length, all)).toEqual(d);
    // Without any table every attribute is kept by number.
    expect(Object.keys(k.decodeAttrs(b, 0, b.length))).toEqual(['1', '99', '16383']);
  });

  it('messages: encodeMessage frames, parseMessages walks several per datagram with their padding', () => {
    const a = k.encodeMessage(0x1234, 0x0301, 7, [Buffer.from([1, 2, 3])], 99);
    expect(a.length).toBe(20);
    expect(u32(a, 0)).toBe(19);
    const b = k.encodeMessage(3, 2, 8, Buffer.alloc(4, 9));
    const msgs = [...k.parseMessages(Buffer.concat([a, b]))];
    expect(msgs.map((m) => [m.type, m.flags, m.seq, m.pid, [...m.data]])).toEqual([
      [0x1234, 0x0301, 7, 99, [1, 2, 3]],
      [3, 2, 8, 0, [9, 9, 9, 9]],
    ]);
    expect([...k.parseMessages(Buffer.concat([a, b]), 20)]).toHaveLength(1);
  });

  it('Struct: natural alignment, host order, range-checked fields', () => {
    const s = new k.Struct<{ a: number; b: number; c: number; d: number; e: number }>('s', [['a', 'u8'], ['b', 'u32'], ['c', 'u16'], ['d', 'be16'], ['e', 's32']]);
    expect(s.size).toBe(16);
    const b = Buffer.alloc(16);
    s.encode({ a: 1, b: 0xdeadbeef, c: 0x102, d: 0x0800, e: -2 }, b);
    expect(u32(b, 4)).toBe(0xdeadbeef);
    expect(b.readUInt16BE(10)).toBe(0x0800);
    expect(s.decode(b)).toEqual({ a: 1, b: 0xdeadbeef, c: 0x102, d: 0x0800, e: -2 });
    expect(s.decode(b, 0, 6)).toEqual({ a: 1, b: 0, c: 0, d: 0, e: 0 }); // short: missing fields read 0
    expect(() => s.encode({ a: 256 }, b)).toThrow(RangeError);
    expect(() => s.encode({ e: 2 ** 31 }, b)).toThrow(RangeError);
    expect(() => s.encode({ b: 1.5 }, b)).toThrow(TypeError);
    expect(() => s.encode({ c: '1' as unknown as number }, b)).toThrow(TypeError);
  });
});

describe('netlink codec: bad arguments to encodeAttrs', () => {
  it('wrong types, unknown names, out-of-range values: TypeError or RangeError', () => {
    const bad: Array<[Record<string, unknown>, typeof TypeError | typeof RangeError]> = [
      [{ NOPE: 1 }, TypeError],
      [{ U8: 256 }, RangeError], [{ U8: -1 }, RangeError], [{ U8: 1.5 }, TypeError], [{ U8: '1' }, TypeError], [{ U8: null }, TypeError],
      [{ U16: 0x10000 }, RangeError], [{ U32: 2 ** 32 }, RangeError], [{ S32: 2 ** 31 }, RangeError], [{ S32: -(2 ** 31) - 1 }, RangeError],
      [{ BE16: 65536 }, RangeError], [{ BE32: -1 }, RangeError], [{ U32: NaN }, TypeError], [{ U32: Infinity }, TypeError],
      [{ U64: -1n }, TypeError], [{ U64: 2n ** 64n }, TypeError], [{ U64: 2 ** 60 }, TypeError], [{ U64: '5' }, TypeError],
      [{ STR: 5 }, TypeError], [{ STR: 'a\0b' }, TypeError], [{ STR: 'x'.repeat(70000) }, RangeError],
      [{ BYTES: 'abc' }, TypeError], [{ BYTES: new Uint8Array(2) }, TypeError], [{ BYTES: Buffer.alloc(65533) }, RangeError],
      [{ FLAG: 1 }, TypeError], [{ FLAG: 'yes' }, TypeError],
      [{ IP: '1.2.3' }, TypeError], [{ IP: '256.1.1.1' }, TypeError], [{ IP: 'fe80::1::2' }, TypeError], [{ IP: 42 }, TypeError],
      [{ MAC: 'zz:00' }, TypeError], [{ MAC: 12 }, TypeError], [{ MAC: '' }, TypeError],
      [{ NEST: 'x' }, TypeError], [{ NEST: [] }, TypeError], [{ NEST: null }, TypeError], [{ NEST: Buffer.alloc(1) }, TypeError], [{ NEST: { C: 1 } }, TypeError],
      [{ NESTH: { header: 5 } }, TypeError], [{ NESTH: { header: { family: 300 } } }, RangeError],
      [{ ARR: {} }, TypeError], [{ ARR: [5] }, TypeError], [{ ARR32: [1, -1] }, RangeError], [{ ARR32: new Array(5000).fill(1) }, RangeError],
      // eslint-disable-next-line no-sparse-arrays
      [{ ARR32: [1, , 3] }, TypeError],
      [{ INFO: { KIND: 'a', DATA: { Y: 'wrong table' } } }, TypeError],
      [{ 99: 'not a buffer' }, TypeError], [{ 70000: Buffer.alloc(1) }, TypeError],
    ];
    for (const [v, E] of bad) expect(() => k.encodeAttrs(v, all), JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x))?.slice(0, 80)).toThrow(E);
    expect(() => k.encodeAttrs(null as unknown as Record<string, unknown>, all)).toThrow(TypeError);
    expect(() => k.encodeAttrs('x' as unknown as Record<string, unknown>, all)).toThrow(TypeError);
    // A nest too deep to be anything but a mistake (or a cycle).
    let v: Record<string, unknown> = { V: 1 };
    for (let i = 0; i < 40; i++) v = { D: v };
    expect(() => k.encodeAttrs(v, deep)).toThrow(RangeError);
    const cyc: Record<string, unknown> = {};
    cyc.D = cyc;
    expect(() => k.encodeAttrs(cyc, deep)).toThrow(RangeError);
    // undefined values are skipped.
    expect(k.encodeAttrs({ U8: undefined, U16: 1 }, all)).toEqual(k.encodeAttrs({ U16: 1 }, all));
  });
});

/** A little-endian-or-host attribute header + payload, with the length field as given (it may lie). */
function attr(type: number, payload: Buffer, len = 4 + payload.length): Buffer {
  const h = Buffer.alloc(4);
  if (LE) { h.writeUInt16LE(len & 0xffff, 0); h.writeUInt16LE(type, 2); } else { h.writeUInt16BE(len & 0xffff, 0); h.writeUInt16BE(type, 2); }
  const b = Buffer.concat([h, payload]);
  return Buffer.concat([b, Buffer.alloc(((b.length + 3) & ~3) - b.length)]);
}

describe('netlink codec: hostile buffers', () => {
  it('truncated and lying message headers end the walk', () => {
    const good = k.encodeMessage(20, 0, 1, Buffer.alloc(8, 1));
    for (let n = 0; n < 16; n++) expect([...k.parseMessages(good.subarray(0, n))]).toEqual([]);
    const short = Buffer.from(good);
    for (const len of [0, 1, 15]) {
      if (LE) short.writeUInt32LE(len, 0); else short.writeUInt32BE(len, 0);
      expect([...k.parseMessages(short)]).toEqual([]);
    }
    for (const len of [good.length + 1, 0xffffffff, 0x80000000]) {
      if (LE) short.writeUInt32LE(len, 0); else short.writeUInt32BE(len, 0);
      expect([...k.parseMessages(short)]).toEqual([]);
    }
    // The first message is whole, the second lies: only the first.
    const two = Buffer.concat([good, good.subarray(0, 20)]);
    expect([...k.parseMessages(two)]).toHaveLength(1);
    // A length argument past the buffer is clamped.
    expect([...k.parseMessages(good, 1 << 20)]).toHaveLength(1);
  });

  it('attribute lengths below 4 or past the end end the walk; short payloads decode to nothing', () => {
    const ok = attr(1, Buffer.from([7]));
    for (const len of [0, 1, 2, 3]) expect(k.decodeAttrs(Buffer.concat([ok, attr(3, Buffer.alloc(4), len)]), 0, 16, all)).toEqual({ U8: 7 });
    expect(k.decodeAttrs(Buffer.concat([ok, attr(3, Buffer.alloc(4), 9)]), 0, 16, all)).toEqual({ U8: 7 });
    expect(k.decodeAttrs(Buffer.concat([ok, attr(3, Buffer.alloc(4), 0xffff)]), 0, 16, all)).toEqual({ U8: 7 });
    // end past the buffer is clamped; off past the end gives nothing.
    expect(k.decodeAttrs(ok, 0, 1 << 20, all)).toEqual({ U8: 7 });
    expect(k.decodeAttrs(ok, 100, 200, all)).toEqual({});
    // Payloads too short for their kind are left out, not read beyond.
    const short = Buffer.concat([attr(2, Buffer.from([1])), attr(3, Buffer.from([1, 2, 3])), attr(4, Buffer.from([1, 2])), attr(1, Buffer.alloc(0))]);
    expect(k.decodeAttrs(short, 0, short.length, all)).toEqual({});
    // An ip of odd length is kept as bytes.
    expect(k.decodeAttrs(attr(11, Buffer.from([1, 2, 3])), 0, 8, all)).toEqual({ IP: Buffer.from([1, 2, 3]) });
  });

  it('deeply nested attributes stop at the depth bound (no stack overflow, the rest kept as bytes)', () => {
    let b = attr(2, Buffer.from([1, 0, 0, 0]));
    for (let i = 0; i < 200; i++) b = attr(1 | NLA_F_NESTED, b);
    expect(b.length).toBeLessThan(0xffff);
    const d = k.decodeAttrs(b, 0, b.length, deep);
    let depth = 0;
    let cur: k.AttrValue = d;
    while (typeof cur === 'object' && !Buffer.isBuffer(cur) && !Array.isArray(cur) && cur !== null && 'D' in cur) { cur = cur.D!; depth++; }
    expect(Buffer.isBuffer(cur)).toBe(true);
    expect(depth).toBeGreaterThan(4);
    expect(depth).toBeLessThanOrEqual(32);
    // Arrays nested in arrays too.
    const arrT: k.AttrTable = new k.AttrTable('arr', { L: { kind: 'array', element: { kind: 'array' } } }, { L: 1 });
    const a = k.decodeAttrs(b, 0, b.length, arrT);
    expect(a.L).toBeDefined();
  });

  it('decodeError/decodeDone: short, lying and capped NLMSG_ERROR payloads', () => {
    const m = (data: Buffer, flags = 0): k.NlMsg => ({ type: 2, flags, seq: 1, pid: 0, data });
    expect(k.decodeError(m(Buffer.alloc(0)))).toEqual({ errno: 0 });
    expect(k.decodeError(m(Buffer.alloc(3)))).toEqual({ errno: 0 });
    const e = Buffer.alloc(4); if (LE) e.writeInt32LE(-19, 0); else e.writeInt32BE(-19, 0);
    expect(k.decodeError(m(e))).toEqual({ errno: 19 });
    // An extended ack whose echoed request length lies: no text, no throw.
    const req = k.encodeMessage(18, 5, 1, Buffer.alloc(16));
    const lying = Buffer.from(req); if (LE) lying.writeUInt32LE(0xfffffff0, 0); else lying.writeUInt32BE(0xfffffff0, 0);
    const ext = attr(1, Buffer.from('bad thing\0'));
    expect(k.decodeError(m(Buffer.concat([e, lying, ext]), 0x200))).toEqual({ errno: 19, requestType: 18 });
    // A capped one with its text and offset.
    const capped = k.decodeError(m(Buffer.concat([e, req.subarray(0, 16), ext, attr(2, Buffer.from(LE ? [24, 0, 0, 0] : [0, 0, 0, 24]))]), 0x300));
    expect(capped).toEqual({ errno: 19, requestType: 18, message: 'bad thing', offset: 24 });
    expect(k.decodeDone(m(Buffer.concat([e, ext]), 0x200))).toEqual({ errno: 19, message: 'bad thing' });
    expect(k.decodeDone(m(Buffer.alloc(2)))).toEqual({ errno: 0 });
  });

  it('a seeded fuzz over a 64 KiB arena: only TypeError/RangeError, and nothing read from beyond the window', () => {
    // mulberry32: a small seeded PRNG, so a failure reproduces.
    let seed = 0x6b736f63;
    const rnd = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const int = (n: number) => Math.floor(rnd() * n);
    const ARENA = 64 * 1024;
    // Two arenas, the same window bytes in each, different sentinels around them (bytes the window never holds):
    // anything decoded from beyond the window would differ between the two runs.
    const arenaA = Buffer.alloc(ARENA, 0xee), arenaB = Buffer.alloc(ARENA, 0x11);
    const seeds: Buffer[] = [
      k.encodeAttrs({ U8: 1, U16: 2, U32: 3, U64: 4n, S32: -5, BE16: 6, BE32: 7, STR: 'str', BYTES: Buffer.from([8]), FLAG: true, IP: '2001:db8::9', MAC: '0a:0b:0c:0d:0e:0f' }, all),
      k.encodeAttrs({ NEST: { A: 1, B: 'b' }, NESTH: { header: { family: 2, index: 3 }, A: 4 }, ARR: [{ A: 5 }, { B: 'c' }], ARR32: [1, 2], INFO: { KIND: 'a', DATA: { X: 9 } } }, all),
    ];
    const genlCtrl = k.encodeAttrs({ CTRL_ATTR_FAMILY_ID: 16, CTRL_ATTR_FAMILY_NAME: 'nlctrl', CTRL_ATTR_OPS: [{ CTRL_ATTR_OP_ID: 3, CTRL_ATTR_OP_FLAGS: 14 }], CTRL_ATTR_MCAST_GROUPS: [{ CTRL_ATTR_MCAST_GRP_NAME: 'notify', CTRL_ATTR_MCAST_GRP_ID: 16 }] }, k.ctrlAttrs);
    let d16 = attr(2, Buffer.alloc(4));
    for (let i = 0; i < 30; i++) d16 = attr(1 | NLA_F_NESTED, d16);
    seeds.push(d16);

    let buffersSeen: Buffer[] = [];
    const serialize = (v: unknown): string => JSON.stringify(v, function (this: Record<string, unknown>, key: string, x: unknown) {
      const raw = this[key];
      if (Buffer.isBuffer(raw)) { buffersSeen.push(raw); return `hex:${raw.toString('hex')}`; }
      if (typeof x === 'bigint') return `${x}n`;
      return x;
    });
    /** Everything a reader could get out of the window. */
    const decodeAll = (w: Buffer): string => {
      const out: unknown[] = [];
      const safe = (f: () => unknown): unknown => {
        try { return f(); } catch (e) {
          if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
          return `threw ${(e as Error).name}`;
        }
      };
      out.push(safe(() => k.decodeAttrs(w, 0, w.length, all)));
      out.push(safe(() => k.decodeAttrs(w, 0, w.length, deep)));
      out.push(safe(() => k.decodeAttrs(w, 0, w.length, k.ctrlAttrs)));
      out.push(safe(() => k.decodeAttrs(w, 4, w.length)));
      out.push(safe(() => [...k.parseMessages(w)].map((m) => {
        expect(m.data.buffer).toBe(w.buffer);
        expect(m.data.byteOffset).toBeGreaterThanOrEqual(w.byteOffset);
        expect(m.data.byteOffset + m.data.length).toBeLessThanOrEqual(w.byteOffset + w.length);
        return [m.type, m.flags, m.seq, m.pid, m.data.length,
          safe(() => k.decodeError({ ...m, flags: m.flags | 0x200 })), safe(() => k.decodeDone({ ...m, flags: m.flags | 0x200 })),
          safe(() => k.decodeGenl(m, k.ctrlAttrs)), safe(() => k.decodeGenl(m, all, m.flags & 0xff))];
      })));
      const asMsg = { type: 2, flags: 0x200 | (w.length ? w[0]! : 0), seq: 0, pid: 0, data: w };
      out.push(safe(() => k.decodeError(asMsg)), safe(() => k.decodeDone(asMsg)), safe(() => k.decodeGenl(asMsg, k.ctrlAttrs)));
      return serialize(out);
    };

    const deadline = Date.now() + 15_000;
    let runs = 0;
    for (let i = 0; i < 1500 && Date.now() < deadline; i++, runs++) {
      // A window: mutated valid attributes or messages, or plain random bytes.
      let body: Buffer;
      const pick = int(4);
      if (pick === 0) body = Buffer.from(seeds[int(seeds.length)]!);
      else if (pick === 1) body = k.encodeMessage(int(0x10000), int(0x10000), int(1000), [Buffer.from([int(256), int(4), 0, 0]), seeds[int(seeds.length)]!, genlCtrl]);
      else if (pick === 2) body = Buffer.concat([k.encodeMessage(2, 0x300, 1, Buffer.alloc(20)), attr(1, Buffer.from('text\0')), k.encodeMessage(3, 0x202, 1, Buffer.alloc(4))]);
      else { body = Buffer.alloc(int(i % 100 === 0 ? ARENA - 16 : 600)); for (let j = 0; j < body.length; j++) body[j] = int(256); }
      if (pick !== 3) {
        const flips = int(8);
        for (let f = 0; f < flips && body.length > 0; f++) body[int(body.length)] = int(4) === 0 ? 0xff : int(256);
        if (int(3) === 0) body = body.subarray(0, int(body.length + 1)); // truncated
      }
      for (let j = 0; j < body.length; j++) if (body[j] === 0xee) body[j] = 0xed; else if (body[j] === 0x11) body[j] = 0x10;
      const at = int(ARENA - body.length + 1);
      body.copy(arenaA, at);
      body.copy(arenaB, at);
      const wA = arenaA.subarray(at, at + body.length), wB = arenaB.subarray(at, at + body.length);
      buffersSeen = [];
      const a = decodeAll(wA);
      const fromA = buffersSeen;
      const b = decodeAll(wB);
      buffersSeen = fromA;
      expect(a, `run ${i}: a decoded value depends on bytes beyond the window`).toBe(b);
      // The window never holds 0xee: a decoded Buffer holding one was read from arena A's sentinel.
      expect(buffersSeen.some((x) => x.includes(0xee)), `run ${i}: a Buffer holds bytes from beyond the window`).toBe(false);
      arenaA.fill(0xee, at, at + body.length);
      arenaB.fill(0x11, at, at + body.length);
    }
    expect(runs).toBeGreaterThan(100);
  });
});

const whyIp = !linux ? 'skipped: no netlink on this platform' : !hasIp ? 'skipped: no ip(8) to compare with' : 'ip(8) is the peer';
const ifinfo = (v: { index?: number } = {}) => { const b = Buffer.alloc(k.ifinfomsg.size); k.ifinfomsg.encode(v, b); return b; };

describe.runIf(linux)('netlink codec: a real NETLINK_ROUTE session', () => {
  it.runIf(hasIp)(`a link dump gives the ifindex list of \`ip -j link show\` (${whyIp})`, async () => {
    await using nl = k.Netlink.open('NETLINK_ROUTE');
    const ours: Array<[number, string]> = [];
    for await (const m of nl.dump(c.RTM_GETLINK!, ifinfo())) {
      expect(m.type).toBe(c.RTM_NEWLINK);
      const h = k.ifinfomsg.decode(m.data);
      const a = k.decodeAttrs(m.data, k.ifinfomsg.size, m.data.length, k.linkAttrs);
      ours.push([h.index, a.IFLA_IFNAME as string]);
    }
    const ip = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8', timeout: 10_000 })) as Array<{ ifindex: number; ifname: string }>;
    expect(ours).toEqual(ip.map((l) => [l.ifindex, l.ifname]));
  });

  it('RTM_GETLINK for an ifindex that does not exist: NetlinkError ENODEV', async () => {
    await using nl = k.Netlink.open('NETLINK_ROUTE');
    const e = await nl.request(c.RTM_GETLINK!, ifinfo({ index: 0x7ffffff0 })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(k.NetlinkError);
    expect(e).toBeInstanceOf(k.SocketError);
    expect(e).toMatchObject({ code: 'ENODEV', errno: c.ENODEV, syscall: 'RTM_GETLINK' });
    // The same session answers the next request: lo is ifindex 1.
    const [lo] = await nl.request(c.RTM_GETLINK!, ifinfo({ index: 1 }));
    expect(k.decodeAttrs(lo!.data, k.ifinfomsg.size, lo!.data.length, k.linkAttrs).IFLA_IFNAME).toBe('lo');
  });

  it.runIf(hasIp)(`the extended-ack text is what ip prints after "Error: " for the same request (${whyIp})`, async () => {
    await using nl = k.Netlink.open('NETLINK_ROUTE');
    // `ip neigh get 192.0.2.77 dev lo`: RTM_GETNEIGH for an entry that does not exist (a read; nothing changes).
    const ip = spawnSync('ip', ['neigh', 'get', '192.0.2.77', 'dev', 'lo'], { encoding: 'utf8', timeout: 10_000 });
    const said = /^Error: (.*)$/m.exec(ip.stderr)?.[1];
    expect(said, ip.stderr).toBeTruthy();
    const nd = Buffer.alloc(k.ndmsg.size);
    k.ndmsg.encode({ family: c.AF_INET, ifindex: 1 }, nd);
    const e = await nl.request(c.RTM_GETNEIGH!, [nd, k.encodeAttrs({ NDA_DST: '192.0.2.77' }, k.neighAttrs)]).catch((x: unknown) => x) as k.NetlinkError;
    expect(e).toBeInstanceOf(k.NetlinkError);
    expect(e.code).toBe('ENOENT');
    // iproute2 adds a full stop when the kernel's text has none.
    expect(e.extack!.endsWith('.') ? e.extack : `${e.extack}.`).toBe(said);
    expect(e.message).toBe(`RTM_GETNEIGH ENOENT: ${e.extack}`);
    // Strict checking (on by default for NETLINK_ROUTE): an attribute GETLINK does not know is refused,
    // with the kernel's text and the offset of the attribute in the request (16 + 16: after the ifinfomsg).
    const s = await nl.request(c.RTM_GETLINK!, [ifinfo({ index: 1 }), k.encodeAttrs({ 9999: Buffer.alloc(4) }, undefined)]).catch((x: unknown) => x) as k.NetlinkError;
    expect(s).toBeInstanceOf(k.NetlinkError);
    expect(s.code).toBe('EINVAL');
    expect(s.extack).toBeTruthy();
    expect(s.offset).toBe(32);
  });

  it('a dump abandoned with break lets the next request on the session succeed; a request during a dump is EBUSY at once', async () => {
    await using nl = k.Netlink.open('NETLINK_ROUTE');
    for (let round = 0; round < 3; round++) {
      let n = 0;
      for await (const m of nl.dump(c.RTM_GETLINK!, ifinfo())) { expect(m.type).toBe(c.RTM_NEWLINK); n++; break; }
      expect(n).toBe(1);
      const [lo] = await nl.request(c.RTM_GETLINK!, ifinfo({ index: 1 }), { timeout: 5000 });
      expect(k.ifinfomsg.decode(lo!.data).index).toBe(1);
    }
    // A request, or a second dump, while a dump is being read: EBUSY at once, never a wait for itself.
    const it = nl.dump(c.RTM_GETLINK!, ifinfo());
    expect((await it.next()).done).toBe(false);
    const t0 = Date.now();
    await expect(nl.request(c.RTM_GETLINK!, ifinfo({ index: 1 }))).rejects.toMatchObject({ code: 'EBUSY' });
    const second = nl.dump(c.RTM_GETADDR!, Buffer.alloc(8));
    await expect(second.next()).rejects.toMatchObject({ code: 'EBUSY' });
    expect(Date.now() - t0).toBeLessThan(1000);
    let rest = 0;
    for (let r = await it.next(); !r.done && rest < 100_000; r = await it.next()) rest++;
    // Finished: the session serves again.
    expect(await nl.request(c.RTM_GETLINK!, ifinfo({ index: 1 }))).toHaveLength(1);
  });

  it('an already-aborted signal rejects request() and dump() at once with its reason', async () => {
    await using nl = k.Netlink.open('NETLINK_ROUTE');
    const reason = new Error('stop');
    await expect(nl.request(c.RTM_GETLINK!, ifinfo({ index: 1 }), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(nl.request(c.RTM_GETLINK!, ifinfo({ index: 1 }), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(nl.dump(c.RTM_GETLINK!, ifinfo(), { signal: AbortSignal.abort(reason) }).next()).rejects.toBe(reason);
    // Nothing was sent: the session's next request gets its own answer.
    expect(await nl.request(c.RTM_GETLINK!, ifinfo({ index: 1 }))).toHaveLength(1);
  });

  it('close() while requests are pending rejects them with EBADF; descriptor counts are unchanged', async () => {
    const before = openFds().length;
    for (let i = 0; i < 5; i++) {
      const nl = k.Netlink.open('NETLINK_ROUTE');
      const a = nl.request(c.RTM_GETLINK!, ifinfo(), { flags: c.NLM_F_DUMP });
      const b = nl.request(c.RTM_GETLINK!, ifinfo({ index: 1 }));
      await new Promise((r) => setImmediate(r));
      await nl.close();
      const [ra, rb] = await Promise.allSettled([a, b]);
      for (const r of [ra, rb]) {
        expect(r!.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'EBADF' });
      }
      await expect(nl.request(c.RTM_GETLINK!, ifinfo({ index: 1 }))).rejects.toMatchObject({ code: 'EBADF' });
    }
    expect(openFds().length).toBe(before);
  });

  it('bad request arguments are TypeErrors before anything is sent', async () => {
    await using nl = k.Netlink.open('NETLINK_ROUTE');
    expect(() => nl.request(-1, Buffer.alloc(0))).toThrow(TypeError);
    expect(() => nl.request(0x10000, Buffer.alloc(0))).toThrow(TypeError);
    expect(() => nl.request(c.RTM_GETLINK!, Buffer.alloc(0), { flags: 0x10000 })).toThrow(TypeError);
    expect(() => nl.dump(1.5, Buffer.alloc(0))).toThrow(TypeError);
    expect(() => k.Netlink.open('NOPE')).toThrow(TypeError);
    expect(() => k.Netlink.open(99)).toThrow(TypeError);
    expect(() => k.Netlink.open('NETLINK_ROUTE', null as unknown as k.NetlinkOptions)).toThrow(TypeError);
    expect(() => nl.join('RTNLGRP_NOPE')).toThrow(TypeError);
    expect(await nl.request(c.RTM_GETLINK!, ifinfo({ index: 1 }))).toHaveLength(1);
  });
});
