// Received descriptors through the native report (native/held.h): messages
// whose items are all descriptor items are made in JavaScript from
// native.rights, any other message natively; both kinds in one recvmsg or
// one recvmmsg, the report running out of room, and the descriptors-only
// send that lib/core/rights.ts encodes itself. Every descriptor is checked
// for what it is (fstat) and for being closed or kept as its owner says.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { k, mk } from './helpers';
import { openFds } from './setup/fd-guard';

const SCM_RIGHTS = k.constants.SCM_RIGHTS!;
const SO_PASSCRED = k.constants.SO_PASSCRED;
const rights = (fds: number[]): k.Cmsg[] => [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds }];

function dgramPair(): [k.Socket, k.Socket] {
  return k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM) as [k.Socket, k.Socket];
}

/** The inode of a descriptor: received descriptors are new numbers for the same file. */
const ino = (fd: number): number => fstatSync(fd).ino;

async function until(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !cond(); i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

describe('received descriptor items', () => {
  it('a descriptors-only message comes back as RightsCmsg items made from the report, in order, unclaimed until fds is read', () => {
    const [a, b] = dgramPair();
    const f1 = openSync('/dev/null', 'r'), f2 = openSync('/proc/self/stat', 'r');
    const baseline = openFds().length;
    expect(a.trySendmsg({ data: Buffer.from('x'), control: rights([f1, f2, f1]) })).toBe(1);
    const m = b.tryRecvmsg({ control: true })!;
    expect(m.control.length).toBe(1);
    const item = m.control[0] as k.RightsCmsg;
    expect(item).toBeInstanceOf(k.RightsCmsg);
    expect(item.name).toBe('SCM_RIGHTS');
    expect(item.claimed).toBe(false);
    expect(openFds().length).toBe(baseline + 3);
    expect(item.data.length).toBe(12); // rebuilt from the numbers, claims nothing
    expect(item.claimed).toBe(false);
    const got = item.fds;
    expect(item.claimed).toBe(true);
    expect(got.map(ino)).toEqual([ino(f1), ino(f2), ino(f1)]);
    expect(item.close()).toBe(0); // claimed: the caller's now
    got.forEach((fd) => closeSync(fd));
    expect(openFds().length).toBe(baseline);
    closeSync(f1); closeSync(f2);
    a.close(); b.close();
  });

  it.runIf(SO_PASSCRED !== undefined)('a message with descriptors and credentials is made natively: both items, the descriptors owned the same way (SO_PASSCRED: Linux)', () => {
    const [a, b] = dgramPair();
    b.setsockopt('SOL_SOCKET', 'SO_PASSCRED', true);
    const f = openSync('/dev/null', 'r');
    const baseline = openFds().length;
    expect(a.trySendmsg({ data: Buffer.from('x'), control: rights([f, f]) })).toBe(1);
    expect(a.trySendmsg({ data: Buffer.from('y'), control: rights([f]) })).toBe(1);
    const m1 = b.tryRecvmsg({ control: true })!;
    const names = m1.control.map((c) => c.name).sort();
    expect(names).toEqual(['SCM_CREDENTIALS', 'SCM_RIGHTS']);
    const cred = m1.control.find((c) => c.name === 'SCM_CREDENTIALS') as k.Cmsg;
    expect(cred.pid).toBe(process.pid);
    const item = m1.control.find((c) => c.name === 'SCM_RIGHTS') as k.RightsCmsg;
    expect(item).toBeInstanceOf(k.RightsCmsg);
    expect(item.claimed).toBe(false);
    expect(openFds().length).toBe(baseline + 2);
    expect(item.close()).toBe(2); // unclaimed: closed at once
    expect(item.close()).toBe(0);
    expect(openFds().length).toBe(baseline);
    const m2 = b.tryRecvmsg({ control: true })!;
    const item2 = m2.control.find((c) => c.name === 'SCM_RIGHTS') as k.RightsCmsg;
    const [g] = item2.fds;
    expect(ino(g!)).toBe(ino(f));
    closeSync(g!);
    expect(openFds().length).toBe(baseline);
    closeSync(f);
    a.close(); b.close();
  });

  it.runIf(SO_PASSCRED !== undefined)('one recvmmsg of messages with credentials (made natively): each list its own, in order (SO_PASSCRED: Linux)', () => {
    const [a, b] = dgramPair();
    const f = openSync('/dev/null', 'r');
    const baseline = openFds().length;
    // Linux adds SCM_CREDENTIALS to every message while the receiver has SO_PASSCRED.
    b.setsockopt('SOL_SOCKET', 'SO_PASSCRED', true);
    for (let i = 0; i < 6; i++) expect(a.trySendmsg({ data: Buffer.from(`m${i}`), control: i === 4 ? null : rights([f]) })).toBe(2);
    const batch = new k.RecvBatch(8, 8, false, 256);
    expect(b.tryRecvmmsg(batch)).toBe(6);
    const kinds = Array.from({ length: 6 }, (_, i) => batch.control(i).map((c) => c.name).sort().join('+'));
    const both = 'SCM_CREDENTIALS+SCM_RIGHTS';
    expect(kinds).toEqual([both, both, both, both, 'SCM_CREDENTIALS', both]);
    expect(openFds().length).toBe(baseline + 5);
    for (let i = 0; i < 6; i++) {
      expect(batch.data(i).toString()).toBe(`m${i}`);
      for (const c of batch.control(i)) {
        if (!(c instanceof k.RightsCmsg)) continue;
        if (i % 2 === 0) {
          const [g] = c.fds;
          expect(ino(g!)).toBe(ino(f));
          closeSync(g!);
        } else {
          expect(c.close()).toBe(1);
        }
      }
    }
    expect(openFds().length).toBe(baseline);
    closeSync(f);
    a.close(); b.close();
  });

  it('a recvmmsg whose descriptors overflow the report: the later messages are made natively, every descriptor owned once', () => {
    // 60 messages of 253 descriptors: the report (16384 ints) holds about 58
    // of them; the rest come back made natively.
    const [a, b] = dgramPair();
    a.setsockopt('SOL_SOCKET', 'SO_SNDBUF', 8 << 20);
    b.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 8 << 20);
    const f = openSync('/dev/null', 'r');
    const fds = new Array<number>(253).fill(f);
    const baseline = openFds().length;
    const N = 60;
    let sent = 0;
    for (let i = 0; i < N; i++) if (a.trySendmsg({ data: Buffer.from([i]), control: rights(fds) }) === 1) sent++;
    expect(sent).toBe(N);
    const batch = new k.RecvBatch(N, 4, false, k.CMSG_SPACE(253 * 4));
    expect(b.tryRecvmmsg(batch)).toBe(N);
    expect(openFds().length).toBe(baseline + N * 253);
    let total = 0;
    for (let i = 0; i < N; i++) {
      const items = batch.control(i);
      expect(items.length).toBe(1);
      const item = items[0] as k.RightsCmsg;
      expect(item).toBeInstanceOf(k.RightsCmsg);
      expect(item.claimed).toBe(false);
      if (i === 0 || i === N - 1) {
        const got = item.fds;
        expect(got.length).toBe(253);
        expect(ino(got[252]!)).toBe(ino(f));
        got.forEach((g) => closeSync(g));
        total += got.length;
      } else total += item.close();
    }
    expect(total).toBe(N * 253);
    expect(openFds().length).toBe(baseline);
    closeSync(f);
    a.close(); b.close();
  });

  it('batch items dropped unclaimed are closed by the collector; claimed ones never are', async () => {
    const [a, b] = dgramPair();
    const f = openSync('/dev/null', 'r');
    const baseline = openFds().length;
    for (let i = 0; i < 4; i++) expect(a.trySendmsg({ data: Buffer.from('x'), control: rights([f]) })).toBe(1);
    let kept = -1;
    ((): void => {
      const batch = new k.RecvBatch(4, 4, false, k.CMSG_SPACE(4));
      expect(b.tryRecvmmsg(batch)).toBe(4);
      kept = (batch.control(2)[0] as k.RightsCmsg).fds[0]!;
    })();
    expect(openFds().length).toBe(baseline + 4);
    expect(await until(() => openFds().length <= baseline + 1)).toBe(true);
    expect(openFds().length).toBe(baseline + 1);
    expect(ino(kept)).toBe(ino(f)); // the claimed one is still open, and still that file
    closeSync(kept);
    closeSync(f);
    a.close(); b.close();
  });
});

describe('sending descriptors', () => {
  it('a plain SCM_RIGHTS list (encoded in JavaScript) and the same list through getters (encoded natively) send the same descriptors', () => {
    const so = dgramPair();
    const [a, b] = so;
    const f1 = openSync('/dev/null', 'r'), f2 = openSync('/proc/self/stat', 'r');
    const viaGetters = [{ get level() { return k.SOL_SOCKET; }, get type() { return SCM_RIGHTS; }, get fds() { return [f2, f1]; } }];
    for (const control of [rights([f2, f1]), viaGetters, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: [f2, f1], data: Buffer.alloc(4) }]]) {
      expect(a.trySendmsg({ data: Buffer.from('x'), control })).toBe(1);
      const got = (b.tryRecvmsg({ control: true })!.control[0] as k.RightsCmsg).fds;
      expect(got.map(ino)).toEqual([ino(f2), ino(f1)]);
      got.forEach((g) => closeSync(g));
    }
    closeSync(f1); closeSync(f2);
    a.close(); b.close();
  });

  it('the limits are the native encoder\'s: 253 descriptors pass, 254 and bad numbers throw before anything is sent', () => {
    const [a, b] = dgramPair();
    const f = openSync('/dev/null', 'r');
    expect(a.trySendmsg({ data: Buffer.from('x'), control: rights(new Array(253).fill(f)) })).toBe(1);
    const item = b.tryRecvmsg({ control: true })!.control[0] as k.RightsCmsg;
    expect(item.close()).toBe(253);
    expect(() => a.trySendmsg({ data: Buffer.from('x'), control: rights(new Array(254).fill(f)) })).toThrow(RangeError);
    for (const bad of [-1, 1.5, 2 ** 31, NaN]) {
      expect(() => a.trySendmsg({ data: Buffer.from('x'), control: rights([f, bad]) }), String(bad)).toThrow(RangeError);
    }
    expect(() => a.trySendmsg({ data: Buffer.from('x'), control: rights([f, '3' as unknown as number]) })).toThrow(TypeError);
    expect(b.tryRecvmsg()).toBe(null); // nothing was sent
    closeSync(f);
    a.close(); b.close();
  });

  it('the kernel face sends the JavaScript-encoded list, also when the send sleeps and retries', async () => {
    const a = mk(k.AF_UNIX, k.SOCK_DGRAM), b = mk(k.AF_UNIX, k.SOCK_DGRAM);
    expect(k.soconnect2(a, b)).toBe(0);
    const f = openSync('/dev/null', 'r');
    // Fill the peer's queue so that the next sosend sleeps; another send of
    // other descriptors in between must not change what the sleeper sends.
    const fill = new k.Uio(Buffer.alloc(1), k.UIO_WRITE);
    let queued = 0;
    while (queued < 100000 && k.sosend(a, null, fill.rewind(), null, null, k.MSG_DONTWAIT) === 0) queued++;
    const sleeper = k.sosend(a, null, new k.Uio(Buffer.from('S'), k.UIO_WRITE), null, rights([f]), 0) as Promise<number>;
    const other = openSync('/proc/self/stat', 'r');
    expect(k.sosend(a, null, new k.Uio(Buffer.from('O'), k.UIO_WRITE), null, rights([other]), k.MSG_DONTWAIT)).toBe(k.EWOULDBLOCK);
    const uio = new k.Uio(Buffer.alloc(1));
    const controlp: k.ControlHolder = { value: null, space: 64 };
    let found = false;
    for (let i = 0; i < queued + 1 && !found; i++) {
      const flagsp = { value: 0 };
      expect(await k.soreceive(b, null, uio.rewind(), null, controlp, flagsp)).toBe(0);
      if (uio.uio_iov[0]![0] === 'S'.charCodeAt(0)) {
        const [g] = (controlp.value![0] as k.RightsCmsg).fds;
        expect(ino(g!)).toBe(ino(f));
        closeSync(g!);
        found = true;
      }
    }
    expect(found).toBe(true);
    expect(await sleeper).toBe(0);
    closeSync(f); closeSync(other);
    k.soclose(a); k.soclose(b);
  });
});
