// SCM_RIGHTS: CPython's SCMRightsTest as behaviours, through both the uio and
// the mp0 form of soreceive, plus ownership and an independent peer.
import { closeSync, openSync, readSync, readFileSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { k, mk, python, hasPython } from './helpers';
import { openFds } from './setup/fd-guard';

const MSG = Buffer.from('Michael Gilfix was here\u1234\r\n', 'utf8');
const INT = 4;
const SCM_RIGHTS = k.constants.SCM_RIGHTS!;
const tmp = `/tmp/ksock-fds-${process.pid}`;

/** n temporary files, file i containing String(i) (CPython's newFDs). */
function newFDs(n: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const path = `${tmp}-${i}`;
    writeFileSync(path, String(i));
    const fd = openSync(path, 'r');
    unlinkSync(path);
    return fd;
  });
}

/** Each fd reads back its own index: identity and order (CPython's checkFDs). */
function checkFDs(fds: number[]): void {
  fds.forEach((fd, i) => {
    const b = Buffer.alloc(8);
    const n = readSync(fd, b, 0, 8, 0);
    expect(b.subarray(0, n).toString()).toBe(String(i));
  });
}

function pair(): [k.Socket, k.Socket] {
  const a = mk(k.AF_UNIX, k.SOCK_STREAM), b = mk(k.AF_UNIX, k.SOCK_STREAM);
  expect(k.soconnect2(a, b)).toBe(0);
  return [a, b];
}

interface Got { data: Buffer; control: k.Cmsg[]; flags: number }

type Form = 'uio' | 'mp0';
async function recv(so: k.Socket, form: Form, space: number | undefined, flags = 0, size = MSG.length): Promise<Got> {
  const controlp: k.ControlHolder = { value: null };
  if (space !== undefined) controlp.space = space;
  const flagsp = { value: flags };
  if (form === 'uio') {
    const uio = new k.Uio(Buffer.alloc(size));
    expect(await k.soreceive(so, null, uio, null, controlp, flagsp)).toBe(0);
    return { data: uio.uio_iov[0]!.subarray(0, uio.moved), control: controlp.value ?? [], flags: flagsp.value };
  }
  const mp0: k.Holder<Buffer | null> = { value: null };
  const count = new k.Uio(Buffer.alloc(size));
  expect(await k.soreceive(so, null, count, mp0, controlp, flagsp)).toBe(0);
  expect(count.uio_resid).toBe(size - mp0.value!.length);
  return { data: mp0.value!, control: controlp.value ?? [], flags: flagsp.value };
}

function send(so: k.Socket, control: k.Cmsg[]): number {
  return k.sosend(so, null, null, MSG, control, k.MSG_DONTWAIT) as number;
}

const intBytes = (...v: number[]) => {
  const b = Buffer.alloc(v.length * INT);
  v.forEach((x, i) => b.writeInt32LE(x, i * INT));
  return b;
};

/** CPython's checkRecvmsgFDs: MSG, <= maxcmsgs SCM_RIGHTS items of whole ints, n fds in all, all valid. */
function checkRecvmsgFDs(n: number, got: Got, maxcmsgs = 1, ignoreCtrunc = false): number[] {
  expect(got.data.equals(MSG)).toBe(true);
  if (!ignoreCtrunc) expect(got.flags & k.MSG_CTRUNC).toBe(0);
  expect(got.control.length).toBeLessThanOrEqual(maxcmsgs);
  const fds: number[] = [];
  for (const c of got.control) {
    expect([c.level, c.type]).toEqual([k.SOL_SOCKET, SCM_RIGHTS]);
    expect(c.data!.length % INT).toBe(0);
    fds.push(...c.fds!);
  }
  expect(fds.length).toBe(n);
  checkFDs(fds);
  return fds;
}

const closeAll = (fds: number[]) => fds.forEach((fd) => closeSync(fd));

for (const form of ['uio', 'mp0'] as const) {
  describe(`SCM_RIGHTS (${form} form)`, () => {
    it('passes one descriptor (testFDPassSimple)', async () => {
      const [a, b] = pair();
      const fds = newFDs(1);
      expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, data: intBytes(fds[0]!) }])).toBe(0);
      closeAll(checkRecvmsgFDs(1, await recv(b, form, 10240)));
      closeAll(fds);
      k.soclose(a); k.soclose(b);
    });

    it('passes four in one item, in order (testMultipleFDPass), with exactly CMSG_SPACE(16) of room', async () => {
      const [a, b] = pair();
      const fds = newFDs(4);
      expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds }])).toBe(0);
      closeAll(checkRecvmsgFDs(4, await recv(b, form, 10240)));
      expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds }])).toBe(0);
      closeAll(checkRecvmsgFDs(4, await recv(b, form, k.CMSG_SPACE(4 * INT))));
      closeAll(fds);
      k.soclose(a); k.soclose(b);
    });

    it('fds given in two items travel in one SCM_RIGHTS (all descriptors of one send together)', async () => {
      const [a, b] = pair();
      const fds = newFDs(2);
      expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: [fds[0]!] }, { level: k.SOL_SOCKET, type: SCM_RIGHTS, fds: [fds[1]!] }])).toBe(0);
      closeAll(checkRecvmsgFDs(2, await recv(b, form, 10240), 1));
      closeAll(fds);
      k.soclose(a); k.soclose(b);
    });

    it('two raw SCM_RIGHTS items arrive as two fds (testFDPassSeparate)', async () => {
      const [a, b] = pair();
      const fds = newFDs(2);
      expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, data: intBytes(fds[0]!) }, { level: k.SOL_SOCKET, type: SCM_RIGHTS, data: intBytes(fds[1]!) }])).toBe(0);
      closeAll(checkRecvmsgFDs(2, await recv(b, form, 10240), 2));
      closeAll(fds);
      k.soclose(a); k.soclose(b);
    });

    it('an empty SCM_RIGHTS item gives no descriptor (testFDPassEmpty)', async () => {
      const [a, b] = pair();
      if (send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, data: Buffer.alloc(0) }]) !== 0) expect(send(a, [])).toBe(0);
      checkRecvmsgFDs(0, await recv(b, form, 10240), 1, true);
      k.soclose(a); k.soclose(b);
    });

    it('a 3-byte SCM_RIGHTS payload materialises no descriptor (testFDPassPartialInt)', async () => {
      const [a, b] = pair();
      const fds = newFDs(1);
      const r = send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, data: intBytes(fds[0]!).subarray(0, 3) }]);
      if (r !== 0) expect(send(a, [])).toBe(0);
      const got = await recv(b, form, 10240);
      expect(got.data.equals(MSG)).toBe(true);
      for (const c of got.control) expect(c.fds ?? []).toEqual([]);
      closeAll(fds);
      k.soclose(a); k.soclose(b);
    });

    for (const [name, space, ctrunc] of [
      ['no room at all (testCmsgTrunc0)', 0, false],
      ['1 byte (testCmsgTrunc1)', 1, true],
      ['2 ints (testCmsgTrunc2Int)', 2 * INT, true],
      ['CMSG_LEN(0)-1 (testCmsgTruncLen0Minus1)', k.CMSG_LEN(0) - 1, true],
    ] as const) {
      it(`header truncation, ${name}: no item, the descriptor is not leaked`, async () => {
        const [a, b] = pair();
        const fds = newFDs(1);
        const before = openFds().length;
        expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds }])).toBe(0);
        const got = await recv(b, form, space);
        expect(got.data.equals(MSG)).toBe(true);
        expect(got.control).toEqual([]);
        if (ctrunc) expect(got.flags & k.MSG_CTRUNC).toBe(k.MSG_CTRUNC);
        expect(openFds().length).toBe(before);
        closeAll(fds);
        k.soclose(a); k.soclose(b);
      });
    }

    for (const [name, nsend, space, maxWhole] of [
      ['CMSG_LEN(0) (testCmsgTruncLen0)', 1, k.CMSG_LEN(0), 0],
      ['CMSG_LEN(0)+1 (testCmsgTruncLen0Plus1)', 2, k.CMSG_LEN(0) + 1, 0],
      ['CMSG_LEN(4) (testCmsgTruncLen1)', 2, k.CMSG_LEN(INT), 1],
      ['CMSG_LEN(8)-1 (testCmsgTruncLen2Minus1)', 2, k.CMSG_LEN(2 * INT) - 1, 1],
    ] as const) {
      it(`array truncation, ${name}: MSG_CTRUNC, only the first whole fds, valid`, async () => {
        const [a, b] = pair();
        const fds = newFDs(nsend);
        expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds }])).toBe(0);
        const got = await recv(b, form, space);
        expect(got.data.equals(MSG)).toBe(true);
        expect(got.flags & k.MSG_CTRUNC).toBe(k.MSG_CTRUNC);
        expect(got.control.length).toBeLessThanOrEqual(1);
        const recvd = got.control.flatMap((c) => c.fds ?? []);
        expect(recvd.length).toBeLessThanOrEqual(maxWhole);
        checkFDs(recvd);
        closeAll(recvd);
        closeAll(fds);
        k.soclose(a); k.soclose(b);
      });
    }
  });
}

describe('received descriptors', () => {
  it.runIf(existsSync('/proc/self/fdinfo'))('arrive close-on-exec', async () => {
    const [a, b] = pair();
    const fds = newFDs(2);
    send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds }]);
    const got = await recv(b, 'uio', 1024);
    for (const fd of got.control[0]!.fds!) {
      const flags = parseInt(/flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
      expect(flags & 0o2000000).toBe(0o2000000);
      closeSync(fd);
    }
    closeAll(fds);
    k.soclose(a); k.soclose(b);
  });

  it('4 sent, room for 1: MSG_CTRUNC, one fd, and the descriptor count is back to its baseline once the message is dropped', async () => {
    const [a, b] = pair();
    const fds = newFDs(4);
    const baseline = openFds().length;
    expect(send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds }])).toBe(0);
    // Received and dropped inside a plain function: nothing refers to the message afterwards.
    ((): void => {
      // CMSG_LEN(4): room for exactly one descriptor (CMSG_SPACE(4) has padding for a second on LP64).
      const controlp: k.ControlHolder = { value: null, space: k.CMSG_LEN(INT) };
      const flagsp = { value: k.MSG_DONTWAIT };
      expect(k.soreceive(b, null, new k.Uio(Buffer.alloc(100)), null, controlp, flagsp)).toBe(0);
      expect(flagsp.value & k.MSG_CTRUNC).toBe(k.MSG_CTRUNC);
      expect(controlp.value!.length).toBe(1);
      expect((controlp.value![0] as k.RightsCmsg).claimed).toBe(false);
      expect(controlp.value![0]!.data!.length).toBe(INT);
      expect(openFds().length).toBe(baseline + 1); // the one that fit is held by the message
    })();
    // The message is dropped unclaimed: the collector closes its descriptor.
    for (let i = 0; i < 50 && openFds().length > baseline; i++) {
      globalThis.gc!();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(openFds().length).toBe(baseline);
    closeAll(fds);
    k.soclose(a); k.soclose(b);
  });

  it('close() closes unclaimed descriptors; reading fds claims them', async () => {
    const [a, b] = pair();
    const fds = newFDs(2);
    const baseline = openFds().length;
    send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds }]);
    const got = await recv(b, 'uio', 1024);
    const item = got.control[0] as k.RightsCmsg;
    expect(openFds().length).toBe(baseline + 2);
    expect(item.close()).toBe(2);
    expect(item.close()).toBe(0);
    expect(openFds().length).toBe(baseline);
    send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds }]);
    const got2 = await recv(b, 'uio', 1024);
    const item2 = got2.control[0] as k.RightsCmsg;
    const mine = item2.fds;
    expect(item2.claimed).toBe(true);
    expect(item2.close()).toBe(0); // claimed: the caller owns them now
    checkFDs(mine);
    closeAll(mine);
    closeAll(fds);
    k.soclose(a); k.soclose(b);
  });

  it('MSG_PEEK installs no descriptors (Linux duplicates are closed); the real receive hands them over', async () => {
    const [a, b] = pair();
    const fds = newFDs(3);
    const baseline = openFds().length;
    send(a, [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds }]);
    const peeked = await recv(b, 'uio', 1024, k.MSG_PEEK);
    expect(peeked.data.equals(MSG)).toBe(true);
    expect(peeked.control.filter((c) => c.type === SCM_RIGHTS && c.level === k.SOL_SOCKET)).toEqual([]);
    expect(openFds().length).toBe(baseline);
    closeAll(checkRecvmsgFDs(3, await recv(b, 'mp0', 1024)));
    expect(openFds().length).toBe(baseline);
    closeAll(fds);
    k.soclose(a); k.soclose(b);
  });
});

describe.runIf(hasPython && k.features.unix_abstract)('descriptors with CPython as the peer', () => {
  it('both ways, order kept', async () => {
    const name = `\0ksock-fdpass-${process.pid}`;
    const l = mk(k.AF_UNIX, k.SOCK_STREAM);
    expect(k.sobind(l, { family: k.AF_UNIX, path: name })).toBe(0);
    expect(k.solisten(l, 1)).toBe(0);
    // Python receives our 3 fds, reads each, then sends back 2 pipes' read ends.
    const py = python(`
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(b'\\0' + sys.argv[1].encode())
msg, fds, flags, addr = socket.recv_fds(s, 100, 10)
got = [os.pread(fd, 8, 0).decode() for fd in fds]
pipes = [os.pipe() for _ in range(2)]
for i, (r, w) in enumerate(pipes):
    os.write(w, b'pipe%d' % i)
socket.send_fds(s, [b'back'], [r for r, w in pipes])
print(msg.decode(), ','.join(got), flags)
`, [name.slice(1)]);
    const aso: k.Holder<k.Socket | null> = { value: null };
    expect(await k.soaccept(l, aso)).toBe(0);
    const s = aso.value!;
    const fds = newFDs(3);
    expect(await k.sosend(s, null, null, Buffer.from('fds'), [{ level: k.SOL_SOCKET, type: SCM_RIGHTS, fds }], 0)).toBe(0);
    const got = await recv(s, 'uio', 1024, 0, 4);
    expect(got.data.toString()).toBe('back');
    const back = got.control.flatMap((c) => c.fds ?? []);
    expect(back.length).toBe(2);
    back.forEach((fd, i) => {
      const b = Buffer.alloc(16);
      const n = readSync(fd, b, 0, 16, null);
      expect(b.subarray(0, n).toString()).toBe(`pipe${i}`);
      closeSync(fd);
    });
    expect((await py.done).trim()).toBe('fds 0,1,2 0');
    closeAll(fds);
    k.soclose(s);
    k.soclose(l);
  });
});
