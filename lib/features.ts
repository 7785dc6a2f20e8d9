// What this build and this kernel support: build-time feature tests from the
// native layer, plus run-time probes with real sockets (each closed at once).
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

function build(): Features {
  const c = constants;
  const f: Record<string, boolean> = { ...native.buildFeatures };
  f.ipv4 = probe(c.AF_INET, c.SOCK_DGRAM) === 'yes';
  f.ipv6 = probe(c.AF_INET6, c.SOCK_DGRAM) === 'yes';
  f.unix_stream = probe(c.AF_UNIX, c.SOCK_STREAM) === 'yes';
  f.unix_dgram = probe(c.AF_UNIX, c.SOCK_DGRAM) === 'yes';
  f.unix_seqpacket = probe(c.AF_UNIX, c.SOCK_SEQPACKET) === 'yes';
  f.unix_abstract = probeAbstract();
  const raw = probe(c.AF_INET, c.SOCK_RAW, c.IPPROTO_ICMP);
  f.raw_sockets = raw === 'yes';
  f.icmp_dgram = probe(c.AF_INET, c.SOCK_DGRAM, c.IPPROTO_ICMP) === 'yes';
  const packet = native.buildFeatures.af_packet ? probe(c.AF_PACKET, c.SOCK_DGRAM) : 'no';
  f.af_packet = packet !== 'no';
  f.packet_sockets = packet === 'yes';
  f.af_netlink = native.buildFeatures.af_netlink ? probe(c.AF_NETLINK, c.SOCK_RAW, 0) === 'yes' : false;
  return Object.freeze(f);
}

/** What this build and kernel support (build-time tests plus run-time probes). */
export const features: Features = build();
