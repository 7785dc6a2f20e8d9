// What this build and this kernel support: build-time feature tests from the
// native layer, plus run-time probes with real sockets. Importing ksock opens
// no socket: each probe runs the first time its property is read (one socket,
// closed at once) and the answer is kept.
import { native } from './native';
import { constants } from './constants';

function probe(domain: number | undefined, type: number | undefined, proto = 0): 'yes' | 'no' | 'EPERM' {
  if (domain === undefined || type === undefined) return 'no';
  const h = native.socket(domain, type, proto);
  if (typeof h !== 'number') {
    native.close(h);
    return 'yes';
  }
  return -h === constants.EPERM || -h === constants.EACCES ? 'EPERM' : 'no';
}

function probeAbstract(): boolean {
  if (constants.AF_UNIX === undefined) return false;
  const h = native.socket(constants.AF_UNIX, constants.SOCK_DGRAM!, 0);
  if (typeof h === 'number') return false;
  const name = `\0ksock-probe-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const r = native.bind(h, { family: constants.AF_UNIX, path: name });
  native.close(h);
  return r === 0;
}

export interface Features {
  readonly [name: string]: boolean;
}

const c = constants;
const packet = (): 'yes' | 'no' | 'EPERM' => (native.buildFeatures.af_packet ? probe(c.AF_PACKET, c.SOCK_DGRAM) : 'no');

/** The run-time probes, by the name they answer to. */
const probes: Record<string, () => boolean> = {
  ipv4: () => probe(c.AF_INET, c.SOCK_DGRAM) === 'yes',
  ipv6: () => probe(c.AF_INET6, c.SOCK_DGRAM) === 'yes',
  unix_stream: () => probe(c.AF_UNIX, c.SOCK_STREAM) === 'yes',
  unix_dgram: () => probe(c.AF_UNIX, c.SOCK_DGRAM) === 'yes',
  unix_seqpacket: () => probe(c.AF_UNIX, c.SOCK_SEQPACKET) === 'yes',
  unix_abstract: probeAbstract,
  raw_sockets: () => probe(c.AF_INET, c.SOCK_RAW, c.IPPROTO_ICMP) === 'yes',
  icmp_dgram: () => probe(c.AF_INET, c.SOCK_DGRAM, c.IPPROTO_ICMP) === 'yes',
  af_packet: () => packet() !== 'no',
  packet_sockets: () => packet() === 'yes',
  af_netlink: () => (native.buildFeatures.af_netlink ? probe(c.AF_NETLINK, c.SOCK_RAW, 0) === 'yes' : false),
};

/**
 * A frozen object whose build-time entries are plain values and whose
 * run-time entries are getters that probe once, on first read, and keep the
 * answer. Spreading it or `JSON.stringify` reads (and so probes) them all.
 */
function build(): Features {
  const f: Record<string, boolean> = { ...native.buildFeatures };
  for (const [name, run] of Object.entries(probes)) {
    let known: boolean | undefined;
    Object.defineProperty(f, name, {
      enumerable: true,
      get: () => (known ??= run()),
    });
  }
  return Object.freeze(f);
}

/** What this build and kernel support (build-time tests plus run-time probes, each run on first read). */
export const features: Features = build();
