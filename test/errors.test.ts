// Bad input gets a clear error — never a crash, a hang or a leaked descriptor.
import { describe, expect, it } from 'vitest';
import { k, mk, bound } from './helpers';
import { native } from '../lib/native';

describe('argument errors are TypeError/RangeError, raised before any syscall', () => {
  it('socreate, sobind, soconnect', () => {
    const aso: k.Holder<k.Socket | null> = { value: null };
    expect(() => k.socreate('inet' as never, aso, k.SOCK_DGRAM, 0)).toThrow(TypeError);
    expect(() => k.socreate(k.AF_INET, null as never, k.SOCK_DGRAM, 0)).toThrow(TypeError);
    expect(() => k.socreate(k.AF_INET, aso, 1.5, 0)).toThrow(TypeError);
    expect(aso.value).toBeNull();
    const s = mk(k.AF_INET, k.SOCK_DGRAM);
    expect(() => k.sobind(s, 'localhost' as never)).toThrow(TypeError);
    expect(() => k.sobind({} as never, { family: k.AF_INET, address: '127.0.0.1', port: 0 })).toThrow(TypeError);
    expect(() => k.sobind(s, { family: k.AF_INET, address: 'not an address', port: 0 })).toThrow(/IPv4/);
    expect(() => k.sobind(s, { family: k.AF_INET, address: '127.0.0.1', port: 70000 })).toThrow(RangeError);
    expect(() => k.sobind(s, { family: k.AF_INET, address: '127.0.0.1', port: -1 })).toThrow(RangeError);
    expect(() => k.sobind(s, { family: k.AF_INET6, address: '127.0.0.1', port: 0 })).toThrow(/IPv6/);
    expect(() => k.sobind(s, { family: k.AF_UNIX, path: 'x'.repeat(200) })).toThrow(RangeError);
    expect(() => k.sobind(s, { family: k.AF_UNIX, path: 'a\0b' })).toThrow(/NUL/);
    expect(() => k.sobind(s, Buffer.alloc(1000))).toThrow(RangeError);
    expect(() => k.soconnect(s, { family: k.AF_INET } as never)).toThrow(TypeError);
    // A well-formed address the kernel refuses is an errno, not an exception.
    expect(k.sobind(s, { family: k.AF_INET6, address: '::1', port: 0 })).toBe(k.EAFNOSUPPORT);
    k.soclose(s);
  });

  it('sosend and soreceive', () => {
    const s = bound(k.AF_INET, k.SOCK_DGRAM);
    const to = s._local()!;
    const uio = new k.Uio(Buffer.alloc(4), k.UIO_WRITE);
    expect(() => k.sosend(s, to, uio, Buffer.alloc(1), null, 0)).toThrow(/exactly one/);
    expect(() => k.sosend(s, to, null, null, null, 0)).toThrow(/exactly one/);
    expect(() => k.sosend(s, to, null, 'text' as never, null, 0)).toThrow(TypeError);
    expect(() => k.sosend(s, to, uio, null, null, 'x' as never)).toThrow(TypeError);
    expect(() => k.sosend(s, to, null, Buffer.alloc(1), [{ level: 'x' }] as never, 0)).toThrow(TypeError);
    expect(() => k.sosend(s, to, null, Buffer.alloc(1), [{ level: 1, type: 1, data: 'str' }] as never, 0)).toThrow(TypeError);
    expect(() => k.sosend(s, to, null, Buffer.alloc(1), {} as never, 0)).toThrow(TypeError);
    expect(() => k.soreceive(s, null, null, null, null, null)).toThrow(/uio or mp0/);
    expect(() => k.soreceive(s, null, {} as never, null, null, null)).toThrow(TypeError);
    expect(() => k.soreceive(s, null, new k.Uio(Buffer.alloc(1)), null, null, { value: 'x' } as never)).toThrow(TypeError);
    expect(() => k.soreceive(s, null, new k.Uio(Buffer.alloc(1)), null, { value: null, space: -1 }, { value: k.MSG_DONTWAIT })).toThrow(RangeError);
    expect(() => new k.Uio('abc' as never)).toThrow(TypeError);
    expect(() => new k.Uio([Buffer.alloc(1), 3] as never)).toThrow(TypeError);
    k.soclose(s);
  });

  it('upcalls, tsleep, sockopt', () => {
    const s = mk(k.AF_INET, k.SOCK_DGRAM);
    expect(() => k.soupcall_set(s, 3, () => 0)).toThrow(RangeError);
    expect(() => k.soupcall_set(s, k.SO_RCV, 'fn' as never)).toThrow(TypeError);
    expect(() => k.tsleep(null as never, 'x', 0)).toThrow(TypeError);
    expect(() => k.tsleep({}, 'x', -1)).toThrow(RangeError);
    expect(() => k.sockopt_init({} as never, 1, 1, 4)).toThrow(TypeError);
    expect(() => k.sosetopt(s, {} as never)).toThrow(TypeError);
    k.soclose(s);
  });
});

describe('OS failures are errno returns', () => {
  it('socreate with an unsupported family or type returns the errno and creates nothing', () => {
    const aso: k.Holder<k.Socket | null> = { value: null };
    expect(k.socreate(9999, aso, k.SOCK_DGRAM, 0)).toBe(k.EAFNOSUPPORT);
    expect(k.socreate(k.AF_INET, aso, 9999, 0)).toBe(k.constants.EINVAL);
    expect(aso.value).toBeNull();
  });

  it('binding a port in use says EADDRINUSE; sending without an address says EDESTADDRREQ', () => {
    const a = bound(k.AF_INET, k.SOCK_DGRAM);
    const b = mk(k.AF_INET, k.SOCK_DGRAM);
    expect(k.sobind(b, a._local()!)).toBe(k.constants.EADDRINUSE);
    expect(k.sosend(b, null, null, Buffer.from('x'), null, k.MSG_DONTWAIT)).toBe(k.EDESTADDRREQ);
    k.soclose(a);
    k.soclose(b);
  });

  it('a 70000-byte UDP datagram is EMSGSIZE', () => {
    const a = bound(k.AF_INET, k.SOCK_DGRAM);
    expect(k.sosend(a, a._local(), null, Buffer.alloc(70000), null, k.MSG_DONTWAIT)).toBe(k.EMSGSIZE);
    k.soclose(a);
  });
});

describe('SocketError', () => {
  it('is shaped like a Node system error', () => {
    const e = new k.SocketError(k.constants.ECONNREFUSED!, 'connect', { family: k.AF_INET, address: '127.0.0.1', port: 9 });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({
      name: 'SocketError', code: 'ECONNREFUSED', errno: k.constants.ECONNREFUSED, syscall: 'connect',
      address: '127.0.0.1', port: 9, message: 'connect ECONNREFUSED 127.0.0.1:9',
    });
    expect(new k.SocketError(k.EAGAIN, 'recvmsg').code).toBe('EAGAIN');
    expect(new k.SocketError(k.EBADF, 'bind', { family: k.AF_UNIX, path: '\0abs' }).message).toBe('bind EBADF @abs');
    expect(k.strerror(k.constants.ECONNREFUSED!)).toMatch(/refused/i);
    expect(() => k.check(k.EPIPE, 'sendmsg')).toThrow(k.SocketError);
    expect(() => k.check(0, 'sendmsg')).not.toThrow();
  });
});

describe('the native layer never trusts its arguments', () => {
  // lib/ validates before calling in; these call the addon directly, as a
  // buggy or hostile caller could, and must get an exception or an errno.
  it('recvmmsg refuses slots that do not fit the slab, including a count * slotSize that would wrap', () => {
    const [a, b] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
    a.trySendmsg(Buffer.from('x'));
    const slab = Buffer.alloc(64), lens = new Int32Array(12);
    expect(() => native.recvmmsg(b._h, slab, 2 ** 53, 2, 0, lens)).toThrow(RangeError);
    expect(() => native.recvmmsg(b._h, slab, 2 ** 63, 2, 0, lens)).toThrow();
    expect(() => native.recvmmsg(b._h, slab, 64, 2, 0, lens)).toThrow(RangeError);
    expect(() => native.recvmmsg(b._h, slab, 16, 4, 0, new Int32Array(2))).toThrow(RangeError);
    expect(() => native.recvmmsg(b._h, 'slab' as never, 16, 4, 0, lens)).toThrow(TypeError);
    expect(native.recvmmsg(b._h, slab, 16, 4, 0, lens)).toBe(1);
    expect(lens[0]).toBe(1);
    a.close();
    b.close();
  });

  it('sendmsg / recvmsg with bad offsets, lengths and holders', () => {
    const [a, b] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
    const buf = Buffer.alloc(8);
    expect(() => native.sendmsg(a._h, buf, -1, 8, 0)).toThrow(RangeError);
    expect(() => native.sendmsg(a._h, buf, 0, 8, "0" as never)).toThrow(TypeError);
    expect(() => native.sendmsg(a._h, buf, 0, NaN, 0)).toThrow(RangeError);
    expect(native.sendmsg(a._h, buf, 100, 100, k.MSG_DONTWAIT)).toBe(0); // clamped to the Buffer: an empty datagram
    expect(() => native.recvmsg(b._h, 'x' as never, 0, 8, 0)).toThrow(TypeError);
    expect(() => native.recvmsgAlloc(b._h, 2 ** 40, 0)).toThrow(RangeError);
    expect(() => native.recvmsgAlloc(b._h, 8, 0, null, { value: null }, 2 ** 40)).toThrow(RangeError);
    // A descriptor number, a forged handle or a foreign object is a TypeError: never a syscall on some number.
    expect(() => native.recvmsg(-1 as never, buf, 0, 8, 0)).toThrow(TypeError);
    expect(() => native.close(-1 as never)).toThrow(TypeError);
    expect(() => native.close({ fd: b.fd } as never)).toThrow(TypeError);
    expect(() => native.close({} as never)).toThrow(TypeError);
    expect(() => native.fdOf(b.fd as never)).toThrow(TypeError);
    expect(b.fd).toBeGreaterThanOrEqual(0); // untouched by all of the above
    a.close();
    b.close();
  });
});
