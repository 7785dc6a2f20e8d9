// ksock ping's ICMP error lines, against iputils ping as the independent peer,
// in two network namespaces this file creates and always removes:
//
//   [client] va 10.0.0.2/24, fd00::2/64 ---- vb 10.0.0.1/24, fd00::1/64 [router]
//
// The router forwards and answers for 10.99.0.0/16 and fd99::/16 according to
// the route each test installs. Each test gets a fresh pair: the router's
// ICMP errors for a route failure are rate-limited per source address
// (net.ipv4.route.error_burst, 5, then one a second, a host-wide setting),
// and a new namespace starts with a full bucket.
// Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN) and ip(8).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capEff } from './helpers';

const bin = join(__dirname, '..', 'bin', 'ksock.mjs');
const client = `ksock-${process.pid}-c`, router = `ksock-${process.pid}-r`;

const caps = capEff();
const hasCaps = ((caps >> 12n) & 1n) === 1n && ((caps >> 21n) & 1n) === 1n; // CAP_NET_ADMIN, CAP_SYS_ADMIN
const hasIp = spawnSync('ip', ['-V'], { timeout: 5000 }).status === 0;
const hasPing = spawnSync('ping', ['-V'], { timeout: 5000 }).status === 0;
const hasSetpriv = spawnSync('setpriv', ['--version'], { timeout: 5000 }).status === 0;
const why = !hasCaps ? 'skipped: needs CAP_NET_ADMIN and CAP_SYS_ADMIN' : !hasIp ? 'skipped: no ip(8)' : 'runs as root with ip(8)';

const ip = (...args: string[]) => execFileSync('ip', args, { timeout: 10_000, stdio: ['ignore', 'ignore', 'pipe'] });
const inRouter = (...args: string[]) => execFileSync('ip', ['netns', 'exec', router, ...args], { timeout: 10_000, stdio: ['ignore', 'ignore', 'pipe'] });

/** Runs a command in the client namespace. */
function fromClient(cmd: string, args: string[]) {
  return spawnSync('ip', ['netns', 'exec', client, cmd, ...args], { encoding: 'utf8', timeout: 30_000 });
}
const ksock = (...args: string[]) => fromClient(process.execPath, [bin, 'ping', ...args]);
const iputils = (...args: string[]) => fromClient('ping', ['-n', ...args]);

/** The lines a user reads, with the varying numbers blanked. */
const shape = (out: string) => out.trim().split('\n').map((l) => l.replace(/time \d+ms/, 'time Nms').replace(/time=[\d.]+ ms/, 'time=N ms'));

describe.runIf(hasCaps && hasIp)(`ksock ping: ICMP errors from a router (two network namespaces; ${why})`, () => {
  beforeEach(() => {
    for (const ns of [client, router]) ip('netns', 'add', ns);
    ip('link', 'add', 'va', 'netns', client, 'type', 'veth', 'peer', 'name', 'vb', 'netns', router);
    ip('-n', client, 'addr', 'add', '10.0.0.2/24', 'dev', 'va');
    ip('-n', router, 'addr', 'add', '10.0.0.1/24', 'dev', 'vb');
    ip('-n', client, '-6', 'addr', 'add', 'fd00::2/64', 'dev', 'va', 'nodad');
    ip('-n', router, '-6', 'addr', 'add', 'fd00::1/64', 'dev', 'vb', 'nodad');
    for (const [ns, dev] of [[client, 'va'], [router, 'vb'], [client, 'lo'], [router, 'lo']]) ip('-n', ns!, 'link', 'set', dev!, 'up');
    ip('-n', client, 'route', 'add', 'default', 'via', '10.0.0.1');
    ip('-n', client, '-6', 'route', 'add', 'default', 'via', 'fd00::1');
    // Forward, and answer every packet: no ICMP rate limit (it would make the count depend on what ran before).
    for (const s of ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0']) {
      inRouter('sysctl', '-qw', s);
    }
  });

  afterEach(() => {
    for (const ns of [client, router]) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  });

  it('no route on the router: "From 10.0.0.1 icmp_seq=N Destination Net Unreachable", +2 errors, exit 1', () => {
    const r = ksock('10.99.0.1', '-c', '2', '-i', '0.2');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    expect(shape(r.stdout)).toEqual([
      'PING 10.99.0.1 (10.99.0.1) 56(84) bytes of data.',
      'From 10.0.0.1 icmp_seq=1 Destination Net Unreachable',
      'From 10.0.0.1 icmp_seq=2 Destination Net Unreachable',
      '',
      '--- 10.99.0.1 ping statistics ---',
      '2 packets transmitted, 0 received, +2 errors, 100% packet loss, time Nms',
    ]);
    if (hasPing) expect(shape(r.stdout)).toEqual(shape(iputils('10.99.0.1', '-c', '2', '-i', '0.2').stdout));
  });

  it('an unreachable route: "Destination Host Unreachable", as iputils prints it', () => {
    inRouter('ip', 'route', 'replace', 'unreachable', '10.99.0.0/16');
    try {
      const r = ksock('10.99.0.1', '-c', '1');
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('\nFrom 10.0.0.1 icmp_seq=1 Destination Host Unreachable\n');
      expect(r.stdout).toMatch(/\n1 packets transmitted, 0 received, \+1 errors, 100% packet loss, time \d+ms\n$/);
      if (hasPing) expect(shape(r.stdout)).toEqual(shape(iputils('10.99.0.1', '-c', '1').stdout));
    } finally {
      inRouter('ip', 'route', 'del', 'unreachable', '10.99.0.0/16');
    }
  });

  it('-t 1 through the router: "Time to live exceeded"', () => {
    inRouter('ip', 'route', 'replace', '10.99.0.0/16', 'via', '10.0.0.2'); // a route: forwarded, so the TTL runs out there
    try {
      const r = ksock('10.99.0.1', '-c', '1', '-t', '1');
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('\nFrom 10.0.0.1 icmp_seq=1 Time to live exceeded\n');
      if (hasPing) expect(shape(r.stdout)).toEqual(shape(iputils('10.99.0.1', '-c', '1', '-t', '1').stdout));
    } finally {
      inRouter('ip', 'route', 'del', '10.99.0.0/16');
    }
  });

  it('IPv6, no route: "From fd00::1 icmp_seq=1 Destination unreachable: No route"', () => {
    const r = ksock('fd99::1', '-c', '1');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^PING fd99::1\(fd99::1\) 56 data bytes\n/);
    expect(r.stdout).toContain('\nFrom fd00::1 icmp_seq=1 Destination unreachable: No route\n');
    expect(r.stdout).toContain('\n1 packets transmitted, 0 received, +1 errors, 100% packet loss');
    if (hasPing) expect(shape(r.stdout)).toEqual(shape(iputils('fd99::1', '-c', '1').stdout));
  });

  it.runIf(hasSetpriv)('as uid 65534 with an unprivileged ICMP socket (ping_group_range opened in the client namespace): replies and errors', () => {
    execFileSync('ip', ['netns', 'exec', client, 'sysctl', '-qw', 'net.ipv4.ping_group_range=0 2147483647'], { timeout: 10_000 });
    const asNobody = (...args: string[]) =>
      fromClient('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, bin, 'ping', ...args]);
    const ok = asNobody('10.0.0.1', '-c', '2', '-i', '0.2');
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^PING 10\.0\.0\.1 \(10\.0\.0\.1\) 56\(84\) bytes of data\. \(ksock: unprivileged ICMP socket\)\n64 bytes from 10\.0\.0\.1: icmp_seq=1 ttl=64 time=[\d.]+ ms\n64 bytes from 10\.0\.0\.1: icmp_seq=2 ttl=64 time=/);
    const bad = asNobody('10.99.0.1', '-c', '1');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('\nFrom 10.0.0.1 icmp_seq=1 Destination Net Unreachable\n');
  });

  it('replies across the link still print as iputils does (and time from kernel stamps)', () => {
    const r = ksock('10.0.0.1', '-c', '2', '-i', '0.2');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\n64 bytes from 10\.0\.0\.1: icmp_seq=1 ttl=64 time=[\d.]+ ms\n/);
    if (hasPing) expect(shape(r.stdout).slice(0, -1)).toEqual(shape(iputils('10.0.0.1', '-c', '2', '-i', '0.2').stdout).slice(0, -1));
  });
});
