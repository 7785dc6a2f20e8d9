// ksock: real OS sockets for Node.js.
//
//   import { socreate, soreceive, … } from 'ksock'     the kernel face (socket(9), sockopt(9))
//   import { SocketError, constants, features } …       errors, platform constants, capabilities
export * from './kern/index';
export {
  socketpair, RecvBatch, type WaitOptions, type SendOptions, type MmsgMessage, type SendmmsgOptions, type RecvOptions, type Msg, type CreateOptions, type FromFdOptions,
} from './socket';
export {
  sockopts, optSpec, encodeOption, decodeOption, type OptSpec, type OptType, type OptValue, type Linger, type Timeval,
  type OptLevel, type OptName, type OptGet, type OptSet, type SetValue, type GetValue,
  type IpMreq, type IpMreqSource, type Ipv6Mreq, type PeerCred, type TcpInfo,
} from './options';
export * from './constants';
export * from './platform-constants';
export { SocketError, errnoName, strerror, check } from './errors';
export { features, type Features } from './features';
export type {
  Sockaddr, SockaddrIn, SockaddrIn6, SockaddrUn, SockaddrLl, SockaddrNl, SockaddrRaw, SockaddrOut, Cmsg, Holder, ReceivedCmsg, Timespec,
} from './native';
export { RightsCmsg, cmsgName } from './core/rights';
export { internetChecksum } from './checksum';
export { netns, sysctlPath, NETNS_RUN_DIR, type Netns, type NetnsRef, type SysctlValue } from './netns';
export { bpf } from './bpf/index';
export type {
  BpfInsn, BpfProgram, RunOptions as BpfRunOptions, FilterExpr as BpfFilterExpr, CompileOptions as BpfCompileOptions,
  LinkType as BpfLinkType,
} from './bpf/index';
export {
  PacketPrinter, tcpdumpTime, htons, ntohs, fanoutValue, decodeFanout, membershipType,
  type PacketMreq, type PacketMembershipType, type PacketFanout, type PacketFanoutValue, type FanoutMode, type FanoutFlag,
  type TpacketStats, type TpacketAuxdata,
} from './packet';
export {
  PcapWriter, PcapReader, PcapFormatError, parsePcap, readPcap, LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2, PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC, PCAP_MAX_RECORD_DEFAULT, PCAP_MAX_RECORD_LIMIT,
  type PcapHeader, type PcapRecord, type PcapWriterOptions, type PcapReadOptions, type PcapTime,
} from './pcap';
export {
  openRing, Ring, Block, Frame, ReleasedError, type RingOptions, type RingWaitOptions, type RingStats,
} from './ring';
export {
  BpfDevice, parseBpfRecords, bpfHdrLayout, fracToNsec, BPF_HDR_LAYOUTS, type BpfFrame, type BpfHdrLayout, type BpfRecords,
  type BpfOpenOptions, type BpfInsnLike, type BpfField,
} from './bpfdev';
export type { BsdCred, BsdTime, Layouts } from './native';
import { native, type Sockaddr, type SockaddrOut, type Layouts } from './native';

/**
 * The BSD and macOS credential and time layouts (FreeBSD cmsgcred, sockcred,
 * sockcred2, xucred; NetBSD sockcred, unpcbid; OpenBSD sockpeercred; macOS
 * xucred; timespec, bintime): the tables received items are decoded with,
 * which of them this platform uses (`native`), and their decoders, usable on
 * any platform (bytes from a BSD, tests).
 */
export const bsdLayouts: Layouts = native.layouts;

/** Encodes an address once into a raw sockaddr Buffer (reusable on a hot path). */
export function sockaddr(addr: Sockaddr): Buffer {
  return native.sockaddr(addr);
}

/** Decodes a raw sockaddr Buffer. */
export function decodeSockaddr(buf: Buffer, len?: number): SockaddrOut {
  if (!Buffer.isBuffer(buf)) throw new TypeError('decodeSockaddr: buf must be a Buffer');
  return native.decodeSockaddr(buf, len);
}

/** Space for a control item of `len` data bytes: the platform's CMSG_SPACE. */
export function CMSG_SPACE(len: number): number {
  return native.CMSG_SPACE(len);
}

/** cmsg_len of a control item of `len` data bytes: the platform's CMSG_LEN. */
export function CMSG_LEN(len: number): number {
  return native.CMSG_LEN(len);
}

/** The index of a network interface by name (0 when there is none). @see if_nametoindex(3) */
export function if_nametoindex(name: string): number {
  if (typeof name !== 'string') throw new TypeError('if_nametoindex: name must be a string');
  return native.if_nametoindex(name);
}

/** The name of a network interface by index, or null when there is none. @see if_indextoname(3) */
export function if_indextoname(index: number): string | null {
  if (!Number.isInteger(index)) throw new TypeError('if_indextoname: index must be an integer');
  const r = native.if_indextoname(index);
  return typeof r === 'string' ? r : null;
}

import { constants as platformConstants } from './constants';

// Every platform constant is also a named export (`import { SCM_RIGHTS } from
// 'ksock'`), with this platform's value; names the platform lacks stay
// undefined. (Their types come from ./platform-constants.)
for (const [name, value] of Object.entries(platformConstants)) {
  if (!Object.prototype.hasOwnProperty.call(exports, name)) {
    Object.defineProperty(exports, name, { value, enumerable: true });
  }
}
export * from './netlink/index';
export { Topology, type TopologySpec, type HostSpec, type LinkEnd, type Host } from './topology';

// Last: the exports become plain values on a fast object (see ./fast), so
// that `ksock.soreceive(…)` in a CommonJS caller is a property load, not a
// getter call on a hash table.
import { fastObject } from './fast';
const fastExports: Record<string, unknown> = fastObject(exports as Record<string, unknown>);
delete fastExports.__esModule;
Object.defineProperty(fastExports, '__esModule', { value: true });
module.exports = fastExports;
