// The runnable examples work as the README says (`npm start`).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { k } from './helpers';

const root = join(__dirname, '..');

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

  it('netlink-links.mjs: lists lo first, as the kernel numbers it', () => {
    const out = runExample('netlink-links.mjs');
    if (k.features.af_netlink) expect(out.split('\n')[0]).toMatch(/^1: lo UP$/);
    else expect(out).toContain('no netlink');
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
  it('typedoc builds the API reference, kernel face and idiomatic face included', () => {
    const out = require('node:fs').mkdtempSync(join(require('node:os').tmpdir(), 'ksock-docs-'));
    try {
      const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stdout + r.stderr).toBe(0);
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
