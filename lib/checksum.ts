// The Internet checksum (RFC 1071), for the headers a raw socket builds
// itself: ICMP echo requests, IPv4 headers under IP_HDRINCL, UDP and TCP over
// a pseudo-header.

/**
 * The Internet checksum of `buf` (RFC 1071): the ones' complement of the
 * ones' complement sum of its 16-bit big-endian words, an odd last byte
 * padded with a zero byte.
 *
 * Write the result big-endian into the checksum field (zeroed first) of the
 * header it covers. Over data that already carries its correct checksum — a
 * packet as the kernel delivered it — the result is 0.
 *
 * `initial` carries a partial sum: pass the ones' complement of a previous
 * result (`~internetChecksum(a) & 0xffff`) to continue over a second buffer,
 * e.g. a UDP or TCP pseudo-header then the segment. Only the first buffer of
 * such a chain may have an odd length.
 *
 * @param buf the bytes covered by the checksum
 * @param initial a 16-bit partial sum to start from (default 0)
 * @returns the 16-bit checksum, 0..0xffff
 * @example
 * const echo = Buffer.alloc(16); echo[0] = 8;            // ICMP echo request, checksum field zero
 * echo.writeUInt16BE(internetChecksum(echo), 2);
 * @see RFC 1071, "Computing the Internet Checksum"
 */
export function internetChecksum(buf: Buffer | Uint8Array, initial = 0): number {
  if (!(buf instanceof Uint8Array)) throw new TypeError('internetChecksum: buf must be a Buffer or Uint8Array');
  if (!Number.isInteger(initial) || initial < 0 || initial > 0xffff) {
    throw new RangeError('internetChecksum: initial must be an integer 0..0xffff');
  }
  let sum = initial;
  const even = buf.length & ~1;
  for (let i = 0; i < even; i += 2) {
    sum += (buf[i]! << 8) | buf[i + 1]!;
    if (sum > 0xffff) sum = (sum & 0xffff) + 1; // end-around carry, as we go: sum never exceeds 2 * 0xffff
  }
  if (buf.length & 1) {
    sum += buf[even]! << 8;
    if (sum > 0xffff) sum = (sum & 0xffff) + 1;
  }
  return ~sum & 0xffff;
}
