// The ksock command, as a user runs it on a CI runner.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { k } from './helpers';

const bin = join(__dirname, '..', 'bin', 'ksock.mjs');
const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
const run = (args: string[], opts: { uid?: number; gid?: number; node?: string[] } = {}) =>
  spawnSync(process.execPath, [...(opts.node ?? []), bin, ...args], { encoding: 'utf8', timeout: 30_000, uid: opts.uid, gid: opts.gid });
/** As `run`, without blocking this worker: for tests that run many commands (all at once). */
function runAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}
const hasPing = spawnSync('ping', ['-V'], { timeout: 5000 }).status === 0;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const times = (out: string) => [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
/** The lines a user reads, with the numbers that vary from run to run blanked. */
const shape = (out: string) => out.trim().split('\n')
  .map((l) => l.replace(/time \d+ms/, 'time Nms').replace(/time=[\d.]+ ms/, 'time=N ms').replace(/= [\d./]+ ms$/, '= N ms'));

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
  return { child, up, done, output: () => ({ out, err }) };
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

  it('--json lists every kernel probe with yes/no and a reason', () => {
    const r = run(['doctor', '--json']);
    const { probes, controlMessageProbes } = JSON.parse(r.stdout);
    for (const name of ['ipv4', 'ipv6', 'raw', 'packet', 'icmp', 'ping', 'gro', 'timestamping', 'pidfd', 'vsock', 'mptcp', 'sctp', 'netns']) {
      expect(probes[name], name).toEqual({ ok: expect.any(Boolean), reason: expect.any(String) });
    }
    for (const p of Object.values(controlMessageProbes)) expect(p).toEqual({ ok: expect.any(Boolean), reason: expect.any(String) });
    expect(probes.ipv4).toEqual({ ok: true, reason: 'socket(AF_INET, SOCK_DGRAM) accepted' });
    expect(probes.raw.ok).toBe(k.features.raw_sockets);
    expect(probes.icmp.ok).toBe(k.features.icmp_dgram);
    expect(probes.icmp.reason).toMatch(/^net\.ipv4\.ping_group_range = \d+ \d+( \(empty\))? (includes|excludes) /);
    if (k.constants.SO_PEERPIDFD === undefined) expect(probes.pidfd).toEqual({ ok: false, reason: "SO_PEERPIDFD not in this build's headers" });
    if (k.constants.UDP_GRO !== undefined && probes.gro.ok) expect(probes.gro.reason).toBe('setsockopt UDP_GRO accepted');
  });

  it('--require: exit 0 when every named probe says yes, 1 naming the missing one, 2 for a name that is no probe', () => {
    const ok = run(['doctor', '--require', 'ipv4,SCM_RIGHTS']);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toBe('');
    const { probes } = JSON.parse(run(['doctor', '--json']).stdout) as { probes: Record<string, { ok: boolean; reason: string }> };
    const absent = Object.entries(probes).find(([, p]) => !p.ok);
    if (absent) {
      const r = run(['doctor', '--require', `ipv4,${absent[0]}`, '--json']);
      expect(r.status).toBe(1);
      expect(JSON.parse(r.stdout).required).toEqual({ names: ['ipv4', absent[0]], missing: [absent[0]] });
      expect(r.stderr).toBe(`ksock: doctor: required but missing: ${absent[0]} (${absent[1].reason})\n`);
    }
    const bad = run(['doctor', '--require', 'warp-drive']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^ksock: --require: no probe named 'warp-drive' \(probes: ipv4, /);
  });

  it.runIf(existsSync('/proc/self/fd'))('closes every socket it opens (listed at exit by a preloaded hook, from /proc/self/fd)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksock-doctor-'));
    try {
      const hook = join(dir, 'hook.cjs');
      // Sockets open before ksock runs (stdio from spawnSync are socketpairs) are not counted.
      writeFileSync(hook, `const fs = require('node:fs');
        const sockets = () => fs.readdirSync('/proc/self/fd').flatMap((fd) => {
          try { const l = fs.readlinkSync('/proc/self/fd/' + fd); return l.startsWith('socket:') ? [fd + ' ' + l] : []; } catch { return []; }
        });
        const before = new Set(sockets());
        process.on('exit', () => fs.writeSync(2, 'sockets left open: ' + JSON.stringify(sockets().filter((s) => !before.has(s))) + '\\n'));`);
      const r = run(['doctor'], { node: ['-r', hook] });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('sockets left open: []\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints a table', () => {
    const r = run(['doctor']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ksock doctor — /);
    expect(r.stdout).toMatch(/families and socket types\n\s+AF_UNIX\s+SOCK_STREAM: yes/);
    expect(r.stdout).toContain('privileges');
    expect(r.stdout).toMatch(/\n  gro +(yes  setsockopt UDP_GRO accepted|no   .+)\n/);
  });
});

describe('help, version, usage', () => {
  it('ksock --help, ksock help and no arguments print the usage to stdout, exit 0', async () => {
    const all = [['--help'], ['-h'], ['help'], []];
    const results = await Promise.all(all.map(runAsync));
    for (const [i, args] of all.entries()) {
      const r = results[i]!;
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^ksock ${pkg.version.replace(/\./g, '\\.')} — real sockets from Node\\.js\n`));
      for (const cmd of ['doctor', 'ping', 'recv', 'send', 'fd-recv', 'fd-send', 'capture']) expect(r.stdout).toContain(`  ksock ${cmd} `);
    }
  }, 60_000); // many processes at once: a loaded machine starts them slowly

  it('each command\'s help, as `ksock help CMD`, `ksock CMD --help` and `ksock CMD -h` (even after a bad option)', async () => {
    for (const cmd of ['doctor', 'ping', 'recv', 'send', 'fd-recv', 'fd-send', 'capture']) {
      const all = [['help', cmd], [cmd, '--help'], [cmd, '-h'], [cmd, '--bogus', '--help']];
      const outs = (await Promise.all(all.map(runAsync))).map((r, i) => {
        expect(r.status, all[i]!.join(' ')).toBe(0);
        expect(r.stderr).toBe('');
        return r.stdout;
      });
      expect(outs[0]).toMatch(new RegExp(`^usage: ksock ${cmd}( |\n)`));
      expect(new Set(outs).size).toBe(1);
    }
    expect(run(['ping', '--help']).stdout).toContain('  -c N ');
  }, 60_000); // many processes at once: a loaded machine starts them slowly

  it('--version prints the package version', () => {
    const r = run(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`ksock ${pkg.version}\n`);
  });

  it('usage errors name the option and the value, add the command\'s usage line, exit 2', async () => {
    const cases: [string[], string][] = [
      [['send', 'udp:127.0.0.1:9', 'hi', '--src', 'foo'], "ksock: --src: 'foo' is not an IP address"],
      [['send', 'udp:127.0.0.1:9', 'hi', '--src', '::1'], "ksock: --src: '::1' is an IPv6 address, but udp:127.0.0.1:9 is IPv4"],
      [['send', 'udp:127.0.0.1:9', 'hi', '--ttl', '300'], "ksock: --ttl: '300' is not an integer from 1 to 255"],
      [['send', 'udp:127.0.0.1:9', 'hi', '--tos=x'], "ksock: --tos: 'x' is not an integer from 0 to 255"],
      [['send', '-6', 'udp:127.0.0.1:9', 'hi'], "ksock: -6: '127.0.0.1' is not an IPv6 address"],
      [['send', '-4', 'udp6:[::1]:9', 'hi'], "ksock: -4 conflicts with 'udp6:' in udp6:[::1]:9"],
      [['send', 'udp:127.0.0.1:99999', 'hi'], "ksock: udp:127.0.0.1:99999: '99999' is not a port (0..65535)"],
      [['ping', '-c', 'x', '127.0.0.1'], "ksock: -c: 'x' is not a positive integer"],
      [['ping', '--count=0', '127.0.0.1'], "ksock: --count: '0' is not a positive integer"],
      [['ping', '--interval=-1', '127.0.0.1'], "ksock: --interval: '-1' is not a number of seconds >= 0"],
      [['ping', '-i', '-1', '127.0.0.1'], "ksock: -i: a value is required (one that starts with '-' is written -i-…)"],
      [['doctor', '--json=yes'], 'ksock: --json: takes no value'],
      [['ping', '-W', '0', '127.0.0.1'], "ksock: -W: '0' is not a number of seconds > 0"],
      [['ping', '-4', '::1'], "ksock: -4: '::1' is not an IPv4 address"],
      [['ping', '-c'], 'ksock: -c: a value is required'],
      [['ping', '--bogus', '127.0.0.1'], "ksock: unknown option '--bogus'"],
      [['ping', 'a', 'b'], "ksock: unexpected argument 'b'"],
      [['recv', 'udp:127.0.0.1:0', '-n', 'many'], "ksock: -n: 'many' is not a positive integer"],
      [['recv', 'tcp:1.2.3.4:5'], "ksock: 'tcp:1.2.3.4:5' is not an address (udp:HOST:PORT, udp6:[HOST]:PORT, unix:/path, unix:@name)"],
      [['bogus'], "ksock: unknown command 'bogus' (commands: doctor, ip, ping, recv, send, fd-recv, fd-send, capture)"],
      [['help', 'bogus'], "ksock: no command 'bogus' (commands: doctor, ip, ping, recv, send, fd-recv, fd-send, capture)"],
    ];
    const results = await Promise.all(cases.map(([args]) => runAsync(args)));
    for (const [i, [args, first]] of cases.entries()) {
      const r = results[i]!;
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines[0], args.join(' ')).toBe(first);
      expect(lines.slice(1), args.join(' ')).toEqual([expect.stringMatching(/^usage: ksock [a-z-]+ .*\(ksock help [a-z-]+\)$|^usage: ksock COMMAND … \(ksock help\)$/)]);
    }
  }, 60_000); // many processes at once: a loaded machine starts them slowly

  it('a name that does not resolve is one line, exit 2 (as ping(8))', () => {
    const r = run(['send', 'udp:no-such-host.invalid:9', 'hi']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("ksock: cannot resolve 'no-such-host.invalid': no such host\n");
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

  it.runIf(k.features.ipv6)('ping ::1 prints the hop limit as iputils does (ttl=)', () => {
    const r = run(['ping', '::1', '-c', '1']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^PING ::1\(::1\) 56 data bytes\n64 bytes from ::1: icmp_seq=1 ttl=\d+ time=[\d.]+ ms\n/);
  });

  it('a hostname: "PING localhost (127.0.0.1)", replies "from localhost (127.0.0.1)"; -4 is honoured', () => {
    const r = run(['ping', '-4', 'localhost', '-c', '1']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^PING localhost \(127\.0\.0\.1\) 56\(84\) bytes of data\.\n64 bytes from localhost \(127\.0\.0\.1\): icmp_seq=1 ttl=64 time=/);
  });

  it.runIf(hasPing)('the same lines as iputils ping, for 127.0.0.1, ::1 and localhost', () => {
    for (const [host, fam] of [['127.0.0.1', '-4'], ['::1', '-6'], ['localhost', '-4']] as const) {
      if (fam === '-6' && !k.features.ipv6) continue;
      const ours = run(['ping', fam, host, '-c', '3', '-i', '0.2']);
      const theirs = spawnSync('ping', [fam, host, '-c', '3', '-i', '0.2'], { encoding: 'utf8', timeout: 30_000 });
      expect(ours.status, host).toBe(0);
      expect(theirs.status, host).toBe(0);
      expect(shape(ours.stdout), host).toEqual(shape(theirs.stdout));
    }
  });

  it.runIf(hasPing)('round trips from kernel timestamps: on loopback the median is well under a millisecond, as iputils measures', () => {
    const ours = run(['ping', '127.0.0.1', '-c', '5', '-i', '0.05']);
    const theirs = spawnSync('ping', ['-n', '127.0.0.1', '-c', '5', '-i', '0.05'], { encoding: 'utf8', timeout: 30_000 });
    expect(ours.stdout).not.toContain('process clock'); // no fallback note: both ends are kernel timestamps
    const a = times(ours.stdout), b = times(theirs.stdout);
    expect(a).toHaveLength(5);
    expect(b).toHaveLength(5);
    // A generous bound, never a race: the same order of magnitude as ping(8), both far below 5 ms.
    expect(median(a)).toBeLessThan(5);
    expect(median(b)).toBeLessThan(5);
    expect(a.every((t) => t >= 0)).toBe(true);
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

  it.runIf(existsSync('/proc/sys/net/ipv4/ping_group_range'))('doctor says why unprivileged ICMP is refused: the range and the gid, not "needs privilege" (ping_group_range: Linux)', () => {
    const r = run(['doctor', '--json', '--require', 'ping'], { uid: 65534, gid: 65534 });
    const { probes } = JSON.parse(r.stdout);
    expect(probes.raw).toEqual({ ok: false, reason: 'needs CAP_NET_RAW' });
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number) as [number, number];
    if (65534 >= lo && 65534 <= hi) return; // allowed here: nothing to explain
    expect(probes.icmp.ok).toBe(false);
    expect(probes.icmp.reason).toMatch(new RegExp(`^net\\.ipv4\\.ping_group_range = ${lo} ${hi}( \\(empty\\))? excludes gids? 65534`));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`ksock: doctor: required but missing: ping (no CAP_NET_RAW, and ${probes.icmp.reason})\n`);
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

  it('hostnames wherever an address is: recv udp:localhost:0, send udp:localhost:PORT (-4)', async () => {
    const p = start(['recv', 'udp:localhost:0', '-n', '1', '-4'], /listening on 127\.0\.0\.1:\d+/);
    await p.up;
    const listening = /listening on 127\.0\.0\.1:(\d+)/.exec(p.output().err)![1]; // the port the kernel chose
    const s = run(['send', `udp:localhost:${listening}`, 'by name']);
    expect(s.status).toBe(0);
    expect(s.stderr).toBe(`sent 7 bytes to 127.0.0.1:${listening}\n`);
    const { code, out } = await p.done;
    expect(code).toBe(0);
    expect(out).toMatch(/^from 127\.0\.0\.1:\d+ 7 bytes "by name"/);
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
