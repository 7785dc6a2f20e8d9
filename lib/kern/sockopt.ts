// Socket options through the kernel's own structure: NetBSD sockopt(9)
// (sopt_level, sopt_name, sopt_size, sopt_data) with FreeBSD's struct sockopt
// field names (sopt_dir, sopt_val, sopt_valsize) as views of the same state.
import { endianness } from 'node:os';
import { native, type Holder } from '../native';
import {
  constants, EBADF, EDOM, EINVAL, ENOMEM, SOL_SOCKET, SOPT_GET, SOPT_SET, SO_OPTIONS, SS_NOFDREF,
} from '../constants';
import { Socket, readHostInt, writeHostInt, takeHostError } from '../core/socket';

const INT_SIZE = native.sizes.int!;
const sizes = native.sizes;

/**
 * struct sockopt. `new Sockopt()` is zeroed; bind it to one level/name/size
 * with `sockopt_init`.
 * @see sockopt(9)
 */
export class Sockopt {
  /** Protocol level (SOL_SOCKET, IPPROTO_TCP …). */
  sopt_level = 0;
  /** Option name. */
  sopt_name = 0;
  /** Size of the value in bytes; 0 = unset. */
  sopt_size = 0;
  /** The value's storage, or null while unset. */
  sopt_data: Buffer | null = null;
  /** The length the kernel reported on the last sogetopt (may exceed sopt_size: truncated). */
  sopt_retsize = 0;
  /** FreeBSD: SOPT_GET or SOPT_SET. */
  sopt_dir = SOPT_GET;
  /** Internal storage for values up to sizeof(int). */
  private readonly sopt_buf = Buffer.alloc(INT_SIZE);

  /** FreeBSD view of sopt_data. */
  get sopt_val(): Buffer | null {
    return this.sopt_data;
  }
  set sopt_val(v: Buffer | null) {
    this.sopt_data = v;
  }
  /** FreeBSD view of sopt_size. */
  get sopt_valsize(): number {
    return this.sopt_size;
  }
  set sopt_valsize(n: number) {
    this.sopt_size = n;
  }

  /** @internal storage of `size` bytes: internal for small values. */
  _alloc(size: number): Buffer {
    if (size <= INT_SIZE) return this.sopt_buf.fill(0).subarray(0, size);
    return Buffer.alloc(size);
  }
}

function checkSopt(sopt: unknown, fn: string): asserts sopt is Sockopt {
  if (!(sopt instanceof Sockopt)) throw new TypeError(`${fn}: sopt must be a Sockopt`);
}

function checkSize(size: unknown, fn: string): asserts size is number {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
    throw new TypeError(`${fn}: size must be a non-negative integer`);
  }
}

/**
 * Binds `sopt` to one level/name and a value of `size` bytes (zeroed).
 * Values up to sizeof(int) use internal storage; larger ones are allocated.
 * @see sockopt_init(9)
 */
export function sockopt_init(sopt: Sockopt, level: number, name: number, size: number): void {
  checkSopt(sopt, 'sockopt_init');
  if (!Number.isInteger(level) || !Number.isInteger(name)) throw new TypeError('sockopt_init: level and name must be integers');
  checkSize(size, 'sockopt_init');
  if (size > 0x7fffffff) throw new RangeError('sockopt_init: size is too large');
  sopt.sopt_level = level;
  sopt.sopt_name = name;
  sopt.sopt_size = size;
  sopt.sopt_retsize = 0;
  sopt.sopt_data = size > 0 ? sopt._alloc(size) : null;
}

/**
 * Releases the storage and zeroes the struct, which may then be
 * re-initialised. Harmless when called twice.
 * @see sockopt_destroy(9)
 */
export function sockopt_destroy(sopt: Sockopt): void {
  checkSopt(sopt, 'sockopt_destroy');
  sopt.sopt_level = 0;
  sopt.sopt_name = 0;
  sopt.sopt_size = 0;
  sopt.sopt_retsize = 0;
  sopt.sopt_data = null;
  sopt.sopt_dir = SOPT_GET;
}

/**
 * Copies the value out into `value` (a Buffer of at least `size` bytes).
 * EINVAL unless `size` equals `sopt_size`.
 * @see sockopt_get(9)
 */
export function sockopt_get(sopt: Sockopt, value: Buffer, size: number): number {
  checkSopt(sopt, 'sockopt_get');
  if (!Buffer.isBuffer(value)) throw new TypeError('sockopt_get: value must be a Buffer');
  checkSize(size, 'sockopt_get');
  if (size !== sopt.sopt_size || sopt.sopt_data === null) return EINVAL;
  if (value.length < size) throw new RangeError('sockopt_get: value is shorter than size');
  sopt.sopt_data.copy(value, 0, 0, size);
  return 0;
}

/**
 * `value.value` = the int value. EINVAL unless the option is int-sized.
 * @see sockopt_getint(9)
 */
export function sockopt_getint(sopt: Sockopt, value: Holder<number>): number {
  checkSopt(sopt, 'sockopt_getint');
  if (typeof value !== 'object' || value === null) throw new TypeError('sockopt_getint: value must be a { value } holder');
  if (sopt.sopt_size !== INT_SIZE || sopt.sopt_data === null) return EINVAL;
  value.value = readHostInt(sopt.sopt_data);
  return 0;
}

/**
 * Copies `size` bytes of `value` in. An unset Sockopt takes that size
 * (ENOMEM when the storage cannot be had); a sized one must be of exactly
 * `size` bytes, else EINVAL.
 * @see sockopt_set(9)
 */
export function sockopt_set(sopt: Sockopt, value: Buffer, size: number): number {
  checkSopt(sopt, 'sockopt_set');
  if (!Buffer.isBuffer(value)) throw new TypeError('sockopt_set: value must be a Buffer');
  checkSize(size, 'sockopt_set');
  if (value.length < size) throw new RangeError('sockopt_set: value is shorter than size');
  if (sopt.sopt_size === 0 || sopt.sopt_data === null) {
    if (size > 0x7fffffff) return EINVAL;
    try {
      sopt.sopt_data = sopt._alloc(size);
    } catch {
      return ENOMEM;
    }
    sopt.sopt_size = size;
  } else if (size !== sopt.sopt_size) {
    return EINVAL;
  }
  value.copy(sopt.sopt_data, 0, 0, size);
  sopt.sopt_dir = SOPT_SET;
  return 0;
}

/**
 * Sets an int value; the same size rule as sockopt_set.
 * @see sockopt_setint(9)
 */
export function sockopt_setint(sopt: Sockopt, val: number): number {
  checkSopt(sopt, 'sockopt_setint');
  if (!Number.isInteger(val) || val < -0x80000000 || val > 0xffffffff) throw new RangeError('sockopt_setint: val must be a 32-bit integer');
  const b = Buffer.alloc(INT_SIZE);
  writeHostInt(b, val | 0);
  return sockopt_set(sopt, b, INT_SIZE);
}

// ------------------------------------------------------------ sosetopt / sogetopt

/** Platform SO_* name -> 4.4BSD so_options bit. */
const BOOLEAN_BITS = new Map<number, number>();
for (const [name, bit] of Object.entries(SO_OPTIONS)) {
  const v = constants[name];
  if (v !== undefined && name !== 'SO_LINGER' && name !== 'SO_ACCEPTCONN') BOOLEAN_BITS.set(v, bit);
}

/** Reads a struct timeval in host layout; null if the Buffer is too short. */
export function readTimeval(b: Buffer): { sec: number; usec: number } | null {
  if (b.length < sizes.timeval!) return null;
  const rd = (off: number, size: number): number => (size === 8 ? Number(hostBigInt(b, off)) : readHostInt(b, off));
  return { sec: rd(0, sizes.tv_sec!), usec: rd(sizes.tv_usec_offset!, sizes.tv_usec!) };
}

/** Builds a struct timeval in host layout. */
export function timeval(sec: number, usec: number): Buffer {
  const b = Buffer.alloc(sizes.timeval!);
  if (sizes.tv_sec === 8) hostWriteBigInt(b, BigInt(sec), 0);
  else writeHostInt(b, sec, 0);
  if (sizes.tv_usec === 8) hostWriteBigInt(b, BigInt(usec), sizes.tv_usec_offset!);
  else writeHostInt(b, usec, sizes.tv_usec_offset!);
  return b;
}

const LE = endianness() === 'LE';
function hostBigInt(b: Buffer, off: number): bigint {
  return LE ? b.readBigInt64LE(off) : b.readBigInt64BE(off);
}
function hostWriteBigInt(b: Buffer, v: bigint, off: number): void {
  if (LE) b.writeBigInt64LE(v, off);
  else b.writeBigInt64BE(v, off);
}

/** Milliseconds a timeval stands for, rounded up (a non-zero timeout never becomes 0). */
function timevalMs(t: { sec: number; usec: number }): number {
  return t.sec * 1000 + Math.ceil(t.usec / 1000);
}

/**
 * Sets an option from `sopt` (setsockopt(2)). Where Linux is lax and the
 * BSDs refuse, the BSD error comes first: negative SO_SNDBUF/SO_RCVBUF →
 * EINVAL; SO_LINGER time outside 0..65535 → EDOM; a timeval out of range →
 * EDOM. Mirrors are kept: so_options bits, so_linger, sb_timeo.
 * @see sosetopt(9)
 */
export function sosetopt(so: Socket, sopt: Sockopt): number {
  if (!(so instanceof Socket)) throw new TypeError('sosetopt: so must be a Socket');
  checkSopt(sopt, 'sosetopt');
  if (so.so_state & SS_NOFDREF) return EBADF;
  const data = sopt.sopt_data;
  const size = data === null ? 0 : sopt.sopt_size;
  sopt.sopt_dir = SOPT_SET;
  let timeoDir: 'rcv' | 'snd' | null = null;
  let timeoMs = 0;
  if (sopt.sopt_level === SOL_SOCKET) {
    const n = sopt.sopt_name;
    if (n === constants.SO_SNDBUF || n === constants.SO_RCVBUF || n === constants.SO_SNDBUFFORCE || n === constants.SO_RCVBUFFORCE) {
      if (size < INT_SIZE) return EINVAL;
      if (readHostInt(data!) < 0) return EINVAL;
    } else if (n === constants.SO_LINGER) {
      if (size < 8) return EINVAL;
      const l = readHostInt(data!, 4);
      if (l < 0 || l > 65535) return EDOM;
    } else if (n === constants.SO_RCVTIMEO || n === constants.SO_SNDTIMEO) {
      const t = data === null ? null : readTimeval(data.subarray(0, size));
      if (t === null) return EINVAL;
      if (t.sec < 0 || t.usec < 0 || t.usec >= 1_000_000) return EDOM;
      timeoDir = n === constants.SO_RCVTIMEO ? 'rcv' : 'snd';
      timeoMs = timevalMs(t);
    }
  }
  const r = native.setsockopt(so._h, sopt.sopt_level, sopt.sopt_name, data, size);
  if (r < 0) return -r;
  if (sopt.sopt_level === SOL_SOCKET) {
    const n = sopt.sopt_name;
    const bit = BOOLEAN_BITS.get(n);
    if (bit !== undefined && size >= INT_SIZE) {
      if (readHostInt(data!) !== 0) so.so_options |= bit;
      else so.so_options &= ~bit;
    } else if (n === constants.SO_LINGER) {
      const on = readHostInt(data!, 0) !== 0;
      so.so_linger = readHostInt(data!, 4);
      if (on) so.so_options |= SO_OPTIONS.SO_LINGER;
      else so.so_options &= ~SO_OPTIONS.SO_LINGER;
    } else if (timeoDir === 'rcv') {
      so.so_rcv.sb_timeo = timeoMs;
    } else if (timeoDir === 'snd') {
      so.so_snd.sb_timeo = timeoMs;
    }
  } else if (sopt.sopt_level === constants.SOL_LOCAL && sopt.sopt_name === constants.LOCAL_CREDS && size >= INT_SIZE) {
    // FreeBSD sends struct sockcred under SCM_CREDS while this is set (see takeControl in core/rights.ts).
    so._wantcred = readHostInt(data!) !== 0;
  }
  return 0;
}

/**
 * Gets an option into `sopt` (getsockopt(2)). An unset Sockopt takes the
 * size the kernel returns; a sized one receives at most `sopt_size` bytes,
 * and `sopt_retsize` says how many the kernel had. SO_ERROR returns and
 * clears the pending error (the mirrored `so_error` first, then the host's).
 * @see sogetopt(9)
 */
export function sogetopt(so: Socket, sopt: Sockopt): number {
  if (!(so instanceof Socket)) throw new TypeError('sogetopt: so must be a Socket');
  checkSopt(sopt, 'sogetopt');
  if (so.so_state & SS_NOFDREF) return EBADF;
  sopt.sopt_dir = SOPT_GET;
  if (sopt.sopt_level === SOL_SOCKET && sopt.sopt_name === constants.SO_ERROR) {
    const host = takeHostError(so);
    const e = so.so_error || host;
    so.so_error = 0;
    if (sopt.sopt_data === null || sopt.sopt_size === 0) {
      sopt.sopt_data = sopt._alloc(INT_SIZE);
      sopt.sopt_size = INT_SIZE;
    }
    const b = Buffer.alloc(INT_SIZE);
    writeHostInt(b, e);
    b.copy(sopt.sopt_data, 0, 0, Math.min(INT_SIZE, sopt.sopt_size));
    sopt.sopt_retsize = INT_SIZE;
    return 0;
  }
  if (sopt.sopt_data === null || sopt.sopt_size === 0) {
    // Unset: learn the size from the kernel, then keep exactly that much.
    const tmp = Buffer.alloc(1024);
    const r = native.getsockopt(so._h, sopt.sopt_level, sopt.sopt_name, tmp);
    if (r < 0) return -r;
    const n = Math.min(r, tmp.length);
    sopt.sopt_data = sopt._alloc(n);
    tmp.copy(sopt.sopt_data, 0, 0, n);
    sopt.sopt_size = n;
    sopt.sopt_retsize = r;
    return 0;
  }
  const r = native.getsockopt(so._h, sopt.sopt_level, sopt.sopt_name, sopt.sopt_data.subarray(0, sopt.sopt_size));
  if (r < 0) return -r;
  sopt.sopt_retsize = r;
  if (r >= sopt.sopt_size && !(sopt.sopt_level === SOL_SOCKET && sopt.sopt_name === constants.SO_PEERPIDFD)) {
    // Linux reports the truncated length; ask once more to learn the full one
    // (never for SO_PEERPIDFD: each get makes a new descriptor).
    const full = native.getsockopt(so._h, sopt.sopt_level, sopt.sopt_name, Buffer.alloc(1024));
    if (full > r) sopt.sopt_retsize = full;
  }
  return 0;
}
