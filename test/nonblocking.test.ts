// MSG_DONTWAIT and SS_NBIO: one synchronous attempt, EWOULDBLOCK (a number,
// never a Promise) instead of sleeping, partial progress visible in uio_resid.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { k, mk, bound } from './helpers';

function pair(type: number): [k.Socket, k.Socket] {
  const a = mk(k.AF_UNIX, type), b = mk(k.AF_UNIX, type);
  expect(k.soconnect2(a, b)).toBe(0);
  return [a, b];
}

describe('MSG_DONTWAIT', () => {
  it('soreceive on an empty socket returns EWOULDBLOCK synchronously', () => {
    const s = bound(k.AF_INET, k.SOCK_DGRAM);
    const r = k.soreceive(s, null, new k.Uio(Buffer.alloc(16)), null, null, { value: k.MSG_DONTWAIT });
    expect(typeof r).toBe('number');
    expect(r).toBe(k.EWOULDBLOCK);
    k.soclose(s);
  });

  it('sosend on a full stream socketpair returns EWOULDBLOCK with uio_resid showing partial progress', () => {
    const [a, b] = pair(k.SOCK_STREAM);
    const big = Buffer.alloc(8 * 1024 * 1024, 1);
    const uio = new k.Uio(big, k.UIO_WRITE);
    const r = k.sosend(a, null, uio, null, null, k.MSG_DONTWAIT);
    expect(typeof r).toBe('number');
    expect(r).toBe(k.EWOULDBLOCK);
    expect(uio.uio_resid).toBeGreaterThan(0);
    expect(uio.uio_resid).toBeLessThan(big.length);
    const sent = big.length - uio.uio_resid;
    // Nothing more fits: a second attempt makes no progress.
    expect(k.sosend(a, null, uio, null, null, k.MSG_DONTWAIT)).toBe(k.EWOULDBLOCK);
    expect(big.length - uio.uio_resid).toBe(sent);
    // What was sent arrives, byte for byte.
    const into = new k.Uio(Buffer.alloc(sent));
    let loops = 0;
    while (into.uio_resid > 0 && loops++ < 10_000) {
      expect(k.soreceive(b, null, into, null, null, { value: k.MSG_DONTWAIT })).toBe(0);
    }
    expect(into.uio_resid).toBe(0);
    expect(k.soreceive(b, null, new k.Uio(Buffer.alloc(1)), null, null, { value: k.MSG_DONTWAIT })).toBe(k.EWOULDBLOCK);
    k.soclose(a);
    k.soclose(b);
  });

  it('sosend of a datagram on a full socketpair returns EWOULDBLOCK and sends nothing', () => {
    const [a, b] = pair(k.SOCK_DGRAM);
    let r = 0, n = 0;
    for (; n < 100_000 && r === 0; n++) {
      r = k.sosend(a, null, new k.Uio(Buffer.alloc(1024), k.UIO_WRITE), null, null, k.MSG_DONTWAIT) as number;
    }
    expect(r).toBe(k.EWOULDBLOCK);
    const uio = new k.Uio(Buffer.alloc(1024), k.UIO_WRITE);
    expect(k.sosend(a, null, uio, null, null, k.MSG_DONTWAIT)).toBe(k.EWOULDBLOCK);
    expect(uio.uio_resid).toBe(1024);
    k.soclose(a);
    k.soclose(b);
  });

  it('a Buffer-chain top that could not all go is trimmed of what was sent', () => {
    const [a, b] = pair(k.SOCK_STREAM);
    const chain = [Buffer.alloc(4 * 1024 * 1024, 2), Buffer.alloc(4 * 1024 * 1024, 3)];
    const r = k.sosend(a, null, null, chain, null, k.MSG_DONTWAIT);
    expect(r).toBe(k.EWOULDBLOCK);
    const left = chain.reduce((n, x) => n + x.length, 0);
    expect(left).toBeLessThan(8 * 1024 * 1024);
    expect(left).toBeGreaterThan(0);
    k.soclose(a);
    k.soclose(b);
  });
});

describe('SS_NBIO', () => {
  it('SOCK_NONBLOCK at socreate sets SS_NBIO: calls never sleep', () => {
    const aso: k.Holder<k.Socket | null> = { value: null };
    expect(k.socreate(k.AF_INET, aso, k.SOCK_DGRAM | k.SOCK_NONBLOCK | k.SOCK_CLOEXEC, 0)).toBe(0);
    const s = aso.value!;
    expect(s.so_type).toBe(k.SOCK_DGRAM);
    expect(s.so_state & k.SS_NBIO).toBe(k.SS_NBIO);
    k.sobind(s, { family: k.AF_INET, address: '127.0.0.1', port: 0 });
    expect(k.soreceive(s, null, new k.Uio(Buffer.alloc(4)), null, null, null)).toBe(k.EWOULDBLOCK);
    const aso2: k.Holder<k.Socket | null> = { value: null };
    const l = bound(k.AF_INET, k.SOCK_STREAM);
    k.solisten(l, 1);
    k.sosetnbio(l, true);
    expect(k.soaccept(l, aso2)).toBe(k.EWOULDBLOCK);
    const other = bound(k.AF_INET, k.SOCK_STREAM);
    k.solisten(other, 1);
    expect(k.soaccept(other, aso2, null, k.MSG_DONTWAIT)).toBe(k.EWOULDBLOCK);
    k.soclose(other);
    k.sosetnbio(s, false);
    expect(s.so_state & k.SS_NBIO).toBe(0);
    const p = k.soreceive(s, null, new k.Uio(Buffer.alloc(4)), null, null, null);
    expect(p).toBeInstanceOf(Promise);
    k.soclose(s);
    k.soclose(l);
    return expect(p).resolves.toBe(k.EBADF);
  });

  it.runIf(existsSync('/proc/self/fdinfo'))('every descriptor is O_NONBLOCK and close-on-exec (as /proc/self/fdinfo shows)', async () => {
    const s = mk(k.AF_INET, k.SOCK_STREAM);
    const [a, b] = pair(k.SOCK_DGRAM);
    const l = bound(k.AF_INET, k.SOCK_STREAM);
    k.solisten(l, 1);
    const c = mk(k.AF_INET, k.SOCK_STREAM);
    k.soconnect(c, l._local()!);
    const aso: k.Holder<k.Socket | null> = { value: null };
    expect(await k.soaccept(l, aso)).toBe(0);
    for (const so of [s, a, b, l, c, aso.value!]) {
      const flags = parseInt(/flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${so.fd}`, 'utf8'))![1]!, 8);
      expect(flags & 0o4000, `fd ${so.fd} O_NONBLOCK`).toBe(0o4000);
      expect(flags & 0o2000000, `fd ${so.fd} O_CLOEXEC`).toBe(0o2000000);
    }
    for (const so of [s, a, b, l, c, aso.value!]) k.soclose(so);
  });
});
