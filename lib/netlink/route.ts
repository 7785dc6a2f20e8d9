// rtnetlink as `ip` does it: links, addresses, routes and neighbours, listed,
// created, changed and deleted, and monitored. The objects carry the field
// names (and values) of `ip -j` output, so that a user can compare the two.
import { closeSync, openSync } from 'node:fs';
import { constants as c } from '../constants';
import { AttrTable, Struct, decodeAttrs, encodeAttrs, ipFamily, parseIp, type Attrs, type AttrValue, type NlMsg } from './codec';
import { Netlink, NetlinkError, type NetlinkOptions, type RequestOptions } from './socket';

const C = c as Readonly<Record<string, number | undefined>>;
const K = (n: string, d: number): number => C[n] ?? d;
const AF_UNSPEC = 0, AF_INET = K('AF_INET', 2), AF_INET6 = K('AF_INET6', 10);
const RTM_NEWLINK = K('RTM_NEWLINK', 16), RTM_DELLINK = K('RTM_DELLINK', 17), RTM_GETLINK = K('RTM_GETLINK', 18);
const RTM_NEWADDR = K('RTM_NEWADDR', 20), RTM_DELADDR = K('RTM_DELADDR', 21), RTM_GETADDR = K('RTM_GETADDR', 22);
const RTM_NEWROUTE = K('RTM_NEWROUTE', 24), RTM_DELROUTE = K('RTM_DELROUTE', 25), RTM_GETROUTE = K('RTM_GETROUTE', 26);
const RTM_NEWNEIGH = K('RTM_NEWNEIGH', 28), RTM_DELNEIGH = K('RTM_DELNEIGH', 29), RTM_GETNEIGH = K('RTM_GETNEIGH', 30);
const NLM_F_CREATE = K('NLM_F_CREATE', 0x400), NLM_F_EXCL = K('NLM_F_EXCL', 0x200), NLM_F_REPLACE = K('NLM_F_REPLACE', 0x100);
const IFF_UP = K('IFF_UP', 1);
const RT_TABLE_MAIN = K('RT_TABLE_MAIN', 254), RT_TABLE_UNSPEC = 0;
const RTN_UNICAST = K('RTN_UNICAST', 1);
const RTPROT_BOOT = K('RTPROT_BOOT', 3), RTPROT_STATIC = K('RTPROT_STATIC', 4);
const RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = K('RT_SCOPE_LINK', 253), RT_SCOPE_HOST = K('RT_SCOPE_HOST', 254);

// ------------------------------------------------------------ family headers

/** struct ifinfomsg. */
export const ifinfomsg = new Struct<{ family: number; type: number; index: number; flags: number; change: number }>('ifinfomsg',
  [['family', 'u8'], ['type', 'u16'], ['index', 's32'], ['flags', 'u32'], ['change', 'u32']]);
/** struct ifaddrmsg. */
export const ifaddrmsg = new Struct<{ family: number; prefixlen: number; flags: number; scope: number; index: number }>('ifaddrmsg',
  [['family', 'u8'], ['prefixlen', 'u8'], ['flags', 'u8'], ['scope', 'u8'], ['index', 'u32']]);
/** struct rtmsg. */
export const rtmsg = new Struct<{ family: number; dst_len: number; src_len: number; tos: number; table: number; protocol: number; scope: number; type: number; flags: number }>('rtmsg',
  [['family', 'u8'], ['dst_len', 'u8'], ['src_len', 'u8'], ['tos', 'u8'], ['table', 'u8'], ['protocol', 'u8'], ['scope', 'u8'], ['type', 'u8'], ['flags', 'u32']]);
/** struct ndmsg. */
export const ndmsg = new Struct<{ family: number; ifindex: number; state: number; flags: number; type: number }>('ndmsg',
  [['family', 'u8'], ['ifindex', 's32'], ['state', 'u16'], ['flags', 'u8'], ['type', 'u8']]);

// ------------------------------------------------------------ attribute tables

const vlanData = new AttrTable('IFLA_VLAN', { IFLA_VLAN_ID: 'u16', IFLA_VLAN_FLAGS: 'bytes', IFLA_VLAN_PROTOCOL: 'be16' });
const vethData: AttrTable = new AttrTable('VETH_INFO', {}); // filled below (VETH_INFO_PEER carries a link)
const bridgeData = new AttrTable('IFLA_BR', {
  IFLA_BR_FORWARD_DELAY: 'u32', IFLA_BR_HELLO_TIME: 'u32', IFLA_BR_MAX_AGE: 'u32', IFLA_BR_AGEING_TIME: 'u32',
  IFLA_BR_STP_STATE: 'u32', IFLA_BR_PRIORITY: 'u16', IFLA_BR_VLAN_FILTERING: 'u8',
});
const INFO_DATA: Record<string, AttrTable> = { vlan: vlanData, veth: vethData, bridge: bridgeData };

const linkInfo = new AttrTable('IFLA_INFO', {
  IFLA_INFO_KIND: 'string',
  IFLA_INFO_DATA: { kind: 'nested', nested: (p: Attrs) => INFO_DATA[String(p.IFLA_INFO_KIND)] },
  IFLA_INFO_SLAVE_KIND: 'string',
  IFLA_INFO_SLAVE_DATA: 'bytes',
});

/** The IFLA_* attributes of a link. */
export const linkAttrs: AttrTable = new AttrTable('IFLA', {
  IFLA_ADDRESS: 'mac', IFLA_BROADCAST: 'mac', IFLA_PERM_ADDRESS: 'mac', IFLA_IFNAME: 'string', IFLA_MTU: 'u32', IFLA_MIN_MTU: 'u32',
  IFLA_MAX_MTU: 'u32', IFLA_LINK: 's32', IFLA_QDISC: 'string', IFLA_MASTER: 'u32', IFLA_TXQLEN: 'u32', IFLA_OPERSTATE: 'u8',
  IFLA_LINKMODE: 'u8', IFLA_LINKINFO: { kind: 'nested', nested: linkInfo }, IFLA_NET_NS_PID: 'u32', IFLA_NET_NS_FD: 'u32',
  IFLA_IFALIAS: 'string', IFLA_GROUP: 'u32', IFLA_PROMISCUITY: 'u32', IFLA_NUM_TX_QUEUES: 'u32', IFLA_NUM_RX_QUEUES: 'u32',
  IFLA_CARRIER: 'u8', IFLA_CARRIER_CHANGES: 'u32', IFLA_LINK_NETNSID: 's32', IFLA_PROTO_DOWN: 'u8', IFLA_GSO_MAX_SEGS: 'u32',
  IFLA_GSO_MAX_SIZE: 'u32', IFLA_EXT_MASK: 'u32', IFLA_NEW_NETNSID: 's32', IFLA_TARGET_NETNSID: 's32',
  IFLA_STATS64: 'bytes', IFLA_AF_SPEC: 'bytes', IFLA_ALT_IFNAME: 'string', IFLA_PARENT_DEV_NAME: 'string',
});
// VETH_INFO_PEER: an ifinfomsg, then the peer's IFLA_* attributes.
for (const [n, t] of Object.entries({ VETH_INFO_PEER: C.VETH_INFO_PEER })) {
  if (t === undefined) continue;
  const spec = { name: n, type: t, kind: 'nested' as const, nested: linkAttrs, header: ifinfomsg as unknown as Struct<Record<string, number>> };
  vethData.byType.set(t, spec);
  vethData.byName.set(n, spec);
}

/** The IFA_* attributes of an address. */
export const addrAttrs = new AttrTable('IFA', {
  IFA_ADDRESS: 'ip', IFA_LOCAL: 'ip', IFA_LABEL: 'string', IFA_BROADCAST: 'ip', IFA_ANYCAST: 'ip', IFA_CACHEINFO: 'bytes',
  IFA_MULTICAST: 'ip', IFA_FLAGS: 'u32', IFA_RT_PRIORITY: 'u32', IFA_TARGET_NETNSID: 's32',
});

const metrics = new AttrTable('RTAX', { RTAX_MTU: 'u32', RTAX_ADVMSS: 'u32', RTAX_HOPLIMIT: 'u32', RTAX_WINDOW: 'u32', RTAX_LOCK: 'u32' });

/** The RTA_* attributes of a route. */
export const routeAttrs = new AttrTable('RTA', {
  RTA_DST: 'ip', RTA_SRC: 'ip', RTA_IIF: 'u32', RTA_OIF: 'u32', RTA_GATEWAY: 'ip', RTA_PRIORITY: 'u32', RTA_PREFSRC: 'ip',
  RTA_METRICS: { kind: 'nested', nested: metrics }, RTA_MULTIPATH: 'bytes', RTA_FLOW: 'u32', RTA_CACHEINFO: 'bytes', RTA_TABLE: 'u32',
  RTA_MARK: 'u32', RTA_VIA: 'bytes', RTA_PREF: 'u8', RTA_EXPIRES: 'u64', RTA_UID: 'u32', RTA_ENCAP_TYPE: 'u16', RTA_ENCAP: 'bytes',
  RTA_NH_ID: 'u32',
});

/** The NDA_* attributes of a neighbour. */
export const neighAttrs = new AttrTable('NDA', {
  NDA_DST: 'ip', NDA_LLADDR: 'mac', NDA_CACHEINFO: 'bytes', NDA_PROBES: 'u32', NDA_VLAN: 'u16', NDA_IFINDEX: 'u32',
  NDA_MASTER: 'u32', NDA_PROTOCOL: 'u8',
});

// ------------------------------------------------------------ names, as ip prints them

const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'];
const LINK_FLAGS: Array<[string, string]> = [
  ['LOOPBACK', 'IFF_LOOPBACK'], ['BROADCAST', 'IFF_BROADCAST'], ['POINTOPOINT', 'IFF_POINTOPOINT'], ['MULTICAST', 'IFF_MULTICAST'],
  ['NOARP', 'IFF_NOARP'], ['ALLMULTI', 'IFF_ALLMULTI'], ['PROMISC', 'IFF_PROMISC'], ['MASTER', 'IFF_MASTER'], ['SLAVE', 'IFF_SLAVE'],
  ['DEBUG', 'IFF_DEBUG'], ['DYNAMIC', 'IFF_DYNAMIC'], ['AUTOMEDIA', 'IFF_AUTOMEDIA'], ['PORTSEL', 'IFF_PORTSEL'],
  ['NOTRAILERS', 'IFF_NOTRAILERS'], ['UP', 'IFF_UP'], ['LOWER_UP', 'IFF_LOWER_UP'], ['DORMANT', 'IFF_DORMANT'], ['ECHO', 'IFF_ECHO'],
];
const LINK_TYPES: Record<number, string> = {
  0: 'netrom', 1: 'ether', 2: 'eether', 3: 'ax25', 4: 'pronet', 5: 'chaos', 6: 'ieee802', 7: 'arcnet', 8: 'atalk', 15: 'dlci',
  19: 'atm', 23: 'metricom', 24: 'ieee1394', 27: 'eui64', 32: 'infiniband', 256: 'slip', 257: 'cslip', 258: 'slip6', 259: 'cslip6',
  260: 'rsrvd', 264: 'adapt', 270: 'rose', 271: 'x25', 272: 'hwx25', 280: 'can', 512: 'ppp', 513: 'cisco', 516: 'lapb', 517: 'ddcmp',
  518: 'rawhdlc', 519: 'rawip', 768: 'ipip', 769: 'tunnel6', 770: 'frad', 771: 'skip', 772: 'loopback', 773: 'localtlk', 774: 'fddi',
  775: 'bif', 776: 'sit', 777: 'ip/ddp', 778: 'gre', 779: 'pimreg', 780: 'hippi', 781: 'ash', 782: 'econet', 783: 'irda',
  784: 'fcpp', 785: 'fcal', 786: 'fcpl', 787: 'fcfb0', 800: 'tr', 801: 'tr+rd', 802: 'ieee802.11', 803: 'ieee802.11/prism',
  804: 'ieee802.11/radiotap', 805: 'ieee802.15.4', 806: 'ieee802.15.4/monitor', 820: 'phonet', 821: 'phonet_pipe', 822: 'caif',
  823: 'ip6gre', 824: 'netlink', 825: '6lowpan', 826: 'vsockmon', 0xfffe: 'none', 0xffff: 'void',
};
const SCOPES: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };
const TABLES: Record<number, string> = { 0: 'unspec', 253: 'default', 254: 'main', 255: 'local' };
const ROUTE_TYPES = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve'];
const PROTOCOLS: Record<number, string> = {
  0: 'unspec', 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static', 8: 'gated', 9: 'ra', 10: 'mrt', 11: 'zebra', 12: 'bird',
  13: 'dnrouted', 14: 'xorp', 15: 'ntk', 16: 'dhcp', 18: 'keepalived', 42: 'babel', 99: 'openr', 186: 'bgp', 187: 'isis',
  188: 'ospf', 189: 'rip', 192: 'eigrp',
};
const NUD_STATES: Array<[string, number]> = [['INCOMPLETE', 0x01], ['REACHABLE', 0x02], ['STALE', 0x04], ['DELAY', 0x08], ['PROBE', 0x10],
  ['FAILED', 0x20], ['NOARP', 0x40], ['PERMANENT', 0x80]];
const RTNH_FLAGS: Array<[string, number]> = [['dead', 1], ['pervasive', 2], ['onlink', 4], ['offload', 8], ['linkdown', 16], ['unresolved', 32], ['trap', 64]];
const PREFS: Record<number, string> = { 0: 'medium', 1: 'high', 3: 'low' };

const nameOr = (table: Record<number, string>, n: number): string => table[n] ?? String(n);
const familyName = (f: number): string => (f === AF_INET ? 'inet' : f === AF_INET6 ? 'inet6' : String(f));
const bitsOf = (n: string, d: number): number => C[n] ?? d;

/** Reverse lookup: 'main' → 254, '100' → 100. */
function numberOf(table: Record<number, string>, v: string | number, what: string, max = 0xffffffff): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} must be an integer 0..${max}`);
    return v;
  }
  if (typeof v !== 'string') throw new TypeError(`${what} must be a name or a number`);
  for (const [k, name] of Object.entries(table)) if (name === v) return Number(k);
  if (/^\d+$/.test(v) && Number(v) <= max) return Number(v);
  throw new TypeError(`${what}: unknown name ${JSON.stringify(v)}`);
}

// ------------------------------------------------------------ the objects

/** A link, as `ip -j -d link show` prints it. */
export interface Link {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu?: number;
  qdisc?: string;
  master?: string;
  operstate: string;
  linkmode?: string;
  group?: string;
  txqlen?: number;
  link_type: string;
  address?: string;
  broadcast?: string;
  permaddr?: string;
  /** The peer or parent, by name, when it is in this namespace. */
  link?: string | null;
  /** The peer or parent's index, when it is in another namespace (`link_netnsid`). */
  link_index?: number;
  link_netnsid?: number;
  promiscuity?: number;
  min_mtu?: number;
  max_mtu?: number;
  /** The link's kind, and (for a bridge or bond port) its master's kind, as `ip -d` prints them. */
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown>; info_slave_kind?: string };
  gso_max_size?: number;
  gso_max_segs?: number;
  num_tx_queues?: number;
  num_rx_queues?: number;
  ifalias?: string;
  /** Every attribute the kernel sent, decoded (IFLA_* names; not enumerable). */
  readonly attrs: Attrs;
}

/** An address, as one entry of `ip -j addr show`'s `addr_info`, with the link it is on. */
export interface Address {
  ifindex: number;
  ifname?: string;
  family: string;
  local: string;
  /** The peer address, when it differs from `local` (point-to-point). */
  address?: string;
  prefixlen: number;
  broadcast?: string;
  scope: string;
  label?: string;
  valid_life_time?: number;
  preferred_life_time?: number;
  /** Flags as ip prints them: secondary, nodad, dynamic, tentative, noprefixroute … each true when set. */
  [flag: string]: unknown;
}

/** A route, as `ip -j route show table all` prints it (fields ip leaves out by default are always here). */
export interface Route {
  type: string;
  dst: string;
  family: string;
  gateway?: string;
  dev?: string;
  table: string;
  protocol: string;
  scope: string;
  metric?: number;
  prefsrc?: string;
  src?: string;
  tos?: number;
  flags: string[];
  pref?: string;
  mtu?: number;
  /** Every attribute the kernel sent, decoded (RTA_* names; not enumerable). */
  readonly attrs: Attrs;
}

/** A neighbour, as `ip -j neigh show` prints it. */
export interface Neighbour {
  dst: string;
  dev?: string;
  lladdr?: string;
  state: string[];
  router?: boolean;
  proxy?: boolean;
  family: string;
  ifindex: number;
}

/** A change the kernel announced: which kind of object, whether it was deleted, and the object. */
export type RouteEvent =
  | { kind: 'link'; deleted: boolean; link: Link }
  | { kind: 'address'; deleted: boolean; address: Address }
  | { kind: 'route'; deleted: boolean; route: Route }
  | { kind: 'neighbour'; deleted: boolean; neighbour: Neighbour };

/** Adds the decoded attributes as a non-enumerable `attrs` (so that JSON output reads like ip's). */
function withAttrs<T extends object>(o: T, a: Attrs): T & { attrs: Attrs } {
  Object.defineProperty(o, 'attrs', { value: a, enumerable: false, writable: false });
  return o as T & { attrs: Attrs };
}

function decodeLink(m: NlMsg): Link {
  const h = ifinfomsg.decode(m.data);
  const a = decodeAttrs(m.data, ifinfomsg.size, m.data.length, linkAttrs);
  const flags: string[] = [];
  if (h.flags & IFF_UP && !(h.flags & bitsOf('IFF_RUNNING', 0x40))) flags.push('NO-CARRIER');
  for (const [name, cn] of LINK_FLAGS) {
    const bit = C[cn] ?? (cn === 'IFF_LOWER_UP' ? 0x10000 : cn === 'IFF_DORMANT' ? 0x20000 : cn === 'IFF_ECHO' ? 0x40000 : 0);
    if (bit && h.flags & bit) flags.push(name);
  }
  const l = withAttrs({
    ifindex: h.index, ifname: String(a.IFLA_IFNAME ?? ''), flags, operstate: nameOr(OPERSTATES, Number(a.IFLA_OPERSTATE ?? 0)),
    link_type: LINK_TYPES[h.type] ?? `[${h.type}]`,
  }, a) as Link;
  if (typeof a.IFLA_MTU === 'number') l.mtu = a.IFLA_MTU;
  if (typeof a.IFLA_QDISC === 'string') l.qdisc = a.IFLA_QDISC;
  if (typeof a.IFLA_LINKMODE === 'number') l.linkmode = a.IFLA_LINKMODE === 1 ? 'DORMANT' : 'DEFAULT';
  if (typeof a.IFLA_GROUP === 'number') l.group = a.IFLA_GROUP === 0 ? 'default' : String(a.IFLA_GROUP);
  if (typeof a.IFLA_TXQLEN === 'number') l.txqlen = a.IFLA_TXQLEN;
  if (typeof a.IFLA_ADDRESS === 'string') l.address = a.IFLA_ADDRESS;
  if (typeof a.IFLA_BROADCAST === 'string') l.broadcast = a.IFLA_BROADCAST;
  if (typeof a.IFLA_PERM_ADDRESS === 'string' && a.IFLA_PERM_ADDRESS !== a.IFLA_ADDRESS) l.permaddr = a.IFLA_PERM_ADDRESS;
  if (typeof a.IFLA_PROMISCUITY === 'number') l.promiscuity = a.IFLA_PROMISCUITY;
  if (typeof a.IFLA_MIN_MTU === 'number') l.min_mtu = a.IFLA_MIN_MTU;
  if (typeof a.IFLA_MAX_MTU === 'number') l.max_mtu = a.IFLA_MAX_MTU;
  if (typeof a.IFLA_NUM_TX_QUEUES === 'number') l.num_tx_queues = a.IFLA_NUM_TX_QUEUES;
  if (typeof a.IFLA_NUM_RX_QUEUES === 'number') l.num_rx_queues = a.IFLA_NUM_RX_QUEUES;
  if (typeof a.IFLA_GSO_MAX_SIZE === 'number') l.gso_max_size = a.IFLA_GSO_MAX_SIZE;
  if (typeof a.IFLA_GSO_MAX_SEGS === 'number') l.gso_max_segs = a.IFLA_GSO_MAX_SEGS;
  if (typeof a.IFLA_IFALIAS === 'string') l.ifalias = a.IFLA_IFALIAS;
  if (typeof a.IFLA_LINK_NETNSID === 'number') l.link_netnsid = a.IFLA_LINK_NETNSID;
  const info = a.IFLA_LINKINFO as Attrs | undefined;
  if (info && typeof info.IFLA_INFO_KIND === 'string') {
    l.linkinfo = { info_kind: info.IFLA_INFO_KIND };
    if (typeof info.IFLA_INFO_SLAVE_KIND === 'string') l.linkinfo.info_slave_kind = info.IFLA_INFO_SLAVE_KIND;
    const d = info.IFLA_INFO_DATA as Attrs | undefined;
    if (d && info.IFLA_INFO_KIND === 'vlan') {
      l.linkinfo.info_data = { protocol: d.IFLA_VLAN_PROTOCOL === 0x88a8 ? '802.1ad' : '802.1Q', id: d.IFLA_VLAN_ID };
    }
  }
  return l;
}

/**
 * Fills in what needs the other links: master, link, and (given which links
 * are up) ip's M-DOWN flag for a link whose lower link is down.
 */
function nameLinks(l: Link, names: Map<number, string>, up?: ReadonlySet<number>): Link {
  const a = l.attrs;
  if (typeof a.IFLA_MASTER === 'number') l.master = names.get(a.IFLA_MASTER) ?? String(a.IFLA_MASTER);
  // The kernel sends IFLA_LINK only when it differs from the link's own index,
  // or always when the peer is in another namespace (where indexes may coincide).
  if (typeof a.IFLA_LINK === 'number') {
    if (a.IFLA_LINK === 0) l.link = null;
    else if (l.link_netnsid !== undefined) l.link_index = a.IFLA_LINK;
    else {
      l.link = names.get(a.IFLA_LINK) ?? `if${a.IFLA_LINK}`;
      if (up && !up.has(a.IFLA_LINK)) l.flags.push('M-DOWN');
    }
  }
  return l;
}

const IFA_FLAG_NAMES: Array<[string, string, number, boolean]> = [
  // name, constant, fallback bit, IPv6 only
  ['secondary', 'IFA_F_SECONDARY', 0x01, false], ['temporary', 'IFA_F_SECONDARY', 0x01, true], ['nodad', 'IFA_F_NODAD', 0x02, true],
  ['optimistic', 'IFA_F_OPTIMISTIC', 0x04, true], ['dadfailed', 'IFA_F_DADFAILED', 0x08, true], ['home', 'IFA_F_HOMEADDRESS', 0x10, true],
  ['deprecated', 'IFA_F_DEPRECATED', 0x20, true], ['tentative', 'IFA_F_TENTATIVE', 0x40, true], ['permanent', 'IFA_F_PERMANENT', 0x80, true],
  ['mngtmpaddr', 'IFA_F_MANAGETEMPADDR', 0x100, true], ['noprefixroute', 'IFA_F_NOPREFIXROUTE', 0x200, false],
  ['autojoin', 'IFA_F_MCAUTOJOIN', 0x400, false], ['stable-privacy', 'IFA_F_STABLE_PRIVACY', 0x800, true],
];

function decodeAddress(m: NlMsg, names: Map<number, string>): Address {
  const h = ifaddrmsg.decode(m.data);
  const a = decodeAttrs(m.data, ifaddrmsg.size, m.data.length, addrAttrs);
  const local = (a.IFA_LOCAL ?? a.IFA_ADDRESS) as string | undefined;
  const out: Address = { ifindex: h.index, family: familyName(h.family), local: local ?? '', prefixlen: h.prefixlen, scope: nameOr(SCOPES, h.scope) };
  const ifname = names.get(h.index);
  if (ifname !== undefined) out.ifname = ifname;
  if (a.IFA_LOCAL !== undefined && a.IFA_ADDRESS !== undefined && a.IFA_ADDRESS !== a.IFA_LOCAL) out.address = a.IFA_ADDRESS as string;
  if (typeof a.IFA_BROADCAST === 'string') out.broadcast = a.IFA_BROADCAST;
  const flags = typeof a.IFA_FLAGS === 'number' ? a.IFA_FLAGS : h.flags;
  for (const [name, cn, bit, v6only] of IFA_FLAG_NAMES) {
    const mask = C[cn] ?? bit;
    if (name === 'permanent') { if (!(flags & mask)) out.dynamic = true; continue; }
    if (name === 'secondary' && h.family === AF_INET6) continue;
    if (name === 'temporary' && h.family !== AF_INET6) continue;
    if (v6only && h.family !== AF_INET6 && name !== 'temporary') continue;
    if (flags & mask) out[name] = true;
  }
  if (typeof a.IFA_LABEL === 'string') out.label = a.IFA_LABEL;
  const ci = a.IFA_CACHEINFO;
  if (Buffer.isBuffer(ci) && ci.length >= 8) {
    out.valid_life_time = ci.readUInt32LE(4);
    out.preferred_life_time = ci.readUInt32LE(0);
    if (!LE) { out.valid_life_time = ci.readUInt32BE(4); out.preferred_life_time = ci.readUInt32BE(0); }
  }
  return out;
}
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function decodeRoute(m: NlMsg, names: Map<number, string>): Route {
  const h = rtmsg.decode(m.data);
  const a = decodeAttrs(m.data, rtmsg.size, m.data.length, routeAttrs);
  const full = h.family === AF_INET6 ? 128 : 32;
  let dst: string;
  if (typeof a.RTA_DST === 'string') dst = h.dst_len === full ? a.RTA_DST : `${a.RTA_DST}/${h.dst_len}`;
  else dst = h.dst_len === 0 ? 'default' : `0/${h.dst_len}`;
  const table = typeof a.RTA_TABLE === 'number' ? a.RTA_TABLE : h.table;
  const flags: string[] = [];
  for (const [n, bit] of RTNH_FLAGS) if (h.flags & bit) flags.push(n);
  const r = withAttrs({
    type: nameOr(ROUTE_TYPES as unknown as Record<number, string>, h.type), dst, family: familyName(h.family), table: nameOr(TABLES, table),
    protocol: nameOr(PROTOCOLS, h.protocol), scope: nameOr(SCOPES, h.scope), flags,
  }, a) as Route;
  if (typeof a.RTA_GATEWAY === 'string') r.gateway = a.RTA_GATEWAY;
  if (typeof a.RTA_OIF === 'number') r.dev = names.get(a.RTA_OIF) ?? String(a.RTA_OIF);
  if (typeof a.RTA_PRIORITY === 'number') r.metric = a.RTA_PRIORITY;
  if (typeof a.RTA_PREFSRC === 'string') r.prefsrc = a.RTA_PREFSRC;
  if (typeof a.RTA_SRC === 'string') r.src = `${a.RTA_SRC}/${h.src_len}`;
  if (h.tos) r.tos = h.tos;
  if (typeof a.RTA_PREF === 'number') r.pref = nameOr(PREFS, a.RTA_PREF);
  const mx = a.RTA_METRICS as Attrs | undefined;
  if (mx && typeof mx.RTAX_MTU === 'number') r.mtu = mx.RTAX_MTU;
  return r;
}

function decodeNeighbour(m: NlMsg, names: Map<number, string>): Neighbour {
  const h = ndmsg.decode(m.data);
  const a = decodeAttrs(m.data, ndmsg.size, m.data.length, neighAttrs);
  const state: string[] = [];
  for (const [n, bit] of NUD_STATES) if (h.state & bit) state.push(n);
  if (h.state === 0) state.push('NONE');
  const out: Neighbour = { dst: String(a.NDA_DST ?? ''), state, family: familyName(h.family), ifindex: h.ifindex };
  const dev = names.get(h.ifindex);
  if (dev !== undefined) out.dev = dev;
  if (typeof a.NDA_LLADDR === 'string') out.lladdr = a.NDA_LLADDR;
  if (h.flags & bitsOf('NTF_ROUTER', 0x80)) out.router = true;
  if (h.flags & bitsOf('NTF_PROXY', 0x08)) out.proxy = true;
  return out;
}

// ------------------------------------------------------------ requests

/** A link named or numbered. */
export type Dev = string | number;

/** A network namespace for IFLA_NET_NS_FD: a name under /run/netns, a path, `{ fd }` or `{ pid }`. */
export type NetnsTarget = string | { name: string } | { path: string } | { fd: number } | { pid: number };

/** Opens what IFLA_NET_NS_FD / IFLA_NET_NS_PID need; `close` releases it. */
function nsAttr(ns: NetnsTarget): { attrs: Record<string, number>; close: () => void } {
  if (typeof ns === 'object' && ns !== null && 'pid' in ns) {
    if (!Number.isInteger(ns.pid) || ns.pid <= 0) throw new TypeError('netns.pid must be a process id');
    return { attrs: { IFLA_NET_NS_PID: ns.pid }, close: () => undefined };
  }
  if (typeof ns === 'object' && ns !== null && 'fd' in ns) {
    if (!Number.isInteger(ns.fd) || ns.fd < 0) throw new TypeError('netns.fd must be a descriptor');
    return { attrs: { IFLA_NET_NS_FD: ns.fd }, close: () => undefined };
  }
  const path = netnsPath(ns);
  const fd = openSync(path, 'r');
  return { attrs: { IFLA_NET_NS_FD: fd }, close: () => closeSync(fd) };
}

/** The file of a namespace: `/run/netns/NAME`, or the path given. */
export function netnsPath(ns: string | { name: string } | { path: string }): string {
  if (typeof ns === 'string') return ns.startsWith('/') ? ns : netnsPath({ name: ns });
  if (typeof ns === 'object' && ns !== null && 'path' in ns && typeof ns.path === 'string') return ns.path;
  if (typeof ns === 'object' && ns !== null && 'name' in ns && typeof ns.name === 'string') {
    const n = ns.name;
    if (n === '' || n === '.' || n === '..' || n.includes('/') || n.includes('\0') || n.length > 255) {
      throw new TypeError(`not a namespace name: ${JSON.stringify(n)}`);
    }
    return `/run/netns/${n}`;
  }
  throw new TypeError('a network namespace is a name, a path, { name }, { path }, { fd } or { pid }');
}

/** What `addLink` creates. */
export interface LinkSpec {
  /** The new link's name. */
  ifname: string;
  /** veth, dummy, bridge, vlan (or another kind the kernel knows, with `data` as raw attributes). */
  kind: 'veth' | 'dummy' | 'bridge' | 'vlan' | string;
  /** veth: the peer's name, and the namespace to create it in. */
  peer?: { ifname: string; netns?: NetnsTarget; address?: string; mtu?: number };
  /** vlan: the parent link. */
  link?: Dev;
  /** vlan: the VLAN id (1..4094). */
  id?: number;
  /** vlan: '802.1Q' (default) or '802.1ad'. */
  protocol?: '802.1Q' | '802.1ad';
  mtu?: number;
  address?: string;
  txqlen?: number;
  /** Create the link in this namespace. */
  netns?: NetnsTarget;
  /** Enslave it to this bridge or bond. */
  master?: Dev;
  /** Bring it up at once. */
  up?: boolean;
}

/** What `setLink` changes. */
export interface LinkChange {
  up?: boolean;
  mtu?: number;
  ifname?: string;
  address?: string;
  /** A master to enslave to; `null` releases (nomaster). */
  master?: Dev | null;
  /** Move the link to this namespace. */
  netns?: NetnsTarget;
  txqlen?: number;
  promisc?: boolean;
  alias?: string;
}

/** What `addRoute`/`replaceRoute`/`deleteRoute` take. */
export interface RouteSpec {
  /** 'default', '10.1.0.0/16', '10.1.2.3' (a host), 'fd00::/64'. */
  dst: string;
  gateway?: string;
  dev?: Dev;
  /** 'main' (default), 'local', or a number. */
  table?: string | number;
  metric?: number;
  /** 'global'/'link'/'host' or a number; default: link for a route without a gateway, else global. */
  scope?: string | number;
  /** 'static' (default, as `ip route add`… well, ip uses boot), 'kernel', a number. */
  protocol?: string | number;
  /** 'unicast' (default), 'blackhole', 'unreachable', 'prohibit', 'local' … */
  type?: string;
  prefsrc?: string;
  /** IPv4 or IPv6, when `dst` is 'default' and nothing else says (AF_INET). */
  family?: 'inet' | 'inet6';
  onlink?: boolean;
}

/** What `addresses()`, `routes()` and `neighbours()` filter by. */
export interface ListFilter {
  family?: 'inet' | 'inet6';
  dev?: Dev;
}

function famOf(f: 'inet' | 'inet6' | undefined): number {
  if (f === undefined) return AF_UNSPEC;
  if (f === 'inet') return AF_INET;
  if (f === 'inet6') return AF_INET6;
  throw new TypeError("family must be 'inet' or 'inet6'");
}

function parsePrefix(s: string, what: string): { bytes: Buffer; len: number; family: number } {
  if (typeof s !== 'string') throw new TypeError(`${what} must be a string like 10.0.0.1/24`);
  const slash = s.indexOf('/');
  const addr = slash >= 0 ? s.slice(0, slash) : s;
  const bytes = parseIp(addr, what);
  const full = bytes.length * 8;
  let len = full;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > full) throw new RangeError(`${what}: prefix length must be 0..${full}`);
    len = Number(p);
  }
  return { bytes, len, family: bytes.length === 4 ? AF_INET : AF_INET6 };
}

/**
 * rtnetlink, as `ip` does it. `RouteNetlink.open({ netns })` runs the
 * session inside a namespace. Listing methods resolve with arrays (a dump
 * runs to its end); `monitor()` streams changes.
 */
export class RouteNetlink {
  readonly nl: Netlink;

  private constructor(nl: Netlink) { this.nl = nl; }

  /** Opens an rtnetlink session (NETLINK_ROUTE), optionally in a namespace. */
  static open(o: NetlinkOptions = {}): RouteNetlink {
    return new RouteNetlink(Netlink.open('NETLINK_ROUTE', o));
  }

  /** Closes the session. */
  close(): Promise<void> { return this.nl.close(); }
  async [Symbol.asyncDispose](): Promise<void> { await this.close(); }

  private async collect<T>(type: number, header: Buffer, decode: (m: NlMsg) => T, o?: RequestOptions): Promise<T[]> {
    const out: T[] = [];
    for await (const m of this.nl.dump(type, header, o)) out.push(decode(m));
    return out;
  }

  /** The links' names by index (and, into `up`, the indexes of those that are up). */
  private async names(up?: Set<number>): Promise<Map<number, string>> {
    const names = new Map<number, string>();
    for await (const m of this.nl.dump(RTM_GETLINK, hdr(ifinfomsg, {}))) {
      const h = ifinfomsg.decode(m.data);
      const a = decodeAttrs(m.data, ifinfomsg.size, m.data.length, linkAttrs);
      if (typeof a.IFLA_IFNAME === 'string') names.set(h.index, a.IFLA_IFNAME);
      if (up && h.flags & IFF_UP) up.add(h.index);
    }
    return names;
  }

  /** Every link (`ip link show`). */
  async links(o?: RequestOptions): Promise<Link[]> {
    const links = await this.collect(RTM_GETLINK, hdr(ifinfomsg, {}), decodeLink, o);
    const names = new Map(links.map((l) => [l.ifindex, l.ifname]));
    const up = new Set(links.filter((l) => l.flags.includes('UP')).map((l) => l.ifindex));
    return links.map((l) => nameLinks(l, names, up));
  }

  /** One link by name or index (`ip link show dev X`); NetlinkError ENODEV when there is none. */
  async link(dev: Dev, o?: RequestOptions): Promise<Link> {
    const [m] = await this.nl.request(RTM_GETLINK, this.devMessage(dev), o);
    if (!m) throw new NetlinkError({ errno: K('ENODEV', 19) }, 'RTM_GETLINK');
    const l = decodeLink(m);
    const a = l.attrs;
    if (typeof a.IFLA_MASTER === 'number' || typeof a.IFLA_LINK === 'number') {
      const up = new Set<number>();
      return nameLinks(l, await this.names(up), up);
    }
    return l;
  }

  /** The index of a link by name (resolved in this session's namespace). */
  async index(dev: Dev): Promise<number> {
    if (typeof dev === 'number') {
      if (!Number.isInteger(dev) || dev <= 0 || dev > 0x7fffffff) throw new RangeError('a link index is a positive integer');
      return dev;
    }
    return (await this.link(dev)).ifindex;
  }

  private devMessage(dev: Dev, extra: Record<string, unknown> = {}): Buffer[] {
    if (typeof dev === 'number') {
      if (!Number.isInteger(dev) || dev <= 0 || dev > 0x7fffffff) throw new RangeError('a link index is a positive integer');
      return [hdr(ifinfomsg, { index: dev }), encodeAttrs(extra, linkAttrs)];
    }
    checkIfname(dev, 'dev');
    return [hdr(ifinfomsg, {}), encodeAttrs({ IFLA_IFNAME: dev, ...extra }, linkAttrs)];
  }

  /** Creates a link: `addLink({ ifname: 'va', kind: 'veth', peer: { ifname: 'vb', netns: 'blue' } })`. */
  async addLink(spec: LinkSpec, o?: RequestOptions): Promise<void> {
    if (typeof spec !== 'object' || spec === null) throw new TypeError('addLink: spec must be an object');
    checkIfname(spec.ifname, 'addLink: ifname');
    if (typeof spec.kind !== 'string' || !/^[\w.-]{1,32}$/.test(spec.kind)) throw new TypeError('addLink: kind must be a link kind such as veth, dummy, bridge, vlan');
    const closers: Array<() => void> = [];
    try {
      const info: Record<string, unknown> = { IFLA_INFO_KIND: spec.kind };
      const attrs: Record<string, unknown> = { IFLA_IFNAME: spec.ifname };
      if (spec.kind === 'veth' && spec.peer !== undefined) {
        if (typeof spec.peer !== 'object' || spec.peer === null) throw new TypeError('addLink: peer must be an object');
        checkIfname(spec.peer.ifname, 'addLink: peer.ifname');
        const peer: Record<string, unknown> = { header: {}, IFLA_IFNAME: spec.peer.ifname };
        if (spec.peer.mtu !== undefined) peer.IFLA_MTU = spec.peer.mtu;
        if (spec.peer.address !== undefined) peer.IFLA_ADDRESS = spec.peer.address;
        if (spec.peer.netns !== undefined) {
          const ns = nsAttr(spec.peer.netns);
          closers.push(ns.close);
          Object.assign(peer, ns.attrs);
        }
        info.IFLA_INFO_DATA = { VETH_INFO_PEER: peer };
      }
      if (spec.kind === 'vlan') {
        if (spec.link === undefined) throw new TypeError('addLink: a vlan needs link (its parent)');
        if (!Number.isInteger(spec.id) || spec.id! < 0 || spec.id! > 4095) throw new RangeError('addLink: a vlan id is 0..4095');
        attrs.IFLA_LINK = await this.index(spec.link);
        info.IFLA_INFO_DATA = { IFLA_VLAN_ID: spec.id, IFLA_VLAN_PROTOCOL: spec.protocol === '802.1ad' ? 0x88a8 : 0x8100 };
      }
      if (spec.mtu !== undefined) attrs.IFLA_MTU = spec.mtu;
      if (spec.address !== undefined) attrs.IFLA_ADDRESS = spec.address;
      if (spec.txqlen !== undefined) attrs.IFLA_TXQLEN = spec.txqlen;
      if (spec.master !== undefined) attrs.IFLA_MASTER = await this.index(spec.master);
      if (spec.netns !== undefined) {
        const ns = nsAttr(spec.netns);
        closers.push(ns.close);
        Object.assign(attrs, ns.attrs);
      }
      attrs.IFLA_LINKINFO = info;
      const up = spec.up ? { flags: IFF_UP, change: IFF_UP } : {};
      await this.nl.request(RTM_NEWLINK, [hdr(ifinfomsg, up), encodeAttrs(attrs, linkAttrs)], { ...o, flags: NLM_F_CREATE | NLM_F_EXCL | (o?.flags ?? 0) });
    } finally {
      for (const f of closers) f();
    }
  }

  /** Changes a link: up/down, MTU, name, address, master, namespace (`ip link set`). */
  async setLink(dev: Dev, change: LinkChange, o?: RequestOptions): Promise<void> {
    if (typeof change !== 'object' || change === null) throw new TypeError('setLink: change must be an object');
    const closers: Array<() => void> = [];
    try {
      const attrs: Record<string, unknown> = {};
      if (change.mtu !== undefined) attrs.IFLA_MTU = change.mtu;
      if (change.ifname !== undefined) { checkIfname(change.ifname, 'setLink: ifname'); }
      if (change.address !== undefined) attrs.IFLA_ADDRESS = change.address;
      if (change.txqlen !== undefined) attrs.IFLA_TXQLEN = change.txqlen;
      if (change.alias !== undefined) attrs.IFLA_IFALIAS = change.alias;
      if (change.master !== undefined) attrs.IFLA_MASTER = change.master === null ? 0 : await this.index(change.master);
      if (change.netns !== undefined) {
        const ns = nsAttr(change.netns);
        closers.push(ns.close);
        Object.assign(attrs, ns.attrs);
      }
      let flags = 0, mask = 0;
      if (change.up !== undefined) { mask |= IFF_UP; if (change.up) flags |= IFF_UP; }
      if (change.promisc !== undefined) { const p = C.IFF_PROMISC ?? 0x100; mask |= p; if (change.promisc) flags |= p; }
      // By index when renaming (the name attribute is then the new name).
      const index = change.ifname !== undefined || typeof dev === 'number' ? await this.index(dev) : 0;
      if (change.ifname !== undefined) attrs.IFLA_IFNAME = change.ifname;
      const msg = index
        ? [hdr(ifinfomsg, { index, flags, change: mask }), encodeAttrs(attrs, linkAttrs)]
        : [hdr(ifinfomsg, { flags, change: mask }), encodeAttrs({ IFLA_IFNAME: dev, ...attrs }, linkAttrs)];
      await this.nl.request(RTM_NEWLINK, msg, o);
    } finally {
      for (const f of closers) f();
    }
  }

  /** Deletes a link (`ip link del`); a veth takes its peer with it. */
  async deleteLink(dev: Dev, o?: RequestOptions): Promise<void> {
    await this.nl.request(RTM_DELLINK, this.devMessage(dev), o);
  }

  /** Addresses (`ip addr show`), flattened: one object per address, with its link's ifindex and ifname. */
  async addresses(f: ListFilter = {}, o?: RequestOptions): Promise<Address[]> {
    const names = await this.names();
    const index = f.dev === undefined ? 0 : await this.index(f.dev);
    const all = await this.collect(RTM_GETADDR, hdr(ifaddrmsg, { family: famOf(f.family), index }), (m) => decodeAddress(m, names), o);
    return index ? all.filter((a) => a.ifindex === index) : all;
  }

  private async addrMessage(dev: Dev, cidr: string, extra: { broadcast?: string | boolean; peer?: string; label?: string; scope?: string | number; nodad?: boolean; noprefixroute?: boolean } = {}): Promise<Buffer[]> {
    const p = parsePrefix(cidr, 'address');
    const index = await this.index(dev);
    const attrs: Record<string, unknown> = {};
    const local = p.bytes;
    if (p.family === AF_INET) {
      attrs.IFA_LOCAL = local;
      attrs.IFA_ADDRESS = extra.peer !== undefined ? parseIp(extra.peer, 'peer') : local;
      if (extra.broadcast === true && p.len < 31) {
        const b = Buffer.from(local);
        const host = p.len === 0 ? 0xffffffff : (0xffffffff >>> p.len);
        b.writeUInt32BE((b.readUInt32BE(0) | host) >>> 0, 0);
        attrs.IFA_BROADCAST = b;
      } else if (typeof extra.broadcast === 'string') attrs.IFA_BROADCAST = parseIp(extra.broadcast, 'broadcast');
      if (extra.label !== undefined) attrs.IFA_LABEL = extra.label;
    } else {
      attrs.IFA_ADDRESS = extra.peer !== undefined ? parseIp(extra.peer, 'peer') : local;
      if (extra.peer !== undefined) attrs.IFA_LOCAL = local;
    }
    let flags = 0;
    if (extra.nodad) flags |= C.IFA_F_NODAD ?? 0x02;
    if (extra.noprefixroute) flags |= C.IFA_F_NOPREFIXROUTE ?? 0x200;
    if (flags) attrs.IFA_FLAGS = flags;
    const scope = extra.scope === undefined ? (p.family === AF_INET && local[0] === 127 ? RT_SCOPE_HOST : 0) : numberOf(SCOPES, extra.scope, 'scope', 255);
    return [hdr(ifaddrmsg, { family: p.family, prefixlen: p.len, scope, index, flags: flags & 0xff }), encodeAttrs(attrs, addrAttrs)];
  }

  /** Adds an address (`ip addr add 10.0.0.1/24 dev X`); IPv4 gets its broadcast (`brd +`) unless `broadcast: false`. */
  async addAddress(dev: Dev, cidr: string, extra: { broadcast?: string | boolean; peer?: string; label?: string; scope?: string | number; nodad?: boolean; noprefixroute?: boolean } = {}, o?: RequestOptions): Promise<void> {
    const e = { broadcast: true as string | boolean, ...extra };
    await this.nl.request(RTM_NEWADDR, await this.addrMessage(dev, cidr, e), { ...o, flags: NLM_F_CREATE | NLM_F_EXCL | (o?.flags ?? 0) });
  }

  /** Deletes an address (`ip addr del 10.0.0.1/24 dev X`). */
  async deleteAddress(dev: Dev, cidr: string, o?: RequestOptions): Promise<void> {
    await this.nl.request(RTM_DELADDR, await this.addrMessage(dev, cidr, { broadcast: false }), o);
  }

  /** Routes of every table (`ip route show table all`, both families unless `family`). */
  async routes(f: ListFilter & { table?: string | number } = {}, o?: RequestOptions): Promise<Route[]> {
    const names = await this.names();
    const table = f.table === undefined ? RT_TABLE_UNSPEC : numberOf(TABLES, f.table, 'table');
    const all = await this.collect(RTM_GETROUTE, hdr(rtmsg, { family: famOf(f.family), table: table > 255 ? 0 : table }), (m) => decodeRoute(m, names), o);
    let out = all;
    if (f.table !== undefined) out = out.filter((r) => r.table === nameOr(TABLES, table));
    if (f.dev !== undefined) {
      const index = await this.index(f.dev);
      out = out.filter((r) => r.attrs.RTA_OIF === index);
    }
    return out;
  }

  private async routeMessage(r: RouteSpec, deleting: boolean): Promise<Buffer[]> {
    if (typeof r !== 'object' || r === null) throw new TypeError('route must be an object');
    const attrs: Record<string, unknown> = {};
    let family = r.family !== undefined ? famOf(r.family) : 0;
    let dstLen = 0;
    if (r.dst !== 'default') {
      const p = parsePrefix(r.dst, 'dst');
      family = p.family;
      dstLen = p.len;
      attrs.RTA_DST = p.bytes;
    }
    if (r.gateway !== undefined) {
      const g = parseIp(r.gateway, 'gateway');
      const gf = g.length === 4 ? AF_INET : AF_INET6;
      if (family && gf !== family) throw new TypeError('gateway and dst are of different families');
      family = gf;
      attrs.RTA_GATEWAY = g;
    }
    if (r.prefsrc !== undefined) attrs.RTA_PREFSRC = parseIp(r.prefsrc, 'prefsrc');
    if (!family) family = AF_INET;
    if (r.dev !== undefined) attrs.RTA_OIF = await this.index(r.dev);
    if (r.metric !== undefined) attrs.RTA_PRIORITY = r.metric;
    const table = r.table === undefined ? RT_TABLE_MAIN : numberOf(TABLES, r.table, 'table');
    attrs.RTA_TABLE = table;
    const type = r.type === undefined ? RTN_UNICAST : numberOf(ROUTE_TYPES as unknown as Record<number, string>, r.type, 'type', 255);
    const scope = r.scope !== undefined ? numberOf(SCOPES, r.scope, 'scope', 255)
      : deleting ? K('RT_SCOPE_NOWHERE', 255)
        : type === K('RTN_LOCAL', 2) ? RT_SCOPE_HOST
          : r.gateway === undefined && type === RTN_UNICAST ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    const protocol = r.protocol === undefined ? (deleting ? 0 : RTPROT_BOOT) : numberOf(PROTOCOLS, r.protocol, 'protocol', 255);
    const flags = r.onlink ? (C.RTNH_F_ONLINK ?? 4) : 0;
    return [hdr(rtmsg, { family, dst_len: dstLen, table: table > 255 ? 0 : table, protocol, scope, type: deleting && r.type === undefined ? 0 : type, flags }),
      encodeAttrs(attrs, routeAttrs)];
  }

  /** Adds a route (`ip route add`); EEXIST if it is there. */
  async addRoute(r: RouteSpec, o?: RequestOptions): Promise<void> {
    await this.nl.request(RTM_NEWROUTE, await this.routeMessage(r, false), { ...o, flags: NLM_F_CREATE | NLM_F_EXCL | (o?.flags ?? 0) });
  }

  /** Adds or replaces a route (`ip route replace`). */
  async replaceRoute(r: RouteSpec, o?: RequestOptions): Promise<void> {
    await this.nl.request(RTM_NEWROUTE, await this.routeMessage(r, false), { ...o, flags: NLM_F_CREATE | NLM_F_REPLACE | (o?.flags ?? 0) });
  }

  /** Deletes a route (`ip route del`): the first that matches what is given. */
  async deleteRoute(r: RouteSpec, o?: RequestOptions): Promise<void> {
    await this.nl.request(RTM_DELROUTE, await this.routeMessage(r, true), o);
  }

  /** Neighbours (`ip neigh show`; like it, without the NOARP and NONE entries unless `all`). */
  async neighbours(f: ListFilter & { all?: boolean } = {}, o?: RequestOptions): Promise<Neighbour[]> {
    const names = await this.names();
    const index = f.dev === undefined ? 0 : await this.index(f.dev);
    const all = await this.collect(RTM_GETNEIGH, hdr(ndmsg, { family: famOf(f.family), ifindex: index }), (m) => decodeNeighbour(m, names), o);
    return all.filter((n) => (!index || n.ifindex === index) && (f.all || !n.state.every((s) => s === 'NOARP' || s === 'NONE')));
  }

  /**
   * Changes as the kernel announces them (`ip monitor link address route
   * neigh`): opens a second session joined to the groups, and yields events
   * until `signal` aborts or the iterator is closed.
   */
  static async *monitor(what: ReadonlyArray<'link' | 'address' | 'route' | 'neighbour'> = ['link', 'address', 'route'],
    o: NetlinkOptions & { signal?: AbortSignal } = {}): AsyncGenerator<RouteEvent> {
    const groups: string[] = [];
    for (const w of what) {
      if (w === 'link') groups.push('RTNLGRP_LINK');
      else if (w === 'address') groups.push('RTNLGRP_IPV4_IFADDR', 'RTNLGRP_IPV6_IFADDR');
      else if (w === 'route') groups.push('RTNLGRP_IPV4_ROUTE', 'RTNLGRP_IPV6_ROUTE');
      else if (w === 'neighbour') groups.push('RTNLGRP_NEIGH');
      else throw new TypeError(`monitor: unknown kind ${String(w)} (link, address, route, neighbour)`);
    }
    const { signal, ...open } = o;
    const nl = Netlink.open('NETLINK_ROUTE', { ...open, groups: [...(open.groups ?? []), ...groups] });
    const names = new Map<number, string>();
    const up = new Set<number>();
    const onAbort = (): void => { void nl.close(); };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // Names for dev fields: a second session lists the links once; link events keep the map current.
      const side = Netlink.open('NETLINK_ROUTE', { netns: open.netns });
      try {
        for await (const m of side.dump(RTM_GETLINK, hdr(ifinfomsg, {}))) {
          const l = decodeLink(m);
          names.set(l.ifindex, l.ifname);
          if (l.flags.includes('UP')) up.add(l.ifindex);
        }
      } finally { await side.close(); }
      try {
        for await (const m of nl.notifications({ signal })) {
          const ev = eventOf(m, names, up);
          if (ev) yield ev;
        }
      } catch (e) {
        if (signal?.aborted) return; // an abort ends the iteration; it is not an error
        throw e;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await nl.close();
    }
  }
}

function eventOf(m: NlMsg, names: Map<number, string>, up: Set<number>): RouteEvent | null {
  switch (m.type) {
    case RTM_NEWLINK: case RTM_DELLINK: {
      const link = nameLinks(decodeLink(m), names, up);
      if (m.type === RTM_NEWLINK) names.set(link.ifindex, link.ifname);
      if (m.type === RTM_NEWLINK && link.flags.includes('UP')) up.add(link.ifindex); else up.delete(link.ifindex);
      return { kind: 'link', deleted: m.type === RTM_DELLINK, link };
    }
    case RTM_NEWADDR: case RTM_DELADDR: return { kind: 'address', deleted: m.type === RTM_DELADDR, address: decodeAddress(m, names) };
    case RTM_NEWROUTE: case RTM_DELROUTE: return { kind: 'route', deleted: m.type === RTM_DELROUTE, route: decodeRoute(m, names) };
    case RTM_NEWNEIGH: case RTM_DELNEIGH: return { kind: 'neighbour', deleted: m.type === RTM_DELNEIGH, neighbour: decodeNeighbour(m, names) };
    default: return null;
  }
}

function hdr<T extends Record<string, number>>(s: Struct<T>, v: Partial<T>): Buffer {
  const b = Buffer.alloc(s.size);
  s.encode(v, b);
  return b;
}

function checkIfname(n: unknown, what: string): asserts n is string {
  if (typeof n !== 'string' || n === '' || n.length >= (C.IFNAMSIZ ?? 16) || /[\s/:\0]/.test(n) || n === '.' || n === '..') {
    throw new TypeError(`${what} must be an interface name (1 to ${(C.IFNAMSIZ ?? 16) - 1} characters, no '/', ':' or space): ${JSON.stringify(n)}`);
  }
}

export { decodeLink, decodeAddress, decodeRoute, decodeNeighbour, ipFamily, type AttrValue };
