// The socket object: a mirror of struct socket, kept true from real syscalls.
//
// A Socket owns one OS descriptor (always O_NONBLOCK and close-on-exec).
// "Sleeping" means awaiting readiness on the event loop: each socket has at
// most one native poll watcher, armed only while a sleeper or an upcall needs
// it. Sleepers queue per socket buffer in FIFO order, as kernel sleepers do;
// on each wakeup the head retries its syscall (a wakeup is only a hint).
import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { endianness } from 'node:os';
import { native, type NativeHandle, type SockaddrOut } from '../native';
import {
  EBADF, EAGAIN, EINTR, SOCK_STREAM, SS_NOFDREF, SS_ISCONNECTED, SS_ISCONNECTING, SS_ISDISCONNECTING,
  SS_ISDISCONNECTED, SS_CANTSENDMORE, SS_CANTRCVMORE, SS_ISBOUND, SS_NAMES, SO_RCV, SO_SND, M_NOWAIT,
  SOL_SOCKET, SO_OPTIONS, constants, familyName, sockTypeName,
} from '../constants';
import { Channel, wakeup } from './sleep';
import { errnoName } from '../errors';

/** The value an attempt returns when the syscall would block: keep sleeping. */
export const AGAIN = -1;

const READABLE = native.pollEvents.READABLE;
/** How long a watcher stopped by an error waits before it is started again, when its wakeup served nobody. */
const POLLERR_BACKOFF_MS = 5;
const WRITABLE = native.pollEvents.WRITABLE;

/**
 * How an operation may wait: at most `timeo` ms (0: no limit), ended early
 * (with EINTR) by an abort of `signal`. `null` where a wait is taken means
 * "never sleep".
 */
export interface Wait {
  timeo: number;
  signal?: AbortSignal | undefined;
}

/** An upcall: `fn(so, arg, waitflag)`, returning SU_OK. @see soupcall_set(9) */
export type Upcall = (so: Socket, arg: unknown, waitflag: number) => number | void;

/**
 * A sleeping operation: retried on each wakeup until it stops returning
 * AGAIN. One object per sleep: no closure is made unless a timeout or a
 * signal needs one.
 */
class Sleeper {
  timer: NodeJS.Timeout | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  settle!: (v: number) => void;

  constructor(readonly so: Socket, readonly sb: Sockbuf, readonly attempt: () => number,
    readonly timedOut: () => number, readonly signal: AbortSignal | undefined) {}

  /** Ends the sleep with `v`, removing its timer and abort listener. */
  resolve(v: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.onAbort !== undefined) this.signal!.removeEventListener('abort', this.onAbort);
    this.settle(v);
  }

  /** Leaves the queue (for a timeout or an abort); false if already served. */
  leave(): boolean {
    const q = this.sb._sleepers;
    const i = q.indexOf(this);
    if (i < 0) return false;
    q.splice(i, 1);
    this.so._rearm();
    return true;
  }

  /** The sleep skipped its first attempt (adaptive): it makes one when its time runs out instead. */
  skipped = false;

  static expire(s: Sleeper): void {
    const head = s.sb._sleepers[0] === s;
    if (!s.leave()) return;
    const r = s.skipped && head ? s.attempt() : AGAIN;
    s.resolve(r !== AGAIN ? r : s.timedOut());
  }
}

/**
 * Adaptive first attempts (receives): after this many sleeps in a row whose
 * first attempt found nothing, a receive that has to wait goes straight to
 * sleep (the level-triggered watcher reports data already queued at once), so
 * a request/response exchange costs no failing recvmsg(2) per message. Every
 * PROBE_EVERY-th such sleep still tries first, and a success returns to
 * trying first every time.
 */
const MISSES_BEFORE_SKIP = 2;
const PROBE_EVERY = 16;

/** Process credentials captured at creation (information only, as so_cred). */
export interface Cred { pid: number; uid: number; euid: number; gid: number; egid: number }

function currentCred(): Cred {
  return {
    pid: process.pid,
    uid: process.getuid?.() ?? -1,
    euid: process.geteuid?.() ?? -1,
    gid: process.getgid?.() ?? -1,
    egid: process.getegid?.() ?? -1,
  };
}

const intBuf = Buffer.alloc(4);
/** Reads a C int in host byte order. */
export const readHostInt: (b: Buffer, off?: number) => number =
  endianness() === 'LE' ? (b, off = 0) => b.readInt32LE(off) : (b, off = 0) => b.readInt32BE(off);
/** Writes a C int in host byte order. */
export const writeHostInt: (b: Buffer, v: number, off?: number) => void =
  endianness() === 'LE' ? (b, v, off = 0) => { b.writeInt32LE(v, off); } : (b, v, off = 0) => { b.writeInt32BE(v, off); };

/** @internal getsockopt of an int: the value, or -errno. */
export function getint(h: NativeHandle, level: number, name: number): number {
  const r = native.getsockopt(h, level, name, intBuf);
  return r < 0 ? r : readHostInt(intBuf);
}

/**
 * struct sockbuf: limits, timeouts, queued bytes, the upcall, and the queue
 * of sleepers waiting on this direction.
 */
export class Sockbuf {
  /** Sleep limit in ms for operations on this buffer (SO_RCVTIMEO/SO_SNDTIMEO); 0 = none. */
  sb_timeo = 0;
  /** The upcall, set with soupcall_set. */
  sb_upcall: Upcall | null = null;
  sb_upcallarg: unknown = undefined;
  /** @internal */ readonly _sleepers: Sleeper[] = [];
  /** @internal consecutive first attempts that found nothing (adaptive sleeps) */ _misses = 0;
  /** @internal sleeps that skipped their first attempt (for the periodic probe) */ _skips = 0;

  constructor(private readonly so: Socket, private readonly which: number) {}

  /** Buffer size limit: SO_RCVBUF / SO_SNDBUF as the kernel reports it (Linux: twice the set value). */
  get sb_hiwat(): number {
    const name = this.which === SO_RCV ? constants.SO_RCVBUF : constants.SO_SNDBUF;
    if (name === undefined || this.so.closed) return 0;
    const v = getint(this.so._h, SOL_SOCKET, name);
    return v < 0 ? 0 : v;
  }

  /** Low-water mark: SO_RCVLOWAT / SO_SNDLOWAT as the kernel reports it. */
  get sb_lowat(): number {
    const name = this.which === SO_RCV ? constants.SO_RCVLOWAT : constants.SO_SNDLOWAT;
    if (name === undefined || this.so.closed) return 0;
    const v = getint(this.so._h, SOL_SOCKET, name);
    return v < 0 ? 0 : v;
  }

  /**
   * Bytes queued: FIONREAD for the receive buffer (on Linux UDP: the next
   * datagram's size), SIOCOUTQ/FIONWRITE for the send buffer.
   */
  get sb_cc(): number {
    if (this.so.closed) return 0;
    const v = this.which === SO_RCV ? native.fionread(this.so._h) : native.outq(this.so._h);
    return v < 0 ? 0 : v;
  }

  /** Number of operations sleeping on this buffer. */
  get sleepers(): number {
    return this._sleepers.length;
  }
}

// A Socket's descriptor belongs to its native handle, which closes it when
// the handle is collected. This registry only tells the user that it
// happened (the number, for the message).
const forgotten = new FinalizationRegistry<number>((fd) => {
  process.emitWarning(`a Socket (fd ${fd}) was garbage-collected without soclose(); ksock closed it`, 'KsockWarning');
});

// Every readiness wakeup enters JavaScript here, with the Socket as `this`.
native.setPollCallback(function onPoll(this: object, status: number, events: number, got?: number): void {
  (this as Socket)._onPoll(status, events, got);
});

/**
 * The socket object (struct socket). Create it with `socreate` (kernel face)
 * or `Socket.create` (idiomatic face); both share this object.
 *
 * Events: 'readable' and 'writable' (readiness, while someone listens),
 * 'close'.
 */
export class Socket extends EventEmitter {
  /** SOCK_STREAM, SOCK_DGRAM … (creation flags stripped). */
  readonly so_type: number;
  /** The protocol number given at creation (or reported by the kernel). */
  readonly so_proto: number;
  /** The address family (domain). */
  readonly so_dom: number;
  /** @internal the native owner of the descriptor (kept after close: it then says -1). */
  readonly _h: NativeHandle;
  /** SS_* bits (ksock's values, see constants). */
  so_state = 0;
  /** Pending asynchronous error (connect failure, ICMP error …); cleared when reported. */
  so_error = 0;
  /** Boolean options in the 4.4BSD bit encoding (SO_OPTIONS). */
  so_options = 0;
  /** SO_LINGER time in seconds. */
  so_linger = 0;
  /** Sleep channel woken on every state change: connect done or failed, shutdown, close. */
  readonly so_timeo = new Channel('so_timeo');
  readonly so_rcv: Sockbuf;
  readonly so_snd: Sockbuf;
  /** Credentials of the creating process (information only). */
  readonly so_cred: Cred;

  /** @internal the events the watcher is started for */ _mask = 0;
  /** @internal started, but nobody waits: unref'd */ _idle = false;
  /** @internal a nonblocking connect is in progress */ _connecting = false;
  /** @internal shutdown(SHUT_RD) was done here: receives return EOF (BSD) */ _shutRd = false;
  /**
   * @internal LOCAL_CREDS was set here (FreeBSD's UNP_WANTCRED_ONESHOT): an
   * SCM_CREDS item received now is a struct sockcred, not a cmsgcred
   */ _wantcred = false;

  /** @internal use socreate / Socket.create / Socket.fromFd. */
  constructor(dom: number, type: number, proto: number, h: NativeHandle, state = 0) {
    super();
    this.so_dom = dom;
    this.so_type = type;
    this.so_proto = proto;
    this._h = h;
    this.so_state = state;
    this.so_rcv = new Sockbuf(this, SO_RCV);
    this.so_snd = new Sockbuf(this, SO_SND);
    this.so_cred = currentCred();
    native.watch(h, this);
    forgotten.register(this, native.fdOf(h), this);
    // Readiness listeners arm the watcher; it disarms when the last one goes.
    // ('message' listeners are the idiomatic face's: it drains on readable.)
    const watch = (event: string | symbol): void => {
      if (event === 'readable' || event === 'writable') queueMicrotask(() => this._rearm());
      else if (event === 'message') queueMicrotask(() => this._messageListeners());
    };
    this.on('newListener', watch);
    this.on('removeListener', watch);
  }

  /** @internal 'message' listeners came or went (the idiomatic face drains for them). */
  _messageListeners(): void {}

  /** @internal a native reader is set (the idiomatic face's 'message' event): watch for readability */
  _reading = false;

  /** @internal the native reader read `got` messages (or -errno) on this wakeup. */
  _messages(_got: number): void {}

  /** The OS descriptor, for interop; -1 once closed or detached. */
  get fd(): number {
    const h = this._h;
    return h === undefined ? -1 : native.fdOf(h);
  }

  /** True once the descriptor is closed or detached (SS_NOFDREF). */
  get closed(): boolean {
    return (this.so_state & SS_NOFDREF) !== 0;
  }

  // ---------------------------------------------------------------- sleeping

  /**
   * @internal Runs `attempt` now and, while it returns AGAIN, sleeps on `sb`
   * (FIFO behind earlier sleepers). `wait.timeo` ms (0 = none) bounds the
   * sleep, and its expiry yields `timedOut()`; an abort of `wait.signal`
   * yields EINTR. Every listener and timer is removed when the sleep ends,
   * however it ends.
   */
  _sleep(sb: Sockbuf, attempt: () => number, timedOut: () => number, wait: Wait, adaptive = false): Promise<number> {
    const signal = wait.signal;
    if (this.so_state & SS_NOFDREF) return Promise.resolve(EBADF);
    if (signal?.aborted) return Promise.resolve(EINTR);
    let skipped = false;
    if (sb._sleepers.length === 0) {
      if (!adaptive) {
        const r = attempt();
        if (r !== AGAIN) return Promise.resolve(r);
      } else if (sb._misses < MISSES_BEFORE_SKIP || ++sb._skips % PROBE_EVERY === 0) {
        const r = attempt();
        if (r !== AGAIN) {
          sb._misses = 0;
          return Promise.resolve(r);
        }
        sb._misses++;
      } else {
        skipped = true;
      }
    }
    const s = new Sleeper(this, sb, attempt, timedOut, signal);
    s.skipped = skipped;
    const p = new Promise<number>((resolve) => {
      s.settle = resolve;
    });
    if (wait.timeo > 0) s.timer = setTimeout(Sleeper.expire, wait.timeo, s);
    if (signal !== undefined) {
      s.onAbort = () => {
        if (s.leave()) s.resolve(EINTR);
      };
      signal.addEventListener('abort', s.onAbort, { once: true });
    }
    sb._sleepers.push(s);
    this._rearm();
    return p;
  }

  /** @internal retries the sleepers of `sb` in FIFO order until one would block; true if any was served. */
  _drain(sb: Sockbuf): boolean {
    const q = sb._sleepers;
    let served = false;
    for (let budget = 64; q.length > 0 && budget > 0; budget--) {
      const s = q[0]!;
      const r = s.attempt();
      if (r === AGAIN) break;
      q.shift();
      s.resolve(r);
      served = true;
    }
    return served;
  }

  /** @internal wakes every sleeper of both buffers with `errno`. */
  _abortSleepers(errno: number, which = SO_RCV | SO_SND): void {
    for (const sb of [which & SO_RCV ? this.so_rcv : null, which & SO_SND ? this.so_snd : null]) {
      if (sb === null) continue;
      const all = sb._sleepers.splice(0);
      for (const s of all) s.resolve(errno);
    }
  }

  /**
   * @internal Arms the watcher for what is waited for now. When nobody waits
   * any more the watcher goes idle (still started, but keeping neither the
   * loop nor this Socket alive), so the next sleep costs no epoll_ctl; a
   * wakeup that finds nobody waiting (`fromPoll`) stops it for real.
   */
  _rearm(fromPoll = false): void {
    let mask = 0;
    if (this.so_rcv._sleepers.length > 0 || this.so_rcv.sb_upcall !== null || this._reading ||
      this.listenerCount('readable') > 0) mask |= READABLE;
    if (this.so_snd._sleepers.length > 0 || this.so_snd.sb_upcall !== null || this._connecting ||
      this.listenerCount('writable') > 0) mask |= WRITABLE;
    if (this.so_state & SS_NOFDREF) return;
    const h = this._h;
    if (mask === 0) {
      if (this._mask === 0) return;
      if (fromPoll) {
        native.pollStop(h);
        this._mask = 0;
        this._idle = false;
      } else if (!this._idle) {
        native.pollIdle(h);
        this._idle = true;
      }
      return;
    }
    if (mask === this._mask && !this._idle) return;
    const r = native.pollStart(h, mask);
    if (r < 0) {
      // libuv could not watch this descriptor: nothing would ever wake the
      // sleepers, so they return the error now.
      this._mask = 0;
      this._idle = false;
      this._abortSleepers(-r);
      return;
    }
    this._mask = mask;
    this._idle = false;
  }

  /** @internal the watcher was closed natively (the number now names another file). */
  _watcherGone(): void {
    this._mask = 0;
    this._idle = false;
  }

  /**
   * @internal a readiness wakeup (called by the native watcher); `got` is
   * what a native reader read first, when one is set.
   */
  _onPoll(status: number, events: number, got?: number): void {
    if (status < 0) events = READABLE | WRITABLE; // an error: let everyone retry and see it
    let served = false;
    if (got !== undefined) {
      this._messages(got);
      served = true;
    }
    if (this._connecting && events !== 0) {
      soconnected_check(this);
      served = true;
    }
    if (events & READABLE) {
      served = this._drain(this.so_rcv) || served;
      this._upcall(this.so_rcv);
      if (!(this.so_state & SS_NOFDREF)) this.emit('readable');
    }
    if (events & WRITABLE && !(this.so_state & SS_NOFDREF)) {
      served = this._drain(this.so_snd) || served;
      this._upcall(this.so_snd);
      if (!(this.so_state & SS_NOFDREF)) this.emit('writable');
    }
    if (status < 0) {
      // libuv stops a watcher that reports an error (POLLERR: a pending
      // error or an error-queue entry): start it again. While the condition
      // lasts (an error queue nobody reads) each start reports it at once, so
      // when nobody was served the restart waits a little: a slower wakeup,
      // never a spinning loop.
      this._mask = 0;
      this._idle = false;
      if (!served && !(this.so_state & SS_NOFDREF)) {
        setTimeout(() => this._rearm(), POLLERR_BACKOFF_MS);
        return;
      }
    }
    // A wakeup that served a sleeper leaves the watcher idle for the next
    // sleep; one that served nobody stops it (level-triggered: no spinning).
    this._rearm(!served);
  }

  /** @internal calls the buffer's upcall; a throwing upcall is reported asynchronously. */
  _upcall(sb: Sockbuf): void {
    const fn = sb.sb_upcall;
    if (typeof fn !== 'function') return; // none (or a field assigned something else by hand)
    try {
      fn(this, sb.sb_upcallarg, M_NOWAIT);
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  }

  /** @internal fires both upcalls on the next tick (a state change), never inside the caller's so* call. */
  _stateChanged(): void {
    wakeup(this.so_timeo);
    if (this.so_rcv.sb_upcall === null && this.so_snd.sb_upcall === null) return;
    const rcv = this.so_rcv.sb_upcall, rarg = this.so_rcv.sb_upcallarg;
    const snd = this.so_snd.sb_upcall, sarg = this.so_snd.sb_upcallarg;
    process.nextTick(() => {
      for (const [fn, arg] of [[rcv, rarg], [snd, sarg]] as const) {
        if (typeof fn !== 'function') continue;
        try {
          fn(this, arg, M_NOWAIT);
        } catch (err) {
          process.nextTick(() => {
            throw err;
          });
        }
      }
    });
  }

  // ------------------------------------------------------------------ close

  /**
   * @internal The one way a Socket lets go of its descriptor, in order:
   * forget the number (so nothing can touch it again, whoever gets it next),
   * stop and close the watcher, hand the number to `dispose`, then wake every
   * sleeper with EBADF and report the state change.
   */
  private _release<T>(dispose: (h: NativeHandle) => T): T {
    forgotten.unregister(this);
    this.so_state |= SS_NOFDREF;
    this._connecting = false;
    this._watcherGone();
    const result = dispose(this._h); // the native owner stops the watcher and forgets the number first
    this._abortSleepers(EBADF);
    this._stateChanged();
    process.nextTick(() => this.emit('close'));
    return result;
  }

  /**
   * @internal Idempotent, ordered close. Returns 0 or errno, or a Promise of
   * it when SO_LINGER would make close(2) block the thread (the native owner
   * then closes on the threadpool).
   */
  _close(): number | Promise<number> {
    if (this.so_state & SS_NOFDREF) return 0;
    return this._release((h): number | Promise<number> => {
      const r = native.close(h);
      if (typeof r === 'number') return r < 0 ? -r : 0;
      return r.then((e) => (e < 0 ? -e : 0));
    });
  }

  /**
   * @internal Gives up the descriptor without closing it (for handing it to
   * Node or another owner): the Socket becomes closed (SS_NOFDREF); returns
   * the number, or -1 if it had none.
   */
  _detach(): number {
    if (this.so_state & SS_NOFDREF) return -1;
    return this._release((h) => {
      const fd = native.detach(h);
      return fd < 0 ? -1 : fd;
    });
  }

  // ---------------------------------------------------------------- display

  /** The SS_* bits by name. */
  stateNames(): string[] {
    const out: string[] = [];
    for (const [bit, name] of SS_NAMES) if (this.so_state & bit) out.push(name);
    return out;
  }

  /** @internal */
  _local(): SockaddrOut | null {
    if (this.so_state & SS_NOFDREF) return null;
    const a = native.getsockname(this._h);
    return typeof a === 'number' ? null : a;
  }

  /** @internal */
  _remote(): SockaddrOut | null {
    if (this.so_state & SS_NOFDREF) return null;
    const a = native.getpeername(this._h);
    return typeof a === 'number' ? null : a;
  }

  [inspect.custom](): string {
    const fmt = (a: SockaddrOut | null): string | null => {
      if (a === null) return null;
      if (a.address !== undefined) return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
      if (a.path !== undefined) {
        const p = typeof a.path === 'string' ? a.path : a.path.toString('latin1');
        return p === '' ? '(unnamed)' : p.startsWith('\0') ? `@${JSON.stringify(p.slice(1)).slice(1, -1)}` : p;
      }
      return familyName(a.family);
    };
    const parts = [familyName(this.so_dom), sockTypeName(this.so_type), `fd=${this.fd}`];
    parts.push(this.so_state === 0 ? 'state=0' : this.stateNames().join('|'));
    const l = fmt(this._local()), r = fmt(this._remote());
    if (l) parts.push(`local=${l}`);
    if (r) parts.push(`remote=${r}`);
    if (this.so_error) parts.push(`so_error=${errnoName(this.so_error)}`);
    return `Socket<${parts.join(' ')}>`;
  }
}

// ------------------------------------------------------------ state changes
// Named after the kernel functions that make the same transitions.

/** A connect has begun. @see soisconnecting(9) */
export function soisconnecting(so: Socket): void {
  so.so_state = (so.so_state & ~(SS_ISCONNECTED | SS_ISDISCONNECTING | SS_ISDISCONNECTED)) | SS_ISCONNECTING;
  so._connecting = true;
  so._rearm();
}

/** The socket is connected. @see soisconnected(9) */
export function soisconnected(so: Socket): void {
  so.so_state = (so.so_state & ~(SS_ISCONNECTING | SS_ISDISCONNECTING | SS_ISDISCONNECTED)) | SS_ISCONNECTED | SS_ISBOUND;
  so._connecting = false;
  so._rearm();
  so._stateChanged();
}

/** The connection is gone (or never came): both directions are shut. @see soisdisconnected(9) */
export function soisdisconnected(so: Socket): void {
  so.so_state = (so.so_state & ~(SS_ISCONNECTING | SS_ISCONNECTED | SS_ISDISCONNECTING)) |
    SS_ISDISCONNECTED | SS_CANTRCVMORE | SS_CANTSENDMORE;
  so._connecting = false;
  so._rearm();
  so._stateChanged();
}

/** No more data will be sent. @see socantsendmore(9) */
export function socantsendmore(so: Socket): void {
  so.so_state |= SS_CANTSENDMORE;
  so._stateChanged();
}

/** No more data will be received. @see socantrcvmore(9) */
export function socantrcvmore(so: Socket): void {
  if (so.so_state & SS_CANTRCVMORE) return;
  so.so_state |= SS_CANTRCVMORE;
  so._stateChanged();
}

/** @internal a watched connect became ready: read SO_ERROR and settle the state. */
function soconnected_check(so: Socket): void {
  const name = constants.SO_ERROR!;
  const e = getint(so._h, SOL_SOCKET, name);
  const err = e < 0 ? -e : e;
  if (err === 0) {
    soisconnected(so);
  } else {
    so.so_error = err;
    soisdisconnected(so);
  }
}

/** @internal reads and clears the kernel's pending error (SO_ERROR). */
export function takeHostError(so: Socket): number {
  if (so.so_state & SS_NOFDREF) return 0;
  const e = getint(so._h, SOL_SOCKET, constants.SO_ERROR!);
  return e < 0 ? 0 : e;
}

/** @internal the result of a syscall that failed: mirror what it says about the state. */
export function ioFailed(so: Socket, errno: number): number {
  if (errno === constants.EPIPE) socantsendmore(so);
  else if (errno === constants.ECONNRESET || errno === constants.ETIMEDOUT) {
    if (so.so_type === SOCK_STREAM || so.so_type === constants.SOCK_SEQPACKET) soisdisconnected(so);
  }
  return errno;
}

