// Ownership of received descriptors.
//
// A received SCM_RIGHTS (or SCM_PIDFD) item owns its descriptors until they
// are claimed: reading `item.fds` claims them (the caller now owns those
// numbers). The owner is native: one record per item in the env's table
// (native/held.h), named by an (id, token) pair. An item dropped unclaimed has
// its descriptors closed when the garbage collector takes it, or at
// environment teardown (a worker's end); `item.close()` closes unclaimed ones
// at once.
//
// What this costs per item is what makes descriptor passing fast: the native
// receive reports descriptor items in a shared Int32Array (`native.rights`)
// and this module makes the items; nothing per item is made natively, and an
// item is registered with a FinalizationRegistry (the one costly step) only
// if it is still unclaimed some time after it was made (see `track`).
import { inspect, types } from 'node:util';
import { native, type Cmsg } from '../native';
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

const heldClaim = native.heldClaim;
const heldClose = native.heldClose;
const SOL_SOCKET = constants.SOL_SOCKET!;
const SCM_RIGHTS = constants.SCM_RIGHTS!;

// The collector's close, for items still unclaimed when they were registered.
const registry = new FinalizationRegistry<readonly [number, number]>((rec) => {
  heldClose(rec[0], rec[1], true);
});

// Items wait in two generations of GEN items before they are registered: a
// full `fresh` generation registers the unclaimed items of `aged` (made at
// least GEN items earlier) and becomes `aged`; an immediate after the
// current I/O phase registers both. So an item claimed in the job that
// received it (a batch of up to GEN messages included) never costs the
// collector anything; and a long synchronous loop keeps at most 2 * GEN
// items alive for a while.
const GEN = 1024;
let fresh: (RightsCmsg | null)[] = new Array<RightsCmsg | null>(GEN).fill(null);
let aged: (RightsCmsg | null)[] = new Array<RightsCmsg | null>(GEN).fill(null);
let nFresh = 0;
let nAged = 0;
let flushQueued = false;
let register: (item: RightsCmsg) => void;

function registerAll(items: (RightsCmsg | null)[], n: number): void {
  for (let i = 0; i < n; i++) {
    register(items[i]!);
    items[i] = null;
  }
}

function age(): void {
  registerAll(aged, nAged);
  const t = aged;
  aged = fresh;
  nAged = nFresh;
  fresh = t;
  nFresh = 0;
}

function flush(): void {
  flushQueued = false;
  registerAll(aged, nAged);
  nAged = 0;
  registerAll(fresh, nFresh);
  nFresh = 0;
}

function track(item: RightsCmsg): void {
  if (nFresh === GEN) age();
  fresh[nFresh++] = item;
  if (!flushQueued) {
    flushQueued = true;
    setImmediate(flush).unref();
  }
}

const SCM_RIGHTS_NAME = cmsgName(constants.SOL_SOCKET!, constants.SCM_RIGHTS!);

/** A received item that carries descriptors (SCM_RIGHTS, SCM_PIDFD). */
export class RightsCmsg implements Cmsg {
  [field: string]: unknown;
  readonly level: number;
  readonly type: number;
  /** 'SCM_RIGHTS' or 'SCM_PIDFD'. */
  readonly name: string;
  readonly #fds: number[];
  readonly #id: number;
  // The record's token while the descriptors are the item's; 0 once claimed or closed.
  #token: number;
  #data: Buffer | undefined;

  static {
    register = (item: RightsCmsg): void => {
      if (item.#token !== 0) registry.register(item, [item.#id, item.#token]);
    };
  }

  /** @internal made by soreceive: the descriptors and their native record (id, token). */
  constructor(level: number, type: number, fds: number[], id: number, token: number, data: Buffer | undefined) {
    this.level = level;
    this.type = type;
    this.name = level === SOL_SOCKET && type === SCM_RIGHTS ? SCM_RIGHTS_NAME : cmsgName(level, type);
    this.#fds = fds;
    this.#data = data;
    // Anything but a record's pair (an item made by hand) owns nothing.
    if (typeof id !== 'number' || typeof token !== 'number' || (id | 0) !== id || (token | 0) !== token || token === 0) {
      this.#id = 0;
      this.#token = 0;
      return;
    }
    this.#id = id;
    this.#token = token;
    track(this);
  }

  /** The descriptors, in order. Reading this claims them: closing them is then the caller's job. */
  get fds(): number[] {
    const token = this.#token;
    if (token !== 0) {
      this.#token = 0;
      heldClaim(this.#id, token);
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
    return this.#token === 0;
  }

  /** Closes the descriptors if they were never claimed; returns how many it closed. */
  close(): number {
    const token = this.#token;
    if (token === 0) return 0;
    this.#token = 0;
    return heldClose(this.#id, token, false);
  }

  /** What JSON shows: the numbers, without claiming them. */
  toJSON(): object {
    return { level: this.level, type: this.type, name: this.name, fds: this.#fds, claimed: this.#token === 0 };
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

const rights = native.rights;

/** The next item of the report at `p` (rights[p] … ), or null when it does not fit before `end`. */
function readItem(p: number, end: number): RightsCmsg | null {
  const n = rights[p + 4]!;
  if (n < 0 || p + 5 + n > end) return null;
  const fds = new Array<number>(n);
  for (let i = 0; i < n; i++) fds[i] = rights[p + 5 + i]!;
  return new RightsCmsg(rights[p]!, rights[p + 1]!, fds, rights[p + 2]!, rights[p + 3]!, undefined);
}

/**
 * The list of the report's next group, or null when that list was made
 * natively (header -1, or no group left).
 */
function readGroup(): Cmsg[] | null {
  let p = rights[0]!;
  const end = rights[1]!;
  if (p >= end) return null;
  const count = rights[p++]!;
  let items: Cmsg[] | null = null;
  if (count === 1) {
    // The hot case, one item: an array literal of exactly that one.
    const item = p + 5 <= end ? readItem(p, end) : null;
    if (item !== null) {
      p += 5 + rights[p + 4]!;
      items = [item];
    } else items = [];
  } else if (count >= 0) {
    items = [];
    for (let c = count; c > 0 && p + 5 <= end; c--) {
      const item = readItem(p, end);
      if (item === null) break;
      p += 5 + rights[p + 4]!;
      items.push(item);
    }
  }
  rights[0] = p;
  return items;
}

/** Names the items of a natively made list and gives each descriptor-carrying one its owner. */
function ownItems(items: Cmsg[], so: CredReceiver | undefined): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const id = item.held;
    if (typeof id !== 'number' || !Array.isArray(item.fds)) {
      item.name = cmsgName(item.level, item.type);
      if (SOCKCRED !== null && so?._wantcred && `${item.level}:${item.type}` === SCM_CREDS_KEY && item.data) asSockcred(item, so);
      continue;
    }
    items[i] = new RightsCmsg(item.level, item.type, item.fds, id, item.heldToken as number, item.data);
  }
}

/**
 * @internal After a native receive with `controlp`: its control items, in
 * `controlp.value` (made here from the report, or completed when the native
 * side made the list), every descriptor item owning its descriptors. Call it
 * right after every successful native receive given a control holder: the
 * report lasts until the next one, and items never taken stay open until
 * the env ends. `so`, the receiving socket, settles FreeBSD's two SCM_CREDS
 * layouts.
 */
export function takeControl(controlp: { value: Cmsg[] | null }, so?: CredReceiver): void {
  const items = readGroup();
  if (items !== null) controlp.value = items;
  else if (controlp.value) ownItems(controlp.value, so);
}

/**
 * @internal After a native recvmmsg of `n` messages with a control holder:
 * `holder.value` = one list per message, as takeControl makes them.
 */
export function takeControls(holder: { value: Cmsg[][] | null }, n: number, so?: CredReceiver): void {
  const lists = holder.value ?? new Array<Cmsg[]>(n);
  for (let i = 0; i < n; i++) {
    const items = readGroup();
    if (items !== null) lists[i] = items;
    else ownItems(lists[i] ?? (lists[i] = []), so);
  }
  holder.value = lists;
}

// Sending: a list of exactly one plain SCM_RIGHTS item of descriptor numbers
// (the hot shape) is encoded here into [n, fd0 … fd(n-1)], which the native
// send takes as it is; anything else goes to the native encoder. The array
// is rewritten by the next send: the native call must follow at once.
const MAX_FDS = 253;
const tx = new Int32Array(1 + MAX_FDS);
const isProxy = types.isProxy;

/** @internal The control argument of a native send: `control` itself, or its descriptors encoded (see above). */
export function controlArg(control: Cmsg[] | null | undefined): Cmsg[] | Int32Array | null {
  if (control == null) return null;
  // A proxied array is the native encoder's to refuse (it reads no traps).
  if (control.length !== 1 || isProxy(control)) return control;
  const item = control[0];
  if (typeof item !== 'object' || item === null || item.level !== SOL_SOCKET || item.type !== SCM_RIGHTS) return control;
  const fds = item.fds;
  if (!Array.isArray(fds) || fds.length > MAX_FDS || isProxy(fds)) return control;
  const n = fds.length;
  for (let i = 0; i < n; i++) {
    const fd = fds[i];
    if (typeof fd !== 'number' || !(fd >= 0 && fd <= 0x7fffffff) || (fd | 0) !== fd) return control;
    tx[1 + i] = fd;
  }
  tx[0] = n;
  return tx;
}
