// sendmmsg with a destination and control list per message (issue #12, item 3):
// one call that addresses several receivers (one of them CPython's socket
// module), each message's own SCM_RIGHTS, mixed Buffer and object elements,
// the shared options as defaults that a message overrides, IPv6, the count
// when the send buffer fills part-way, and the async form's lookups and waits.
// Descriptor counts before/after: the fd-guard of this file.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync, unlinkSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { k, hasPython } from './helpers';

const { Socket, AF_INET, AF_INET6, AF_UNIX, SOCK_DGRAM, SOL_SOCKET } = k;
const SCM_RIGHTS = k.constants.SCM_RIGHTS!;
const lo4 = { family: AF_INET, address: '127.0.0.1', port: 0 };
const lo6 = { family: AF_INET6, address: '::1', port: 0 };

const open: k.Socket[] = [];
const fds: number[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const fd of fds.splice(0)) closeSync(fd);
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function udp(addr: k.Sockaddr = lo4): k.Socket {
  const s = Socket.create(addr === lo6 ? AF_INET6 : AF_INET, SOCK_DGRAM).bind(addr);
  open.push(s);
  return s;
}

function unixPair(): [k.Socket, k.Socket] {
  const p = Socket.socketpair(AF_UNIX, SOCK_DGRAM);
  open.push(...p);
  return p;
}

/** Every datagram queued on `s` now (at most 100), as text. */
function drain(s: k.Socket): string[] {
  const got: string[] = [];
  for (let i = 0; i < 100; i++) {
    const m = s.tryRecvmsg();
    if (m === null) break;
    got.push(m.data.toString());
  }
  return got;
}

/** A descriptor of an unlinked temporary file holding `text`; closed after the test. */
let tmpCount = 0;
function fileWith(text: string): number {
  const path = `/tmp/ksock-mmsg-${process.pid}-${tmpCount++}`;
  writeFileSync(path, text);
  const fd = openSync(path, 'r');
  unlinkSync(path);
  fds.push(fd);
  return fd;
}

function readAll(fd: number): string {
  const b = Buffer.alloc(256);
  return b.subarray(0, readSync(fd, b, 0, b.length, 0)).toString();
}

/** A CPython UDP receiver on 127.0.0.1: resolves its port, then the one datagram it got. */
function pythonReceiver(): { port: Promise<number>; got: Promise<string> } {
  const child = spawn('python3', ['-u', '-c', `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0)); s.settimeout(10)
print(s.getsockname()[1], flush=True)
data, addr = s.recvfrom(100)
print(data.decode(), flush=True)
`], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const lines: Array<(l: string) => void> = [];
  const waiters: string[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let nl;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const w = lines.shift();
      if (w) w(line);
      else waiters.push(line);
    }
  });
  const next = (): Promise<string> => new Promise((resolve, reject) => {
    const early = waiters.shift();
    if (early !== undefined) return resolve(early);
    const t = setTimeout(() => reject(new Error('python receiver: no line within 10 s')), 10_000);
    lines.push((l) => { clearTimeout(t); resolve(l); });
  });
  const port = next().then(Number);
  return { port, got: port.then(next) };
}

describe('sendmmsg: one call, a destination per message', () => {
  it('sends each message to its own receiver (ksock receivers and a CPython one), mixing Buffers and message objects', async () => {
    const rx = [udp(), udp(), udp()];
    const tx = udp();
    const py = hasPython ? pythonReceiver() : null;
    const pyPort = py ? await py.port : 0;
    const messages: Array<Buffer | k.MmsgMessage> = [
      { data: Buffer.from('to rx0 by object'), to: rx[0]!.address() },
      { data: Buffer.from('to rx1 by sockaddr()'), to: k.sockaddr(rx[1]!.address()) },
      Buffer.from('to rx2, the shared destination'),
      { data: [Buffer.from('to rx0 '), Buffer.from('gathered')], to: rx[0]!.address() },
      ...(py ? [{ data: Buffer.from('to python'), to: { family: AF_INET, address: '127.0.0.1', port: pyPort } }] : []),
    ];
    expect(tx.trySendmmsg(messages, { to: rx[2]!.address() })).toBe(messages.length);
    expect(drain(rx[0]!)).toEqual(['to rx0 by object', 'to rx0 gathered']);
    expect(drain(rx[1]!)).toEqual(['to rx1 by sockaddr()']);
    expect(drain(rx[2]!)).toEqual(['to rx2, the shared destination']);
    if (py) expect(await py.got).toBe('to python');
  });

  it('the flat form (sockaddr() Buffers, no control of their own) and a batch that stops being flat part-way', async () => {
    const rx = [udp(), udp(), udp(), udp()];
    const tx = udp();
    const to = rx.map((r) => k.sockaddr(r.address()));
    // 64 messages, message i to receiver i % 4: every one flat.
    const flat = Array.from({ length: 64 }, (_, i) => ({ data: Buffer.from(`m${i}`), to: to[i % 4]! }));
    expect(tx.trySendmmsg(flat)).toBe(64);
    for (let r = 0; r < 4; r++) expect(drain(rx[r]!)).toEqual(Array.from({ length: 16 }, (_, j) => `m${j * 4 + r}`));
    // Flat until message 3, whose control list (an empty one) needs the general form; message 4 has a getter.
    let reads = 0;
    const mixed: Array<Buffer | k.MmsgMessage> = [
      { data: Buffer.from('a'), to: to[0]! },
      Buffer.from('b (shared)'),
      { data: Buffer.from('c'), to: to[2]!, control: undefined },
      { data: Buffer.from('d'), to: to[3]!, control: [] },
      { get data() { reads++; return Buffer.from('e'); }, to: rx[0]!.address() },
    ];
    expect(tx.trySendmmsg(mixed, { to: to[1]! })).toBe(5);
    expect(reads).toBe(1);
    expect(drain(rx[0]!)).toEqual(['a', 'e']);
    expect(drain(rx[1]!)).toEqual(['b (shared)']);
    expect(drain(rx[2]!)).toEqual(['c']);
    expect(drain(rx[3]!)).toEqual(['d']);
    // A getter that sends a batch of its own while the outer one is read: both arrive whole.
    const inner = { get data() { tx.trySendmmsg([{ data: Buffer.from('inner'), to: to[1]! }]); return Buffer.from('outer 1'); }, to: to[2]! };
    expect(tx.trySendmmsg([{ data: Buffer.from('outer 0'), to: to[3]! }, inner])).toBe(2);
    expect(drain(rx[1]!)).toEqual(['inner']);
    expect(drain(rx[2]!)).toEqual(['outer 1']);
    expect(drain(rx[3]!)).toEqual(['outer 0']);
  });

  it('the flat form copies small messages as it reads them; large ones, and batches past its room, go as they are', async () => {
    const rx = [udp(), udp()];
    for (const r of rx) r.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 4 << 20);
    const tx = udp();
    const to = rx.map((r) => k.sockaddr(r.address()));
    const recv = (r: k.Socket, n: number): Buffer[] => {
      const got: Buffer[] = [];
      for (let i = 0; i < n + 1; i++) {
        const m = r.tryRecvmsg({ size: 70_000 });
        if (m === null) break;
        got.push(m.data);
      }
      return got;
    };
    const body = (i: number, len: number): Buffer => Buffer.alloc(len, `${i}:`);
    // Sizes on both sides of the copy limit (2048), an empty one, and a 60 KiB one, in one batch.
    const sizes = [0, 1, 2047, 2048, 2049, 60_000, 17, 4096];
    const mixed = sizes.map((len, i) => ({ data: body(i, len), to: to[i % 2]! }));
    expect(tx.trySendmmsg(mixed)).toBe(sizes.length);
    const even = recv(rx[0]!, 4), odd = recv(rx[1]!, 4);
    sizes.forEach((len, i) => expect((i % 2 ? odd : even)[i >> 1]!.equals(body(i, len)), `message ${i}`).toBe(true));
    // 200 messages of 2000 bytes: more than the copy room (256 KiB) holds. All arrive, in order, whole.
    const many = Array.from({ length: 200 }, (_, i) => ({ data: body(i, 2000), to: to[0]! }));
    let sent = 0;
    const got: Buffer[] = [];
    for (let tries = 0; sent < many.length && tries < 50; tries++) {
      const n = tx.trySendmmsg(many.slice(sent));
      if (n !== null) sent += n;
      got.push(...recv(rx[0]!, 200));
    }
    expect(sent).toBe(200);
    expect(got.length).toBe(200);
    got.forEach((g, i) => expect(g.equals(many[i]!.data), `message ${i}`).toBe(true));
    // A small message goes as its data was when it was read: a later getter that changes it changes nothing.
    const first = Buffer.from('as read');
    const late = { get data() { first.write('CHANGED'); return Buffer.from('late'); }, to: to[1]! };
    expect(tx.trySendmmsg([{ data: first, to: to[1]! }, late])).toBe(2);
    expect(recv(rx[1]!, 2).map(String)).toEqual(['as read', 'late']);
  });

  it('a message\'s own `to` overrides options.to; undefined takes it; null sends to the connected peer', async () => {
    const [peer, other, own] = [udp(), udp(), udp()];
    const tx = udp();
    await tx.connect(peer.address());
    const n = tx.trySendmmsg([
      Buffer.from('shared'),
      { data: Buffer.from('own'), to: own.address() },
      { data: Buffer.from('undefined: shared'), to: undefined },
      { data: Buffer.from('null: the peer'), to: null },
    ], { to: other.address() });
    expect(n).toBe(4);
    expect(drain(other)).toEqual(['shared', 'undefined: shared']);
    expect(drain(own)).toEqual(['own']);
    expect(drain(peer)).toEqual(['null: the peer']);
  });

  it('IPv6: address objects and sockaddr() Buffers, and the source each receiver sees', async () => {
    const a = udp(lo6), b = udp(lo6), tx = udp(lo6);
    expect(await tx.sendmmsg([
      { data: Buffer.from('six a'), to: a.address() },
      { data: Buffer.from('six b'), to: k.sockaddr(b.address()) },
      { data: Buffer.from('six a again'), to: { family: AF_INET6, address: '::1', port: a.address().port } },
    ])).toBe(3);
    const m = a.tryRecvmsg()!;
    expect(m.data.toString()).toBe('six a');
    expect(m.from).toMatchObject({ family: AF_INET6, address: '::1', port: tx.address().port });
    expect(drain(a)).toEqual(['six a again']);
    expect(drain(b)).toEqual(['six b']);
  });

  it('a message whose `to` is of another family fails alone: SocketError when it is first, the count before it otherwise', async () => {
    const rx = udp(), tx = udp();
    const wrong = { data: Buffer.from('x'), to: { family: AF_INET6, address: '::1', port: 9 } };
    expect(() => tx.trySendmmsg([wrong])).toThrow(k.SocketError);
    expect(tx.trySendmmsg([{ data: Buffer.from('fine'), to: rx.address() }, wrong, Buffer.from('never')], { to: rx.address() })).toBe(1);
    expect(drain(rx)).toEqual(['fine']);
  });
});

describe('sendmmsg: control items per message', () => {
  it('each message carries its own SCM_RIGHTS: every descriptor received is the one sent with that message', async () => {
    const [a, b] = unixPair();
    const texts = ['file zero', 'file one', 'file two', 'file three'];
    const ends = texts.map(fileWith);
    const sent = a.trySendmmsg(ends.map((fd, i) => ({ data: Buffer.from(`message ${i}`), control: [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [fd] }] })));
    expect(sent).toBe(4);
    for (let i = 0; i < 4; i++) {
      const m = b.tryRecvmsg({ control: true })!;
      expect(m.data.toString()).toBe(`message ${i}`);
      const rights = m.control.filter((c) => c.type === SCM_RIGHTS) as k.RightsCmsg[];
      expect(rights.length).toBe(1);
      const [fd] = rights[0]!.fds;
      fds.push(fd!);
      expect(fstatSync(fd!).ino).toBe(fstatSync(ends[i]!).ino);
      expect(readAll(fd!)).toBe(texts[i]);
    }
    expect(b.tryRecvmsg()).toBeNull();
  });

  it('options.control is the default: a message\'s own list replaces it, null and [] send none', async () => {
    const [a, b] = unixPair();
    const shared = fileWith('shared'), own = fileWith('own');
    const rights = (fd: number): k.Cmsg[] => [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [fd] }];
    expect(a.trySendmmsg([
      Buffer.from('plain'),
      { data: Buffer.from('own list'), control: rights(own) },
      { data: Buffer.from('null') , control: null },
      { data: Buffer.from('empty'), control: [] },
      { data: Buffer.from('undefined') },
    ], { control: rights(shared) })).toBe(5);
    const seen: Array<[string, number | null]> = [];
    for (let i = 0; i < 5; i++) {
      const m = b.tryRecvmsg({ control: true })!;
      const item = m.control.find((c) => c.type === SCM_RIGHTS) as k.RightsCmsg | undefined;
      let ino: number | null = null;
      if (item) {
        const [fd] = item.fds;
        fds.push(fd!);
        ino = fstatSync(fd!).ino;
      }
      seen.push([m.data.toString(), ino]);
    }
    const si = fstatSync(shared).ino, oi = fstatSync(own).ino;
    expect(seen).toEqual([['plain', si], ['own list', oi], ['null', null], ['empty', null], ['undefined', si]]);
  });
});

describe('sendmmsg: a send buffer that fills part-way', () => {
  it('trySendmmsg reports how many the kernel took; the rest goes once the receiver drains (sendmmsg waits)', async () => {
    const [a, b] = unixPair();
    a.setsockopt('SOL_SOCKET', 'SO_SNDBUF', 4096);
    const messages = Array.from({ length: 200 }, (_, i) => ({ data: [Buffer.from(`m${i}:`), Buffer.alloc(200, 0x61)] }));
    const n = a.trySendmmsg(messages);
    expect(n).not.toBeNull();
    expect(n!).toBeGreaterThan(0);
    expect(n!).toBeLessThan(200);
    expect(a.trySendmmsg(messages.slice(n!))).toBeNull(); // still full: nothing went
    const rest = a.sendmmsg(messages.slice(n!), { timeout: 5000 });
    const got: string[] = [];
    let sentLater = 0;
    for (let i = 0; i < 400 && got.length < 200; i++) {
      const m = await b.recvmsg({ timeout: 5000 });
      got.push(m.data.subarray(0, m.data.indexOf(':')).toString());
      if (sentLater === 0 && got.length === n!) sentLater = await rest; // the wait ends once there is room
      else if (sentLater > 0 && got.length === n! + sentLater) break;
    }
    expect(sentLater).toBeGreaterThan(0);
    expect(got).toEqual(Array.from({ length: n! + sentLater }, (_, i) => `m${i}`));
  });
});

describe('sendmmsg: reading the messages', () => {
  it('each message object\'s data, to and control are read once, also when the async form waits', async () => {
    const [a, b] = unixPair();
    const rx = udp(), tx = udp();
    const reads = { data: 0, to: 0, control: 0 };
    const counted = (data: Buffer, to: k.Sockaddr | null): k.MmsgMessage => ({
      get data() { reads.data++; return data; },
      get to() { reads.to++; return to; },
      get control() { reads.control++; return null; },
    });
    expect(tx.trySendmmsg([counted(Buffer.from('once'), rx.address())])).toBe(1);
    expect(reads).toEqual({ data: 1, to: 1, control: 1 });
    expect(drain(rx)).toEqual(['once']);

    // The async form, blocked on a full AF_UNIX queue, then released.
    a.setsockopt('SOL_SOCKET', 'SO_SNDBUF', 4096);
    for (let i = 0; i < 1000 && a.trySendmsg({ data: Buffer.alloc(512) }) !== null; i++);
    reads.data = reads.to = reads.control = 0;
    const p = a.sendmmsg([counted(Buffer.from('after the wait'), null)], { timeout: 5000 });
    let last = '';
    for (let i = 0; i < 1000 && last !== 'after the wait'; i++) last = (await b.recvmsg({ timeout: 5000 })).data.toString();
    expect(await p).toBe(1);
    expect(last).toBe('after the wait');
    expect(reads).toEqual({ data: 1, to: 1, control: 1 });
  });

  it('host names: the async form looks them up per message; trySendmmsg throws the TypeError trySendmsg throws', async () => {
    const rx = udp(), other = udp(), tx = udp();
    const named = (port: number): k.Sockaddr => ({ family: AF_INET, address: 'localhost', port });
    expect(await tx.sendmmsg([
      { data: Buffer.from('by name'), to: named(rx.address().port) },
      { data: Buffer.from('by name too'), to: named(other.address().port) },
      Buffer.from('shared by name'),
    ], { to: named(other.address().port) })).toBe(3);
    expect(drain(rx)).toEqual(['by name']);
    expect(drain(other)).toEqual(['by name too', 'shared by name']);

    let single: unknown = null, batch: unknown = null;
    try { tx.trySendmsg({ data: Buffer.from('x'), to: named(9) }); } catch (e) { single = e; }
    try { tx.trySendmmsg([{ data: Buffer.from('x'), to: named(9) }]); } catch (e) { batch = e; }
    expect(single).toBeInstanceOf(TypeError);
    expect(batch).toBeInstanceOf(TypeError);
    expect((batch as Error).message).toBe((single as Error).message);
  });

  it('at most 1024 messages per call; the count says how many went', async () => {
    const [a, b] = unixPair();
    a.setsockopt('SOL_SOCKET', 'SO_SNDBUF', 1 << 20);
    b.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 1 << 20);
    const messages = Array.from({ length: 1500 }, () => ({ data: Buffer.from('x') }));
    const n = a.trySendmmsg(messages);
    expect(n).not.toBeNull();
    expect(n!).toBeGreaterThan(0);
    expect(n!).toBeLessThanOrEqual(1024);
    let got = 0;
    for (let i = 0; i < 2000 && b.tryRecvmsg() !== null; i++) got++;
    expect(got).toBe(n);
  });

  it('bad shapes are TypeError/RangeError before anything is sent', async () => {
    const rx = udp(), tx = udp();
    const to = rx.address();
    const cases: Array<[unknown, RegExp, typeof TypeError]> = [
      ['not an array', /messages must be an array/, TypeError],
      [[1], /messages\[0\] must be a Buffer or a \{ data/, TypeError],
      [[Buffer.from('ok'), null], /messages\[1\] must be/, TypeError],
      [[{ to }], /messages\[0\]\.data must be a Buffer or an array of Buffers/, TypeError],
      [[{ data: 'text', to }], /messages\[0\]\.data must be/, TypeError],
      [[{ data: [Buffer.from('a'), 'b'], to }], /messages\[0\]\.data must be/, TypeError],
      [[{ data: Buffer.from('a'), to: 'somewhere' }], /messages\[0\]\.to must be/, TypeError],
      [[{ data: Buffer.from('a'), to, control: 5 }], /messages\[0\]\.control must be/, TypeError],
      [[{ data: Buffer.from('a'), to: Buffer.alloc(4096) }], /at most/, RangeError],
      [[{ data: new Array(100_000).fill(Buffer.from('a')), to }], /elements; at most/, RangeError],
    ];
    for (const [messages, re, E] of cases) {
      expect(() => tx.trySendmmsg(messages as Buffer[], { to })).toThrow(E);
      expect(() => tx.trySendmmsg(messages as Buffer[], { to })).toThrow(re);
    }
    const sparse = new Array(3);
    expect(() => tx.trySendmmsg(sparse)).toThrow(TypeError);
    const huge: Buffer[] = [];
    huge.length = 2 ** 32 - 1;
    expect(() => tx.trySendmmsg(huge)).toThrow(RangeError);
    await expect(tx.sendmmsg([{ data: 5 } as unknown as k.MmsgMessage], { to })).rejects.toThrow(TypeError);
    expect(drain(rx)).toEqual([]);
  });
});
