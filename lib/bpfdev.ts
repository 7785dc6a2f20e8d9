// Packet capture through the BPF device (/dev/bpf), as the BSDs and macOS do
// it: the counterpart of the Linux capture ring, with frames of the same
// shape ({ data, len, snaplen, sec, nsec, … }).
//
// A read(2) of the device returns whole records, each a `bpf_hdr` (its layout
// differs between systems), `bh_hdrlen` bytes in all, then `bh_caplen` bytes
// of packet; the next record starts at BPF_WORDALIGN(bh_hdrlen + bh_caplen).
// The parser below is pure and takes the layout as a table: the platform's
// own (from its headers, `native.bpfLayout`) on a BSD, any of the tables
// below in tests.
import { endianness } from 'node:os';
import { native } from './native';
import { SocketError } from './errors';

/** Where one integer field of a header lies (host byte order). */
export interface BpfField {
  readonly off: number;
  readonly width: number;
}

/** A `bpf_hdr` layout: where each field is, and the record alignment. */
export interface BpfHdrLayout {
  readonly name: string;
  /** Bytes of header that must be present to read a record (through bh_hdrlen). */
  readonly min: number;
  readonly sec: BpfField;
  /** The sub-second field. */
  readonly sub: BpfField;
  /** What `sub` counts: 'usec' (timeval), 'nsec' (FreeBSD BPF_T_NANOTIME), 'frac' (BPF_T_BINTIME, 2**-64 s). */
  readonly unit: 'usec' | 'nsec' | 'frac';
  readonly caplen: BpfField;
  readonly datalen: BpfField;
  readonly hdrlen: BpfField;
  /** OpenBSD: receive interface index, flow id, flags (priority, direction), drops, checksum flags. */
  readonly ifidx?: BpfField;
  readonly flowid?: BpfField;
  readonly flags?: BpfField;
  readonly drops?: BpfField;
  readonly csumflags?: BpfField;
  /** BPF_ALIGNMENT: records start at multiples of it. */
  readonly align: number;
}

const f = (off: number, width: number): BpfField => Object.freeze({ off, width });
// FreeBSD/NetBSD on LP64: { struct timeval (long, long); u32 caplen; u32 datalen; u16 hdrlen }, BPF_ALIGNMENT sizeof(long).
const lp64 = { sec: f(0, 8), sub: f(8, 8), caplen: f(16, 4), datalen: f(20, 4), hdrlen: f(24, 2), min: 26, align: 8 } as const;
// OpenBSD and macOS: a 32-bit timeval in the header whatever the word size, BPF_ALIGNMENT 4.
const tv32 = { sec: f(0, 4), sub: f(4, 4), caplen: f(8, 4), datalen: f(12, 4), hdrlen: f(16, 2), min: 18, align: 4 } as const;

/**
 * The `bpf_hdr` layouts of each system's 64-bit ports, from their headers:
 * FreeBSD 14 sys/net/bpf.h (bpf_hdr with struct timeval; bpf_xhdr with
 * struct bpf_ts { int64 sec; uint64 frac } after BIOCSTSTAMP, where frac holds
 * usec, nsec or a 2**-64 fraction as the BPF_T_ format says), NetBSD 10
 * sys/net/bpf.h (struct bpf_timeval of two longs), OpenBSD 7.8 sys/net/bpf.h
 * (u_int32 timeval, then ifidx, flowid, flags, drops, csumflags), macOS
 * bsd/net/bpf.h (BPF_TIMEVAL is timeval32 under __LP64__; BPF_ALIGNMENT
 * sizeof(int32_t)).
 */
export const BPF_HDR_LAYOUTS: Readonly<Record<string, BpfHdrLayout>> = Object.freeze({
  'freebsd.bpf_hdr': Object.freeze({ name: 'freebsd.bpf_hdr', unit: 'usec', ...lp64 }),
  'freebsd.bpf_xhdr.nanotime': Object.freeze({ name: 'freebsd.bpf_xhdr.nanotime', unit: 'nsec', ...lp64 }),
  'freebsd.bpf_xhdr.bintime': Object.freeze({ name: 'freebsd.bpf_xhdr.bintime', unit: 'frac', ...lp64 }),
  'netbsd.bpf_hdr': Object.freeze({ name: 'netbsd.bpf_hdr', unit: 'usec', ...lp64 }),
  'openbsd.bpf_hdr': Object.freeze({
    name: 'openbsd.bpf_hdr', unit: 'usec', ...tv32, ifidx: f(18, 2), flowid: f(20, 2), flags: f(22, 1), drops: f(23, 1),
    csumflags: f(24, 2), min: 26,
  }),
  'macos.bpf_hdr': Object.freeze({ name: 'macos.bpf_hdr', unit: 'usec', ...tv32 }),
} as const);

/** One captured packet: the shape of the capture ring's frames. */
export interface BpfFrame {
  /** The captured bytes from the link-layer header on: a view into the read buffer, valid until the next read. */
  readonly data: Buffer;
  /** Length on the wire (bh_datalen). */
  readonly len: number;
  /** Bytes captured (bh_caplen): `data.length`. */
  readonly snaplen: number;
  /** Arrival time, seconds. */
  readonly sec: number;
  /** Arrival time, nanoseconds (from usec, nsec or a bintime fraction as the layout says). */
  readonly nsec: number;
  /** OpenBSD: the receive interface's index (bh_ifidx). */
  readonly ifindex?: number;
  /** OpenBSD: bh_flags (BPF_F_PRI_MASK, BPF_F_FLOWID, BPF_F_DIR_*), bh_flowid, bh_drops, bh_csumflags. */
  readonly flags?: number;
  readonly flowid?: number;
  readonly drops?: number;
  readonly csumflags?: number;
}

/** What a buffer held: its records, and whether it ended inside one. */
export interface BpfRecords {
  readonly frames: BpfFrame[];
  /** Bytes walked (every whole record with its alignment padding). */
  readonly consumed: number;
  /** True when a record's header or packet ran past `length`: that record and the rest are left out. */
  readonly truncated: boolean;
}

const LE = endianness() === 'LE';

function readField(b: Buffer, base: number, fld: BpfField, signed: boolean): number {
  const o = base + fld.off;
  switch (fld.width) {
    case 1: return signed ? b.readInt8(o) : b.readUInt8(o);
    case 2: return LE ? (signed ? b.readInt16LE(o) : b.readUInt16LE(o)) : signed ? b.readInt16BE(o) : b.readUInt16BE(o);
    case 4: return LE ? (signed ? b.readInt32LE(o) : b.readUInt32LE(o)) : signed ? b.readInt32BE(o) : b.readUInt32BE(o);
    case 8: return Number(readU64(b, o, signed));
    default: throw new RangeError(`bpf layout: a field of width ${fld.width}`);
  }
}

function readU64(b: Buffer, o: number, signed: boolean): bigint {
  if (signed) return LE ? b.readBigInt64LE(o) : b.readBigInt64BE(o);
  return LE ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
}

/** FreeBSD's bintime2timespec: nanoseconds of a 2**-64 fraction. */
export function fracToNsec(frac: bigint): number {
  return Number(((frac >> 32n) * 1_000_000_000n) >> 32n);
}

function checkLayout(l: BpfHdrLayout): void {
  if (typeof l !== 'object' || l === null) throw new TypeError('bpf layout must be a BpfHdrLayout');
  if (!Number.isInteger(l.align) || l.align < 1 || l.align > 64 || (l.align & (l.align - 1)) !== 0) {
    throw new RangeError('bpf layout: align must be a power of two up to 64');
  }
  if (!Number.isInteger(l.min) || l.min < 1 || l.min > 1024) throw new RangeError('bpf layout: min out of range');
  for (const k of ['sec', 'sub', 'caplen', 'datalen', 'hdrlen', 'ifidx', 'flowid', 'flags', 'drops', 'csumflags'] as const) {
    const fl = l[k];
    if (fl === undefined) continue;
    if (!Number.isInteger(fl.off) || !Number.isInteger(fl.width) || ![1, 2, 4, 8].includes(fl.width) || fl.off < 0 ||
      fl.off + fl.width > 1024) {
      throw new RangeError(`bpf layout: field ${k} out of range`);
    }
  }
}

/**
 * Parses the `length` bytes a read(2) of a BPF device returned into frames,
 * by `layout`. Pure: never reads outside [0, length) of `buf`; a record whose
 * header or packet runs past the end (or whose bh_hdrlen is shorter than the
 * header) ends the walk with `truncated`.
 */
export function parseBpfRecords(buf: Uint8Array, length: number, layout: BpfHdrLayout): BpfRecords {
  if (!(buf instanceof Uint8Array)) throw new TypeError('parseBpfRecords: buf must be a Buffer or Uint8Array');
  if (!Number.isInteger(length) || length < 0 || length > buf.length) throw new RangeError('parseBpfRecords: length out of range');
  checkLayout(layout);
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const frames: BpfFrame[] = [];
  const a = layout.align;
  // The largest field end: every field read must lie inside the record's header.
  const need = Math.max(layout.min, ...(['sec', 'sub', 'caplen', 'datalen', 'hdrlen', 'ifidx', 'flowid', 'flags', 'drops', 'csumflags'] as const)
    .map((k) => (layout[k] ? layout[k]!.off + layout[k]!.width : 0)));
  let off = 0;
  let truncated = false;
  // Each turn advances by at least `a` bytes: at most length / a + 1 turns.
  while (off < length) {
    if (length - off < need) {
      truncated = true;
      break;
    }
    const caplen = readField(b, off, layout.caplen, false);
    const hdrlen = readField(b, off, layout.hdrlen, false);
    if (hdrlen < need || hdrlen > length - off || caplen > length - off - hdrlen) {
      truncated = true;
      break;
    }
    const start = off + hdrlen;
    let sec = readField(b, off, layout.sec, layout.sec.width === 8);
    let nsec: number;
    if (layout.unit === 'frac') {
      nsec = fracToNsec(readU64(b, off + layout.sub.off, false));
    } else {
      const sub = readField(b, off, layout.sub, layout.sub.width === 8);
      nsec = layout.unit === 'usec' ? sub * 1000 : sub;
    }
    if (layout.sec.width === 4) sec >>>= 0; // u_int32 seconds (OpenBSD), int32 (macOS) read alike until 2106
    const frame: { -readonly [K in keyof BpfFrame]: BpfFrame[K] } = {
      data: b.subarray(start, start + caplen),
      len: readField(b, off, layout.datalen, false),
      snaplen: caplen,
      sec,
      nsec,
    };
    if (layout.ifidx) frame.ifindex = readField(b, off, layout.ifidx, false);
    if (layout.flags) frame.flags = readField(b, off, layout.flags, false);
    if (layout.flowid) frame.flowid = readField(b, off, layout.flowid, false);
    if (layout.drops) frame.drops = readField(b, off, layout.drops, false);
    if (layout.csumflags) frame.csumflags = readField(b, off, layout.csumflags, false);
    frames.push(frame);
    const step = (hdrlen + caplen + a - 1) & ~(a - 1); // BPF_WORDALIGN
    off += step;
  }
  return { frames, consumed: Math.min(off, length), truncated };
}

/** This platform's `bpf_hdr` layout, from its headers; null where there is no BPF device (Linux). */
export function bpfHdrLayout(): BpfHdrLayout | null {
  const l = native.bpfLayout;
  if (!l) return null;
  return Object.freeze({ name: 'native.bpf_hdr', ...l });
}

/** One classic-BPF instruction (struct bpf_insn: the same 8 bytes as Linux's sock_filter). */
export interface BpfInsnLike {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

/** Options of {@link BpfDevice.open}. */
export interface BpfOpenOptions {
  /** BIOCSBLEN: the kernel buffer (and read size), bytes; the system default when omitted. */
  bufferSize?: number;
  /** BIOCIMMEDIATE: deliver each packet at once (default true). */
  immediate?: boolean;
  /** BIOCSETF: a classic-BPF program (instructions, or their assembled bytes). */
  filter?: Buffer | readonly BpfInsnLike[];
}

function insnBytes(program: Buffer | readonly BpfInsnLike[]): Buffer {
  if (Buffer.isBuffer(program)) return program;
  if (!Array.isArray(program)) throw new TypeError('filter must be a Buffer or an array of { code, jt, jf, k }');
  if (program.length === 0 || program.length > 4096) throw new RangeError('filter: 1..4096 instructions');
  const out = Buffer.alloc(program.length * 8);
  program.forEach((x: BpfInsnLike, i: number) => {
    if (typeof x !== 'object' || x === null) throw new TypeError(`filter[${i}] must be { code, jt, jf, k }`);
    const { code, jt, jf, k } = x;
    for (const [n, v, max] of [['code', code, 0xffff], ['jt', jt, 0xff], ['jf', jf, 0xff], ['k', k, 0xffffffff]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`filter[${i}].${n} out of range`);
    }
    if (LE) out.writeUInt16LE(code, i * 8); else out.writeUInt16BE(code, i * 8);
    out[i * 8 + 2] = jt;
    out[i * 8 + 3] = jf;
    if (LE) out.writeUInt32LE(k >>> 0, i * 8 + 4); else out.writeUInt32BE(k >>> 0, i * 8 + 4);
  });
  return out;
}

// A device dropped without close() has its descriptor closed by the collector
// (bpfClose refuses any number bpfOpen did not hand out).
const closer = new FinalizationRegistry<number>((fd) => {
  native.bpfClose(fd);
});
// Only BpfDevice.open makes devices: `new BpfDevice(…)` from outside is a TypeError.
const OPEN = Symbol('BpfDevice.open');

/**
 * An open BPF device bound to one interface. `read()` returns the frames of
 * one read(2) (views into the device's buffer, valid until the next read);
 * `frames()` iterates, polling every `intervalMs` while nothing is there.
 * Only where the platform has `<net/bpf.h>` (the BSDs, macOS): elsewhere
 * `open` throws SocketError ENOSYS.
 * @see bpf(4)
 */
export class BpfDevice {
  #fd: number;
  readonly #buf: Buffer;
  readonly #layout: BpfHdrLayout;
  readonly #token = {};

  private constructor(token: symbol, fd: number, size: number, layout: BpfHdrLayout) {
    if (token !== OPEN) throw new TypeError('use BpfDevice.open(ifname, options)');
    this.#fd = fd;
    this.#buf = Buffer.alloc(size);
    this.#layout = layout;
    closer.register(this, fd, this.#token);
  }

  /** Opens a BPF device on `ifname` (BIOCSETIF, BIOCIMMEDIATE, BIOCSETF, BIOCGBLEN). @throws SocketError */
  static open(ifname: string, options: BpfOpenOptions = {}): BpfDevice {
    if (typeof ifname !== 'string' || ifname.length === 0) throw new TypeError('ifname must be an interface name');
    const size = options.bufferSize ?? 0;
    if (!Number.isInteger(size) || size < 0 || size > 1 << 24) throw new RangeError('bufferSize must be 0..16 MiB');
    const immediate = options.immediate ?? true;
    if (typeof immediate !== 'boolean') throw new TypeError('immediate must be a boolean');
    const prog = options.filter === undefined ? null : insnBytes(options.filter);
    const fd = native.bpfOpen(ifname, size, immediate);
    if (fd < 0) throw new SocketError(-fd, 'open');
    const layout = bpfHdrLayout();
    const blen = native.bpfBufferSize(fd);
    if (layout === null || blen < 0) {
      native.bpfClose(fd);
      throw new SocketError(layout === null ? native.constants.ENOSYS! : -blen, 'ioctl');
    }
    const dev = new BpfDevice(OPEN, fd, blen, layout);
    if (prog !== null) {
      try {
        dev.setFilter(prog);
      } catch (e) {
        dev.close();
        throw e;
      }
    }
    return dev;
  }

  /** The descriptor; -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** The header layout records are parsed with. */
  get layout(): BpfHdrLayout {
    return this.#layout;
  }

  /** BIOCSETF: replaces the filter. @throws SocketError */
  setFilter(program: Buffer | readonly BpfInsnLike[]): void {
    const bytes = insnBytes(program);
    const r = native.bpfSetFilter(this.#live('ioctl'), bytes);
    if (r < 0) throw new SocketError(-r, 'ioctl');
  }

  /** One read(2): the frames it returned, or null when nothing was there (EAGAIN). @throws SocketError */
  read(): BpfFrame[] | null {
    const n = native.bpfRead(this.#live('read'), this.#buf);
    if (n < 0) {
      if (-n === native.constants.EAGAIN || -n === native.constants.EWOULDBLOCK) return null;
      throw new SocketError(-n, 'read');
    }
    return parseBpfRecords(this.#buf, n, this.#layout).frames;
  }

  /** Frames as they come; waits `intervalMs` (default 10) between empty reads; ends on abort or close. */
  async *frames(options: { signal?: AbortSignal; intervalMs?: number } = {}): AsyncGenerator<BpfFrame, void, undefined> {
    const every = options.intervalMs ?? 10;
    if (!Number.isFinite(every) || every < 1 || every > 60_000) throw new RangeError('intervalMs must be 1..60000');
    while (this.#fd >= 0 && !options.signal?.aborted) {
      const got = this.read();
      if (got === null) {
        await new Promise((r) => setTimeout(r, every));
        continue;
      }
      yield* got;
    }
  }

  /** Closes the device (idempotent). */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closer.unregister(this.#token);
    native.bpfClose(fd);
  }

  #live(syscall: string): number {
    if (this.#fd < 0) throw new SocketError(native.constants.EBADF!, syscall);
    return this.#fd;
  }
}
