// The idiomatic face on the shared Socket object: promises, iterators and
// methods that throw SocketError. It is built on the kernel face, so its
// validation and the struct socket mirrors hold whichever face a program uses.
import { hostProtocol } from './packet';
import * as dns from 'node:dns/promises';
import * as net from 'node:net';
import { inspect, type InspectOptionsStylized } from 'node:util';
import { native, type Cmsg, type NativeHandle, type ReceivedCmsg, type Sockaddr, type SockaddrOut } from './native';
import { Socket, Sockbuf, getint, type Wait } from './core/socket';
import { Uio } from './core/uio';
import { tsleep } from './core/sleep';
import { takeControls } from './core/rights';
import { SocketError } from './errors';
import {
  AF_INET, AF_UNIX, EAGAIN, EEXIST, EINTR, EWOULDBLOCK, MSG_DONTWAIT, MSG_NBIO, SOCK_STREAM, SOCK_NONBLOCK, SOL_SOCKET, SS_ISCONNECTING,
  SS_ISBOUND, SS_ISCONNECTED, SS_NBIO, SS_NOFDREF, SO_OPTIONS, UIO_WRITE, constants,
} from './constants';
import { socreate, sobind, soconnect, solisten, soshutdown, soclose } from './kern/socket';
import {
  accept as acceptOp, send as sendOp, receive as receiveOp, RawFrom, CONTROL_SPACE_DEFAULT,
} from './core/ops';
import { MAX_BUFFERS, checkAddr, isBufferList } from './core/checks';
import { flagsOf, named, optionOf } from './names';
import { Sockopt, sockopt_init, sosetopt, sogetopt } from './kern/sockopt';
import { socketIn, type NetnsRef } from './netns';
import {
  type GetValue, type SetValue, decodeOption, encodeOption, optSpec, optionSize,
} from './options';

/** Room for one address in a batch: the platform's sizeof(struct sockaddr_storage). */
const SOCKADDR_STORAGE = native.sizes.sockaddr_storage!;

/** MSG_* flags: a number, a constant's name ('MSG_PEEK'), or a list of either (OR-ed). */
export type Flags = number | string | ReadonlyArray<number | string>;

/** Options every wait takes. */
export interface WaitOptions {
  /** Abort the wait: the promise rejects with `signal.reason` (an AbortError by default). */
  signal?: AbortSignal;
  /** Give up after this many milliseconds: SocketError ETIMEDOUT. */
  timeout?: number;
}

/** What `sendmsg` / `trySendmsg` take. */
export interface SendOptions extends WaitOptions {
  /** The data: one Buffer, or several sent as one gather write. */
  data: Buffer | Buffer[];
  /** Destination, for unconnected sockets (an address object or a pre-encoded `sockaddr()` Buffer). */
  to?: Sockaddr | null;
  /** Control items: `{ level, type, data }` or typed fields (`fds`, `ttl`, `segsize` …). */
  control?: Cmsg[] | null;
  /** MSG_* flags. */
  flags?: Flags;
}

/**
 * One datagram of a `sendmmsg` batch with its own destination or control items (a plain Buffer in the batch
 * is a datagram that takes the batch's). Each of the three properties is read once per call.
 */
export interface MmsgMessage {
  /** The datagram: one Buffer, or several (at most IOV_MAX) gathered into one datagram. */
  data: Buffer | Buffer[];
  /**
   * This message's destination: an address object or a pre-encoded `sockaddr()` Buffer. Absent (undefined):
   * the batch's `options.to`; `null`: none (a connected socket's peer).
   */
  to?: Sockaddr | null;
  /** This message's control items. Absent (undefined): the batch's `options.control`; `null` or `[]`: none. */
  control?: Cmsg[] | null;
}

/** What `sendmmsg` / `trySendmmsg` take besides the messages: what every message shares unless it says otherwise. */
export interface SendmmsgOptions {
  /** The destination of every message without a `to` of its own (an address object or a `sockaddr()` Buffer). */
  to?: Sockaddr | null;
  /** The control items of every message without a `control` of its own (encoded once for the batch). */
  control?: Cmsg[] | null;
  /** MSG_* flags, for the whole batch. */
  flags?: Flags;
}

/** What `recvmsg` / `tryRecvmsg` take. */
export interface RecvOptions extends WaitOptions {
  /** Bytes to receive into a fresh Buffer (default 65536). */
  size?: number;
  /** Receive into these Buffers instead (scatter); `data` is then a view of what was filled. */
  into?: Buffer | Buffer[];
  /** Receive control data: `true` (4096 bytes of room) or the room in bytes. */
  control?: boolean | number;
  /** MSG_* flags (MSG_PEEK, MSG_WAITALL, MSG_ERRQUEUE …). */
  flags?: Flags;
}

/** A received message. */
export interface Msg {
  /** The bytes received (a view of `into` when given). */
  data: Buffer;
  /** Byte count (also `data.length` unless receiving into several Buffers). */
  bytes: number;
  /** The source address, for datagram sockets. */
  from: SockaddrOut | null;
  /** Control items, decoded and typed by `name`; SCM_RIGHTS/SCM_PIDFD items own their descriptors until `fds` is read. */
  control: ReceivedCmsg[];
  /** Out-flags: MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB … */
  flags: number;
}

/**
 * A batch of fixed-size receive slots in one Buffer, for `recvmmsg`:
 * nothing is allocated per message.
 */
export class RecvBatch {
  /** All slots, back to back. */
  readonly slab: Buffer;
  /** [0, count): lengths; [count, 2*count): msg_flags; [2*count, 3*count): address lengths. */
  readonly lengths: Int32Array;
  /** Source addresses (`sizeof(struct sockaddr_storage)` bytes each) when `addresses` was asked for. */
  readonly addrs: Buffer | null;
  /** Control room per message in bytes (0: no control data). */
  readonly controlSpace: number;
  /** @internal the decoded control lists of the last receive */
  readonly _controls: { value: Cmsg[][] | null } = { value: null };
  /** Messages filled by the last receive. */
  received = 0;

  /**
   * @param count messages per call (1..1024)
   * @param slotSize bytes per message
   * @param addresses keep each message's source address
   * @param controlSpace room for control data per message (e.g. CMSG_SPACE(4) for one descriptor); 0 for none
   */
  constructor(readonly count: number, readonly slotSize: number, addresses = false, controlSpace = 0) {
    if (!Number.isInteger(count) || count < 1 || count > 1024) throw new RangeError('RecvBatch: count must be 1..1024');
    if (!Number.isInteger(slotSize) || slotSize < 1) throw new RangeError('RecvBatch: slotSize must be a positive integer');
    if (!Number.isInteger(controlSpace) || controlSpace < 0 || controlSpace > 65536) {
      throw new RangeError('RecvBatch: controlSpace must be 0..65536');
    }
    this.slab = Buffer.alloc(count * slotSize);
    this.lengths = new Int32Array(count * 3);
    this.addrs = addresses ? Buffer.alloc(count * SOCKADDR_STORAGE) : null;
    this.controlSpace = controlSpace;
  }

  /** The control items of message i (SCM_RIGHTS items own their descriptors until `fds` is read). */
  control(i: number): ReceivedCmsg[] {
    return (this._controls.value?.[i] ?? []) as ReceivedCmsg[];
  }

  /** Message i of the last receive (a view into the slab). */
  data(i: number): Buffer {
    return this.slab.subarray(i * this.slotSize, i * this.slotSize + Math.min(this.lengths[i]!, this.slotSize));
  }

  /** The out-flags of message i. */
  flags(i: number): number {
    return this.lengths[this.count + i]!;
  }

  /** The source of message i (decoded on request). */
  from(i: number): SockaddrOut | null {
    if (this.addrs === null) return null;
    return native.decodeSockaddr(this.addrs.subarray(i * SOCKADDR_STORAGE, (i + 1) * SOCKADDR_STORAGE), this.lengths[2 * this.count + i]);
  }
}

export interface CreateOptions {
  /** Set SS_NBIO: the kernel face returns EWOULDBLOCK instead of sleeping. */
  nonblocking?: boolean;
  /** Create the socket inside this network namespace (Linux), as `netns.socket` does; the calling thread stays where it is. */
  netns?: NetnsRef;
}

export interface FromFdOptions {
  /**
   * Adopt a close-on-exec duplicate instead of the number itself, so that the
   * current owner may keep (and close) its own. The two share one open file
   * description, and so O_NONBLOCK, which ksock sets.
   */
  dup?: boolean;
}

declare module './core/socket' {
  interface Socket {
    /** Binds a local address (bind(2)); returns the Socket, for chaining. @throws SocketError (EADDRINUSE …) */
    bind(addr: Sockaddr): this;
    /** Connects (connect(2)); resolves once connected. A stream connect waits for the handshake; a datagram connect sets the default destination (`{ family: AF_UNSPEC }` dissolves it). @throws SocketError (ECONNREFUSED, ETIMEDOUT …); an abort rejects with the signal's reason */
    connect(addr: Sockaddr, options?: WaitOptions): Promise<void>;
    /** Listens for connections (listen(2), default backlog 511); returns the Socket. */
    listen(backlog?: number): this;
    /** The next connection of a listening socket (accept(2)), as a new Socket. */
    accept(options?: WaitOptions): Promise<Socket>;
    /** Shuts down reading, writing or both (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`, by number or name). */
    shutdown(how: number | string): void;
    /** Closes the socket; idempotent. Waits wake with EBADF. With SO_LINGER set, the close runs on the threadpool and this resolves when it is done. */
    close(): Promise<void>;
    /** The local address (getsockname(2)). */
    address(): SockaddrOut;
    /** The peer's address (getpeername(2)). @throws SocketError ENOTCONN */
    remoteAddress(): SockaddrOut;
    /** Sends one message (sendmsg(2)): data, an optional destination, control items and flags. Resolves with the bytes sent (a stream sends them all). MSG_DONTWAIT makes it one attempt. */
    sendmsg(options: SendOptions | Buffer): Promise<number>;
    /** One send attempt: the bytes sent, or `null` when it would block (no exception on that path). */
    trySendmsg(options: SendOptions | Buffer): number | null;
    /** Receives one message (recvmsg(2)): data, source address, control items and out-flags. MSG_DONTWAIT makes it one attempt (EAGAIN at once). */
    recvmsg(options?: RecvOptions): Promise<Msg>;
    /** One receive attempt: the message, or `null` when nothing is queued. */
    tryRecvmsg(options?: RecvOptions): Msg | null;
    /**
     * Sends each message as one datagram in as few syscalls as the kernel allows (sendmmsg(2), or a sendmsg(2)
     * loop where there is none); resolves with how many were sent (at most 1024 per call). A message is a Buffer
     * (sent to `options.to` with `options.control`) or a {@link MmsgMessage} with its own `to` and/or `control`.
     * Host names in any `to` are looked up first (each name once per batch). Sleeps only while no message can go.
     * @see sendmmsg(2)
     */
    sendmmsg(messages: ReadonlyArray<Buffer | MmsgMessage>, options?: SendmmsgOptions & WaitOptions): Promise<number>;
    /**
     * One batch send attempt: how many datagrams the kernel took (fewer than given when the send buffer filled
     * part-way), or `null` when none could go. Addresses must be numeric: a host name is a TypeError.
     */
    trySendmmsg(messages: ReadonlyArray<Buffer | MmsgMessage>, options?: SendmmsgOptions): number | null;
    /** Receives up to `batch.count` datagrams into the batch's slots (recvmmsg(2) or a loop); resolves with how many arrived. */
    recvmmsg(batch: RecvBatch, options?: { flags?: Flags } & WaitOptions): Promise<number>;
    /** One batch receive attempt: how many datagrams arrived, or `null` when none were queued. */
    tryRecvmmsg(batch: RecvBatch, flags?: Flags): number | null;
    /** Resolves when the socket is readable (a hint: the next receive may still find nothing). */
    readable(options?: WaitOptions): Promise<void>;
    /** Resolves when the socket is writable (a hint). */
    writable(options?: WaitOptions): Promise<void>;
    /** Hands a stream socket to Node: a `net.Socket` on the same descriptor, which ksock then no longer owns. If Node refuses the options, the descriptor is closed and the error thrown. */
    toNetSocket(options?: net.SocketConstructorOpts): net.Socket;
    /** Gives the descriptor away, unwatched and unowned: the number, which the caller must close. */
    detach(): number;
    /**
     * Sets an option, typed by the option table: `setsockopt('SOL_SOCKET', 'SO_RCVBUF', 1 << 20)`. Levels and
     * names by name or number; an option name of another level, or a get-only option, does not compile (and
     * is a TypeError at run time). Options outside the table take a Buffer.
     */
    setsockopt<L extends string | number, N extends string | number>(level: L, name: N, value: SetValue<L, N>): void;
    /** Gets an option, typed by the option table: `getsockopt('IPPROTO_TCP', 'TCP_INFO')` is a `TcpInfo`. */
    getsockopt<L extends string | number, N extends string | number>(level: L, name: [GetValue<L, N>] extends [never] ? never : N): GetValue<L, N>;
    /** Messages until EOF (a stream) or close. */
    [Symbol.asyncIterator](): AsyncIterator<Msg>;
    /**
     * 'message' (as dgram has it): `(data, msg)` for every message, read natively in batches of up to 64 per
     * wakeup while a listener exists; 'readable'/'writable': readiness; 'error': a receive failed; 'close'.
     */
    on(event: 'message', listener: (data: Buffer, msg: Msg) => void): this;
    on(event: 'readable' | 'writable' | 'close', listener: () => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: string | symbol, listener: (...args: any[]) => void): this;
  }
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Socket {
    /** A new socket (socket(2)): domain, type and protocol by number or name (`'AF_INET'`, `'SOCK_DGRAM'`). Always nonblocking and close-on-exec underneath. */
    function create(domain: number | string, type: number | string, protocol?: number | string, options?: CreateOptions): Socket;
    /** Two connected sockets (socketpair(2)), AF_UNIX SOCK_STREAM by default. */
    function socketpair(domain?: number | string, type?: number | string, protocol?: number | string): [Socket, Socket];
    /** Adopts a descriptor (from `net`, `dgram`, SCM_RIGHTS or inheritance): domain, type and protocol are read from the kernel. A number a live Socket already owns is EEXIST unless `{ dup: true }`. */
    function fromFd(fd: number, options?: FromFdOptions): Socket;
  }
}

// ------------------------------------------------------------------ helpers

const proto = Socket.prototype;
const ETIMEDOUT = constants.ETIMEDOUT!;
const NEG_EAGAIN = -EAGAIN;

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

function checkWait(o: WaitOptions | undefined): void {
  if (o === undefined) return;
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  if (o.timeout !== undefined && (typeof o.timeout !== 'number' || !(o.timeout >= 0) || !Number.isFinite(o.timeout))) {
    throw new RangeError('timeout must be a finite number of milliseconds >= 0');
  }
}

/**
 * The wait an idiomatic call makes: none under MSG_DONTWAIT (one attempt,
 * EAGAIN at once); otherwise until `signal` aborts or `timeout` (or the
 * socket buffer's SO_RCVTIMEO/SO_SNDTIMEO, whichever is shorter) expires.
 * The socket's SS_NBIO does not apply here: the idiomatic face waits.
 */
function waitOf(sb: Sockbuf, o: WaitOptions | undefined, flags: number): Wait | null {
  if (flags & MSG_DONTWAIT) return null;
  let timeo = sb.sb_timeo;
  if (o?.timeout !== undefined) {
    const t = Math.max(1, Math.ceil(o.timeout));
    if (timeo === 0 || t < timeo) timeo = t;
  }
  return { timeo, signal: o?.signal };
}

/**
 * Turns an operation's errno into the idiomatic face's outcome: an abort
 * rejects with the signal's reason, an expired wait (a `timeout` or
 * SO_RCVTIMEO/SO_SNDTIMEO) with SocketError ETIMEDOUT, any other errno with
 * its SocketError.
 */
async function settle(r: number | Promise<number>, syscall: string, wait: Wait | null,
  addr?: Sockaddr | SockaddrOut): Promise<void> {
  const e = typeof r === 'number' ? r : await r;
  if (e === 0) return;
  throw failure(e, syscall, wait, addr);
}

/** Checks the wait options and an abort that already happened. */
function startWait(o: WaitOptions | undefined): void {
  checkWait(o);
  if (o?.signal?.aborted) throw abortReason(o.signal);
}

// ------------------------------------------------------------- construction

/** A domain, type or protocol given by number or by name. */
const DOMAIN = ['AF_', 'PF_'], TYPE = ['SOCK_'], PROTOCOL = ['IPPROTO_', 'ETH_P_', 'NETLINK_'];

Socket.create = function create(domain: number | string, type: number | string, protocol: number | string = 0,
  options: CreateOptions = {}): Socket {
  const d = named(domain, 'Socket.create: domain', DOMAIN);
  const t = named(type, 'Socket.create: type', TYPE);
  const p = named(protocol, 'Socket.create: protocol', PROTOCOL);
  if (options.netns !== undefined) return socketIn(options.netns, d, t, p, options, 'Socket.create');
  const aso: { value: Socket | null } = { value: null };
  const e = socreate(d, aso, t | (options.nonblocking ? SOCK_NONBLOCK : 0), p);
  if (e !== 0) throw new SocketError(e, 'socket');
  if (options.nonblocking && SOCK_NONBLOCK === 0) aso.value!.so_state |= SS_NBIO;
  return aso.value!;
};

Socket.socketpair = function socketpair(domain: number | string = AF_UNIX, type: number | string = SOCK_STREAM,
  protocol: number | string = 0): [Socket, Socket] {
  const d = named(domain, 'socketpair: domain', DOMAIN);
  const t = named(type, 'socketpair: type', TYPE);
  const p = named(protocol, 'socketpair: protocol', PROTOCOL);
  const r = native.socketpair(d, t, p);
  if (typeof r === 'number') throw new SocketError(-r, 'socketpair');
  const a = new Socket(d, t, p, r[0], SS_ISCONNECTED);
  const b = new Socket(d, t, p, r[1], SS_ISCONNECTED);
  return [a, b];
};

function getInt(h: NativeHandle, level: number, name: number | undefined): number | undefined {
  if (name === undefined) return undefined;
  const v = getint(h, level, name);
  return v < 0 ? undefined : v;
}

Socket.fromFd = function fromFd(fd: number, options: FromFdOptions = {}): Socket {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new TypeError('fromFd: fd must be a descriptor number');
  if (typeof options !== 'object' || options === null) throw new TypeError('fromFd: options must be an object');
  const h = native.adopt(fd, options.dup === true);
  if (typeof h === 'number') {
    if (h === -EEXIST) {
      throw new SocketError(-h, 'fromFd', undefined,
        `fromFd: descriptor ${fd} already belongs to a ksock Socket; pass { dup: true } to adopt a duplicate`);
    }
    throw new SocketError(-h, 'fromFd');
  }
  const type = getInt(h, SOL_SOCKET, constants.SO_TYPE)!;
  const local = native.getsockname(h);
  const dom = getInt(h, SOL_SOCKET, constants.SO_DOMAIN) ?? (typeof local === 'number' ? 0 : local.family);
  const protocol = hostProtocol(dom, getInt(h, SOL_SOCKET, constants.SO_PROTOCOL) ?? 0);
  let state = 0;
  const peer = native.getpeername(h);
  if (typeof peer !== 'number') state |= SS_ISCONNECTED | SS_ISBOUND;
  if (typeof local !== 'number' && ((local.port ?? 0) > 0 || (local.path !== undefined && local.path.length > 0))) state |= SS_ISBOUND;
  const so = new Socket(dom, type, protocol, h, state);
  if (getInt(h, SOL_SOCKET, constants.SO_ACCEPTCONN)) so.so_options |= SO_OPTIONS.SO_ACCEPTCONN;
  return so;
};

// ------------------------------------------------------------------ methods

proto.bind = function bind(this: Socket, addr: Sockaddr): Socket {
  const e = sobind(this, addr);
  if (e !== 0) throw new SocketError(e, 'bind', addr);
  return this;
};

/**
 * An address whose `address` is a host name rather than an IP address,
 * resolved with dns.lookup for the address's family (the promise API takes
 * names as dgram and net do; the kernel face stays numeric).
 */
async function resolved<A extends Sockaddr | null | undefined>(addr: A): Promise<A> {
  if (addr === null || addr === undefined || Buffer.isBuffer(addr)) return addr;
  const a = addr as { family?: unknown; address?: unknown };
  if (typeof a.address !== 'string' || net.isIP(a.address) !== 0) return addr;
  if (a.family !== AF_INET && a.family !== constants.AF_INET6) return addr;
  const { address } = await dns.lookup(a.address, { family: a.family === AF_INET ? 4 : 6 });
  return { ...addr, address } as A;
}

/** True when `addr` names a host that must be looked up first. */
function needsLookup(addr: Sockaddr | null | undefined): boolean {
  if (addr === null || addr === undefined || Buffer.isBuffer(addr)) return false;
  const a = addr as { address?: unknown };
  return typeof a.address === 'string' && net.isIP(a.address) === 0;
}

proto.connect = async function connect(this: Socket, addr: Sockaddr, o?: WaitOptions): Promise<void> {
  checkWait(o);
  if (o?.signal?.aborted) throw abortReason(o.signal);
  const deadline = o?.timeout !== undefined ? Date.now() + o.timeout : Infinity;
  if (needsLookup(addr)) addr = await resolved(addr);
  let e = soconnect(this, addr);
  // A local listener whose backlog is full says EWOULDBLOCK (Linux AF_UNIX):
  // retry with a bounded back-off, as a blocking connect would wait.
  for (let i = 1; e === EWOULDBLOCK && this.so_dom === AF_UNIX && i <= 10 && Date.now() < deadline; i++) {
    await new Promise((r) => setTimeout(r, 2 ** i));
    if (o?.signal?.aborted) throw abortReason(o.signal);
    e = soconnect(this, addr);
  }
  if (e !== 0) throw new SocketError(e, 'connect', addr);
  while ((this.so_state & SS_ISCONNECTING) && this.so_error === 0 && !(this.so_state & SS_NOFDREF)) {
    if (o?.signal?.aborted) throw abortReason(o.signal);
    const left = deadline - Date.now();
    if (left <= 0) throw new SocketError(ETIMEDOUT, 'connect', addr);
    const wait = tsleep(this.so_timeo, 'connec', Number.isFinite(left) ? left : 0);
    if (o?.signal) {
      const signal = o.signal;
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        void wait.then(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    } else {
      await wait;
    }
  }
  if (this.so_state & SS_NOFDREF) throw new SocketError(constants.EBADF!, 'connect', addr);
  if (this.so_error !== 0) {
    e = this.so_error;
    this.so_error = 0;
    throw new SocketError(e, 'connect', addr);
  }
};

proto.listen = function listen(this: Socket, backlog = 511): Socket {
  const e = solisten(this, backlog);
  if (e !== 0) throw new SocketError(e, 'listen');
  return this;
};

proto.accept = async function accept(this: Socket, o?: WaitOptions): Promise<Socket> {
  startWait(o);
  const aso: { value: Socket | null } = { value: null };
  const wait = waitOf(this.so_rcv, o, 0);
  await settle(acceptOp(this, aso, null, wait), 'accept', wait);
  return aso.value!;
};

proto.shutdown = function shutdown(this: Socket, how: number | string): void {
  const e = soshutdown(this, named(how, 'shutdown: how', ['SHUT_']));
  if (e !== 0) throw new SocketError(e, 'shutdown');
};

proto.close = async function close(this: Socket): Promise<void> {
  const e = await soclose(this);
  if (e !== 0) throw new SocketError(e, 'close');
};

proto.address = function address(this: Socket): SockaddrOut {
  const a = native.getsockname(this._h);
  if (typeof a === 'number') throw new SocketError(-a, 'getsockname');
  return a;
};

proto.remoteAddress = function remoteAddress(this: Socket): SockaddrOut {
  const a = native.getpeername(this._h);
  if (typeof a === 'number') throw new SocketError(-a, 'getpeername');
  return a;
};

function sendArgs(o: SendOptions | Buffer): SendOptions {
  if (Buffer.isBuffer(o)) return { data: o };
  if (typeof o !== 'object' || o === null) throw new TypeError('sendmsg: expected { data, to?, control?, flags? } or a Buffer');
  if (!Buffer.isBuffer(o.data) && !isBufferList(o.data, 'sendmsg')) {
    throw new TypeError('sendmsg: data must be a Buffer or an array of Buffers');
  }
  if (o.to != null) checkAddr(o.to, 'sendmsg');
  if (o.control != null && !Array.isArray(o.control)) throw new TypeError('sendmsg: control must be an array of cmsgs');
  return o;
}

// Not an async function: a datagram that goes at once settles with no
// promise reaction in between.
proto.sendmsg = function sendmsg(this: Socket, opts: SendOptions | Buffer): Promise<number> {
  let o: SendOptions, uio: Uio, wait: Wait | null, r: number | Promise<number>;
  try {
    o = sendArgs(opts);
    if (needsLookup(o.to)) {
      const first = o;
      return resolved(first.to).then((to) => this.sendmsg({ ...first, to }));
    }
    startWait(o);
    uio = new Uio(o.data, UIO_WRITE);
    const flags = flagsOf(o.flags, 'sendmsg: flags');
    wait = waitOf(this.so_snd, o, flags);
    r = EWOULDBLOCK;
    if (wait !== null && this.so_type !== SOCK_STREAM && this.so_snd.sleepers === 0) {
      // A datagram: one attempt first, so that one that goes at once costs no promise reaction.
      r = sendOp(this, o.to ?? null, uio, null, o.control ?? null, (flags | MSG_DONTWAIT) & ~MSG_NBIO, null);
    }
    if (r === EWOULDBLOCK) r = sendOp(this, o.to ?? null, uio, null, o.control ?? null, flags & ~MSG_NBIO, wait);
  } catch (err) {
    return Promise.reject(err);
  }
  // What the kernel took (a getter may have resized the data since).
  if (typeof r === 'number') {
    if (r === 0 || (r === EWOULDBLOCK && wait === null && uio.moved > 0)) return Promise.resolve(uio.moved); // MSG_DONTWAIT: what went
    return Promise.reject(failure(r, 'sendmsg', wait, o.to ?? undefined));
  }
  const to = o.to ?? undefined;
  return r.then((e) => {
    if (e !== 0) throw failure(e, 'sendmsg', wait, to);
    return uio.moved;
  });
};

proto.trySendmsg = function trySendmsg(this: Socket, opts: SendOptions | Buffer): number | null {
  const o = sendArgs(opts);
  const uio = new Uio(o.data, UIO_WRITE);
  const e = sendOp(this, o.to ?? null, uio, null, o.control ?? null, (flagsOf(o.flags, 'sendmsg: flags') | MSG_DONTWAIT) & ~MSG_NBIO, null) as number;
  const sent = uio.moved;
  if (e === EWOULDBLOCK) return sent > 0 ? sent : null;
  if (e !== 0) throw new SocketError(e, 'sendmsg', o.to ?? undefined);
  return sent;
};

interface RecvPlan {
  /** Receive into the caller's Buffers… */
  uio: Uio | null;
  /** …or into a fresh Buffer of exactly what arrived (the mp0 form). */
  mp0: { value: Buffer | null; size: number } | null;
  controlp: { value: Cmsg[] | null; space?: number } | null;
  paddr: RawFrom;
  flagsp: { value: number };
}

function recvPlan(o: RecvOptions | undefined): RecvPlan {
  if (o !== undefined && (typeof o !== 'object' || o === null)) throw new TypeError('recvmsg: options must be an object');
  let uio: Uio | null = null;
  let mp0: RecvPlan['mp0'] = null;
  if (o?.into !== undefined) {
    if (!Buffer.isBuffer(o.into) && !isBufferList(o.into, 'recvmsg')) {
      throw new TypeError('recvmsg: into must be a Buffer or an array of Buffers');
    }
    uio = new Uio(o.into);
  } else {
    const size = o?.size ?? 65536;
    if (!Number.isInteger(size) || size < 0) throw new RangeError('recvmsg: size must be a non-negative integer');
    mp0 = { value: null, size };
  }
  let controlp: RecvPlan['controlp'] = null;
  if (o?.control) {
    const space = o.control === true ? CONTROL_SPACE_DEFAULT : o.control;
    if (!Number.isInteger(space) || space < 0 || space > 1 << 20) throw new RangeError('recvmsg: control must be true or a byte count (at most 1 MiB)');
    controlp = { value: null, space };
  }
  return { uio, mp0, controlp, paddr: new RawFrom(), flagsp: { value: flagsOf(o?.flags, 'recvmsg: flags') } };
}

/** A received message: the source address is decoded the first time `from` is read. */
class ReceivedMsg implements Msg {
  data: Buffer;
  bytes: number;
  control: ReceivedCmsg[];
  flags: number;
  #raw: RawFrom | null;
  #from: SockaddrOut | null = null;

  constructor(data: Buffer, bytes: number, control: ReceivedCmsg[], flags: number, raw: RawFrom) {
    this.data = data;
    this.bytes = bytes;
    this.control = control;
    this.flags = flags;
    this.#raw = raw;
  }

  /** The source address, decoded the first time it is read. */
  get from(): SockaddrOut | null {
    const raw = this.#raw;
    if (raw !== null) {
      this.#raw = null;
      this.#from = raw.decode();
    }
    return this.#from;
  }

  set from(v: SockaddrOut | null) {
    this.#raw = null;
    this.#from = v;
  }

  toJSON(): object {
    return { data: this.data, bytes: this.bytes, from: this.from, control: this.control, flags: this.flags };
  }

  [inspect.custom](_depth: number, options: InspectOptionsStylized): string {
    return inspect(this.toJSON(), options);
  }
}

function msgOf(p: RecvPlan): Msg {
  let data: Buffer;
  if (p.mp0 !== null) {
    data = p.mp0.value ?? Buffer.alloc(0);
  } else {
    const u = p.uio!;
    data = u.uio_iov.length === 1 ? u.uio_iov[0]!.subarray(0, u.moved) : Buffer.concat(u.uio_iov).subarray(0, u.moved);
  }
  return new ReceivedMsg(data, p.mp0 !== null ? data.length : p.uio!.moved, (p.controlp?.value ?? []) as ReceivedCmsg[],
    p.flagsp.value, p.paddr);
}

/** The error a failed wait rejects with (see settle). */
function failure(e: number, syscall: string, wait: Wait | null, addr?: Sockaddr | SockaddrOut): unknown {
  if (e === EINTR && wait?.signal?.aborted) return abortReason(wait.signal);
  if (e === EWOULDBLOCK && wait !== null) return new SocketError(ETIMEDOUT, syscall, addr);
  return new SocketError(e, syscall, addr);
}

// Not an async function: a receive that has to wait settles through one
// promise reaction, not three.
proto.recvmsg = function recvmsg(this: Socket, o?: RecvOptions): Promise<Msg> {
  let p: RecvPlan, wait: Wait | null, r: number | Promise<number>;
  try {
    p = recvPlan(o);
    startWait(o);
    const flags = p.flagsp.value & ~MSG_NBIO;
    wait = waitOf(this.so_rcv, o, flags);
    r = receiveOp(this, p.paddr, p.uio, p.mp0, p.controlp, p.controlp?.space ?? 0, flags, p.flagsp, wait);
  } catch (err) {
    return Promise.reject(err);
  }
  if (typeof r === 'number') return r === 0 ? Promise.resolve(msgOf(p)) : Promise.reject(failure(r, 'recvmsg', wait));
  return r.then((e) => {
    if (e !== 0) throw failure(e, 'recvmsg', wait);
    return msgOf(p);
  });
};

proto.tryRecvmsg = function tryRecvmsg(this: Socket, o?: RecvOptions): Msg | null {
  const p = recvPlan(o);
  const flags = (p.flagsp.value | MSG_DONTWAIT) & ~MSG_NBIO;
  const e = receiveOp(this, p.paddr, p.uio, p.mp0, p.controlp, p.controlp?.space ?? 0, flags, p.flagsp, null) as number;
  if (e === EWOULDBLOCK) return null;
  if (e !== 0) throw new SocketError(e, 'recvmsg');
  return msgOf(p);
};

// ------------------------------------------------------------------ batches

/** The most messages one sendmmsg call reads and sends (the native bound). */
const MMSG_BATCH = 1024;

/**
 * A batch's shape, checked before native code reads it: an array (bounded in length first) whose elements are
 * Buffers or objects. What is inside a message object is read, once, and checked by the native call.
 */
function checkMessages(messages: unknown): asserts messages is ReadonlyArray<Buffer | MmsgMessage> {
  if (!Array.isArray(messages)) throw new TypeError('sendmmsg: messages must be an array of Buffers or { data, to?, control? } objects');
  if (messages.length > MAX_BUFFERS) throw new RangeError(`sendmmsg: at most ${MAX_BUFFERS} messages, not ${messages.length}`);
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (typeof m !== 'object' || m === null) throw new TypeError(`sendmmsg: messages[${i}] must be a Buffer or a { data, to?, control? } object`);
  }
}

/**
 * The async form's own copy of a batch (the part one call sends): each element read once, each message
 * object's `data`, `to` and `control` read once, so that the retries after a wait send what was read; and each
 * host name in a `to` looked up once for the batch.
 */
async function ownMessages(messages: ReadonlyArray<Buffer | MmsgMessage>): Promise<Array<Buffer | MmsgMessage>> {
  const n = Math.min(messages.length, MMSG_BATCH);
  const copy = new Array<Buffer | MmsgMessage>(n);
  const lookups = new Map<string, Promise<Sockaddr | null | undefined>>();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    if (ArrayBuffer.isView(m)) {
      copy[i] = m;
      continue;
    }
    const { data, to, control } = m; // once each, in the order native code reads them
    const own: MmsgMessage = { data, to, control };
    copy[i] = own;
    if (needsLookup(to)) {
      const a = to as { family: number; address: string };
      const key = `${a.family} ${a.address}`;
      let found = lookups.get(key);
      if (found === undefined) lookups.set(key, (found = resolved(to)));
      pending.push(found.then((r) => { own.to = { ...(to as object), address: (r as { address: string }).address } as Sockaddr; }));
    }
  }
  await Promise.all(pending);
  return copy;
}

// The flat form's scratch (see native sendmmsgTo): destinations back to back, and their lengths;
// small messages' bytes back to back (the arena), and their lengths.
const MMSG_NAMES = Buffer.alloc(MMSG_BATCH * SOCKADDR_STORAGE);
const MMSG_LENS = new Int32Array(MMSG_BATCH);
const MMSG_ARENA = Buffer.alloc(256 * 1024);
const MMSG_DATA_LENS = new Int32Array(MMSG_BATCH);
/** Larger messages are not copied: the batch passes its Buffers instead. */
const MMSG_COPY_MAX = 2048;
const TO_SHARED = -1, TO_NONE = -2;
/** A flat batch is being read (a getter that sends a batch of its own gets the general form). */
let flattening = false;

/**
 * The flat form of a batch, when every message is one Buffer with at most a
 * pre-encoded destination (`sockaddr()` Buffer) and no control items of its
 * own: the data in a list (and, when every message is small, back to back in
 * MMSG_ARENA), the destinations in MMSG_NAMES/MMSG_LENS. Each
 * message object's properties are read once, here; for any other batch the
 * values read are returned as plain copies for the general form.
 */
function flatten(messages: ReadonlyArray<Buffer | MmsgMessage>): { datas: Buffer[] | null; arena: boolean; copies: Array<Buffer | MmsgMessage> | null } {
  const n = Math.min(messages.length, MMSG_BATCH);
  let datas: Buffer[] | null = [];
  let copies: Array<Buffer | MmsgMessage> | null = null;
  // Small messages are copied into the arena as they are read (their bytes
  // then, as each property is read once), so native code reads no element.
  let used = 0; // bytes in the arena; -1 once a message did not fit (the Buffers go instead)
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    if (ArrayBuffer.isView(m)) {
      if (datas !== null && m instanceof Uint8Array) {
        datas.push(m as Buffer);
        MMSG_LENS[i] = TO_SHARED;
        if (used >= 0) used = toArena(i, m, used);
      } else datas = null;
      copies?.push(m);
      continue;
    }
    const { data, to, control } = m; // once each, in the order native code reads them
    if (datas !== null && control === undefined && data instanceof Uint8Array &&
      (to === undefined || to === null || (to instanceof Uint8Array && to.length <= SOCKADDR_STORAGE))) {
      datas.push(data as Buffer);
      if (used >= 0) used = toArena(i, data, used);
      if (to === undefined) MMSG_LENS[i] = TO_SHARED;
      else if (to === null) MMSG_LENS[i] = TO_NONE;
      else {
        MMSG_NAMES.set(to, i * SOCKADDR_STORAGE);
        MMSG_LENS[i] = to.length;
      }
    } else if (datas !== null) {
      // Not flat after all: the messages read so far, as read, then the rest.
      copies = [];
      for (let j = 0; j < i; j++) {
        const prev = messages[j]!; // a Buffer, or an object whose values datas/MMSG_* hold
        if (ArrayBuffer.isView(prev)) copies.push(prev);
        else {
          const l = MMSG_LENS[j]!;
          copies.push({ data: datas[j]!, to: l === TO_SHARED ? undefined : l === TO_NONE ? null : Buffer.from(MMSG_NAMES.subarray(j * SOCKADDR_STORAGE, j * SOCKADDR_STORAGE + l)) });
        }
      }
      datas = null;
    }
    copies?.push({ data, to, control });
  }
  return { datas, arena: used >= 0, copies };
}

/** Message i's bytes into the arena after the `used` bytes there: the new count, or -1 when they do not fit. */
function toArena(i: number, data: Uint8Array, used: number): number {
  const len = data.length;
  if (len > MMSG_COPY_MAX || used + len > MMSG_ARENA.length) return -1;
  MMSG_ARENA.set(data, used);
  MMSG_DATA_LENS[i] = len;
  return used + len;
}

proto.trySendmmsg = function trySendmmsg(this: Socket, messages: ReadonlyArray<Buffer | MmsgMessage>, o: SendmmsgOptions = {}): number | null {
  checkMessages(messages);
  if (this.so_state & SS_NOFDREF) throw new SocketError(constants.EBADF!, 'sendmmsg');
  const to = o.to == null ? null : Buffer.isBuffer(o.to) ? o.to : native.sockaddr(o.to);
  if (o.control != null && !Array.isArray(o.control)) throw new TypeError('sendmmsg: control must be an array of cmsgs');
  const flags = flagsOf(o.flags, 'sendmmsg: flags') | MSG_DONTWAIT;
  let n: number;
  if (flattening) {
    n = native.sendmmsg(this._h, messages, flags, to, o.control ?? null);
  } else {
    flattening = true;
    try {
      const { datas, arena, copies } = flatten(messages);
      n = datas !== null
        ? native.sendmmsgTo(this._h, arena ? MMSG_ARENA : datas, datas.length, flags, MMSG_NAMES, MMSG_LENS, MMSG_DATA_LENS, to, o.control ?? null)
        : native.sendmmsg(this._h, copies ?? messages, flags, to, o.control ?? null);
    } finally {
      flattening = false;
    }
  }
  if (n === NEG_EAGAIN) return null;
  if (n < 0) throw new SocketError(-n, 'sendmmsg', o.to ?? undefined);
  return n;
};

proto.sendmmsg = async function sendmmsg(this: Socket, messages: ReadonlyArray<Buffer | MmsgMessage>, o: SendmmsgOptions & WaitOptions = {}): Promise<number> {
  checkMessages(messages);
  if (needsLookup(o.to)) o = { ...o, to: await resolved(o.to) };
  const list = await ownMessages(messages);
  for (;;) {
    const n = this.trySendmmsg(list, o);
    if (n !== null) return n;
    await this.writable(o);
  }
};

proto.tryRecvmmsg = function tryRecvmmsg(this: Socket, batch: RecvBatch, flags: Flags = 0): number | null {
  if (!(batch instanceof RecvBatch)) throw new TypeError('recvmmsg: batch must be a RecvBatch');
  if (this.so_state & SS_NOFDREF) throw new SocketError(constants.EBADF!, 'recvmmsg');
  const withControl = batch.controlSpace > 0;
  batch._controls.value = null;
  const n = native.recvmmsg(this._h, batch.slab, batch.slotSize, batch.count, flagsOf(flags, 'recvmmsg: flags') | MSG_DONTWAIT, batch.lengths, batch.addrs,
    batch.controlSpace, withControl ? batch._controls : null);
  if (n === NEG_EAGAIN) {
    batch.received = 0;
    return null;
  }
  if (n < 0) throw new SocketError(-n, 'recvmmsg');
  if (withControl) takeControls(batch._controls, n, this); // the lists of this call (the native side may have made some)
  batch.received = n;
  return n;
};

proto.recvmmsg = async function recvmmsg(this: Socket, batch: RecvBatch, o: { flags?: Flags } & WaitOptions = {}): Promise<number> {
  for (;;) {
    const n = this.tryRecvmmsg(batch, o.flags ?? 0);
    if (n !== null) return n;
    await this.readable(o);
  }
};

// ------------------------------------------------------------------ readiness

function readiness(so: Socket, event: 'readable' | 'writable', o?: WaitOptions): Promise<void> {
  checkWait(o);
  if (o?.signal?.aborted) return Promise.reject(abortReason(o.signal));
  if (so.so_state & SS_NOFDREF) return Promise.reject(new SocketError(constants.EBADF!, event === 'readable' ? 'recvmsg' : 'sendmsg'));
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (err?: unknown): void => {
      so.off(event, onReady);
      so.off('close', onClose);
      o?.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const onReady = (): void => done();
    const onClose = (): void => done(new SocketError(constants.EBADF!, event === 'readable' ? 'recvmsg' : 'sendmsg'));
    const onAbort = (): void => done(abortReason(o!.signal!));
    so.on(event, onReady);
    so.on('close', onClose);
    o?.signal?.addEventListener('abort', onAbort, { once: true });
    if (o?.timeout !== undefined) timer = setTimeout(() => done(new SocketError(ETIMEDOUT, event === 'readable' ? 'recvmsg' : 'sendmsg')), o.timeout);
  });
}

proto.readable = function readable(this: Socket, o?: WaitOptions): Promise<void> {
  return readiness(this, 'readable', o);
};

proto.writable = function writable(this: Socket, o?: WaitOptions): Promise<void> {
  return readiness(this, 'writable', o);
};

proto[Symbol.asyncIterator] = async function* iterate(this: Socket): AsyncGenerator<Msg> {
  for (;;) {
    let m: Msg;
    try {
      m = await this.recvmsg();
    } catch (e) {
      if (e instanceof SocketError && e.code === 'EBADF' && (this.so_state & SS_NOFDREF)) return; // closed
      throw e;
    }
    if (m.bytes === 0 && this.so_type === SOCK_STREAM) return; // EOF
    yield m;
  }
};

// ------------------------------------------------------------------ 'message'

/** Messages read per readiness wakeup for 'message' listeners (then the loop gets a turn). */
const MESSAGES_PER_WAKEUP = 64;
/** The largest message a 'message' event carries (larger datagrams are truncated, with MSG_TRUNC in msg.flags). */
const MESSAGE_SIZE = 65536;

/**
 * Where every reader's small messages (under 4 KiB) wait, back to back, until
 * _messages copies them out: at once, before any listener runs, so one arena
 * serves every socket of this thread.
 */
const READER_ARENA = Buffer.alloc(MESSAGES_PER_WAKEUP * 4096); // 4096: native kOwnBuffer (readerStart refuses less)

/** What a socket's native reader fills on each wakeup (see native/handle.h, Reader). */
class MessageReader {
  /** [0, max): messages with a Buffer of their own (4 KiB or more) */
  readonly buffers: (Buffer | undefined)[] = new Array<Buffer | undefined>(MESSAGES_PER_WAKEUP).fill(undefined);
  /** lengths, msg_flags, address lengths, offsets into READER_ARENA (-1: its own Buffer) */
  readonly meta = new Int32Array(MESSAGES_PER_WAKEUP * 4);
  readonly addrs = Buffer.alloc(MESSAGES_PER_WAKEUP * SOCKADDR_STORAGE);
}
const readers = new WeakMap<Socket, MessageReader>();

// 'message' events, as dgram has them: while a listener exists, each
// readable wakeup reads up to MESSAGES_PER_WAKEUP messages natively, before
// the one call into JavaScript, and each is emitted as ('message', data,
// msg); msg.from is decoded only if read. A receive error goes to 'error'.
proto._messageListeners = function messageListeners(this: Socket): void {
  const want = this.listenerCount('message') > 0 && !(this.so_state & SS_NOFDREF);
  if (want && !this._reading) {
    const r = new MessageReader();
    native.readerStart(this._h, MESSAGE_SIZE, MESSAGES_PER_WAKEUP, r.buffers, r.meta, r.addrs, READER_ARENA);
    readers.set(this, r);
    this._reading = true;
    this._rearm();
  } else if (!want && this._reading) {
    this._reading = false;
    readers.delete(this);
    if (!(this.so_state & SS_NOFDREF)) native.readerStop(this._h);
    this._rearm();
  }
};

proto._messages = function messages(this: Socket, got: number): void {
  const r = readers.get(this);
  if (r === undefined) return;
  if (got < 0) {
    if (!this.closed && this.listenerCount('message') > 0) this.emit('error', new SocketError(-got, 'recvmsg'));
    return;
  }
  const { buffers, meta, addrs } = r;
  // The small messages, out of the arena into one Buffer of their own (from
  // Node's pool when small), before any listener runs.
  let used = 0;
  for (let i = 0; i < got; i++) {
    const off = meta[3 * MESSAGES_PER_WAKEUP + i]!;
    if (off < 0) continue;
    const len = meta[i]!;
    const end = off + (len < MESSAGE_SIZE ? len : MESSAGE_SIZE);
    if (end > used) used = end;
  }
  let shared: Buffer | null = null;
  if (used > 0) {
    shared = Buffer.allocUnsafe(used);
    READER_ARENA.copy(shared, 0, 0, used);
  }
  for (let i = 0; i < got; i++) {
    const off = meta[3 * MESSAGES_PER_WAKEUP + i]!;
    let data: Buffer;
    if (off < 0) {
      data = buffers[i]!;
      buffers[i] = undefined;
    } else {
      const len = meta[i]!;
      const end = off + (len < MESSAGE_SIZE ? len : MESSAGE_SIZE);
      data = shared === null ? Buffer.alloc(0) : off === 0 && end === used ? shared : shared.subarray(off, end);
    }
    const alen = meta[2 * MESSAGES_PER_WAKEUP + i]!;
    if (data.length === 0 && this.so_type === SOCK_STREAM) {
      // The peer closed: nothing more will come, and a reader would be woken for ever.
      for (let j = i + 1; j < got; j++) buffers[j] = undefined;
      this._reading = false;
      readers.delete(this);
      native.readerStop(this._h);
      this._rearm();
      return;
    }
    const raw = new RawFrom();
    const at = i * SOCKADDR_STORAGE;
    const n = alen < SOCKADDR_STORAGE ? alen : SOCKADDR_STORAGE;
    for (let j = 0; j < n; j++) raw.buf[j] = addrs[at + j]!;
    raw.len = alen;
    if (this.listenerCount('message') === 0 || this.closed) continue; // the listener went: the rest is dropped, as dgram does
    this.emit('message', data, new ReceivedMsg(data, data.length, [], meta[MESSAGES_PER_WAKEUP + i]!, raw));
  }
};

// ------------------------------------------------------------------ interop

proto.detach = function detach(this: Socket): number {
  const fd = this._detach();
  if (fd < 0) throw new SocketError(constants.EBADF!, 'detach');
  return fd;
};

proto.toNetSocket = function toNetSocket(this: Socket, options: net.SocketConstructorOpts = {}): net.Socket {
  if (this.so_type !== SOCK_STREAM) throw new TypeError('toNetSocket: only stream sockets can become a net.Socket');
  if (typeof options !== 'object' || options === null) throw new TypeError('toNetSocket: options must be an object');
  const opts = { readable: true, writable: true, ...options }; // getters run now, before anything is handed over
  // An aborted signal would destroy the net.Socket at once with an 'error' nobody listens to yet: refuse it
  // here, while the descriptor is still this Socket's.
  if (opts.signal instanceof AbortSignal && opts.signal.aborted) throw abortReason(opts.signal);
  const fd = this.detach();
  try {
    return new net.Socket({ ...opts, fd });
  } catch (err) {
    // Node refused the options: the descriptor has no owner now, so close it.
    const h = native.adopt(fd, false);
    if (typeof h !== 'number') void native.close(h);
    throw err;
  }
};

// ------------------------------------------------------------------ options

proto.setsockopt = function setsockopt(this: Socket, level: number | string, name: number | string, value: unknown): void {
  const [lv, nm] = optionOf(level, name, (l, n) => optSpec(l, n)?.optName);
  const spec = optSpec(lv, nm);
  if (spec?.readonly) throw new TypeError(`${spec.optName} is read-only`);
  const buf = encodeOption(spec, value);
  const sopt = new Sockopt();
  sockopt_init(sopt, lv, nm, buf.length);
  if (buf.length > 0) buf.copy(sopt.sopt_data!);
  const e = sosetopt(this, sopt);
  if (e !== 0) throw new SocketError(e, 'setsockopt');
};

proto.getsockopt = function getsockopt(this: Socket, level: number | string, name: number | string): never {
  const [lv, nm] = optionOf(level, name, (l, n) => optSpec(l, n)?.optName);
  const spec = optSpec(lv, nm);
  if (spec?.writeonly) throw new TypeError(`${spec.optName} can only be set`);
  const sopt = new Sockopt();
  sockopt_init(sopt, lv, nm, optionSize(spec));
  const e = sogetopt(this, sopt);
  if (e !== 0) throw new SocketError(e, 'getsockopt');
  return decodeOption(spec, sopt.sopt_data!, Math.min(sopt.sopt_retsize, sopt.sopt_size)) as never;
};

/** Two connected AF_UNIX sockets (or of another family the kernel pairs). */
export function socketpair(domain: number | string = AF_UNIX, type: number | string = SOCK_STREAM,
  protocol: number | string = 0): [Socket, Socket] {
  return Socket.socketpair(domain, type, protocol);
}

export { Socket };
