// `ksock ip`, against iproute2's ip(8) as the independent peer: the same JSON
// as `ip -j` on every key ip prints, and the same text, on the host (read
// only) and in a network namespace this file creates and always removes:
//
//   [ksock-PID-ip]  va 10.9.0.1/24, 10.9.0.2 peer 10.9.0.3, fd09::1/64 ---- vb (in bridge br0, 10.8.0.1/24)
//                   routes: via a gateway with metrics, a blackhole, table 100, IPv6 via, multipath;
//                   a permanent neighbour; an alias and an alternative name on va
//
// `ksock ip monitor` is checked against `ip monitor` running beside it.
// Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN) and ip(8) for the namespace part.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capEff } from './helpers';

const bin = join(__dirname, '..', 'bin', 'ksock.mjs');
const ns = `ksock-${process.pid}-ip`;

const caps = capEff();
const hasCaps = ((caps >> 12n) & 1n) === 1n && ((caps >> 21n) & 1n) === 1n; // CAP_NET_ADMIN, CAP_SYS_ADMIN
const hasIp = spawnSync('ip', ['-j', 'link', 'show', 'lo'], { timeout: 5000 }).status === 0;
const isLinux = process.platform === 'linux';
const hostWhy = !isLinux ? 'skipped: rtnetlink is Linux-only' : !hasIp ? 'skipped: no ip(8) with -j' : 'ip(8) present';
const nsWhy = !hostWhy.startsWith('ip') ? hostWhy : !hasCaps ? 'skipped: needs CAP_NET_ADMIN and CAP_SYS_ADMIN' : 'runs as root with ip(8)';
const nsOk = nsWhy.startsWith('runs');

type Out = { status: number | null; stdout: string; stderr: string };
/**
 * Runs a command without blocking this worker (a file of spawnSync calls
 * starves vitest's RPC: "Timeout calling onTaskUpdate"); killed after 20 s.
 */
function run(cmd: string, args: string[]): Promise<Out> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}
const ksock = (...args: string[]) => run(process.execPath, [bin, 'ip', ...args]);
const ip = (...args: string[]) => run('ip', args);
/** ksock ip inside the namespace, entered by ip(8) (independent of ksock's own -n). */
const ksockIn = (...args: string[]) => run('ip', ['netns', 'exec', ns, process.execPath, bin, 'ip', ...args]);
async function must(r: Out | Promise<Out>): Promise<string> {
  const o = await r;
  if (o.status !== 0) throw new Error(`exit ${o.status}: ${o.stderr}`);
  return o.stdout;
}

/**
 * ip, then ksock, then ip again, until ip says the same twice (a link coming
 * up or an address leaving DAD between the two would be a false difference):
 * at most 5 rounds.
 */
async function sideBySide(ipRun: () => Promise<Out>, ksockRun: () => Promise<Out>): Promise<{ ip: string; ksock: string }> {
  let last = { ip: '', ksock: '' };
  for (let i = 0; i < 5; i++) {
    const before = await must(ipRun()), ours = await ksockRun(), after = await must(ipRun());
    expect(ours.stderr).toBe('');
    expect(ours.status).toBe(0);
    last = { ip: after, ksock: ours.stdout };
    if (before === after) break;
  }
  return last;
}

describe.runIf(isLinux && hasIp)(`ksock ip on the host, read only (${hostWhy})`, () => {
  for (const args of [['link'], ['addr'], ['route'], ['-6', 'route'], ['route', 'show', 'table', 'all'], ['-4', 'addr'], ['-6', 'addr'],
    ['link', 'show', 'lo']]) {
    it(`ksock ip -j ${args.join(' ')} equals ip -j ${args.join(' ')}, key for key`, async () => {
      const r = await sideBySide(() => ip('-j', ...args), () => ksock('-j', ...args));
      const theirs = JSON.parse(r.ip) as unknown[];
      expect(theirs.length).toBeGreaterThan(0);
      expect(JSON.parse(r.ksock)).toEqual(theirs);
    });
  }

  it('ksock ip link: the first line for lo has the fields ip prints, in its order', async () => {
    const r = await sideBySide(() => ip('link', 'show', 'lo'), () => ksock('link', 'show', 'lo'));
    const first = (s: string) => s.split('\n')[0]!;
    expect(first(r.ksock)).toMatch(/^1: lo: <LOOPBACK[A-Z_,]*> mtu \d+ qdisc \S+ state [A-Z]+ mode DEFAULT group default qlen \d+$/);
    expect(first(r.ksock)).toBe(first(r.ip));
    expect(r.ksock).toBe(r.ip);
  });

  it('ksock ip addr and ip route print the text ip prints', async () => {
    for (const args of [['addr'], ['route'], ['-6', 'route'], ['route', 'show', 'table', 'all']]) {
      const r = await sideBySide(() => ip(...args), () => ksock(...args));
      expect(r.ksock, args.join(' ')).toBe(r.ip);
    }
  });

  it('abbreviations as ip takes them: ip a, ip r, ip l, ip ro sh', async () => {
    const l = await sideBySide(() => ip('-j', 'l'), () => ksock('-j', 'l'));
    expect(JSON.parse(l.ksock)).toEqual(JSON.parse(l.ip));
    const r = await sideBySide(() => ip('-j', 'ro', 'sh'), () => ksock('-j', 'ro', 'sh'));
    expect(JSON.parse(r.ksock)).toEqual(JSON.parse(r.ip));
  });

  it('a device that does not exist: exit 1, named', async () => {
    const r = await ksock('link', 'show', 'dev', 'ksocknosuch0');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('ksock: ip: device "ksocknosuch0" does not exist\n');
    expect((await ip('link', 'show', 'dev', 'ksocknosuch0')).status).not.toBe(0);
  });
});

describe('ksock ip: bad usage exits 2 with a message that names the mistake', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /ip: an object is required/],
    [['frob'], /ip: unknown object 'frob'/],
    [['link', 'add', 'x', 'type', 'dummy'], /ip link add: ksock ip only shows/],
    [['route', 'show', 'via', '10.0.0.1'], /ip route: unknown argument 'via' \(dev IF, table T\)/],
    [['addr', 'show', 'table', 'main'], /ip addr: unknown argument 'table'/],
    [['route', 'show', 'table', 'nosuch'], /ip route: table 'nosuch' is not a table/],
    [['link', 'show', 'dev'], /ip link: 'dev' needs a value/],
    [['-4', '-6', 'route'], /ip: -4 and -6 cannot both be given/],
    [['--frob', 'link'], /unknown option '--frob'/],
    [['-n'], /-n: a value is required/],
    [['-n', 'a/b', 'link'], /ip -n: 'a\/b' is not a namespace name/],
    [['monitor', 'frob'], /ip monitor: unknown object 'frob'/],
    [['link', 'show', 'lo', 'eth0'], /more than one device/],
  ];
  for (const [args, msg] of cases) {
    it(`ksock ip ${args.join(' ')}`, async () => {
      const r = await ksock(...args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).toContain('usage: ksock ip ');
    });
  }

  it('-n with a namespace that does not exist: exit 1, named', async () => {
    const r = await ksock('-n', `ksock-${process.pid}-none`, 'link');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot open network namespace "ksock-${process.pid}-none"`);
  });

  it('-n with a file that is not a namespace: exit 1, named', async () => {
    const r = await ksock('-n', '/proc/self/status', 'link');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('ksock: ip -n: /proc/self/status is not a network namespace (setns EINVAL)\n');
  });

  it('ksock help ip describes the subcommand', async () => {
    const r = await run(process.execPath, [bin, 'help', 'ip']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: ksock ip \[-n NETNS\]/);
    const all = await run(process.execPath, [bin, 'help']);
    expect(all.stdout).toContain('ksock ip [-n NETNS]');
  });
});

describe.runIf(nsOk)(`ksock ip in a network namespace (${nsWhy})`, () => {
  let nsWired = false;
  let hasAltnames = false;

  beforeAll(async () => {
    const setup = (...args: string[]) => {
      const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
      if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    };
    setup('netns', 'add', ns);
    // No duplicate address detection: addresses are final at once.
    for (const s of ['net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0']) setup('netns', 'exec', ns, 'sysctl', '-qw', s);
    setup('-n', ns, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    setup('-n', ns, 'link', 'add', 'br0', 'type', 'bridge');
    setup('-n', ns, 'link', 'set', 'vb', 'master', 'br0');
    setup('-n', ns, 'link', 'set', 'va', 'alias', 'the ksock side');
    for (const d of ['lo', 'va', 'vb', 'br0']) setup('-n', ns, 'link', 'set', d, 'up');
    setup('-n', ns, 'addr', 'add', '10.9.0.1/24', 'brd', '+', 'dev', 'va');
    setup('-n', ns, 'addr', 'add', '10.9.0.2', 'peer', '10.9.0.3', 'dev', 'va');
    setup('-n', ns, '-6', 'addr', 'add', 'fd09::1/64', 'dev', 'va', 'nodad');
    setup('-n', ns, 'route', 'add', '10.20.0.0/16', 'via', '10.9.0.254', 'metric', '5', 'mtu', 'lock', '1300', 'advmss', '1200');
    setup('-n', ns, 'route', 'add', 'blackhole', '10.30.0.0/16');
    setup('-n', ns, 'route', 'add', '10.40.0.0/16', 'dev', 'va', 'table', '100', 'proto', 'static');
    setup('-n', ns, '-6', 'route', 'add', 'fd0a::/64', 'via', 'fd09::2', 'dev', 'va');
    setup('-n', ns, 'neigh', 'add', '10.9.0.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'va', 'nud', 'permanent');
    setup('-n', ns, 'addr', 'add', '10.8.0.1/24', 'dev', 'br0');
    setup('-n', ns, 'route', 'add', '10.50.0.0/16', 'proto', 'static', 'nexthop', 'via', '10.9.0.5', 'dev', 'va', 'weight', '1',
      'nexthop', 'via', '10.8.0.6', 'dev', 'br0', 'weight', '3');
    // Alternative names (Linux 5.5 and later; older kernels refuse, and the comparisons hold without).
    hasAltnames = (await ip('-n', ns, 'link', 'property', 'add', 'dev', 'va', 'altname', 'ksock-va-alt')).status === 0;
    const probe = await ksock('-n', ns, 'link', 'show', 'lo');
    nsWired = probe.status === 0;
    if (!nsWired) expect(probe.stderr).toMatch(/cannot open a netlink socket inside a namespace.*ip netns exec/);
  });

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  });

  for (const args of [['link'], ['addr'], ['route'], ['-6', 'route'], ['route', 'show', 'table', 'all'], ['route', 'show', 'table', '100'],
    ['route', 'show', 'dev', 'va'], ['neigh'], ['link', 'show', 'va'], ['-4', 'addr', 'show', 'dev', 'va'], ['-6', 'addr'], ['link', 'show', 'up']]) {
    it(`ip -j ${args.join(' ')}: the same JSON, and the same text`, async () => {
      const j = await sideBySide(() => ip('-n', ns, '-j', ...args), () => ksockIn('-j', ...args));
      expect(JSON.parse(j.ksock)).toEqual(JSON.parse(j.ip));
      expect(j.ksock).toBe(j.ip);
      const t = await sideBySide(() => ip('-n', ns, ...args), () => ksockIn(...args));
      expect(t.ksock).toBe(t.ip);
    });
  }

  it('what the namespace holds shows up: the veth pair, the bridge, the peer address, the metrics', async () => {
    const links = JSON.parse(await must(ksockIn('-j', 'link'))) as Array<Record<string, unknown>>;
    expect(links.find((l) => l.ifname === 'vb')).toMatchObject({ link: 'va', master: 'br0' });
    expect(links.find((l) => l.ifname === 'va')).toMatchObject({ link: 'vb', ifalias: 'the ksock side' });
    const addrs = JSON.parse(await must(ksockIn('-j', '-4', 'addr', 'show', 'va'))) as Array<{ addr_info: Array<Record<string, unknown>> }>;
    expect(addrs[0]!.addr_info).toEqual([
      expect.objectContaining({ local: '10.9.0.1', prefixlen: 24, broadcast: '10.9.0.255' }),
      expect.objectContaining({ local: '10.9.0.2', address: '10.9.0.3', prefixlen: 32 }),
    ]);
    expect(await must(ksockIn('route'))).toContain('10.20.0.0/16 via 10.9.0.254 dev va metric 5 mtu lock 1300 advmss 1200 \n');
    const routes = JSON.parse(await must(ksockIn('-j', 'route'))) as Array<Record<string, unknown>>;
    expect(routes.find((r) => r.dst === '10.50.0.0/16')).toMatchObject({ protocol: 'static', nexthops: [
      { gateway: '10.9.0.5', dev: 'va', weight: 1, flags: [] }, { gateway: '10.8.0.6', dev: 'br0', weight: 3, flags: [] }] });
    if (hasAltnames) {
      expect(links.find((l) => l.ifname === 'va')).toMatchObject({ altnames: ['ksock-va-alt'] });
      expect(JSON.parse(await must(ksockIn('-j', 'link', 'show', 'ksock-va-alt')))).toEqual([expect.objectContaining({ ifname: 'va' })]);
    }
  });

  it('ksock ip -n NS -j addr equals ip -n NS -j addr (the session opened inside the namespace)', async (ctx) => {
    if (!nsWired) {
      ctx.skip(); // this build has no RouteNetlink.open({ netns }) yet: -n said so clearly (checked in beforeAll)
      return;
    }
    for (const args of [['addr'], ['link'], ['route', 'show', 'table', 'all']]) {
      const r = await sideBySide(() => ip('-n', ns, '-j', ...args), () => ksock('-n', ns, '-j', ...args));
      expect(JSON.parse(r.ksock)).toEqual(JSON.parse(r.ip));
    }
  });

  it('ksock ip monitor address route sees the changes another process asks for (ip addr add: its seq and port id)', async () => {
    const child = spawn(process.execPath, [bin, 'ip', '-n', ns, 'monitor', 'address', 'route'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', code: number | null | undefined;
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('close', (c) => (code = c));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      // An address on lo every 250 ms until one is announced (at most 40).
      for (let i = 1; i <= 40 && !/10\.77\.0\./.test(out); i++) {
        await must(ip('-n', ns, 'addr', 'add', `10.77.0.${i}/32`, 'dev', 'lo'));
        await sleep(250);
      }
      await sleep(250);
    } finally {
      child.kill('SIGTERM');
      for (let i = 0; i < 40 && code === undefined; i++) await sleep(50);
      if (code === undefined) child.kill('SIGKILL');
    }
    expect(out).toMatch(/^1: lo    inet 10\.77\.0\.\d+\/32 scope global lo\n {7}valid_lft forever preferred_lft forever$/m);
    expect(out).toMatch(/^local 10\.77\.0\.\d+ dev lo table local proto kernel scope host src 10\.77\.0\.\d+ $/m);
    expect(err).toBe('');
    expect(code).toBe(0);
  }, 30_000);

  it('a monitor whose reader goes away (ksock ip monitor | head -1) ends with exit 0 and nothing on stderr', async () => {
    const child = spawn(process.execPath, [bin, 'ip', '-n', ns, 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', code: number | null | undefined;
    child.stdout!.on('data', (d) => {
      out += d;
      child.stdout!.destroy(); // the reader leaves after its first line
    });
    child.stderr!.on('data', (d) => (err += d));
    child.on('close', (c) => (code = c));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      // A change of lo's MTU every 250 ms until it has printed once and then ended (at most 60 steps).
      for (let i = 0; i < 60 && code === undefined; i++) {
        await must(ip('-n', ns, 'link', 'set', 'lo', 'mtu', String(64000 + i)));
        await sleep(250);
      }
    } finally {
      if (code === undefined) child.kill('SIGKILL');
      for (let i = 0; i < 40 && code === undefined; i++) await sleep(50);
    }
    expect(out).toMatch(/^1: lo: /);
    expect(err).toBe('');
    expect(code).toBe(0);
  }, 30_000);

  it('ksock ip monitor link prints what ip monitor link prints when ip adds a veth', async () => {
    const start = (cmd: string, args: string[]) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const st = { out: '', err: '', code: undefined as number | null | undefined, child };
      child.stdout!.on('data', (d) => (st.out += d));
      child.stderr!.on('data', (d) => (st.err += d));
      child.on('close', (code) => (st.code = code));
      return st;
    };
    const ours = nsWired ? start(process.execPath, [bin, 'ip', '-n', ns, 'monitor', 'link'])
      : start('ip', ['netns', 'exec', ns, process.execPath, bin, 'ip', 'monitor', 'link']);
    const theirs = start('ip', ['-n', ns, 'monitor', 'link']);
    const children: ChildProcess[] = [ours.child, theirs.child];
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      // Both are listening once both have seen a change: lo's MTU, stepped (at most 40 steps, 10 s).
      for (let i = 0; i < 40 && !(/ lo: /.test(ours.out) && / lo: /.test(theirs.out)); i++) {
        await must(ip('-n', ns, 'link', 'set', 'lo', 'mtu', String(65000 + i)));
        await sleep(250);
      }
      expect(ours.out).toMatch(/^\d+: lo: <LOOPBACK,UP,LOWER_UP> mtu 650\d\d qdisc noqueue state UNKNOWN group default $/m);
      const mark = { ours: ours.out.length, theirs: theirs.out.length };
      await must(ip('-n', ns, 'link', 'add', 'mon0', 'type', 'veth', 'peer', 'name', 'mon1'));
      for (let i = 0; i < 40 && !(/ mon0@mon1: /.test(ours.out) && / mon0@mon1: /.test(theirs.out)); i++) await sleep(125);
      await sleep(250);
      const added = (s: string) => s.split('\n').filter((l, i, all) => /mon[01]@/.test(l) || /mon[01]@/.test(all[i - 1] ?? '')).join('\n');
      const got = added(ours.out.slice(mark.ours));
      expect(got).toMatch(/^\d+: mon0@mon1: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop state DOWN group default $/m);
      expect(got).toBe(added(theirs.out.slice(mark.theirs)));
    } finally {
      await ip('-n', ns, 'link', 'del', 'mon0');
      for (const c of children) c.kill('SIGTERM');
      for (let i = 0; i < 40 && (ours.code === undefined || theirs.code === undefined); i++) await sleep(50);
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    expect(ours.err).toBe('');
    // ksock ends a monitor cleanly on SIGTERM (with ip netns exec in between, its exit status passes through).
    expect(ours.code).toBe(0);
  }, 30_000);
});
