#!/usr/bin/env node
// ksock: what this machine's sockets can do, and small tools built on them.
// `ksock help` prints the usage; COMMANDS below holds each command's.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { lookup } from 'node:dns/promises';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const k = require('../dist/index.js');
const pkg = require('../package.json');
const c = k.constants;

const ADDR_HELP = `ADDR: udp:HOST:PORT (HOST a name, an IPv4 address or [an IPv6 address]), udp4:…, udp6:…,
      unix:/path, unix:@abstract. -4/-6 force the family a name resolves to.`;

/** Each command: its synopsis, what it does, its options (node:util parseArgs), and its help. */
const COMMANDS = {
  doctor: {
    synopsis: 'ksock doctor [--json] [--require NAME,NAME…]',
    about: 'what this machine supports, probed in the kernel',
    options: { json: { type: 'boolean' }, require: { type: 'string', multiple: true } },
    help: `Probes what the kernel accepts (each probe opens and closes its own sockets):
families and socket types, socket options that enable control messages, UDP GRO,
SO_TIMESTAMPING, SO_PEERPIDFD, AF_VSOCK, MPTCP, SCTP, network namespaces, raw and
packet sockets, and unprivileged ICMP (with the reason when it is refused).

  --json               the whole report as JSON; "probes" lists every probe with ok and reason
  --require NAME,…     exit 1 unless every named probe says yes (for CI jobs); names: see --json`,
  },
  ip: {
    synopsis: 'ksock ip [-n NETNS] [-4|-6] [-j [-p]] link|addr|route|neigh [show] [dev IF] [up] [table T] | monitor [link|addr|route|neigh|all]…',
    about: 'links, addresses, routes and neighbours as ip(8) prints them, from rtnetlink',
    options: { netns: { type: 'string', short: 'n' }, ipv4: { type: 'boolean', short: '4' }, ipv6: { type: 'boolean', short: '6' },
      json: { type: 'boolean', short: 'j' }, pretty: { type: 'boolean', short: 'p' } },
    help: `Lists what \`ip link\`, \`ip addr\`, \`ip route\` and \`ip neigh\` list, printed as iproute2 prints it:
the same lines, or with -j the same JSON as \`ip -j\` (the fields ip prints without -d). Objects and
\`show\` may be abbreviated as ip allows (ip a, ip r, ip l). Read-only: to change the network use
ip(8) or RouteNetlink. \`monitor\` prints each change the kernel announces, as \`ip monitor\`
("Deleted " before a removal; with -j one {kind, deleted, …} object a line) until Ctrl-C.

  -n NETNS    inside the named network namespace (/run/netns/NETNS, or a path)
  -4, -6      IPv4 / IPv6 only (ip route lists IPv4 unless -6 or \`table all\`)
  -j, --json  JSON as ip -j prints it;  -p, --pretty  indented
  dev IF      one link, or the addresses, routes or neighbours of IF (\`ip link show lo\` works too)
  up          link, addr: only the links that are up
  table T     route: main (default), local, default, all, or a number`,
  },
  ping: {
    synopsis: 'ksock ping HOST [-c N] [-i SEC] [-W SEC] [-t TTL] [-4|-6]',
    about: 'ICMP echo with kernel-timestamped round trips, printed like ping(8)',
    options: { count: { type: 'string', short: 'c' }, interval: { type: 'string', short: 'i' }, timeout: { type: 'string', short: 'W' },
      ttl: { type: 'string', short: 't' }, ipv4: { type: 'boolean', short: '4' }, ipv6: { type: 'boolean', short: '6' } },
    help: `Sends ICMP echo requests (a raw socket with CAP_NET_RAW, else an unprivileged ICMP socket
where net.ipv4.ping_group_range allows it) and prints each reply and ICMP error as iputils
ping does. Round trips are measured between two kernel timestamps: the transmit timestamp
(SO_TIMESTAMPING, read from the error queue) and the receive timestamp of the reply.

  -c N       stop after N requests (default: until Ctrl-C)
  -i SEC     seconds between requests (default 1)
  -W SEC     seconds to wait for the last reply (default 2)
  -t TTL     IP time to live / IPv6 hop limit of the requests
  -4, -6     resolve HOST to an IPv4 / IPv6 address only`,
  },
  recv: {
    synopsis: 'ksock recv ADDR [-n N] [--pktinfo] [--ttl] [--timestamp] [--creds] [--json] [-4|-6]',
    about: 'receive datagrams and print them with their control data',
    options: { count: { type: 'string', short: 'n' }, pktinfo: { type: 'boolean' }, ttl: { type: 'boolean' }, timestamp: { type: 'boolean' },
      creds: { type: 'boolean' }, json: { type: 'boolean' }, ipv4: { type: 'boolean', short: '4' }, ipv6: { type: 'boolean', short: '6' } },
    help: `Binds ADDR (port 0: the kernel picks one; "listening on" names it, on stderr) and prints
each datagram with its source and the control data asked for.

  -n N          stop after N datagrams
  --pktinfo     destination address and interface (IP_PKTINFO / IPV6_RECVPKTINFO)
  --ttl         TTL / hop limit (IP_RECVTTL / IPV6_RECVHOPLIMIT)
  --timestamp   the kernel's receive timestamp (SO_TIMESTAMPNS)
  --creds       the sender's pid, uid and gid (unix sockets, SO_PASSCRED)
  --json        one JSON object per datagram
  -4, -6        resolve a name in ADDR to an IPv4 / IPv6 address only

${ADDR_HELP}`,
  },
  send: {
    synopsis: 'ksock send ADDR DATA [--ttl N] [--tos N] [--src IP] [--creds] [-4|-6]',
    about: 'send one datagram, with control data',
    options: { ttl: { type: 'string' }, tos: { type: 'string' }, src: { type: 'string' }, creds: { type: 'boolean' },
      ipv4: { type: 'boolean', short: '4' }, ipv6: { type: 'boolean', short: '6' } },
    help: `Sends DATA as one datagram to ADDR, with control items for this message only.

  --ttl N      TTL / hop limit (IP_TTL / IPV6_HOPLIMIT), 1..255
  --tos N      TOS / traffic class (IP_TOS / IPV6_TCLASS), 0..255
  --src IP     source address (IP_PKTINFO / IPV6_PKTINFO), of the destination's family
  --creds      attach the sender's credentials (unix sockets, SCM_CREDENTIALS)
  -4, -6       resolve a name in ADDR to an IPv4 / IPv6 address only

${ADDR_HELP}`,
  },
  'fd-recv': {
    synopsis: 'ksock fd-recv SOCKET [--cat]',
    about: 'wait for a descriptor on a unix socket',
    options: { cat: { type: 'boolean' } },
    help: `Listens on the unix stream socket SOCKET (/path or @abstract), accepts one connection and
describes each descriptor that arrives (SCM_RIGHTS).

  --cat   copy what can be read from the descriptor to stdout`,
  },
  'fd-send': {
    synopsis: 'ksock fd-send SOCKET FILE',
    about: 'send an open descriptor of FILE to a unix socket',
    options: {},
    help: 'Opens FILE for reading and sends its descriptor to SOCKET (/path or @abstract), where fd-recv waits.',
  },
  capture: {
    synopsis: 'ksock capture -i IFACE [-f FILTER] [-c N] [-w FILE] [-s SNAPLEN] [--timeout S]',
    about: 'capture packets on an interface, printed like tcpdump -n or written to a pcap file',
    options: { interface: { type: 'string', short: 'i' }, filter: { type: 'string', short: 'f' }, count: { type: 'string', short: 'c' },
      write: { type: 'string', short: 'w' }, snaplen: { type: 'string', short: 's' }, timeout: { type: 'string' } },
    help: `Opens a packet socket (AF_PACKET, needs CAP_NET_RAW) on IFACE and prints one line per
packet in the format of tcpdump -n (IPv4/IPv6 with UDP, TCP, ICMP, ICMPv6; ARP), or writes
the packets to a classic pcap file that tcpdump -r and Wireshark read. Kernel timestamps
(SO_TIMESTAMPNS); VLAN tags the device stripped are put back (PACKET_AUXDATA).

  -i IFACE      the interface (required)
  -f FILTER     a filter expression compiled to classic BPF and attached in the kernel
                (SO_ATTACH_FILTER), e.g. 'udp and port 5000'
  -c N          stop after N packets
  -w FILE       write a pcap file instead of printing ('-': standard output)
  -s SNAPLEN    bytes kept of each packet (default 262144)
  --timeout S   stop after S seconds
Stops at Ctrl-C too; the counts go to standard error.`,
  },
};

function usage() {
  return `ksock ${pkg.version} — real sockets from Node.js

${Object.values(COMMANDS).map((x) => `  ${x.synopsis}\n      ${x.about}`).join('\n')}

  ksock help COMMAND, ksock COMMAND --help   one command's options
  ksock --version                            the version

${ADDR_HELP} SOCKET: /path or @name.
Exit status: 0 done, 1 failed (or no reply, or a --require missing), 2 bad usage.`;
}

function commandHelp(cmd) {
  const x = COMMANDS[cmd];
  return `usage: ${x.synopsis}\n\n${x.help}`;
}

/** Bad usage: exit code 2, the message names the option and value. `quiet`: no usage line (a name that does not resolve). */
class UsageError extends Error {
  constructor(message, cmd, quiet = false) {
    super(message);
    this.cmd = cmd;
    this.quiet = quiet;
  }
}

function fail(err) {
  if (err instanceof UsageError) {
    const cmd = COMMANDS[err.cmd];
    if (err.quiet) console.error(`ksock: ${err.message}`);
    else console.error(`ksock: ${err.message}\n${cmd ? `usage: ${cmd.synopsis} (ksock help ${err.cmd})` : 'usage: ksock COMMAND … (ksock help)'}`);
    process.exit(2);
  }
  if (err instanceof k.SocketError) {
    console.error(`ksock: ${err.message}${hint(err)}`);
    process.exit(1);
  }
  console.error(`ksock: ${err?.message ?? err}`);
  process.exit(1);
}

/** What a refusal means on this machine, in one clause. */
function hint(err) {
  if (err.code !== 'EPERM' && err.code !== 'EACCES') return '';
  if (err.syscall === 'ping') return '';
  return ' (this needs a privilege: CAP_NET_RAW for raw and packet sockets, CAP_NET_ADMIN for some options)';
}

// ------------------------------------------------------------------ arguments

/** Checks an option's value; `raw` is the option as the user typed it (-c, --count). */
const check = {
  count(raw, v, cmd) {
    if (!/^\d+$/.test(v) || !(Number(v) >= 1)) throw new UsageError(`${raw}: '${v}' is not a positive integer`, cmd);
    return Number(v);
  },
  seconds(raw, v, cmd, { positive = false } = {}) {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || (positive && n === 0)) {
      throw new UsageError(`${raw}: '${v}' is not a number of seconds ${positive ? '> 0' : '>= 0'}`, cmd);
    }
    return n;
  },
  byte(raw, v, cmd, lo, hi) {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < lo || n > hi) throw new UsageError(`${raw}: '${v}' is not an integer from ${lo} to ${hi}`, cmd);
    return n;
  },
};

/** The family -4/-6 ask for: 4, 6 or 0. */
function forcedFamily(o, raw, cmd) {
  if (o.ipv4 && o.ipv6) throw new UsageError(`${raw.ipv4} and ${raw.ipv6} cannot both be given`, cmd);
  return o.ipv4 ? 4 : o.ipv6 ? 6 : 0;
}

/**
 * Resolves HOST to one address of family `want` (0: either) as dns.lookup
 * does (getaddrinfo: /etc/hosts, then DNS). An IP literal of the other family
 * is a usage error naming the option that forced the family.
 */
async function resolve(host, want, why, cmd) {
  const lit = net.isIP(host);
  if (lit) {
    if (want && lit !== want) throw new UsageError(`${why}: '${host}' is not an IPv${want} address`, cmd);
    return { address: host, family: lit, name: null };
  }
  try {
    const r = await lookup(host, { family: want });
    return { address: r.address, family: r.family, name: host };
  } catch (e) {
    const what = e.code === 'ENOTFOUND' || e.code === 'EAI_NONAME' ? 'no such host' : e.code === 'ENODATA' ? `no IPv${want || ''} address` : e.code;
    throw new UsageError(`cannot resolve '${host}'${want ? ` to an IPv${want} address` : ''}: ${what}`, cmd, true);
  }
}

/**
 * Parses ADDR. udp:HOST:PORT, udp4:HOST:PORT, udp6:HOST:PORT with HOST a
 * name, an IPv4 address or [an IPv6 address]; unix:/path, unix:@name.
 */
async function parseAddr(s, o, raw, cmd) {
  if (typeof s !== 'string') throw new UsageError('an address is required: udp:HOST:PORT, udp6:[HOST]:PORT, unix:/path or unix:@name', cmd);
  let m;
  if ((m = /^unix:(.+)$/.exec(s))) return { dom: c.AF_UNIX, addr: { family: c.AF_UNIX, path: m[1].startsWith('@') ? '\0' + m[1].slice(1) : m[1] } };
  m = /^(udp[46]?):(?:\[([^\]]+)\]|([^:[\]]+)):([^:]*)$/.exec(s);
  if (!m) throw new UsageError(`'${s}' is not an address (udp:HOST:PORT, udp6:[HOST]:PORT, unix:/path, unix:@name)`, cmd);
  const [, scheme, bracketed, plain, portText] = m;
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new UsageError(`${s}: '${portText}' is not a port (0..65535)`, cmd);
  if (bracketed !== undefined && net.isIP(bracketed) !== 6) throw new UsageError(`${s}: '[${bracketed}]' is not an IPv6 address`, cmd);
  let want = forcedFamily(o, raw, cmd), why = want ? raw[want === 4 ? 'ipv4' : 'ipv6'] : '';
  const schemeFamily = scheme === 'udp4' ? 4 : scheme === 'udp6' ? 6 : 0;
  if (schemeFamily) {
    if (want && want !== schemeFamily) throw new UsageError(`${why} conflicts with '${scheme}:' in ${s}`, cmd);
    want = schemeFamily;
    why = `${scheme}:`;
  }
  const host = bracketed ?? plain;
  const r = await resolve(host, want, why, cmd);
  const dom = r.family === 6 ? c.AF_INET6 : c.AF_INET;
  return { dom, addr: { family: dom, address: r.address, port: Number(portText) } };
}

// ------------------------------------------------------------------ doctor

function capabilities() {
  try {
    const m = /CapEff:\s+([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (!m) return null;
    const eff = BigInt('0x' + m[1]);
    const has = (bit) => ((eff >> BigInt(bit)) & 1n ? true : false);
    return { CAP_NET_ADMIN: has(12), CAP_NET_RAW: has(13), CAP_SYS_ADMIN: has(21) };
  } catch {
    return null;
  }
}

function pingGroupRange() {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number);
    return { low: lo, high: hi, includesMe: typeof process.getgid === 'function' && process.getgid() >= lo && process.getgid() <= hi };
  } catch {
    return null;
  }
}

function sysctl(name) {
  try {
    return fs.readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim().replace(/\s+/g, ' ');
  } catch {
    return null;
  }
}

const yes = (reason) => ({ ok: true, reason });
const no = (reason) => ({ ok: false, reason });
const unknownConstant = (...names) => {
  const missing = names.filter((n) => c[n] === undefined);
  return missing.length ? no(`${missing.join(', ')} not in this build's headers`) : null;
};

/** Opens a socket, runs `use` on it, closes it: `use`'s answer, or why the socket was refused. */
function withSocket(dom, type, proto, use, refused = (e) => no(`socket: ${e.code}`)) {
  let so;
  try {
    so = k.Socket.create(c[dom], c[type], proto === 0 ? 0 : c[proto] ?? proto);
  } catch (e) {
    if (!(e instanceof k.SocketError)) throw e;
    return refused(e);
  }
  try {
    return use(so);
  } finally {
    so.close();
  }
}

const setopt = (so, level, name, value, said = `setsockopt ${name}`) => {
  try {
    so.setsockopt(level, name, value);
    return yes(`${said} accepted`);
  } catch (e) {
    if (!(e instanceof k.SocketError)) throw e;
    return no(`${said}: ${e.code}${e.code === 'EPERM' ? ' (needs CAP_NET_ADMIN)' : ''}`);
  }
};

/** Why an unprivileged ICMP socket is (not) allowed: the sysctl, and this process's groups. */
function icmpReason(ok) {
  const r = pingGroupRange();
  const groups = [...new Set([process.getgid?.(), ...(process.getgroups?.() ?? [])])].filter((g) => g !== undefined);
  if (!r) return ok ? 'allowed' : 'refused (net.ipv4.ping_group_range unreadable)';
  const range = `net.ipv4.ping_group_range = ${r.low} ${r.high}${r.low > r.high ? ' (empty)' : ''}`;
  if (ok) return `${range} includes ${groups.length > 1 ? `one of gids ${groups.join(', ')}` : `gid ${groups[0]}`}`;
  return `${range} excludes ${groups.length > 1 ? `gids ${groups.join(', ')}` : `gid ${groups[0]}`}`;
}

function netnsProbe(caps) {
  if (!fs.existsSync('/proc/self/ns/net')) return no('no /proc/self/ns/net: this kernel has no network namespaces');
  if (sysctl('user.max_net_namespaces') === '0') return no('user.max_net_namespaces = 0');
  const r = spawnSync('unshare', ['--net', 'true'], { timeout: 5000, stdio: 'ignore' });
  if (r.error?.code !== 'ENOENT') {
    if (r.status === 0) return yes(`unshare --net succeeded${caps?.CAP_SYS_ADMIN ? ' (CAP_SYS_ADMIN)' : ''}`);
    const u = spawnSync('unshare', ['--user', '--map-root-user', '--net', 'true'], { timeout: 5000, stdio: 'ignore' });
    if (u.status === 0) return yes('only inside a user namespace (unshare -Urn); CAP_SYS_ADMIN is missing here');
    return no(`unshare --net failed${caps && !caps.CAP_SYS_ADMIN ? ': needs CAP_SYS_ADMIN' : ''}${sysctl('user.max_user_namespaces') === '0' ? ', and user namespaces are off' : ''}`);
  }
  return caps?.CAP_SYS_ADMIN ? yes('CAP_SYS_ADMIN (unshare(1) not installed: not tried)') : no('needs CAP_SYS_ADMIN');
}

/** Every kernel probe by name: what this kernel accepts, each with its own sockets, closed again. */
function kernelProbes(caps) {
  const P = {};
  const sock = (dom, type, proto, what) => withSocket(dom, type, proto, () => yes(`socket(${what}) accepted`), (e) => no(`socket(${what}): ${e.code}`));
  P.ipv4 = sock('AF_INET', 'SOCK_DGRAM', 0, 'AF_INET, SOCK_DGRAM');
  P.ipv6 = sock('AF_INET6', 'SOCK_DGRAM', 0, 'AF_INET6, SOCK_DGRAM');
  P.raw = unknownConstant('SOCK_RAW') ?? withSocket('AF_INET', 'SOCK_RAW', 'IPPROTO_ICMP', () => yes('raw ICMP socket opened (CAP_NET_RAW)'),
    (e) => no(e.code === 'EPERM' ? 'needs CAP_NET_RAW' : `socket: ${e.code}`));
  P.packet = unknownConstant('AF_PACKET') ?? withSocket('AF_PACKET', 'SOCK_DGRAM', 0, () => yes('packet socket opened (CAP_NET_RAW)'),
    (e) => no(e.code === 'EPERM' ? 'needs CAP_NET_RAW' : `socket: ${e.code}`));
  P.netlink = unknownConstant('AF_NETLINK') ?? sock('AF_NETLINK', 'SOCK_RAW', 0, 'AF_NETLINK, NETLINK_ROUTE');
  P.icmp = withSocket('AF_INET', 'SOCK_DGRAM', 'IPPROTO_ICMP', () => yes(icmpReason(true)),
    (e) => no(e.code === 'EACCES' || e.code === 'EPERM' ? icmpReason(false) : `socket: ${e.code}`));
  P.ping = P.raw.ok ? yes('raw ICMP sockets (CAP_NET_RAW)') : P.icmp.ok ? yes(`unprivileged ICMP sockets: ${P.icmp.reason}`)
    : no(`no CAP_NET_RAW, and ${P.icmp.reason}`);
  P.gro = unknownConstant('UDP_GRO') ?? withSocket('AF_INET', 'SOCK_DGRAM', 0, (so) => setopt(so, 'IPPROTO_UDP', 'UDP_GRO', true));
  P.gso = unknownConstant('UDP_SEGMENT') ?? withSocket('AF_INET', 'SOCK_DGRAM', 0, (so) => setopt(so, 'IPPROTO_UDP', 'UDP_SEGMENT', 1400));
  const tsFlags = ['SOF_TIMESTAMPING_TX_SOFTWARE', 'SOF_TIMESTAMPING_RX_SOFTWARE', 'SOF_TIMESTAMPING_SOFTWARE', 'SOF_TIMESTAMPING_OPT_ID',
    'SOF_TIMESTAMPING_OPT_TSONLY'];
  P.timestamping = unknownConstant('SO_TIMESTAMPING', ...tsFlags) ?? withSocket('AF_INET', 'SOCK_DGRAM', 0,
    (so) => setopt(so, 'SOL_SOCKET', 'SO_TIMESTAMPING', tsFlags.reduce((a, n) => a | c[n], 0), 'setsockopt SO_TIMESTAMPING (software TX+RX, OPT_ID)'));
  P.pidfd = unknownConstant('SO_PEERPIDFD') ?? (() => {
    let pair;
    try {
      pair = k.Socket.socketpair(c.AF_UNIX, c.SOCK_STREAM);
    } catch (e) {
      return no(`socketpair: ${e.code}`);
    }
    try {
      const fd = pair[0].getsockopt('SOL_SOCKET', 'SO_PEERPIDFD');
      if (typeof fd === 'number' && fd >= 0) fs.closeSync(fd);
      return yes('getsockopt SO_PEERPIDFD gave a pidfd');
    } catch (e) {
      if (!(e instanceof k.SocketError)) throw e;
      return no(`getsockopt SO_PEERPIDFD: ${e.code}${e.code === 'ENOPROTOOPT' ? ' (the kernel predates it: Linux 6.5)' : ''}`);
    } finally {
      pair[0].close();
      pair[1].close();
    }
  })();
  P.vsock = unknownConstant('AF_VSOCK') ?? withSocket('AF_VSOCK', 'SOCK_STREAM', 0, () => yes('socket(AF_VSOCK) accepted'),
    (e) => no(`socket(AF_VSOCK): ${e.code}${e.code === 'EAFNOSUPPORT' ? ' (no vsock in this kernel, or its module is not loaded)' : ''}`));
  P.mptcp = unknownConstant('IPPROTO_MPTCP') ?? withSocket('AF_INET', 'SOCK_STREAM', 'IPPROTO_MPTCP', () => yes('socket(IPPROTO_MPTCP) accepted'),
    (e) => no(`socket(IPPROTO_MPTCP): ${e.code}${e.code === 'ENOPROTOOPT' ? ` (net.mptcp.enabled = ${sysctl('net.mptcp.enabled') ?? '?'})`
      : e.code === 'EPROTONOSUPPORT' ? ' (a kernel without MPTCP)' : ''}`));
  P.sctp = unknownConstant('IPPROTO_SCTP') ?? withSocket('AF_INET', 'SOCK_SEQPACKET', 'IPPROTO_SCTP', () => yes('socket(IPPROTO_SCTP) accepted'),
    (e) => no(`socket(IPPROTO_SCTP): ${e.code}${e.code === 'EPROTONOSUPPORT' || e.code === 'ESOCKTNOSUPPORT' ? ' (no SCTP in this kernel: module sctp absent or not loaded)' : ''}`));
  P.netns = netnsProbe(caps);
  return P;
}

/** Control messages: the kernel accepts the option that turns each on. [name, socket, level, option, value] */
const CMSG_PROBES = [
  ['SCM_CREDENTIALS', 'unix', 'SOL_SOCKET', 'SO_PASSCRED', true], ['SCM_TIMESTAMP', 'udp', 'SOL_SOCKET', 'SO_TIMESTAMP', true],
  ['SCM_TIMESTAMPNS', 'udp', 'SOL_SOCKET', 'SO_TIMESTAMPNS', true],
  ['SCM_TIMESTAMPING', 'udp', 'SOL_SOCKET', 'SO_TIMESTAMPING', () => c.SOF_TIMESTAMPING_RX_SOFTWARE | c.SOF_TIMESTAMPING_SOFTWARE],
  ['SO_RXQ_OVFL', 'udp', 'SOL_SOCKET', 'SO_RXQ_OVFL', true], ['SO_MARK', 'udp', 'SOL_SOCKET', 'SO_MARK', 1],
  ['IP_PKTINFO', 'udp', 'IPPROTO_IP', 'IP_PKTINFO', true], ['IP_RECVDSTADDR', 'udp', 'IPPROTO_IP', 'IP_RECVDSTADDR', true],
  ['IP_RECVIF', 'udp', 'IPPROTO_IP', 'IP_RECVIF', true], ['IP_TTL', 'udp', 'IPPROTO_IP', 'IP_RECVTTL', true],
  ['IP_TOS', 'udp', 'IPPROTO_IP', 'IP_RECVTOS', true], ['IP_RECVERR', 'udp', 'IPPROTO_IP', 'IP_RECVERR', true],
  ['IP_ORIGDSTADDR', 'udp', 'IPPROTO_IP', 'IP_RECVORIGDSTADDR', true], ['IPV6_PKTINFO', 'udp6', 'IPPROTO_IPV6', 'IPV6_RECVPKTINFO', true],
  ['IPV6_HOPLIMIT', 'udp6', 'IPPROTO_IPV6', 'IPV6_RECVHOPLIMIT', true], ['IPV6_TCLASS', 'udp6', 'IPPROTO_IPV6', 'IPV6_RECVTCLASS', true],
  ['IPV6_RECVERR', 'udp6', 'IPPROTO_IPV6', 'IPV6_RECVERR', true], ['IPV6_ORIGDSTADDR', 'udp6', 'IPPROTO_IPV6', 'IPV6_RECVORIGDSTADDR', true],
  ['UDP_SEGMENT', 'udp', 'IPPROTO_UDP', 'UDP_SEGMENT', 1400], ['UDP_GRO', 'udp', 'IPPROTO_UDP', 'UDP_GRO', true],
];

function cmsgProbes() {
  const out = {};
  const kinds = { unix: ['AF_UNIX', 'SOCK_DGRAM'], udp: ['AF_INET', 'SOCK_DGRAM'], udp6: ['AF_INET6', 'SOCK_DGRAM'] };
  if (c.SCM_RIGHTS !== undefined) {
    out.SCM_RIGHTS = withSocket('AF_UNIX', 'SOCK_DGRAM', 0, () => yes('unix sockets carry descriptors'), (e) => no(`socket(AF_UNIX): ${e.code}`));
  }
  for (const [name, kind, level, opt, value] of CMSG_PROBES) {
    if (c[name] === undefined && c[opt] === undefined) continue; // not this platform's
    out[name] = unknownConstant(level, opt) ?? withSocket(...kinds[kind], 0,
      (so) => setopt(so, level, opt, typeof value === 'function' ? value() : value), (e) => no(`socket: ${e.code}`));
  }
  return out;
}

function probe(dom, type, proto = 0, refusedWhy = () => 'needs CAP_NET_RAW') {
  if (dom === undefined || type === undefined) return 'absent';
  const aso = { value: null };
  const e = k.socreate(dom, aso, type, proto);
  if (e === 0) {
    k.soclose(aso.value);
    return 'yes';
  }
  const name = k.errnoName(e);
  return name === 'EPERM' || name === 'EACCES' ? `no (${refusedWhy()})` : `no (${name})`;
}

function libc() {
  const h = process.report?.getReport?.().header;
  if (h?.glibcVersionRuntime) return `glibc ${h.glibcVersionRuntime}`;
  if (process.platform === 'linux') return 'musl (or other)';
  return 'system';
}

function doctor(o, raw) {
  const wanted = (o.require ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  const caps = capabilities();
  const icmpWhy = () => icmpReason(false);
  const families = [
    ['AF_UNIX', [['SOCK_STREAM'], ['SOCK_DGRAM'], ['SOCK_SEQPACKET']]],
    ['AF_INET', [['SOCK_STREAM'], ['SOCK_DGRAM'], ['SOCK_RAW', 'IPPROTO_ICMP'], ['SOCK_DGRAM', 'IPPROTO_ICMP', 'ICMP datagram', icmpWhy]]],
    ['AF_INET6', [['SOCK_STREAM'], ['SOCK_DGRAM'], ['SOCK_RAW', 'IPPROTO_ICMPV6'], ['SOCK_DGRAM', 'IPPROTO_ICMPV6', 'ICMPv6 datagram', icmpWhy]]],
    ['AF_PACKET', [['SOCK_RAW'], ['SOCK_DGRAM']]],
    ['AF_NETLINK', [['SOCK_RAW', 'NETLINK_ROUTE', 'route']]],
    ['AF_LINK', []],
  ];
  const table = {};
  for (const [fam, types] of families) {
    if (c[fam] === undefined) {
      table[fam] = null;
      continue;
    }
    table[fam] = {};
    for (const [type, protoName, label, why] of types) {
      table[fam][label ?? type] = probe(c[fam], c[type], protoName ? c[protoName] ?? 0 : 0, why);
    }
  }
  const probes = kernelProbes(caps);
  const cmsgs = cmsgProbes();
  const all = { ...probes, ...cmsgs };
  const byName = new Map(Object.keys(all).map((n) => [n.toLowerCase(), n]));
  const unknown = wanted.filter((n) => !byName.has(n.toLowerCase()));
  if (unknown.length) throw new UsageError(`${raw.require}: no probe named ${unknown.map((n) => `'${n}'`).join(', ')} (probes: ${Object.keys(all).join(', ')})`, 'doctor');
  const missing = wanted.map((n) => byName.get(n.toLowerCase())).filter((n) => !all[n].ok);
  const report = {
    platform: { os: process.platform, kernel: os.release(), arch: process.arch, node: process.version, libc: libc(), napi: process.versions.napi, ksock: pkg.version },
    features: { ...k.features },
    families: table,
    probes,
    controlMessages: Object.keys(cmsgs).filter((n) => cmsgs[n].ok),
    controlMessageProbes: cmsgs,
    privileges: {
      uid: process.getuid?.() ?? null,
      gid: process.getgid?.() ?? null,
      capabilities: caps,
      rawSockets: probes.raw.ok,
      packetSockets: probes.packet.ok,
      icmpDatagram: probes.icmp.ok,
      pingGroupRange: pingGroupRange(),
      namespaces: probes.netns.ok,
    },
    options: k.sockopts.length,
    required: wanted.length ? { names: wanted, missing } : undefined,
  };
  if (o.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    const p = report.platform;
    const line = (a, b) => console.log(`  ${String(a).padEnd(22)} ${b}`);
    console.log(`ksock doctor — ${p.os} ${p.kernel} ${p.arch}, Node ${p.node}, ${p.libc}, N-API ${p.napi}, ksock ${p.ksock}\n`);
    console.log('families and socket types');
    for (const [fam, types] of Object.entries(table)) {
      if (types === null) line(fam, 'absent on this platform');
      else line(fam, Object.entries(types).map(([t, v]) => `${t}: ${v}`).join(', ') || 'present');
    }
    console.log('\nwhat the kernel accepts (each probed with a socket of its own)');
    for (const [n, r] of Object.entries(probes)) line(n, `${r.ok ? 'yes' : 'no '}  ${r.reason}`);
    console.log('\ncontrol messages (the kernel accepts the option that turns each on)');
    line('yes', report.controlMessages.join(' '));
    const refused = Object.entries(cmsgs).filter(([, r]) => !r.ok);
    for (const [n, r] of refused) line(n, `no   ${r.reason}`);
    console.log('\nprivileges');
    const pr = report.privileges;
    line('uid / gid', `${pr.uid} / ${pr.gid}`);
    if (pr.capabilities) line('capabilities', Object.entries(pr.capabilities).map(([n, v]) => `${n} ${v ? 'yes' : 'no'}`).join(', '));
    line('raw sockets', probes.raw.ok ? 'yes' : `no (${probes.raw.reason})`);
    line('packet sockets', probes.packet.ok ? 'yes' : `no (${probes.packet.reason})`);
    line('unprivileged ICMP', `${probes.icmp.ok ? 'yes' : 'no'} (${probes.icmp.reason})`);
    line('network namespaces', `${probes.netns.ok ? 'yes' : 'no'} (${probes.netns.reason})`);
    console.log('\nbuild and kernel features (the library\'s `features`)');
    const f = Object.entries(report.features);
    for (let i = 0; i < f.length; i += 4) line('', f.slice(i, i + 4).map(([n, v]) => `${n} ${v ? 'yes' : 'no'}`).join(', '));
    console.log(`\n  ${report.options} typed socket options`);
  }
  if (missing.length) {
    console.error(`ksock: doctor: required but missing: ${missing.map((n) => `${n} (${all[n].reason})`).join(', ')}`);
    process.exitCode = 1;
  }
}

// ------------------------------------------------------------------ ip

/**
 * `ksock ip`: links, addresses, routes and neighbours printed as iproute2's
 * `ip` prints them (text, or with -j the JSON of `ip -j`, key for key), and
 * `ip monitor`. Everything comes from lib/netlink's RouteNetlink; this block
 * only chooses and orders the fields the way ip does (ip/ipaddress.c,
 * ip/iproute.c, ip/ipneigh.c), leaving out what ip prints only with -d.
 */
const IP_OBJECTS = [['address', 'addr'], ['route'], ['neighbour', 'neigh'], ['neighbor', 'neigh'], ['link'], ['monitor']];
const IP_MONITOR = [['link', 'link'], ['address', 'address'], ['route', 'route'], ['neighbour', 'neighbour'], ['neighbor', 'neighbour'], ['all', 'all']];

function ipArgs(p, o, raw) {
  const cmd = 'ip';
  if (o.ipv4 && o.ipv6) throw new UsageError(`ip: ${raw.ipv4} and ${raw.ipv6} cannot both be given`, cmd);
  const family = o.ipv4 ? 'inet' : o.ipv6 ? 'inet6' : undefined;
  const [objWord, ...args] = p;
  if (objWord === undefined) throw new UsageError('ip: an object is required: link, addr, route, neigh or monitor', cmd);
  const found = objWord === '' ? undefined : IP_OBJECTS.find(([full]) => full.startsWith(objWord));
  if (!found) throw new UsageError(`ip: unknown object '${objWord}' (link, addr, route, neigh, monitor)`, cmd);
  const object = found[1] ?? found[0];
  if (o.netns !== undefined && (o.netns === '' || o.netns === '.' || o.netns === '..' || o.netns.includes('\0') || (!o.netns.startsWith('/') && o.netns.includes('/')))) {
    throw new UsageError(`ip ${raw.netns}: '${o.netns}' is not a namespace name (a name under /run/netns, or a path)`, cmd);
  }
  const q = { object, family, json: !!o.json, pretty: !!o.pretty, netns: o.netns, dev: undefined, table: undefined, kinds: [] };
  if (object === 'monitor') {
    for (const a of args) {
      const kind = IP_MONITOR.find(([full]) => a !== '' && full.startsWith(a))?.[1];
      if (!kind) throw new UsageError(`ip monitor: unknown object '${a}' (link, address, route, neigh, all)`, cmd);
      if (kind === 'all') q.kinds.push('link', 'address', 'route', 'neighbour');
      else q.kinds.push(kind);
    }
    if (q.kinds.length === 0) q.kinds.push('link', 'address', 'route', 'neighbour');
    q.kinds = [...new Set(q.kinds)];
    return q;
  }
  let i = 0;
  if (args[0] !== undefined && ['show', 'list', 'lst'].some((w) => args[0] !== '' && w.startsWith(args[0]))) i = 1;
  else if (args[0] !== undefined && /^(add|del|delete|change|replace|set|flush|get|append|prepend|save|restore)$/.test(args[0])) {
    throw new UsageError(`ip ${objWord} ${args[0]}: ksock ip only shows; to change the network use ip(8) or RouteNetlink`, cmd);
  }
  const keys = object === 'route' ? 'dev IF, table T' : object === 'neigh' ? 'dev IF' : 'dev IF, up';
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === 'dev' || (object === 'route' && (a === 'table' || a === 'oif'))) {
      const v = args[++i];
      if (v === undefined || v === '') throw new UsageError(`ip ${object}: '${a}' needs a value`, cmd);
      if (a === 'table') {
        if (!/^(all|main|local|default|unspec|\d{1,10})$/.test(v) || Number(v) > 0xffffffff) {
          throw new UsageError(`ip route: table '${v}' is not a table (all, main, local, default, or a number)`, cmd);
        }
        q.table = v;
      } else q.dev = checkIfArg(v, q.dev, cmd);
    } else if ((object === 'link' || object === 'addr') && a === 'up') {
      q.up = true; // only the links that are up
    } else if ((object === 'link' || object === 'addr') && !/^(dev|table|type)$/.test(a)) {
      q.dev = checkIfArg(a, q.dev, cmd); // `ip link show lo`
    } else {
      throw new UsageError(`ip ${object}: unknown argument '${a}' (${keys})`, cmd);
    }
  }
  return q;
}

function checkIfArg(v, prev, cmd) {
  if (prev !== undefined) throw new UsageError(`ip: more than one device given ('${prev}', '${v}')`, cmd);
  if (Buffer.byteLength(v) > 127 || /[\s/:\0]/.test(v)) throw new UsageError(`ip: '${v}' is not an interface name`, cmd);
  return v;
}

// Each formatter below returns { json, text }: the object as ip -j prints it, and the text as ip's
// format strings write it (most fields end in a space, as ip's do).
const IP_RT_FLAGS = ['dead', 'onlink', 'pervasive', 'offload', 'trap', 'notify', 'linkdown', 'unresolved', 'rt_offload', 'rt_trap', 'rt_offload_failed'];
const RTAX_NAMES = { RTAX_MTU: 'mtu', RTAX_WINDOW: 'window', RTAX_ADVMSS: 'advmss', RTAX_HOPLIMIT: 'hoplimit' };
const RTAX_BITS = { RTAX_MTU: 2, RTAX_WINDOW: 3, RTAX_ADVMSS: 8, RTAX_HOPLIMIT: 10 };

/** A link as `ip -j link` (mode: true) or the link part of `ip -j addr` (mode: false) prints it; `byIndex` (every link by index) for M-DOWN and @peer. */
function ipLink(l, byIndex, { mode, family, monitor = false }) {
  const a = l.attrs;
  const j = { ifindex: l.ifindex };
  let shown = l.ifname;
  // M-DOWN is decided here, from this command's own link cache (kept current by the monitor's events).
  const flags = l.flags.filter((f) => f !== 'M-DOWN');
  if (typeof a.IFLA_LINK === 'number') {
    const iflink = a.IFLA_LINK;
    if (iflink === 0) { j.link = null; shown += '@NONE'; }
    else if (typeof a.IFLA_LINK_NETNSID === 'number') { j.link_index = iflink; shown += `@if${iflink}`; }
    else {
      const peer = byIndex?.get(iflink);
      const name = peer?.ifname ?? l.link ?? `if${iflink}`;
      j.link = name;
      shown += `@${name}`;
      if (byIndex && !peer?.flags.includes('UP')) flags.push('M-DOWN');
    }
  }
  j.ifname = l.ifname;
  j.flags = flags;
  if (l.mtu !== undefined) j.mtu = l.mtu;
  if (l.qdisc !== undefined) j.qdisc = l.qdisc;
  if (l.master !== undefined) j.master = l.master;
  if (typeof a.IFLA_OPERSTATE === 'number') j.operstate = l.operstate;
  if (mode && l.linkmode !== undefined) j.linkmode = l.linkmode;
  if (l.group !== undefined) j.group = l.group;
  if (l.txqlen && !monitor) j.txqlen = l.txqlen; // ip monitor leaves qlen out
  if (family === undefined) {
    j.link_type = l.link_type;
    if (l.address !== undefined) j.address = l.address;
    if (l.broadcast !== undefined) {
      if (l.flags.includes('POINTOPOINT')) j.link_pointtopoint = true;
      j.broadcast = l.broadcast;
    }
    if (l.permaddr !== undefined) j.permaddr = l.permaddr;
  }
  if (typeof a.IFLA_LINK_NETNSID === 'number') j.link_netnsid = a.IFLA_LINK_NETNSID;
  if (a.IFLA_PROTO_DOWN) j.proto_down = true;
  if (mode && l.ifalias !== undefined) j.ifalias = l.ifalias;
  const alt = altnames(l);
  if (alt) j.altnames = alt;

  let t = `${l.ifindex}: ${shown}: <${flags.join(',')}> `;
  if (j.mtu !== undefined) t += `mtu ${j.mtu} `;
  if (j.qdisc !== undefined) t += `qdisc ${j.qdisc} `;
  if (j.master !== undefined) t += `master ${j.master} `;
  if (j.operstate !== undefined) t += `state ${j.operstate} `;
  if (j.linkmode !== undefined) t += `mode ${j.linkmode} `;
  if (j.group !== undefined) t += `group ${j.group} `;
  if (j.txqlen) t += `qlen ${j.txqlen}`;
  if (family === undefined) {
    t += `\n    link/${j.link_type} `;
    if (j.address !== undefined) t += j.address;
    if (j.broadcast !== undefined) t += `${j.link_pointtopoint ? ' peer ' : ' brd '}${j.broadcast}`;
    if (j.permaddr !== undefined) t += ` permaddr ${j.permaddr}`;
  }
  if (j.link_netnsid !== undefined) t += ` link-netnsid ${j.link_netnsid}`;
  if (j.proto_down) t += ' protodown on ';
  if (j.ifalias !== undefined) t += `\n    alias ${j.ifalias}`;
  for (const n of alt ?? []) t += `\n    altname ${n}`;
  return { json: j, text: t };
}

/** The IFLA_ALT_IFNAME entries of IFLA_PROP_LIST (kept undecoded by the library: a name may repeat the type). */
function altnames(l) {
  const list = c.IFLA_PROP_LIST === undefined ? undefined : l.attrs[String(c.IFLA_PROP_LIST)];
  if (!Buffer.isBuffer(list)) return undefined;
  const names = [];
  for (let off = 0; off + 4 <= list.length;) {
    const len = list.readUInt16LE(off), type = list.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > list.length) break;
    if (type === c.IFLA_ALT_IFNAME) {
      const z = list.indexOf(0, off + 4);
      names.push(list.toString('utf8', off + 4, z >= 0 && z < off + len ? z : off + len));
    }
    off += (len + 3) & ~3;
  }
  return names;
}

const IFA_FLAG_ORDER = ['secondary', 'temporary', 'nodad', 'optimistic', 'dadfailed', 'home', 'deprecated', 'tentative', 'dynamic',
  'mngtmpaddr', 'noprefixroute', 'autojoin', 'stable-privacy'];
const lifetime = (n) => (n === 0xffffffff ? 'forever' : `${n}sec`);

/** One entry of `ip -j addr`'s addr_info, and its two text lines. */
function ipAddr(x) {
  const j = { family: x.family, local: x.local };
  if (x.address !== undefined) j.address = x.address;
  j.prefixlen = x.prefixlen;
  if (x.broadcast !== undefined) j.broadcast = x.broadcast;
  if (x.anycast !== undefined) j.anycast = x.anycast;
  j.scope = x.scope;
  const flags = IFA_FLAG_ORDER.filter((f) => x[f] === true);
  for (const f of flags) j[f] = true;
  if (x.label !== undefined) j.label = x.label;
  let t = `    ${j.family} ${j.local}`;
  if (j.address !== undefined) t += ` peer ${j.address}`;
  t += `/${j.prefixlen} `;
  if (j.broadcast !== undefined) t += `brd ${j.broadcast} `;
  t += `scope ${j.scope} `;
  for (const f of flags) t += `${f} `;
  if (j.label !== undefined) t += j.label;
  if (x.valid_life_time !== undefined) {
    j.valid_life_time = x.valid_life_time;
    j.preferred_life_time = x.preferred_life_time;
    t += `\n       valid_lft ${lifetime(x.valid_life_time)} preferred_lft ${lifetime(x.preferred_life_time)}`;
  }
  return { json: j, text: t };
}

/** A route as `ip -j route` prints it; `tableShown`: whether ip prints the table (not when one was asked for). */
function ipRoute(r, { tableShown, devShown, names }) {
  const a = r.attrs;
  const j = {};
  if (r.type !== 'unicast') j.type = r.type;
  j.dst = r.dst;
  let t = j.type !== undefined ? `${j.type} ` : '';
  t += `${r.dst} `;
  if (r.src !== undefined) {
    const full = r.family === 'inet6' ? '/128' : '/32';
    j.src = r.src.endsWith(full) ? r.src.slice(0, -full.length) : r.src;
    t += `from ${j.src} `;
  }
  if (typeof a.RTA_NH_ID === 'number') { j.nhid = a.RTA_NH_ID; t += `nhid ${j.nhid} `; }
  if (r.tos !== undefined) { j.tos = `0x${r.tos.toString(16).padStart(2, '0')}`; t += `tos ${j.tos} `; }
  if (r.gateway !== undefined) { j.gateway = r.gateway; t += `via ${j.gateway} `; }
  if (r.dev !== undefined && devShown) { j.dev = r.dev; t += `dev ${j.dev} `; }
  if (tableShown && r.table !== 'main') { j.table = r.table; t += `table ${j.table} `; }
  if (r.protocol !== 'boot') { j.protocol = r.protocol; t += `proto ${j.protocol} `; }
  if (r.scope !== 'global') { j.scope = r.scope; t += `scope ${j.scope} `; }
  if (r.prefsrc !== undefined) { j.prefsrc = r.prefsrc; t += `src ${j.prefsrc} `; }
  if (r.metric !== undefined) { j.metric = r.metric; t += `metric ${j.metric} `; }
  j.flags = IP_RT_FLAGS.filter((f) => r.flags.includes(f));
  for (const f of j.flags) t += `${f} `;
  if (typeof a.RTA_MARK === 'number') { j.mark = a.RTA_MARK; t += `mark 0x${a.RTA_MARK.toString(16)} `; }
  const ci = a.RTA_CACHEINFO;
  if (Buffer.isBuffer(ci) && ci.length >= 16) {
    // struct rta_cacheinfo: clntref, lastuse, expires (clock ticks, USER_HZ 100), error.
    const expires = ci.readInt32LE(8), error = ci.readUInt32LE(12);
    if (expires !== 0) { j.expires = Math.trunc(expires / 100); t += `expires ${j.expires}sec `; }
    if (error !== 0) { j.error = error; t += `error ${error} `; }
  }
  const mx = a.RTA_METRICS;
  if (mx && typeof mx === 'object' && !Buffer.isBuffer(mx)) {
    const lock = typeof mx.RTAX_LOCK === 'number' ? mx.RTAX_LOCK : 0;
    const m = {};
    for (const [n, name] of Object.entries(RTAX_NAMES).sort((x, y) => RTAX_BITS[x[0]] - RTAX_BITS[y[0]])) {
      if (typeof mx[n] !== 'number') continue;
      if (n === 'RTAX_HOPLIMIT' && (mx[n] | 0) === -1) continue;
      m[name] = mx[n];
      t += `${name} ${lock & (1 << RTAX_BITS[n]) ? 'lock ' : ''}${mx[n]} `;
    }
    j.metrics = [m];
  }
  if (typeof a.RTA_IIF === 'number') { j.iif = String(a.RTA_IIF); t += `iif ${j.iif} `; }
  if (r.pref !== undefined) { j.pref = r.pref; t += `pref ${j.pref}`; }
  const mp = a.RTA_MULTIPATH;
  if (Buffer.isBuffer(mp)) {
    j.nexthops = [];
    // struct rtnexthop { u16 len; u8 flags; u8 hops; s32 ifindex; } then its RTA_* attributes, each hop 4-aligned.
    for (let off = 0; off + 8 <= mp.length;) {
      const len = mp.readUInt16LE(off), nhFlags = mp[off + 2], hops = mp[off + 3], ifindex = mp.readInt32LE(off + 4);
      if (len < 8 || off + len > mp.length) break;
      const nh = {};
      t += '\n\tnexthop ';
      for (let p = off + 8; p + 4 <= off + len;) {
        const alen = mp.readUInt16LE(p), atype = mp.readUInt16LE(p + 2) & 0x3fff;
        if (alen < 4 || p + alen > off + len) break;
        if (atype === c.RTA_GATEWAY && (alen === 8 || alen === 20)) { nh.gateway = k.formatIp(mp.subarray(p + 4, p + alen)); t += `via ${nh.gateway} `; }
        p += (alen + 3) & ~3;
      }
      nh.dev = names?.get(ifindex) ?? String(ifindex);
      nh.weight = hops + 1;
      t += `dev ${nh.dev} weight ${nh.weight} `;
      nh.flags = IP_RT_FLAGS.filter((f) => nhFlags & RTNH_BITS[f]);
      for (const f of nh.flags) t += `${f} `;
      j.nexthops.push(nh);
      off += (len + 3) & ~3;
    }
  }
  return { json: j, text: t };
}
const RTNH_BITS = { dead: 1, pervasive: 2, onlink: 4, offload: 8, linkdown: 16, unresolved: 32, trap: 64 };

/** A neighbour as `ip -j neigh` prints it (router and proxy are JSON null, as ip writes them). */
function ipNeigh(n, { devShown }) {
  const j = { dst: n.dst };
  let t = `${n.dst} `;
  if (devShown && n.dev !== undefined) { j.dev = n.dev; t += `dev ${n.dev} `; }
  if (n.lladdr !== undefined) { j.lladdr = n.lladdr; t += `lladdr ${n.lladdr} `; }
  if (n.router) { j.router = null; t += 'router '; }
  if (n.proxy) { j.proxy = null; t += 'proxy '; }
  if (!(n.state.length === 1 && n.state[0] === 'NONE')) { j.state = n.state; for (const s of n.state) t += `${s} `; }
  return { json: j, text: t };
}

/** Opens the rtnetlink session, inside NETNS for -n (lib/netns), with errors that say what to do. */
function ipOpen(q) {
  if (q.netns === undefined) return k.RouteNetlink.open();
  const path = q.netns.startsWith('/') ? q.netns : `/run/netns/${q.netns}`;
  if (!fs.existsSync(path)) {
    throw new Error(`ip -n: cannot open network namespace "${q.netns}": ${path} does not exist (see ip netns list)`);
  }
  try {
    return k.RouteNetlink.open({ netns: q.netns });
  } catch (e) {
    if (e instanceof k.SocketError && e.code === 'EINVAL' && e.syscall === 'setns') {
      throw new Error(`ip -n: ${path} is not a network namespace (setns EINVAL)`);
    }
    if (e instanceof TypeError && /namespaces are not supported/.test(e.message)) {
      throw new Error(`ip -n: this build of ksock cannot open a netlink socket inside a namespace (${e.message}); run it under 'ip netns exec ${q.netns}'`);
    }
    throw e;
  }
}

class NoDevice extends Error {}
function ipDevice(links, dev) {
  const l = links.find((x) => x.ifname === dev) ?? links.find((x) => altnames(x)?.includes(dev));
  if (!l) throw new NoDevice(`ip: device "${dev}" does not exist`);
  return l;
}

function ipPrint(q, items, text) {
  if (q.json) console.log(JSON.stringify(items, null, q.pretty ? 4 : undefined));
  else for (const s of text) console.log(s);
}

/**
 * The links as `ip -6 addr` lists them: ip asks for an AF_INET6 link dump,
 * which the kernel answers from IPv6's own table (name, address, MTU, link,
 * operstate: no qdisc, group or master); the queue length ip reads by ioctl.
 */
async function ipLinks6(rt, byIndex) {
  const h = Buffer.alloc(k.ifinfomsg.size);
  k.ifinfomsg.encode({ family: c.AF_INET6 }, h);
  const out = [];
  for await (const m of rt.nl.dump(c.RTM_GETLINK, h)) {
    const l = k.decodeLink(m);
    const full = byIndex.get(l.ifindex);
    if (full?.txqlen !== undefined) l.txqlen = full.txqlen;
    out.push(l);
  }
  return out;
}

async function ipShow(q) {
  const rt = ipOpen(q);
  try {
    const links = await rt.links();
    const byIndex = new Map(links.map((l) => [l.ifindex, l]));
    const dev = q.dev === undefined ? undefined : ipDevice(links, q.dev);
    if (q.object === 'link') {
      const out = (dev ? [dev] : links).filter((l) => !q.up || l.flags.includes('UP')).map((l) => ipLink(l, byIndex, { mode: true }));
      return ipPrint(q, out.map((x) => x.json), out.map((x) => x.text));
    }
    if (q.object === 'addr') {
      const addrs = await rt.addresses(q.family ? { family: q.family } : {});
      const json = [], text = [];
      for (const l of dev ? [dev] : q.family === 'inet6' ? await ipLinks6(rt, byIndex) : links) {
        if (q.up && !l.flags.includes('UP')) continue;
        const mine = addrs.filter((x) => x.ifindex === l.ifindex && (x.family === 'inet' || x.family === 'inet6'));
        if (q.family && mine.length === 0) continue;
        const head = ipLink(l, byIndex, { mode: false, family: q.family });
        const infos = mine.map(ipAddr);
        json.push({ ...head.json, addr_info: infos.map((x) => x.json) });
        text.push([head.text, ...infos.map((x) => x.text)].join('\n'));
      }
      return ipPrint(q, json, text);
    }
    if (q.object === 'route') {
      // ip route: IPv4 unless -6, and both only with `table all`; the main table unless `table`.
      const family = q.family ?? (q.table === 'all' ? undefined : 'inet');
      const table = q.table === undefined ? 'main' : q.table === 'all' ? undefined : q.table;
      const routes = (await rt.routes({ ...(family ? { family } : {}), ...(table !== undefined ? { table: /^\d+$/.test(table) ? Number(table) : table } : {}) }))
        .filter((r) => !dev || r.attrs.RTA_OIF === dev.ifindex);
      const names = new Map(links.map((l) => [l.ifindex, l.ifname]));
      const out = routes.map((r) => ipRoute(r, { tableShown: q.table === undefined || q.table === 'all', devShown: !dev, names }));
      return ipPrint(q, out.map((x) => x.json), out.map((x) => x.text));
    }
    if (q.object === 'neigh') {
      const ns = (await rt.neighbours(q.family ? { family: q.family } : {}))
        .filter((n) => (n.family === 'inet' || n.family === 'inet6') && (!dev || n.ifindex === dev.ifindex));
      const out = ns.map((n) => ipNeigh(n, { devShown: !dev }));
      return ipPrint(q, out.map((x) => x.json), out.map((x) => x.text));
    }
  } finally {
    await rt.close();
  }
}

/** ip monitor: each change as ip prints it ("Deleted " before a removal); with -j, one JSON object a line. */
async function ipMonitor(q) {
  // ip's link cache, for @peer and M-DOWN: the links now, then kept current by the link events.
  const byIndex = new Map();
  const rt = ipOpen(q);
  try {
    for (const l of await rt.links()) byIndex.set(l.ifindex, l);
  } finally {
    await rt.close();
  }
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const o = { signal: ac.signal, ...(q.netns !== undefined ? { netns: q.netns } : {}) };
    for await (const ev of k.RouteNetlink.monitor(q.kinds, o)) {
      let x;
      if (ev.kind === 'link') {
        if (ev.deleted) byIndex.delete(ev.link.ifindex);
        else byIndex.set(ev.link.ifindex, ev.link);
        x = ipLink(ev.link, byIndex, { mode: false, monitor: true });
      }
      else if (ev.kind === 'address') {
        if (q.family && ev.address.family !== q.family) continue;
        const a = ipAddr(ev.address);
        x = { json: { ifindex: ev.address.ifindex, ifname: ev.address.ifname, ...a.json }, text: `${ev.address.ifindex}: ${ev.address.ifname ?? `if${ev.address.ifindex}`}${a.text}` };
      } else if (ev.kind === 'route') {
        if (q.family && ev.route.family !== q.family) continue;
        x = ipRoute(ev.route, { tableShown: true, devShown: true, names: new Map([...byIndex].map(([i, l]) => [i, l.ifname])) });
      } else {
        if (q.family && ev.neighbour.family !== q.family) continue;
        x = ipNeigh(ev.neighbour, { devShown: true });
      }
      if (q.json) console.log(JSON.stringify({ kind: ev.kind, deleted: ev.deleted, [ev.kind]: x.json }));
      else console.log(`${ev.deleted ? 'Deleted ' : ''}${x.text}`);
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

async function ipCommand(p, o, raw) {
  if (k.RouteNetlink === undefined || c.AF_NETLINK === undefined) throw new Error('ip: this platform has no rtnetlink (AF_NETLINK)');
  const q = ipArgs(p, o, raw);
  // A reader that goes away (`ksock ip monitor | head -1`) ends the command, as SIGPIPE ends ip.
  process.stdout.on('error', (e) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
  try {
    if (q.object === 'monitor') return await ipMonitor(q);
    return await ipShow(q);
  } catch (e) {
    if (e instanceof NoDevice || e?.code === 'ENODEV') {
      console.error(`ksock: ${e instanceof NoDevice ? e.message : `ip: device "${q.dev}" does not exist`}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

// ------------------------------------------------------------------ ping

function checksum(b) {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

/** The process clock in ns: only where the kernel gives no timestamp. */
const nowNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
const tsNs = (t) => BigInt(t.sec) * 1000000000n + BigInt(t.nsec ?? t.usec * 1000);

/** An ICMP error as iputils ping prints it (ping4 pr_icmph, ping6 pr_icmph). */
function icmpText(v6, type, code, info) {
  if (v6) {
    switch (type) {
      case 1: return `Destination unreachable: ${['No route', 'Administratively prohibited', 'Beyond scope of source address',
        'Address unreachable', 'Port unreachable'][code] ?? `Unknown code ${code}`}`;
      case 2: return `Packet too big: mtu=${info}${code ? `, code=${code}` : ''}`;
      case 3: return `Time exceeded: ${code === 0 ? 'Hop limit' : code === 1 ? 'Defragmentation failure' : `code ${code}`}`;
      case 4: return `Parameter problem: ${['Wrong header field ', 'Unknown header ', 'Unknown option '][code] ?? `code ${code} `}at ${info}`;
      default: return `Bad ICMP type: ${type}`;
    }
  }
  switch (type) {
    case 3: return code === 4 ? `Frag needed and DF set (mtu = ${info})` : ['Destination Net Unreachable', 'Destination Host Unreachable',
      'Destination Protocol Unreachable', 'Destination Port Unreachable', null, 'Source Route Failed', 'Destination Net Unknown',
      'Destination Host Unknown', 'Source Host Isolated', 'Destination Net Prohibited', 'Destination Host Prohibited',
      'Destination Net Unreachable for Type of Service', 'Destination Host Unreachable for Type of Service', 'Packet filtered',
      'Precedence Violation', 'Precedence Cutoff'][code] ?? `Dest Unreachable, Bad Code: ${code}`;
    case 4: return 'Source Quench';
    case 5: return ['Redirect Network', 'Redirect Host', 'Redirect Type of Service and Network', 'Redirect Type of Service and Host'][code] ??
      `Redirect, Bad Code: ${code}`;
    case 11: return code === 0 ? 'Time to live exceeded' : code === 1 ? 'Frag reassembly time exceeded' : `Time exceeded, Bad Code: ${code}`;
    case 12: return `Parameter problem: pointer = ${info >>> 24}`;
    default: return `Bad ICMP type: ${type}`;
  }
}

/**
 * Transmit timestamps: SO_TIMESTAMPING with a software transmit stamp and an
 * ID per send (OPT_ID), data left out of the error queue (OPT_TSONLY). Null,
 * with the reason, when this build or this kernel has none.
 */
function txTimestamping(so) {
  const want = ['SOF_TIMESTAMPING_TX_SOFTWARE', 'SOF_TIMESTAMPING_RX_SOFTWARE', 'SOF_TIMESTAMPING_SOFTWARE', 'SOF_TIMESTAMPING_OPT_ID',
    'SOF_TIMESTAMPING_OPT_TSONLY'];
  const missing = ['SO_TIMESTAMPING', 'SCM_TIMESTAMPING', 'MSG_ERRQUEUE', ...want].filter((n) => c[n] === undefined);
  if (missing.length) return { ok: false, why: `${missing.join(', ')} not in this build` };
  try {
    so.setsockopt('SOL_SOCKET', 'SO_TIMESTAMPING', want.reduce((a, n) => a | c[n], 0));
    return { ok: true };
  } catch (e) {
    return { ok: false, why: `SO_TIMESTAMPING refused: ${e.code}` };
  }
}

async function ping(host, o, raw) {
  const cmd = 'ping';
  const count = o.count === undefined ? Infinity : check.count(raw.count, o.count, cmd);
  const interval = o.interval === undefined ? 1000 : check.seconds(raw.interval, o.interval, cmd) * 1000;
  const linger = o.timeout === undefined ? 2000 : check.seconds(raw.timeout, o.timeout, cmd, { positive: true }) * 1000;
  const ttl = o.ttl === undefined ? undefined : check.byte(raw.ttl, o.ttl, cmd, 1, 255);
  const want = forcedFamily(o, raw, cmd);
  const target = await resolve(host, want, want ? raw[want === 4 ? 'ipv4' : 'ipv6'] : '', cmd);
  const address = target.address;
  const v6 = target.family === 6;
  const dom = v6 ? c.AF_INET6 : c.AF_INET;
  const proto = v6 ? c.IPPROTO_ICMPV6 : c.IPPROTO_ICMP;
  let so, isRaw = true;
  try {
    so = k.Socket.create(dom, c.SOCK_RAW, proto);
  } catch {
    isRaw = false;
    try {
      so = k.Socket.create(dom, c.SOCK_DGRAM, proto);
    } catch (e2) {
      if (e2.code !== 'EPERM' && e2.code !== 'EACCES') throw e2;
      const r = pingGroupRange();
      throw new Error(`ping ${e2.code}: raw ICMP sockets need CAP_NET_RAW, and unprivileged ICMP is not allowed for group ` +
        `${process.getgid?.()}${r ? ` (net.ipv4.ping_group_range = ${r.low} ${r.high})` : ''}`);
    }
  }
  const ERRQUEUE = c.MSG_ERRQUEUE;
  const recverr = ERRQUEUE !== undefined && (v6 ? c.IPV6_RECVERR : c.IP_RECVERR) !== undefined;
  if (recverr) so.setsockopt(v6 ? 'IPPROTO_IPV6' : 'IPPROTO_IP', v6 ? 'IPV6_RECVERR' : 'IP_RECVERR', true);
  if (v6) so.setsockopt('IPPROTO_IPV6', 'IPV6_RECVHOPLIMIT', true);
  else so.setsockopt('IPPROTO_IP', 'IP_RECVTTL', true);
  if (ttl !== undefined) so.setsockopt(v6 ? 'IPPROTO_IPV6' : 'IPPROTO_IP', v6 ? 'IPV6_UNICAST_HOPS' : 'IP_TTL', ttl);
  const tx = txTimestamping(so);
  // The receive stamp: SCM_TIMESTAMPING when that is on, SCM_TIMESTAMPNS as well (or instead).
  if (c.SO_TIMESTAMPNS !== undefined) so.setsockopt('SOL_SOCKET', 'SO_TIMESTAMPNS', true);
  else so.setsockopt('SOL_SOCKET', 'SO_TIMESTAMP', true);
  const id = process.pid & 0xffff;
  const to = { family: dom, address, port: 0 };
  const payload = Buffer.alloc(56, 0x61);
  const notes = [isRaw ? '' : 'unprivileged ICMP socket', tx.ok ? '' : `send times from the process clock (${tx.why})`].filter(Boolean);
  const note = notes.length ? ` (ksock: ${notes.join('; ')})` : '';
  const shown = target.name ?? address;
  console.log(v6 ? `PING ${shown}(${address}) ${payload.length} data bytes${note}` : `PING ${shown} (${address}) ${payload.length}(${payload.length + 28}) bytes of data.${note}`);

  const rtts = [];
  let sent = 0, errors = 0, unstamped = 0;
  // The last KEEP requests by seq: send times (process clock, kernel stamp) and whether a reply or an error came.
  const KEEP = 1024;
  const sendTime = new Map(); // seq -> { js, kernel, replied, failed }
  const keyToSeq = new Map(); // OPT_ID key -> seq
  let pending = 0; // requests with neither a reply nor an error yet
  const settle = (t, how) => {
    if (!t.replied && !t.failed) pending--;
    t[how] = true;
  };
  const from = (a) => (a === address && target.name ? `${target.name} (${a})` : a);
  const replyType = v6 ? 129 : 0;

  const onReply = (msg) => {
    let icmp = msg.data;
    if (isRaw && !v6) icmp = icmp.subarray((icmp[0] & 0x0f) * 4);
    if (icmp.length < 8) return;
    if (icmp[0] !== replyType) {
      // ICMP errors reach a raw socket as packets too; the error queue reports them (below), except where there is none.
      if (!recverr && isRaw) onRawError(icmp, msg.from?.address);
      return;
    }
    if (isRaw && icmp.readUInt16BE(4) !== id) return; // unprivileged sockets: the kernel owns the id
    const seq = icmp.readUInt16BE(6);
    const t = sendTime.get(seq);
    if (!t) return;
    const dup = t.replied;
    settle(t, 'replied');
    const stamping = msg.control.find((x) => x.level === c.SOL_SOCKET && x.type === c.SCM_TIMESTAMPING && x.timestamps?.[0]?.sec);
    const ts = stamping?.timestamps[0] ?? msg.control.find((x) => x.level === c.SOL_SOCKET && (x.type === c.SCM_TIMESTAMPNS || x.type === c.SCM_TIMESTAMP));
    const t1 = ts ? tsNs(ts) : nowNs();
    const rtt = Number(t1 - (t.kernel ?? t.js)) / 1e6;
    if (!dup) rtts.push(rtt);
    if (tx.ok && t.kernel === undefined) unstamped++;
    const hop = msg.control.find((x) => x.ttl !== undefined || x.hoplimit !== undefined);
    const ttlText = hop ? `ttl=${hop.ttl ?? hop.hoplimit} ` : '';
    console.log(`${icmp.length} bytes from ${from(msg.from?.address ?? address)}: icmp_seq=${seq} ${ttlText}time=${rtt.toFixed(3)} ms${dup ? ' (DUP!)' : ''}`);
  };

  const onError = (seq, text, who) => {
    const t = sendTime.get(seq);
    if (!t) return;
    settle(t, 'failed');
    errors++;
    console.log(`From ${who ? from(who) : address} icmp_seq=${seq} ${text}`);
  };

  // An ICMP error packet on a raw socket (used only where there is no error queue).
  const onRawError = (icmp, who) => {
    const inner = v6 ? icmp.subarray(8) : icmp.subarray(8 + ((icmp[8] ?? 0) & 0x0f) * 4);
    const innerIcmp = v6 ? inner.subarray(40) : inner;
    if (innerIcmp.length < 8 || innerIcmp.readUInt16BE(4) !== id) return;
    onError(innerIcmp.readUInt16BE(6), icmpText(v6, icmp[0], icmp[1], icmp.readUInt32BE(4)), who);
  };

  const onErrqueue = (m) => {
    const ee = m.control.find((x) => x.errno !== undefined && x.origin !== undefined);
    if (!ee) return;
    if (ee.origin === c.SO_EE_ORIGIN_TIMESTAMPING) {
      const seq = keyToSeq.get(ee.eeData);
      const st = m.control.find((x) => x.level === c.SOL_SOCKET && x.type === c.SCM_TIMESTAMPING);
      if (seq !== undefined && st?.timestamps?.[0]?.sec) sendTime.get(seq).kernel = tsNs(st.timestamps[0]);
      return;
    }
    // The offending echo request comes back: its sequence number says which one.
    const seq = m.data.length >= 8 ? m.data.readUInt16BE(6) : undefined;
    if (ee.origin === c.SO_EE_ORIGIN_ICMP || ee.origin === c.SO_EE_ORIGIN_ICMP6) {
      if (seq !== undefined) onError(seq, icmpText(v6, ee.icmpType, ee.icmpCode, ee.info), ee.offender?.address);
    } else if (ee.origin === c.SO_EE_ORIGIN_LOCAL) {
      const t = seq === undefined ? undefined : sendTime.get(seq);
      if (t) {
        settle(t, 'failed');
        errors++;
      }
      console.log(`ping: local error: ${k.strerror(ee.errno)}${ee.info ? `, mtu=${ee.info}` : ''}`);
    }
  };

  /** Reads what is there now (error queue first: transmit stamps precede the replies they time), never waiting. */
  const drain = () => {
    for (let i = 0; recverr && i < 64; i++) {
      const m = so.tryRecvmsg({ size: 1500, control: true, flags: ERRQUEUE });
      if (m === null) break;
      onErrqueue(m);
    }
    for (let i = 0; i < 64; i++) {
      let m;
      try {
        m = so.tryRecvmsg({ size: 1500, control: true });
      } catch (e) {
        // The pending ICMP error (sk_err) surfaces once here; the error queue holds its details.
        if (!(e instanceof k.SocketError) || e.code === 'EBADF') throw e;
        continue;
      }
      if (m === null) break;
      onReply(m);
    }
  };

  const start = Date.now();
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.on('SIGINT', onSigint);
  let nextSend = start, lastSend = start;
  try {
    while (!ac.signal.aborted) {
      const now = Date.now();
      if (sent < count && now >= nextSend) {
        const seq = (sent + 1) & 0xffff;
        const m = Buffer.concat([Buffer.alloc(8), payload]);
        m[0] = v6 ? 128 : 8;
        m.writeUInt16BE(id, 4);
        m.writeUInt16BE(seq, 6);
        if (!v6) m.writeUInt16BE(checksum(m), 2); // ICMPv6: the kernel computes it
        if (sendTime.has(seq)) settle(sendTime.get(seq), 'failed'); // 65536 requests ago: given up
        sendTime.delete(seq);
        const t = { js: nowNs(), kernel: undefined, replied: false, failed: false };
        sendTime.set(seq, t);
        pending++;
        keyToSeq.set(sent, seq); // OPT_ID counts sends from 0
        keyToSeq.delete(sent - KEEP);
        if (sendTime.size > KEEP) {
          const [oldSeq, old] = sendTime.entries().next().value;
          if (!old.replied && !old.failed) pending--;
          sendTime.delete(oldSeq);
        }
        try {
          await so.sendmsg({ data: m, to });
        } catch (e) {
          if (!(e instanceof k.SocketError) || e.code === 'EBADF') throw e;
          // Refused here (no route, …): as iputils, say so and count it as an error.
          console.log(`ping: sendmsg: ${k.strerror(e.errno)}`);
          settle(t, 'failed');
          errors++;
        }
        sent++;
        lastSend = Date.now();
        nextSend += interval;
        drain();
        continue;
      }
      drain();
      const allIn = sent >= count && pending === 0;
      if (sent >= count && (allIn || now >= lastSend + linger)) break;
      const until = sent < count ? nextSend : lastSend + linger;
      try {
        await so.readable({ timeout: Math.max(1, until - Date.now()), signal: ac.signal });
      } catch (e) {
        if (e.code !== 'ETIMEDOUT' && e.name !== 'AbortError') throw e;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    await so.close();
  }
  const received = rtts.length;
  const loss = sent ? Math.round(((sent - received) / sent) * 100) : 0;
  console.log(`\n--- ${shown} ping statistics ---`);
  console.log(`${sent} packets transmitted, ${received} received, ${errors ? `+${errors} errors, ` : ''}${loss}% packet loss, time ${Date.now() - start}ms`);
  if (received) {
    const min = Math.min(...rtts), max = Math.max(...rtts), avg = rtts.reduce((a, b) => a + b, 0) / received;
    const mdev = Math.sqrt(rtts.reduce((a, b) => a + (b - avg) ** 2, 0) / received);
    console.log(`rtt min/avg/max/mdev = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)}/${mdev.toFixed(3)} ms`);
  }
  if (unstamped) console.error(`ksock: ${unstamped} of ${received} round trips timed from the process clock: no transmit timestamp came back for them`);
  process.exitCode = received === 0 ? 1 : 0;
}

// ------------------------------------------------------------------ recv / send

function showAddr(a) {
  if (!a) return '?';
  if (a.address !== undefined) return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  if (typeof a.path === 'string') return a.path === '' ? '(unnamed)' : a.path.startsWith('\0') ? '@' + a.path.slice(1) : a.path;
  return `family ${a.family}`;
}

function describeControl(m) {
  const out = [];
  for (const x of m.control) {
    if (x.type === c.IP_PKTINFO && x.level === c.IPPROTO_IP) out.push(`pktinfo=${x.addr}@${k.if_indextoname(x.ifindex) ?? x.ifindex}`);
    else if (x.type === c.IPV6_PKTINFO && x.level === c.IPPROTO_IPV6) out.push(`pktinfo=${x.addr}@${k.if_indextoname(x.ifindex) ?? x.ifindex}`);
    else if (x.ttl !== undefined) out.push(`ttl=${x.ttl}`);
    else if (x.hoplimit !== undefined) out.push(`hoplimit=${x.hoplimit}`);
    else if (x.tos !== undefined) out.push(`tos=${x.tos}`);
    else if (x.nsec !== undefined) out.push(`timestamp=${x.sec}.${String(x.nsec).padStart(9, '0')}`);
    else if (x.usec !== undefined) out.push(`timestamp=${x.sec}.${String(x.usec).padStart(6, '0')}`);
    else if (x.mechanism !== undefined) out.push(`creds=pid:${x.pid},uid:${x.uid},gid:${x.gid}`);
    else if (x.fds !== undefined) out.push(`fds=${x.fds.join(',')}`);
    else out.push(`cmsg(${x.level},${x.type},${x.data?.length ?? 0}B)`);
  }
  return out.join(' ');
}

async function recv(target, opts, raw) {
  const max = opts.count === undefined ? Infinity : check.count(raw.count, opts.count, 'recv');
  const { dom, addr } = await parseAddr(target, opts, raw, 'recv');
  const so = k.Socket.create(dom, c.SOCK_DGRAM);
  if (dom !== c.AF_UNIX) so.setsockopt('SOL_SOCKET', 'SO_REUSEADDR', true);
  so.bind(addr);
  if (opts.pktinfo) dom === c.AF_INET6 ? so.setsockopt('IPPROTO_IPV6', 'IPV6_RECVPKTINFO', true) : so.setsockopt('IPPROTO_IP', c.IP_PKTINFO !== undefined ? 'IP_PKTINFO' : 'IP_RECVDSTADDR', true);
  if (opts.ttl) dom === c.AF_INET6 ? so.setsockopt('IPPROTO_IPV6', 'IPV6_RECVHOPLIMIT', true) : so.setsockopt('IPPROTO_IP', 'IP_RECVTTL', true);
  if (opts.timestamp) so.setsockopt('SOL_SOCKET', c.SO_TIMESTAMPNS !== undefined ? 'SO_TIMESTAMPNS' : 'SO_TIMESTAMP', true);
  if (opts.creds && c.SO_PASSCRED !== undefined) so.setsockopt('SOL_SOCKET', 'SO_PASSCRED', true);
  console.error(`listening on ${showAddr(so.address())}`);
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  let n = 0;
  while (n < max) {
    let m;
    try {
      m = await so.recvmsg({ size: 65536, control: true, signal: ac.signal });
    } catch (e) {
      if (e.name === 'AbortError') break;
      throw e;
    }
    n++;
    for (const x of m.control) if (x.fds) x.fds.forEach((fd) => fs.closeSync(fd));
    if (opts.json) {
      console.log(JSON.stringify({ from: m.from, bytes: m.bytes, data: m.data.toString('utf8'), control: m.control.map(({ data, ...rest }) => rest) }));
    } else {
      const ctl = describeControl(m);
      console.log(`from ${showAddr(m.from)} ${m.bytes} bytes ${JSON.stringify(m.data.toString('utf8'))}${ctl ? ' ' + ctl : ''}`);
    }
  }
  await so.close();
  console.error(`${n} datagram${n === 1 ? '' : 's'} received`);
}

async function send(target, data, opts, raw) {
  const cmd = 'send';
  const ttl = opts.ttl === undefined ? undefined : check.byte(raw.ttl, opts.ttl, cmd, 1, 255);
  const tos = opts.tos === undefined ? undefined : check.byte(raw.tos, opts.tos, cmd, 0, 255);
  const src = opts.src;
  if (src !== undefined && !net.isIP(src)) throw new UsageError(`${raw.src}: '${src}' is not an IP address`, cmd);
  const { dom, addr } = await parseAddr(target, opts, raw, cmd);
  if (typeof data !== 'string') throw new UsageError('DATA is required', cmd);
  const inet = dom === c.AF_INET || dom === c.AF_INET6;
  for (const [n, v] of [['ttl', ttl], ['tos', tos], ['src', src]]) {
    if (v !== undefined && !inet) throw new UsageError(`${raw[n]}: only for udp destinations, not ${target}`, cmd);
  }
  if (src !== undefined && net.isIP(src) !== (dom === c.AF_INET6 ? 6 : 4)) {
    throw new UsageError(`${raw.src}: '${src}' is an IPv${net.isIP(src)} address, but ${target} is IPv${dom === c.AF_INET6 ? 6 : 4}`, cmd);
  }
  const so = k.Socket.create(dom, c.SOCK_DGRAM);
  const control = [];
  if (ttl !== undefined) control.push(dom === c.AF_INET6 ? { level: c.IPPROTO_IPV6, type: c.IPV6_HOPLIMIT, hoplimit: ttl } : { level: c.IPPROTO_IP, type: c.IP_TTL, ttl });
  if (tos !== undefined) control.push(dom === c.AF_INET6 ? { level: c.IPPROTO_IPV6, type: c.IPV6_TCLASS, tclass: tos } : { level: c.IPPROTO_IP, type: c.IP_TOS, tos });
  if (opts.src !== undefined) control.push(dom === c.AF_INET6 ? { level: c.IPPROTO_IPV6, type: c.IPV6_PKTINFO, addr: opts.src } : { level: c.IPPROTO_IP, type: c.IP_PKTINFO ?? c.IP_SENDSRCADDR, spec_dst: opts.src, addr: opts.src });
  if (opts.creds && c.SCM_CREDENTIALS !== undefined) control.push({ level: c.SOL_SOCKET, type: c.SCM_CREDENTIALS });
  try {
    const n = await so.sendmsg({ data: Buffer.from(data), to: addr, control });
    console.error(`sent ${n} bytes to ${showAddr(addr)}`);
  } finally {
    await so.close();
  }
}

// ------------------------------------------------------------------ fd passing

function unixAddr(s, cmd) {
  if (typeof s !== 'string') throw new UsageError('a unix socket is required: /path or @name', cmd);
  return { family: c.AF_UNIX, path: s.startsWith('@') ? '\0' + s.slice(1) : s };
}

async function fdRecv(where, opts) {
  const addr = unixAddr(where, 'fd-recv');
  const l = k.Socket.create(c.AF_UNIX, c.SOCK_STREAM).bind(addr).listen(1);
  console.error(`waiting on ${showAddr(addr)}`);
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  try {
    const s = await l.accept({ signal: ac.signal });
    const m = await s.recvmsg({ size: 256, control: true, signal: ac.signal });
    const fds = m.control.flatMap((x) => (x.type === c.SCM_RIGHTS && x.level === c.SOL_SOCKET ? x.fds : []));
    if (fds.length === 0) throw new Error(`no descriptor arrived${m.flags & c.MSG_CTRUNC ? ' (MSG_CTRUNC)' : ''}`);
    for (const fd of fds) {
      const st = fs.fstatSync(fd);
      let target = '';
      try { target = fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { /* not on this platform */ }
      const kind = st.isFile() ? 'regular file' : st.isSocket() ? 'socket' : st.isFIFO() ? 'pipe' : st.isCharacterDevice() ? 'character device' : 'other';
      console.log(`received fd ${fd}: ${target || '(unnamed)'} (${kind}${st.isFile() ? `, ${st.size} bytes` : ''})`);
      if (opts.cat) {
        const b = Buffer.alloc(65536);
        let off = 0, n;
        while ((n = fs.readSync(fd, b, 0, b.length, st.isFile() ? off : null)) > 0) {
          process.stdout.write(b.subarray(0, n));
          off += n;
        }
      }
      fs.closeSync(fd);
    }
    await s.close();
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
  } finally {
    await l.close();
    if (!addr.path.startsWith('\0')) fs.rmSync(addr.path, { force: true });
  }
}

async function fdSend(where, file) {
  const addr = unixAddr(where, 'fd-send');
  if (typeof file !== 'string') throw new UsageError('FILE is required', 'fd-send');
  const fd = fs.openSync(file, 'r');
  try {
    const s = k.Socket.create(c.AF_UNIX, c.SOCK_STREAM);
    await s.connect(addr, { timeout: 5000 });
    await s.sendmsg({ data: Buffer.from('F'), control: [{ level: c.SOL_SOCKET, type: c.SCM_RIGHTS, fds: [fd] }] });
    console.error(`sent the descriptor of ${file} to ${showAddr(addr)}`);
    await s.close();
  } finally {
    fs.closeSync(fd);
  }
}

// ------------------------------------------------------------------ capture

/** The pcap link type of a packet socket bound to an interface of ARPHRD type `hatype`. */
function linktypeOf(hatype) {
  if (hatype === c.ARPHRD_ETHER || hatype === c.ARPHRD_LOOPBACK) return { linktype: k.LINKTYPE_ETHERNET, name: 'EN10MB (Ethernet)' };
  if (hatype === c.ARPHRD_NONE) return { linktype: k.LINKTYPE_RAW, name: 'RAW (Raw IP)' };
  return null;
}

/** An 802.1Q tag put back after the source and destination addresses (the device stripped it). */
function withVlan(frame, aux) {
  if (!aux || !(aux.status & (c.TP_STATUS_VLAN_VALID ?? 0x10)) || frame.length < 12) return frame;
  const tpid = aux.status & (c.TP_STATUS_VLAN_TPID_VALID ?? 0x40) ? aux.vlan_tpid : 0x8100;
  const out = Buffer.allocUnsafe(frame.length + 4);
  frame.copy(out, 0, 0, 12);
  out.writeUInt16BE(tpid, 12);
  out.writeUInt16BE(aux.vlan_tci, 14);
  frame.copy(out, 16, 12);
  return out;
}

async function capture(opts, raw) {
  const cmd = 'capture';
  if (opts.interface === undefined) throw new UsageError('-i IFACE is required', cmd);
  const max = opts.count === undefined ? Infinity : check.count(raw.count, opts.count, cmd);
  const snaplen = opts.snaplen === undefined ? 262144 : check.byte(raw.snaplen, opts.snaplen, cmd, 1, 262144);
  const timeout = opts.timeout === undefined ? undefined : check.seconds(raw.timeout, opts.timeout, cmd, { positive: true });
  let program;
  if (opts.filter !== undefined) {
    if (!k.bpf || typeof k.bpf.compile !== 'function') throw new UsageError(`${raw.filter}: filters need lib/bpf, which this build does not have`, cmd);
    try {
      program = k.bpf.compile(opts.filter, { linkType: 'ethernet' });
    } catch (e) {
      throw new UsageError(`${raw.filter}: ${e.message}`, cmd);
    }
  }
  if (c.AF_PACKET === undefined) throw new Error('this platform has no packet sockets (AF_PACKET)');
  const ifindex = k.if_nametoindex(opts.interface);
  if (!ifindex) throw new UsageError(`${raw.interface}: no interface '${opts.interface}'`, cmd, true);
  // Protocol 0 receives nothing until bind names ETH_P_ALL, so the filter is
  // in place before the first packet is queued.
  const so = k.Socket.create('AF_PACKET', 'SOCK_RAW', 0);
  let writer = null;
  let n = 0;
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.on('SIGINT', onSigint);
  const timer = timeout === undefined ? null : setTimeout(() => ac.abort(), timeout * 1000);
  try {
    if (program) so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', program);
    so.setsockopt('SOL_PACKET', 'PACKET_AUXDATA', true);
    so.setsockopt('SOL_SOCKET', 'SO_TIMESTAMPNS', true);
    so.bind({ family: c.AF_PACKET, protocol: c.ETH_P_ALL, ifindex });
    const hatype = so.address().hatype;
    const loopback = hatype === c.ARPHRD_LOOPBACK;
    const link = linktypeOf(hatype);
    if (!link) throw new Error(`${opts.interface}: link type ${hatype} is not Ethernet or raw IP`);
    if (opts.write !== undefined) writer = new k.PcapWriter(opts.write === '-' ? 1 : opts.write, { snaplen, linktype: link.linktype });
    console.error(`listening on ${opts.interface}, link-type ${link.name}, snapshot length ${snaplen} bytes`);
    const printer = new k.PacketPrinter();
    while (n < max) {
      let m;
      try {
        m = await so.recvmsg({ size: snaplen, control: true, signal: ac.signal, flags: ['MSG_TRUNC'] });
      } catch (e) {
        if (e.name === 'AbortError') break;
        throw e;
      }
      // On loopback every packet passes twice (out and in): keep one, as libpcap does.
      if (loopback && m.from?.pkttype === c.PACKET_OUTGOING) continue;
      n++;
      let aux = null, sec = 0, nsec = 0;
      for (const x of m.control) {
        if (x.name === 'PACKET_AUXDATA') aux = x;
        else if (x.name === 'SCM_TIMESTAMPNS') ({ sec, nsec } = x);
      }
      if (sec === 0) {
        const ms = performance.timeOrigin + performance.now();
        sec = Math.floor(ms / 1000);
        nsec = Math.floor((ms - sec * 1000) * 1e6);
      }
      const len = (aux ? aux.len : m.bytes) + (aux && aux.status & (c.TP_STATUS_VLAN_VALID ?? 0x10) ? 4 : 0);
      const frame = withVlan(m.data.subarray(0, Math.min(m.bytes, snaplen)), link.linktype === k.LINKTYPE_ETHERNET ? aux : null);
      if (writer) writer.write(frame, { sec, nsec }, len);
      else {
        process.stdout.write(printer.line(frame, sec, nsec, link.linktype) + '\n');
      }
    }
    let drops = 0;
    try { drops = so.getsockopt('SOL_PACKET', 'PACKET_STATISTICS').drops; } catch { /* not on this kernel */ }
    console.error(`${n} packet${n === 1 ? '' : 's'} captured\n${drops} packet${drops === 1 ? '' : 's'} dropped by kernel`);
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSigint);
    writer?.close();
    await so.close();
  }
}

// ------------------------------------------------------------------ main

/** parseArgs' errors, said once and naming the option. */
function argError(e, cmd) {
  const opt = /'(-[^']*?)(?:, --[^']*)?'/.exec(e.message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return new UsageError(`unknown option '${opt ?? e.message}'`, cmd);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/argument missing/.test(e.message)) return new UsageError(`${opt}: a value is required`, cmd);
      if (/ambiguous/.test(e.message)) return new UsageError(`${opt}: a value is required (one that starts with '-' is written ${opt}${opt.startsWith('--') ? '=' : ''}-…)`, cmd);
      return new UsageError(`${opt}: takes no value`, cmd);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': return new UsageError(`unexpected argument '${/'([^']*)'/.exec(e.message)?.[1]}'`, cmd);
    default: return new UsageError(e.message, cmd);
  }
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h') {
    console.log(usage());
    return;
  }
  if (cmd === 'help') {
    if (rest.length === 0) console.log(usage());
    else if (rest[0] in COMMANDS) console.log(commandHelp(rest[0]));
    else throw new UsageError(`no command '${rest[0]}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
    return;
  }
  if (cmd === '--version' || cmd === '-V') {
    console.log(`ksock ${pkg.version}`);
    return;
  }
  if (!Object.hasOwn(COMMANDS, cmd)) {
    throw new UsageError(cmd.startsWith('-') ? `unknown option '${cmd}'` : `unknown command '${cmd}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  }
  const options = { ...COMMANDS[cmd].options, help: { type: 'boolean', short: 'h' } };
  // --help wins over anything else on the line, even a mistake.
  const beforeDashes = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (beforeDashes.some((a) => a === '--help' || a === '-h')) {
    console.log(commandHelp(cmd));
    return;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    throw argError(e, cmd);
  }
  const { values: o, positionals: p, tokens } = parsed;
  // Each option as it was typed (-c or --count), for messages about its value.
  const raw = {};
  for (const [name, spec] of Object.entries(options)) raw[name] = spec.short ? `-${spec.short}` : `--${name}`;
  for (const t of tokens) if (t.kind === 'option') raw[t.name] = t.rawName;
  const most = { doctor: 0, ping: 1, recv: 1, send: 2, 'fd-recv': 1, 'fd-send': 2, capture: 0 }[cmd];
  if (p.length > most) throw new UsageError(`unexpected argument '${p[most]}'`, cmd);
  switch (cmd) {
    case 'doctor': return doctor(o, raw);
    case 'ip': return ipCommand(p, o, raw);
    case 'ping':
      if (p.length !== 1) throw new UsageError('HOST is required', cmd);
      return ping(p[0], o, raw);
    case 'recv': return recv(p[0], o, raw);
    case 'send': return send(p[0], p[1], o, raw);
    case 'fd-recv': return fdRecv(p[0], o);
    case 'fd-send': return fdSend(p[0], p[1]);
    case 'capture': return capture(o, raw);
  }
}

main(process.argv.slice(2)).catch(fail);
