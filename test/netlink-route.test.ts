// rtnetlink (RouteNetlink) against ip(8) as the independent peer: what ksock
// lists equals what `ip -j … show` prints (on the host, read-only, and in a
// namespace this file builds), what ksock creates is what ip reports, what
// ip changes a ksock monitor sees, and the kernel's extended-ack text equals
// what ip prints after "Error: ".
//
// Every test that changes anything does it in namespaces of its own
// (ksock-PID-a, ksock-PID-b), removed in afterEach even when the test fails;
// the host's links, addresses and routes are only read.
//
// ksock runs inside a namespace through `ks(ns, fn, args)`: the function
// runs on a RouteNetlink session opened in that namespace with
// `RouteNetlink.open({ netns })` (this process never changes namespace).
//
// The kernel here may lack some link kinds (dummy: CONFIG_DUMMY, vlan:
// CONFIG_VLAN_8021Q); the tests that create them skip with that reason, and
// the topology uses veth, bridge and ifb links, which it has.
// Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN) and ip(8).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as k from '../lib/index';
import { capEff } from './helpers';

const caps = capEff();
const hasCaps = ((caps >> 12n) & 1n) === 1n && ((caps >> 21n) & 1n) === 1n; // CAP_NET_ADMIN, CAP_SYS_ADMIN
const hasIp = spawnSync('ip', ['-j', '-V'], { timeout: 5000 }).status === 0;
const hasNetlink = k.constants.AF_NETLINK !== undefined;
const why = !hasNetlink ? 'skipped: no netlink on this platform' : !hasIp ? 'skipped: no ip(8)' : 'ip(8) as the peer';
const whyNs = !hasCaps ? 'skipped: needs CAP_NET_ADMIN and CAP_SYS_ADMIN' : why;

const A = `ksock-${process.pid}-a`, B = `ksock-${process.pid}-b`;

/** The link kinds this kernel can create (dummy: CONFIG_DUMMY, vlan: CONFIG_VLAN_8021Q), probed in a namespace of ours, removed at once. */
function probeKinds(): { dummy: boolean; vlan: boolean } {
  if (!hasCaps || !hasIp) return { dummy: false, vlan: false };
  const ns = `ksock-${process.pid}-probe`;
  const run = (...args: string[]) => spawnSync('ip', args, { timeout: 10_000 }).status === 0;
  if (!run('netns', 'add', ns)) return { dummy: false, vlan: false };
  try {
    run('-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    return { dummy: run('-n', ns, 'link', 'add', 'd0', 'type', 'dummy'), vlan: run('-n', ns, 'link', 'add', 'link', 'p0', 'name', 'p0.5', 'type', 'vlan', 'id', '5') };
  } finally {
    run('netns', 'del', ns);
  }
}
const kinds = probeKinds();
const whyDummy = kinds.dummy ? 'the kernel has them' : 'skipped: this kernel has no dummy links (CONFIG_DUMMY)';
const whyVlan = kinds.vlan ? 'the kernel has them' : 'skipped: this kernel has no vlan links (CONFIG_VLAN_8021Q)';

type Json = Record<string, any>;

/** Runs ip; throws with its stderr when it fails. */
function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
}
/** ip -j …, parsed. */
function ipj(...args: string[]): Json[] {
  const out = ip('-j', ...args).trim();
  return out === '' ? [] : JSON.parse(out);
}
/** ip's error for a request that must fail: its stderr, trimmed. */
function ipFails(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  expect(r.status, `ip ${args.join(' ')} should fail`).not.toBe(0);
  return r.stderr.trim();
}
/** The C library's text for an errno (python3's os.strerror), or null without python3. */
function strerror(errno: number): string | null {
  const r = spawnSync('python3', ['-c', `import os; print(os.strerror(${Number(errno)}))`], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * What ip prints for a failed request whose error the kernel answered with
 * this: "Error: <extended ack>." when the kernel explained, else
 * "RTNETLINK answers: <strerror>" (null without python3 for strerror).
 */
function asIpPrints(e: { extack?: string; errno?: number }): string | null {
  if (e.extack !== undefined) return `Error: ${e.extack}.`;
  const text = strerror(e.errno!);
  return text === null ? null : `RTNETLINK answers: ${text}`;
}

/** What a test reads off a NetlinkError. */
type KsError = k.NetlinkError;

/**
 * Runs `f(rt, args, lib)` on a RouteNetlink session opened in namespace
 * `ns`, and closes the session whatever happens.
 */
async function ks<T = any>(ns: string, f: (rt: k.RouteNetlink, args: any, lib: typeof k) => Promise<T>, args: unknown = null): Promise<T> {
  const rt = k.RouteNetlink.open({ netns: ns });
  try {
    return await f(rt, args, k);
  } finally {
    await rt.close();
  }
}

/** The sockets this process holds (readlinks of /proc/self/fd that are `socket:[…]`). */
function socketCount(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try { if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++; } catch { /* closed meanwhile */ }
  }
  return n;
}

/** JSON of ip's output without the bridge timers ip -d prints (they count on their own). */
function settled(v: unknown): string {
  return JSON.stringify(v, (key, x) => (key.endsWith('_timer') ? undefined : x));
}

/**
 * ip's answer and ours from one moment: ip, then ksock, then ip again, until
 * ip says the same twice (the host may change between the dumps; bounded).
 */
async function snapshot<T>(ipSide: () => Json[], ours: () => Promise<T>): Promise<{ theirs: Json[]; ours: T }> {
  let last: { theirs: Json[]; ours: T } | null = null;
  for (let i = 0; i < 10; i++) {
    const before = ipSide();
    const o = await ours();
    const after = ipSide();
    last = { theirs: after, ours: o };
    if (settled(before) === settled(after)) return last;
    await new Promise((r) => setTimeout(r, 100)); // the kernel is still at work (a link just came up): let it finish
  }
  return last!;
}

// ------------------------------------------------------------ comparisons

/** Keys ip prints for a link that we must print too (when ip does). */
const LINK_KEYS = ['ifindex', 'ifname', 'flags', 'mtu', 'qdisc', 'operstate', 'linkmode', 'group', 'txqlen', 'link_type', 'address',
  'broadcast', 'permaddr', 'master', 'link', 'link_index', 'link_netnsid', 'promiscuity', 'min_mtu', 'max_mtu', 'num_tx_queues',
  'num_rx_queues', 'ifalias', 'gso_max_size', 'gso_max_segs', 'linkinfo'];

/** Every link ip prints equals ours on each key both have (and on LINK_KEYS); returns how many were compared. */
function compareLinks(ours: Json[], theirs: Json[], exact: boolean): number {
  const byIndex = new Map(ours.map((l) => [l.ifindex, l]));
  if (exact) expect(ours.map((l) => l.ifindex).sort()).toEqual(theirs.map((l) => l.ifindex).sort());
  let n = 0;
  for (const t of theirs) {
    const o = byIndex.get(t.ifindex);
    if (!o) continue; // came or went between the dumps (the host only: exact is false there)
    for (const key of Object.keys(t)) {
      if (!LINK_KEYS.includes(key) && !(key in o)) continue; // a detail ksock does not decode (gso_max_size, inet6_addr_gen_mode …)
      if (key === 'linkinfo') {
        expect(o.linkinfo?.info_kind, `${t.ifname} linkinfo.info_kind`).toBe(t.linkinfo.info_kind);
        for (const [dk, dv] of Object.entries(o.linkinfo?.info_data ?? {})) {
          expect(dv, `${t.ifname} linkinfo.info_data.${dk}`).toEqual(t.linkinfo.info_data?.[dk]);
        }
        if (t.linkinfo.info_kind !== undefined) expect(o.linkinfo?.info_slave_kind, `${t.ifname} linkinfo.info_slave_kind`).toBe(t.linkinfo.info_slave_kind);
        continue;
      }
      expect(o[key], `${t.ifname}.${key}`).toEqual(t[key]);
    }
    n++;
  }
  return n;
}

/** ip's addr_info, flattened per link in order, equals ours. */
function compareAddresses(ours: Json[], theirs: Json[]): number {
  let n = 0;
  const seen = new Set<number>();
  for (const link of theirs) {
    seen.add(link.ifindex);
    const mine = ours.filter((a) => a.ifindex === link.ifindex);
    const info: Json[] = link.addr_info ?? [];
    expect(mine.map((a) => `${a.local}/${a.prefixlen}`), `addresses of ${link.ifname}`).toEqual(info.map((a) => `${a.local}/${a.prefixlen}`));
    info.forEach((t, i) => {
      const o = mine[i]!;
      expect(o.ifname).toBe(link.ifname);
      for (const key of Object.keys(t)) {
        if ((key === 'valid_life_time' || key === 'preferred_life_time') && t[key] !== 0xffffffff) {
          // A finite lifetime counts down between the two dumps.
          expect(Math.abs(o[key] - t[key]), `${link.ifname} ${t.local} ${key}`).toBeLessThanOrEqual(2);
        } else {
          expect(o[key], `${link.ifname} ${t.local} ${key}`).toEqual(t[key]);
        }
      }
      n++;
    });
  }
  // Nothing of ours on a link ip did not list.
  expect(ours.filter((a) => !seen.has(a.ifindex))).toEqual([]);
  return n;
}

/** What ip leaves out of a route when it has the usual value; ours always has it. */
const ROUTE_DEFAULTS: Json = { type: 'unicast', table: 'main', protocol: 'boot', scope: 'global' };

/** ip's routes equal ours, in order, on every key ip prints; the keys ip omits have their default in ours. */
function compareRoutes(ours: Json[], theirs: Json[], defaults: Json = ROUTE_DEFAULTS): void {
  const show = (r: Json) => `${r.type ?? 'unicast'} ${r.dst} table ${r.table ?? defaults.table}`;
  expect(ours.map(show)).toEqual(theirs.map(show));
  theirs.forEach((t, i) => {
    const o = ours[i]!;
    for (const key of Object.keys(t)) expect(o[key], `${show(t)} ${key}`).toEqual(t[key]);
    for (const [key, v] of Object.entries(defaults)) if (!(key in t)) expect(o[key], `${show(t)} ${key}`).toBe(v);
  });
}

/**
 * ip's neighbours equal ours. States other than PERMANENT and NOARP are the
 * kernel's own to change at any moment (REACHABLE → STALE → DELAY → PROBE,
 * entries garbage-collected), so with `racy` only entries both list are
 * compared, and their state only when the kernel keeps it.
 */
function compareNeighbours(ours: Json[], theirs: Json[], racy: boolean): number {
  const key = (n: Json) => `${n.dst} ${n.dev}`;
  const mine = new Map(ours.map((n) => [key(n), n]));
  if (!racy) expect(ours.map(key)).toEqual(theirs.map(key));
  let n = 0;
  for (const t of theirs) {
    const o = mine.get(key(t));
    if (!o) continue;
    const fixed = (s: string[]) => s.includes('PERMANENT') || s.includes('NOARP');
    for (const f of Object.keys(t)) {
      if (f === 'state' && racy && !(fixed(t.state) && fixed(o.state))) continue;
      if (f === 'lladdr' && racy && !o.lladdr) continue; // resolved between the dumps
      expect(o[f], `${key(t)} ${f}`).toEqual(t[f]);
    }
    n++;
  }
  return n;
}

// ------------------------------------------------------------ the tests

describe.runIf(hasNetlink && hasIp)(`RouteNetlink on the host, read-only, equals ip -j (${why})`, () => {
  let rt: k.RouteNetlink;
  beforeAll(() => { rt = k.RouteNetlink.open(); });
  afterAll(async () => { await rt?.close(); });

  it('links() equals ip -j -d link show on every key both print', async () => {
    const s = await snapshot(() => ipj('-d', 'link', 'show'), () => rt.links());
    const n = compareLinks(s.ours as unknown as Json[], s.theirs, false);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(s.ours.find((l) => l.ifname === 'lo')?.flags).toContain('LOOPBACK');
  });

  it('link(name) and index(name) equal the listing and ip', async () => {
    const [lo] = ipj('-d', 'link', 'show', 'dev', 'lo');
    const l = await rt.link('lo');
    compareLinks([l as unknown as Json], [lo!], true);
    expect(await rt.index('lo')).toBe(lo!.ifindex);
    expect((await rt.link(lo!.ifindex)).ifname).toBe('lo');
  });

  it('addresses() equals the flattened addr_info of ip -j addr show, per link in order', async () => {
    const s = await snapshot(() => ipj('addr', 'show'), () => rt.addresses());
    expect(compareAddresses(s.ours as unknown as Json[], s.theirs)).toBeGreaterThanOrEqual(1); // at least 127.0.0.1
  });

  it('routes() equals ip -j route show table all (both families; -4 and -6 on their own too)', async () => {
    const all = await snapshot(() => ipj('route', 'show', 'table', 'all'), () => rt.routes());
    compareRoutes(all.ours as unknown as Json[], all.theirs);
    for (const [flag, family] of [['-4', 'inet'], ['-6', 'inet6']] as const) {
      const s = await snapshot(() => ipj(flag, 'route', 'show', 'table', 'all'), () => rt.routes({ family }));
      compareRoutes(s.ours as unknown as Json[], s.theirs);
      expect(s.ours.every((r) => r.family === family)).toBe(true);
    }
    expect(all.ours.some((r) => r.table === 'local' && r.type === 'local')).toBe(true);
  });

  it('neighbours() equals ip -j neigh show (without NOARP/NONE entries, as ip)', async () => {
    const s = await snapshot(() => ipj('neigh', 'show'), () => rt.neighbours());
    compareNeighbours(s.ours as unknown as Json[], s.theirs, true);
    for (const n of s.ours) expect(n.state.every((x) => x === 'NOARP' || x === 'NONE')).toBe(false);
  });

  it('a dump abandoned with break, then requests on the same session; no socket left open', async () => {
    const before = socketCount();
    const session = k.RouteNetlink.open();
    expect(socketCount()).toBe(before + 1);
    try {
      let first: k.Link | null = null;
      for await (const m of session.nl.dump(k.constants.RTM_GETLINK!, Buffer.alloc(k.ifinfomsg.size))) {
        first = k.decodeLink(m);
        break;
      }
      expect(first?.ifindex).toBe(ipj('link', 'show')[0]!.ifindex);
      expect((await session.link('lo')).ifname).toBe('lo');
      const s = await snapshot(() => ipj('-d', 'link', 'show'), () => session.links());
      compareLinks(s.ours as unknown as Json[], s.theirs, false);
    } finally {
      await session.close();
    }
    expect(socketCount()).toBe(before);
  });
});

describe.runIf(hasCaps && hasNetlink && hasIp)(`RouteNetlink in a namespace, against ip -n (${whyNs})`, { timeout: 60_000 }, () => {
  const created: string[] = [];
  function netns(name: string): string {
    ip('netns', 'add', name);
    created.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    return name;
  }
  afterEach(() => {
    for (const ns of created.splice(0)) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  });
  /** veth pair va–vb, a bridge br0 with ports vc (veth to vd) and ifb0, addresses v4 + v6, routes in main and table 100, a blackhole, a permanent neighbour. */
  function topology(ns: string): void {
    for (const k6 of ['all', 'default']) execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${k6}.accept_dad=0`], { timeout: 10_000 });
    const batch = [
      'link add va type veth peer name vb',
      'link add vc type veth peer name vd',
      'link add br0 type bridge',
      'link set vc master br0',
      'link add ifb0 type ifb',
      'link set ifb0 master br0',
      'link set va up', 'link set vb up', 'link set vc up', 'link set vd up', 'link set br0 up', 'link set ifb0 up',
      'link set vb mtu 1400',
      'link set va alias uplink',
      'addr add 10.1.0.1/24 brd + dev va',
      'addr add 10.1.0.11/24 dev va',
      'addr add 10.1.0.2/24 brd + dev vb',
      'addr add 10.1.0.3/32 dev vb label vb:x',
      'addr add 10.2.0.1/24 peer 10.2.0.2/24 dev vd',
      'addr add 10.3.0.1/16 brd + dev br0',
      'addr add fd01::1/64 dev va nodad',
      'addr add fd01::2/64 dev vb nodad noprefixroute',
      'addr add fd03::1/64 dev br0 nodad',
      'route add 10.9.0.0/16 via 10.1.0.2',
      'route add 10.8.0.0/16 dev br0 metric 50',
      'route add 10.8.0.0/16 dev va metric 60',
      'route add 10.7.0.0/16 via 10.3.0.9 table 100',
      'route add default via 10.1.0.2 table 100',
      'route add blackhole 10.6.0.0/16',
      'route add unreachable 10.5.0.0/16',
      'route add 10.4.0.0/16 dev va proto static scope link src 10.1.0.1',
      'route add fd09::/64 via fd01::5',
      'route add fd08::/64 dev br0 metric 7 table 100',
      'route add blackhole fd07::/64',
      'neigh add 10.1.0.9 lladdr 02:00:00:00:00:09 dev va nud permanent',
      'neigh add fd01::9 lladdr 02:00:00:00:00:0a dev va nud permanent',
      'neigh add 10.3.0.9 lladdr 02:00:00:00:00:0b dev br0 nud noarp',
    ];
    execFileSync('ip', ['-n', ns, '-batch', '-'], { input: batch.join('\n') + '\n', timeout: 10_000, stdio: ['pipe', 'ignore', 'pipe'] });
  }

  it('links, addresses, routes and neighbours equal ip -n NS -j … show (veth, bridge with ports, v4+v6, table 100, blackhole)', async () => {
    netns(A);
    topology(A);
    // Links going up make the kernel add IPv6 link-local addresses and their
    // routes on its own, a moment later (linkwatch, DAD is off here): ip is
    // read before and after ksock until the two agree (bounded).
    const ipSide = () => ({
      links: ipj('-n', A, '-d', 'link', 'show'), addresses: ipj('-n', A, 'addr', 'show'),
      routes: ipj('-n', A, 'route', 'show', 'table', 'all'), v4: ipj('-n', A, '-4', 'route', 'show', 'table', 'all'),
      v6: ipj('-n', A, '-6', 'route', 'show', 'table', 'all'), t100: ipj('-n', A, '-4', 'route', 'show', 'table', '100'),
      t100v6: ipj('-n', A, '-6', 'route', 'show', 'table', '100'),
      neighbours: ipj('-n', A, 'neigh', 'show'),
    });
    let theirs = ipSide();
    let ours: Json = {};
    for (let i = 0; i < 10; i++) {
      const before = settled(theirs);
      ours = await ks(A, async (rt) => ({
        links: await rt.links(), addresses: await rt.addresses(), routes: await rt.routes(),
        v4: await rt.routes({ family: 'inet' }), v6: await rt.routes({ family: 'inet6' }),
        t100: await rt.routes({ table: 100, family: 'inet' }), t100v6: await rt.routes({ table: 100, family: 'inet6' }),
        neighbours: await rt.neighbours(), all: await rt.neighbours({ all: true }),
      }));
      theirs = ipSide();
      if (settled(theirs) === before) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(compareLinks(ours.links, theirs.links, true)).toBe(7);
    const byName = new Map<string, Json>(ours.links.map((l: Json) => [l.ifname, l]));
    expect(byName.get('va')!.link).toBe('vb');
    expect(byName.get('vc')!.master).toBe('br0');
    expect(byName.get('vc')!.linkinfo).toEqual({ info_kind: 'veth', info_slave_kind: 'bridge' });
    expect(byName.get('ifb0')!.master).toBe('br0');
    expect(byName.get('vb')!.mtu).toBe(1400);
    expect(byName.get('va')!.ifalias).toBe('uplink');
    expect(byName.get('br0')!.linkinfo).toMatchObject({ info_kind: 'bridge' });
    expect(compareAddresses(ours.addresses, theirs.addresses)).toBeGreaterThanOrEqual(14);
    const vd = ours.addresses.find((a: Json) => a.local === '10.2.0.1');
    expect(vd).toMatchObject({ address: '10.2.0.2', prefixlen: 24 });
    expect(ours.addresses.find((a: Json) => a.local === '10.1.0.11')).toMatchObject({ secondary: true });
    compareRoutes(ours.routes, theirs.routes);
    compareRoutes(ours.v4, theirs.v4);
    compareRoutes(ours.v6, theirs.v6);
    // ip leaves out the table it was asked for.
    compareRoutes(ours.t100, theirs.t100, { ...ROUTE_DEFAULTS, table: '100' });
    compareRoutes(ours.t100v6, theirs.t100v6, { ...ROUTE_DEFAULTS, table: '100' });
    expect([...ours.t100, ...ours.t100v6].map((r: Json) => r.dst)).toEqual(['default', '10.7.0.0/16', 'fd08::/64']);
    expect(ours.routes.find((r: Json) => r.dst === '10.6.0.0/16')).toMatchObject({ type: 'blackhole', table: 'main' });
    expect(compareNeighbours(ours.neighbours, theirs.neighbours, false)).toBeGreaterThanOrEqual(2);
    expect(ours.neighbours.map((n: Json) => n.dst)).not.toContain('10.3.0.9'); // NOARP: ip leaves it out, and so do we
    expect(ours.all.find((n: Json) => n.dst === '10.3.0.9')).toMatchObject({ state: ['NOARP'], dev: 'br0' });
  });

  it('a veth with its peer in another namespace: peer name and namespace per ip -n; link_netnsid/link_index as ip prints', async () => {
    netns(A); netns(B);
    await ks(A, async (rt, a) => rt.addLink({ ifname: 'va', kind: 'veth', peer: { ifname: 'vb', netns: a.B }, up: true }), { B });
    const [va] = ipj('-n', A, '-d', 'link', 'show', 'dev', 'va');
    const [vb] = ipj('-n', B, '-d', 'link', 'show', 'dev', 'vb');
    expect(va!.linkinfo.info_kind).toBe('veth');
    expect(vb!.linkinfo.info_kind).toBe('veth');
    expect(va!.link_index).toBe(vb!.ifindex);
    expect(vb!.link_index).toBe(va!.ifindex);
    expect(va!.flags).toContain('UP');
    expect(ipj('-n', A, 'link', 'show').map((l) => l.ifname)).not.toContain('vb');
    // ksock's listing in each namespace equals ip's there.
    compareLinks(await ks(A, async (rt) => rt.links()), ipj('-n', A, '-d', 'link', 'show'), true);
    compareLinks(await ks(B, async (rt) => rt.links()), ipj('-n', B, '-d', 'link', 'show'), true);
    // Deleting one end takes the other with it.
    await ks(A, async (rt) => rt.deleteLink('va'));
    expect(ipj('-n', B, 'link', 'show').map((l) => l.ifname)).toEqual(['lo']);
  });

  it('bridge and master, up/down, MTU, rename, move to a namespace, delete: as ip -n reports them', async () => {
    netns(A); netns(B);
    await ks(A, async (rt) => {
      await rt.addLink({ ifname: 'br0', kind: 'bridge', up: true });
      await rt.addLink({ ifname: 'va', kind: 'veth', peer: { ifname: 'vb' }, master: 'br0', mtu: 1450 });
      await rt.addLink({ ifname: 'vc', kind: 'veth', peer: { ifname: 'vd' } });
      await rt.setLink('vc', { master: 'br0', up: true });
    });
    const show = (ns: string, dev: string) => ipj('-n', ns, '-d', 'link', 'show', 'dev', dev)[0]!;
    expect(show(A, 'br0').linkinfo.info_kind).toBe('bridge');
    expect(show(A, 'br0').flags).toContain('UP');
    expect(show(A, 'va')).toMatchObject({ master: 'br0', mtu: 1450 });
    expect(show(A, 'va').flags).not.toContain('UP');
    expect(show(A, 'vc').master).toBe('br0');
    expect(show(A, 'vc').flags).toContain('UP');
    expect(show(A, 'vc').linkinfo.info_slave_kind).toBe('bridge');

    await ks(A, async (rt) => {
      await rt.setLink('vc', { master: null, up: false, mtu: 1280 });
      await rt.setLink('va', { up: true });
      await rt.setLink('vd', { txqlen: 77, address: '02:00:00:00:00:42', alias: 'the peer', promisc: true });
    });
    expect('master' in show(A, 'vc')).toBe(false);
    expect(show(A, 'vc').flags).not.toContain('UP');
    expect(show(A, 'vc').mtu).toBe(1280);
    expect(show(A, 'va').flags).toContain('UP');
    expect(show(A, 'vd')).toMatchObject({ txqlen: 77, address: '02:00:00:00:00:42', ifalias: 'the peer', promiscuity: 1 });
    expect(show(A, 'vd').flags).toContain('PROMISC');

    // Rename: same index, new name; by index too.
    const index = show(A, 'vd').ifindex;
    await ks(A, async (rt) => rt.setLink('vd', { ifname: 'renamed' }));
    expect(show(A, 'renamed').ifindex).toBe(index);
    await ks(A, async (rt, a) => rt.setLink(a.index, { ifname: 'vd2' }), { index });
    expect(show(A, 'vd2').ifindex).toBe(index);

    // Move to another namespace: gone from A, in B (by name and by { name }).
    await ks(A, async (rt, a) => rt.setLink('vd2', { netns: a.B }), { B });
    expect(ipj('-n', A, 'link', 'show').map((l) => l.ifname)).not.toContain('vd2');
    expect(show(B, 'vd2').linkinfo.info_kind).toBe('veth');
    await ks(A, async (rt, a) => rt.setLink('vb', { netns: { name: a.B } }), { B });
    expect(show(B, 'vb').link_index).toBe(show(A, 'va').ifindex);

    // Delete.
    await ks(A, async (rt) => { await rt.deleteLink('vc'); await rt.deleteLink('br0'); });
    expect(ipj('-n', A, 'link', 'show').map((l) => l.ifname).sort()).toEqual(['lo', 'va']);
    expect(ipj('-n', B, 'link', 'show').map((l) => l.ifname).sort()).toEqual(['lo', 'vb']); // vd2 went with vc
    compareLinks(await ks(A, async (rt) => rt.links()), ipj('-n', A, '-d', 'link', 'show'), true);
  });

  it.runIf(kinds.dummy)(`dummy links (${whyDummy})`, async () => {
    netns(A);
    await ks(A, async (rt) => rt.addLink({ ifname: 'd0', kind: 'dummy', mtu: 1400, up: true }));
    const [d0] = ipj('-n', A, '-d', 'link', 'show', 'dev', 'd0');
    expect(d0).toMatchObject({ mtu: 1400, linkinfo: { info_kind: 'dummy' } });
    expect(d0!.flags).toContain('UP');
    compareLinks(await ks(A, async (rt) => rt.links()), ipj('-n', A, '-d', 'link', 'show'), true);
  });

  it.runIf(!kinds.vlan)('without vlan support in the kernel, addLink vlan fails as ip does (the same extended ack)', async () => {
    netns(A);
    ip('-n', A, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    const said = ipFails('-n', A, 'link', 'add', 'link', 'va', 'name', 'va.7', 'type', 'vlan', 'id', '7');
    const e: KsError = await ks(A, async (rt) => rt.addLink({ ifname: 'va.7', kind: 'vlan', link: 'va', id: 7 })).catch((x) => x);
    expect(e).toBeInstanceOf(k.NetlinkError);
    expect(asIpPrints(e)).toBe(said);
  });

  it.runIf(kinds.vlan)(`vlan links: id and protocol per ip -d -j linkinfo (${whyVlan})`, async () => {
    netns(A);
    ip('-n', A, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    await ks(A, async (rt) => {
      await rt.addLink({ ifname: 'va.7', kind: 'vlan', link: 'va', id: 7 });
      await rt.addLink({ ifname: 'va.8', kind: 'vlan', link: 'va', id: 8, protocol: '802.1ad' });
    });
    const show = (dev: string) => ipj('-n', A, '-d', 'link', 'show', 'dev', dev)[0]!;
    expect(show('va.7').linkinfo).toMatchObject({ info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 7 } });
    expect(show('va.8').linkinfo).toMatchObject({ info_kind: 'vlan', info_data: { protocol: '802.1ad', id: 8 } });
    expect(show('va.7').link).toBe('va');
    compareLinks(await ks(A, async (rt) => rt.links()), ipj('-n', A, '-d', 'link', 'show'), true);
  });

  it('addresses: add/delete v4 (broadcast as ip computes it with brd +) and v6, per ip -n addr show', async () => {
    netns(A);
    ip('-n', A, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    ip('-n', A, 'link', 'set', 'va', 'up');
    // The same prefixes through ip (on vb, `brd +`) and through ksock (on va): the broadcasts must agree.
    const prefixes = [['10.1.2.3', 20], ['10.4.0.5', 30], ['10.5.0.1', 31], ['10.6.0.1', 32], ['10.7.0.1', 8], ['10.8.1.1', 24]] as const;
    for (const [a, len] of prefixes) ip('-n', A, 'addr', 'add', `${a}/${len}`, 'brd', '+', 'dev', 'vb');
    await ks(A, async (rt, a) => {
      for (const [addr, len] of a.prefixes) await rt.addAddress('va', `${addr}/${len}`);
      await rt.addAddress('va', 'fd00::1/64', { nodad: true });
      await rt.addAddress('va', 'fd00::2/64', { nodad: true, noprefixroute: true });
      await rt.addAddress('va', '10.9.0.1/24', { label: 'va:x', broadcast: false });
      await rt.addAddress('va', '10.10.0.1/24', { peer: '10.10.0.2' });
    }, { prefixes });
    const [vb] = ipj('-n', A, 'addr', 'show', 'dev', 'vb');
    const [va] = ipj('-n', A, 'addr', 'show', 'dev', 'va');
    const brd = (info: Json[], local: string) => info.find((x) => x.local === local)?.broadcast;
    for (const [a, len] of prefixes) {
      expect(brd(va!.addr_info, a), `${a}/${len}`).toBe(brd(vb!.addr_info, a));
    }
    expect(brd(va!.addr_info, '10.1.2.3')).toBe('10.1.15.255');
    expect(brd(va!.addr_info, '10.5.0.1')).toBeUndefined(); // /31: none, as ip
    const v6 = va!.addr_info.filter((x: Json) => x.family === 'inet6' && x.scope === 'global');
    expect(v6).toHaveLength(2);
    expect(v6).toEqual(expect.arrayContaining([
      expect.objectContaining({ local: 'fd00::1', prefixlen: 64, nodad: true }),
      expect.objectContaining({ local: 'fd00::2', prefixlen: 64, nodad: true, noprefixroute: true }),
    ]));
    expect(va!.addr_info.find((x: Json) => x.local === '10.9.0.1')).toMatchObject({ label: 'va:x', prefixlen: 24 });
    expect(brd(va!.addr_info, '10.9.0.1')).toBeUndefined();
    expect(va!.addr_info.find((x: Json) => x.local === '10.10.0.1')).toMatchObject({ address: '10.10.0.2' });
    const addrs = await snapshot(() => ipj('-n', A, 'addr', 'show'), () => ks(A, async (rt) => rt.addresses()));
    compareAddresses(addrs.ours as unknown as Json[], addrs.theirs);

    // A duplicate: EEXIST, and what ip prints for it (here the kernel explains).
    const said = ipFails('-n', A, 'addr', 'add', '10.1.2.3/20', 'dev', 'va');
    const dup: KsError = await ks(A, async (rt) => rt.addAddress('va', '10.1.2.3/20')).catch((e) => e);
    expect(dup).toBeInstanceOf(k.NetlinkError);
    expect(dup).toMatchObject({ code: 'EEXIST', errno: 17 });
    const text = asIpPrints(dup);
    if (text !== null) expect(said).toBe(text);

    // Delete v4 and v6.
    await ks(A, async (rt) => { await rt.deleteAddress('va', '10.1.2.3/20'); await rt.deleteAddress('va', 'fd00::1/64'); });
    const locals = ipj('-n', A, 'addr', 'show', 'dev', 'va')[0]!.addr_info.map((x: Json) => x.local);
    expect(locals).not.toContain('10.1.2.3');
    expect(locals).not.toContain('fd00::1');
    expect(locals).toContain('fd00::2');
    // Deleting it again: the kernel's errno, as ip gets it.
    const again = ipFails('-n', A, 'addr', 'del', '10.1.2.3/20', 'dev', 'va');
    const gone: KsError = await ks(A, async (rt) => rt.deleteAddress('va', '10.1.2.3/20')).catch((e) => e);
    expect(gone).toBeInstanceOf(k.NetlinkError);
    expect(gone.code).toBe('EADDRNOTAVAIL');
    const t2 = asIpPrints(gone);
    if (t2 !== null) expect(again).toBe(t2);
  });

  it('routes: add/replace/delete via a gateway and via a device, table 100, metric, v4 and v6; EEXIST on a duplicate', async () => {
    netns(A);
    ip('-n', A, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    ip('-n', A, 'link', 'set', 'va', 'up');
    ip('-n', A, 'link', 'set', 'vb', 'up');
    ip('-n', A, 'addr', 'add', '10.1.0.1/24', 'dev', 'va');
    ip('-n', A, '-6', 'addr', 'add', 'fd01::1/64', 'dev', 'va', 'nodad');
    await ks(A, async (rt) => {
      await rt.addRoute({ dst: '10.20.0.0/16', gateway: '10.1.0.2' });
      await rt.addRoute({ dst: '10.21.0.0/16', dev: 'va' });
      await rt.addRoute({ dst: '10.22.0.0/16', dev: 'vb', table: 100 });
      await rt.addRoute({ dst: '10.23.0.0/16', gateway: '10.1.0.3', metric: 77 });
      await rt.addRoute({ dst: '10.24.0.7', dev: 'va', prefsrc: '10.1.0.1' });
      await rt.addRoute({ dst: 'default', gateway: '10.1.0.254', table: 100 });
      await rt.addRoute({ dst: '10.25.0.0/16', type: 'blackhole' });
      await rt.addRoute({ dst: 'fd20::/64', gateway: 'fd01::2' });
      await rt.addRoute({ dst: 'fd21::/64', dev: 'va', metric: 5, table: 100 });
    });
    const main = ipj('-n', A, 'route', 'show');
    const get = (list: Json[], dst: string) => list.find((r) => r.dst === dst);
    expect(get(main, '10.20.0.0/16')).toMatchObject({ gateway: '10.1.0.2', dev: 'va' });
    expect(get(main, '10.21.0.0/16')).toMatchObject({ dev: 'va', scope: 'link' });
    expect(get(main, '10.23.0.0/16')).toMatchObject({ gateway: '10.1.0.3', metric: 77 });
    expect(get(main, '10.24.0.7')).toMatchObject({ dev: 'va', prefsrc: '10.1.0.1' });
    expect(get(main, '10.25.0.0/16')).toMatchObject({ type: 'blackhole' });
    for (const r of [get(main, '10.20.0.0/16'), get(main, '10.21.0.0/16')]) expect('protocol' in r!).toBe(false); // boot, as ip route add
    const t100 = ipj('-n', A, 'route', 'show', 'table', '100');
    expect(get(t100, '10.22.0.0/16')).toMatchObject({ dev: 'vb', scope: 'link' });
    expect(get(t100, 'default')).toMatchObject({ gateway: '10.1.0.254', dev: 'va' });
    expect(get(ipj('-n', A, '-6', 'route', 'show'), 'fd20::/64')).toMatchObject({ gateway: 'fd01::2', dev: 'va' });
    expect(get(ipj('-n', A, '-6', 'route', 'show', 'table', '100'), 'fd21::/64')).toMatchObject({ dev: 'va', metric: 5 });
    // The links just came up: the kernel adds their IPv6 link-local routes on its own, a moment later.
    const routes = await snapshot(() => ipj('-n', A, 'route', 'show', 'table', 'all'), () => ks(A, async (rt) => rt.routes()));
    compareRoutes(routes.ours as unknown as Json[], routes.theirs);

    // Replace: the gateway changes, the route stays one.
    await ks(A, async (rt) => {
      await rt.replaceRoute({ dst: '10.20.0.0/16', gateway: '10.1.0.9' });
      await rt.replaceRoute({ dst: '10.26.0.0/16', dev: 'va' }); // replace creates
    });
    const after = ipj('-n', A, 'route', 'show');
    expect(after.filter((r) => r.dst === '10.20.0.0/16')).toEqual([expect.objectContaining({ gateway: '10.1.0.9' })]);
    expect(get(after, '10.26.0.0/16')).toMatchObject({ dev: 'va' });

    // A duplicate add: EEXIST, and what ip prints for it.
    const said = ipFails('-n', A, 'route', 'add', '10.21.0.0/16', 'dev', 'va');
    const dup: KsError = await ks(A, async (rt) => rt.addRoute({ dst: '10.21.0.0/16', dev: 'va' })).catch((e) => e);
    expect(dup).toBeInstanceOf(k.NetlinkError);
    expect(dup).toMatchObject({ code: 'EEXIST', errno: 17 });
    const text = asIpPrints(dup);
    if (text !== null) expect(said).toBe(text);

    // Delete, via gateway, via device, in table 100, by metric.
    await ks(A, async (rt) => {
      await rt.deleteRoute({ dst: '10.20.0.0/16', gateway: '10.1.0.9' });
      await rt.deleteRoute({ dst: '10.21.0.0/16', dev: 'va' });
      await rt.deleteRoute({ dst: '10.22.0.0/16', table: 100 });
      await rt.deleteRoute({ dst: '10.23.0.0/16', metric: 77 });
      await rt.deleteRoute({ dst: '10.25.0.0/16', type: 'blackhole' });
      await rt.deleteRoute({ dst: 'fd20::/64' });
      await rt.deleteRoute({ dst: 'fd21::/64', table: 100 });
    });
    const left = ipj('-n', A, 'route', 'show', 'table', 'all').map((r) => r.dst);
    for (const d of ['10.20.0.0/16', '10.21.0.0/16', '10.22.0.0/16', '10.23.0.0/16', '10.25.0.0/16', 'fd20::/64', 'fd21::/64']) expect(left).not.toContain(d);
    expect(left).toContain('10.26.0.0/16');
    const final = await snapshot(() => ipj('-n', A, 'route', 'show', 'table', 'all'), () => ks(A, async (rt) => rt.routes()));
    compareRoutes(final.ours as unknown as Json[], final.theirs);

    // Deleting what is not there: the kernel's errno (ESRCH), as ip's "RTNETLINK answers: No such process".
    const none = ipFails('-n', A, 'route', 'del', '10.20.0.0/16');
    const gone: KsError = await ks(A, async (rt) => rt.deleteRoute({ dst: '10.20.0.0/16' })).catch((e) => e);
    expect(gone).toBeInstanceOf(k.NetlinkError);
    expect(gone).toMatchObject({ code: 'ESRCH' });
    const t2 = asIpPrints(gone);
    if (t2 !== null) expect(none).toBe(t2);
  });

  it('no such device: ENODEV as a NetlinkError (link, deleteLink, setLink, addAddress, addRoute dev)', async () => {
    netns(A);
    const results = await ks(A, async (rt, _a, lib) => {
      const out: Record<string, unknown> = {};
      const tries: Record<string, () => Promise<unknown>> = {
        link: () => rt.link('nosuch0'),
        linkByIndex: () => rt.link(99999),
        deleteLink: () => rt.deleteLink('nosuch0'),
        setLink: () => rt.setLink('nosuch0', { up: true }),
        setLinkByIndex: () => rt.setLink(99999, { mtu: 1400 }),
        addAddress: () => rt.addAddress('nosuch0', '10.0.0.1/24'),
        addRoute: () => rt.addRoute({ dst: '10.0.0.0/8', dev: 'nosuch0' }),
        addLinkMaster: () => rt.addLink({ ifname: 'x0', kind: 'bridge', master: 'nosuch0' }),
      };
      for (const [name, f] of Object.entries(tries)) {
        try { await f(); out[name] = 'resolved'; } catch (e) {
          const x = e as { code?: string; errno?: number; name?: string };
          out[name] = { netlinkError: e instanceof lib.NetlinkError, code: x.code, errno: x.errno, name: x.name };
        }
      }
      return out;
    });
    for (const [name, r] of Object.entries(results)) {
      expect(r, name).toEqual({ netlinkError: true, code: 'ENODEV', errno: 19, name: 'NetlinkError' });
    }
    // Nothing was created on the way.
    expect(ipj('-n', A, 'link', 'show').map((l) => l.ifname)).toEqual(['lo']);
    // A namespace that does not exist: ENOENT from opening it (before any request), as ip's "No such file or directory"; nothing left open.
    ip('-n', A, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    const fds = readdirSync('/proc/self/fd').length;
    const e = await ks(A, async (rt) => rt.setLink('va', { netns: `ksock-${process.pid}-nosuch` })).catch((x) => x);
    expect(e).toMatchObject({ code: 'ENOENT' });
    expect(readdirSync('/proc/self/fd').length).toBe(fds);
    expect(ipj('-n', A, 'link', 'show').map((l) => l.ifname)).toContain('va');
  });

  it('extended ack: err.extack is the text ip prints after "Error: ", err.code the errno name', async () => {
    netns(A);
    ip('-n', A, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    ip('-n', A, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', A, 'link', 'set', 'va', 'up');
    const cases: Array<{ ip: string[]; f: (rt: k.RouteNetlink) => Promise<unknown>; code: string }> = [
      // MTU below the device's minimum (a veth's is 68).
      { ip: ['link', 'set', 'va', 'mtu', '10'], f: async (rt) => rt.setLink('va', { mtu: 10 }), code: 'EINVAL' },
      // MTU above the maximum.
      { ip: ['link', 'set', 'va', 'mtu', '70000'], f: async (rt) => rt.setLink('va', { mtu: 70000 }), code: 'EINVAL' },
      // A gateway no route reaches.
      { ip: ['route', 'add', '10.0.0.0/8', 'via', '10.9.9.9'], f: async (rt) => rt.addRoute({ dst: '10.0.0.0/8', gateway: '10.9.9.9' }), code: 'ENETUNREACH' },
      // A link kind the kernel does not know.
      { ip: ['link', 'add', 'x0', 'type', 'nosuchkind'], f: async (rt) => rt.addLink({ ifname: 'x0', kind: 'nosuchkind' }), code: 'EOPNOTSUPP' },
      // Enslaving a bridge to itself.
      { ip: ['link', 'set', 'br0', 'master', 'br0'], f: async (rt) => rt.setLink('br0', { master: 'br0' }), code: 'ELOOP' },
      // Deleting from a table that does not exist, IPv4 and IPv6.
      { ip: ['route', 'del', '10.0.0.0/8', 'table', '200'], f: async (rt) => rt.deleteRoute({ dst: '10.0.0.0/8', table: 200 }), code: 'ESRCH' },
      { ip: ['-6', 'route', 'del', 'fd00::/64', 'table', '200'], f: async (rt) => rt.deleteRoute({ dst: 'fd00::/64', table: 200 }), code: 'ESRCH' },
      // A route through a link that is down (br0 is).
      { ip: ['route', 'add', '10.0.0.0/8', 'dev', 'br0', 'table', '7'], f: async (rt) => rt.addRoute({ dst: '10.0.0.0/8', dev: 'br0', table: 7 }), code: 'ENETDOWN' },
      { ip: ['route', 'add', '10.0.0.0/8', 'via', '10.0.0.1', 'dev', 'br0', 'onlink'], f: async (rt) => rt.addRoute({ dst: '10.0.0.0/8', gateway: '10.0.0.1', dev: 'br0', onlink: true }), code: 'ENETDOWN' },
    ];
    for (const c of cases) {
      const said = ipFails('-n', A, ...c.ip);
      expect(said, `ip ${c.ip.join(' ')}`).toMatch(/^Error: .+\.$/);
      const e: KsError = await ks(A, c.f).catch((x) => x);
      expect(e, c.ip.join(' ')).toBeInstanceOf(k.NetlinkError);
      expect(`Error: ${e.extack}.`, c.ip.join(' ')).toBe(said);
      expect(e.code, c.ip.join(' ')).toBe(c.code);
      expect(e.message).toContain(e.extack);
    }
  });

  it('a dump of many datagrams abandoned with break: the next requests on the session work; no descriptor left open', async () => {
    netns(A);
    const batch = Array.from({ length: 60 }, (_, i) => `link add va${i} type veth peer name vb${i}`);
    execFileSync('ip', ['-n', A, '-batch', '-'], { input: batch.join('\n') + '\n', timeout: 20_000, stdio: ['pipe', 'ignore', 'pipe'] });
    const fds = readdirSync('/proc/self/fd').length, sockets = socketCount();
    const rt = k.RouteNetlink.open({ netns: A });
    expect(socketCount()).toBe(sockets + 1);
    try {
      // The whole dump is more than one datagram (the kernel fills at most 32 KiB each).
      let bytes = 0, count = 0;
      for await (const m of rt.nl.dump(k.constants.RTM_GETLINK!, Buffer.alloc(k.ifinfomsg.size))) { bytes += m.data.length; count++; }
      expect(count).toBe(121);
      expect(bytes).toBeGreaterThan(65536);
      for (let round = 0; round < 3; round++) {
        const seen: string[] = [];
        for await (const m of rt.nl.dump(k.constants.RTM_GETLINK!, Buffer.alloc(k.ifinfomsg.size))) {
          seen.push(k.decodeLink(m).ifname);
          if (seen.length === 1 + round * 50) break;
        }
        expect(seen[0]).toBe('lo');
        // The same session answers the next request, and its next dump is whole and equals ip's.
        expect((await rt.link('va7')).link).toBe('vb7');
        compareLinks(await rt.links() as unknown as Json[], ipj('-n', A, '-d', 'link', 'show'), true);
      }
    } finally {
      await rt.close();
    }
    expect(socketCount()).toBe(sockets);
    expect(readdirSync('/proc/self/fd').length).toBe(fds);
  });

  it('RouteNetlink.monitor({ netns, signal }) sees ip -n NS link add/up/del, addr add/del, route add/del, in order; abort ends it', async () => {
    netns(A);
    const ac = new AbortController();
    const events: Json[] = [];
    const it = k.RouteNetlink.monitor(['link', 'address', 'route'], { netns: A, signal: ac.signal })[Symbol.asyncIterator]();
    // The generator opens and subscribes its session when first asked; read in the background from then on.
    let wake: (() => void) | null = null;
    const reader = (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done) return 'done';
        events.push(r.value);
        wake?.();
      }
    })();
    /** Waits (bounded) until `pred` holds for the events so far. */
    async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
      const end = Date.now() + ms;
      while (!pred()) {
        const left = end - Date.now();
        if (left <= 0) throw new Error(`monitor: timed out waiting for ${what}; got ${JSON.stringify(events)}`);
        await new Promise<void>((r) => { const t = setTimeout(r, Math.min(left, 200)); wake = () => { clearTimeout(t); r(); }; });
      }
    }
    try {
      await new Promise((r) => setTimeout(r, 100)); // the side session's link listing
      ip('-n', A, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
      ip('-n', A, 'link', 'set', 'va', 'up');
      ip('-n', A, 'addr', 'add', '10.1.0.1/24', 'dev', 'va');
      ip('-n', A, 'route', 'add', '10.2.0.0/16', 'via', '10.1.0.2');
      ip('-n', A, 'route', 'del', '10.2.0.0/16');
      ip('-n', A, 'addr', 'del', '10.1.0.1/24', 'dev', 'va');
      ip('-n', A, 'link', 'del', 'va');
      await until(() => events.some((e) => e.kind === 'link' && e.deleted && e.link.ifname === 'va'), 'the deletion');
      const at = (pred: (e: Json) => boolean, what: string): number => {
        const i = events.findIndex(pred);
        expect(i, what).toBeGreaterThanOrEqual(0);
        return i;
      };
      const added = at((e) => e.kind === 'link' && !e.deleted && e.link.ifname === 'va', 'link va added');
      expect(events[added]).toMatchObject({ link: { linkinfo: { info_kind: 'veth' }, link: 'vb' } });
      const up = at((e) => e.kind === 'link' && !e.deleted && e.link.ifname === 'va' && e.link.flags.includes('UP'), 'link va up');
      const addr = at((e) => e.kind === 'address' && !e.deleted && e.address.local === '10.1.0.1', 'address added');
      expect(events[addr]).toMatchObject({ address: { ifname: 'va', prefixlen: 24, family: 'inet', scope: 'global' } });
      const route = at((e) => e.kind === 'route' && !e.deleted && e.route.dst === '10.2.0.0/16', 'route added');
      expect(events[route]).toMatchObject({ route: { gateway: '10.1.0.2', dev: 'va', table: 'main', type: 'unicast', protocol: 'boot' } });
      const routeDel = at((e) => e.kind === 'route' && e.deleted && e.route.dst === '10.2.0.0/16', 'route deleted');
      const addrDel = at((e) => e.kind === 'address' && e.deleted && e.address.local === '10.1.0.1', 'address deleted');
      const linkDel = at((e) => e.kind === 'link' && e.deleted && e.link.ifname === 'va', 'link deleted');
      const order = [added, up, addr, route, routeDel, addrDel, linkDel];
      expect(order).toEqual([...order].sort((x, y) => x - y));
      expect(new Set(order).size).toBe(7);
      // The kernel's own changes come too: the prefix route the address brought.
      expect(events.some((e) => e.kind === 'route' && !e.deleted && e.route.dst === '10.1.0.0/24' && e.route.protocol === 'kernel')).toBe(true);
      // Abort ends the iterator (no error); nothing else arrives.
      ac.abort();
      const ended = await Promise.race([reader, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
      expect(ended).toBe('done');
    } finally {
      ac.abort();
      await Promise.race([reader.catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    }
  });
});
