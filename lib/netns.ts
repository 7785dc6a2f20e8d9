// Network namespaces (Linux): named namespaces as `ip netns` keeps them, and
// sockets, files and sysctls inside another namespace. The calling thread
// never changes namespace: native/netns.cc does each job on a short-lived
// helper thread that enters the namespace, and joins it at once.
import { existsSync, readdirSync } from 'node:fs';
import { native, type NsWhere, type SockaddrOut } from './native';
import { Socket } from './core/socket';
import { SocketError } from './errors';
import { SOCK_CLOEXEC, SOCK_NONBLOCK, SS_NBIO } from './constants';
import { named } from './names';

/**
 * A network namespace:
 * - a name (`'blue'`, a file under /run/netns as `ip netns add` makes it) — a bare string is a name
 *   unless it starts with `/`, then it is a path;
 * - `{ name }`, the same, spelled out;
 * - `{ path }`: a namespace file (`/run/netns/blue`, `/proc/1234/ns/net`, `/proc/thread-self/ns/net`);
 * - `{ fd }`: an open descriptor of a namespace file, which the caller owns (it is used, never closed).
 */
export type NetnsRef = string | { name: string } | { path: string } | { fd: number };

/** Where named namespaces live (iproute2's NETNS_RUN_DIR). */
export const NETNS_RUN_DIR = '/run/netns';

/** A value for {@link Netns.sysctl}: text, an integer, or a list of integers (written tab-separated, as the kernel prints them). */
export type SysctlValue = string | number | bigint | readonly (number | bigint)[];

// Bytes, as the kernel counts them (NAME_MAX, PATH_MAX - 1, the native file bound).
const NAME_MAX = 255;
const PATH_MAX = 4095;
const FILE_MAX = 64 * 1024;

const DOMAIN = ['AF_', 'PF_'], TYPE = ['SOCK_'], PROTOCOL = ['IPPROTO_', 'ETH_P_', 'NETLINK_'];

/** A namespace name, checked as iproute2 checks it: not empty, no '/', not '.' or '..', at most 255 bytes. */
function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string') throw new TypeError(`${what}: a namespace name must be a string`);
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new TypeError(`${what}: invalid namespace name ${JSON.stringify(name)} (not empty, no '/' or NUL, not '.' or '..')`);
  }
  if (Buffer.byteLength(name) > NAME_MAX) throw new RangeError(`${what}: namespace name is longer than ${NAME_MAX} bytes`);
  return name;
}

function checkPath(path: unknown, what: string, which: string): string {
  if (typeof path !== 'string') throw new TypeError(`${what}: ${which} must be a string`);
  if (path === '' || path.includes('\0')) throw new TypeError(`${what}: ${which} must be a non-empty path without NUL`);
  if (Buffer.byteLength(path) > PATH_MAX) throw new RangeError(`${what}: ${which} is longer than ${PATH_MAX} bytes`);
  return path;
}

/** Each property of a ref is read once, here: native sees only a path or a number. */
function targetOf(ns: unknown, what: string): string | number {
  if (typeof ns === 'string') return ns.startsWith('/') ? checkPath(ns, what, 'namespace path') : `${NETNS_RUN_DIR}/${checkName(ns, what)}`;
  if (typeof ns === 'object' && ns !== null) {
    const o = ns as { name?: unknown; path?: unknown; fd?: unknown };
    const name = o.name, path = o.path, fd = o.fd;
    const given = [name, path, fd].filter((v) => v !== undefined).length;
    if (given === 1) {
      if (name !== undefined) return `${NETNS_RUN_DIR}/${checkName(name, what)}`;
      if (path !== undefined) return checkPath(path, what, 'namespace path');
      if (typeof fd !== 'number' || !Number.isInteger(fd)) throw new TypeError(`${what}: fd must be a descriptor number`);
      if (fd < 0 || fd > 0x7fffffff) throw new RangeError(`${what}: fd ${fd} is out of range`);
      return fd;
    }
  }
  throw new TypeError(`${what}: a namespace is a name, a path, or one of { name }, { path }, { fd }`);
}

/** The SocketError of a failed namespace operation (`open ENOENT /run/netns/nope`, `setns EINVAL fd 7`). */
function nsError(errno: number, where: NsWhere, target?: string | number): SocketError {
  const syscall = where.value ?? 'setns';
  const path = where.path;
  if (path !== undefined) return new SocketError(errno, syscall, { family: 0, path } satisfies SockaddrOut);
  const err = new SocketError(errno, syscall);
  if (typeof target === 'number' && (syscall === 'setns' || syscall === 'open')) {
    return new SocketError(errno, syscall, undefined, `${err.message} fd ${target}`);
  }
  return err;
}

function encodeSysctl(value: unknown): Buffer {
  const one = (v: unknown): string => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError('netns.sysctl: a number value must be a safe integer');
      return String(v);
    }
    throw new TypeError('netns.sysctl: value must be a string, an integer, a bigint or a list of integers');
  };
  let text: string;
  if (typeof value === 'string') {
    if (value.includes('\0')) throw new TypeError('netns.sysctl: value must not contain NUL');
    text = value;
  } else if (Array.isArray(value)) {
    if (value.length === 0 || value.length > 64) throw new RangeError('netns.sysctl: a list value has 1 to 64 integers');
    text = value.map(one).join('\t');
  } else {
    text = one(value);
  }
  // As sysctl(8) writes it: the value and a newline.
  const buf = Buffer.from(text + '\n');
  if (buf.length > FILE_MAX) throw new RangeError(`netns.sysctl: value is longer than ${FILE_MAX} bytes`);
  return buf;
}

/**
 * The file below /proc/sys of a sysctl key, as sysctl(8) resolves it: `net.ipv4.ip_forward`, or the
 * same with '/' separators (`net/ipv4/ip_forward`). In a dotted key a '/' stands for a '.' inside a
 * name: `net.ipv4.conf.eth0/100.forwarding` is `net/ipv4/conf/eth0.100/forwarding`.
 */
export function sysctlPath(key: string): string {
  if (typeof key !== 'string') throw new TypeError('netns.sysctl: key must be a string');
  if (key.includes('\0')) throw new TypeError('netns.sysctl: key must not contain NUL');
  const first = /[./]/.exec(key)?.[0];
  const rel = first === '/' ? key : key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new TypeError(`netns.sysctl: invalid key ${JSON.stringify(key)}`);
  const path = `/proc/sys/${rel}`;
  if (Buffer.byteLength(path) > PATH_MAX) throw new RangeError('netns.sysctl: key is too long');
  return path;
}

function add(name: string): void {
  const n = checkName(name, 'netns.add');
  const where: NsWhere = {};
  const r = native.netnsAdd(n, where);
  if (r < 0) throw nsError(-r, where);
}

function del(name: string): void {
  const n = checkName(name, 'netns.delete');
  const where: NsWhere = {};
  const r = native.netnsDelete(n, where);
  if (r < 0) throw nsError(-r, where);
}

function list(): string[] {
  let names: string[];
  try {
    names = readdirSync(NETNS_RUN_DIR);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.sort();
}

function exists(name: string): boolean {
  return existsSync(`${NETNS_RUN_DIR}/${checkName(name, 'netns.exists')}`);
}

/** Creates the socket inside `ns`; Socket.create's `{ netns }` option comes here too. */
export function socketIn(ns: NetnsRef, domain: number | string, type: number | string, protocol: number | string = 0,
  options: { nonblocking?: boolean } = {}, what = 'netns.socket'): Socket {
  const target = targetOf(ns, what);
  const d = named(domain, `${what}: domain`, DOMAIN);
  const t = named(type, `${what}: type`, TYPE);
  const p = named(protocol, `${what}: protocol`, PROTOCOL);
  if (typeof options !== 'object' || options === null) throw new TypeError(`${what}: options must be an object`);
  const nonblocking = options.nonblocking === true || (SOCK_NONBLOCK !== 0 && (t & SOCK_NONBLOCK) !== 0);
  const base = t & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  const where: NsWhere = {};
  const h = native.socketIn(target, d, base, p, where);
  if (typeof h === 'number') throw nsError(-h, where, target);
  return new Socket(d, base, p, h, nonblocking ? SS_NBIO : 0);
}

function readFile(ns: NetnsRef, path: string): Buffer {
  const target = targetOf(ns, 'netns.readFile');
  const p = checkPath(path, 'netns.readFile', 'path');
  const where: NsWhere = {};
  const r = native.nsReadFile(target, p, where);
  if (typeof r === 'number') throw nsError(-r, where, target);
  return r;
}

function writeFile(ns: NetnsRef, path: string, data: string | Uint8Array): void {
  const target = targetOf(ns, 'netns.writeFile');
  const p = checkPath(path, 'netns.writeFile', 'path');
  let buf: Uint8Array;
  if (typeof data === 'string') buf = Buffer.from(data);
  else if (data instanceof Uint8Array) buf = data;
  else throw new TypeError('netns.writeFile: data must be a string or a Uint8Array');
  if (buf.byteLength > FILE_MAX) throw new RangeError(`netns.writeFile: data is longer than ${FILE_MAX} bytes`);
  const where: NsWhere = {};
  const r = native.nsWriteFile(target, p, buf, where);
  if (r < 0) throw nsError(-r, where, target);
}

function sysctl(ns: NetnsRef, key: string, value?: SysctlValue): string | undefined {
  const path = sysctlPath(key);
  if (value === undefined) return readFile(ns, path).toString('utf8').trim();
  writeFile(ns, path, encodeSysctl(value));
  return undefined;
}

/** The namespace layer: `ip netns` and a thread that visits a namespace for you. */
export interface Netns {
  /** Whether this build and platform have network namespaces (Linux); elsewhere every call fails with ENOSYS. */
  readonly supported: boolean;
  /**
   * Creates a named network namespace, as `ip netns add NAME` does: /run/netns made a shared mount,
   * /run/netns/NAME created, and a new namespace (made on a helper thread) bound onto it. `ip netns`
   * sees it at once. Needs CAP_SYS_ADMIN.
   * @throws TypeError/RangeError for a bad name; SocketError EEXIST (`open`) when it exists, EPERM (`mount`, `unshare`) …
   */
  add(name: string): void;
  /**
   * Deletes a named network namespace, as `ip netns delete NAME` does: unmounts /run/netns/NAME and
   * removes it. The namespace itself lives on while a socket or process still uses it.
   * @throws SocketError ENOENT (`unlink`) when there is no such name
   */
  delete(name: string): void;
  /** The named namespaces (the files in /run/netns, as `ip netns list` shows them), sorted. */
  list(): string[];
  /** Whether a named namespace exists. */
  exists(name: string): boolean;
  /**
   * A socket created inside `ns` — bound to that namespace's interfaces, addresses and routes for
   * its whole life — and otherwise a normal {@link Socket} of this process (`Socket.create` with
   * `{ netns }` is the same). Domain, type and protocol by number or by name.
   * @throws SocketError from `open`/`setns` (no such namespace, EPERM) or `socket`
   */
  socket(ns: NetnsRef, domain: number | string, type: number | string, protocol?: number | string,
    options?: { nonblocking?: boolean }): Socket;
  /**
   * Reads a sysctl inside `ns` (`'net.ipv4.ip_forward'` → `'0'`), trimmed, or writes one (then returns
   * undefined). Only the namespace's own value changes.
   */
  sysctl(ns: NetnsRef, key: string): string;
  sysctl(ns: NetnsRef, key: string, value: SysctlValue): undefined;
  /**
   * The bytes of a file read inside `ns` (at most 64 KiB): what resolves against the reader's network
   * namespace, such as `/proc/sys/net/…` or `/proc/thread-self/net/dev`.
   */
  readFile(ns: NetnsRef, path: string): Buffer;
  /** Writes a file (at most 64 KiB) opened inside `ns`. */
  writeFile(ns: NetnsRef, path: string, data: string | Uint8Array): void;
}

/**
 * Network namespaces: `netns.add('blue')`, `netns.socket('blue', 'AF_INET', 'SOCK_DGRAM')`,
 * `netns.sysctl('blue', 'net.ipv4.ip_forward', 1)`, `netns.delete('blue')`.
 */
export const netns: Netns = Object.freeze({
  supported: native.netnsSupported,
  add, delete: del, list, exists,
  socket: (ns: NetnsRef, domain: number | string, type: number | string, protocol?: number | string, options?: { nonblocking?: boolean }) =>
    socketIn(ns, domain, type, protocol, options),
  sysctl: sysctl as Netns['sysctl'],
  readFile, writeFile,
});
