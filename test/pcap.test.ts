// pcap files: what PcapWriter writes, tcpdump reads (and prints as
// PacketPrinter does); what tcpdump writes, PcapReader reads; both byte
// orders and both timestamp resolutions; corrupt files are clear errors.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k from '../lib/index';

const hasTcpdump = spawnSync('tcpdump', ['--version'], { timeout: 5000 }).status === 0;
const tcpdumpWhy = hasTcpdump ? 'tcpdump present' : 'skipped: no tcpdump (apt-get install tcpdump)';
let dir = '';

beforeAll(() => {
  dir = fs.mkdtempSync(join(os.tmpdir(), `ksock-pcap-${process.pid}-`));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const macA = Buffer.from('020000000001', 'hex'), macB = Buffer.from('020000000002', 'hex');

function ipv4(proto: number, src: string, dst: string, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45; h.writeUInt16BE(20 + payload.length, 2); h[8] = 64; h[9] = proto;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  h.writeUInt16BE(k.internetChecksum(h), 10);
  return Buffer.concat([h, payload]);
}
function ipv6(next: number, src: Buffer, dst: Buffer, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60; h.writeUInt16BE(payload.length, 4); h[6] = next; h[7] = 64;
  src.copy(h, 8); dst.copy(h, 24);
  return Buffer.concat([h, payload]);
}
const ether = (type: number, payload: Buffer, dst = macB, src = macA) =>
  Buffer.concat([dst, src, Buffer.from([type >> 8, type & 0xff]), payload]);
function udp(sport: number, dport: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0); h.writeUInt16BE(dport, 2); h.writeUInt16BE(8 + data.length, 4);
  return Buffer.concat([h, data]);
}
function icmpEcho(type: number, id: number, seq: number, n: number): Buffer {
  const b = Buffer.alloc(8 + n, 0x61);
  b[0] = type; b[1] = 0; b.writeUInt16BE(0, 2); b.writeUInt16BE(id, 4); b.writeUInt16BE(seq, 6);
  b.writeUInt16BE(k.internetChecksum(b), 2);
  return b;
}
function arp(op: number, sha: Buffer, spa: string, tha: Buffer, tpa: string): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0); b.writeUInt16BE(0x0800, 2); b[4] = 6; b[5] = 4; b.writeUInt16BE(op, 6);
  sha.copy(b, 8); Buffer.from(spa.split('.').map(Number)).copy(b, 14);
  tha.copy(b, 18); Buffer.from(tpa.split('.').map(Number)).copy(b, 24);
  return b;
}
function tcp(sport: number, dport: number, seq: number, ack: number, flags: number, data: Buffer, opts = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0); h.writeUInt16BE(dport, 2); h.writeUInt32BE(seq, 4); h.writeUInt32BE(ack, 8);
  h[12] = ((20 + opts.length) / 4) << 4; h[13] = flags; h.writeUInt16BE(502, 14);
  return Buffer.concat([h, opts, data]);
}
const v6a = Buffer.from('fd000000000000000000000000000001', 'hex'), v6b = Buffer.from('fd000000000000000000000000000002', 'hex');
const tsOpts = Buffer.from('020405b40402080a0000000100000000010303', 'hex'); // mss, sackOK, TS, nop, wscale 3
const pad = Buffer.concat([tsOpts, Buffer.from([0])]);

/** Frames of the common kinds, as a capture would hold them. */
const FRAMES: Buffer[] = [
  ether(0x0806, arp(1, macA, '10.9.0.1', Buffer.alloc(6), '10.9.0.2'), Buffer.alloc(6, 0xff)),
  ether(0x0806, arp(2, macB, '10.9.0.2', macA, '10.9.0.1'), macA, macB),
  ether(0x0800, ipv4(1, '10.9.0.1', '10.9.0.2', icmpEcho(8, 4660, 1, 56))),
  ether(0x0800, ipv4(1, '10.9.0.2', '10.9.0.1', icmpEcho(0, 4660, 1, 56)), macA, macB),
  ether(0x0800, ipv4(17, '10.9.0.1', '10.9.0.2', udp(40001, 40002, Buffer.from('hello')))),
  ether(0x86dd, ipv6(17, v6a, v6b, udp(40003, 40004, Buffer.from('hi6')))),
  ether(0x86dd, ipv6(58, v6a, v6b, icmpEcho(128, 7, 3, 16))),
  ether(0x0800, ipv4(6, '10.9.0.1', '10.9.0.2', tcp(40005, 40006, 1000, 0, 0x02, Buffer.alloc(0), pad))),
  ether(0x0800, ipv4(6, '10.9.0.2', '10.9.0.1', tcp(40006, 40005, 5000, 1001, 0x12, Buffer.alloc(0), pad)), macA, macB),
  ether(0x0800, ipv4(6, '10.9.0.1', '10.9.0.2', tcp(40005, 40006, 1001, 5001, 0x18, Buffer.from('abc')))),
];

function writeFrames(path: string, opts: k.PcapWriterOptions = {}): Array<{ sec: number; nsec: number }> {
  const w = new k.PcapWriter(path, opts);
  const times = FRAMES.map((_, i) => ({ sec: 1700000000 + i, nsec: 123456789 + i * 1000 }));
  try {
    FRAMES.forEach((f, i) => w.write(f, times[i]));
    expect(w.count).toBe(FRAMES.length);
  } finally {
    w.close();
  }
  return times;
}

describe('pcap files', () => {
  it('PcapWriter writes what PcapReader and parsePcap read back (microseconds, host order)', async () => {
    const path = join(dir, 'us.pcap');
    const times = writeFrames(path);
    const raw = fs.readFileSync(path);
    expect(raw.length).toBe(24 + FRAMES.reduce((n, f) => n + 16 + f.length, 0));
    const parsed = k.parsePcap(raw);
    expect(parsed.header).toMatchObject({ versionMajor: 2, versionMinor: 4, linktype: k.LINKTYPE_ETHERNET, nanosecond: false, snaplen: 262144 });
    expect(parsed.records.map((r) => r.data)).toEqual(FRAMES);
    expect(parsed.records.map((r) => ({ sec: r.sec, nsec: r.nsec }))).toEqual(times.map((t) => ({ sec: t.sec, nsec: Math.floor(t.nsec / 1000) * 1000 })));
    expect(parsed.records.map((r) => r.len)).toEqual(FRAMES.map((f) => f.length));
    const streamed = await k.readPcap(path);
    expect(streamed).toEqual(parsed);
  });

  it('nanosecond files, snaplen cuts, fds and byte streams of any chunking', async () => {
    const path = join(dir, 'ns.pcap');
    const times = writeFrames(path, { nanosecond: true, snaplen: 40 });
    const fd = fs.openSync(path, 'r');
    try {
      const r = await k.readPcap(fd);
      expect(r.header.nanosecond).toBe(true);
      expect(r.header.snaplen).toBe(40);
      expect(r.records.map((x) => x.nsec)).toEqual(times.map((t) => t.nsec));
      expect(r.records.map((x) => x.data)).toEqual(FRAMES.map((f) => f.subarray(0, 40)));
      expect(r.records.map((x) => x.len)).toEqual(FRAMES.map((f) => f.length));
    } finally {
      fs.closeSync(fd);
    }
    const bytes = fs.readFileSync(path);
    for (const size of [1, 7, 16, 4096]) {
      async function* chunks() { for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size); }
      const r = await k.readPcap(chunks());
      expect(r.records.length).toBe(FRAMES.length);
      expect(r.records[4]!.data).toEqual(FRAMES[4]!.subarray(0, 40));
    }
    // A stream, as fs gives it.
    const r = await k.readPcap(fs.createReadStream(path, { highWaterMark: 13 }));
    expect(r.records.length).toBe(FRAMES.length);
  });

  it('big-endian files (written on another machine) read the same', () => {
    const rec = (sec: number, frac: number, data: Buffer) => {
      const h = Buffer.alloc(16);
      h.writeUInt32BE(sec, 0); h.writeUInt32BE(frac, 4); h.writeUInt32BE(data.length, 8); h.writeUInt32BE(data.length + 10, 12);
      return Buffer.concat([h, data]);
    };
    for (const [magic, nano] of [[0xa1b2c3d4, false], [0xa1b23c4d, true]] as const) {
      const g = Buffer.alloc(24);
      g.writeUInt32BE(magic, 0); g.writeUInt16BE(2, 4); g.writeUInt16BE(4, 6); g.writeUInt32BE(65535, 16); g.writeUInt32BE(101, 20);
      const p = k.parsePcap(Buffer.concat([g, rec(1, 999, Buffer.from('abc')), rec(2, 5, Buffer.alloc(0))]));
      expect(p.header).toEqual({ versionMajor: 2, versionMinor: 4, snaplen: 65535, linktype: k.LINKTYPE_RAW, nanosecond: nano, littleEndian: false });
      expect(p.records).toEqual([
        { sec: 1, nsec: nano ? 999 : 999000, len: 13, data: Buffer.from('abc') },
        { sec: 2, nsec: nano ? 5 : 5000, len: 10, data: Buffer.alloc(0) },
      ]);
    }
  });

  it.runIf(hasTcpdump)(`tcpdump -r reads a file ksock wrote, and prints what PacketPrinter prints (${tcpdumpWhy})`, () => {
    for (const nanosecond of [false, true]) {
      const path = join(dir, `for-tcpdump-${nanosecond}.pcap`);
      const times = writeFrames(path, { nanosecond });
      const r = spawnSync('tcpdump', ['-n', '-r', path], { encoding: 'utf8', timeout: 10_000 });
      expect(r.status, r.stderr).toBe(0);
      const theirs = r.stdout.trim().split('\n');
      const printer = new k.PacketPrinter();
      const ours = FRAMES.map((f, i) => printer.line(f, times[i]!.sec, times[i]!.nsec));
      expect(ours).toEqual(theirs);
    }
  });

  it.runIf(hasTcpdump)(`ksock reads the files tcpdump writes (tcpdump -w, micro- and nanosecond) (${tcpdumpWhy})`, async () => {
    const ours = join(dir, 'src.pcap');
    const times = writeFrames(ours, { nanosecond: true });
    for (const precision of ['micro', 'nano']) {
      const theirs = join(dir, `tcpdump-${precision}.pcap`);
      const r = spawnSync('tcpdump', ['-n', '-r', ours, '--time-stamp-precision', precision, '-w', theirs], { encoding: 'utf8', timeout: 10_000 });
      expect(r.status, r.stderr).toBe(0);
      const got = await k.readPcap(theirs);
      expect(got.header.nanosecond).toBe(precision === 'nano');
      expect(got.records.map((x) => x.data)).toEqual(FRAMES);
      expect(got.records.map((x) => x.nsec)).toEqual(times.map((t) => (precision === 'nano' ? t.nsec : Math.floor(t.nsec / 1000) * 1000)));
    }
  });
});

describe('pcap files: corrupt input and wrong arguments', () => {
  const header = (magic = 0xa1b2c3d4) => {
    const g = Buffer.alloc(24);
    g.writeUInt32LE(magic, 0); g.writeUInt16LE(2, 4); g.writeUInt16LE(4, 6); g.writeUInt32LE(262144, 16); g.writeUInt32LE(1, 20);
    return g;
  };
  const recHdr = (caplen: number, frac = 0) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1, 0); h.writeUInt32LE(frac, 4); h.writeUInt32LE(caplen, 8); h.writeUInt32LE(caplen, 12);
    return h;
  };
  const bad = async (buf: Buffer, re: RegExp, opts?: k.PcapReadOptions) => {
    expect(() => k.parsePcap(buf, opts)).toThrow(re);
    expect(() => k.parsePcap(buf, opts)).toThrow(k.PcapFormatError);
    async function* one() { yield buf; }
    await expect(k.readPcap(one(), opts)).rejects.toThrow(re);
  };

  it('not pcap, pcapng, short header, another version', async () => {
    await bad(Buffer.from('GIF89a this is not a capture file at all'), /not a pcap file: magic/);
    const ng = Buffer.alloc(28);
    ng.writeUInt32BE(0x0a0d0d0a, 0);
    await bad(ng, /pcapng/);
    await bad(Buffer.alloc(10), /shorter than the 24-byte header/);
    await bad(Buffer.alloc(0), /shorter than the 24-byte header/);
    const v = header();
    v.writeUInt16LE(3, 4);
    await bad(v, /unsupported version 3/);
  });

  it('a record length of 4 GiB is an error before anything is allocated for it; maxRecord bounds it', async () => {
    await bad(Buffer.concat([header(), recHdr(0xffffffff)]), /over the limit of 262144/);
    await bad(Buffer.concat([header(), recHdr(300), Buffer.alloc(300)]), /over the limit of 200/, { maxRecord: 200 });
    expect(k.parsePcap(Buffer.concat([header(), recHdr(300), Buffer.alloc(300)]), { maxRecord: 300 }).records.length).toBe(1);
  });

  it('truncated record headers and data, and fractions of a second that are not', async () => {
    await bad(Buffer.concat([header(), recHdr(10).subarray(0, 9)]), /truncated record header/);
    await bad(Buffer.concat([header(), recHdr(100), Buffer.alloc(99)]), /truncated record \(100 bytes announced\)/);
    await bad(Buffer.concat([header(), recHdr(0, 1_000_000)]), /fraction 1000000 is not under one second/);
  });

  it('the error says where', () => {
    try {
      k.parsePcap(Buffer.concat([header(), recHdr(4), Buffer.alloc(4), recHdr(100)]));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(k.PcapFormatError);
      expect((e as k.PcapFormatError).offset).toBe(24 + 16 + 4);
      expect((e as k.PcapFormatError).code).toBe('EPCAPFORMAT');
    }
  });

  it('reader arguments: sources, options, chunks of the wrong type; a missing file', async () => {
    expect(() => new k.PcapReader(null as never)).toThrow(TypeError);
    expect(() => new k.PcapReader(-1 as never)).toThrow(TypeError);
    expect(() => new k.PcapReader({} as never)).toThrow(TypeError);
    expect(() => k.parsePcap('x' as never)).toThrow(TypeError);
    expect(() => new k.PcapReader(join(dir, 'x'), { maxRecord: 0 })).toThrow(RangeError);
    expect(() => new k.PcapReader(join(dir, 'x'), { maxRecord: 2 ** 40 })).toThrow(RangeError);
    expect(() => new k.PcapReader(join(dir, 'x'), { maxRecord: 'big' as never })).toThrow(TypeError);
    expect(() => new k.PcapReader(join(dir, 'x'), 5 as never)).toThrow(TypeError);
    async function* strings() { yield 'abc' as never; }
    await expect(k.readPcap(strings())).rejects.toThrow(TypeError);
    await expect(k.readPcap(join(dir, 'does-not-exist.pcap'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writer arguments: targets, options, packets, times; a closed writer', () => {
    const p = join(dir, 'w.pcap');
    expect(() => new k.PcapWriter({} as never)).toThrow(TypeError);
    expect(() => new k.PcapWriter(-3)).toThrow(TypeError);
    expect(() => new k.PcapWriter(p, { snaplen: 0 })).toThrow(RangeError);
    expect(() => new k.PcapWriter(p, { linktype: 2 ** 32 })).toThrow(RangeError);
    expect(() => new k.PcapWriter(p, { linktype: 1.5 })).toThrow(TypeError);
    expect(() => new k.PcapWriter(p, { nanosecond: 'yes' as never })).toThrow(TypeError);
    expect(() => new k.PcapWriter(join(dir, 'no', 'such', 'dir.pcap'))).toThrow(/ENOENT/);
    const w = new k.PcapWriter(p);
    try {
      expect(() => w.write('abc' as never)).toThrow(TypeError);
      expect(() => w.write(Buffer.alloc(1), { sec: -1, nsec: 0 })).toThrow(RangeError);
      expect(() => w.write(Buffer.alloc(1), { sec: 1, nsec: 1e9 })).toThrow(RangeError);
      expect(() => w.write(Buffer.alloc(1), { sec: 1, usec: 1e6 })).toThrow(RangeError);
      expect(() => w.write(Buffer.alloc(1), Number.NaN)).toThrow(RangeError);
      expect(() => w.write(Buffer.alloc(1), 'now' as never)).toThrow(TypeError);
      expect(() => w.write(Buffer.alloc(1), 2 ** 50)).toThrow(RangeError);
      expect(() => w.write(Buffer.alloc(1), undefined, -1)).toThrow(RangeError);
      const before = Date.now();
      w.write(new Uint8Array([1, 2, 3]));
      w.write(Buffer.alloc(2), 1500.25);
      expect(w.count).toBe(2);
      w.close();
      w.close();
      expect(() => w.write(Buffer.alloc(1))).toThrow(/closed/);
      const r = k.parsePcap(fs.readFileSync(p));
      expect(r.records[0]!.sec).toBeGreaterThanOrEqual(Math.floor(before / 1000) - 1);
      expect(r.records[1]).toMatchObject({ sec: 1, nsec: 500250000, len: 2 });
    } finally {
      w.close();
    }
  });
});
