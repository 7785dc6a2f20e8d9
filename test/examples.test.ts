// The runnable examples work as the README says (`npm start`).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { k, capEff } from './helpers';

const root = join(__dirname, '..');
const caps = capEff();
/** CAP_NET_ADMIN and CAP_SYS_ADMIN, and ip(8): what the namespace examples need. */
const hasNsCaps = ((caps >> 12n) & (caps >> 21n) & 1n) === 1n && spawnSync('ip', ['-V'], { timeout: 5000 }).status === 0;
const monNs = `ksock-${process.pid}-mon`;

describe('examples/', () => {
  it('tour.mjs shows the states, a connect/tsleep loop and MSG_DONTWAIT', () => {
    const r = spawnSync(process.execPath, [join(root, 'examples', 'tour.mjs')], { encoding: 'utf8', timeout: 20_000, cwd: root });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/soconnect returned\s+Socket<AF_INET SOCK_STREAM fd=\d+ SS_ISCONNECTING/);
    expect(out).toMatch(/connected\s+Socket<AF_INET SOCK_STREAM fd=\d+ SS_ISCONNECTED\|SS_ISBOUND/);
    expect(out).toContain('"hello, kernel face"');
    expect(out).toMatch(/MSG_DONTWAIT, nothing queued soreceive -> number EAGAIN/);
    expect(out).toMatch(/so_error = ECONNREFUSED/);
    expect(out).toMatch(/after soclose \(twice\)\s+Socket<AF_INET SOCK_STREAM fd=-1 SS_NOFDREF/);
  });
});

function runExample(name: string, args: string[] = []) {
  const r = spawnSync(process.execPath, [join(root, 'examples', name), ...args], { encoding: 'utf8', timeout: 20_000, cwd: root });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

describe('examples/, each as the README shows it', () => {
  it('idiomatic.mjs: an echo server and client with promises and for-await', () => {
    const out = runExample('idiomatic.mjs');
    expect(out).toContain('reply: HELLO, KSOCK');
    expect(out).toContain('after EOF a receive returns 0 bytes');
    expect(out).toContain('sending after shutdown(SHUT_WR): sendmsg EPIPE');
  });

  it('fd-passing.mjs: the descriptor arrives, is claimed, and reads the file', () => {
    const out = runExample('fd-passing.mjs');
    expect(out).toMatch(/claimed before reading fds: false\nclaimed after: true - received descriptor \d+\nread: contents reached through a passed descriptor/);
  });

  it('udp-destination.mjs: destinations 127.0.0.2 and .3, replies from them', () => {
    const out = runExample('udp-destination.mjs');
    expect(out).toMatch(/arrived for 127\.0\.0\.2\n\s+"reply from 127\.0\.0\.2" came from 127\.0\.0\.2/);
    expect(out).toMatch(/arrived for 127\.0\.0\.3\n\s+"reply from 127\.0\.0\.3" came from 127\.0\.0\.3/);
  });

  it('netlink-links.mjs: lo first, as the kernel numbers it, and every link ip lists', () => {
    const out = runExample('netlink-links.mjs');
    if (!k.features.af_netlink) return void expect(out).toContain('no netlink');
    expect(out.split('\n')[0]).toMatch(/^1: lo UP mtu 65536 state UNKNOWN link\/loopback 00:00:00:00:00:00$/);
    const ip = spawnSync('ip', ['-j', 'link'], { encoding: 'utf8', timeout: 10_000 });
    if (ip.status !== 0) return;
    const names = (JSON.parse(ip.stdout) as Array<{ ifindex: number; ifname: string }>).map((l) => `${l.ifindex}: ${l.ifname}`);
    expect(out.trim().split('\n').map((l) => /^\d+: [^\s@]+/.exec(l)?.[0])).toEqual(names);
  });

  it('netlink-routes.mjs: every route of every table, as ip route show table all prints it', () => {
    const out = runExample('netlink-routes.mjs');
    if (!k.features.af_netlink) return void expect(out).toContain('no netlink');
    const ip = spawnSync('ip', ['route', 'show', 'table', 'all'], { encoding: 'utf8', timeout: 10_000 });
    if (ip.status !== 0) return void expect(out).toMatch(/dev lo table local proto kernel scope host src 127\.0\.0\.1/);
    expect(out.split('\n')).toEqual(ip.stdout.split('\n').map((l) => l.trimEnd()));
  });

  it('netlink-monitor.mjs: a timeout ends it when nothing changes', () => {
    const out = runExample('netlink-monitor.mjs', ['1', '0.3']);
    if (!k.features.af_netlink) return void expect(out).toContain('no netlink');
    expect(out).toMatch(/^watching \d+ links for 1 changes or 0\.3 s\n0\.3 s passed: 0 changes\n$/);
  });

  it.runIf(hasNsCaps)('netlink-monitor.mjs NETNS: new and changed links as ip makes them, then exits after COUNT', async () => {
    spawnSync('ip', ['netns', 'add', monNs], { timeout: 10_000 });
    try {
      const child = spawn(process.execPath, [join(root, 'examples', 'netlink-monitor.mjs'), '3', '15', monNs], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '', err = '', code: number | null | undefined;
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (err += d));
      child.on('close', (c) => (code = c));
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      for (let i = 0; i < 100 && !out.startsWith('watching'); i++) await sleep(50);
      // Once subscribed, a change of lo's MTU shows as a changed link (each step waits 1 s for it; at most 20 steps),
      // then the veth pair as two new links.
      for (let i = 0; i < 20 && !/changed 1: lo/.test(out); i++) {
        spawnSync('ip', ['-n', monNs, 'link', 'set', 'lo', 'mtu', String(65000 + i)], { timeout: 10_000 });
        for (let j = 0; j < 20 && !/changed 1: lo/.test(out); j++) await sleep(50);
      }
      spawnSync('ip', ['-n', monNs, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb'], { timeout: 10_000 });
      for (let i = 0; i < 100 && code === undefined; i++) await sleep(50);
      if (code === undefined) child.kill('SIGKILL');
      for (let i = 0; i < 40 && code === undefined; i++) await sleep(50);
      expect(err).toBe('');
      expect(code).toBe(0);
      const lines = out.trim().split('\n');
      expect(lines[0]).toBe(`watching 1 links in ${monNs} for 3 changes or 15 s`);
      expect(lines[1]).toMatch(/^changed 1: lo <LOOPBACK> mtu 650\d\d state DOWN$/);
      // M-DOWN: the peer is down (ip prints it too); whether it shows depends on which end the kernel announces first.
      expect(lines).toContainEqual(expect.stringMatching(/^new \d+: vb <BROADCAST,MULTICAST(,M-DOWN)?> mtu 1500 state DOWN$/));
      // (a second step of lo's MTU, seen late, would take va's place as the third change)
      if (!/changed 1: lo/.test(lines[2]!)) expect(lines[3]).toMatch(/^new \d+: va@vb <BROADCAST,MULTICAST(,M-DOWN)?> mtu 1500 state DOWN$/);
      expect(lines.at(-1)).toBe('3 changes');
    } finally {
      spawnSync('ip', ['netns', 'del', monNs], { timeout: 10_000 });
    }
  }, 30_000);

  it('topology-test.mjs: a node:test file whose network Topology builds and removes', () => {
    const out = runExample('topology-test.mjs');
    if (hasNsCaps) {
      expect(out).toMatch(/^# pass 3$/m);
      expect(out).toMatch(/^# fail 0$/m);
      expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 }).stdout).not.toMatch(/ksock-\d+-\d+-(client|router|server)/);
    } else {
      expect(out).toMatch(/^# skipped 3$/m);
      expect(out).toContain('needs CAP_NET_ADMIN and CAP_SYS_ADMIN');
    }
  });

  it('errqueue.mjs: ECONNREFUSED, reported by 127.0.0.1', () => {
    const out = runExample('errqueue.mjs');
    if (k.constants.IP_RECVERR === undefined) return;
    expect(out).toMatch(/failed: ECONNREFUSED\n\s+reported by 127\.0\.0\.1 \(ICMP type 3 code 3\)/);
  });

  it('ping.mjs: an echo reply with raw sockets, a clear word without', () => {
    const out = runExample('ping.mjs');
    if (k.features.raw_sockets) expect(out).toMatch(/^echo reply from 127\.0\.0\.1: ttl=64 time=[\d.]+ ms/);
    else expect(out).toMatch(/needs CAP_NET_RAW/);
  });
});

describe('dist/', () => {
  it('is importable from ESM and from CommonJS, with the same exports', () => {
    const esm = spawnSync(process.execPath, ['--input-type=module', '-e',
      "import * as k from 'ksock'; import d from 'ksock'; console.log(JSON.stringify([typeof k.socreate, typeof d.soreceive, Object.keys(k).length]))"],
      { encoding: 'utf8', cwd: root, timeout: 10_000 });
    const cjs = spawnSync(process.execPath, ['-e',
      "const k = require('ksock'); console.log(JSON.stringify([typeof k.socreate, typeof k.soreceive, Object.keys(k).length + 1]))"],
      { encoding: 'utf8', cwd: root, timeout: 10_000 });
    expect(esm.stderr).toBe('');
    expect(cjs.stderr).toBe('');
    const e = JSON.parse(esm.stdout), c = JSON.parse(cjs.stdout);
    expect(e[0]).toBe('function');
    expect(e[1]).toBe('function');
    expect(c[0]).toBe('function');
    // ESM has the named exports plus `default`.
    expect(e[2]).toBe(c[2]);
  });
});

describe.runIf(!process.env.KSOCK_NATIVE)('npm run docs (checked once, in the default-build pass)', () => {
  it('typedoc builds the API reference, kernel face and idiomatic face included', async () => {
    const out = require('node:fs').mkdtempSync(join(require('node:os').tmpdir(), 'ksock-docs-'));
    try {
      // Asynchronously: a minute of spawnSync would block this worker past vitest's RPC timeout ("Timeout calling onTaskUpdate").
      const r = await new Promise<{ status: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout!.on('data', (d) => (output += d));
        child.stderr!.on('data', (d) => (output += d));
        const t = setTimeout(() => child.kill('SIGKILL'), 120_000);
        child.on('close', (status) => { clearTimeout(t); resolve({ status, output }); });
      });
      expect(r.status, r.output).toBe(0);
      const fs = require('node:fs') as typeof import('node:fs');
      const fns = fs.readdirSync(join(out, 'functions'));
      expect(fns).toEqual(expect.arrayContaining(['socreate.html', 'soreceive.html', 'sockopt_init.html', 'tsleep.html']));
      expect(fs.readFileSync(join(out, 'functions', 'sosend.html'), 'utf8')).toContain('sosend(9)');
      expect(fs.readdirSync(join(out, 'classes'))).toEqual(expect.arrayContaining(['Socket.html', 'SocketError.html', 'Sockopt.html', 'Uio.html']));
    } finally {
      require('node:fs').rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
