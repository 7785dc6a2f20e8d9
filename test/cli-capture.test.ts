// `ksock capture` against tcpdump, on a veth pair between two network
// namespaces this file creates and always removes (test/packet-remote.ts).
// The same traffic (ARP, ICMP and ICMPv6 echo, UDP to closed ports and the
// ICMP errors they draw, a TCP connection) is captured at once by ksock
// capture (printing), ksock capture -w, tcpdump -n and tcpdump -w; then:
// ksock's lines equal tcpdump's (timestamps aside), tcpdump -r reads ksock's
// file and prints the same, ksock reads tcpdump's file and prints exactly
// what tcpdump -r prints. Needs root, ip(8) and tcpdump.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k from '../lib/index';
import { Remote, Veth, bin, canNetns, hasTcpdump, toolEnv, whyNot } from './packet-remote';

interface Run { child: ChildProcess; ready: Promise<void>; done: Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }> }

/** Starts a capture in namespace `ns`; `ready` when it says "listening on". Killed after `ms`. */
function start(ns: string, cmd: string[], env: NodeJS.ProcessEnv, ms = 50_000): Run {
  const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '', stderr = '';
  let onReady: () => void = () => {};
  let onFail: (e: Error) => void = () => {};
  const ready = new Promise<void>((res, rej) => { onReady = res; onFail = rej; });
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; if (/listening on/.test(stderr)) onReady(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const done = new Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }>((res) => {
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      onFail(new Error(`${cmd.join(' ')} exited before listening: ${stderr}`));
      res({ status, signal, stdout, stderr });
    });
  });
  return { child, ready, done };
}

const ksockCmd = (...args: string[]) => [process.execPath, bin, 'capture', ...args];
/** Runs a command in namespace `ns` to its end, without blocking the test worker (vitest's messages must flow). */
function runIn(ns: string, cmd: string[], ms = 20_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', (status) => { clearTimeout(t); res({ status, stdout, stderr }); });
  });
}
/** The lines of our traffic (neighbour discovery and MLD of the links' own may pass too), without timestamps. */
const ours = (out: string) => out.trim().split('\n')
  .filter((l) => / (10\.9\.0\.|fd00::)/.test(l))
  .map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d{6} /, ''));

/** Traffic from namespace b to a. */
const TRAFFIC = `
  const v4 = { family: c.AF_INET, address: '10.9.0.1' }, v6 = { family: c.AF_INET6, address: 'fd00::1' };
  const u4 = k.Socket.create('AF_INET', 'SOCK_DGRAM'), u6 = k.Socket.create('AF_INET6', 'SOCK_DGRAM');
  const i4 = k.Socket.create('AF_INET', 'SOCK_RAW', 'IPPROTO_ICMP'), i6 = k.Socket.create('AF_INET6', 'SOCK_RAW', 'IPPROTO_ICMPV6');
  const pause = () => new Promise((r) => setTimeout(r, 50));
  const echo = (type) => { const b = Buffer.alloc(24, 0x61); b[0] = type; b[1] = 0; b.writeUInt16BE(0, 2); b.writeUInt16BE(77, 4); b.writeUInt16BE(1, 6); b.writeUInt16BE(k.internetChecksum(b), 2); return b; };
  try {
    await u4.sendmsg({ data: Buffer.from('hello'), to: { ...v4, port: 40601 } }); await pause();
    await u6.sendmsg({ data: Buffer.from('hi6'), to: { ...v6, port: 40602 } }); await pause();
    await i4.sendmsg({ data: echo(8), to: { ...v4, port: 0 } }); await pause();
    await i6.sendmsg({ data: echo(128), to: { ...v6, port: 0 } }); await pause();
    const t = k.Socket.create('AF_INET', 'SOCK_STREAM');
    await t.connect({ ...v4, port: 40603 }, { timeout: 5000 });
    await t.sendmsg({ data: Buffer.from('hello') });
    const m = await t.recvmsg({ size: 10, timeout: 5000 });
    await t.close();
    await pause(); await pause();
    return m.data.toString();
  } finally { for (const s of [u4, u6, i4, i6]) await s.close(); }`;

/** A TCP server in namespace a that answers 'bye' to one connection. */
const SERVER = `
  g.l = k.Socket.create('AF_INET', 'SOCK_STREAM');
  g.l.setsockopt('SOL_SOCKET', 'SO_REUSEADDR', true);
  g.l.bind({ family: c.AF_INET, address: '10.9.0.1', port: 40603 });
  g.l.listen(1);
  g.served = (async () => { const s = await g.l.accept({ timeout: 10000 }); await s.recvmsg({ size: 10, timeout: 5000 }); await s.sendmsg({ data: Buffer.from('bye') }); await s.recvmsg({ size: 10, timeout: 5000 }); await s.close(); await g.l.close(); })();
  return true;`;

describe.runIf(canNetns)(`ksock capture (two namespaces; ${whyNot}; ${hasTcpdump ? 'with tcpdump' : 'tcpdump comparisons skipped: no tcpdump'})`, () => {
  const net = new Veth('c');
  let a: Remote, b: Remote;
  let dir = '';

  beforeAll(async () => {
    dir = fs.mkdtempSync(join(os.tmpdir(), `ksock-capture-${process.pid}-`));
    try {
      net.setUp();
    } catch (e) {
      net.tearDown();
      throw e;
    }
    a = new Remote(net.a);
    b = new Remote(net.b);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    net.tearDown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.runIf(hasTcpdump)('the same traffic: ksock capture prints tcpdump -n\'s lines; tcpdump -r reads ksock -w; ksock reads tcpdump -w', async () => {
    const ksockFile = join(dir, 'ksock.pcap'), tcpdumpFile = join(dir, 'tcpdump.pcap');
    const runs = [
      start(net.a, ksockCmd('-i', 'pa'), process.env),
      start(net.a, ksockCmd('-i', 'pa', '-w', ksockFile), process.env),
      // Immediate mode: libpcap's ring otherwise holds packets for up to a second, and Ctrl-C loses them.
      start(net.a, ['tcpdump', '-n', '-l', '--immediate-mode', '-i', 'pa'], toolEnv()),
      start(net.a, ['tcpdump', '-n', '-U', '--immediate-mode', '-i', 'pa', '-w', tcpdumpFile], toolEnv()),
    ];
    let results;
    try {
      await Promise.all(runs.map((r) => r.ready));
      await a.run(SERVER);
      expect(await b.run(TRAFFIC)).toBe('bye');
      await a.run('await g.served; return true;');
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      for (const r of runs) r.child.kill('SIGINT'); // Ctrl-C: each exits cleanly, with its counts
      results = await Promise.all(runs.map((r) => r.done));
    }
    const [kPrint, kWrite, tPrint, tWrite] = results;
    for (const r of [kPrint!, kWrite!]) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^listening on pa, link-type EN10MB \(Ethernet\), snapshot length 262144 bytes\n\d+ packets? captured\n0 packets dropped by kernel\n$/);
    }
    expect(tPrint!.status).toBe(0);
    expect(tWrite!.status).toBe(0);
    expect(kWrite!.stdout).toBe(''); // -w: no lines

    const expected = ours(tPrint!.stdout);
    // ARP, ICMP echo, UDP + port unreachable, ND, UDP6 + ICMP6 unreachable, ICMP6 echo, 10 TCP segments at least.
    expect(expected.length).toBeGreaterThanOrEqual(20);
    expect(expected.some((l) => l.startsWith('ARP, Request who-has 10.9.0.1 tell 10.9.0.2'))).toBe(true);
    expect(expected).toContain('IP 10.9.0.1 > 10.9.0.2: ICMP 10.9.0.1 udp port 40601 unreachable, length 41');
    expect(expected.some((l) => /Flags \[P\.\], seq 1:6, ack 1, win \d+, options \[nop,nop,TS val \d+ ecr \d+\], length 5$/.test(l))).toBe(true);
    expect(ours(kPrint!.stdout)).toEqual(expected);

    // tcpdump -r of ksock's file: the same lines.
    const r1 = spawnSync('tcpdump', ['-n', '-r', ksockFile], { encoding: 'utf8', timeout: 10_000, env: toolEnv() });
    expect(r1.status, r1.stderr).toBe(0);
    expect(ours(r1.stdout)).toEqual(expected);
    // ksock reading tcpdump's file: exactly tcpdump -r's lines, timestamps included.
    const r2 = spawnSync('tcpdump', ['-n', '-r', tcpdumpFile], { encoding: 'utf8', timeout: 10_000, env: toolEnv() });
    expect(r2.status, r2.stderr).toBe(0);
    const { header, records } = await k.readPcap(tcpdumpFile);
    const printer = new k.PacketPrinter();
    expect(records.map((x) => printer.line(x.data, x.sec, x.nsec, header.linktype))).toEqual(r2.stdout.trim().split('\n'));
    expect(ours(r2.stdout), r2.stdout + r2.stderr).toEqual(expected);
  }, 60_000); // six processes at once (slow under ASan on a shared machine)

  it('-c N: exits by itself after N packets, N lines printed', async () => {
    const run = start(net.a, ksockCmd('-i', 'pa', '-c', '3'), process.env);
    await run.ready;
    await b.run(`
      const u = k.Socket.create('AF_INET', 'SOCK_DGRAM');
      try { for (let i = 0; i < 6; i++) { await u.sendmsg({ data: Buffer.from('x'), to: { family: c.AF_INET, address: '10.9.0.1', port: 40604 } }); await new Promise((r) => setTimeout(r, 20)); } }
      finally { await u.close(); }`);
    const r = await run.done;
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/^\d\d:\d\d:\d\d\.\d{6} \S/);
    expect(r.stderr).toMatch(/\n3 packets captured\n/);
  }, 60_000);

  it('--timeout S: exits by itself, status 0', async () => {
    const t0 = Date.now();
    const run = start(net.a, ksockCmd('-i', 'pa', '--timeout', '0.3'), process.env);
    const r = await run.done;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\d+ packets? captured\n/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  }, 60_000);

  it('-f FILTER: compiled and attached in the kernel where lib/bpf is built, else a usage error that says so', async () => {
    const hasBpf = typeof (k as Record<string, unknown>).bpf === 'object';
    if (!hasBpf) {
      const r = await runIn(net.a, ksockCmd('-i', 'pa', '-f', 'udp'));
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/filters need lib\/bpf/);
      return;
    }
    const run = start(net.a, ksockCmd('-i', 'pa', '-c', '2', '-f', 'udp and port 40605'), process.env);
    await run.ready;
    await b.run(`
      const u = k.Socket.create('AF_INET', 'SOCK_DGRAM');
      try { for (const port of [40606, 40605, 40607, 40605]) { await u.sendmsg({ data: Buffer.from('x'), to: { family: c.AF_INET, address: '10.9.0.1', port } }); await new Promise((r) => setTimeout(r, 20)); } }
      finally { await u.close(); }`);
    const r = await run.done;
    expect(r.status, r.stderr).toBe(0);
    expect(ours(r.stdout)).toEqual([expect.stringMatching(/^IP 10\.9\.0\.2\.\d+ > 10\.9\.0\.1\.40605: UDP, length 1$/), expect.stringMatching(/40605: UDP/)]);
  }, 60_000);

  it('examples/capture.mjs: COUNT lines as tcpdump prints them, and its counts', async () => {
    const run = start(net.a, [process.execPath, join(__dirname, '..', 'examples', 'capture.mjs'), 'pa', '2'], process.env);
    await run.ready;
    await b.run(`
      const u = k.Socket.create('AF_INET', 'SOCK_DGRAM');
      try { for (let i = 0; i < 4; i++) { await u.sendmsg({ data: Buffer.from('abc'), to: { family: c.AF_INET, address: '10.9.0.1', port: 40608 } }); await new Promise((r) => setTimeout(r, 20)); } }
      finally { await u.close(); }`);
    const r = await run.done;
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/^\d\d:\d\d:\d\d\.\d{6} \S/);
    expect(r.stderr).toBe('listening on pa\n2 packets, 0 dropped by the kernel\n');
  }, 60_000);

  it('usage errors: exit 2 with the reason', async () => {
    const [noIface, unknown, badCount, badSnap, extra] = await Promise.all([
      [], ['-i', 'nope0'], ['-i', 'pa', '-c', 'x'], ['-i', 'pa', '-s', '0'], ['-i', 'pa', 'more'],
    ].map((args) => runIn(net.a, ksockCmd(...args))));
    expect(noIface!.status).toBe(2);
    expect(noIface!.stderr).toMatch(/-i IFACE is required/);
    expect(unknown!.status).toBe(2);
    expect(unknown!.stderr).toMatch(/no interface 'nope0'/);
    expect(badCount!.status).toBe(2);
    expect(badCount!.stderr).toMatch(/-c: 'x' is not a positive integer/);
    expect(badSnap!.status).toBe(2);
    expect(badSnap!.stderr).toMatch(/-s: '0' is not an integer from 1 to 262144/);
    expect(extra!.status).toBe(2);
    expect(extra!.stderr).toMatch(/unexpected argument 'more'/);
  }, 60_000);
});
