// SocketError: the idiomatic face's error, shaped like Node's system errors.
import { getSystemErrorMap } from 'node:util';
import { native, type SockaddrOut, type Sockaddr } from './native';

/** The symbolic name of an errno value on this platform ('EAGAIN' …), or `E<n>`. */
export function errnoName(errno: number): string {
  return native.errnoNames[errno] ?? `E${errno}`;
}

const OS_MESSAGES: Record<string, string> = {};

/** A short description, like strerror(3), via Node's own table where it has one. */
export function strerror(errno: number): string {
  const name = errnoName(errno);
  let m = OS_MESSAGES[name];
  if (m === undefined) {
    // libuv's table (negative errno on Unix); fall back to the name.
    const entry = getSystemErrorMap().get(-errno);
    m = entry && entry[0] === name ? entry[1] : name;
    OS_MESSAGES[name] = m;
  }
  return m;
}

function describe(addr: Sockaddr | SockaddrOut | undefined): string {
  if (addr === undefined || addr === null || Buffer.isBuffer(addr)) return '';
  const a = addr as SockaddrOut;
  if (typeof a.address === 'string') {
    return a.address.includes(':') ? ` [${a.address}]:${a.port ?? 0}` : ` ${a.address}:${a.port ?? 0}`;
  }
  if (typeof a.path === 'string') return ` ${a.path.startsWith('\0') ? '@' + a.path.slice(1) : a.path}`;
  return '';
}

/**
 * An operating-system error from a socket call.
 *
 * `code` is the symbolic name ('ECONNREFUSED'), `errno` the positive platform
 * value (as the kernel face returns it), `syscall` the failing call. The
 * message reads like Node's: `connect ECONNREFUSED 127.0.0.1:9`.
 */
export class SocketError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly address?: string;
  readonly port?: number;
  readonly path?: string;

  constructor(errno: number, syscall: string, addr?: Sockaddr | SockaddrOut, message?: string) {
    const code = errnoName(errno);
    super(message ?? `${syscall} ${code}${describe(addr)}`);
    this.name = 'SocketError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (addr && !Buffer.isBuffer(addr)) {
      const a = addr as SockaddrOut;
      if (typeof a.address === 'string') { this.address = a.address; this.port = a.port; }
      if (typeof a.path === 'string') this.path = a.path;
    }
  }
}

/** Throws a SocketError when `errno` is non-zero; the idiomatic face's bridge from the kernel face. */
export function check(errno: number, syscall: string, addr?: Sockaddr | SockaddrOut): void {
  if (errno !== 0) throw new SocketError(errno, syscall, addr);
}
