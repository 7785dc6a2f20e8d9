// The topology helper: namespaces joined by veth pairs, with addresses,
// forwarding and routes, checked with ip(8) and used for real traffic —
// a UDP exchange and a traceroute-style TTL walk (the error queue) across
//
//   client 10.0.1.2 ── 10.0.1.1 router 10.0.2.1 ── 10.0.2.2 server
//
// and always removed: on dispose, on an error midway, at process exit.
// Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN) and ip(8).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { k, capEff } from './helpers';

const { Topology, netns, constants: c } = k;

const caps = capEff();
const hasCaps = ((caps >> 12n) & 1n) === 1n && ((caps >> 21n) & 1n) === 1n;
const hasIp = spawnSync('ip', ['-V'], { timeout: 5000 }).status === 0;
const why = !hasCaps ? 'skipped: needs CAP_NET_ADMIN and CAP_SYS_ADMIN' : !hasIp ? 'skipped: no ip(8)' : 'runs as root with ip(8)';
const prefix = `ksock-${process.pid}-t`;

const ipj = (...args: string[]): any => JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8', timeout: 10_000 }) || '[]');
const ours = (): string[] => netns.list().filter((n: string) => n.startsWith(prefix));

const chain = (p: string) => ({
  prefix: p,
  hosts: { client: {}, router: { forwarding: true, sysctls: { 'net.ipv4.icmp_ratelimit': 0 } }, server: {} },
  links: [
    { client: ['10.0.1.2/24', 'fd01::2/64'], router: ['10.0.1.1/24', 'fd01::1/64'] },
    { router: ['10.0.2.1/24', 'fd02::1/64'], server: ['10.0.2.2/24', 'fd02::2/64'] },
  ],
  routes: {
    client: [{ dst: 'default', gateway: '10.0.1.1' }, { dst: 'default', gateway: 'fd01::1' }],
    server: [{ dst: 'default', gateway: '10.0.2.1' }, { dst: 'default', gateway: 'fd02::1' }],
  },
});

describe.runIf(hasCaps && hasIp)(`Topology (${why})`, () => {
  afterAll(() => {
    for (const ns of ours()) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  });

  it('builds namespaces, veths, addresses and routes that ip(8) reports, and removes them all on dispose', async () => {
    {
      await using net = await Topology.create(chain(`${prefix}1`));
      expect(ours().sort()).toEqual([`${prefix}1-client`, `${prefix}1-router`, `${prefix}1-server`]);
      const ns = net.netns('router');
      const links = ipj('-n', ns, 'link', 'show');
      expect(links.map((l: any) => l.ifname).sort()).toEqual(['eth0', 'eth1', 'lo']);
      for (const l of links) expect(l.flags).toContain('UP');
      const addrs = ipj('-n', ns, 'addr', 'show', 'dev', 'eth1')[0].addr_info.map((a: any) => `${a.local}/${a.prefixlen}`);
      expect(addrs).toEqual(expect.arrayContaining(['10.0.2.1/24', 'fd02::1/64']));
      expect(execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-n', 'net.ipv4.ip_forward'], { encoding: 'utf8' }).trim()).toBe('1');
      const routes = ipj('-n', net.netns('client'), 'route', 'show');
      expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.0.1.1', dev: 'eth0' }));
      // The peer of the client's eth0 is the router's eth0, in the router's namespace.
      expect(net.hosts.client!.interfaces).toEqual({ eth0: ['10.0.1.2/24', 'fd01::2/64'] });
      expect(net.address('server')).toBe('10.0.2.2');
      expect(net.address('server', { family: 'inet6' })).toBe('fd02::2');
    }
    expect(ours()).toEqual([]);
  });

  it('carries a UDP exchange across the router, both families', async () => {
    await using net = await Topology.create(chain(`${prefix}2`));
    for (const [fam, dom] of [['inet', c.AF_INET], ['inet6', c.AF_INET6]] as const) {
      const srv = net.socket('server', dom, 'SOCK_DGRAM').bind({ family: dom, address: net.address('server', { family: fam }), port: 0 });
      const cli = net.socket('client', dom, 'SOCK_DGRAM');
      try {
        await cli.sendmsg({ data: Buffer.from('ping'), to: srv.address() });
        const m = await srv.recvmsg({ size: 64, timeout: 5000 });
        expect(m.data.toString()).toBe('ping');
        expect((m.from as any).address).toBe(net.address('client', { family: fam }));
        await srv.sendmsg({ data: Buffer.from('pong'), to: m.from! });
        const r = await cli.recvmsg({ size: 64, timeout: 5000 });
        expect(r.data.toString()).toBe('pong');
        expect((r.from as any).address).toBe(net.address('server', { family: fam }));
      } finally {
        await cli.close();
        await srv.close();
      }
    }
  });

  it('a TTL walk: hop 1 answers Time Exceeded from the router, hop 2 Port Unreachable from the server (error queue)', async () => {
    await using net = await Topology.create(chain(`${prefix}3`));
    const so = net.socket('client', 'AF_INET', 'SOCK_DGRAM');
    try {
      so.setsockopt('IPPROTO_IP', 'IP_RECVERR', true);
      const hops: string[] = [];
      for (let ttl = 1; ttl <= 3; ttl++) {
        so.setsockopt('IPPROTO_IP', 'IP_TTL', ttl);
        await so.sendmsg({ data: Buffer.from(`probe ${ttl}`), to: { family: c.AF_INET, address: '10.0.2.2', port: 33434 + ttl } });
        let ee: any;
        for (let i = 0; i < 200 && !ee; i++) {
          const m = so.tryRecvmsg({ size: 256, control: true, flags: 'MSG_ERRQUEUE' });
          if (m) ee = m.control.find((x: any) => x.level === c.IPPROTO_IP && x.type === c.IP_RECVERR);
          else await new Promise((r) => setTimeout(r, 10));
        }
        expect(ee, `hop ${ttl}: no ICMP answer in 2 s`).toBeTruthy();
        hops.push(`${ee.offender.address} type ${ee.icmpType} code ${ee.icmpCode}`);
        if (ee.icmpType === 3) break;
      }
      expect(hops).toEqual(['10.0.1.1 type 11 code 0', '10.0.2.2 type 3 code 3']);
    } finally {
      await so.close();
    }
  });

  it('an error midway (a route through an unreachable gateway) leaves no namespace behind', async () => {
    const spec = chain(`${prefix}4`);
    spec.routes.server = [{ dst: 'default', gateway: '10.9.9.9' }] as any;
    await expect(Topology.create(spec)).rejects.toMatchObject({ code: 'ENETUNREACH' });
    expect(ours()).toEqual([]);
  });

  it('a bad spec is a TypeError before anything is made', async () => {
    await expect(Topology.create({ hosts: ['a'], links: [{ a: '10.0.0.1/24', b: '10.0.0.2/24' }] } as any)).rejects.toThrow(TypeError);
    await expect(Topology.create({ hosts: ['a/b'] } as any)).rejects.toThrow(TypeError);
    await expect(Topology.create({ hosts: ['a', 'b'], links: [{ a: 'not-an-address', b: '10.0.0.2/24' }], prefix: `${prefix}5` } as any)).rejects.toThrow(TypeError);
    expect(ours()).toEqual([]);
  });

  it('a process that exits without disposing leaves no namespace behind', () => {
    const script = `
      const { Topology } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))});
      Topology.create({ prefix: ${JSON.stringify(`${prefix}6`)}, hosts: ['a', 'b'], links: [{ a: '10.0.0.1/24', b: '10.0.0.2/24' }] })
        .then(() => { console.log('built'); process.exit(0); });`;
    const r = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...(process.env.KSOCK_NATIVE ? { KSOCK_NATIVE: process.env.KSOCK_NATIVE } : {}) },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('built');
    expect(ours()).toEqual([]);
  });
});
