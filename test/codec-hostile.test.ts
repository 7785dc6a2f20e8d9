// Hostile input to the native codecs (control items, addresses, option
// structs), through the public API: getters that throw or detach buffers,
// absurd lengths, DataViews dressed as Buffers, sparse arrays, proxies. Each
// is a TypeError/RangeError (the getter's own exception when one threw) or a
// correct send — never a crash — and no descriptor leaks (the fd guard).
import { closeSync, fstatSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { k, mk } from './helpers';

const SCM_RIGHTS = k.constants.SCM_RIGHTS!;
const MSG = Buffer.from('hostile');

class Boom extends Error {}

function pair(): [k.Socket, k.Socket] {
  const a = mk(k.AF_UNIX, k.SOCK_DGRAM), b = mk(k.AF_UNIX, k.SOCK_DGRAM);
  expect(k.soconnect2(a, b)).toBe(0);
  return [a, b];
}

function send(so: k.Socket, control: unknown): number {
  return k.sosend(so, null, null, MSG, control as k.Cmsg[], k.MSG_DONTWAIT) as number;
}

/** Receives one message; returns every descriptor it carried (claimed: the caller closes them). */
function recvFds(so: k.Socket, flags = 0): { fds: number[]; control: k.Cmsg[] } {
  const controlp: k.ControlHolder = { value: null };
  const uio = new k.Uio(Buffer.alloc(64));
  expect(k.soreceive(so, null, uio, null, controlp, { value: flags | k.MSG_DONTWAIT })).toBe(0);
  const control = controlp.value ?? [];
  const fds: number[] = [];
  for (const c of control) if (Array.isArray((c as { fds?: unknown }).fds)) fds.push(...(c.fds as number[]));
  return { fds, control };
}

/** Nothing is left queued on `so` (a failed send sent nothing). */
function empty(so: k.Socket): void {
  const uio = new k.Uio(Buffer.alloc(64));
  expect(k.soreceive(so, null, uio, null, null, { value: k.MSG_DONTWAIT })).toBe(k.EWOULDBLOCK);
}

const devnull = () => openSync('/dev/null', 'r');
const sameFile = (a: number, b: number) => {
  const x = fstatSync(a), y = fstatSync(b);
  return x.dev === y.dev && x.ino === y.ino;
};

describe('control items: getters', () => {
  it('a throwing getter on the item, level, type, data, fds, an fds element or a typed field propagates as it is', () => {
    const [a, b] = pair();
    const fd = devnull();
    const boom = new Boom('from a getter');
    const throwing = (base: object, key: string) => Object.defineProperty({ ...base }, key, { get() { throw boom; }, enumerable: true });
    const rights = { level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: [fd] };
    const ttl = { level: k.constants.IPPROTO_IP!, type: k.constants.IP_TTL!, ttl: 1 };
    const cases: unknown[] = [
      throwing(rights, 'level'),
      throwing(rights, 'type'),
      throwing(rights, 'fds'),
      throwing({ level: k.SOL_SOCKET, type: SCM_RIGHTS, data: Buffer.alloc(4) }, 'data'),
      throwing(ttl, 'ttl'),
      { level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: Object.defineProperty([fd, fd], 1, { get() { throw boom; } }) },
    ].map((item) => [item]);
    const arr = [rights];
    Object.defineProperty(arr, 0, { get() { throw boom; } });
    cases.push(arr);
    for (const control of cases) expect(() => send(a, control)).toThrow(boom);
    // An exception from a getter is never replaced by a second one, even when
    // the getter already consumed other fields.
    const late = { level: k.SOL_SOCKET, get type() { throw boom; }, get data() { throw new Error('not reached'); } };
    expect(() => send(a, [late])).toThrow(boom);
    empty(b);
    closeSync(fd);
    k.soclose(a);
    k.soclose(b);
  });

  it('a later item\'s getter that detaches an earlier item\'s Buffer: the bytes read first are sent', () => {
    const [a, b] = pair();
    const fd = devnull();
    // 4096 bytes: the Buffer owns its ArrayBuffer (not the pool), so it can be transferred.
    const big = Buffer.alloc(4096);
    big.writeInt32LE(fd, 0);
    let moved: ArrayBuffer | null = null;
    const second = {
      get level() {
        moved = structuredClone(big.buffer, { transfer: [big.buffer] });
        new Uint8Array(moved).fill(0xff); // the old bytes now say descriptor -1
        return k.SOL_SOCKET;
      },
      type: SCM_RIGHTS,
      data: Buffer.alloc(0),
    };
    expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, data: big.subarray(0, 4) }, second])).toBe(0);
    expect(big.buffer.byteLength).toBe(0); // detached
    expect(moved).not.toBeNull();
    const { fds } = recvFds(b);
    expect(fds.length).toBe(1);
    expect(sameFile(fds[0]!, fd)).toBe(true);
    for (const x of [...fds, fd]) closeSync(x);
    k.soclose(a);
    k.soclose(b);
  });

  it('a getter that detaches, then collects, an earlier payload: no stale read', () => {
    const [a, b] = pair();
    const fd = devnull();
    const big = Buffer.alloc(1 << 16);
    big.writeInt32LE(fd, 0);
    const second = {
      get level() {
        structuredClone(big.buffer, { transfer: [big.buffer] }); // dropped at once
        (globalThis as { gc?: () => void }).gc?.();
        return k.SOL_SOCKET;
      },
      type: SCM_RIGHTS,
      data: Buffer.alloc(0),
    };
    expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, data: big.subarray(0, 4) }, second])).toBe(0);
    const { fds } = recvFds(b);
    expect(fds.length).toBe(1);
    expect(sameFile(fds[0]!, fd)).toBe(true);
    for (const x of [...fds, fd]) closeSync(x);
    k.soclose(a);
    k.soclose(b);
  });
});

describe('control items: shapes', () => {
  it('a control array of length 2**32-1 is a RangeError at once', () => {
    const [a, b] = pair();
    const control: unknown[] = [];
    control.length = 2 ** 32 - 1;
    const t0 = Date.now();
    expect(() => send(a, control)).toThrow(RangeError);
    expect(Date.now() - t0).toBeLessThan(1000);
    empty(b);
    k.soclose(a);
    k.soclose(b);
  });

  it('more than 253 descriptors in one send, or 1025 items, is a RangeError', () => {
    const [a, b] = pair();
    const fd = devnull();
    expect(() => send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: new Array(254).fill(fd) }])).toThrow(RangeError);
    const half = { level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: new Array(200).fill(fd) };
    expect(() => send(a, [half, half])).toThrow(RangeError);
    const sparseFds: number[] = [];
    sparseFds.length = 2 ** 32 - 1;
    expect(() => send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: sparseFds }])).toThrow(RangeError);
    const many = new Array(1025).fill({ level: k.SOL_SOCKET, type: SCM_RIGHTS, data: Buffer.alloc(0) });
    expect(() => send(a, many)).toThrow(RangeError);
    empty(b);
    closeSync(fd);
    k.soclose(a);
    k.soclose(b);
  });

  it('a DataView with Buffer.prototype as data is read as bytes (and other views too)', () => {
    const [a, b] = pair();
    const fd = devnull();
    const dv = new DataView(new ArrayBuffer(4));
    dv.setInt32(0, fd, true);
    Object.setPrototypeOf(dv, Buffer.prototype);
    expect(Buffer.isBuffer(dv)).toBe(true);
    const u8 = new Uint8Array(4);
    new DataView(u8.buffer).setInt32(0, fd, true);
    const i32 = new Int32Array([fd]);
    expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, data: dv }, { level: k.SOL_SOCKET, type: SCM_RIGHTS, data: u8 },
      { level: k.SOL_SOCKET, type: SCM_RIGHTS, data: i32 }])).toBe(0);
    const { fds } = recvFds(b);
    expect(fds.length).toBe(3);
    for (const x of fds) expect(sameFile(x, fd)).toBe(true);
    for (const x of [...fds, fd]) closeSync(x);
    k.soclose(a);
    k.soclose(b);
  });

  it('a detached view as data is 0 bytes', () => {
    const [a, b] = pair();
    const big = Buffer.alloc(4096);
    structuredClone(big.buffer, { transfer: [big.buffer] });
    expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, data: big }])).toBe(0);
    const { fds } = recvFds(b);
    expect(fds).toEqual([]);
    k.soclose(a);
    k.soclose(b);
  });

  it('holes in sparse arrays read as undefined: a TypeError', () => {
    const [a, b] = pair();
    const fd = devnull();
    const item = { level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: [fd] };
    // eslint-disable-next-line no-sparse-arrays
    expect(() => send(a, [item, , item])).toThrow(TypeError);
    // eslint-disable-next-line no-sparse-arrays
    expect(() => send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: [fd, , fd] }])).toThrow(TypeError);
    const holes: unknown[] = [];
    holes.length = 3;
    expect(() => send(a, holes)).toThrow(TypeError);
    empty(b);
    closeSync(fd);
    k.soclose(a);
    k.soclose(b);
  });

  it('proxies: a proxied array is a TypeError; a proxied item is read through its traps', () => {
    const [a, b] = pair();
    const fd = devnull();
    const item = { level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: [fd] };
    expect(() => send(a, new Proxy([item], {}))).toThrow(TypeError);
    const boom = new Boom('trap');
    expect(() => send(a, [new Proxy(item, { get() { throw boom; } })])).toThrow(boom);
    expect(() => send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: new Proxy([fd], {}) }])).toThrow(TypeError);
    empty(b);
    expect(send(a, [new Proxy(item, {})])).toBe(0);
    const { fds } = recvFds(b);
    expect(fds.length).toBe(1);
    for (const x of [...fds, fd]) closeSync(x);
    k.soclose(a);
    k.soclose(b);
  });
});

describe('addresses and option structs', () => {
  it('a DataView with Buffer.prototype is a raw sockaddr for sockaddr/decodeSockaddr and sobind', () => {
    const raw = k.sockaddr({ family: k.AF_INET, address: '127.0.0.1', port: 4242 });
    const dv = new DataView(new ArrayBuffer(raw.length));
    new Uint8Array(dv.buffer).set(raw);
    Object.setPrototypeOf(dv, Buffer.prototype);
    expect(k.decodeSockaddr(dv as unknown as Buffer)).toMatchObject({ family: k.AF_INET, address: '127.0.0.1', port: 4242 });
    expect(k.decodeSockaddr(dv as unknown as Buffer, 2)).toMatchObject({ family: k.AF_INET });
    const s = mk(k.AF_INET, k.SOCK_DGRAM);
    const dv0 = new DataView(new ArrayBuffer(raw.length));
    new Uint8Array(dv0.buffer).set(k.sockaddr({ family: k.AF_INET, address: '127.0.0.1', port: 0 }));
    Object.setPrototypeOf(dv0, Buffer.prototype);
    expect(k.sobind(s, dv0 as unknown as Buffer)).toBe(0);
    expect(s._local()).toMatchObject({ family: k.AF_INET, address: '127.0.0.1' });
    k.soclose(s);
    // A detached one is 0 bytes.
    const big = Buffer.alloc(4096);
    structuredClone(big.buffer, { transfer: [big.buffer] });
    expect(k.decodeSockaddr(big)).toEqual({ family: k.AF_UNSPEC });
  });

  it('address getters that throw propagate; a path Buffer detached by a later getter is not read', () => {
    const boom = new Boom('address getter');
    expect(() => k.sockaddr({ family: k.AF_INET, get address(): string { throw boom; }, port: 1 })).toThrow(boom);
    expect(() => k.sockaddr({ family: k.AF_INET, address: '127.0.0.1', get port(): number { throw boom; } })).toThrow(boom);
    expect(() => k.sockaddr({ get family(): number { throw boom; } } as never)).toThrow(boom);
    expect(() => k.sockaddr({ family: k.AF_UNIX, get path(): string { throw boom; } })).toThrow(boom);
    const dv = new DataView(new ArrayBuffer(5));
    new Uint8Array(dv.buffer).set(Buffer.from('/tmpx'));
    Object.setPrototypeOf(dv, Buffer.prototype);
    expect(k.sockaddr({ family: k.AF_UNIX, path: dv as unknown as Buffer })).toEqual(k.sockaddr({ family: k.AF_UNIX, path: '/tmpx' }));
    expect(() => k.sockaddr(new Proxy({ family: k.AF_INET, address: '127.0.0.1' }, { get() { throw boom; } }) as never)).toThrow(boom);
  });

  it('option structs: throwing getters propagate, hostile values are TypeError/RangeError', () => {
    const s = mk(k.AF_INET, k.SOCK_DGRAM);
    const boom = new Boom('option getter');
    expect(() => s.setsockopt('SOL_SOCKET', 'SO_LINGER', { onoff: 1, get linger(): number { throw boom; } } as never)).toThrow(boom);
    expect(() => s.setsockopt('SOL_SOCKET', 'SO_LINGER', { onoff: 1, linger: 2 ** 40 } as never)).toThrow(RangeError);
    expect(() => s.setsockopt('IPPROTO_IP', 'IP_ADD_MEMBERSHIP', { get multiaddr(): string { throw boom; } } as never)).toThrow(boom);
    expect(() => s.setsockopt('IPPROTO_IP', 'IP_ADD_MEMBERSHIP', { multiaddr: 'x'.repeat(10000) } as never)).toThrow(TypeError);
    k.soclose(s);
  });
});

describe('received pidfds (SCM_PIDFD)', () => {
  const c = k.constants;
  it('SO_PASSPIDFD, SO_PEERPIDFD and SCM_PIDFD are exported on Linux', () => {
    if (process.platform !== 'linux') return;
    expect(c.SO_PASSPIDFD).toBe(76);
    expect(c.SO_PEERPIDFD).toBe(77);
    expect(c.SCM_PIDFD).toBe(4);
  });

  it('a received SCM_PIDFD item owns one descriptor, like SCM_RIGHTS; MSG_PEEK disposes of it', () => {
    if (c.SO_PASSPIDFD === undefined || c.SCM_PIDFD === undefined) return;
    const [a, b] = pair();
    const sopt = new k.Sockopt();
    k.sockopt_init(sopt, k.SOL_SOCKET, c.SO_PASSPIDFD, 4);
    k.sockopt_setint(sopt, 1);
    const e = k.sosetopt(b, sopt);
    if (e !== 0) {
      // An older kernel: nothing to check here.
      k.soclose(a);
      k.soclose(b);
      return;
    }
    expect(send(a, [])).toBe(0);
    const peeked = recvFds(b, k.MSG_PEEK);
    expect(peeked.control.some((x) => x.level === k.SOL_SOCKET && x.type === c.SCM_PIDFD)).toBe(false);
    const { fds, control } = recvFds(b);
    const item = control.find((x) => x.level === k.SOL_SOCKET && x.type === c.SCM_PIDFD);
    expect(item).toBeDefined();
    expect(fds.length).toBe(1);
    expect(fds[0]).toBeGreaterThanOrEqual(0);
    for (const x of fds) closeSync(x);
    k.soclose(a);
    k.soclose(b);
  });
});
