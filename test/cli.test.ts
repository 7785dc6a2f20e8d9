// The ksock command, as a user runs it on a CI runner.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { k } from './helpers';

const bin = join(__dirname, '..', 'bin', 'ksock.mjs');
const run = (args: string[], opts: { uid?: number; gid?: number } = {}) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000, ...opts });

/** Starts a long-running ksock; resolves once its stderr shows `ready`. */
function start(args: string[], ready: RegExp) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
  const up = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`not ready: ${err}`)), 10_000);
    const check = () => {
      if (ready.test(err) || ready.test(out)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stderr.on('data', check);
    child.stdout.on('data', check);
  });
  return { child, up, done };
}

const canPing = k.features.raw_sockets || k.features.icmp_dgram;

describe('ksock doctor', () => {
  it('--json reports exactly the library\'s features, and the platform', () => {
    const r = run(['doctor', '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.features).toEqual({ ...k.features });
    expect(report.platform).toMatchObject({ os: process.platform, node: process.version, arch: process.arch });
    expect(report.families.AF_UNIX.SOCK_STREAM).toBe('yes');
    expect(report.controlMessages).toContain('SCM_RIGHTS');
    expect(report.options).toBe(k.sockopts.length);
  });

  it('prints a table', () => {
    const r = run(['doctor']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ksock doctor — /);
    expect(r.stdout).toMatch(/families and socket types\n\s+AF_UNIX\s+SOCK_STREAM: yes/);
    expect(r.stdout).toContain('privileges');
  });
});

describe.runIf(canPing)('ksock ping (needs CAP_NET_RAW or an allowed ping_group_range; skipped without)', () => {
  it('ping 127.0.0.1 -c 3 reports three replies and a summary like ping(8)', () => {
    const r = run(['ping', '127.0.0.1', '-c', '3']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const replies = r.stdout.split('\n').filter((l) => /^\d+ bytes from 127\.0\.0\.1: icmp_seq=\d+ ttl=\d+ time=[\d.]+ ms$/.test(l));
    expect(replies.map((l) => Number(/icmp_seq=(\d+)/.exec(l)![1]))).toEqual([1, 2, 3]);
    expect(r.stdout).toMatch(/3 packets transmitted, 3 received, 0% packet loss, time \d+ms/);
    expect(r.stdout).toMatch(/rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms/);
  });

  it.runIf(k.features.ipv6)('ping ::1 shows the hop limit', () => {
    const r = run(['ping', '::1', '-c', '1']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/bytes from ::1: icmp_seq=1 hlim=\d+ time=/);
  });

  it('Ctrl-C ends a running ping with its summary and a clean exit', async () => {
    const p = start(['ping', '127.0.0.1', '-i', '0.2'], /icmp_seq=2/);
    await p.up;
    p.child.kill('SIGINT');
    const { code, out } = await p.done;
    expect(code).toBe(0);
    expect(out).toMatch(/--- 127\.0\.0\.1 ping statistics ---\n\d+ packets transmitted, \d+ received/);
  });
});

describe.runIf(process.getuid?.() === 0)('errors as an unprivileged user (the test drops to uid 65534; needs root to do so)', () => {
  it('a refused ping is one line naming the missing privilege', () => {
    const r = run(['ping', '127.0.0.1', '-c', '1'], { uid: 65534, gid: 65534 });
    if (k.features.icmp_dgram) return; // the range allows everyone here: nothing is refused
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^ksock: ping E(PERM|ACCES): raw ICMP sockets need CAP_NET_RAW/);
  });
});

describe('ksock recv / send', () => {
  it('a datagram with packet info, TTL and a timestamp, as JSON', async () => {
    const port = 40000 + (process.pid % 20000);
    const p = start(['recv', `udp:127.0.0.1:${port}`, '-n', '1', '--pktinfo', '--ttl', '--timestamp', '--json'], /listening on/);
    await p.up;
    const s = run(['send', `udp:127.0.0.1:${port}`, 'hello ksock', '--ttl', '9']);
    expect(s.status).toBe(0);
    expect(s.stderr).toContain(`sent 11 bytes to 127.0.0.1:${port}`);
    const { code, out, err } = await p.done;
    expect(code).toBe(0);
    const msg = JSON.parse(out.trim());
    expect(msg).toMatchObject({ bytes: 11, data: 'hello ksock', from: { family: k.AF_INET, address: '127.0.0.1' } });
    expect(msg.control).toEqual(expect.arrayContaining([
      expect.objectContaining({ addr: '127.0.0.1', ifindex: k.if_nametoindex('lo') }),
      expect.objectContaining({ ttl: 9 }),
      expect.objectContaining({ sec: expect.any(Number) }),
    ]));
    expect(err).toContain('1 datagram received');
  });

  it.runIf(k.features.unix_abstract)('unix datagrams with credentials, as text', async () => {
    const name = `@ksock-cli-${process.pid}`;
    const p = start(['recv', `unix:${name}`, '-n', '1', '--creds'], /listening on/);
    await p.up;
    const s = run(['send', `unix:${name}`, 'who am i', '--creds']);
    expect(s.status).toBe(0);
    const { code, out } = await p.done;
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^from .* 8 bytes "who am i" creds=pid:${s.pid},uid:${process.getuid!()},gid:${process.getgid!()}`));
  });

  it('bad usage is a one-line error and exit code 2', () => {
    for (const args of [['bogus'], ['recv', 'tcp:1.2.3.4:5'], ['ping'], ['send', 'udp:127.0.0.1:9']]) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^ksock: /);
    }
  });
});

describe.runIf(k.features.unix_abstract)('ksock fd-send / fd-recv', () => {
  it('pass a descriptor between two processes', async () => {
    const name = `@ksock-fd-${process.pid}`;
    const p = start(['fd-recv', name, '--cat'], /waiting on/);
    await p.up;
    const s = run(['fd-send', name, __filename]);
    expect(s.status).toBe(0);
    const { code, out } = await p.done;
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^received fd \\d+: ${__filename.replace(/[.]/g, '\\.')} \\(regular file, \\d+ bytes\\)`));
    expect(out).toContain("describe.runIf(k.features.unix_abstract)('ksock fd-send / fd-recv'"); // --cat printed this very file
  });
});
