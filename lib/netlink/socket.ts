// A netlink session over a ksock Socket: requests with sequence numbers and
// acknowledgements, dumps that stream until NLMSG_DONE, notifications from
// multicast groups, and NLMSG_ERROR turned into a NetlinkError carrying the
// kernel's extended-ack text.
import { constants as c } from '../constants';
import { SocketError } from '../errors';
import { Socket, type WaitOptions } from '../socket';
import type { NetnsRef } from '../netns';
import { decodeDone, decodeError, encodeMessage, parseMessages, type NlError, type NlMsg } from './codec';

const C = c as Readonly<Record<string, number | undefined>>;
const NLM_F_REQUEST = C.NLM_F_REQUEST ?? 1, NLM_F_MULTI = C.NLM_F_MULTI ?? 2, NLM_F_ACK = C.NLM_F_ACK ?? 4;
const NLM_F_DUMP = C.NLM_F_DUMP ?? 0x300, NLM_F_DUMP_INTR = C.NLM_F_DUMP_INTR ?? 0x10;
const NLMSG_ERROR = C.NLMSG_ERROR ?? 2, NLMSG_DONE = C.NLMSG_DONE ?? 3, NLMSG_NOOP = C.NLMSG_NOOP ?? 1, NLMSG_OVERRUN = C.NLMSG_OVERRUN ?? 4;
const MSG_PEEK = C.MSG_PEEK ?? 2, MSG_TRUNC = C.MSG_TRUNC ?? 0x20;
const EINTR = C.EINTR ?? 4, ETIMEDOUT = C.ETIMEDOUT ?? 110, EPROTO = C.EPROTO ?? 71;

/** The name of a message type, for error messages: 'RTM_NEWLINK', or the number. */
export function messageTypeName(protocol: number, type: number): string {
  if (type === NLMSG_ERROR) return 'NLMSG_ERROR';
  if (type === NLMSG_DONE) return 'NLMSG_DONE';
  if (protocol === C.NETLINK_ROUTE) {
    for (const [k, v] of Object.entries(C)) if (v === type && k.startsWith('RTM_') && !k.startsWith('RTM_F_')) return k;
  }
  return `netlink message ${type}`;
}

/**
 * An error the kernel answered a netlink request with: a SocketError
 * (`code`, `errno`) whose message carries the extended-ack text, as `ip`
 * prints it after "Error:".
 */
export class NetlinkError extends SocketError {
  /** The kernel's extended-ack text (NETLINK_EXT_ACK), when it gave one. */
  readonly extack?: string;
  /** The offset in the request of the attribute at fault (NLMSGERR_ATTR_OFFS). */
  readonly offset?: number;
  constructor(e: NlError, request: string) {
    super(e.errno, request, undefined);
    this.name = 'NetlinkError';
    if (e.message !== undefined) {
      this.extack = e.message;
      this.message = `${request} ${this.code}: ${e.message}`;
    }
    if (e.offset !== undefined) this.offset = e.offset;
  }
}

/** How to open a netlink session. */
export interface NetlinkOptions {
  /** Create the socket inside this network namespace (a name under /run/netns, a path, `{ fd }`); see `netns`. */
  netns?: NetnsRef;
  /** Multicast groups to join at once (RTNLGRP_* numbers or names), for `notifications()`. */
  groups?: ReadonlyArray<number | string>;
  /** SO_RCVBUF in bytes (a monitor on a busy host wants more than the default). */
  rcvbuf?: number;
  /** Ask for extended acknowledgements (NETLINK_EXT_ACK; default true). */
  extAck?: boolean;
  /** Strict checking of dump requests (NETLINK_GET_STRICT_CHK; default true for NETLINK_ROUTE). */
  strict?: boolean;
}

/** Options of one request or dump. */
export interface RequestOptions extends WaitOptions {
  /** NLM_F_* flags added to the request's (NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_ECHO …). */
  flags?: number;
}

function deadlineOf(o: WaitOptions | undefined): number {
  return o?.timeout !== undefined ? Date.now() + o.timeout : Infinity;
}

/**
 * A netlink session: `request()` sends one message and resolves with the
 * replies once the kernel acknowledges it; `dump()` streams a dump's
 * messages (reading a datagram only when the consumer asks: never buffering
 * without bound); `notifications()` streams what the joined multicast groups
 * announce. Requests on one session run one at a time, in call order.
 */
export class Netlink {
  /** The underlying socket (AF_NETLINK, SOCK_RAW). */
  readonly socket: Socket;
  /** NETLINK_ROUTE, NETLINK_GENERIC … */
  readonly protocol: number;
  private seq: number;
  private buf = Buffer.allocUnsafe(65536);
  private lock: Promise<void> = Promise.resolve();
  private closed = false;
  private dumping = false;

  /** Opens a session: `Netlink.open('NETLINK_ROUTE')`, or `Netlink.open('NETLINK_GENERIC', { netns: 'blue' })`. */
  static open(protocol: number | string = 'NETLINK_ROUTE', o: NetlinkOptions = {}): Netlink {
    if (typeof o !== 'object' || o === null) throw new TypeError('Netlink.open: options must be an object');
    const p = typeof protocol === 'string' ? C[protocol] : protocol;
    if (typeof protocol === 'string' && (!protocol.startsWith('NETLINK_') || p === undefined)) {
      throw new TypeError(`Netlink.open: unknown netlink protocol ${protocol}`);
    }
    if (!Number.isInteger(p) || p! < 0 || p! > 31) throw new TypeError('Netlink.open: protocol must be a NETLINK_* number or name');
    const AF_NETLINK = C.AF_NETLINK;
    if (AF_NETLINK === undefined) throw new SocketError(C.EAFNOSUPPORT ?? 97, 'socket', undefined, 'socket EAFNOSUPPORT: no netlink on this platform');
    const sock = Socket.create(AF_NETLINK, C.SOCK_RAW!, p!, o.netns !== undefined ? { netns: o.netns } : {});
    try {
      return new Netlink(sock, p!, o);
    } catch (e) {
      void sock.close();
      throw e;
    }
  }

  private constructor(socket: Socket, protocol: number, o: NetlinkOptions) {
    this.socket = socket;
    this.protocol = protocol;
    this.seq = (Math.floor(Math.random() * 0x7fffffff) + 1) >>> 0;
    if (o.rcvbuf !== undefined) socket.setsockopt('SOL_SOCKET', 'SO_RCVBUF', o.rcvbuf);
    socket.bind({ family: C.AF_NETLINK!, pid: 0, groups: 0 });
    if (o.extAck !== false && C.NETLINK_EXT_ACK !== undefined) {
      try { socket.setsockopt('SOL_NETLINK', 'NETLINK_EXT_ACK', true); } catch { /* older kernel: plain errors */ }
    }
    if (protocol === C.NETLINK_ROUTE && o.strict !== false && C.NETLINK_GET_STRICT_CHK !== undefined) {
      try { socket.setsockopt('SOL_NETLINK', 'NETLINK_GET_STRICT_CHK', true); } catch { /* older kernel */ }
    }
    for (const g of o.groups ?? []) this.join(g);
  }

  /** The port id the kernel gave this session (nl_pid). */
  get portId(): number {
    const a = this.socket.address() as { pid?: number };
    return a.pid ?? 0;
  }

  /** Joins a multicast group (NETLINK_ADD_MEMBERSHIP): an RTNLGRP_* number or name, or a generic family's group id. */
  join(group: number | string): void {
    this.socket.setsockopt('SOL_NETLINK', 'NETLINK_ADD_MEMBERSHIP', groupOf(group));
  }

  /** Leaves a multicast group. */
  leave(group: number | string): void {
    this.socket.setsockopt('SOL_NETLINK', 'NETLINK_DROP_MEMBERSHIP', groupOf(group));
  }

  /** The next sequence number. */
  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /** Runs `f` after every earlier request of this session has finished. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.lock.then(f);
    this.lock = run.then(() => undefined, () => undefined);
    return run;
  }

  /**
   * Receives one datagram from the kernel (skipping anything another process
   * sent) and returns its messages, copied out of the receive buffer.
   */
  private async receive(deadline: number, o: WaitOptions | undefined): Promise<NlMsg[]> {
    for (let spins = 0; ; spins++) {
      if (this.closed) throw new SocketError(C.EBADF ?? 9, 'recvmsg');
      // Peek first, with MSG_TRUNC: the real size, so the buffer can grow before the datagram is taken.
      const peek = this.socket.tryRecvmsg({ into: this.buf, flags: MSG_PEEK | MSG_TRUNC });
      if (peek === null) {
        const left = deadline - Date.now();
        if (left <= 0) throw new SocketError(ETIMEDOUT, 'recvmsg');
        await this.socket.readable({ signal: o?.signal, timeout: Number.isFinite(left) ? left : undefined });
        continue;
      }
      if (peek.bytes > this.buf.length) {
        if (peek.bytes > 64 << 20) throw new SocketError(C.EMSGSIZE ?? 90, 'recvmsg');
        this.buf = Buffer.allocUnsafe(peek.bytes);
      }
      const m = this.socket.tryRecvmsg({ into: this.buf });
      if (m === null) continue;
      const from = m.from as { pid?: number } | null;
      if (from && from.pid !== undefined && from.pid !== 0) continue; // not from the kernel: ignored, as iproute2 does
      const out: NlMsg[] = [];
      for (const msg of parseMessages(this.buf, m.bytes)) out.push({ ...msg, data: Buffer.from(msg.data) });
      return out;
    }
  }

  private async send(type: number, flags: number, payload: Buffer | Buffer[]): Promise<number> {
    if (this.closed) throw new SocketError(C.EBADF ?? 9, 'sendmsg');
    const seq = this.nextSeq();
    const msg = encodeMessage(type, flags, seq, payload);
    await this.socket.sendmsg({ data: msg, to: { family: C.AF_NETLINK!, pid: 0, groups: 0 } });
    return seq;
  }

  /**
   * Sends one request (NLM_F_REQUEST | NLM_F_ACK, plus `flags`) and resolves
   * with the messages the kernel answered before its acknowledgement (none
   * for most changes; the object for a GET). An error answer rejects with a
   * NetlinkError carrying the extended-ack text.
   */
  request(type: number, payload: Buffer | Buffer[], o: RequestOptions = {}): Promise<NlMsg[]> {
    checkType(type);
    const flags = NLM_F_REQUEST | NLM_F_ACK | flagsOf(o.flags);
    const deadline = deadlineOf(o);
    if (this.dumping) return Promise.reject(busy(messageTypeName(this.protocol, type)));
    return this.serial(async () => {
      const seq = await this.send(type, flags, payload);
      const replies: NlMsg[] = [];
      for (;;) {
        for (const m of await this.receive(deadline, o)) {
          if (m.seq !== seq) continue; // a notification, or a stale reply
          if (m.type === NLMSG_ERROR) {
            const e = decodeError(m);
            if (e.errno === 0) return replies;
            throw new NetlinkError(e, messageTypeName(this.protocol, type));
          }
          if (m.type === NLMSG_DONE) {
            const e = decodeDone(m);
            if (e.errno !== 0) throw new NetlinkError(e, messageTypeName(this.protocol, type));
            continue; // the ACK follows
          }
          if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) continue;
          if (replies.length >= 65536) throw new SocketError(EPROTO, 'recvmsg', undefined, 'netlink request: more than 65536 replies');
          replies.push(m);
        }
      }
    });
  }

  /**
   * Dumps (NLM_F_REQUEST | NLM_F_DUMP): yields every message until
   * NLMSG_DONE. A dump the kernel marks interrupted (NLM_F_DUMP_INTR: the
   * table changed meanwhile) ends with a NetlinkError EINTR; retry it.
   * Stopping early (`break`) reads and drops the rest before the session's
   * next request.
   */
  dump(type: number, payload: Buffer | Buffer[], o: RequestOptions = {}): AsyncIterableIterator<NlMsg> {
    checkType(type);
    const flags = NLM_F_REQUEST | NLM_F_DUMP | flagsOf(o.flags);
    const deadline = deadlineOf(o);
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let started: Promise<void> | null = null;
    let seq = 0;
    let queue: NlMsg[] = [];
    let done = false;
    let interrupted = false;
    const self = this;
    const start = (): Promise<void> => {
      if (started === null) {
        if (this.dumping) return Promise.reject(busy(messageTypeName(this.protocol, type)));
        this.dumping = true;
      }
      started ??= new Promise<void>((ready, fail) => {
        void this.serial(async () => {
          try { seq = await this.send(type, flags, payload); ready(); } catch (e) { fail(e); release(); }
          await held;
        });
      });
      return started;
    };
    let finished = false;
    const finish = (): void => {
      done = true; queue = [];
      if (finished) return;
      finished = true;
      if (started !== null) self.dumping = false;
      release();
    };
    const more = async (): Promise<void> => {
      for (const m of await self.receive(deadline, o)) {
        if (m.seq !== seq) continue;
        if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (m.type === NLMSG_DONE) {
          done = true;
          const e = decodeDone(m);
          if (e.errno !== 0) throw new NetlinkError(e, messageTypeName(self.protocol, type));
          if (interrupted) throw new NetlinkError({ errno: EINTR, message: 'dump interrupted: the table changed meanwhile; retry' }, messageTypeName(self.protocol, type));
          return;
        }
        if (m.type === NLMSG_ERROR) {
          done = true;
          const e = decodeError(m);
          if (e.errno !== 0) throw new NetlinkError(e, messageTypeName(self.protocol, type));
          return;
        }
        if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) continue;
        queue.push(m);
        if (!(m.flags & NLM_F_MULTI)) done = true; // a single answer
      }
    };
    // Drains what remains of the dump so the session's next request starts clean.
    const drain = async (): Promise<void> => {
      try {
        for (let i = 0; !done && i < 1_000_000; i++) await more();
      } catch { /* the dump ended in an error nobody reads */ }
      finish();
    };
    const it: AsyncIterableIterator<NlMsg> = {
      async next(): Promise<IteratorResult<NlMsg>> {
        if (finished) return { value: undefined, done: true };
        try { await start(); } catch (e) { finish(); throw e; }
        try {
          while (queue.length === 0 && !done) await more();
        } catch (e) {
          finish();
          throw e;
        }
        const m = queue.shift();
        if (m) return { value: m, done: false };
        finish();
        return { value: undefined, done: true };
      },
      async return(): Promise<IteratorResult<NlMsg>> {
        if (started && !done) { queue = []; await drain(); } else if (!started) { done = true; finished = true; } else finish();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() { return it; },
    };
    return it;
  }

  /**
   * Notifications from the joined multicast groups (`join()`, or `groups`
   * when opening), as they arrive, until the session closes or `signal`
   * aborts. A receive queue overrun (the kernel dropped notifications) throws
   * SocketError ENOBUFS: the listener must then re-read the state it tracks.
   */
  async *notifications(o: { signal?: AbortSignal } = {}): AsyncGenerator<NlMsg> {
    let me: number | undefined;
    for (;;) {
      if (this.closed) return;
      me ??= this.portId;
      let batch: NlMsg[];
      try {
        batch = await this.receive(Infinity, { signal: o.signal });
      } catch (e) {
        if (this.closed && (e as SocketError).code === 'EBADF') return;
        throw e;
      }
      for (const m of batch) {
        // A reply to this session's own request. A change another process asked for (`ip addr add`)
        // is announced with that process's seq and port id: a notification like any other.
        if (m.seq !== 0 && m.pid === me && m.type !== NLMSG_ERROR) continue;
        if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE || m.type === NLMSG_NOOP) continue;
        yield m;
      }
    }
  }

  /** Closes the session's socket; pending requests reject with EBADF. */
  async close(): Promise<void> {
    this.closed = true;
    await this.socket.close();
  }

  /** `await using nl = Netlink.open()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A request made while this session's dump is still being read: it would wait for itself. */
function busy(request: string): SocketError {
  return new SocketError(C.EBUSY ?? 16, request, undefined,
    `${request} EBUSY: a dump is still being read on this Netlink session; finish it (or break out of it) first, or open another session`);
}

function checkType(type: number): void {
  if (!Number.isInteger(type) || type < 0 || type > 0xffff) throw new TypeError('netlink message type must be an integer 0..65535');
}

function flagsOf(f: number | undefined): number {
  if (f === undefined) return 0;
  if (!Number.isInteger(f) || f < 0 || f > 0xffff) throw new TypeError('flags must be NLM_F_* bits (0..65535)');
  return f;
}

function groupOf(g: number | string): number {
  const n = typeof g === 'string' ? C[g] : g;
  if (typeof g === 'string' && (n === undefined || !g.startsWith('RTNLGRP_'))) throw new TypeError(`unknown multicast group ${g}`);
  if (!Number.isInteger(n) || n! <= 0 || n! > 0xffffffff) throw new TypeError('a multicast group is a positive integer or an RTNLGRP_* name');
  return n!;
}
