// A test network in a few lines: network namespaces joined by veth pairs,
// with addresses, forwarding and routes — and all of it removed on dispose,
// on an error while it is being built, or at process exit.
//
//   await using net = await Topology.create({
//     hosts: { client: {}, router: { forwarding: true }, server: {} },
//     links: [{ client: '10.0.1.2/24', router: '10.0.1.1/24' }, { router: '10.0.2.1/24', server: '10.0.2.2/24' }],
//     routes: { client: [{ dst: 'default', gateway: '10.0.1.1' }], server: [{ dst: 'default', gateway: '10.0.2.1' }] },
//   });
//   const s = net.socket('server', 'AF_INET', 'SOCK_DGRAM');
import { netns, type SysctlValue } from './netns';
import { RouteNetlink, type RouteSpec } from './netlink/route';
import { parseIp } from './netlink/codec';
import type { Socket } from './socket';

/** One host of a topology: a network namespace of its own. */
export interface HostSpec {
  /** Forward IPv4 and IPv6 between its interfaces (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding). */
  forwarding?: boolean;
  /** More sysctls to set in the host's namespace (`{ 'net.ipv4.icmp_ratelimit': 0 }`). */
  sysctls?: Record<string, SysctlValue>;
}

/** One end of a link: its address(es) in CIDR form, or the interface in full. */
export type LinkEnd = string | string[] | { ifname?: string; addresses?: string[]; mtu?: number };

/** What `Topology.create` builds. */
export interface TopologySpec {
  /** The hosts, by short name. */
  hosts: Record<string, HostSpec> | string[];
  /** veth pairs, each joining two hosts: `{ a: '10.0.0.1/24', b: '10.0.0.2/24' }`. Interfaces are named eth0, eth1 … per host unless given. */
  links?: Array<Record<string, LinkEnd>>;
  /** Routes per host, as `RouteNetlink.addRoute` takes them (`{ dst: 'default', gateway: '10.0.1.1' }`). */
  routes?: Record<string, RouteSpec[]>;
  /** The namespaces' name prefix; default `ksock-<pid>-<n>`, unique in this process. */
  prefix?: string;
}

/** A host as built: its namespace, and its interfaces by name with their addresses. */
export interface Host {
  /** The namespace's name (under /run/netns). */
  readonly netns: string;
  /** Interface name → the addresses given to it (CIDR). */
  readonly interfaces: Readonly<Record<string, readonly string[]>>;
}

const live = new Set<string>();
let exitHook = false;
let counter = 0;

/** Namespaces still alive at process exit are removed (a test that forgot to dispose leaves nothing). */
function hookExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const ns of live) {
      try { netns.delete(ns); } catch { /* already gone */ }
    }
    live.clear();
  });
}

/** An address with its prefix length ('10.0.0.1/24', 'fd00::1/64'), checked before anything is made. */
function checkCidr(a: unknown, what: string): void {
  const m = typeof a === 'string' ? /^([^/]+)\/(\d{1,3})$/.exec(a) : null;
  const bytes = m ? (() => { try { return parseIp(m[1]!); } catch { return null; } })() : null;
  if (!m || !bytes || Number(m[2]) > bytes.length * 8) {
    throw new TypeError(`${what}: addresses are strings like 10.0.0.1/24 or fd00::1/64, not ${JSON.stringify(a)}`);
  }
}

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/**
 * A network of namespaces for integration tests. Needs CAP_SYS_ADMIN and
 * CAP_NET_ADMIN. `destroy()` (or `await using`) deletes every namespace, and
 * with them every interface; building it either completes or leaves nothing.
 */
export class Topology {
  /** The hosts, by the names the spec gave. */
  readonly hosts: Readonly<Record<string, Host>>;
  private destroyed = false;

  private constructor(hosts: Record<string, Host>) {
    this.hosts = hosts;
  }

  /** Builds the network; on any error, removes what it made and rethrows. */
  static async create(spec: TopologySpec): Promise<Topology> {
    if (typeof spec !== 'object' || spec === null) throw new TypeError('Topology.create: spec must be an object');
    const hostSpecs: Record<string, HostSpec> = Array.isArray(spec.hosts)
      ? Object.fromEntries(spec.hosts.map((h) => [h, {}]))
      : spec.hosts;
    if (typeof hostSpecs !== 'object' || hostSpecs === null) throw new TypeError('Topology.create: hosts must be an object or an array of names');
    const names = Object.keys(hostSpecs);
    if (names.length === 0 || names.length > 64) throw new RangeError('Topology.create: 1 to 64 hosts');
    for (const n of names) if (!HOST_NAME.test(n)) throw new TypeError(`Topology.create: not a host name: ${JSON.stringify(n)}`);
    const prefix = spec.prefix ?? `ksock-${process.pid}-${++counter}`;
    if (typeof prefix !== 'string' || !/^[A-Za-z0-9_.-]{1,200}$/.test(prefix)) throw new TypeError('Topology.create: prefix must be a name');
    const links = spec.links ?? [];
    if (!Array.isArray(links) || links.length > 256) throw new TypeError('Topology.create: links must be an array (at most 256)');
    const routes = spec.routes ?? {};

    // Plan everything before touching the kernel: a bad spec makes nothing.
    const ifaces: Record<string, Record<string, string[]>> = Object.fromEntries(names.map((n) => [n, {}]));
    const counters: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    const plan: Array<Array<{ host: string; ifname: string; addresses: string[]; mtu?: number }>> = [];
    for (const [i, l] of links.entries()) {
      if (typeof l !== 'object' || l === null) throw new TypeError(`Topology.create: links[${i}] must be an object`);
      const ends = Object.entries(l);
      if (ends.length !== 2) throw new TypeError(`Topology.create: links[${i}] must name exactly two hosts`);
      const pair = ends.map(([host, end]) => {
        if (!(host in ifaces)) throw new TypeError(`Topology.create: links[${i}] names an unknown host ${JSON.stringify(host)}`);
        const e = typeof end === 'string' ? { addresses: [end] } : Array.isArray(end) ? { addresses: end } : end;
        if (typeof e !== 'object' || e === null) throw new TypeError(`Topology.create: links[${i}].${host} must be an address or an object`);
        const ifname = e.ifname ?? `eth${counters[host]!++}`;
        if (ifname in ifaces[host]!) throw new TypeError(`Topology.create: ${host} has two interfaces named ${ifname}`);
        const addresses = [...(e.addresses ?? [])];
        for (const a of addresses) checkCidr(a, `Topology.create: links[${i}].${host}`);
        ifaces[host]![ifname] = addresses;
        return { host, ifname, addresses, mtu: e.mtu };
      });
      plan.push(pair);
    }
    for (const h of Object.keys(routes)) if (!(h in ifaces)) throw new TypeError(`Topology.create: routes for an unknown host ${JSON.stringify(h)}`);

    hookExit();
    const hosts: Record<string, Host> = {};
    const made: string[] = [];
    const net = new Topology(hosts);
    (net as { made?: string[] }).made = made;
    try {
      for (const n of names) {
        const ns = `${prefix}-${n}`;
        netns.add(ns);
        made.push(ns);
        live.add(ns);
        hosts[n] = { netns: ns, interfaces: ifaces[n]! };
      }
      // veth pairs, each end created directly in its namespace (from this one).
      const root = RouteNetlink.open();
      try {
        for (const [a, b] of plan) {
          await root.addLink({
            ifname: a!.ifname, kind: 'veth', netns: hosts[a!.host]!.netns,
            peer: { ifname: b!.ifname, netns: hosts[b!.host]!.netns },
          });
        }
      } finally {
        await root.close();
      }
      for (const n of names) {
        const h = hostSpecs[n] ?? {};
        const ns = hosts[n]!.netns;
        if (h.forwarding) {
          netns.sysctl(ns, 'net.ipv4.ip_forward', 1);
          netns.sysctl(ns, 'net.ipv6.conf.all.forwarding', 1);
        }
        for (const [k, v] of Object.entries(h.sysctls ?? {})) netns.sysctl(ns, k, v);
        const rt = RouteNetlink.open({ netns: ns });
        try {
          await rt.setLink('lo', { up: true });
          for (const end of plan.flat().filter((e) => e.host === n)) {
            if (end.mtu !== undefined) await rt.setLink(end.ifname, { mtu: end.mtu });
            for (const cidr of end.addresses) await rt.addAddress(end.ifname, cidr, cidr.includes(':') ? { nodad: true } : {});
            await rt.setLink(end.ifname, { up: true });
          }
          for (const r of routes[n] ?? []) await rt.addRoute(r);
        } finally {
          await rt.close();
        }
      }
    } catch (e) {
      await net.destroy();
      throw e;
    }
    return net;
  }

  private host(name: string): Host {
    const h = this.hosts[name];
    if (!h) throw new TypeError(`no host ${JSON.stringify(name)} in this topology`);
    if (this.destroyed) throw new Error('the topology has been destroyed');
    return h;
  }

  /** The namespace name of a host. */
  netns(host: string): string {
    return this.host(host).netns;
  }

  /** A socket created inside a host's namespace (closed by the caller). */
  socket(host: string, domain: number | string, type: number | string, protocol: number | string = 0): Socket {
    return netns.socket(this.host(host).netns, domain, type, protocol);
  }

  /** An rtnetlink session inside a host's namespace (closed by the caller). */
  rtnl(host: string): RouteNetlink {
    return RouteNetlink.open({ netns: this.host(host).netns });
  }

  /** The first address (without its prefix length) of a host: of `ifname` if given; IPv4 before IPv6 unless `family`. */
  address(host: string, o: { ifname?: string; family?: 'inet' | 'inet6' } = {}): string {
    const h = this.host(host);
    const all = Object.entries(h.interfaces).filter(([i]) => o.ifname === undefined || i === o.ifname).flatMap(([, a]) => a);
    const want = (a: string): boolean => (o.family === 'inet6' ? a.includes(':') : o.family === 'inet' ? !a.includes(':') : true);
    const pick = all.find((a) => want(a) && (o.family !== undefined || !a.includes(':'))) ?? all.find(want);
    if (pick === undefined) throw new TypeError(`host ${host} has no such address`);
    return pick.split('/')[0]!;
  }

  /** Deletes every namespace of the topology (their interfaces go with them). Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const made = (this as { made?: string[] }).made ?? Object.values(this.hosts).map((h) => h.netns);
    let first: unknown;
    for (const ns of made) {
      try {
        if (netns.exists(ns)) netns.delete(ns);
      } catch (e) {
        first ??= e;
      }
      live.delete(ns);
    }
    if (first !== undefined) throw first;
  }

  /** `await using net = await Topology.create(…)` destroys it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
