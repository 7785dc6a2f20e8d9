// Ownership of received descriptors.
//
// A received SCM_RIGHTS (or SCM_PIDFD) item owns its descriptors until they
// are claimed: reading `item.fds` claims them (the caller now owns those
// numbers). The owner is native (a Held): an item dropped unclaimed has its
// descriptors closed when the garbage collector takes it, or at environment
// teardown (a worker's end); `item.close()` closes unclaimed ones at once.
import { inspect } from 'node:util';
import { native, type Cmsg, type NativeHeld } from '../native';
import { constants } from '../constants';
import { writeHostInt } from './socket';

// Every received item gets `name`, its constant's name: the discriminant of
// ReceivedCmsg. The (level, type) pairs come from this platform's constants.
const ITEM_NAMES = new Map<string, string>();
for (const [level, names] of [
  ['SOL_SOCKET', ['SCM_RIGHTS', 'SCM_PIDFD', 'SCM_CREDENTIALS', 'SCM_CREDS', 'SCM_TIMESTAMPING', 'SCM_TIMESTAMPNS', 'SCM_TIMESTAMP',
    'SO_RXQ_OVFL', 'SO_MARK', 'SCM_CREDS2', 'SCM_BINTIME', 'SCM_REALTIME', 'SCM_MONOTONIC']],
  ['IPPROTO_IP', ['IP_PKTINFO', 'IP_RECVDSTADDR', 'IP_RECVIF', 'IP_RECVTTL', 'IP_TTL', 'IP_RECVTOS', 'IP_TOS', 'IP_RECVERR',
    'IP_ORIGDSTADDR']],
  ['IPPROTO_IPV6', ['IPV6_PKTINFO', 'IPV6_HOPLIMIT', 'IPV6_TCLASS', 'IPV6_RECVERR', 'IPV6_ORIGDSTADDR']],
  ['IPPROTO_UDP', ['UDP_GRO', 'UDP_SEGMENT']],
  ['SOL_PACKET', ['PACKET_AUXDATA']],
] as const) {
  const lv = constants[level];
  if (lv === undefined) continue;
  for (const n of names) {
    const t = constants[n];
    const key = `${lv}:${t}`;
    if (t !== undefined && !ITEM_NAMES.has(key)) ITEM_NAMES.set(key, n);
  }
}

/** The constant name of a control item of (level, type), or `level:type` for one this platform does not name. */
export function cmsgName(level: number, type: number): string {
  return ITEM_NAMES.get(`${level}:${type}`) ?? `${level}:${type}`;
}

/** A received item that carries descriptors (SCM_RIGHTS, SCM_PIDFD). */
export class RightsCmsg implements Cmsg {
  [field: string]: unknown;
  readonly level: number;
  readonly type: number;
  /** 'SCM_RIGHTS' or 'SCM_PIDFD'. */
  readonly name: string;
  readonly #fds: number[];
  readonly #held: NativeHeld;
  #claimed = false;
  #data: Buffer | undefined;

  /** @internal made by soreceive */
  constructor(level: number, type: number, fds: number[], held: NativeHeld, data: Buffer | undefined) {
    this.level = level;
    this.type = type;
    this.name = cmsgName(level, type);
    this.#fds = fds;
    this.#held = held;
    this.#data = data;
  }

  /** The descriptors, in order. Reading this claims them: closing them is then the caller's job. */
  get fds(): number[] {
    if (!this.#claimed) {
      this.#claimed = true;
      native.heldClaim(this.#held);
    }
    return this.#fds;
  }

  /** SCM_PIDFD: the pidfd (reading it claims it, like `fds`). */
  get pidfd(): number | undefined {
    return this.fds[0];
  }

  /** The raw payload (the descriptor numbers as C ints). Reading it claims nothing. */
  get data(): Buffer {
    if (this.#data === undefined) {
      const fds = this.#fds;
      const b = Buffer.alloc(fds.length * 4);
      for (let i = 0; i < fds.length; i++) writeHostInt(b, fds[i]!, i * 4);
      this.#data = b;
    }
    return this.#data;
  }

  /** True once `fds` was read or `close()` was called. */
  get claimed(): boolean {
    return this.#claimed;
  }

  /** Closes the descriptors if they were never claimed; returns how many it closed. */
  close(): number {
    if (this.#claimed) return 0;
    this.#claimed = true;
    return native.heldClose(this.#held);
  }

  /** What JSON shows: the numbers, without claiming them. */
  toJSON(): object {
    return { level: this.level, type: this.type, name: this.name, fds: this.#fds, claimed: this.#claimed };
  }

  /** What `util.inspect` shows: the numbers, without claiming them. */
  [inspect.custom](): string {
    return `RightsCmsg ${inspect(this.toJSON())}`;
  }
}

// FreeBSD: SCM_CREDS carries a struct cmsgcred when the sender sent one, and
// a struct sockcred (same type, other layout, no pid) when the receiver set
// LOCAL_CREDS; the kernel then drops the sender's cmsgcred. Only the
// receiver knows which: the native decoder reads cmsgcred, and an item
// received while the socket asked for LOCAL_CREDS is read again as sockcred.
const SOCKCRED = native.layouts.native.cmsgcred !== null ? native.layouts.native.sockcred : null;
const SCM_CREDS_KEY = `${constants.SOL_SOCKET}:${constants.SCM_CREDS}`;

/** The receiving socket's part in decoding: FreeBSD's LOCAL_CREDS state. */
export interface CredReceiver { _wantcred: boolean; readonly so_type: number }

function asSockcred(item: Cmsg, so: CredReceiver): void {
  const c = native.layouts.decodeCred(SOCKCRED!, item.data!);
  if (c === null) return;
  for (const k of ['pid', 'uid', 'euid', 'gid', 'egid', 'groups', 'version']) delete item[k];
  Object.assign(item, c);
  // LOCAL_CREDS is one-shot on stream and seqpacket sockets (the kernel clears it after the first send).
  if (so.so_type !== constants.SOCK_DGRAM) so._wantcred = false;
}

/**
 * @internal Gives every item of a received list its name, and every
 * descriptor-carrying item its owner; `so`, the receiving socket, settles
 * FreeBSD's two SCM_CREDS layouts.
 */
export function ownRights(items: Cmsg[], so?: CredReceiver): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const held = item.held as NativeHeld | undefined;
    if (held === undefined || !Array.isArray(item.fds)) {
      item.name = cmsgName(item.level, item.type);
      if (SOCKCRED !== null && so?._wantcred && `${item.level}:${item.type}` === SCM_CREDS_KEY && item.data) asSockcred(item, so);
      continue;
    }
    items[i] = new RightsCmsg(item.level, item.type, item.fds, held, item.data);
  }
}
