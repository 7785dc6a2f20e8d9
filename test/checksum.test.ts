// internetChecksum (RFC 1071): the RFC's own vectors, and packets the kernel
// itself checksummed. The kernel drops an ICMP echo request whose checksum is
// wrong, so a reply proves our sum right (odd lengths included), and the sum
// over the kernel's reply, checksum field included, must come out 0.
import { describe, expect, it } from 'vitest';
import { k, mk } from './helpers';

const { internetChecksum } = k;
const c = k.constants;

describe('internetChecksum: RFC 1071 vectors', () => {
  it('the RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d', () => {
    const b = Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(internetChecksum(b)).toBe(0x220d);
    // Byte-order independence (RFC 1071 1.B): the byte-swapped words give the byte-swapped sum.
    const swapped = Buffer.from([0x01, 0x00, 0x03, 0xf2, 0xf5, 0xf4, 0xf7, 0xf6]);
    expect(internetChecksum(swapped)).toBe(0x0d22);
  });

  it('data carrying its own checksum sums to 0; empty data and all-zero data give 0xffff', () => {
    const b = Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0x22, 0x0d]);
    expect(internetChecksum(b)).toBe(0);
    expect(internetChecksum(Buffer.alloc(0))).toBe(0xffff);
    expect(internetChecksum(Buffer.alloc(7))).toBe(0xffff);
    expect(internetChecksum(Buffer.alloc(4, 0xff))).toBe(0); // -0 in ones' complement
  });

  it('an odd length is padded with a zero byte; carries wrap around', () => {
    expect(internetChecksum(Buffer.from([0x12, 0x34, 0x56]))).toBe(internetChecksum(Buffer.from([0x12, 0x34, 0x56, 0x00])));
    expect(internetChecksum(Buffer.from([0xab]))).toBe(~0xab00 & 0xffff);
    // 0xffff + 0x0001 = 0x1_0000 -> 0x0001 after the end-around carry.
    expect(internetChecksum(Buffer.from([0xff, 0xff, 0x00, 0x01]))).toBe(0xfffe);
    // Many large words (131072 of them, 131072 = 2 mod 0xffff): the carry is folded as it goes, never lost.
    expect(internetChecksum(Buffer.alloc(65536 * 4, 0xfe))).toBe(internetChecksum(Buffer.alloc(4, 0xfe)));
  });

  it('initial continues a partial sum (a pseudo-header, then the segment)', () => {
    const a = Buffer.from('7f0000017f00000100110010', 'hex'), b = Buffer.from('hello, checksum!');
    expect(internetChecksum(b, ~internetChecksum(a) & 0xffff)).toBe(internetChecksum(Buffer.concat([a, b])));
    expect(internetChecksum(Buffer.alloc(0), 0x1234)).toBe(~0x1234 & 0xffff);
  });

  it('takes a Uint8Array; anything else, or an initial out of range, throws before summing', () => {
    expect(internetChecksum(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(0x220d);
    expect(() => internetChecksum('abc' as never)).toThrow(TypeError);
    expect(() => internetChecksum(Buffer.alloc(2), 0x10000)).toThrow(RangeError);
    expect(() => internetChecksum(Buffer.alloc(2), -1)).toThrow(RangeError);
    expect(() => internetChecksum(Buffer.alloc(2), 1.5)).toThrow(RangeError);
  });
});

/** Sends an ICMP echo request with our checksum over `payload`; resolves the kernel's reply. */
async function echo(so: k.Socket, raw: boolean, id: number, payload: Buffer): Promise<{ ip: Buffer | null; icmp: Buffer }> {
  const req = Buffer.concat([Buffer.alloc(8), payload]);
  req[0] = 8; // ICMP_ECHO
  req.writeUInt16BE(id, 4);
  req.writeUInt16BE(payload.length, 6); // the sequence number: one per request
  req.writeUInt16BE(internetChecksum(req), 2);
  expect(await k.sosend(so, { family: k.AF_INET, address: '127.0.0.1', port: 0 }, null, req, null, 0)).toBe(0);
  // A raw socket also sees other ICMP on loopback, our own request included: a bounded search for our reply.
  for (let i = 0; i < 50; i++) {
    const uio = new k.Uio(Buffer.alloc(2048));
    const e = await k.soreceive(so, null, uio, null, null, null);
    if (e !== 0) throw new Error(`soreceive: ${k.errnoName(e)} (no echo reply: was our checksum wrong?)`);
    const pkt = uio.uio_iov[0]!.subarray(0, uio.moved);
    const ip = raw ? pkt.subarray(0, (pkt[0]! & 0x0f) * 4) : null;
    const icmp = raw ? pkt.subarray(ip!.length) : pkt;
    if (icmp[0] === 0 && icmp.readUInt16BE(6) === payload.length && (!raw || icmp.readUInt16BE(4) === id)) return { ip, icmp };
  }
  throw new Error('no echo reply among 50 packets');
}

function icmpSocket(type: number): k.Socket | null {
  const aso: k.Holder<k.Socket | null> = { value: null };
  if (k.socreate(k.AF_INET, aso, type, c.IPPROTO_ICMP) !== 0) return null;
  aso.value!.setsockopt('SOL_SOCKET', 'SO_RCVTIMEO', 2000);
  return aso.value;
}

describe('internetChecksum against the kernel', () => {
  it.runIf(k.features.raw_sockets)('raw ICMP (needs CAP_NET_RAW): the kernel answers our requests, odd lengths too, and its reply and IP header sum to 0', async () => {
    const so = icmpSocket(k.SOCK_RAW)!;
    try {
      const id = (process.pid ^ 0x5a5a) & 0xffff;
      for (const payload of [Buffer.alloc(0), Buffer.from('k'), Buffer.from('ksock'), Buffer.from('checksum over an even run'), Buffer.alloc(1001, 0xff)]) {
        const { ip, icmp } = await echo(so, true, id, payload);
        expect(icmp.subarray(8).equals(payload)).toBe(true);
        expect(icmp.readUInt16BE(2)).not.toBe(0);      // the kernel wrote a checksum, and over the whole message it sums to 0
        expect(internetChecksum(icmp)).toBe(0);
        expect(internetChecksum(ip!)).toBe(0);         // the IPv4 header checksum, the kernel's too
      }
    } finally {
      k.soclose(so);
    }
  });

  // Where the host's ping_group_range admits this process's group, the kernel
  // also fills in the request's identifier and checksum itself.
  const dgram = icmpSocket(k.SOCK_DGRAM);
  if (dgram) k.soclose(dgram);
  it.runIf(dgram !== null)('ICMP datagram socket (needs ping_group_range to admit our group): the kernel reply sums to 0', async () => {
    const so = icmpSocket(k.SOCK_DGRAM)!;
    try {
      for (const payload of [Buffer.from('k'), Buffer.from('ksock!')]) {
        const { icmp } = await echo(so, false, 0, payload);
        expect(internetChecksum(icmp)).toBe(0);
      }
    } finally {
      k.soclose(so);
    }
  });
});
