// Classic pcap files (the format of tcpdump -w / -r): a streaming writer to a
// file or descriptor, and a reader of records from a file, a descriptor, a
// Buffer or any async iterable of Buffers (a stream). No libpcap.
//
// Format: a 24-byte global header (magic a1b2c3d4 for microsecond or
// a1b23c4d for nanosecond timestamps, in the writer's byte order; version
// 2.4; snaplen; link type), then per packet a 16-byte record header (seconds,
// micro- or nanoseconds, captured length, original length) and the captured
// bytes. The reader takes both byte orders; the writer writes the host's.
//
// The reader never trusts a length: a record longer than `maxRecord` (default
// 256 KiB, libpcap's limit) or a header that is not pcap is a PcapFormatError
// before anything is allocated for it; a file cut short is an error too.
import * as fs from 'node:fs';

/** Link types (the LINKTYPE_* registry of tcpdump.org). */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;

/** The microsecond and nanosecond magic numbers. */
export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;

/** The largest record the reader accepts by default, and the largest `maxRecord` may be. */
export const PCAP_MAX_RECORD_DEFAULT = 262144;
export const PCAP_MAX_RECORD_LIMIT = 64 * 1024 * 1024;

const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;

/** A malformed or truncated pcap file. `offset` is where in the file it went wrong. */
export class PcapFormatError extends Error {
  readonly code = 'EPCAPFORMAT';
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`pcap: ${message} (at byte ${offset})`);
    this.name = 'PcapFormatError';
    this.offset = offset;
  }
}

/** The global header of a pcap file. */
export interface PcapHeader {
  versionMajor: number;
  versionMinor: number;
  /** The largest captured length of a record the writer promised. */
  snaplen: number;
  /** LINKTYPE_* of every record. */
  linktype: number;
  /** Timestamps are nanoseconds (magic a1b23c4d), else microseconds. */
  nanosecond: boolean;
  /** The file's byte order. */
  littleEndian: boolean;
}

/** One packet of a pcap file. */
export interface PcapRecord {
  /** Seconds since the epoch. */
  sec: number;
  /** Nanoseconds within the second (a microsecond file gives multiples of 1000). */
  nsec: number;
  /** The packet's length on the wire (≥ data.length when the capture was cut at snaplen). */
  len: number;
  /** The captured bytes (a copy the caller owns). */
  data: Buffer;
}

/** Options of a PcapWriter. */
export interface PcapWriterOptions {
  /** LINKTYPE_* (default LINKTYPE_ETHERNET). */
  linktype?: number;
  /** Records are cut to this many bytes (default 262144). */
  snaplen?: number;
  /** Write nanosecond timestamps (magic a1b23c4d; default false: microseconds, which every reader takes). */
  nanosecond?: boolean;
}

// A file the writer opened and nobody closed is closed when the writer is
// collected: its number was never handed out, so nothing else can hold it.
const unclosed = new FinalizationRegistry<number>((fd) => {
  try { fs.closeSync(fd); } catch { /* already gone */ }
});

/** A timestamp for PcapWriter.write: `{ sec, nsec }`, `{ sec, usec }`, or milliseconds since the epoch (a number). */
export type PcapTime = { sec: number; nsec: number } | { sec: number; usec: number } | number;

function u32(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer`);
  if (v < 0 || v > 0xffffffff) throw new RangeError(`${what} is out of range 0..2**32-1`);
  return v;
}

/**
 * Writes a classic pcap file, record by record (synchronously, to a file it
 * creates or a descriptor it is given). `tcpdump -r` reads the result.
 */
export class PcapWriter {
  readonly linktype: number;
  readonly snaplen: number;
  readonly nanosecond: boolean;
  #fd: number;
  readonly #own: boolean;
  readonly #hdr = Buffer.alloc(RECORD_HEADER);
  #count = 0;

  /**
   * `target`: a path (created or truncated, closed by close()) or an open
   * descriptor (left open). The global header is written at once.
   */
  constructor(target: string | number, options: PcapWriterOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('PcapWriter: options must be an object');
    const linktype = u32(options.linktype ?? LINKTYPE_ETHERNET, 'PcapWriter: linktype');
    const snaplen = u32(options.snaplen ?? PCAP_MAX_RECORD_DEFAULT, 'PcapWriter: snaplen');
    if (snaplen === 0) throw new RangeError('PcapWriter: snaplen must be > 0');
    if (options.nanosecond !== undefined && typeof options.nanosecond !== 'boolean') throw new TypeError('PcapWriter: nanosecond must be a boolean');
    this.linktype = linktype;
    this.snaplen = snaplen;
    this.nanosecond = options.nanosecond === true;
    if (typeof target === 'string') {
      this.#fd = fs.openSync(target, 'w', 0o644);
      this.#own = true;
      unclosed.register(this, this.#fd, this);
    } else if (typeof target === 'number' && Number.isInteger(target) && target >= 0 && target <= 0x7fffffff) {
      this.#fd = target;
      this.#own = false;
    } else {
      throw new TypeError('PcapWriter: target must be a path or a descriptor number');
    }
    const h = Buffer.alloc(GLOBAL_HEADER);
    h.writeUInt32LE(this.nanosecond ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    // thiszone 0, sigfigs 0
    h.writeUInt32LE(snaplen, 16);
    h.writeUInt32LE(linktype, 20);
    try {
      this.#writeAll(h);
    } catch (e) {
      if (this.#own) {
        unclosed.unregister(this);
        fs.closeSync(this.#fd);
      }
      this.#fd = -1;
      throw e;
    }
  }

  /** Records written so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Appends one packet. `time` defaults to now; `len` (the length on the
   * wire) to data.length. Bytes beyond snaplen are not written.
   */
  write(data: Buffer | Uint8Array, time?: PcapTime, len?: number): void {
    if (this.#fd < 0) throw new Error('PcapWriter: closed');
    if (!(data instanceof Uint8Array)) throw new TypeError('PcapWriter.write: data must be a Buffer or Uint8Array');
    let sec: number, nsec: number;
    if (time === undefined) {
      const ms = performance.timeOrigin + performance.now(); // wall clock, sub-millisecond
      sec = Math.floor(ms / 1000);
      nsec = Math.floor((ms - sec * 1000) * 1e6);
    } else if (typeof time === 'number') {
      if (!Number.isFinite(time) || time < 0) throw new RangeError('PcapWriter.write: time must be milliseconds >= 0');
      sec = Math.floor(time / 1000);
      nsec = Math.round((time - sec * 1000) * 1e6);
    } else if (typeof time === 'object' && time !== null) {
      sec = u32(time.sec, 'PcapWriter.write: time.sec');
      if ('nsec' in time) nsec = u32(time.nsec, 'PcapWriter.write: time.nsec');
      else nsec = u32((time as { usec: number }).usec, 'PcapWriter.write: time.usec') * 1000;
      if (nsec >= 1e9) throw new RangeError('PcapWriter.write: the fraction must be under one second');
    } else {
      throw new TypeError('PcapWriter.write: time must be { sec, nsec }, { sec, usec } or milliseconds');
    }
    if (nsec >= 1e9) { sec += 1; nsec -= 1e9; }
    if (sec > 0xffffffff) throw new RangeError('PcapWriter.write: time is beyond what pcap holds (2106)');
    const orig = len === undefined ? data.length : u32(len, 'PcapWriter.write: len');
    const cap = Math.min(data.length, this.snaplen);
    const h = this.#hdr;
    h.writeUInt32LE(sec, 0);
    h.writeUInt32LE(this.nanosecond ? nsec : Math.floor(nsec / 1000), 4);
    h.writeUInt32LE(cap, 8);
    h.writeUInt32LE(Math.max(orig, cap), 12);
    this.#writeAll(h);
    this.#writeAll(data.subarray(0, cap));
    this.#count++;
  }

  /** Closes the file if the writer opened it (idempotent; a writer collected unclosed closes it then). */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    if (this.#own) {
      unclosed.unregister(this);
      fs.closeSync(fd);
    }
  }

  #writeAll(b: Uint8Array): void {
    let off = 0;
    // Bounded: every pass writes at least one byte or throws.
    while (off < b.length) {
      const n = fs.writeSync(this.#fd, b, off, b.length - off);
      if (n <= 0) throw new Error('PcapWriter: write made no progress');
      off += n;
    }
  }
}

/** Options of the reader. */
export interface PcapReadOptions {
  /** A record longer than this is a PcapFormatError (default 262144; at most 64 MiB). */
  maxRecord?: number;
}

function parseHeader(b: Buffer): PcapHeader {
  const le = b.readUInt32LE(0);
  let littleEndian: boolean, nanosecond: boolean;
  if (le === PCAP_MAGIC_USEC || le === PCAP_MAGIC_NSEC) {
    littleEndian = true;
    nanosecond = le === PCAP_MAGIC_NSEC;
  } else {
    const be = b.readUInt32BE(0);
    if (be !== PCAP_MAGIC_USEC && be !== PCAP_MAGIC_NSEC) {
      const hint = be === 0x0a0d0d0a ? ' (this is pcapng, which this reader does not read)' : '';
      throw new PcapFormatError(`not a pcap file: magic 0x${be.toString(16).padStart(8, '0')}${hint}`, 0);
    }
    littleEndian = false;
    nanosecond = be === PCAP_MAGIC_NSEC;
  }
  const r16 = (o: number): number => (littleEndian ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const r32 = (o: number): number => (littleEndian ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const versionMajor = r16(4);
  const versionMinor = r16(6);
  if (versionMajor !== 2) throw new PcapFormatError(`unsupported version ${versionMajor}.${versionMinor}`, 4);
  return { versionMajor, versionMinor, snaplen: r32(16), linktype: r32(20) & 0x0fffffff, nanosecond, littleEndian };
}

function maxRecordOf(o: PcapReadOptions | undefined): number {
  if (o === undefined) return PCAP_MAX_RECORD_DEFAULT;
  if (typeof o !== 'object' || o === null) throw new TypeError('pcap: options must be an object');
  if (o.maxRecord === undefined) return PCAP_MAX_RECORD_DEFAULT;
  const m = u32(o.maxRecord, 'pcap: maxRecord');
  if (m < 1 || m > PCAP_MAX_RECORD_LIMIT) throw new RangeError(`pcap: maxRecord must be 1..${PCAP_MAX_RECORD_LIMIT}`);
  return m;
}

/** Reads a record header at b[off]; checks the lengths. */
function recordHeader(b: Buffer, off: number, h: PcapHeader, max: number, fileOffset: number): [number, number, number, number] {
  const r32 = (o: number): number => (h.littleEndian ? b.readUInt32LE(off + o) : b.readUInt32BE(off + o));
  const sec = r32(0), frac = r32(4), caplen = r32(8), len = r32(12);
  if (caplen > max) throw new PcapFormatError(`record of ${caplen} bytes is over the limit of ${max} (corrupt file?)`, fileOffset);
  const nsec = h.nanosecond ? frac : frac * 1000;
  if (nsec >= 1e9) throw new PcapFormatError(`timestamp fraction ${frac} is not under one second`, fileOffset + 4);
  return [sec, nsec, caplen, len];
}

/** Parses a whole pcap file held in memory. */
export function parsePcap(buf: Buffer, options?: PcapReadOptions): { header: PcapHeader; records: PcapRecord[] } {
  if (!Buffer.isBuffer(buf)) throw new TypeError('parsePcap: buf must be a Buffer');
  const max = maxRecordOf(options);
  if (buf.length < GLOBAL_HEADER) throw new PcapFormatError('file is shorter than the 24-byte header', buf.length);
  const header = parseHeader(buf);
  const records: PcapRecord[] = [];
  let off = GLOBAL_HEADER;
  while (off < buf.length) {
    if (buf.length - off < RECORD_HEADER) throw new PcapFormatError('truncated record header', off);
    const [sec, nsec, caplen, len] = recordHeader(buf, off, header, max, off);
    if (buf.length - off - RECORD_HEADER < caplen) throw new PcapFormatError(`truncated record (${caplen} bytes announced)`, off);
    records.push({ sec, nsec, len, data: Buffer.from(buf.subarray(off + RECORD_HEADER, off + RECORD_HEADER + caplen)) });
    off += RECORD_HEADER + caplen;
  }
  return { header, records };
}

async function* fileChunks(target: string | number, chunk: number): AsyncGenerator<Buffer> {
  const fh = typeof target === 'string' ? await fs.promises.open(target, 'r') : null;
  const buf = Buffer.allocUnsafe(chunk);
  try {
    for (;;) {
      let n: number;
      if (fh) n = (await fh.read(buf, 0, chunk, null)).bytesRead;
      else n = await new Promise<number>((res, rej) => fs.read(target as number, buf, 0, chunk, null, (e, r) => (e ? rej(e) : res(r))));
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    await fh?.close();
  }
}

/**
 * Reads a pcap file record by record: `for await (const r of reader)`. The
 * source is a path, an open descriptor (read from its current position, not
 * closed), or an async iterable of Buffers (a stream such as process.stdin).
 * `header` is set once the first record (or the end) has been reached;
 * `await reader.open()` reads it first.
 */
export class PcapReader implements AsyncIterable<PcapRecord> {
  #header: PcapHeader | null = null;
  readonly #max: number;
  readonly #source: AsyncIterable<Buffer | Uint8Array>;
  #it: AsyncIterator<Buffer | Uint8Array> | null = null;
  #pending: Buffer = Buffer.alloc(0);
  #offset = 0; // file offset of #pending[0]
  #started = false;

  constructor(source: string | number | AsyncIterable<Buffer | Uint8Array>, options?: PcapReadOptions) {
    this.#max = maxRecordOf(options);
    if (typeof source === 'string' || (typeof source === 'number' && Number.isInteger(source) && source >= 0)) {
      this.#source = fileChunks(source, 65536);
    } else if (typeof source === 'object' && source !== null && typeof (source as AsyncIterable<Buffer>)[Symbol.asyncIterator] === 'function') {
      this.#source = source;
    } else {
      throw new TypeError('PcapReader: source must be a path, a descriptor or an async iterable of Buffers');
    }
  }

  /** The file's global header (null until read). */
  get header(): PcapHeader | null {
    return this.#header;
  }

  // Makes #pending hold at least n bytes; false at the end of the source.
  async #fill(n: number): Promise<boolean> {
    this.#it ??= this.#source[Symbol.asyncIterator]();
    while (this.#pending.length < n) {
      const r = await this.#it.next();
      if (r.done) return false;
      const c = r.value;
      if (!(c instanceof Uint8Array)) throw new TypeError('PcapReader: the source yielded something other than bytes');
      const add = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      this.#pending = this.#pending.length === 0 ? Buffer.from(add) : Buffer.concat([this.#pending, add]);
    }
    return true;
  }

  #take(n: number): Buffer {
    const b = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(n);
    this.#offset += n;
    return b;
  }

  /** Reads the global header (once) and returns it. */
  async open(): Promise<PcapHeader> {
    if (this.#header) return this.#header;
    if (this.#started) throw new Error('PcapReader: already being read');
    this.#started = true;
    try {
      if (!(await this.#fill(GLOBAL_HEADER))) throw new PcapFormatError('file is shorter than the 24-byte header', this.#pending.length);
      this.#header = parseHeader(this.#take(GLOBAL_HEADER));
      return this.#header;
    } catch (e) {
      await this.#stop();
      throw e;
    }
  }

  async #stop(): Promise<void> {
    const it = this.#it;
    this.#it = null;
    this.#pending = Buffer.alloc(0);
    if (it?.return) await it.return();
  }

  /** The next record, or null at the end of the file. */
  async next(): Promise<PcapRecord | null> {
    const h = this.#header ?? (await this.open());
    try {
      if (!(await this.#fill(RECORD_HEADER))) {
        if (this.#pending.length > 0) throw new PcapFormatError('truncated record header', this.#offset);
        await this.#stop();
        return null;
      }
      const at = this.#offset;
      const [sec, nsec, caplen, len] = recordHeader(this.#pending, 0, h, this.#max, at);
      if (!(await this.#fill(RECORD_HEADER + caplen))) throw new PcapFormatError(`truncated record (${caplen} bytes announced)`, at);
      this.#take(RECORD_HEADER);
      return { sec, nsec, len, data: Buffer.from(this.#take(caplen)) };
    } catch (e) {
      await this.#stop();
      throw e;
    }
  }

  /** Stops reading and releases the file. */
  async close(): Promise<void> {
    await this.#stop();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<PcapRecord> {
    try {
      for (;;) {
        const r = await this.next();
        if (r === null) return;
        yield r;
      }
    } finally {
      await this.#stop();
    }
  }
}

/** Reads every record of a pcap file (a convenience over PcapReader). */
export async function readPcap(source: string | number | AsyncIterable<Buffer | Uint8Array>, options?: PcapReadOptions):
  Promise<{ header: PcapHeader; records: PcapRecord[] }> {
  const reader = new PcapReader(source, options);
  const header = await reader.open();
  const records: PcapRecord[] = [];
  for await (const r of reader) records.push(r);
  return { header, records };
}
