// The whole native surface, declared once and typed. Nothing else in lib/
// touches the addon object directly.
import { fastObject } from './fast';
import * as path from 'node:path';
import { createRequire } from 'node:module';

/** Fields an address of one family must not carry (so that a typo or a missing field does not compile). */
interface NoInet { address?: never; port?: never; flowinfo?: never; scopeid?: never }
interface NoOther { path?: never; ifindex?: never; protocol?: never; hatype?: never; pkttype?: never; addr?: never; pid?: never; groups?: never; data?: never }

/** AF_INET: an IPv4 address and port. */
export interface SockaddrIn extends NoOther { family: number; address: string; port: number; flowinfo?: never; scopeid?: never }
/** AF_INET6: an IPv6 address and port (scope id for link-local addresses). */
export interface SockaddrIn6 extends NoOther { family: number; address: string; port: number; flowinfo?: number; scopeid?: number }
/** AF_UNIX: a path, an abstract name (leading '\0', Linux), or none (unnamed). */
export interface SockaddrUn extends NoInet { family: number; path?: string | Buffer; ifindex?: never; addr?: never; pid?: never; data?: never }
/** AF_PACKET: a link-layer address. */
export interface SockaddrLl extends NoInet { family: number; ifindex?: number; protocol?: number; hatype?: number; pkttype?: number; addr?: Buffer; path?: never; pid?: never; data?: never }
/** AF_NETLINK: a port id and multicast groups. */
export interface SockaddrNl extends NoInet { family: number; pid?: number; groups?: number; path?: never; ifindex?: never; addr?: never; data?: never }
/** Any other family: the raw bytes after the family. */
export interface SockaddrRaw extends NoInet { family: number; data: Buffer; path?: never; ifindex?: never; pid?: never }
/** Any socket address: a typed object, or a Buffer holding a raw `struct sockaddr`. */
export type Sockaddr = SockaddrIn | SockaddrIn6 | SockaddrUn | SockaddrLl | SockaddrNl | SockaddrRaw | Buffer;
/** A decoded address as returned by the kernel (the union of the fields above). */
export interface SockaddrOut {
  family: number;
  address?: string; port?: number; flowinfo?: number; scopeid?: number;
  /** AF_UNIX: a string, or a Buffer when the name is not valid UTF-8. */
  path?: string | Buffer;
  ifindex?: number; protocol?: number; hatype?: number; pkttype?: number; addr?: Buffer;
  pid?: number; groups?: number;
  data?: Buffer;
}

/** One control message: `{ level, type, data }`, plus decoded fields for known types. */
export interface Cmsg {
  level: number;
  type: number;
  /** The payload. On send, omit it to have a typed item encoded from its fields. */
  data?: Buffer;
  /** SCM_RIGHTS: the descriptors carried. */
  fds?: number[];
  /** Decoded fields of known types (pid, uid, gid, addr, ifindex, ttl, hoplimit, tclass, sec, usec, nsec, segsize …). */
  [field: string]: unknown;
}

interface Received<N extends string> {
  level: number;
  type: number;
  /** The item's constant name ('IP_PKTINFO' …): the discriminant of ReceivedCmsg. */
  name: N;
  /** The payload as it arrived. */
  data: Buffer;
}
/** A time as the kernel gives it. */
export interface Timespec { sec: number; nsec: number }

/**
 * Credentials as a BSD struct carries them: only the fields that struct has
 * (FreeBSD's `sockcred` has no pid; NetBSD's `unpcbid` only effective ids,
 * given as uid/gid), and `layout`, the name of the table it was read with
 * ('freebsd.cmsgcred', 'freebsd.sockcred', 'freebsd.sockcred2', 'netbsd.sockcred' …).
 */
export interface BsdCred {
  layout: string;
  version?: number; pid?: number; uid?: number; euid?: number; gid?: number; egid?: number; groups?: number[];
}
/** A decoded BSD time: seconds and nanoseconds; a bintime adds its raw 2**-64 fraction. */
export interface BsdTime { sec: number; nsec: number; frac?: bigint }
/** One integer field of a layout table. */
export interface LayoutField { off: number; width: number; signed: boolean }
/** A credential struct's layout table (native/bsdcred_codec.h). */
export interface CredLayoutTable {
  min: number; version?: LayoutField; pid?: LayoutField; uid?: LayoutField; euid?: LayoutField; gid?: LayoutField;
  egid?: LayoutField; ngroups?: LayoutField; groups?: number; capacity?: number;
}
/** The BSD layout tables and their decoders (the ones the control-item and option decoders use). */
export interface Layouts {
  readonly cred: Readonly<Record<string, CredLayoutTable>>;
  readonly time: Readonly<Record<string, { sec: LayoutField; sub: LayoutField; unit: 'nsec' | 'usec' | 'frac' }>>;
  /** The tables this platform uses, by struct: null where it has no such struct. */
  readonly native: Readonly<Record<'cmsgcred' | 'sockcred' | 'sockcred2' | 'xucred' | 'unpcbid' | 'bintime' | 'timespec', string | null>>;
  /** Decodes `bytes` by the named table; null when shorter than the table's `min`. */
  decodeCred(name: string, bytes: Buffer): BsdCred | null;
  decodeTime(name: string, bytes: Buffer): BsdTime | null;
}
/** This platform's bpf_hdr (native/bpfdev.cc), as its headers lay it out. */
export interface NativeBpfLayout {
  min: number; align: number; unit: 'usec';
  sec: { off: number; width: number }; sub: { off: number; width: number };
  caplen: { off: number; width: number }; datalen: { off: number; width: number }; hdrlen: { off: number; width: number };
}

/**
 * A received control item, typed by its `name`: `if (item.name === 'IP_PKTINFO') item.addr`.
 * Items of types ksock does not decode are named `level:type` ('41:67') and
 * carry only `data`.
 */
export type ReceivedCmsg =
  | (Received<'SCM_RIGHTS' | 'SCM_PIDFD'> & { readonly fds: number[]; readonly pidfd?: number; readonly claimed: boolean; close(): number })
  | (Received<'SCM_CREDENTIALS'> & { pid: number; uid: number; gid: number; mechanism: string })
  | (Received<'SCM_CREDS' | 'SCM_CREDS2'> & BsdCred & { mechanism: string })
  | (Received<'SCM_BINTIME'> & BsdTime & { frac: bigint })
  | (Received<'SCM_REALTIME' | 'SCM_MONOTONIC'> & Timespec)
  | (Received<'SCM_TIMESTAMP'> & { sec: number; usec: number })
  | (Received<'SCM_TIMESTAMPNS'> & Timespec)
  | (Received<'SCM_TIMESTAMPING'> & { timestamps: [Timespec, Timespec, Timespec] })
  | (Received<'SO_RXQ_OVFL'> & { dropped: number })
  | (Received<'SO_MARK'> & { mark: number })
  | (Received<'IP_PKTINFO'> & { ifindex: number; spec_dst: string; addr: string })
  | (Received<'IP_RECVDSTADDR'> & { addr: string })
  | (Received<'IP_RECVIF'> & { ifindex: number })
  | (Received<'IP_TTL' | 'IP_RECVTTL'> & { ttl: number })
  | (Received<'IP_TOS' | 'IP_RECVTOS'> & { tos: number })
  | (Received<'IPV6_PKTINFO'> & { addr: string; ifindex: number })
  | (Received<'IPV6_HOPLIMIT'> & { hoplimit: number })
  | (Received<'IPV6_TCLASS'> & { tclass: number })
  | (Received<'IP_RECVERR' | 'IPV6_RECVERR'> & {
    errno: number; origin: number; icmpType: number; icmpCode: number; info: number; eeData: number; offender?: SockaddrOut;
  })
  | (Received<'IP_ORIGDSTADDR' | 'IPV6_ORIGDSTADDR'> & { address: SockaddrOut })
  | (Received<'UDP_GRO' | 'UDP_SEGMENT'> & { segsize: number })
  /** tpacket_auxdata (see TpacketAuxdata in lib/packet.ts): VLAN id = vlan_tci & 0xfff when status has TP_STATUS_VLAN_VALID. */
  | (Received<'PACKET_AUXDATA'> & { status: number; len: number; snaplen: number; mac: number; net: number; vlan_tci: number; vlan_tpid: number })
  | (Received<`${number}:${number}`> & { [field: string]: unknown });

export interface Holder<T> { value: T }

/**
 * The native owner of one descriptor (an opaque value that only the addon
 * makes): it owns the number, its readiness watcher and its close.
 */
export type NativeHandle = object & { readonly __handle: unique symbol };

/** Where a namespace operation failed: the syscall's name, and the path it concerned when there was one. */
export interface NsWhere { value?: string; path?: string }
/** A TPACKET_V3 capture ring's native owner: its mapping and the blocks handed out (an opaque external). */
export type NativeRing = object & { readonly __ring: unique symbol };

/** The layout of a ring block's frame table (a Uint32Array), the ring's limits and TP_STATUS_* bits, by name. */
export interface RingLayout {
  readonly supported: number;
  readonly header: number; readonly fields: number;
  readonly block: number; readonly count: number; readonly seq: number; readonly flags: number; readonly flagCorrupt: number;
  readonly mac: number; readonly snaplen: number; readonly len: number; readonly sec: number; readonly nsec: number;
  readonly status: number; readonly vlanTci: number; readonly vlanTpid: number; readonly ifindex: number;
  readonly protocol: number; readonly pkttype: number; readonly hatype: number; readonly halen: number;
  readonly addr0: number; readonly addr1: number; readonly net: number;
  readonly pageSize: number; readonly maxBlockSize: number; readonly maxBlocks: number; readonly maxRingBytes: number;
  readonly maxTimeout: number;
  readonly frameAlign?: number; readonly hdrLen?: number;
  readonly TP_STATUS_KERNEL?: number; readonly TP_STATUS_USER?: number;
  readonly TP_STATUS_VLAN_VALID: number; readonly TP_STATUS_VLAN_TPID_VALID?: number;
}

export interface Native {
  /** Result slots of the last receive; index them with `slotNames`. */
  readonly slots: Int32Array;
  readonly slotNames: { readonly MSG_FLAGS: number; readonly ADDR_LEN: number; readonly CONTROL_LEN: number; readonly BYTES: number };
  readonly constants: Readonly<Record<string, number>>;
  readonly errnoNames: Readonly<Record<number, string>>;
  readonly buildFeatures: Readonly<Record<string, boolean>>;
  readonly sizes: Readonly<Record<string, number>>;
  readonly pollEvents: { READABLE: number; WRITABLE: number; DISCONNECT: number; PRIORITIZED: number };
  sockaddr(addr: Sockaddr): Buffer;
  encodeOpt(kind: string, value: object): Buffer;
  decodeOpt(kind: string, buf: Buffer, len?: number): Record<string, unknown>;
  readonly optKinds: Readonly<Record<string, boolean>>;
  CMSG_SPACE(len: number): number;
  CMSG_LEN(len: number): number;
  decodeSockaddr(buf: Buffer, len?: number): SockaddrOut;
  socket(domain: number, type: number, protocol: number): NativeHandle | number;
  socketpair(domain: number, type: number, protocol: number): [NativeHandle, NativeHandle] | number;
  adopt(fd: number, dup: boolean): NativeHandle | number;
  bind(h: NativeHandle, addr: Sockaddr): number;
  connect(h: NativeHandle, addr: Sockaddr): number;
  connect2(h1: NativeHandle, h2: NativeHandle): number;
  listen(h: NativeHandle, backlog: number): number;
  accept(h: NativeHandle): NativeHandle | number;
  sendmsg(h: NativeHandle, data: Buffer | Buffer[], offset: number, length: number, flags: number,
    addr?: Sockaddr | null, control?: Cmsg[] | Int32Array | null): number;
  recvmsg(h: NativeHandle, data: Buffer | Buffer[], offset: number, length: number, flags: number,
    paddr?: Holder<SockaddrOut | null> | Uint8Array | null, controlp?: Holder<Cmsg[] | null> | null, controlSize?: number): number;
  /** The mp0 form: a fresh Buffer of what arrived (its byte count in the BYTES slot), or -errno. */
  recvmsgAlloc(h: NativeHandle, size: number, flags: number,
    paddr?: Holder<SockaddrOut | null> | Uint8Array | null, controlp?: Holder<Cmsg[] | null> | null, controlSize?: number): Buffer | number;
  recvmmsg(h: NativeHandle, slab: Buffer, slotSize: number, count: number, flags: number, lengths: Int32Array, addrs?: Buffer | null,
    controlSpace?: number, controls?: Holder<Cmsg[][] | null> | null): number;
  /**
   * Messages sent (at most 1024 per call) or -errno. Each element is one datagram: a Buffer (to `addr`, with
   * `control`), or `{ data, to?, control? }` whose own `to`/`control` replace the shared ones (undefined: the
   * shared one; null: none); each of its three properties is read once.
   */
  sendmmsg(h: NativeHandle, messages: ReadonlyArray<Buffer | { readonly data: Buffer | readonly Buffer[]; readonly to?: Sockaddr | null; readonly control?: readonly Cmsg[] | null }>,
    flags: number, addr?: Sockaddr | null, control?: Cmsg[] | null): number;
  /**
   * The flat sendmmsg of `count` messages: one Buffer each (`data` a list of them, or one Buffer holding them back
   * to back with their lengths in `dataLens`), destinations packed in `names` (lengths in `lens`: -1 shared, -2 none).
   */
  sendmmsgTo(h: NativeHandle, data: Buffer[] | Buffer, count: number, flags: number, names: Buffer, lens: Int32Array,
    dataLens: Int32Array, addr?: Sockaddr | Buffer | null, control?: Cmsg[] | null): number;
  getsockopt(h: NativeHandle, level: number, name: number, value: Buffer): number;
  setsockopt(h: NativeHandle, level: number, name: number, value: Buffer | null, length: number): number;
  shutdown(h: NativeHandle, how: number): number;
  /** 0 or -errno; a Promise of it when SO_LINGER makes close(2) block (it runs on the threadpool). */
  close(h: NativeHandle): number | Promise<number>;
  /** Gives the descriptor up (unwatched, no longer owned): the number, or -EBADF. */
  detach(h: NativeHandle): number;
  /** The descriptor number; -1 once closed or detached. */
  fdOf(h: NativeHandle): number;
  getsockname(h: NativeHandle): SockaddrOut | number;
  getpeername(h: NativeHandle): SockaddrOut | number;
  fionread(h: NativeHandle): number;
  outq(h: NativeHandle): number;
  if_nametoindex(name: string): number;
  if_indextoname(index: number): string | number;
  /** The function each readiness wakeup calls, with the watched owner as `this`. Once per env. */
  setPollCallback(fn: (this: object, status: number, events: number) => void): void;
  watch(h: NativeHandle, owner: object): void;
  pollStart(h: NativeHandle, events: number): number;
  pollIdle(h: NativeHandle): void;
  pollStop(h: NativeHandle): void;
  /** BSD credential and time layout tables (bsdcred_codec.h). */
  readonly layouts: Layouts;
  /** The BPF device (bpfdev.cc): -ENOSYS where the platform has none. */
  bpfOpen(ifname: string, bufsize: number, immediate: boolean): number;
  bpfSetFilter(fd: number, insns: Buffer): number;
  bpfBufferSize(fd: number): number;
  bpfRead(fd: number, buf: Buffer): number;
  bpfClose(fd: number): number;
  /** This platform's bpf_hdr, or absent/null where there is no BPF device. */
  readonly bpfLayout?: NativeBpfLayout | null;
  /**
   * Received descriptors not yet claimed (native/held.h): each item's record is
   * an (id, token) pair. The report of the last receive with control room:
   * [read cursor, end, then per message: a header (count, or -1 when the list was
   * made natively), and per item level, type, id, token, n, fds…].
   */
  readonly rights: Int32Array;
  /** Gives a record's descriptors to the caller: how many (0 if the pair names no live record). */
  heldClaim(id: number, token: number): number;
  /** Closes a record's descriptors: how many (0 if the pair names no live record); `collected`: the collector's close. */
  heldClose(id: number, token: number, collected: boolean): number;
  /** Reads up to `max` datagrams natively on each readable wakeup, into `buffers`/`meta`/`addrs`; the wakeup's callback gets the count. */
  readerStart(h: NativeHandle, size: number, max: number, buffers: (Buffer | undefined)[], meta: Int32Array, addrs: Buffer | null,
    arena: Buffer): void;
  readerStop(h: NativeHandle): void;
  // Network namespaces (native/netns.cc). `target` is a path or a descriptor the caller owns; on failure
  // the failing syscall's name ('open', 'setns', 'unshare', 'mount' …) goes into `where.value`, its path into `where.path`.
  /** Whether this build has network namespaces (setns, unshare, bind mounts); without them every call is -ENOSYS. */
  readonly netnsSupported: boolean;
  /** A nonblocking, close-on-exec socket created inside the target namespace by a helper thread. */
  socketIn(target: string | number, domain: number, type: number, protocol: number, where?: NsWhere | null): NativeHandle | number;
  /** The bytes of a file (at most 64 KiB) opened inside the target namespace. */
  nsReadFile(target: string | number, path: string, where?: NsWhere | null): Buffer | number;
  /** Writes a file (at most 64 KiB) opened inside the target namespace: the bytes written. */
  nsWriteFile(target: string | number, path: string, data: Buffer | Uint8Array, where?: NsWhere | null): number;
  /** `ip netns add NAME`: a new network namespace bound at /run/netns/NAME. */
  netnsAdd(name: string, where?: NsWhere | null): number;
  /** `ip netns delete NAME`: unmounts and removes /run/netns/NAME. */
  netnsDelete(name: string, where?: NsWhere | null): number;
  /** PACKET_VERSION TPACKET_V3 + PACKET_RX_RING + mmap: the ring, or -errno (-ENOSYS without TPACKET_V3). */
  ringOpen(h: NativeHandle, blockSize: number, blockCount: number, frameSize: number, timeout: number): NativeRing | number;
  /** The next block handed over by the kernel: [block memory, frame table], or -EAGAIN (not yet), -EBUSY (still held), -EBADF (closed). */
  ringNext(ring: NativeRing): [ArrayBuffer, ArrayBuffer] | number;
  /** Detaches a block's memory and gives the block back to the kernel: 1, or 0 if it was released already. */
  ringRelease(ring: NativeRing, block: ArrayBuffer): number;
  /** Detaches every block still out and unmaps: 0, or -EBADF if closed already. */
  ringClose(ring: NativeRing): number;
  /** The mapping's length while it exists, else 0. */
  ringMapped(ring: NativeRing): number;
  /** Blocks handed out and not yet released (explicitly, by close, or by the collector). */
  ringHeld(ring: NativeRing): number;
  /** The frame walk of ringNext over any bytes laid out as a block: a frame table (tests, fuzzing), or -ENOSYS. */
  ringParseBlock(bytes: Uint8Array): ArrayBuffer | number;
  readonly ringLayout: RingLayout;
}

function load(): Native {
  const req = createRequire(__filename);
  const explicit = process.env.KSOCK_NATIVE;
  if (explicit) return req(path.resolve(explicit)) as Native;
  // lib/native.ts and dist/native.js both sit one level below the package root.
  const root = path.join(__dirname, '..');
  const nodeGypBuild = req('node-gyp-build') as (dir: string) => Native;
  return nodeGypBuild(root);
}

export const native: Native = fastObject(load());
