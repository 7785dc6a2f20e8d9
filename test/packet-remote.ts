// Two network namespaces joined by a veth pair, and a node process inside
// each that runs the test's snippets, for the packet-socket tests
// (packet-options, cli-capture):
//
//   [ns a] pa 10.9.0.1/24 fd00::1/64  ----  pb 10.9.0.2/24 fd00::2/64 [ns b]
//          pa.5 10.9.5.1/24 (vlan 5)  ----  pb.5 10.9.5.2/24 (vlan 5)   where the kernel has 8021q
//
// Everything is created by setUp() and removed by tearDown(), which the
// tests call from beforeAll/afterAll (tearDown is safe after a partial
// setUp). Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_NET_RAW) and ip(8).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { capEff } from './helpers';

export const dist = join(__dirname, '..', 'dist', 'index.js');
export const bin = join(__dirname, '..', 'bin', 'ksock.mjs');

const caps = capEff();
const bit = (n: number): boolean => ((caps >> BigInt(n)) & 1n) === 1n;
/** CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN. */
export const hasCaps = bit(12) && bit(13) && bit(21);
export const hasIp = spawnSync('ip', ['-V'], { timeout: 5000 }).status === 0;
export const hasTcpdump = spawnSync('tcpdump', ['--version'], { timeout: 5000 }).status === 0;
export const canNetns = hasCaps && hasIp;
export const whyNot = !hasCaps ? 'skipped: needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN' : !hasIp ? 'skipped: no ip(8)' : 'as root with ip(8)';

/** The environment of non-node tools (an ASan preload is for node only). */
export const toolEnv = (): NodeJS.ProcessEnv => {
  const e = { ...process.env };
  delete e.LD_PRELOAD;
  return e;
};

export const ip = (...args: string[]): string =>
  execFileSync('ip', args, { timeout: 10_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: toolEnv() });

// Runs `code` (an async function body; `g` keeps state between calls, `k` is
// the package, `c` its constants) for each JSON line { id, code } on stdin,
// and answers { id, ok, value | error } on stdout.
const EVALUATOR = `
const k = require(process.env.KSOCK_TEST_DIST);
const fs = require('node:fs');
const AsyncFunction = (async () => {}).constructor;
const g = {};
const out = (o) => process.stdout.write(JSON.stringify(o, (key, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? { hex: Buffer.from(v.data).toString('hex') } : v)) + '\\n');
require('node:readline').createInterface({ input: process.stdin }).on('line', async (line) => {
  const { id, code } = JSON.parse(line);
  try {
    const value = await new AsyncFunction('g', 'k', 'c', 'fs', code)(g, k, k.constants, fs);
    out({ id, ok: true, value: value === undefined ? null : value });
  } catch (e) {
    out({ id, ok: false, error: { name: e && e.name, message: String(e && e.message), code: e && e.code } });
  }
});
process.stdin.on('end', () => process.exit(0));
`;

/** A node process in a namespace that runs snippets. */
export class Remote {
  readonly child: ChildProcess;
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #stderr = '';

  constructor(ns: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', EVALUATOR], {
      stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KSOCK_TEST_DIST: dist },
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let m: { id: number; ok: boolean; value?: unknown; error?: { name: string; message: string; code?: string } };
      try { m = JSON.parse(line); } catch { return; }
      const w = this.#waiting.get(m.id);
      if (!w) return;
      this.#waiting.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(Object.assign(new Error(`${m.error!.name}: ${m.error!.message}`), { code: m.error!.code, remoteName: m.error!.name }));
    });
    this.child.stderr!.on('data', (d) => { this.#stderr = (this.#stderr + d).slice(-4000); });
    this.child.on('exit', (code, sig) => {
      for (const w of this.#waiting.values()) w.reject(new Error(`remote exited (${code ?? sig}): ${this.#stderr}`));
      this.#waiting.clear();
    });
  }

  /** Runs an async function body in the child; its result comes back through JSON. */
  run<T = any>(code: string, ms = 10_000): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`remote snippet timed out after ${ms} ms: ${code.slice(0, 120)}\n${this.#stderr}`));
      }, ms);
      this.#waiting.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v as T); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.child.stdin!.write(JSON.stringify({ id, code }) + '\n');
    });
  }

  /** Ends the child (closing its stdin) and waits for it, killing it after 5 s. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }
}

/** The two namespaces and their veth and vlan interfaces. */
export class Veth {
  readonly a: string;
  readonly b: string;
  constructor(tag: string) {
    this.a = `ksock-${process.pid}-${tag}a`;
    this.b = `ksock-${process.pid}-${tag}b`;
  }

  setUp(): void {
    ip('netns', 'add', this.a);
    ip('netns', 'add', this.b);
    ip('link', 'add', 'pa', 'netns', this.a, 'type', 'veth', 'peer', 'name', 'pb', 'netns', this.b);
    for (const [ns, dev, n] of [[this.a, 'pa', '1'], [this.b, 'pb', '2']] as const) {
      // Quiet links: no router solicitations or DAD; the tests' own traffic is what passes.
      ip('netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${dev}.router_solicitations=0`);
      ip('-n', ns, 'addr', 'add', `10.9.0.${n}/24`, 'dev', dev);
      ip('-n', ns, '-6', 'addr', 'add', `fd00::${n}/64`, 'dev', dev, 'nodad');
      for (const d of ['lo', dev]) ip('-n', ns, 'link', 'set', d, 'up');
    }
    // VLAN interfaces need the kernel's 8021q support (a module a container may not have).
    try {
      for (const [ns, dev, n] of [[this.a, 'pa', '1'], [this.b, 'pb', '2']] as const) {
        ip('-n', ns, 'link', 'add', 'link', dev, 'name', `${dev}.5`, 'type', 'vlan', 'id', '5');
        ip('-n', ns, 'addr', 'add', `10.9.5.${n}/24`, 'dev', `${dev}.5`);
        ip('-n', ns, 'link', 'set', `${dev}.5`, 'up');
      }
      this.vlan = true;
    } catch {
      this.vlan = false;
    }
  }

  /** Whether the vlan interfaces pa.5 and pb.5 exist (8021q support). */
  vlan = false;

  tearDown(): void {
    for (const ns of [this.a, this.b]) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000, env: toolEnv() });
  }

  /** `ip -d link show DEV` in namespace a: the device's promiscuity count. */
  promiscuity(dev = 'pa'): number {
    const m = /promiscuity (\d+)/.exec(ip('-n', this.a, '-d', 'link', 'show', dev));
    if (!m) throw new Error('ip -d link show printed no promiscuity');
    return Number(m[1]);
  }
}

/** Source of a snippet that sends `n` UDP datagrams of `size` bytes from one socket (one flow) to HOST:PORT. */
export function udpFlood(host: string, port: number, n: number, size = 32, bindDev?: string): string {
  return `
    const fam = ${JSON.stringify(host)}.includes(':') ? c.AF_INET6 : c.AF_INET;
    const s = k.Socket.create(fam, 'SOCK_DGRAM');
    ${bindDev ? `s.setsockopt('SOL_SOCKET', 'SO_BINDTODEVICE', ${JSON.stringify(bindDev)});` : ''}
    try {
      for (let i = 0; i < ${n}; i++) await s.sendmsg({ data: Buffer.alloc(${size}, i & 0xff), to: { family: fam, address: ${JSON.stringify(host)}, port: ${port} } });
    } finally { await s.close(); }
    return ${n};`;
}
