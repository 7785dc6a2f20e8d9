// Constants given by name: wherever the API takes a platform constant it
// also takes the constant's name ('AF_INET', 'SHUT_WR', ['MSG_PEEK',
// 'MSG_DONTWAIT']), checked against the kind of constant the place wants, so
// that a name can never silently mean something else.
import { constants } from './constants';

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/**
 * A constant given by number or by name; a name must start with one of
 * `prefixes` ('AF_', 'PF_' …) and exist on this platform.
 */
export function named(v: unknown, what: string, prefixes: readonly string[]): number {
  if (isInt(v)) {
    if (v < -0x80000000 || v > 0xffffffff) throw new RangeError(`${what} is out of range`);
    return v;
  }
  if (typeof v === 'string') {
    if (!prefixes.some((p) => v.startsWith(p))) {
      throw new TypeError(`${what} '${v}' is not a ${prefixes.map((p) => p + '*').join(' or ')} constant`);
    }
    const n = constants[v];
    if (n === undefined) throw new TypeError(`${what} '${v}' is not a constant of this platform`);
    return n;
  }
  throw new TypeError(`${what} must be an integer or the name of a ${prefixes.map((p) => p + '*').join('/')} constant`);
}

/** Flags: a number, a name, or a list of names and numbers OR-ed together. */
export function flagsOf(v: unknown, what: string, prefixes: readonly string[] = ['MSG_']): number {
  if (v === undefined) return 0;
  if (Array.isArray(v)) {
    let f = 0;
    for (const x of v) f |= named(x, what, prefixes);
    return f;
  }
  return named(v, what, prefixes);
}

// The option-name prefixes each level takes, by the level's name.
const LEVEL_PREFIXES: Readonly<Record<string, readonly string[]>> = {
  SOL_SOCKET: ['SO_'],
  IPPROTO_IP: ['IP_', 'MCAST_'], SOL_IP: ['IP_', 'MCAST_'],
  IPPROTO_IPV6: ['IPV6_', 'MCAST_'], SOL_IPV6: ['IPV6_', 'MCAST_'],
  IPPROTO_TCP: ['TCP_', 'MPTCP_'], SOL_TCP: ['TCP_', 'MPTCP_'],
  IPPROTO_UDP: ['UDP_'], SOL_UDP: ['UDP_'], IPPROTO_UDPLITE: ['UDPLITE_', 'UDP_'], SOL_UDPLITE: ['UDPLITE_', 'UDP_'],
  IPPROTO_ICMPV6: ['ICMP6_'], SOL_ICMPV6: ['ICMP6_'], IPPROTO_RAW: ['ICMP_', 'IPV6_'], SOL_RAW: ['ICMP_', 'IPV6_'],
  IPPROTO_SCTP: ['SCTP_'], SOL_SCTP: ['SCTP_'], IPPROTO_MPTCP: ['MPTCP_'], SOL_MPTCP: ['MPTCP_'],
  SOL_PACKET: ['PACKET_'], SOL_NETLINK: ['NETLINK_'], SOL_LOCAL: ['LOCAL_'], SOL_TLS: ['TLS_'], SOL_ALG: ['ALG_'],
  SOL_XDP: ['XDP_'],
};

/** The names this platform gives a level's number (0 is both IPPROTO_IP and SOL_IP …). */
function levelNames(level: number): string[] {
  return Object.keys(LEVEL_PREFIXES).filter((n) => constants[n] === level);
}

/**
 * Resolves an option's (level, name), each by number or by name. A name whose
 * prefix does not belong to the level ('SO_RCVBUF' at IPPROTO_IP) is a
 * TypeError: it would silently be another option of that level. `tableName`
 * gives the option table's name for (level, name), if it has the pair.
 */
export function optionOf(level: unknown, name: unknown, tableName: (lv: number, nm: number) => string | undefined): [number, number] {
  const lv = named(level, 'level', ['SOL_', 'IPPROTO_']);
  let nm: number;
  if (typeof name === 'string') {
    const n = constants[name];
    if (n === undefined) throw new TypeError(`name '${name}' is not a constant of this platform`);
    nm = n;
  } else {
    nm = named(name, 'name', []);
  }
  if (typeof name === 'string' && tableName(lv, nm) !== name) {
    const names = typeof level === 'string' ? [level] : levelNames(lv);
    const fits = names.some((n) => (LEVEL_PREFIXES[n] ?? []).some((p) => name.startsWith(p)));
    if (names.length > 0 && !fits) {
      const where = typeof level === 'string' ? level : `level ${lv} (${names.join('/')})`;
      throw new TypeError(`${name} is not an option of ${where}`);
    }
  }
  return [lv, nm];
}
