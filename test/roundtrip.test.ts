// Round trips through the kernel face over every basic socket kind.
import { describe, expect, it } from 'vitest';
import { k, mk, bound, local, tcpPair } from './helpers';

async function dgramRoundTrip(dom: number) {
  const a = bound(dom, k.SOCK_DGRAM);
  const b = bound(dom, k.SOCK_DGRAM);
  const msg = Buffer.from('hello over ' + k.familyName(dom));
  expect(await k.sosend(a, local(b), new k.Uio(msg, k.UIO_WRITE), null, null, 0)).toBe(0);
  const paddr: k.Holder<k.SockaddrOut | null> = { value: null };
  const buf = Buffer.alloc(100);
  const uio = new k.Uio(buf);
  const flagsp = { value: 0 };
  expect(await k.soreceive(b, paddr, uio, null, null, flagsp)).toBe(0);
  expect(buf.subarray(0, 100 - uio.uio_resid).toString()).toBe(msg.toString());
  expect(paddr.value).toMatchObject({ family: dom, port: local(a).port });
  expect(flagsp.value & k.MSG_TRUNC).toBe(0);
  expect(k.soclose(a)).toBe(0);
  expect(k.soclose(b)).toBe(0);
}

describe('datagram round trips', () => {
  it('UDP over IPv4', () => dgramRoundTrip(k.AF_INET));
  it.runIf(k.features.ipv6)('UDP over IPv6 (flowinfo and scope id decoded)', async () => {
    await dgramRoundTrip(k.AF_INET6);
    const s = bound(k.AF_INET6, k.SOCK_DGRAM);
    expect(local(s)).toMatchObject({ family: k.AF_INET6, address: '::1', flowinfo: 0, scopeid: 0 });
    k.soclose(s);
  });

  it('reports MSG_TRUNC when the datagram does not fit, and mp0 gets a fresh Buffer', async () => {
    const a = bound(k.AF_INET, k.SOCK_DGRAM);
    const b = bound(k.AF_INET, k.SOCK_DGRAM);
    k.sosend(a, local(b), null, Buffer.from('0123456789'), null, 0);
    k.sosend(a, local(b), null, [Buffer.from('abc'), Buffer.from('def')], null, 0);
    const uio = new k.Uio(Buffer.alloc(4));
    const flagsp = { value: 0 };
    expect(await k.soreceive(b, null, uio, null, null, flagsp)).toBe(0);
    expect(uio.uio_resid).toBe(0);
    expect(uio.uio_iov[0]!.toString()).toBe('0123');
    expect(flagsp.value & k.MSG_TRUNC).toBe(k.MSG_TRUNC);
    const mp0: k.Holder<Buffer | null> = { value: null };
    const f2 = { value: 0 };
    expect(await k.soreceive(b, null, null, mp0, null, f2)).toBe(0);
    expect(mp0.value!.toString()).toBe('abcdef');
    expect(f2.value & k.MSG_TRUNC).toBe(0);
    k.soclose(a);
    k.soclose(b);
  });
});

describe('stream round trips', () => {
  it('TCP: listen, connect, accept, send both ways, EOF', async () => {
    const l = bound(k.AF_INET, k.SOCK_STREAM);
    expect(k.solisten(l, 8)).toBe(0);
    expect(l.so_options & k.SO_OPTIONS.SO_ACCEPTCONN).toBeTruthy();
    const c = mk(k.AF_INET, k.SOCK_STREAM);
    expect(k.soconnect(c, local(l))).toBe(0);
    const aso: k.Holder<k.Socket | null> = { value: null };
    const nam: k.Holder<k.SockaddrOut | null> = { value: null };
    expect(await k.soaccept(l, aso, nam)).toBe(0);
    const s = aso.value!;
    expect(s.so_state & k.SS_ISCONNECTED).toBeTruthy();
    expect(nam.value).toMatchObject({ family: k.AF_INET, address: '127.0.0.1', port: local(c).port });

    const payload = Buffer.alloc(200_000, 7);
    const send = k.sosend(c, null, new k.Uio(payload, k.UIO_WRITE), null, null, 0);
    const into = Buffer.alloc(payload.length);
    const uio = new k.Uio(into);
    const recv = k.soreceive(s, null, uio, null, null, { value: k.MSG_WAITALL });
    expect(await send).toBe(0);
    expect(await recv).toBe(0);
    expect(uio.uio_resid).toBe(0);
    expect(into.equals(payload)).toBe(true);

    expect(await k.sosend(s, null, new k.Uio(Buffer.from('pong'), k.UIO_WRITE), null, null, 0)).toBe(0);
    const back = new k.Uio(Buffer.alloc(10));
    expect(await k.soreceive(c, null, back, null, null, null)).toBe(0);
    expect(back.uio_iov[0]!.subarray(0, back.moved).toString()).toBe('pong');

    expect(k.soshutdown(c, k.SHUT_WR)).toBe(0);
    expect(c.so_state & k.SS_CANTSENDMORE).toBeTruthy();
    const eof = new k.Uio(Buffer.alloc(10));
    expect(await k.soreceive(s, null, eof, null, null, null)).toBe(0);
    expect(eof.moved).toBe(0);
    expect(s.so_state & k.SS_CANTRCVMORE).toBeTruthy();
    expect(k.sosend(c, null, new k.Uio(Buffer.from('x'), k.UIO_WRITE), null, null, k.MSG_DONTWAIT)).toBe(k.EPIPE);
    for (const so of [c, s, l]) expect(k.soclose(so)).toBe(0);
  });

  it('TCP urgent data: MSG_OOB out of band, never sleeping', async () => {
    const { l, c, s } = await tcpPair();
    // Nothing urgent yet: an answer now, not a sleep.
    const none = k.soreceive(s, null, new k.Uio(Buffer.alloc(1)), null, null, { value: k.MSG_OOB });
    expect(typeof none).toBe('number');
    expect(none).not.toBe(0);
    expect(await k.sosend(c, null, null, Buffer.from('ab'), null, 0)).toBe(0);
    expect(await k.sosend(c, null, null, Buffer.from('!'), null, k.MSG_OOB)).toBe(0);
    let r = -1;
    const oob = new k.Uio(Buffer.alloc(1));
    for (let i = 0; i < 100 && r !== 0; i++) {
      r = k.soreceive(s, null, oob.rewind(), null, null, { value: k.MSG_OOB }) as number;
      if (r !== 0) await new Promise((res) => setTimeout(res, 5));
    }
    expect(r).toBe(0);
    expect(oob.uio_iov[0]!.toString()).toBe('!');
    const inband = new k.Uio(Buffer.alloc(8));
    expect(await k.soreceive(s, null, inband, null, null, null)).toBe(0);
    expect(inband.uio_iov[0]!.subarray(0, inband.moved).toString()).toBe('ab');
    for (const so of [c, s, l]) k.soclose(so);
  });

  for (const [name, type] of [['stream', k.SOCK_STREAM], ['datagram', k.SOCK_DGRAM], ['seqpacket', k.SOCK_SEQPACKET]] as const) {
    it(`AF_UNIX ${name} over soconnect2 (a socketpair), scatter/gather`, async () => {
      const a = mk(k.AF_UNIX, type);
      const b = mk(k.AF_UNIX, type);
      const fdA = a.fd, fdB = b.fd;
      expect(k.soconnect2(a, b)).toBe(0);
      expect(a.fd).toBe(fdA);
      expect(b.fd).toBe(fdB);
      expect(a.so_state & k.SS_ISCONNECTED).toBeTruthy();
      const out = new k.Uio([Buffer.from('scatter'), Buffer.from('/'), Buffer.from('gather')], k.UIO_WRITE);
      expect(await k.sosend(a, null, out, null, null, 0)).toBe(0);
      expect(out.uio_resid).toBe(0);
      const b1 = Buffer.alloc(7), b2 = Buffer.alloc(20);
      const uio = new k.Uio([b1, b2]);
      expect(await k.soreceive(b, null, uio, null, null, null)).toBe(0);
      expect(Buffer.concat([b1, b2]).subarray(0, uio.moved).toString()).toBe('scatter/gather');
      expect(k.soclose(a)).toBe(0);
      expect(k.soclose(b)).toBe(0);
    });
  }

  it('AF_UNIX stream on a filesystem path', async () => {
    const path = `/tmp/ksock-test-${process.pid}.sock`;
    const l = mk(k.AF_UNIX, k.SOCK_STREAM);
    expect(k.sobind(l, { family: k.AF_UNIX, path })).toBe(0);
    expect(k.solisten(l, 4)).toBe(0);
    const c = mk(k.AF_UNIX, k.SOCK_STREAM);
    expect(k.soconnect(c, { family: k.AF_UNIX, path })).toBe(0);
    const aso: k.Holder<k.Socket | null> = { value: null };
    expect(await k.soaccept(l, aso)).toBe(0);
    expect(aso.value!._local()).toEqual({ family: k.AF_UNIX, path });
    expect(await k.sosend(c, null, null, Buffer.from('via path'), null, 0)).toBe(0);
    const mp0: k.Holder<Buffer | null> = { value: null };
    const uio = new k.Uio(Buffer.alloc(64));
    expect(await k.soreceive(aso.value!, null, uio, mp0, null, null)).toBe(0);
    expect(mp0.value!.toString()).toBe('via path');
    expect(uio.uio_resid).toBe(64 - 8);
    for (const so of [c, aso.value!, l]) k.soclose(so);
    require('node:fs').unlinkSync(path);
  });
});
