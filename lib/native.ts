// The whole native surface, declared once and typed. Nothing else in lib/
// touches the addon object directly.
import * as path from 'node:path';
import { createRequire } from 'node:module';

/** An address as the native codec reads and writes it. */
export interface SockaddrIn { family: number; address: string; port: number }
export interface SockaddrIn6 { family: number; address: string; port: number; flowinfo?: number; scopeid?: number }
export interface SockaddrUn { family: number; path?: string | Buffer }
export interface SockaddrLl { family: number; ifindex?: number; protocol?: number; hatype?: number; pkttype?: number; addr?: Buffer }
export interface SockaddrNl { family: number; pid?: number; groups?: number }
export interface SockaddrRaw { family: number; data: Buffer }
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

export interface Holder<T> { value: T }

export interface NativePoller {
  start(events: number): number;
  stop(): number;
  idle(): number;
  close(): void;
}

export interface Native {
  /** [msg_flags, msg_namelen, msg_controllen, socketpair fd0, socketpair fd1, …] */
  readonly state: Int32Array;
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
  socket(domain: number, type: number, protocol: number): number;
  socketpair(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Sockaddr): number;
  connect(fd: number, addr: Sockaddr): number;
  listen(fd: number, backlog: number): number;
  accept(fd: number): number;
  sendmsg(fd: number, data: Buffer | Buffer[], offset: number, length: number, flags: number,
    addr?: Sockaddr | null, control?: Cmsg[] | null): number;
  recvmsg(fd: number, data: Buffer | Buffer[], offset: number, length: number, flags: number,
    paddr?: Holder<SockaddrOut | null> | null, controlp?: Holder<Cmsg[] | null> | null, controlSize?: number): number;
  recvmsgAlloc(fd: number, size: number, flags: number, mp0: Holder<Buffer | null>,
    paddr?: Holder<SockaddrOut | null> | null, controlp?: Holder<Cmsg[] | null> | null, controlSize?: number): number;
  recvmmsg(fd: number, slab: Buffer, slotSize: number, count: number, flags: number, lengths: Int32Array, addrs?: Buffer | null,
    controlSpace?: number, controls?: Holder<Cmsg[][] | null> | null): number;
  sendmmsg(fd: number, buffers: Buffer[], flags: number, addr?: Sockaddr | null, control?: Cmsg[] | null): number;
  dup(fd: number): number;
  forget(fd: number): void;
  getsockopt(fd: number, level: number, name: number, value: Buffer): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer | null, length: number): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  closeAsync(fd: number, callback: (result: number) => void): number;
  getsockname(fd: number): SockaddrOut | number;
  getpeername(fd: number): SockaddrOut | number;
  fionread(fd: number): number;
  outq(fd: number): number;
  adopt(fd: number): number;
  dup2cloexec(oldfd: number, newfd: number): number;
  if_nametoindex(name: string): number;
  if_indextoname(index: number): string | number;
  Poller: new (fd: number, callback: (status: number, events: number) => void) => NativePoller;
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

export const native: Native = load();
