// The TPACKET_V3 capture ring: frames of an AF_PACKET socket read from a
// memory-mapped ring shared with the kernel, without a syscall or a copy per
// packet.
//
//   const ring = openRing(sock, { blockSize: 1 << 20, blockCount: 8 });
//   for await (const frame of ring.frames()) console.log(frame.len, frame.data);
//
// The kernel fills blocks of frames and hands each one to user space when it
// is full or its timeout expires. A Block is a zero-copy view of one of them:
// its frames' `data` are Buffers over the mapping, valid until the block is
// released (`block.release()`, or an iterator moving on). Releasing gives the
// block back to the kernel and detaches its memory from JavaScript: a Buffer
// kept past that has length 0, and reading a frame's `data` then throws
// ERR_KSOCK_RELEASED — never a stale read of memory the kernel is refilling.
//
// Waiting uses the socket's readiness watcher (no busy-polling). While a
// block is held by the caller the kernel keeps reporting the socket readable,
// so a wait made then checks the ring on a short timer instead.
import { native, type NativeRing } from './native';
import { Socket, AGAIN, type Wait } from './core/socket';
import { EAGAIN, EBADF, EINTR, EWOULDBLOCK, constants } from './constants';
import { SocketError } from './errors';

const L = native.ringLayout;
const HEADER = L.header, FIELDS = L.fields;
// Field offsets as plain constants (the hot getters read no layout object).
const MAC = L.mac, SNAPLEN = L.snaplen, LEN = L.len, SEC = L.sec, NSEC = L.nsec, STATUS = L.status;
const VLAN_TCI = L.vlanTci, VLAN_TPID = L.vlanTpid, IFINDEX = L.ifindex, PROTOCOL = L.protocol;
const PKTTYPE = L.pkttype, HATYPE = L.hatype, HALEN = L.halen, ADDR0 = L.addr0, NET = L.net;
const ETIMEDOUT = constants.ETIMEDOUT!;
const EBUSY = constants.EBUSY ?? 16;
/** Back-off bounds (ms) of a wait made while the caller holds a block. */
const HELD_MIN_MS = 1, HELD_MAX_MS = 16;

/** Sizes of a capture ring (PACKET_RX_RING, `struct tpacket_req3`). */
export interface RingOptions {
  /** Bytes per block: a power of two, a multiple of the page size (default 1 MiB). */
  blockSize?: number;
  /** Number of blocks (default 16). */
  blockCount?: number;
  /** The nominal frame size: a multiple of 16, at least the TPACKET_V3 header (default 2048). V3 packs frames by their real length; this only sets the kernel's frame count. */
  frameSize?: number;
  /** Milliseconds after which the kernel hands over a block that is not full (tp_retire_blk_tov; default 10; 0 lets the kernel choose from the link speed). */
  timeout?: number;
}

/** How a wait for the next block may end early. */
export interface RingWaitOptions {
  /** Give up after this many milliseconds: rejects with SocketError ETIMEDOUT. */
  timeout?: number;
  /** Abort the wait: rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Counters of PACKET_STATISTICS (`struct tpacket_stats_v3`), summed since the ring was opened. */
export interface RingStats {
  /** Packets the socket saw (drops included). */
  packets: number;
  /** Packets dropped (the ring was full). */
  drops: number;
  /** Times the kernel froze the queue because the next block was still the user's. */
  freezeQueueCount: number;
}

/** A frame's data was read after its block went back to the kernel. */
export class ReleasedError extends Error {
  readonly code = 'ERR_KSOCK_RELEASED';
  constructor(what: string) {
    super(`${what}: the ring block was released (its memory is the kernel's again); copy what you keep before releasing`);
    this.name = 'ReleasedError';
  }
}

/**
 * One captured frame (`struct tpacket3_hdr` and the `sockaddr_ll` after it).
 * The numbers stay readable after release; `data` does not.
 */
export class Frame {
  /** @internal */ private readonly m: Uint32Array;
  /** @internal */ constructor(private readonly block: Block, private readonly base: number) {
    this.m = block._meta;
  }

  /** The captured bytes from the link-layer header on: a zero-copy view, valid until the block is released. @throws ReleasedError after release */
  get data(): Buffer {
    const b = this.block;
    if (b.released) throw new ReleasedError('frame.data');
    return Buffer.from(b._buffer, this.m[this.base + MAC]!, this.m[this.base + SNAPLEN]!);
  }

  /** The network-layer bytes (after the link-layer header); a view like `data`. @throws ReleasedError after release */
  get network(): Buffer {
    const b = this.block;
    if (b.released) throw new ReleasedError('frame.network');
    const m = this.m, mac = m[this.base + MAC]!, net = m[this.base + NET]!;
    const end = mac + m[this.base + SNAPLEN]!;
    return Buffer.from(b._buffer, Math.min(net, end), Math.max(0, end - net));
  }

  /** Length on the wire (tp_len). */
  get len(): number { return this.m[this.base + LEN]!; }
  /** Bytes captured (tp_snaplen): `data.length`. */
  get snaplen(): number { return this.m[this.base + SNAPLEN]!; }
  /** Arrival time, seconds (tp_sec). */
  get sec(): number { return this.m[this.base + SEC]!; }
  /** Arrival time, nanoseconds (tp_nsec). */
  get nsec(): number { return this.m[this.base + NSEC]!; }
  /** tp_status bits (TP_STATUS_*: VLAN_VALID, CSUMNOTREADY, LOSING …). */
  get status(): number { return this.m[this.base + STATUS]!; }
  /** The VLAN TCI the kernel took off the frame, when TP_STATUS_VLAN_VALID. */
  get vlanTci(): number | undefined {
    return this.status & L.TP_STATUS_VLAN_VALID ? this.m[this.base + VLAN_TCI]! : undefined;
  }
  /** The VLAN TPID (0x8100, 0x88a8), when the kernel reports it (TP_STATUS_VLAN_TPID_VALID). */
  get vlanTpid(): number | undefined {
    const v = L.TP_STATUS_VLAN_TPID_VALID;
    return v !== undefined && this.status & v ? this.m[this.base + VLAN_TPID]! : undefined;
  }
  /** The interface it was seen on (sll_ifindex). */
  get ifindex(): number { return this.m[this.base + IFINDEX]! | 0; }
  /** The ethertype, host order (sll_protocol). */
  get protocol(): number { return this.m[this.base + PROTOCOL]!; }
  /** PACKET_HOST, PACKET_OUTGOING … (sll_pkttype). */
  get pkttype(): number { return this.m[this.base + PKTTYPE]!; }
  /** ARPHRD_* (sll_hatype). */
  get hatype(): number { return this.m[this.base + HATYPE]!; }
  /** The link-layer source address (a copy: valid after release). */
  get addr(): Buffer {
    const m = this.m;
    return Buffer.from(new Uint8Array(m.buffer, m.byteOffset + (this.base + ADDR0) * 4, m[this.base + HALEN]!));
  }
}

/** The frames of a block, in order (an iterator without a generator's cost). */
class FrameIterator implements IterableIterator<Frame> {
  private i = 0;
  constructor(private readonly block: Block) {}
  next(): IteratorResult<Frame, undefined> {
    const i = this.i;
    if (i >= this.block.count) return { done: true, value: undefined };
    this.i = i + 1;
    return { done: false, value: new Frame(this.block, HEADER + i * FIELDS) };
  }
  [Symbol.iterator](): IterableIterator<Frame> {
    return this;
  }
}

/**
 * One block of the ring, handed over by the kernel: its frames, zero-copy.
 * Release it (or let an iterator move on) to give it back; until then the
 * kernel cannot refill it.
 */
export class Block implements Iterable<Frame> {
  /** @internal */ _buffer: ArrayBuffer;
  /** @internal */ readonly _meta: Uint32Array;
  /** The block's index in the ring. */
  readonly index: number;
  /** The kernel's sequence number of this block. */
  readonly seq: number;
  /** How many frames it holds. */
  readonly count: number;
  /** True when the kernel's frame list did not fit the block (the frames that did are here). */
  readonly corrupt: boolean;
  private _released = false;

  /** @internal */
  constructor(private readonly ring: Ring, buffer: ArrayBuffer, meta: Uint32Array) {
    this._buffer = buffer;
    this._meta = meta;
    this.index = meta[L.block]!;
    this.count = meta[L.count]!;
    this.seq = meta[L.seq]!;
    this.corrupt = (meta[L.flags]! & L.flagCorrupt) !== 0;
  }

  /** True once the block went back to the kernel (or the ring closed). */
  get released(): boolean {
    return this._released || this._buffer.byteLength === 0;
  }

  /** The i-th frame. @throws RangeError outside [0, count) */
  frame(i: number): Frame {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`frame index must be an integer in [0, ${this.count})`);
    return new Frame(this, HEADER + i * FIELDS);
  }

  [Symbol.iterator](): IterableIterator<Frame> {
    return new FrameIterator(this);
  }

  /** Gives the block back to the kernel; its frames' `data` can no longer be read. Idempotent. */
  release(): void {
    if (this.released) return;
    this._released = true;
    this.ring._released(this);
  }
}

function checkWait(o: RingWaitOptions | undefined): void {
  if (o === undefined) return;
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  if (o.timeout !== undefined && (typeof o.timeout !== 'number' || !(o.timeout >= 0) || !Number.isFinite(o.timeout))) {
    throw new RangeError('timeout must be a finite number of milliseconds >= 0');
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/** Resolves after `ms` (true), or early (false) when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function integerIn(v: unknown, what: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`openRing: ${what} must be an integer`);
  if (v < lo || v > hi) throw new RangeError(`openRing: ${what} must be in [${lo}, ${hi}]`);
  return v;
}

/**
 * A TPACKET_V3 receive ring on an AF_PACKET socket. Open it with `openRing`.
 * `for await (const block of ring)` yields blocks (each released when the
 * loop moves on); `ring.frames()` yields frames.
 */
export class Ring implements AsyncIterable<Block> {
  /** The packet socket the ring belongs to. */
  readonly socket: Socket;
  readonly blockSize: number;
  readonly blockCount: number;
  readonly frameSize: number;
  /** The block retire timeout in ms. */
  readonly timeout: number;
  private readonly r: NativeRing;
  private _closed = false;
  private readonly _totals: RingStats = { packets: 0, drops: 0, freezeQueueCount: 0 };
  private readonly _closing = new AbortController();

  /** @internal use openRing. */
  constructor(socket: Socket, r: NativeRing, blockSize: number, blockCount: number, frameSize: number, timeout: number) {
    this.socket = socket;
    this.r = r;
    this.blockSize = blockSize;
    this.blockCount = blockCount;
    this.frameSize = frameSize;
    this.timeout = timeout;
  }

  /** True once closed. */
  get closed(): boolean {
    return this._closed;
  }

  /** Bytes of the mapping while it exists (0 once unmapped). */
  get mapped(): number {
    return native.ringMapped(this.r);
  }

  /** Blocks handed out and not yet released (a Block the collector took counts as released). */
  get held(): number {
    return native.ringHeld(this.r);
  }

  /** @internal a block was released. */
  _released(b: Block): void {
    native.ringRelease(this.r, b._buffer);
  }

  /** The next block if the kernel has handed one over, else null (no wait). @throws SocketError EBADF once closed */
  tryNext(): Block | null {
    const v = native.ringNext(this.r);
    if (typeof v === 'number') {
      if (v === -EAGAIN || v === -EBUSY) return null;
      throw new SocketError(-v, 'ring.next');
    }
    return new Block(this, v[0], new Uint32Array(v[1]));
  }

  /**
   * The next block, waiting for the kernel to hand one over.
   * @throws SocketError ETIMEDOUT after `timeout`, EBADF when the ring or (with no block ready) the socket is closed; an abort rejects with the signal's reason
   */
  async next(options?: RingWaitOptions): Promise<Block> {
    checkWait(options);
    const signal = options?.signal;
    if (signal?.aborted) throw abortReason(signal);
    const deadline = options?.timeout !== undefined ? Date.now() + options.timeout : Infinity;
    const closing = this._closing.signal;
    let backoff = HELD_MIN_MS;
    for (;;) {
      const b = this.tryNext();
      if (b !== null) return b;
      const left = deadline - Date.now();
      if (left <= 0) throw new SocketError(ETIMEDOUT, 'ring.next');
      const so = this.socket;
      if (so.closed) throw new SocketError(EBADF, 'ring.next'); // nothing more will come
      const both = signal ? AbortSignal.any([signal, closing]) : closing;
      if (this.held > 0) {
        // The kernel says readable while a block is ours: check on a timer.
        await pause(Math.min(backoff, left), both);
        backoff = Math.min(backoff * 2, HELD_MAX_MS);
      } else {
        backoff = HELD_MIN_MS;
        const wait: Wait = { timeo: left === Infinity ? 0 : Math.max(1, Math.ceil(left)), signal: both };
        let got: Block | null = null;
        // Readiness is a hint: the attempt takes the block if there is one.
        const attempt = (): number => {
          try {
            got = this.tryNext();
          } catch (err) {
            return err instanceof SocketError ? err.errno : EBADF;
          }
          return got === null ? AGAIN : 0;
        };
        const e = await so._sleep(so.so_rcv, attempt, () => EWOULDBLOCK, wait);
        if (got !== null) return got;
        if (e === EBADF && !this._closed) {
          // The socket closed: blocks the kernel filled before are still here.
          const last = this.tryNext();
          if (last !== null) return last;
          throw new SocketError(EBADF, 'ring.next');
        }
        if (e !== 0 && e !== EWOULDBLOCK && e !== EINTR && e !== EBADF) throw new SocketError(e, 'ring.next');
      }
      if (signal?.aborted) throw abortReason(signal);
      if (this._closed) throw new SocketError(EBADF, 'ring.next');
    }
  }

  /**
   * Blocks as they come; each is released when the loop asks for the next
   * one, or ends. The loop ends when the ring or the socket is closed.
   */
  async *blocks(options?: { signal?: AbortSignal }): AsyncGenerator<Block, void, undefined> {
    checkWait(options);
    let b: Block | null = null;
    try {
      for (;;) {
        try {
          b = await this.next(options);
        } catch (err) {
          if (err instanceof SocketError && err.errno === EBADF) return;
          throw err;
        }
        yield b;
        b.release();
        b = null;
      }
    } finally {
      b?.release();
    }
  }

  /** Frames as they come, block after block; a block is released when its last frame has been yielded and the loop moves on. */
  async *frames(options?: { signal?: AbortSignal }): AsyncGenerator<Frame, void, undefined> {
    for await (const b of this.blocks(options)) yield* b;
  }

  [Symbol.asyncIterator](): AsyncIterator<Block> {
    return this.blocks();
  }

  /**
   * PACKET_STATISTICS, summed since the ring was opened (the kernel resets
   * its counters on each read).
   * @throws SocketError EBADF once the socket is closed
   */
  stats(): RingStats {
    const buf = Buffer.alloc(12);
    const n = native.getsockopt(this.socket._h, constants.SOL_PACKET!, constants.PACKET_STATISTICS!, buf);
    if (n < 0) throw new SocketError(-n, 'getsockopt');
    const t = this._totals;
    const rd = (o: number): number => (n >= o + 4 ? hostU32(buf, o) : 0);
    t.packets += rd(0);
    t.drops += rd(4);
    t.freezeQueueCount += rd(8);
    return { ...t };
  }

  /**
   * Closes the ring: every block still out is released (its Buffers read as
   * empty), the mapping goes, and the socket (if still open) gets its normal
   * receive path back. Waits reject with EBADF. Idempotent.
   */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    native.ringClose(this.r);
    this._closing.abort();
    if (!this.socket.closed) {
      // Take the kernel's ring down (tp_block_nr 0), now that nothing maps it.
      native.setsockopt(this.socket._h, constants.SOL_PACKET!, constants.PACKET_RX_RING!, Buffer.alloc(28), 28);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const hostU32 = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
  ? (b: Buffer, o: number): number => b.readUInt32LE(o)
  : (b: Buffer, o: number): number => b.readUInt32BE(o);

/**
 * Opens a TPACKET_V3 receive ring on an AF_PACKET socket (PACKET_VERSION,
 * PACKET_RX_RING, mmap). Bind the socket to an interface first to capture
 * only there. Sizes are checked here: a bad one is a RangeError.
 * @throws TypeError for a non-packet socket or non-integer sizes; RangeError for sizes out of bounds; SocketError from the kernel (EPERM, EBUSY when the socket has a ring already, ENOSYS where there is no TPACKET_V3)
 */
export function openRing(socket: Socket, options: RingOptions = {}): Ring {
  if (!(socket instanceof Socket)) throw new TypeError('openRing: socket must be a ksock Socket');
  if (typeof options !== 'object' || options === null) throw new TypeError('openRing: options must be an object');
  if (!L.supported) throw new SocketError(constants.ENOSYS ?? 38, 'openRing', undefined, 'openRing ENOSYS: this platform has no TPACKET_V3 ring');
  if (socket.so_dom !== constants.AF_PACKET) throw new TypeError('openRing: socket must be an AF_PACKET socket');
  const blockSize = integerIn(options.blockSize ?? 1 << 20, 'blockSize', L.pageSize, L.maxBlockSize);
  if ((blockSize & (blockSize - 1)) !== 0 || blockSize % L.pageSize !== 0) {
    throw new RangeError(`openRing: blockSize must be a power of two and a multiple of the page size (${L.pageSize})`);
  }
  const blockCount = integerIn(options.blockCount ?? 16, 'blockCount', 1, L.maxBlocks);
  const frameSize = integerIn(options.frameSize ?? 2048, 'frameSize', L.hdrLen ?? 1, blockSize);
  if (frameSize % (L.frameAlign ?? 16) !== 0) throw new RangeError(`openRing: frameSize must be a multiple of ${L.frameAlign ?? 16}`);
  const timeout = integerIn(options.timeout ?? 10, 'timeout', 0, L.maxTimeout);
  if (blockSize * blockCount > L.maxRingBytes) throw new RangeError('openRing: the ring (blockSize * blockCount) must be at most 4 GiB');
  if (socket.closed) throw new SocketError(EBADF, 'openRing');
  const r = native.ringOpen(socket._h, blockSize, blockCount, frameSize, timeout);
  if (typeof r === 'number') throw new SocketError(-r, 'setsockopt', undefined, `openRing ${new SocketError(-r, '').code}: PACKET_RX_RING failed`);
  return new Ring(socket, r, blockSize, blockCount, frameSize, timeout);
}
