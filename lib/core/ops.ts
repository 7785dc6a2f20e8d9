// The socket operations both faces share — accept, send, receive — each
// with its wait as an explicit parameter:
//   null                 one attempt; EWOULDBLOCK where the call would block;
//   { timeo, signal }    sleep on readiness (FIFO behind earlier sleepers),
//                        for at most `timeo` ms (0: no limit); an abort of
//                        `signal` ends the sleep with EINTR.
// The kernel face derives the wait from MSG_DONTWAIT/SS_NBIO and the socket
// buffer's timeout; the idiomatic face from its { signal, timeout } options.
// Arguments are checked by the face that calls, once.
import { native, type Cmsg, type Holder, type Sockaddr, type SockaddrOut } from '../native';
import {
  EBADF, EINVAL, EPIPE, EWOULDBLOCK, ECONNABORTED, MSG_NBIO, MSG_EOR, MSG_PEEK, MSG_WAITALL, MSG_OOB, SOCK_STREAM,
  SS_NOFDREF, SS_ISCONNECTED, SS_CANTSENDMORE, SS_ISBOUND, UIO_WRITE, EAGAIN, constants,
} from '../constants';
import { endianness } from 'node:os';
import { AGAIN, Socket, type Wait, ioFailed, socantrcvmore } from './socket';
import { Uio } from './uio';
import { controlArg, takeControl } from './rights';

const slots = native.slots;
const MSG_FLAGS = native.slotNames.MSG_FLAGS;
const ADDR_LEN = native.slotNames.ADDR_LEN;
const BYTES = native.slotNames.BYTES;
const SOCKADDR_STORAGE = native.sizes.sockaddr_storage!;

// Source addresses, decoded only when asked for, and answered without encoding.
//
// A receive leaves the raw sockaddr in a RawFrom. Decoding an IPv4 one is done
// here (the common case: an object literal, no call into the addon); any
// other family by the addon. Each decoded IP address is remembered, with a
// copy of its bytes, in a small ring: a send to that same object, unchanged
// (`to: msg.from`, or the kernel face's paddr.value), takes the bytes and
// skips encoding. Eight entries cover a server that answers each request
// before the next few; older ones are simply encoded again.

const AF_INET = constants.AF_INET!;
/** Where a sockaddr keeps its family: after a length byte on the BSDs (sa_len), first as a host-order short elsewhere. */
const SA_LEN = (() => {
  const probe = native.sockaddr({ family: AF_INET, address: '0.0.0.0', port: 0 });
  return probe[1] === AF_INET && probe[0] === probe.length;
})();
/** sizeof(struct sockaddr_in), the same on every system ksock builds for. */
const SOCKADDR_IN = 16;
const hostShort: (b: Buffer) => number = endianness() === 'LE' ? (b) => b[0]! | (b[1]! << 8) : (b) => (b[0]! << 8) | b[1]!;

/** The address object of a raw sockaddr of `len` bytes (null for none), as the addon's decoder makes it. */
function decodeRaw(buf: Buffer, len: number): SockaddrOut | null {
  if (len === 0) return null;
  if (len === SOCKADDR_IN && (SA_LEN ? buf[1] : hostShort(buf)) === AF_INET) {
    return { family: AF_INET, address: `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`, port: (buf[2]! << 8) | buf[3]! };
  }
  return native.decodeSockaddr(buf, len);
}

/** One remembered decoding: the object, a copy of its bytes, and its fields as they were. */
class Decoded {
  obj: SockaddrOut | null = null;
  readonly buf = Buffer.alloc(SOCKADDR_STORAGE);
  view: Buffer = this.buf.subarray(0, 0);
  family = 0;
  address: string | undefined = undefined;
  port: number | undefined = undefined;
  flowinfo: number | undefined = undefined;
  scopeid: number | undefined = undefined;
}
const RING = 8;
const ring = Array.from({ length: RING }, () => new Decoded());
let ringNext = 0;

function remember(a: SockaddrOut, src: Buffer, len: number): void {
  const e = ring[ringNext]!;
  ringNext = (ringNext + 1) % RING;
  e.obj = a;
  for (let i = 0; i < len; i++) e.buf[i] = src[i]!;
  if (e.view.length !== len) e.view = e.buf.subarray(0, len);
  e.family = a.family;
  e.address = a.address;
  e.port = a.port;
  e.flowinfo = a.flowinfo;
  e.scopeid = a.scopeid;
}

/**
 * A receive's source address kept as the kernel wrote it: decoded into an
 * address object only if someone asks (`paddr` of `receive`).
 */
export class RawFrom {
  readonly buf: Buffer;
  /** msg_namelen: 0 when the receive gave no address (or none yet). */
  len = 0;

  constructor(buf: Buffer = Buffer.allocUnsafe(SOCKADDR_STORAGE)) {
    this.buf = buf;
  }

  decode(): SockaddrOut | null {
    const len = this.len;
    const a = decodeRaw(this.buf, len);
    if (a !== null && a.address !== undefined && len <= SOCKADDR_STORAGE) remember(a, this.buf, len);
    return a;
  }
}

/** Where the kernel face's receives leave the raw address (decoded at once, in the same call). */
const scratchFrom = new RawFrom(Buffer.alloc(SOCKADDR_STORAGE));

/**
 * The raw sockaddr an IP address object was decoded from, when it is
 * unchanged since (same family, address, port, flow label and scope): a
 * reply to `msg.from` then costs no encoding. Null otherwise.
 */
export function rawOf(addr: object): Buffer | null {
  for (let i = 0; i < RING; i++) {
    const e = ring[i]!;
    if (e.obj !== addr) continue;
    const a = addr as SockaddrOut;
    if (a.family !== e.family || a.address !== e.address || a.port !== e.port || a.flowinfo !== e.flowinfo ||
      a.scopeid !== e.scopeid) return null;
    return e.view;
  }
  return null;
}

const NEG_EAGAIN = -EAGAIN;
/** Flags that only steer ksock (sleep or not) and never reach the host. */
const POLICY_FLAGS = MSG_NBIO;
/** Default control buffer space for a receive (room for 253 descriptors and more). */
export const CONTROL_SPACE_DEFAULT = 4096;
/** Default mp0 size when no uio gives the count: the largest IP datagram. */
export const MP0_DEFAULT = 65536;

function isStream(so: Socket): boolean {
  return so.so_type === SOCK_STREAM;
}

/**
 * Takes the next completed connection: `aso.value` = the new Socket,
 * `nam.value` = the peer's address. The listener's `so_error` is returned
 * and cleared first; after shutdown(SHUT_RD), ECONNABORTED.
 */
export function accept(so: Socket, aso: Holder<Socket | null>, nam: Holder<SockaddrOut | null> | null | undefined,
  wait: Wait | null): number | Promise<number> {
  const attempt = (): number => {
    if (so.so_state & SS_NOFDREF) return EBADF;
    if (so.so_error) {
      const e = so.so_error;
      so.so_error = 0;
      return e;
    }
    if (so._shutRd) return ECONNABORTED;
    const h = native.accept(so._h);
    if (h === NEG_EAGAIN) return AGAIN;
    if (typeof h === 'number') return -h;
    const child = new Socket(so.so_dom, so.so_type, so.so_proto, h, SS_ISCONNECTED | SS_ISBOUND);
    aso.value = child;
    if (nam) {
      const p = native.getpeername(h);
      nam.value = typeof p === 'number' ? null : p;
    }
    return 0;
  };
  if (wait === null) {
    const r = attempt();
    return r === AGAIN ? EWOULDBLOCK : r;
  }
  return so._sleep(so.so_rcv, attempt, () => EWOULDBLOCK, wait);
}

/** @internal removes `n` sent bytes from the front of a Buffer chain, in place. */
function trimChain(top: Buffer[], n: number): void {
  while (n > 0 && top.length > 0) {
    const b = top[0]!;
    if (b.length <= n) {
      n -= b.length;
      top.shift();
    } else {
      top[0] = b.subarray(n);
      n = 0;
    }
  }
}

/**
 * sendmsg(2) from `uio` or the Buffer chain `top` (exactly one non-null; the
 * face checked). See sosend(9) for the semantics.
 */
export function send(so: Socket, addr: Sockaddr | null | undefined, uio: Uio | null | undefined,
  top: Buffer | Buffer[] | null | undefined, control: Cmsg[] | null | undefined, flags: number,
  wait: Wait | null): number | Promise<number> {
  const waits = wait !== null;
  const u = uio ?? new Uio(top!, UIO_WRITE);
  const atomic = top != null || !isStream(so);
  // Pre-checks, in sosend_generic's order.
  let e = 0;
  if (so.so_state & SS_NOFDREF) e = EBADF;
  else if ((flags & MSG_EOR) && isStream(so)) e = EINVAL;
  else if (so.so_state & SS_CANTSENDMORE) e = EPIPE;
  else if (so.so_error) {
    e = so.so_error;
    so.so_error = 0;
  }
  if (e !== 0) return waits ? Promise.resolve(e) : e;
  const sysflags = flags & ~POLICY_FLAGS;
  if (!isStream(so) && (!waits || so.so_snd._sleepers.length === 0)) {
    // The hot path for datagrams: one attempt, no closure, no Error; an
    // address object is encoded by the same call.
    const to = addr == null ? null : Buffer.isBuffer(addr) ? addr : rawOf(addr) ?? addr;
    const n = native.sendmsg(so._h, u._data(), u._done, u._len(), sysflags, to, controlArg(control));
    if (n >= 0) {
      u._advance(n);
      return waits ? Promise.resolve(0) : 0;
    }
    if (n !== NEG_EAGAIN) return waits ? Promise.resolve(ioFailed(so, -n)) : ioFailed(so, -n);
    if (!waits) return EWOULDBLOCK;
    // The send buffer is full: sleep below (the next attempt tries again).
  }
  return sendSlow(so, addr, u, top, control, sysflags, wait, waits, atomic);
}

/** The rest of send: streams and sleeps (a function of its own: see receiveSlow). */
function sendSlow(so: Socket, addr: Sockaddr | null | undefined, u: Uio, top: Buffer | Buffer[] | null | undefined,
  control: Cmsg[] | null | undefined, sysflags: number, wait: Wait | null, waits: boolean,
  atomic: boolean): number | Promise<number> {
  // Encoded once for every attempt of this send.
  const nam = addr == null ? null : Buffer.isBuffer(addr) ? addr : rawOf(addr) ?? native.sockaddr(addr);
  let ctl: Cmsg[] | null = control ?? null;
  let sent = 0;
  const attempt = (): number => {
    for (;;) {
      if (so.so_state & SS_NOFDREF) return EBADF;
      const n = native.sendmsg(so._h, u._data(), u._done, u._len(), sysflags, nam, controlArg(ctl));
      if (n >= 0) {
        u._advance(n);
        sent += n;
        ctl = null;
        if (u._len() === 0 || !isStream(so)) return 0;
        continue;
      }
      if (n === NEG_EAGAIN) return AGAIN;
      return ioFailed(so, -n);
    }
  };
  if (!waits) {
    const r = attempt();
    if (r !== AGAIN) return r;
    if (atomic && sent > 0 && Array.isArray(top)) trimChain(top, sent);
    return EWOULDBLOCK;
  }
  return so._sleep(so.so_snd, attempt, () => EWOULDBLOCK, wait!);
}

/** soreceive's mp0: the fresh Buffer comes back in `value`. */
export interface Mp0Holder extends Holder<Buffer | null> {
  /** Bytes to receive when no uio gives the count (default MP0_DEFAULT). */
  size?: number;
}

/** soreceive's controlp: the control items come back in `value`. */
export interface ControlHolder extends Holder<Cmsg[] | null> {
  /** Control buffer space in bytes (default CONTROL_SPACE_DEFAULT); less makes MSG_CTRUNC. */
  space?: number;
}


/**
 * recvmsg(2) into `uio` or, with `mp0`, a fresh Buffer; `space` bytes of
 * control room when `controlp` is given; out-flags to `flagsp`. See
 * soreceive(9) for the semantics.
 */
export function receive(so: Socket, paddr: Holder<SockaddrOut | null> | RawFrom | null | undefined,
  uio: Uio | null | undefined, mp0: Mp0Holder | null | undefined, controlp: ControlHolder | null | undefined,
  space: number, flags: number, flagsp: Holder<number> | null | undefined, wait: Wait | null): number | Promise<number> {
  // MSG_OOB never sleeps: out-of-band data is there or it is not (soreceive_rcvoob).
  const waits = wait !== null && !(flags & MSG_OOB);
  let e = 0;
  if (so.so_state & SS_NOFDREF) e = EBADF;
  else if (so.so_error && !(flags & MSG_PEEK)) {
    e = so.so_error;
    so.so_error = 0;
  }
  if (e !== 0) return waits ? Promise.resolve(e) : e;

  const waitall = (flags & MSG_WAITALL) !== 0 && isStream(so) && (flags & (MSG_PEEK | MSG_OOB)) === 0;
  // The source address arrives raw; a holder (the kernel face's paddr) gets
  // it decoded, by an object an answer can send to without encoding it again.
  const holder = paddr == null || paddr instanceof RawFrom ? null : paddr;
  const raw = paddr == null ? null : holder === null ? (paddr as RawFrom) : scratchFrom;
  const pa = raw !== null ? raw.buf : null;
  if (!waits && mp0 == null && !waitall && !so._shutRd) {
    // The hot path: one attempt, no closure, no allocation, no Error.
    const u = uio!;
    const len = u._len();
    const n = native.recvmsg(so._h, u._data(), u._done, len, flags & ~POLICY_FLAGS, pa, controlp ?? null, space);
    if (n >= 0) {
      if (raw !== null) {
        raw.len = slots[ADDR_LEN]!;
        if (holder !== null) holder.value = raw.decode();
      }
      if (controlp) takeControl(controlp, so);
      u._advance(n);
      if (flagsp) flagsp.value = slots[MSG_FLAGS]!;
      if (n === 0 && len > 0 && isStream(so)) socantrcvmore(so);
      return 0;
    }
    return n === NEG_EAGAIN ? EWOULDBLOCK : ioFailed(so, -n);
  }
  return receiveSlow(so, holder, raw, pa, uio, mp0, controlp, space, flags, flagsp, wait, waits, waitall);
}

/**
 * The rest of receive: the mp0 form, MSG_WAITALL, sleeps. A function of its
 * own so that the hot path above allocates no closure context (V8 makes one
 * on entry to any function whose inner functions capture its variables).
 */
function receiveSlow(so: Socket, holder: Holder<SockaddrOut | null> | null, raw: RawFrom | null, pa: Buffer | null,
  uio: Uio | null | undefined, mp0: Mp0Holder | null | undefined, controlp: ControlHolder | null | undefined,
  space: number, flags: number, flagsp: Holder<number> | null | undefined, wait: Wait | null, waits: boolean,
  waitall: boolean): number | Promise<number> {
  // Where the data goes: the caller's uio, or a fresh Buffer for mp0 (made
  // natively with exactly the bytes that arrived; with MSG_WAITALL, filled
  // piece by piece).
  const count = mp0 ? (uio ? uio._len() : mp0.size ?? MP0_DEFAULT) : 0;
  if (!Number.isInteger(count) || count < 0) throw new RangeError('soreceive: mp0.size must be a non-negative integer');
  const single = mp0 != null && !waitall;
  const u: Uio | null = mp0 ? (single ? null : new Uio(Buffer.alloc(count))) : uio!;
  const sysflags = flags & ~(POLICY_FLAGS | MSG_WAITALL);
  let first = true;
  let outflags = 0;
  let got = 0;
  const finish = (): void => {
    if (flagsp) flagsp.value = outflags;
    if (mp0) {
      if (u !== null) mp0.value = u.uio_iov[0]!.subarray(0, got);
      else if (got === 0 && mp0.value === undefined) mp0.value = Buffer.alloc(0);
      if (uio) uio._advance(got);
    }
  };
  const attempt = (): number => {
    for (;;) {
      if (so._shutRd) {
        if (single) mp0!.value = Buffer.alloc(0);
        finish();
        return 0;
      }
      if (so.so_state & SS_NOFDREF) return EBADF;
      const h = so._h;
      const len = u === null ? count : u._len();
      let n: number;
      if (u === null) {
        const b = native.recvmsgAlloc(h, count, sysflags, pa, controlp ?? null, space);
        if (typeof b === 'number') n = b;
        else {
          mp0!.value = b;
          n = slots[BYTES]!;
        }
      } else {
        n = native.recvmsg(h, u._data(), u._done, len, sysflags, first ? pa : null, first ? (controlp ?? null) : null, space);
      }
      if (n >= 0) {
        if (first && raw !== null) {
          raw.len = slots[ADDR_LEN]!;
          if (holder !== null) holder.value = raw.decode();
        }
        if (first && controlp) takeControl(controlp, so);
        outflags |= slots[MSG_FLAGS]!;
        first = false;
        const moved = n < len ? n : len; // with MSG_TRUNC in, n is the datagram's full length
        if (u !== null) u._advance(moved);
        got += moved;
        if (n === 0 && len > 0 && isStream(so)) {
          socantrcvmore(so);
          finish();
          return 0;
        }
        if (waitall && u !== null && u._len() > 0) continue;
        finish();
        return 0;
      }
      if (n === NEG_EAGAIN) {
        if (!first && !waitall) {
          finish();
          return 0;
        }
        return AGAIN;
      }
      return ioFailed(so, -n);
    }
  };
  if (!waits) {
    const r = attempt();
    if (r !== AGAIN) return r;
    if (got > 0) {
      finish(); // MSG_WAITALL cut short: a short count, no error
      return 0;
    }
    return EWOULDBLOCK;
  }
  const timedOut = (): number => {
    if (got > 0) {
      finish();
      return 0;
    }
    return EWOULDBLOCK;
  };
  return so._sleep(so.so_rcv, attempt, timedOut, wait!, true);
}

