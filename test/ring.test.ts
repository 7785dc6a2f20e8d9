// The TPACKET_V3 capture ring, on real packet sockets.
//
// - On `lo` (needs CAP_NET_RAW): python3 (an independent peer) sends N UDP
//   datagrams of distinct lengths; the ring yields exactly those N frames with
//   their lengths, payloads and kernel timestamps inside the send window.
// - On a veth pair whose far end lives in a network namespace this file
//   creates and always removes (needs CAP_NET_ADMIN + CAP_SYS_ADMIN and
//   ip(8)): datagrams sent on a VLAN sub-interface arrive with their VLAN tag.
// - Lifetime: a view used after its block is released throws, and its Buffer
//   reads as empty; closing the socket with live views is safe; a ring left
//   unclosed is unmapped by the garbage collector; a worker terminated while
//   holding a block ends cleanly. Mapping counts (/proc/self/maps lines of
//   socket mappings) and descriptor counts are unchanged.
// - Hostile sizes are RangeErrors before anything reaches the kernel; a
//   corrupt block never makes the frame walk read outside the block.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k, hasPython, capEff } from './helpers';
import { native } from '../lib/native';

const c = k.constants;
const L = native.ringLayout;

const caps = capEff();
const hasRaw = ((caps >> 13n) & 1n) === 1n && L.supported === 1; // CAP_NET_RAW
const hasAdmin = ((caps >> 12n) & 1n) === 1n && ((caps >> 21n) & 1n) === 1n; // CAP_NET_ADMIN, CAP_SYS_ADMIN
const hasIp = spawnSync('ip', ['-V'], { timeout: 5000 }).status === 0;
const whyRaw = L.supported !== 1 ? 'skipped: no TPACKET_V3 on this platform' : !hasRaw ? 'skipped: needs CAP_NET_RAW' : 'runs with CAP_NET_RAW';

/** Lines of /proc/self/maps that map a socket (the packet ring's mapping). */
const socketMaps = (): number => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('socket:[')).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A packet socket on `ifname` for ethertype `proto` (host order; the address codec converts it); `filter`
 *  is attached before the bind: lo carries every other process's traffic too. */
function packetSocket(ifname: string, proto = c.ETH_P_ALL!, filter?: string): k.Socket {
  const s = k.Socket.create('AF_PACKET', 'SOCK_RAW', 0);
  if (filter !== undefined) s.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', k.bpf.compile(filter, { linkType: 'ethernet' }));
  s.bind({ family: c.AF_PACKET!, protocol: proto, ifindex: k.if_nametoindex(ifname) });
  return s;
}

/** The UDP destination port and payload of an Ethernet frame carrying IPv4/UDP, else null. */
function udpOf(frame: Buffer): { dport: number; payload: Buffer } | null {
  if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== 0x0800) return null;
  const ihl = (frame[14]! & 0x0f) * 4;
  if (frame[14 + 9] !== 17 || frame.length < 14 + ihl + 8) return null;
  const u = 14 + ihl;
  return { dport: frame.readUInt16BE(u + 2), payload: frame.subarray(u + 8, u + frame.readUInt16BE(u + 4)) };
}

/** Sends `n` UDP datagrams from python3 to 127.0.0.1:port, datagram i of 16 + 7i bytes. */
function pySend(port: number, n: number): Promise<string> {
  const script = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(${n}):
    s.sendto(bytes([(i * 31 + j) % 256 for j in range(16 + 7 * i)]), ("127.0.0.1", ${port}))
`;
  return runPython(script);
}

/** The environment for python3 children: without the sanitizer runtime an ASan run preloads into this process. */
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'LD_PRELOAD'));
function runPython(script: string, ns?: string): Promise<string> {
  const argv = ns === undefined ? ['python3', '-c', script] : ['ip', 'netns', 'exec', ns, 'python3', '-c', script];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`python3${ns ? ` in ${ns}` : ''} exited ${code}: ${err}`));
    });
  });
}
const expected = (i: number) => Buffer.from(Array.from({ length: 16 + 7 * i }, (_, j) => (i * 31 + j) % 256));

interface Seen { i: number; len: number; snaplen: number; sec: number; nsec: number; payload: Buffer; vlanTci?: number; vlanTpid?: number; ifindex: number; protocol: number; hatype: number; addr: Buffer }

/**
 * Frames of UDP datagrams to `port` (incoming copies only), read while the
 * sender runs: until `n` are seen, or 3 s after `sent` settled (a python3
 * start can take seconds on a loaded machine; the wait is counted from when
 * it is done), 30 s at most.
 */
async function collect(ring: k.Ring, port: number, n: number, sent: Promise<unknown>, pkttypes = [c.PACKET_HOST]): Promise<Seen[]> {
  const seen: Seen[] = [];
  let doneAt = 0;
  void sent.then(() => (doneAt = Date.now()), () => (doneAt = Date.now()));
  const start = Date.now();
  for (let round = 0; round < 100_000 && seen.length < n; round++) {
    if (doneAt !== 0 ? Date.now() - doneAt > 3000 : Date.now() - start > 30_000) break;
    let block: k.Block;
    try {
      block = await ring.next({ timeout: 200 });
    } catch (err) {
      if ((err as k.SocketError).code === 'ETIMEDOUT') continue;
      throw err;
    }
    for (const f of block) {
      if (!pkttypes.includes(f.pkttype)) continue;
      const u = udpOf(f.data);
      if (u === null || u.dport !== port) continue;
      seen.push({
        i: (u.payload.length - 16) / 7, len: f.len, snaplen: f.snaplen, sec: f.sec, nsec: f.nsec,
        payload: Buffer.from(u.payload), vlanTci: f.vlanTci, vlanTpid: f.vlanTpid, ifindex: f.ifindex,
        protocol: f.protocol, hatype: f.hatype, addr: f.addr,
      });
    }
    block.release();
  }
  await sent;
  return seen;
}

describe('openRing: arguments', () => {
  it('hostile sizes are RangeErrors, wrong types TypeErrors, before the kernel sees them', () => {
    const udp = k.Socket.create('AF_INET', 'SOCK_DGRAM');
    try {
      expect(() => k.openRing(udp)).toThrow(TypeError); // not a packet socket
      expect(() => k.openRing({} as k.Socket)).toThrow(TypeError);
      expect(() => k.openRing(udp, null as unknown as k.RingOptions)).toThrow(TypeError);
    } finally {
      void udp.close();
    }
    if (!hasRaw) return;
    const s = k.Socket.create('AF_PACKET', 'SOCK_RAW', 0);
    try {
      const page = L.pageSize;
      for (const o of [
        { blockSize: 1000 }, { blockSize: 3 * page }, { blockSize: 2 ** 40 }, { blockSize: -page }, { blockSize: 0 },
        { blockCount: 0 }, { blockCount: 1e9 }, { blockCount: -1 },
        { frameSize: 17 * 16 + 1 }, { frameSize: 16 }, { blockSize: page, frameSize: 2 * page },
        { timeout: -1 }, { timeout: 1e12 },
        { blockSize: L.maxBlockSize, blockCount: 64 }, // 16 GiB in all
      ]) expect(() => k.openRing(s, o), JSON.stringify(o)).toThrow(RangeError);
      for (const o of [{ blockSize: 1.5 }, { blockCount: '4' }, { frameSize: NaN }, { timeout: {} }]) {
        expect(() => k.openRing(s, o as unknown as k.RingOptions), JSON.stringify(o)).toThrow(TypeError);
      }
      // The native checks stand on their own too.
      expect(() => native.ringOpen(s._h, 2 ** 40, 1, 2048, 0)).toThrow(RangeError);
      expect(() => native.ringOpen(s._h, 3 * page, 1, 2048, 0)).toThrow(RangeError);
      expect(() => native.ringOpen(s._h, page, 1, 17, 0)).toThrow(RangeError);
      expect(() => native.ringOpen(s._h, page, 2 ** 20, page, 0)).toThrow(RangeError);
      expect(() => native.ringOpen({} as typeof s._h, page, 1, 2048, 0)).toThrow(TypeError);
      expect(() => native.ringNext({} as never)).toThrow(TypeError);
      expect(() => native.ringRelease({} as never, new ArrayBuffer(8))).toThrow(TypeError);
      expect(socketMaps()).toBe(0);
    } finally {
      void s.close();
    }
  });
});

describe('a corrupt block', () => {
  it.runIf(L.supported === 1)('the frame walk stops inside the block, whatever its header says', () => {
    const parse = (b: Uint8Array) => new Uint32Array(native.ringParseBlock(b) as ArrayBuffer);
    // struct tpacket_block_desc: version, offset_to_priv, then bh1: block_status, num_pkts, offset_to_first_pkt …
    const block = (num: number, first: number, size = 4096) => {
      const b = Buffer.alloc(size);
      b.writeUInt32LE(3, 0);
      b.writeUInt32LE(1, 8); // TP_STATUS_USER
      b.writeUInt32LE(num, 12);
      b.writeUInt32LE(first, 16);
      return b;
    };
    // tpacket3_hdr: tp_next_offset, tp_sec, tp_nsec, tp_snaplen, tp_len, tp_status, tp_mac (u16), tp_net (u16)
    const frame = (b: Buffer, off: number, next: number, snaplen: number, mac: number) => {
      b.writeUInt32LE(next, off);
      b.writeUInt32LE(snaplen, off + 12);
      b.writeUInt32LE(snaplen, off + 16);
      b.writeUInt16LE(mac, off + 24);
      b.writeUInt16LE(mac, off + 26);
    };
    const ok = block(2, 48);
    frame(ok, 48, 128, 20, 80);
    frame(ok, 176, 0, 30, 80);
    let m = parse(ok);
    expect([m[L.count], m[L.flags]]).toEqual([2, 0]);
    expect(m[L.header + L.mac]).toBe(48 + 80);
    expect(m[L.header + L.fields + L.snaplen]).toBe(30);

    const hostile: [string, Buffer][] = [];
    let b = block(0xffffffff, 48); frame(b, 48, 64, 10, 80); hostile.push(['num_pkts 2^32-1', b]);
    b = block(1, 0xfffffff0); hostile.push(['first frame past the end', b]);
    b = block(1, 4090); hostile.push(['a header across the end', b]);
    b = block(3, 48); frame(b, 48, 0, 10, 80); hostile.push(['tp_next_offset 0 (a loop)', b]);
    b = block(2, 48); frame(b, 48, 0xfffffff0, 10, 80); hostile.push(['tp_next_offset past the end', b]);
    b = block(1, 48); frame(b, 48, 0, 0xffffffff, 80); hostile.push(['snaplen 2^32-1', b]);
    b = block(1, 48); frame(b, 48, 0, 100, 0xffff); hostile.push(['tp_mac past the end', b]);
    b = block(1, 48); frame(b, 48, 0, 10, 4); hostile.push(['tp_mac inside the header', b]);
    for (const [what, bytes] of hostile) {
      m = parse(bytes);
      expect(m[L.flags]! & L.flagCorrupt, what).toBe(L.flagCorrupt);
      for (let i = 0; i < m[L.count]!; i++) {
        const base = L.header + i * L.fields;
        expect(m[base + L.mac]! + m[base + L.snaplen]!, what).toBeLessThanOrEqual(bytes.length);
      }
    }
    expect(parse(new Uint8Array(0))[L.count]).toBe(0);
    expect(parse(new Uint8Array(7))[L.flags]).toBe(L.flagCorrupt);
  });
});

describe.runIf(hasRaw)(`the capture ring on lo (${whyRaw})`, () => {
  let maps0 = 0;
  beforeAll(() => {
    maps0 = socketMaps();
  });
  afterAll(() => {
    expect(socketMaps()).toBe(maps0);
  });

  it.runIf(hasPython)('N datagrams from python3 arrive as exactly N frames: lengths, payloads, timestamps, address', async () => {
    const rx = k.Socket.create('AF_INET', 'SOCK_DGRAM').bind({ family: c.AF_INET!, address: '127.0.0.1', port: 0 });
    const port = rx.address().port!;
    const s = packetSocket('lo', c.ETH_P_ALL!, `udp and dst port ${port}`); // drops below are of these frames only
    const ring = k.openRing(s, { blockSize: 1 << 16, blockCount: 8, timeout: 5 });
    try {
      expect(socketMaps()).toBe(maps0 + 1);
      expect(ring.mapped).toBe((1 << 16) * 8);
      const N = 40;
      const t0 = Date.now();
      const sent = pySend(port, N).then(() => (t1 = Date.now()));
      let t1 = Infinity;
      const seen = await collect(ring, port, N, sent); // reading while python3 sends
      expect(seen.map((f) => f.i)).toEqual(Array.from({ length: N }, (_, i) => i));
      for (const f of seen) {
        expect(f.payload.equals(expected(f.i))).toBe(true);
        expect(f.len).toBe(14 + 20 + 8 + 16 + 7 * f.i); // lo: a zeroed Ethernet header
        expect(f.snaplen).toBe(f.len);
        const ms = f.sec * 1000 + f.nsec / 1e6;
        expect(f.nsec).toBeLessThan(1e9);
        expect(ms).toBeGreaterThanOrEqual(t0 - 1);
        expect(ms).toBeLessThanOrEqual(t1 + 1);
        expect(f.ifindex).toBe(k.if_nametoindex('lo'));
        expect(f.protocol).toBe(c.ETH_P_IP);
        expect(f.hatype).toBe(c.ARPHRD_LOOPBACK);
        expect(f.addr).toEqual(Buffer.alloc(6));
        expect(f.vlanTci).toBeUndefined();
      }
      const st = ring.stats();
      expect(st.packets).toBeGreaterThanOrEqual(2 * N); // both directions on lo
      expect(st.drops).toBe(0);
    } finally {
      ring.close();
      await s.close();
      await rx.close();
    }
    expect(socketMaps()).toBe(maps0);
  });

  it('a view used after its block is released throws ERR_KSOCK_RELEASED; a Buffer kept past it reads as empty', async () => {
    const s = packetSocket('lo');
    const ring = k.openRing(s, { blockSize: 1 << 16, blockCount: 4, timeout: 2 });
    const tx = k.Socket.create('AF_INET', 'SOCK_DGRAM');
    try {
      await tx.sendmsg({ data: Buffer.from('release me'), to: { family: c.AF_INET!, address: '127.0.0.1', port: 9 } });
      const block = await ring.next({ timeout: 5000 });
      expect(block.count).toBeGreaterThan(0);
      expect(ring.held).toBe(1);
      const f = block.frame(0);
      const data = f.data, len = f.len;
      expect(data.length).toBe(f.snaplen);
      expect(data.length).toBeGreaterThan(0);
      expect(() => block.frame(block.count)).toThrow(RangeError);
      block.release();
      expect(block.released).toBe(true);
      expect(ring.held).toBe(0);
      expect(data.length).toBe(0);
      expect(data.buffer.byteLength).toBe(0);
      expect(data[0]).toBeUndefined();
      expect(() => f.data).toThrow(expect.objectContaining({ code: 'ERR_KSOCK_RELEASED', name: 'ReleasedError' }));
      expect(() => f.network).toThrow(k.ReleasedError);
      expect(f.len).toBe(len); // the numbers were copied out
      block.release(); // idempotent
      // The released block goes round again: the ring keeps capturing.
      await tx.sendmsg({ data: Buffer.from('again'), to: { family: c.AF_INET!, address: '127.0.0.1', port: 9 } });
      const again = await ring.next({ timeout: 5000 });
      expect(again.count).toBeGreaterThan(0);
      expect(again.frame(0).data.length).toBeGreaterThan(0);
      again.release();
      // A block dropped without release() goes back to the kernel when the collector takes it.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc !== undefined) {
        await tx.sendmsg({ data: Buffer.from('dropped'), to: { family: c.AF_INET!, address: '127.0.0.1', port: 9 } });
        await (async () => {
          const b = await ring.next({ timeout: 5000 });
          expect(ring.held).toBe(1);
          return b.count;
        })();
        for (let i = 0; i < 50 && ring.held !== 0; i++) {
          gc();
          await sleep(10);
        }
        expect(ring.held).toBe(0);
      }
    } finally {
      ring.close();
      await s.close();
      await tx.close();
    }
  });

  it('closing the socket with live views is safe: the views still read, the ring drains, then EBADF; close() empties them', async () => {
    const tx = k.Socket.create('AF_INET', 'SOCK_DGRAM').bind({ family: c.AF_INET!, address: '127.0.0.1', port: 0 });
    const s = packetSocket('lo', c.ETH_P_ALL!, `udp and src port ${tx.address().port!}`); // only this test's frame: then the ring drains
    const ring = k.openRing(s, { blockSize: 1 << 16, blockCount: 4, timeout: 2 });
    await tx.sendmsg({ data: Buffer.from('live view'), to: { family: c.AF_INET!, address: '127.0.0.1', port: 9 } });
    const block = await ring.next({ timeout: 5000 });
    const data = block.frame(0).data;
    const copy = Buffer.from(data);
    await s.close();
    await tx.close();
    expect(data.equals(copy)).toBe(true); // still mapped
    expect(socketMaps()).toBe(maps0 + 1);
    await expect(ring.next({ timeout: 2000 })).rejects.toMatchObject({ code: 'EBADF' });
    expect(() => ring.stats()).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(ring.held).toBe(1);
    ring.close();
    expect(ring.held).toBe(0);
    expect(data.length).toBe(0);
    expect(block.released).toBe(true);
    block.release(); // after close: nothing to give back
    expect(() => block.frame(0).data).toThrow(k.ReleasedError);
    expect(socketMaps()).toBe(maps0);
    ring.close(); // idempotent
    await expect(ring.next()).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('waits end by timeout, abort and close, without busy-polling', async () => {
    // An ethertype nobody sends (IEEE local experimental): nothing arrives.
    const s = packetSocket('lo', 0x88b5);
    const ring = k.openRing(s, { blockSize: 1 << 14, blockCount: 2, timeout: 1 });
    try {
      const cpu0 = process.cpuUsage();
      const t0 = Date.now();
      await expect(ring.next({ timeout: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      const cpu = process.cpuUsage(cpu0);
      expect((cpu.user + cpu.system) / 1000).toBeLessThan(150); // asleep, not spinning
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('stop')), 20);
      await expect(ring.next({ signal: ac.signal })).rejects.toThrow('stop');
      const p = ring.next();
      setTimeout(() => ring.close(), 20);
      await expect(p).rejects.toMatchObject({ code: 'EBADF' });
      const it = ring.frames();
      await expect(it.next()).resolves.toEqual({ done: true, value: undefined }); // a closed ring ends the loop
      expect(() => ring.tryNext()).toThrow(expect.objectContaining({ code: 'EBADF' }));
    } finally {
      ring.close();
      await s.close();
    }
  });

  it('a second ring on one socket is EBUSY; after close() the socket takes a new one', async () => {
    const s = packetSocket('lo');
    try {
      const a = k.openRing(s, { blockSize: 1 << 14, blockCount: 2 });
      expect(() => k.openRing(s, { blockSize: 1 << 14, blockCount: 2 })).toThrow(expect.objectContaining({ code: 'EBUSY' }));
      a.close();
      const b = k.openRing(s, { blockSize: 1 << 14, blockCount: 4 });
      expect(b.mapped).toBe(4 << 14);
      b.close();
    } finally {
      await s.close();
    }
  });

  it('ring stats count packets, drops and queue freezes while the caller holds every block', async () => {
    const s = packetSocket('lo');
    const ring = k.openRing(s, { blockSize: 4096, blockCount: 2, frameSize: 2048, timeout: 1 });
    const rx = k.Socket.create('AF_INET', 'SOCK_DGRAM').bind({ family: c.AF_INET!, address: '127.0.0.1', port: 0 });
    const tx = k.Socket.create('AF_INET', 'SOCK_DGRAM');
    const to = rx.address();
    try {
      const held: k.Block[] = [];
      for (let i = 0; i < 50 && held.length < 2; i++) {
        await tx.sendmsg({ data: Buffer.alloc(1000), to });
        const b = ring.tryNext() ?? await ring.next({ timeout: 50 }).catch(() => null);
        if (b) held.push(b);
      }
      expect(held.length).toBe(2);
      expect(ring.tryNext()).toBeNull(); // every block is ours: nothing more, no block handed out twice
      for (let i = 0; i < 50; i++) await tx.sendmsg({ data: Buffer.alloc(1000), to });
      const st = ring.stats();
      expect(st.drops).toBeGreaterThan(0);
      expect(st.packets).toBeGreaterThanOrEqual(st.drops);
      expect(st.freezeQueueCount).toBeGreaterThanOrEqual(0);
      for (const b of held) b.release();
      // Released: capture resumes.
      await tx.sendmsg({ data: Buffer.alloc(10), to });
      const b = await ring.next({ timeout: 5000 });
      b.release();
      const st2 = ring.stats();
      expect(st2.packets).toBeGreaterThan(st.packets); // totals since open, not since the last read
      expect(st2.drops).toBeGreaterThanOrEqual(st.drops);
    } finally {
      ring.close();
      for (const so of [s, rx, tx]) await so.close();
    }
  });

  it('an unclosed ring is unmapped by the garbage collector, not while a Buffer over it is still reachable', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) return;
    const sock = packetSocket('lo');
    const tx = k.Socket.create('AF_INET', 'SOCK_DGRAM');
    let kept: Buffer | null = await (async () => {
      const ring = k.openRing(sock, { blockSize: 1 << 16, blockCount: 2, timeout: 2 });
      await tx.sendmsg({ data: Buffer.from('kept past the ring'), to: { family: c.AF_INET!, address: '127.0.0.1', port: 9 } });
      const block = await ring.next({ timeout: 5000 });
      return block.frame(0).data; // ring and block dropped, the data kept
    })();
    await sock.close();
    await tx.close();
    const copy = Buffer.from(kept);
    for (let i = 0; i < 5; i++) {
      gc();
      await sleep(10);
    }
    expect(socketMaps()).toBe(maps0 + 1); // still mapped for `kept`
    expect(kept.equals(copy)).toBe(true);
    kept = null;
    for (let i = 0; i < 50 && socketMaps() !== maps0; i++) {
      gc();
      await sleep(10);
    }
    expect(socketMaps()).toBe(maps0);
  });

  it('a worker terminated while it holds a block ends cleanly and leaves no mapping', async () => {
    const dist = join(__dirname, '..', 'dist', 'index.js');
    const body = `
const { parentPort } = require('node:worker_threads');
const k = require(${JSON.stringify(dist)});
(async () => {
  const tx = k.Socket.create('AF_INET', 'SOCK_DGRAM').bind({ family: k.AF_INET, address: '127.0.0.1', port: 0 });
  const s = k.Socket.create('AF_PACKET', 'SOCK_RAW', 0);
  // Only this worker's frames: other traffic on lo would fill the ring and settle the pending wait below.
  s.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', k.bpf.compile('udp and src port ' + tx.address().port, { linkType: 'ethernet' }));
  s.bind({ family: k.AF_PACKET, protocol: k.ETH_P_ALL, ifindex: k.if_nametoindex('lo') });
  const ring = k.openRing(s, { blockSize: 1 << 16, blockCount: 4, timeout: 2 });
  await tx.sendmsg({ data: Buffer.from('worker'), to: { family: k.AF_INET, address: '127.0.0.1', port: 9 } });
  const block = await ring.next({ timeout: 5000 });
  const data = block.frame(0).data;
  ring.next().catch(() => {});           // a wait left pending
  parentPort.postMessage({ len: data.length, mapped: ring.mapped });
})();`;
    const w = new Worker(body, { eval: true });
    const m = await new Promise<{ len: number; mapped: number }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('worker timed out')), 15_000);
      w.once('message', (v) => { clearTimeout(t); resolve(v); });
      w.once('error', (e) => { clearTimeout(t); reject(e); });
    });
    expect(m.len).toBeGreaterThan(0);
    expect(m.mapped).toBe(4 << 16);
    expect(socketMaps()).toBe(maps0 + 1);
    expect(await w.terminate()).toBe(1);
    expect(socketMaps()).toBe(maps0);
  });
});

// A veth pair: `kr<pid>a` here (captured), `vb` in a namespace, where
// python3 sends 802.1Q-tagged Ethernet frames (VLAN 100, IPv4/UDP inside) on a
// packet socket of its own; the receiving side takes the tag off into the
// frame's header, as for any VLAN traffic.
const ns = `ksock-${process.pid}-ring`;
const ifa = `kr${process.pid}a`.slice(0, 15);
const why = !hasRaw ? whyRaw : !hasAdmin ? 'skipped: needs CAP_NET_ADMIN and CAP_SYS_ADMIN' : !hasIp ? 'skipped: no ip(8)' : !hasPython ? 'skipped: no python3' : 'runs as root with ip(8)';
describe.runIf(hasRaw && hasAdmin && hasIp && hasPython)(`the ring on a veth, VLAN-tagged frames (${why})`, () => {
  const ip = (...args: string[]) => {
    const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  };
  const macOf = (dev: string, netns?: string) =>
    JSON.parse(spawnSync('ip', [...(netns ? ['-n', netns] : []), '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' }).stdout)[0].address as string;
  beforeAll(() => {
    ip('netns', 'add', ns);
    ip('link', 'add', ifa, 'type', 'veth', 'peer', 'name', 'vb', 'netns', ns);
    ip('link', 'set', ifa, 'up');
    ip('-n', ns, 'link', 'set', 'vb', 'up');
  });
  afterAll(() => {
    spawnSync('ip', ['link', 'del', ifa], { timeout: 10_000 });
    spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  });

  /** python3 in the namespace: N tagged frames to `dst`, datagram i as pySend makes it. */
  function pyTagged(dst: string, n: number): Promise<string> {
    const script = `
import socket, struct
def csum(b):
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('vb', 0))
src = s.getsockname()[4]
dst = bytes.fromhex('${dst.replace(/:/g, '')}')
for i in range(${n}):
    payload = bytes([(i * 31 + j) % 256 for j in range(16 + 7 * i)])
    udp = struct.pack('!HHHH', 40000, 4242, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0, socket.inet_aton('10.9.0.1'), socket.inet_aton('10.9.0.2'))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    s.send(dst + src + struct.pack('!HHH', 0x8100, 100, 0x0800) + ip + udp)
`;
    return runPython(script, ns);
  }

  it('802.1Q-tagged frames arrive with their tag, lengths, payloads and the sender\'s MAC', async () => {
    // ETH_P_ALL: such a socket sees a frame before the stack handles its tag (an ETH_P_IP one sees it
    // after: PACKET_OTHERHOST, the tag cleared, as this host has no VLAN 100 device).
    const s = packetSocket(ifa);
    const ring = k.openRing(s, { blockSize: 1 << 16, blockCount: 16, timeout: 5 });
    try {
      const mac = macOf('vb', ns);
      const N = 10;
      const t0 = Date.now();
      const sent = pyTagged(macOf(ifa), N).then(() => (t1 = Date.now()));
      let t1 = Infinity;
      const seen = await collect(ring, 4242, N, sent); // reading while python3 sends
      expect(seen.map((f) => f.i)).toEqual(Array.from({ length: N }, (_, i) => i));
      for (const f of seen) {
        expect(f.payload.equals(expected(f.i))).toBe(true);
        expect(f.vlanTci! & 0xfff).toBe(100);
        if (f.vlanTpid !== undefined) expect(f.vlanTpid).toBe(0x8100);
        expect(f.len).toBe(14 + 20 + 8 + 16 + 7 * f.i); // the tag is off the frame, in the header
        expect(f.protocol).toBe(c.ETH_P_IP);
        expect(f.ifindex).toBe(k.if_nametoindex(ifa));
        expect(f.addr.toString('hex').match(/../g)!.join(':')).toBe(mac);
        const ms = f.sec * 1000 + f.nsec / 1e6;
        expect(ms).toBeGreaterThanOrEqual(t0 - 1);
        expect(ms).toBeLessThanOrEqual(t1 + 1);
      }
    } finally {
      ring.close();
      await s.close();
    }
  });
});
