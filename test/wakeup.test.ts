// The receive paths of the speed work (issue #12), as a user sees them:
// 'message' reads natively on each wakeup, a message's source address is
// decoded only when read, and a receive that keeps finding nothing sleeps
// without trying first — and still gets what is queued, in order, on time.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hasPython, k, python, sleepMs } from './helpers';
import { native } from '../lib/native';
import { RawFrom } from '../lib/core/ops';

const { Socket, AF_INET, AF_UNIX, SOCK_DGRAM, SOCK_STREAM } = k;
const lo = { family: AF_INET, address: '127.0.0.1', port: 0 };

function udp(): k.Socket {
  return Socket.create(AF_INET, SOCK_DGRAM).bind(lo);
}

/** Resolves once `n` 'message' events arrived (bounded by `ms`). */
function messages(so: k.Socket, n: number, ms = 5000): Promise<[Buffer, k.Msg][]> {
  return new Promise((resolve, reject) => {
    const got: [Buffer, k.Msg][] = [];
    const t = setTimeout(() => {
      so.off('message', on);
      reject(new Error(`only ${got.length} of ${n} messages`));
    }, ms);
    const on = (data: Buffer, msg: k.Msg): void => {
      got.push([data, msg]);
      if (got.length === n) {
        clearTimeout(t);
        so.off('message', on);
        resolve(got);
      }
    };
    so.on('message', on);
  });
}

describe("'message': datagrams read natively on each wakeup", () => {
  it.runIf(hasPython)('a burst from a CPython sender arrives whole and in order, several messages per wakeup', async () => {
    const rx = udp();
    rx.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 1 << 20);
    const port = rx.address().port;
    // The burst is queued before anyone listens, so the first wakeups find many datagrams each.
    const py = python(`
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
for i in range(200):
    s.sendto(b'm%03d' % i, ('127.0.0.1', int(sys.argv[1])))
print(s.getsockname()[1])
`, [String(port)]);
    const senderPort = Number((await py.done).trim());
    let wakeups = 0;
    const countWakeups = (): void => {
      wakeups++;
    };
    rx.on('readable', countWakeups);
    const got = await messages(rx, 200);
    rx.off('readable', countWakeups);
    expect(got.map(([d]) => d.toString())).toEqual(Array.from({ length: 200 }, (_, i) => `m${String(i).padStart(3, '0')}`));
    for (const [data, msg] of got) {
      expect(msg.data).toBe(data);
      expect(msg.bytes).toBe(4);
      expect(msg.flags).toBe(0);
      expect(msg.control).toEqual([]);
    }
    expect(got[0]![1].from).toEqual({ family: AF_INET, address: '127.0.0.1', port: senderPort });
    expect(got[199]![1].from).toEqual({ family: AF_INET, address: '127.0.0.1', port: senderPort });
    // At most 64 per wakeup, and a queued burst needs far fewer wakeups than messages.
    expect(wakeups).toBeGreaterThanOrEqual(Math.ceil(200 / 64));
    expect(wakeups).toBeLessThan(200);
    await rx.close();
  });

  it('a later read never overwrites an earlier message; large ones get a Buffer of their own', async () => {
    const [a, b] = k.socketpair(AF_UNIX, SOCK_DGRAM);
    a.setsockopt('SOL_SOCKET', 'SO_SNDBUF', 1 << 20);
    b.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 1 << 20);
    const sizes = [5, 4095, 4096, 9000, 1, 0, 70];
    const sent = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    for (const d of sent) expect(a.trySendmsg(d)).toBe(d.length);
    const got = await messages(b, sizes.length);
    // Everything is read first, then compared: nothing shared was reused meanwhile.
    for (let i = 0; i < 20; i++) a.trySendmsg(Buffer.alloc(100, 0xee));
    await messages(b, 20);
    expect(got.map(([d]) => d.length)).toEqual(sizes);
    got.forEach(([d], i) => expect(d.equals(sent[i]!)).toBe(true));
    expect(got[3]![0].byteOffset).toBe(0); // 9000 bytes: a Buffer of its own
    expect(got[3]![0].buffer.byteLength).toBe(9000);
    // Small ones read by one wakeup share one (after a sleep a wakeup reads one message, then the rest together).
    const small = [0, 1, 4, 5, 6].map((i) => got[i]![0].buffer);
    expect(new Set(small).size).toBeLessThan(small.length);
    await Promise.all([a.close(), b.close()]);
  });

  it('a datagram larger than 64 KiB arrives cut to 65536 bytes, with MSG_TRUNC', async () => {
    const [a, b] = k.socketpair(AF_UNIX, SOCK_DGRAM);
    a.setsockopt('SOL_SOCKET', 'SO_SNDBUF', 1 << 20);
    b.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 1 << 20);
    const big = Buffer.alloc(70000, 7);
    expect(a.trySendmsg(big)).toBe(70000);
    const [[data, msg]] = await messages(b, 1);
    expect(data.length).toBe(65536);
    expect(data.equals(big.subarray(0, 65536))).toBe(true);
    expect(msg.flags & k.MSG_TRUNC).toBeTruthy();
    await Promise.all([a.close(), b.close()]);
  });

  it('an empty datagram is a message; on a stream the end of data stops reading without spinning', async () => {
    const [a, b] = k.socketpair(AF_UNIX, SOCK_DGRAM);
    const p = messages(b, 2);
    a.trySendmsg(Buffer.alloc(0));
    a.trySendmsg(Buffer.from('after'));
    const got = await p;
    expect(got.map(([d]) => d.toString())).toEqual(['', 'after']);
    await Promise.all([a.close(), b.close()]);

    const [c, d] = k.socketpair(AF_UNIX, SOCK_STREAM);
    const q = messages(d, 1);
    c.trySendmsg(Buffer.from('bytes'));
    expect((await q)[0][0].toString()).toBe('bytes');
    const seen: string[] = [];
    d.on('message', (data: Buffer) => seen.push(data.toString()));
    await c.close();
    // The peer is gone: the socket stays readable (EOF) for ever, and a reader
    // that kept being woken would burn a CPU. Measure this process's CPU time.
    await sleepMs(50);
    const before = process.cpuUsage();
    await sleepMs(300);
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).toBeLessThan(150);
    expect(seen).toEqual([]);
    await d.close();
  });

  it('removing the last listener stops reading: what arrives later stays queued for recvmsg', async () => {
    const rx = udp();
    const tx = udp();
    const p = messages(rx, 1);
    await tx.sendmsg({ data: Buffer.from('one'), to: rx.address() });
    await p; // messages() removed its listener
    await tx.sendmsg({ data: Buffer.from('two'), to: rx.address() });
    await sleepMs(30);
    const m = await rx.recvmsg({ timeout: 2000 });
    expect(m.data.toString()).toBe('two');
    await Promise.all([rx.close(), tx.close()]);
  });

  it('a socket closed from inside a listener emits nothing more and leaves nothing open', async () => {
    const rx = udp();
    const tx = udp();
    for (let i = 0; i < 5; i++) tx.trySendmsg({ data: Buffer.from(`x${i}`), to: rx.address() });
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      rx.on('message', (data: Buffer) => {
        seen.push(data.toString());
        void rx.close().then(resolve);
      });
    });
    expect(seen).toEqual(['x0']);
    await tx.close();
  });

  it("a reader's receive error goes to 'error' (ECONNREFUSED from an ICMP port unreachable)", async () => {
    const gone = udp();
    const dead = gone.address();
    await gone.close();
    const s = udp();
    await s.connect(dead);
    const err = new Promise<unknown>((resolve) => s.once('error', resolve));
    s.on('message', () => {});
    await s.sendmsg(Buffer.from('anyone?'));
    expect(await err).toMatchObject({ name: 'SocketError', code: 'ECONNREFUSED', syscall: 'recvmsg' });
    await s.close();
  });
});

describe('the raw reader, given hostile arrays (no crash, no leak)', () => {
  const SS = native.sizes.sockaddr_storage!;
  for (const [what, act] of [
    ['stops the reader', (so: k.Socket) => native.readerStop(so._h)],
    ['starts another reader', (so: k.Socket) => native.readerStart(so._h, 16, 2, [], new Int32Array(8), null, Buffer.alloc(2 * 4096))],
    ['closes the socket', (so: k.Socket) => void so.close()],
    ['throws', () => {
      throw new Error('setter');
    }],
  ] as const) {
    it(`an element setter that ${what} while a wakeup's messages are stored`, async () => {
      const [a, b] = k.socketpair(AF_UNIX, SOCK_DGRAM);
      const buffers: unknown[] = [];
      let calls = 0;
      // Index 0 receives the first message, a large one: a Buffer of its own.
      Object.defineProperty(buffers, 0, {
        set() {
          calls++;
          act(b);
        },
        configurable: true,
      });
      native.readerStart(b._h, 8192, 4, buffers as Buffer[], new Int32Array(16), Buffer.alloc(4 * SS), Buffer.alloc(4 * 4096));
      a.trySendmsg(Buffer.alloc(5000, 0x6d));
      for (let i = 1; i < 4; i++) a.trySendmsg(Buffer.from(`m${i}`));
      const done = new Promise<void>((resolve) => {
        b.once('readable', () => resolve());
        b.once('close', () => resolve());
      });
      b.on('readable', () => {}); // arms the watcher: the wakeup runs the reader first
      await Promise.race([done, sleepMs(2000)]);
      expect(calls).toBe(1);
      b.removeAllListeners('readable');
      if (!b.closed) native.readerStop(b._h);
      await Promise.all([a.close(), b.close()]);
    });
  }
});

describe('the reader, when a setter receives elsewhere while a wakeup stores its messages', () => {
  it("small messages read before are intact (the setter's own receive cannot overwrite them)", async () => {
    const [a, b] = k.socketpair(AF_UNIX, SOCK_DGRAM);
    const [c, d] = k.socketpair(AF_UNIX, SOCK_DGRAM);
    a.setsockopt('SOL_SOCKET', 'SO_SNDBUF', 1 << 20);
    b.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 1 << 20);
    const buffers: unknown[] = [];
    let other = '';
    let big: Buffer | undefined;
    // Whichever slot the large message lands in (a wakeup after a sleep reads one message, the next the rest).
    let at = -1;
    for (let i = 0; i < 4; i++) {
      Object.defineProperty(buffers, i, {
        set(v: Buffer) {
          big = v;
          at = i;
          other = d.tryRecvmsg({ size: 65536 })?.data.toString() ?? '';
        },
        configurable: true,
      });
    }
    const meta = new Int32Array(16);
    const arena = Buffer.alloc(4 * 4096);
    native.readerStart(b._h, 65536, 4, buffers as Buffer[], meta, null, arena);
    a.trySendmsg(Buffer.from('small zero'));
    a.trySendmsg(Buffer.from('small one'));
    a.trySendmsg(Buffer.alloc(5000, 0x61));
    a.trySendmsg(Buffer.from('small three'));
    c.trySendmsg(Buffer.alloc(30000, 0x7a));
    const texts: string[] = [];
    b.on('readable', () => {
      // The wakeup that read the large message: the small ones around it wait in the arena.
      if (at >= 0 && texts.length === 0) {
        for (let i = 0; i < 4; i++) if (meta[12 + i]! >= 0 && i !== at) texts.push(arena.subarray(meta[12 + i]!, meta[12 + i]! + Math.max(meta[i]!, 0)).toString());
      }
    });
    for (let i = 0; i < 100 && texts.length === 0; i++) await sleepMs(10);
    b.removeAllListeners('readable');
    native.readerStop(b._h);
    try {
      expect(big?.length).toBe(5000);
      expect(big!.every((x) => x === 0x61)).toBe(true);
      expect(other.length).toBe(30000);
      expect(texts.filter((t) => t !== '')).toEqual(['small one', 'small three']);
    } finally {
      await Promise.all([a.close(), b.close(), c.close(), d.close()]);
    }
  });
});

describe('a received message', () => {
  it('decodes its source only when read, and prints, serializes and spreads like a plain object', async () => {
    const rx = udp();
    const tx = udp();
    await tx.sendmsg({ data: Buffer.from('hi'), to: rx.address() });
    const m = await rx.recvmsg({ size: 16 });
    const expected = { family: AF_INET, address: '127.0.0.1', port: tx.address().port };
    expect(m.from).toEqual(expected);
    expect(m.from).toBe(m.from); // decoded once
    expect(JSON.parse(JSON.stringify(m))).toEqual({ data: { type: 'Buffer', data: [104, 105] }, bytes: 2, from: expected, control: [], flags: 0 });
    expect(inspect(m)).toBe(inspect({ data: Buffer.from('hi'), bytes: 2, from: expected, control: [], flags: 0 }));
    expect(m).toMatchObject({ bytes: 2, from: expected, flags: 0 });
    m.from = null;
    expect(m.from).toBeNull();
    // A stream message has no source.
    const [a, b] = k.socketpair(AF_UNIX, SOCK_STREAM);
    a.trySendmsg(Buffer.from('s'));
    const sm = await b.recvmsg({ size: 4 });
    expect(sm.from).toBeNull();
    await Promise.all([rx.close(), tx.close(), a.close(), b.close()]);
  });
});

describe('an answer to msg.from', () => {
  it('an IPv4 source decoded in JavaScript equals what the addon decodes, field for field and in order', () => {
    let seed = 7;
    const next = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 500; i++) {
      const addr = { family: AF_INET, address: [next(256), next(256), next(256), next(256)].join('.'), port: next(65536) };
      const raw = native.sockaddr(addr);
      const r = new RawFrom(Buffer.from(raw));
      r.len = raw.length;
      const mine = r.decode();
      expect(JSON.stringify(mine)).toBe(JSON.stringify(native.decodeSockaddr(raw, raw.length)));
      expect(mine).toEqual(addr);
    }
  });

  it('reaches the sender; a changed or copied address object reaches where it now says (IPv4 and IPv6)', async () => {
    for (const [family, address] of [[AF_INET, '127.0.0.1'], [k.AF_INET6, '::1']] as const) {
      const at = { family, address, port: 0 };
      const server = Socket.create(family, SOCK_DGRAM).bind(at);
      const a = Socket.create(family, SOCK_DGRAM).bind(at);
      const b = Socket.create(family, SOCK_DGRAM).bind(at);
      await a.sendmsg({ data: Buffer.from('ping'), to: server.address() });
      const m = await server.recvmsg({ size: 16, timeout: 2000 });
      await server.sendmsg({ data: Buffer.from('to a'), to: m.from });
      expect((await a.recvmsg({ size: 16, timeout: 2000 })).data.toString()).toBe('to a');
      // The same object, its port changed: it now names b.
      const from = m.from!;
      from.port = b.address().port;
      expect(server.trySendmsg({ data: Buffer.from('to b'), to: from })).toBe(4);
      expect((await b.recvmsg({ size: 16, timeout: 2000 })).data.toString()).toBe('to b');
      // A copy, and the kernel face's sosend, with the original port again.
      from.port = a.address().port;
      expect(k.sosend(server, { ...from }, new k.Uio(Buffer.from('copy'), k.UIO_WRITE), null, null, k.MSG_DONTWAIT)).toBe(0);
      expect((await a.recvmsg({ size: 16, timeout: 2000 })).data.toString()).toBe('copy');
      await Promise.all([server.close(), a.close(), b.close()]);
    }
  });
});

describe('receives that keep finding nothing', () => {
  it('a request/response exchange stays correct once receives stop trying first (1000 round trips)', async () => {
    const [a, b] = k.socketpair(AF_UNIX, SOCK_DGRAM);
    const echo = (async () => {
      for (let i = 0; i < 1000; i++) {
        const m = await b.recvmsg({ size: 16, timeout: 5000 });
        await b.sendmsg(m.data);
      }
    })();
    for (let i = 0; i < 1000; i++) {
      await a.sendmsg(Buffer.from(String(i)));
      const m = await a.recvmsg({ size: 16, timeout: 5000 });
      expect(m.data.toString()).toBe(String(i));
    }
    await echo;
    // Then a burst queued all at once is still received whole and in order.
    for (let i = 0; i < 100; i++) b.trySendmsg(Buffer.from(`b${i}`));
    const got: string[] = [];
    for (let i = 0; i < 100; i++) got.push((await a.recvmsg({ size: 16, timeout: 2000 })).data.toString());
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => `b${i}`));
    await Promise.all([a.close(), b.close()]);
  });

  it('data queued while a short timeout runs is received, not a timeout (the kernel face too)', async () => {
    const [a, b] = k.socketpair(AF_UNIX, SOCK_DGRAM);
    // Teach the socket that receives find nothing first …
    for (let i = 0; i < 4; i++) {
      setTimeout(() => a.trySendmsg(Buffer.from('late')), 5);
      expect((await b.recvmsg({ size: 8, timeout: 2000 })).data.toString()).toBe('late');
    }
    // … then queue a datagram and block the loop past the timeout right after asking.
    a.trySendmsg(Buffer.from('queued'));
    const p = b.recvmsg({ size: 8, timeout: 1 });
    const until = Date.now() + 20;
    while (Date.now() < until) { /* busy: the 1 ms timer expires before the poll phase */ }
    expect((await p).data.toString()).toBe('queued');
    const uio = new k.Uio(Buffer.alloc(8));
    a.trySendmsg(Buffer.from('kern'));
    expect(await k.soreceive(b, null, uio, null, null, null)).toBe(0);
    expect(uio.uio_iov[0]!.subarray(0, uio.moved).toString()).toBe('kern');
    await Promise.all([a.close(), b.close()]);
  });
});

// With both ends on one CPU the reply is queued while the client is still in
// sendmsg (the peer runs at once), so libuv's first, non-waiting poll finds it
// and the loop is never seen to sleep. A reader that then read on until EAGAIN
// made one read per round trip that found nothing.
const tool = (cmd: string, args: string[]): boolean => {
  try {
    return spawnSync(cmd, args, { stdio: 'ignore', timeout: 5000 }).status === 0;
  } catch {
    return false;
  }
};
const hasStrace = tool('strace', ['-V']);
const hasTaskset = tool('taskset', ['-c', '0', 'true']);
const dist = join(__dirname, '..', 'dist', 'index.js');

describe.runIf(hasPython && hasStrace && hasTaskset)("'message' round trips with the peer on the same CPU (strace counts the reads; needs python3, strace, taskset)", () => {
  it('almost no read finds the queue empty (2000 round trips with a CPython echo server)', async () => {
    const N = 2000;
    const echo = spawn('taskset', ['-c', '0', 'python3', '-c', `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
s.settimeout(20)
print(s.getsockname()[1], flush=True)
while True:
    d, a = s.recvfrom(2048)
    if not d:
        break
    s.sendto(d, a)
`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const closed = new Promise((r) => echo.on('close', r));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('the echo server did not start')), 5000);
        echo.stdout!.once('data', (d) => { clearTimeout(t); resolve(Number(String(d).trim())); });
      });
      const dir = mkdtempSync(join(tmpdir(), 'ksock-strace-'));
      const out = join(dir, 'counts');
      const script = `
        const k = require(${JSON.stringify(dist)});
        const so = k.Socket.create(k.AF_INET, k.SOCK_DGRAM).bind({ family: k.AF_INET, address: '127.0.0.1', port: 0 });
        so.connect({ family: k.AF_INET, address: '127.0.0.1', port: ${port} }).then(() => {
          let i = 0;
          const msg = Buffer.from('ping');
          const t = setTimeout(() => { console.log('timeout at ' + i); process.exit(1); }, 15000);
          so.on('message', (data) => {
            if (data.toString() !== 'ping') { console.log('bad ' + data); process.exit(1); }
            if (++i === ${N}) { clearTimeout(t); so.trySendmsg(Buffer.alloc(0)); so.close(); console.log(i); return; }
            so.trySendmsg(msg);
          });
          so.trySendmsg(msg);
        });`;
      const r = spawnSync('taskset', ['-c', '0', 'strace', '-f', '-c', '-e', 'trace=recvmsg', '-o', out, process.execPath, '-e', script],
        { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(String(N));
      // strace -c: "% time  seconds  usecs/call  calls  errors  syscall"
      const line = readFileSync(out, 'utf8').split('\n').find((l) => /\srecvmsg$/.test(l));
      rmSync(dir, { recursive: true, force: true });
      expect(line, 'strace saw no recvmsg').toBeDefined();
      const cols = line!.trim().split(/\s+/);
      const calls = Number(cols[3]), errors = cols.length === 6 ? Number(cols[4]) : 0;
      expect(calls - errors).toBe(N); // every reply read once
      expect(errors).toBeLessThan(N / 4); // about one in 16 wakeups looks for a second message
    } finally {
      echo.kill('SIGKILL');
      await closed;
    }
  });
});
