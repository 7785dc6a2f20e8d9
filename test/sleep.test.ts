// Sleeping: a kernel "sleep" awaits readiness on the event loop and never
// blocks it; SO_RCVTIMEO bounds a sleep; close wakes sleepers with EBADF.
import { describe, expect, it } from 'vitest';
import { k, mk, bound, local, sleepMs } from './helpers';

describe('sleeping soreceive', () => {
  it('lets a timer fire while it sleeps, and is woken by data', async () => {
    const a = bound(k.AF_INET, k.SOCK_DGRAM);
    const b = bound(k.AF_INET, k.SOCK_DGRAM);
    const order: string[] = [];
    const uio = new k.Uio(Buffer.alloc(32));
    const p = (k.soreceive(b, null, uio, null, null, null) as Promise<number>).then((r) => {
      order.push('received');
      return r;
    });
    expect(b.so_rcv.sleepers).toBe(1);
    await new Promise<void>((r) => setTimeout(() => {
      order.push('timer');
      r();
    }, 30));
    expect(order).toEqual(['timer']);
    k.sosend(a, local(b), null, Buffer.from('wake'), null, 0);
    expect(await p).toBe(0);
    expect(order).toEqual(['timer', 'received']);
    expect(uio.uio_iov[0]!.subarray(0, uio.moved).toString()).toBe('wake');
    expect(b.so_rcv.sleepers).toBe(0);
    k.soclose(a);
    k.soclose(b);
  });

  it('SO_RCVTIMEO bounds a sleep: EWOULDBLOCK after about the timeout', async () => {
    const b = bound(k.AF_INET, k.SOCK_DGRAM);
    const sopt = new k.Sockopt();
    k.sockopt_init(sopt, k.SOL_SOCKET, k.constants.SO_RCVTIMEO!, k.timeval(0, 0).length);
    expect(k.sockopt_set(sopt, k.timeval(0, 150_000), sopt.sopt_size)).toBe(0);
    expect(k.sosetopt(b, sopt)).toBe(0);
    expect(b.so_rcv.sb_timeo).toBe(150);
    const t0 = Date.now();
    expect(await k.soreceive(b, null, new k.Uio(Buffer.alloc(8)), null, null, null)).toBe(k.EWOULDBLOCK);
    const dt = Date.now() - t0;
    expect(dt).toBeGreaterThanOrEqual(140);
    expect(dt).toBeLessThan(2000);
    // The kernel reports the same timeout back.
    const got = new k.Sockopt();
    k.sockopt_init(got, k.SOL_SOCKET, k.constants.SO_RCVTIMEO!, k.timeval(0, 0).length);
    expect(k.sogetopt(b, got)).toBe(0);
    // The kernel keeps it in its own ticks (Linux HZ=250: 152 ms).
    const tv = k.readTimeval(got.sopt_data!)!;
    expect(tv.sec).toBe(0);
    expect(Math.abs(tv.usec - 150_000)).toBeLessThanOrEqual(10_000);
    k.soclose(b);
  });

  it('soclose while a soreceive sleeps wakes it with EBADF', async () => {
    const b = bound(k.AF_INET, k.SOCK_DGRAM);
    const p = k.soreceive(b, null, new k.Uio(Buffer.alloc(8)), null, null, null);
    await sleepMs(10);
    expect(k.soclose(b)).toBe(0);
    await expect(p).resolves.toBe(k.EBADF);
    expect(b.so_state & k.SS_NOFDREF).toBe(k.SS_NOFDREF);
    expect(b.fd).toBe(-1);
  });

  it('soclose wakes a sleeping soaccept and a sleeping sosend with EBADF', async () => {
    const l = bound(k.AF_INET, k.SOCK_STREAM);
    k.solisten(l, 1);
    const acc = k.soaccept(l, { value: null });
    const a = mk(k.AF_UNIX, k.SOCK_STREAM), b = mk(k.AF_UNIX, k.SOCK_STREAM);
    k.soconnect2(a, b);
    const send = k.sosend(a, null, new k.Uio(Buffer.alloc(16 * 1024 * 1024), k.UIO_WRITE), null, null, 0);
    await sleepMs(10);
    k.soclose(l);
    k.soclose(a);
    await expect(acc).resolves.toBe(k.EBADF);
    await expect(send).resolves.toBe(k.EBADF);
    k.soclose(b);
  });

  it('sleepers on one socket are served in FIFO order', async () => {
    const a = bound(k.AF_INET, k.SOCK_DGRAM);
    const b = bound(k.AF_INET, k.SOCK_DGRAM);
    const got: string[] = [];
    const ps = [0, 1, 2].map((i) => {
      const uio = new k.Uio(Buffer.alloc(8));
      return (k.soreceive(b, null, uio, null, null, null) as Promise<number>).then(() => {
        got.push(`${i}:${uio.uio_iov[0]!.subarray(0, uio.moved)}`);
      });
    });
    expect(b.so_rcv.sleepers).toBe(3);
    for (const m of ['x', 'y', 'z']) k.sosend(a, local(b), null, Buffer.from(m), null, 0);
    await Promise.all(ps);
    expect(got).toEqual(['0:x', '1:y', '2:z']);
    k.soclose(a);
    k.soclose(b);
  });

  it('a sleeping sosend completes once the peer drains', async () => {
    const a = mk(k.AF_UNIX, k.SOCK_STREAM), b = mk(k.AF_UNIX, k.SOCK_STREAM);
    k.soconnect2(a, b);
    const total = 4 * 1024 * 1024;
    const uio = new k.Uio(Buffer.alloc(total, 9), k.UIO_WRITE);
    const send = k.sosend(a, null, uio, null, null, 0) as Promise<number>;
    const into = new k.Uio(Buffer.alloc(total));
    expect(await k.soreceive(b, null, into, null, null, { value: k.MSG_WAITALL })).toBe(0);
    expect(await send).toBe(0);
    expect(uio.uio_resid).toBe(0);
    expect(into.uio_resid).toBe(0);
    expect(into.uio_iov[0]!.every((x) => x === 9)).toBe(true);
    k.soclose(a);
    k.soclose(b);
  });
});

describe('tsleep / wakeup', () => {
  it('tsleep times out with EWOULDBLOCK; wakeup resolves every sleeper with 0', async () => {
    const chan = {};
    const t0 = Date.now();
    expect(await k.tsleep(chan, 'test', 50)).toBe(k.EWOULDBLOCK);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    const p1 = k.tsleep(chan, 'one', 0), p2 = k.tsleep(chan, 'two', 5000);
    k.wakeup(chan);
    expect(await Promise.all([p1, p2])).toEqual([0, 0]);
    const p3 = k.tsleep(chan, 'three', 5000), p4 = k.tsleep(chan, 'four', 200);
    k.wakeup_one(chan);
    expect(await p3).toBe(0);
    expect(await p4).toBe(k.EWOULDBLOCK);
  });

  it('shutdown wakes so_timeo and makes a sleeping soreceive return EOF', async () => {
    const a = mk(k.AF_UNIX, k.SOCK_STREAM), b = mk(k.AF_UNIX, k.SOCK_STREAM);
    k.soconnect2(a, b);
    const uio = new k.Uio(Buffer.alloc(8));
    const p = k.soreceive(b, null, uio, null, null, null);
    const woke = k.tsleep(b.so_timeo, 'shut', 2000);
    await sleepMs(5);
    expect(k.soshutdown(b, k.SHUT_RD)).toBe(0);
    expect(await woke).toBe(0);
    expect(await p).toBe(0);
    expect(uio.moved).toBe(0);
    expect(b.so_state & k.SS_CANTRCVMORE).toBeTruthy();
    expect(k.soshutdown(b, 7)).toBe(k.EINVAL);
    k.soclose(a);
    k.soclose(b);
  });
});
