// struct uio: a scatter/gather list of Buffers and a residual count.
import { UIO_READ, UIO_WRITE } from '../constants';
import { isBufferList } from './checks';

/**
 * I/O vector for `sosend`/`soreceive`, after struct uio.
 *
 * Data moves at the current position; each transfer advances the position and
 * lowers `uio_resid`, so partial progress is visible exactly as in the
 * kernel. `rewind()` makes a Uio reusable without allocating.
 * @see uio(9)
 */
export class Uio {
  /** The Buffers, in order. */
  uio_iov: Buffer[];
  /** Bytes still to move. */
  uio_resid: number;
  /** File offset; advanced by every transfer (sockets ignore it). */
  uio_offset = 0;
  /** UIO_READ (into the Buffers) or UIO_WRITE (from them). */
  uio_rw: number;
  /** @internal bytes already moved: the position within uio_iov. */
  _done = 0;

  constructor(iov: Buffer | Buffer[], rw: number = UIO_READ) {
    const list = Buffer.isBuffer(iov) ? [iov] : iov;
    if (!isBufferList(list, 'Uio')) {
      throw new TypeError('Uio: iov must be a Buffer or an array of Buffers');
    }
    if (rw !== UIO_READ && rw !== UIO_WRITE) throw new RangeError('Uio: rw must be UIO_READ or UIO_WRITE');
    this.uio_iov = list;
    this.uio_rw = rw;
    this.uio_resid = this.total();
  }

  /** Number of Buffers in the vector. */
  get uio_iovcnt(): number {
    return this.uio_iov.length;
  }

  /** Total capacity of the vector in bytes. */
  total(): number {
    const iov = this.uio_iov;
    if (iov.length === 1) return iov[0]!.length;
    let n = 0;
    for (const b of iov) n += b.length;
    return n;
  }

  /** Bytes moved since construction or the last rewind. */
  get moved(): number {
    return this._done;
  }

  /** Back to the start: position 0 and `uio_resid` = `resid` (default: the whole vector). */
  rewind(resid?: number): this {
    this._done = 0;
    this.uio_resid = resid ?? this.total();
    return this;
  }

  /** @internal records a transfer of n bytes. */
  _advance(n: number): void {
    this._done += n;
    this.uio_resid -= n;
    this.uio_offset += n;
  }

  /** @internal bytes that may move now: min(uio_resid, what is left of the vector). */
  _len(): number {
    const left = this.total() - this._done;
    const r = this.uio_resid;
    return r < left ? (r > 0 ? r : 0) : left > 0 ? left : 0;
  }

  /** @internal the argument the native layer takes: one Buffer or the list. */
  _data(): Buffer | Buffer[] {
    const iov = this.uio_iov;
    return iov.length === 1 ? iov[0]! : iov;
  }
}
