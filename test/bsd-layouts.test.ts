// The BSD and macOS layouts, tested here on synthetic bytes: credentials
// (FreeBSD cmsgcred/sockcred/sockcred2/xucred, NetBSD sockcred/unpcbid,
// OpenBSD sockpeercred, macOS xucred), times (timespec, bintime) and the BPF
// device's bpf_hdr records (FreeBSD, NetBSD, OpenBSD, macOS).
//
// Every buffer is written here field by field at the offsets the systems'
// headers give (amd64/arm64, little-endian), independently of the tables in
// native/bsdcred_codec.h and lib/bpfdev.ts; the parsers are the ones the BSD
// builds decode received items with (the tables are checked against the real
// headers at compile time by ../shared/portability). Truncated buffers: every
// prefix decodes without reading past its end.
import { fstatSync, mkdtempSync, rmSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { native } from '../lib/native';
import { k } from './helpers';
import { BPF_HDR_LAYOUTS, BpfDevice, bpfHdrLayout, fracToNsec, parseBpfRecords, type BpfHdrLayout } from '../lib/bpfdev';

const L = native.layouts;
const le = endianness() === 'LE';

/** A little writer: fields at explicit offsets (host order: these tests run on little-endian hosts). */
function bytes(size: number, fields: Array<[off: number, width: 1 | 2 | 4 | 8, value: number | bigint]>): Buffer {
  const b = Buffer.alloc(size);
  for (const [off, w, v] of fields) {
    if (w === 1) b.writeUInt8(Number(v), off);
    else if (w === 2) b.writeInt16LE(Number(v), off);
    else if (w === 4) Number(v) < 0 ? b.writeInt32LE(Number(v), off) : b.writeUInt32LE(Number(v), off);
    else b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), off);
  }
  return b;
}

/** Decoding every prefix: never throws, null below `min`, never a field whose bytes are not all there. */
function everyPrefix(name: string, full: Buffer, fieldEnds: Record<string, number>): void {
  const min = L.cred[name]!.min;
  for (let n = 0; n <= full.length; n++) {
    const c = L.decodeCred(name, full.subarray(0, n));
    if (n < min) {
      expect(c, `${name} at ${n} bytes`).toBeNull();
      continue;
    }
    expect(c).not.toBeNull();
    for (const [field, end] of Object.entries(fieldEnds)) {
      if (n < end) expect(c![field as 'pid'], `${name}.${field} at ${n} bytes`).toBeUndefined();
    }
    if (c!.groups) expect(c!.groups.length).toBeLessThanOrEqual(16);
  }
}

describe.runIf(le)('credential layouts (little-endian host: the synthetic bytes are amd64/arm64 order)', () => {
  it('lists every table, and this platform picks only tables whose structs its headers declare', () => {
    expect(Object.keys(L.cred).sort()).toEqual([
      'freebsd.cmsgcred', 'freebsd.sockcred', 'freebsd.sockcred2', 'freebsd.xucred', 'macos.xucred', 'netbsd.sockcred',
      'netbsd.unpcbid', 'openbsd.sockpeercred',
    ]);
    for (const v of Object.values(L.native)) if (v !== null) expect(Object.keys(L.cred).concat(Object.keys(L.time))).toContain(v);
    // Each struct exists exactly where its constant does.
    expect(L.native.sockcred2 !== null).toBe(k.constants.SCM_CREDS2 !== undefined);
    expect(L.native.unpcbid !== null).toBe(k.constants.LOCAL_PEEREID !== undefined);
    expect(L.native.bintime !== null).toBe(k.constants.SCM_BINTIME !== undefined);
  });

  it('FreeBSD sockcred2 (SCM_CREDS2, LOCAL_CREDS_PERSISTENT): version, pid, real and effective ids, groups', () => {
    // int sc_version; pid_t sc_pid; uid_t sc_uid, sc_euid; gid_t sc_gid, sc_egid; int sc_ngroups; gid_t sc_groups[]
    const b = bytes(28 + 3 * 4, [[0, 4, 0], [4, 4, 4242], [8, 4, 1001], [12, 4, 0], [16, 4, 20], [20, 4, 0], [24, 4, 3],
      [28, 4, 0], [32, 4, 5], [36, 4, 4294967294]]);
    expect(L.decodeCred('freebsd.sockcred2', b)).toEqual({
      layout: 'freebsd.sockcred2', version: 0, pid: 4242, uid: 1001, euid: 0, gid: 20, egid: 0, groups: [0, 5, 4294967294],
    });
    everyPrefix('freebsd.sockcred2', b, { version: 4, pid: 8, uid: 12, euid: 16, gid: 20, egid: 24 });
    // Groups stop at the last whole gid_t the item holds, whatever sc_ngroups says.
    expect(L.decodeCred('freebsd.sockcred2', b.subarray(0, 35))!.groups).toEqual([0]);
    const lying = Buffer.from(b);
    lying.writeInt32LE(1000, 24);
    expect(L.decodeCred('freebsd.sockcred2', lying)!.groups).toEqual([0, 5, 4294967294]);
    lying.writeInt32LE(-1, 24);
    expect(L.decodeCred('freebsd.sockcred2', lying)!.groups).toEqual([]);
  });

  it('FreeBSD sockcred (SCM_CREDS after LOCAL_CREDS) has no pid; cmsgcred (the sender\'s SCM_CREDS) has one', () => {
    // sockcred: uid_t sc_uid, sc_euid; gid_t sc_gid, sc_egid; int sc_ngroups; gid_t sc_groups[]
    const sc = bytes(20 + 8, [[0, 4, 1001], [4, 4, 1002], [8, 4, 20], [12, 4, 21], [16, 4, 2], [20, 4, 20], [24, 4, 0]]);
    const dsc = L.decodeCred('freebsd.sockcred', sc)!;
    expect(dsc).toEqual({ layout: 'freebsd.sockcred', uid: 1001, euid: 1002, gid: 20, egid: 21, groups: [20, 0] });
    expect(dsc.pid).toBeUndefined();
    everyPrefix('freebsd.sockcred', sc, { uid: 4, euid: 8, gid: 12, egid: 16 });
    // cmsgcred: pid_t pid; uid_t uid, euid; gid_t gid; short ngroups; (2 bytes pad) gid_t groups[CMGROUP_MAX = 16]
    const cc = bytes(84, [[0, 4, 777], [4, 4, 1001], [8, 4, 0], [12, 4, 20], [16, 2, 2], [20, 4, 20], [24, 4, 5]]);
    expect(L.decodeCred('freebsd.cmsgcred', cc)).toEqual({ layout: 'freebsd.cmsgcred', pid: 777, uid: 1001, euid: 0, gid: 20, groups: [20, 5] });
    everyPrefix('freebsd.cmsgcred', cc, { pid: 4, uid: 8, euid: 12, gid: 16 });
    // The two are the same size for 16 groups (84 bytes): the bytes alone cannot tell them apart.
    expect(L.cred['freebsd.cmsgcred']!.capacity).toBe(16);
    const over = Buffer.from(cc);
    over.writeInt16LE(40, 16); // more than CMGROUP_MAX
    expect(L.decodeCred('freebsd.cmsgcred', over)!.groups).toHaveLength(16);
  });

  it('NetBSD sockcred (SCM_CREDS, LOCAL_CREDS) starts with the pid', () => {
    // pid_t sc_pid; uid_t sc_uid, sc_euid; gid_t sc_gid, sc_egid; int sc_ngroups; gid_t sc_groups[]
    const b = bytes(24 + 4, [[0, 4, 31337], [4, 4, 1000], [8, 4, 1000], [12, 4, 100], [16, 4, 100], [20, 4, 1], [24, 4, 100]]);
    expect(L.decodeCred('netbsd.sockcred', b)).toEqual({
      layout: 'netbsd.sockcred', pid: 31337, uid: 1000, euid: 1000, gid: 100, egid: 100, groups: [100],
    });
    everyPrefix('netbsd.sockcred', b, { pid: 4, uid: 8, euid: 12, gid: 16, egid: 20 });
  });

  it('peer credentials: FreeBSD xucred with cr_pid, macOS xucred without, NetBSD unpcbid, OpenBSD sockpeercred', () => {
    // xucred: u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]; (pad) union { void *; pid_t cr_pid } at 80
    const fx = bytes(88, [[0, 4, 0], [4, 4, 1001], [8, 2, 2], [12, 4, 1001], [16, 4, 0], [80, 4, 9999]]);
    expect(L.decodeCred('freebsd.xucred', fx)).toEqual({ layout: 'freebsd.xucred', version: 0, pid: 9999, uid: 1001, gid: 1001, groups: [1001, 0] });
    expect(L.decodeCred('freebsd.xucred', fx.subarray(0, 80))!.pid).toBeUndefined(); // before 13.0: no cr_pid
    everyPrefix('freebsd.xucred', fx, { version: 4, uid: 8, pid: 84 });
    const mx = fx.subarray(0, 76);
    const m = L.decodeCred('macos.xucred', mx)!;
    expect(m).toEqual({ layout: 'macos.xucred', version: 0, uid: 1001, gid: 1001, groups: [1001, 0] });
    // unpcbid: pid_t unp_pid; uid_t unp_euid; gid_t unp_egid
    const u = bytes(12, [[0, 4, 555], [4, 4, 0], [8, 4, 0]]);
    expect(L.decodeCred('netbsd.unpcbid', u)).toEqual({ layout: 'netbsd.unpcbid', pid: 555, uid: 0, gid: 0 });
    everyPrefix('netbsd.unpcbid', u, {});
    // sockpeercred: uid_t uid; gid_t gid; pid_t pid
    const o = bytes(12, [[0, 4, 1000], [4, 4, 1000], [8, 4, 4321]]);
    expect(L.decodeCred('openbsd.sockpeercred', o)).toEqual({ layout: 'openbsd.sockpeercred', pid: 4321, uid: 1000, gid: 1000 });
  });

  it('rejects what is not a table or not bytes, before decoding', () => {
    expect(() => L.decodeCred('linux.ucred', Buffer.alloc(12))).toThrow(RangeError);
    expect(() => L.decodeCred('freebsd.sockcred2', 'x' as unknown as Buffer)).toThrow(TypeError);
    expect(() => L.decodeCred(7 as unknown as string, Buffer.alloc(12))).toThrow(TypeError);
    expect(() => L.decodeTime('bintime64', null as unknown as Buffer)).toThrow(TypeError);
  });
});

describe.runIf(le)('time layouts: SCM_BINTIME, SCM_REALTIME, SCM_MONOTONIC', () => {
  it('bintime { time_t sec; uint64_t frac }: the fraction in nanoseconds as bintime2timespec rounds it', () => {
    const half = 1n << 63n;
    const b = bytes(16, [[0, 8, 1_700_000_000], [8, 8, half]]);
    expect(L.decodeTime('bintime64', b)).toEqual({ sec: 1_700_000_000, nsec: 500_000_000, frac: half });
    // 2**64 - 1: just under a second, and never 1e9.
    const max = bytes(16, [[0, 8, 1], [8, 8, -1n]]);
    expect(L.decodeTime('bintime64', max)).toEqual({ sec: 1, nsec: 999_999_999, frac: 2n ** 64n - 1n });
    expect(fracToNsec(2n ** 64n - 1n)).toBe(999_999_999);
    expect(fracToNsec(1n << 62n)).toBe(250_000_000);
    for (let n = 0; n < 16; n++) expect(L.decodeTime('bintime64', b.subarray(0, n))).toBeNull();
  });

  it('timespec { time_t tv_sec; long tv_nsec }', () => {
    const b = bytes(16, [[0, 8, 42], [8, 8, 123_456_789]]);
    expect(L.decodeTime('timespec64', b)).toEqual({ sec: 42, nsec: 123_456_789 });
    expect(L.decodeTime('timeval64', bytes(16, [[0, 8, 42], [8, 8, 250_000]]))).toEqual({ sec: 42, nsec: 250_000_000 });
    for (let n = 0; n < 16; n++) expect(L.decodeTime('timespec64', b.subarray(0, n))).toBeNull();
    // This host's timespec is the LP64 one: SCM_REALTIME/SCM_MONOTONIC use it where they exist.
    if (process.arch === 'x64' || process.arch === 'arm64') expect(L.native.timespec).toBe('timespec64');
  });
});

// ------------------------------------------------------------------ bpf_hdr

interface Rec { sec: number; sub: number | bigint; data: Buffer; datalen?: number; ifidx?: number; flags?: number; drops?: number }

/** Records as each system's kernel lays them out: hdrlen = BPF_WORDALIGN(hdr + 14) - 14 for Ethernet (bpf_attach). */
function records(os: 'freebsd' | 'netbsd' | 'openbsd' | 'macos', recs: Rec[], tail = 0): Buffer {
  const lp64 = os === 'freebsd' || os === 'netbsd';
  const hdrSize = lp64 ? 32 : os === 'openbsd' ? 28 : 20; // sizeof(struct bpf_hdr)
  const align = lp64 ? 8 : 4;
  const wa = (x: number) => (x + align - 1) & ~(align - 1);
  const hdrlen = wa(hdrSize + 14) - 14;
  const parts: Buffer[] = [];
  for (const r of recs) {
    const h = Buffer.alloc(hdrlen);
    if (lp64) {
      h.writeBigInt64LE(BigInt(r.sec), 0);
      h.writeBigUInt64LE(BigInt(r.sub), 8);
      h.writeUInt32LE(r.data.length, 16);
      h.writeUInt32LE(r.datalen ?? r.data.length, 20);
      h.writeUInt16LE(hdrlen, 24);
    } else {
      h.writeUInt32LE(r.sec, 0);
      h.writeUInt32LE(Number(r.sub), 4);
      h.writeUInt32LE(r.data.length, 8);
      h.writeUInt32LE(r.datalen ?? r.data.length, 12);
      h.writeUInt16LE(hdrlen, 16);
      if (os === 'openbsd') {
        h.writeUInt16LE(r.ifidx ?? 0, 18);
        h.writeUInt8(r.flags ?? 0, 22);
        h.writeUInt8(r.drops ?? 0, 23);
      }
    }
    const rec = Buffer.concat([h, r.data]);
    parts.push(Buffer.concat([rec, Buffer.alloc(wa(rec.length) - rec.length, 0xee)]));
  }
  if (tail > 0) parts.push(Buffer.alloc(tail, 0xee));
  return Buffer.concat(parts);
}

const eth = (n: number, fill: number) => Buffer.alloc(n, fill);

describe.runIf(le)('bpf_hdr records (BPF_WORDALIGN between records)', () => {
  const cases = [
    ['freebsd', 'freebsd.bpf_hdr', 8],
    ['netbsd', 'netbsd.bpf_hdr', 8],
    ['openbsd', 'openbsd.bpf_hdr', 4],
    ['macos', 'macos.bpf_hdr', 4],
  ] as const;
  for (const [os, name, align] of cases) {
    it(`${os}: three records of odd lengths, then every truncation`, () => {
      const layout = BPF_HDR_LAYOUTS[name]!;
      expect(layout.align).toBe(align);
      const recs: Rec[] = [
        { sec: 1_700_000_001, sub: 1, data: eth(60, 0xa1), datalen: 60, ifidx: 3, flags: 0x10, drops: 0 },
        { sec: 1_700_000_002, sub: 999_999, data: eth(61, 0xb2), datalen: 1514, ifidx: 4, flags: 0x20, drops: 2 },
        { sec: 1_700_000_003, sub: 500_000, data: eth(1, 0xc3), ifidx: 5 },
      ];
      const buf = records(os, recs);
      const out = parseBpfRecords(buf, buf.length, layout);
      expect(out.truncated).toBe(false);
      expect(out.consumed).toBe(buf.length);
      expect(out.frames.map((f) => [f.sec, f.nsec, f.len, f.snaplen, f.data.length, f.data[0]])).toEqual([
        [1_700_000_001, 1000, 60, 60, 60, 0xa1],
        [1_700_000_002, 999_999_000, 1514, 61, 61, 0xb2],
        [1_700_000_003, 500_000_000, 1, 1, 1, 0xc3],
      ]);
      // The packet bytes are exactly the record's, never the padding.
      expect(out.frames[1]!.data.every((x) => x === 0xb2)).toBe(true);
      if (os === 'openbsd') {
        expect(out.frames.map((f) => [f.ifindex, f.flags, f.drops])).toEqual([[3, 0x10, 0], [4, 0x20, 2], [5, 0, 0]]);
      } else {
        expect(out.frames[0]!.ifindex).toBeUndefined();
      }
      // Every prefix: whole records only, and `truncated` exactly when a record was cut.
      const ends: number[] = [];
      let acc = 0;
      for (const r of [recs[0]!, recs[1]!, recs[2]!]) {
        const one = records(os, [r]).length;
        ends.push(acc + one);
        acc += one;
      }
      for (let n = 0; n <= buf.length; n++) {
        const p = parseBpfRecords(buf, n, layout);
        const whole = ends.filter((e) => e <= n).length;
        // A record whose packet ends inside the last padding still parses: the kernel's read length covers it.
        expect(p.frames.length, `${os} at ${n} bytes`).toBeGreaterThanOrEqual(whole);
        expect(p.frames.length).toBeLessThanOrEqual(whole + 1);
        for (const f of p.frames) expect(f.data.byteOffset + f.data.length).toBeLessThanOrEqual(buf.byteOffset + n);
        if (n < buf.length && p.frames.length < 3) expect(p.truncated || p.consumed >= n).toBe(true);
      }
    });
  }

  it('FreeBSD bpf_xhdr: nanoseconds (BPF_T_NANOTIME) and a bintime fraction (BPF_T_BINTIME)', () => {
    const ns = records('freebsd', [{ sec: 5, sub: 123_456_789, data: eth(20, 1) }]);
    expect(parseBpfRecords(ns, ns.length, BPF_HDR_LAYOUTS['freebsd.bpf_xhdr.nanotime']!).frames[0]).toMatchObject({ sec: 5, nsec: 123_456_789 });
    const bt = records('freebsd', [{ sec: 5, sub: 3n << 62n, data: eth(20, 1) }]);
    expect(parseBpfRecords(bt, bt.length, BPF_HDR_LAYOUTS['freebsd.bpf_xhdr.bintime']!).frames[0]).toMatchObject({ sec: 5, nsec: 750_000_000 });
  });

  it('a hostile record ends the walk: hdrlen shorter than the header, caplen past the end', () => {
    const layout = BPF_HDR_LAYOUTS['macos.bpf_hdr']!;
    const buf = records('macos', [{ sec: 1, sub: 0, data: eth(30, 7) }, { sec: 2, sub: 0, data: eth(30, 8) }]);
    const short = Buffer.from(buf);
    short.writeUInt16LE(4, 16); // bh_hdrlen 4
    expect(parseBpfRecords(short, short.length, layout)).toMatchObject({ frames: [], truncated: true });
    const long = Buffer.from(buf);
    long.writeUInt32LE(0xffffffff, 8); // bh_caplen
    expect(parseBpfRecords(long, long.length, layout)).toMatchObject({ frames: [], truncated: true });
    const second = Buffer.from(buf);
    const off2 = records('macos', [{ sec: 1, sub: 0, data: eth(30, 7) }]).length;
    second.writeUInt32LE(1 << 20, off2 + 8);
    expect(parseBpfRecords(second, second.length, layout).frames).toHaveLength(1);
    // A view into a larger buffer: nothing outside [byteOffset, byteOffset + length) is read.
    const big = Buffer.concat([Buffer.alloc(8, 0xff), buf, Buffer.alloc(8, 0xff)]);
    const view = new Uint8Array(big.buffer, big.byteOffset + 8, buf.length);
    expect(parseBpfRecords(view, view.length, layout).frames.map((f) => f.sec)).toEqual([1, 2]);
    expect(parseBpfRecords(buf, 0, layout)).toEqual({ frames: [], consumed: 0, truncated: false });
  });

  it('rejects bad arguments with TypeError/RangeError', () => {
    const layout = BPF_HDR_LAYOUTS['netbsd.bpf_hdr']!;
    expect(() => parseBpfRecords('x' as unknown as Buffer, 1, layout)).toThrow(TypeError);
    expect(() => parseBpfRecords(Buffer.alloc(4), 5, layout)).toThrow(RangeError);
    expect(() => parseBpfRecords(Buffer.alloc(4), -1, layout)).toThrow(RangeError);
    expect(() => parseBpfRecords(Buffer.alloc(4), 4, { ...layout, align: 3 } as BpfHdrLayout)).toThrow(RangeError);
    expect(() => parseBpfRecords(Buffer.alloc(4), 4, { ...layout, caplen: { off: 0, width: 3 } } as BpfHdrLayout)).toThrow(RangeError);
  });
});

// The device itself runs only where <net/bpf.h> has BIOCSETIF (the BSDs, macOS).
describe.runIf(native.bpfLayout == null)('the BPF device where the platform has none (no <net/bpf.h> BIOCSETIF: Linux)', () => {
  it('open answers ENOSYS, and its arguments are checked first', () => {
    expect(bpfHdrLayout()).toBeNull();
    expect(() => BpfDevice.open('lo')).toThrow(expect.objectContaining({ code: 'ENOSYS', syscall: 'open' }));
    expect(() => BpfDevice.open('')).toThrow(TypeError);
    expect(() => new (BpfDevice as unknown as new (...a: unknown[]) => unknown)(0, 16, BPF_HDR_LAYOUTS['macos.bpf_hdr'])).toThrow(TypeError);
    expect(() => BpfDevice.open('lo', { bufferSize: -1 })).toThrow(RangeError);
    expect(() => BpfDevice.open('lo', { filter: [{ code: 0x10000, jt: 0, jf: 0, k: 0 }] })).toThrow(RangeError);
    expect(() => native.bpfOpen('x'.repeat(100), 0, true)).toThrow(RangeError);
    expect(() => native.bpfSetFilter(0, Buffer.alloc(7))).toThrow(RangeError);
  });

  it('a number bpfOpen did not hand out is EBADF: stdin is neither read nor closed', () => {
    expect(native.bpfSetFilter(0, Buffer.alloc(8))).toBe(-k.constants.EBADF!);
    expect(native.bpfRead(0, Buffer.alloc(8))).toBe(-k.constants.EBADF!);
    expect(native.bpfBufferSize(0)).toBe(-k.constants.EBADF!);
    expect(native.bpfClose(0)).toBe(-k.constants.EBADF!);
    expect(fstatSync(0)).toBeDefined(); // still open
  });
});

describe.runIf(native.bpfLayout != null)('the BPF device (this platform has one)', () => {
  it('its bpf_hdr is one of the tables above', () => {
    const l = bpfHdrLayout()!;
    const same = Object.values(BPF_HDR_LAYOUTS).filter((t) => t.unit === 'usec' && t.align === l.align &&
      t.caplen.off === l.caplen.off && t.hdrlen.off === l.hdrlen.off && t.sec.width === l.sec.width);
    expect(same.length).toBeGreaterThan(0);
  });
});

// ------------------------------------------------- this platform's kernel
// What the kernel itself gives, where it has the option: these run on the
// BSD and macOS runners (CI), and skip here with the option's name.
const c = k.constants;
const { Socket } = k;

describe('credentials from this platform\'s kernel', () => {
  it.runIf(c.LOCAL_PEERCRED !== undefined)('LOCAL_PEERCRED (FreeBSD, macOS): the peer\'s uid and groups; its pid where xucred has cr_pid', async () => {
    const [a, b] = Socket.socketpair('AF_UNIX', 'SOCK_STREAM');
    const cr = a.getsockopt('SOL_LOCAL', 'LOCAL_PEERCRED');
    expect(cr.uid).toBe(process.geteuid!());
    expect(cr.groups).toContain(process.getegid!());
    if (L.native.xucred === 'freebsd.xucred') expect(cr.pid).toBe(process.pid);
    await a.close();
    await b.close();
  });

  it.runIf(c.LOCAL_PEERPID !== undefined)('LOCAL_PEERPID (macOS): the peer\'s pid', async () => {
    const [a, b] = Socket.socketpair('AF_UNIX', 'SOCK_STREAM');
    expect(a.getsockopt('SOL_LOCAL', 'LOCAL_PEERPID')).toBe(process.pid);
    await a.close();
    await b.close();
  });

  it.runIf(c.LOCAL_PEEREID !== undefined)('LOCAL_PEEREID (NetBSD): the peer\'s pid and effective ids, from connect', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksock-eid-'));
    const path = join(dir, 's');
    const l = Socket.create('AF_UNIX', 'SOCK_STREAM').bind({ family: c.AF_UNIX!, path });
    try {
      l.listen(1);
      const cl = Socket.create('AF_UNIX', 'SOCK_STREAM');
      await cl.connect({ family: c.AF_UNIX!, path });
      const sv = await l.accept();
      expect(sv.getsockopt('SOL_LOCAL', 'LOCAL_PEEREID')).toEqual({ pid: process.pid, uid: process.geteuid!(), gid: process.getegid!() });
      await sv.close();
      await cl.close();
    } finally {
      await l.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(c.SCM_CREDS2 !== undefined)('LOCAL_CREDS_PERSISTENT (FreeBSD): every message carries SCM_CREDS2 with the sender\'s pid', async () => {
    const [a, b] = Socket.socketpair('AF_UNIX', 'SOCK_DGRAM');
    b.setsockopt('SOL_LOCAL', 'LOCAL_CREDS_PERSISTENT', true);
    for (let i = 0; i < 2; i++) {
      await a.sendmsg(Buffer.from('x'));
      const m = await b.recvmsg({ size: 8, control: true });
      expect(m.control.find((x) => x.name === 'SCM_CREDS2')).toMatchObject({
        layout: 'freebsd.sockcred2', pid: process.pid, uid: process.getuid!(), euid: process.geteuid!(), mechanism: 'SCM_CREDS2',
      });
    }
    await a.close();
    await b.close();
  });

  it.runIf(c.SCM_CREDS2 !== undefined)('LOCAL_CREDS (FreeBSD): SCM_CREDS is read as struct sockcred, once on a stream', async () => {
    const [a, b] = Socket.socketpair('AF_UNIX', 'SOCK_STREAM');
    b.setsockopt('SOL_LOCAL', 'LOCAL_CREDS', true);
    await a.sendmsg(Buffer.from('x'));
    const m = await b.recvmsg({ size: 8, control: true });
    const cr = m.control.find((x) => x.name === 'SCM_CREDS')!;
    expect(cr).toMatchObject({ layout: 'freebsd.sockcred', uid: process.getuid!(), euid: process.geteuid!() });
    expect(cr).not.toHaveProperty('pid');
    // The sender's own SCM_CREDS afterwards is a cmsgcred again, with its pid.
    await a.sendmsg({ data: Buffer.from('y'), control: [{ level: c.SOL_SOCKET!, type: c.SCM_CREDS! }] });
    const n = await b.recvmsg({ size: 8, control: true });
    expect(n.control.find((x) => x.name === 'SCM_CREDS')).toMatchObject({ layout: 'freebsd.cmsgcred', pid: process.pid });
    await a.close();
    await b.close();
  });

  it.runIf(L.native.sockcred === 'netbsd.sockcred' && c.LOCAL_CREDS !== undefined)('LOCAL_CREDS (NetBSD): SCM_CREDS is a sockcred with the pid', async () => {
    const [a, b] = Socket.socketpair('AF_UNIX', 'SOCK_DGRAM');
    b.setsockopt('SOL_LOCAL', 'LOCAL_CREDS', true);
    await a.sendmsg(Buffer.from('x'));
    const m = await b.recvmsg({ size: 8, control: true });
    expect(m.control.find((x) => x.name === 'SCM_CREDS')).toMatchObject({ layout: 'netbsd.sockcred', pid: process.pid, uid: process.getuid!() });
    await a.close();
    await b.close();
  });
});
