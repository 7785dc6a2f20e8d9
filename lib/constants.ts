// Constants. Platform constants (AF_*, SOCK_*, SOL_*, SO_*, IPPROTO_*, MSG_*,
// SCM_*, SHUT_*, E* …) come from the platform's headers at build time: a name
// this platform lacks is absent, never a wrong number. The socket-object
// constants below (SS_*, SO_RCV/SO_SND, SU_*, SOPT_*) are ksock's own, because
// the kernels' values differ or are private (see the README).
import { native } from './native';

/** Platform constants from the C headers, frozen. */
export const constants: Readonly<Record<string, number>> = native.constants;

const c = constants;
const need = (name: string): number => {
  const v = c[name];
  if (v === undefined) throw new Error(`ksock: this platform has no ${name}`);
  return v;
};

export const AF_UNSPEC = need('AF_UNSPEC');
export const AF_UNIX = need('AF_UNIX');
export const AF_INET = need('AF_INET');
export const AF_INET6 = need('AF_INET6');
export const SOCK_STREAM = need('SOCK_STREAM');
export const SOCK_DGRAM = need('SOCK_DGRAM');
export const SOCK_RAW = need('SOCK_RAW');
export const SOCK_SEQPACKET = need('SOCK_SEQPACKET');
/** Creation flags; 0 where the platform has none (ksock then applies them with fcntl). */
export const SOCK_NONBLOCK = c.SOCK_NONBLOCK ?? 0;
export const SOCK_CLOEXEC = c.SOCK_CLOEXEC ?? 0;
export const SOL_SOCKET = need('SOL_SOCKET');
export const SHUT_RD = need('SHUT_RD');
export const SHUT_WR = need('SHUT_WR');
export const SHUT_RDWR = need('SHUT_RDWR');
export const MSG_OOB = need('MSG_OOB');
export const MSG_PEEK = need('MSG_PEEK');
export const MSG_DONTWAIT = need('MSG_DONTWAIT');
export const MSG_WAITALL = need('MSG_WAITALL');
export const MSG_EOR = need('MSG_EOR');
export const MSG_TRUNC = need('MSG_TRUNC');
export const MSG_CTRUNC = need('MSG_CTRUNC');
/** BSD kernels' per-call non-blocking flag; 0 where the host has none (Linux). */
export const MSG_NBIO = c.MSG_NBIO ?? 0;

export const EAGAIN = need('EAGAIN');
/** The kernel's "would block" / "timed out" errno (== EAGAIN on Linux and the BSDs). */
export const EWOULDBLOCK = c.EWOULDBLOCK ?? EAGAIN;
export const EINPROGRESS = need('EINPROGRESS');
export const EALREADY = need('EALREADY');
export const EBADF = need('EBADF');
export const EEXIST = need('EEXIST');
export const EINVAL = need('EINVAL');
export const EPIPE = need('EPIPE');
export const EISCONN = need('EISCONN');
export const ENOTCONN = need('ENOTCONN');
export const ECONNRESET = need('ECONNRESET');
export const ECONNABORTED = need('ECONNABORTED');
export const EOPNOTSUPP = need('EOPNOTSUPP');
export const ENOMEM = need('ENOMEM');
export const EINTR = need('EINTR');
export const EDOM = need('EDOM');
export const ENOTSOCK = need('ENOTSOCK');
export const EMSGSIZE = need('EMSGSIZE');
export const EDESTADDRREQ = need('EDESTADDRREQ');
export const EAFNOSUPPORT = need('EAFNOSUPPORT');

// --- struct socket state bits (ksock's own values; FreeBSD 4.x numbering) ---
export const SS_NOFDREF = 0x0001;
export const SS_ISCONNECTED = 0x0002;
export const SS_ISCONNECTING = 0x0004;
export const SS_ISDISCONNECTING = 0x0008;
export const SS_CANTSENDMORE = 0x0010;
export const SS_CANTRCVMORE = 0x0020;
export const SS_RCVATMARK = 0x0040;
export const SS_NBIO = 0x0100;
export const SS_ASYNC = 0x0200;
export const SS_ISCONFIRMING = 0x0400;
export const SS_ISDISCONNECTED = 0x2000;
/** ksock only: bind(2) (or an implicit bind by connect/accept) succeeded. */
export const SS_ISBOUND = 0x10000;

/** Names of the SS_* bits, for printing. */
export const SS_NAMES: ReadonlyArray<readonly [number, string]> = [
  [SS_NOFDREF, 'SS_NOFDREF'], [SS_ISCONNECTED, 'SS_ISCONNECTED'], [SS_ISCONNECTING, 'SS_ISCONNECTING'],
  [SS_ISDISCONNECTING, 'SS_ISDISCONNECTING'], [SS_CANTSENDMORE, 'SS_CANTSENDMORE'],
  [SS_CANTRCVMORE, 'SS_CANTRCVMORE'], [SS_RCVATMARK, 'SS_RCVATMARK'], [SS_NBIO, 'SS_NBIO'],
  [SS_ASYNC, 'SS_ASYNC'], [SS_ISCONFIRMING, 'SS_ISCONFIRMING'], [SS_ISDISCONNECTED, 'SS_ISDISCONNECTED'],
  [SS_ISBOUND, 'SS_ISBOUND'],
];

// --- so_options bits: the 4.4BSD encoding, whatever the host's SO_* values ---
export const SO_OPTIONS = Object.freeze({
  SO_DEBUG: 0x0001, SO_ACCEPTCONN: 0x0002, SO_REUSEADDR: 0x0004, SO_KEEPALIVE: 0x0008,
  SO_DONTROUTE: 0x0010, SO_BROADCAST: 0x0020, SO_USELOOPBACK: 0x0040, SO_LINGER: 0x0080,
  SO_OOBINLINE: 0x0100, SO_REUSEPORT: 0x0200, SO_TIMESTAMP: 0x0400, SO_NOSIGPIPE: 0x0800,
});

// --- upcalls (FreeBSD soupcall_set) ---
/** soupcall_set: the receive buffer. */
export const SO_RCV = 1;
/** soupcall_set: the send buffer. */
export const SO_SND = 2;
/** Upcall return: nothing special. */
export const SU_OK = 0;
/** Upcall return (accept filters); treated as SU_OK. */
export const SU_ISCONNECTED = 1;
/** The waitflag upcalls receive: they must not sleep. */
export const M_NOWAIT = 1;
export const M_WAITOK = 2;

// --- struct sockopt direction (FreeBSD) ---
export const SOPT_GET = 0;
export const SOPT_SET = 1;

// --- uio direction ---
export const UIO_READ = 0;
export const UIO_WRITE = 1;

/** Names of the SOCK_* types, for printing. */
export function sockTypeName(type: number): string {
  for (const n of ['SOCK_STREAM', 'SOCK_DGRAM', 'SOCK_RAW', 'SOCK_SEQPACKET', 'SOCK_RDM', 'SOCK_PACKET']) {
    if (c[n] === type) return n;
  }
  return `SOCK_${type}`;
}

/** Names of the AF_* families, for printing. */
export function familyName(family: number): string {
  for (const n of ['AF_UNSPEC', 'AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_PACKET', 'AF_NETLINK', 'AF_LINK', 'AF_ROUTE']) {
    if (c[n] === family) return n;
  }
  return `AF_${family}`;
}
