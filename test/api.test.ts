// The idiomatic face, as a Node developer would use it, and Node interop.
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { k } from './helpers';

const { Socket, AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET } = k;
const lo = { family: AF_INET, address: '127.0.0.1', port: 0 };

async function tcpPair(): Promise<[k.Socket, k.Socket, k.Socket]> {
  const l = Socket.create(AF_INET, SOCK_STREAM).bind(lo).listen();
  const c = Socket.create(AF_INET, SOCK_STREAM);
  const [s] = await Promise.all([l.accept(), c.connect(l.address())]);
  return [l, c, s];
}

describe('Socket.create, bind, connect, listen, accept', () => {
  it('a TCP conversation with promises; address() and remoteAddress()', async () => {
    const [l, c, s] = await tcpPair();
    expect(c.remoteAddress()).toEqual(l.address());
    expect(s.remoteAddress()).toEqual(c.address());
    expect(await c.sendmsg({ data: [Buffer.from('hello '), Buffer.from('there')] })).toBe(11);
    const m = await s.recvmsg({ size: 64 });
    expect(m.data.toString()).toBe('hello there');
    expect(m.bytes).toBe(11);
    expect(m.control).toEqual([]);
    await Promise.all([c.close(), s.close(), l.close()]);
    expect(c.so_state & k.SS_NOFDREF).toBeTruthy();
  });

  it('errors are SocketError with code, errno, syscall and a Node-style message', async () => {
    const tmp = Socket.create(AF_INET, SOCK_STREAM).bind(lo);
    const dead = tmp.address();
    await tmp.close();
    const c = Socket.create(AF_INET, SOCK_STREAM);
    await expect(c.connect(dead)).rejects.toMatchObject({
      name: 'SocketError', code: 'ECONNREFUSED', syscall: 'connect', errno: k.constants.ECONNREFUSED,
      message: `connect ECONNREFUSED 127.0.0.1:${dead.port}`,
    });
    expect(c.so_state & k.SS_ISCONNECTING).toBe(0);
    expect(() => Socket.create(9999, SOCK_DGRAM)).toThrow(expect.objectContaining({ code: 'EAFNOSUPPORT', syscall: 'socket' }));
    const a = Socket.create(AF_INET, SOCK_DGRAM).bind(lo);
    const b = Socket.create(AF_INET, SOCK_DGRAM);
    expect(() => b.bind(a.address())).toThrow(expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind' }));
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('socketpair() and the kernel face share one Socket object', async () => {
    const [a, b] = Socket.socketpair(AF_UNIX, SOCK_SEQPACKET);
    expect(a.so_state & k.SS_ISCONNECTED).toBeTruthy();
    expect(await k.sosend(a, null, null, Buffer.from('from the kernel face'), null, 0)).toBe(0);
    expect((await b.recvmsg({ size: 64 })).data.toString()).toBe('from the kernel face');
    expect(inspect(a)).toMatch(/^Socket<AF_UNIX SOCK_SEQPACKET fd=\d+ SS_ISCONNECTED/);
    await a.close();
    await b.close();
  });
});

describe('send and receive', () => {
  it('trySendmsg / tryRecvmsg return null when they would block — no exception', async () => {
    const [a, b] = k.socketpair(AF_UNIX, SOCK_DGRAM);
    expect(b.tryRecvmsg()).toBeNull();
    let sent = 0;
    for (let i = 0; i < 100_000; i++) {
      const n = a.trySendmsg(Buffer.alloc(1024));
      if (n === null) break;
      sent++;
    }
    expect(sent).toBeGreaterThan(0);
    expect(a.trySendmsg(Buffer.alloc(1024))).toBeNull();
    const m = b.tryRecvmsg({ size: 2048 })!;
    expect(m.bytes).toBe(1024);
    await a.close();
    await b.close();
  });

  it('recvmsg into caller Buffers (scatter), with the source address and flags', async () => {
    const a = Socket.create(AF_INET, SOCK_DGRAM).bind(lo), b = Socket.create(AF_INET, SOCK_DGRAM).bind(lo);
    await a.sendmsg({ data: Buffer.from('0123456789'), to: b.address() });
    const x = Buffer.alloc(4), y = Buffer.alloc(4);
    const m = await b.recvmsg({ into: [x, y] });
    expect(m.bytes).toBe(8);
    expect(x.toString() + y.toString()).toBe('01234567');
    expect(m.flags & k.MSG_TRUNC).toBe(k.MSG_TRUNC);
    expect(m.from).toEqual(a.address());
    await a.close();
    await b.close();
  });

  it.runIf(k.constants.SO_PASSCRED !== undefined)('control data through the idiomatic face: descriptors and credentials (SO_PASSCRED, SCM_CREDENTIALS: Linux)', async () => {
    const [a, b] = Socket.socketpair(AF_UNIX, SOCK_DGRAM);
    b.setsockopt('SOL_SOCKET', 'SO_PASSCRED', true);
    const [p, q] = Socket.socketpair();
    await a.sendmsg({ data: Buffer.from('fd'), control: [{ level: k.SOL_SOCKET, type: k.constants.SCM_RIGHTS!, fds: [p.fd] }] });
    const m = await b.recvmsg({ size: 16, control: true });
    const rights = m.control.find((x) => x.type === k.constants.SCM_RIGHTS)!;
    const got = Socket.fromFd(rights.fds![0]!);
    expect(got.so_dom).toBe(AF_UNIX);
    expect(got.so_type).toBe(SOCK_STREAM);
    await got.sendmsg(Buffer.from('through the passed fd'));
    expect((await q.recvmsg({ size: 64 })).data.toString()).toBe('through the passed fd');
    expect(m.control.find((x) => x.type === k.constants.SCM_CREDENTIALS)).toMatchObject({ pid: process.pid });
    for (const so of [a, b, p, q, got]) await so.close();
  });

  it('sendmmsg / recvmmsg move a batch; RecvBatch slots allocate nothing per message', async () => {
    const rx = Socket.create(AF_INET, SOCK_DGRAM).bind(lo), tx = Socket.create(AF_INET, SOCK_DGRAM).bind(lo);
    const msgs = Array.from({ length: 50 }, (_, i) => Buffer.from(`message ${i}`));
    expect(await tx.sendmmsg(msgs, { to: rx.address() })).toBe(50);
    const batch = new k.RecvBatch(64, 64, true);
    let got = 0;
    const seen: string[] = [];
    for (let i = 0; i < 100 && got < 50; i++) {
      const n = await rx.recvmmsg(batch, { timeout: 2000 });
      for (let j = 0; j < n; j++) seen.push(batch.data(j).toString());
      got += n;
    }
    expect(seen).toEqual(msgs.map(String));
    expect(batch.from(0)).toEqual(tx.address());
    expect(rx.tryRecvmmsg(batch)).toBeNull();
    await rx.close();
    await tx.close();
  });

  it('for await iterates messages until EOF', async () => {
    const [a, b] = Socket.socketpair(AF_UNIX, SOCK_STREAM);
    const got: string[] = [];
    const reading = (async () => {
      for await (const m of b) {
        got.push(m.data.toString());
        if (got.length > 100) break; // bounded, whatever the socket does
      }
    })();
    await a.sendmsg(Buffer.from('one'));
    await new Promise((r) => setTimeout(r, 10));
    await a.sendmsg(Buffer.from('two'));
    a.shutdown(k.SHUT_WR);
    await reading;
    expect(got.join('')).toBe('onetwo');
    await a.close();
    await b.close();
  });

  it('readiness events and readable() / writable()', async () => {
    const [a, b] = Socket.socketpair(AF_UNIX, SOCK_DGRAM);
    const events: string[] = [];
    const onReadable = () => {
      events.push('readable');
      b.tryRecvmsg();
    };
    b.on('readable', onReadable);
    await a.writable();
    a.trySendmsg(Buffer.from('x'));
    for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(events).toEqual(['readable']);
    b.off('readable', onReadable);
    await new Promise((r) => setTimeout(r, 5));
    expect(b._mask === 0 || b._idle).toBe(true); // with the last listener gone the watcher keeps nothing alive
    const r = b.readable();
    a.trySendmsg(Buffer.from('y'));
    await r;
    await a.close();
    await b.close();
  });
});

describe('AbortSignal and timeouts on every wait', () => {
  it('recvmsg, accept and connect reject on abort, leaving no sleeper behind', async () => {
    const [a, b] = Socket.socketpair();
    const ac = new AbortController();
    const p = b.recvmsg({ signal: ac.signal });
    expect(b.so_rcv.sleepers).toBe(1);
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(b.so_rcv.sleepers).toBe(0);
    const l = Socket.create(AF_INET, SOCK_STREAM).bind(lo).listen();
    const reason = new Error('stop');
    await expect(l.accept({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    for (const so of [a, b, l]) await so.close();
  });

  it('a timeout rejects with SocketError ETIMEDOUT', async () => {
    const [a, b] = Socket.socketpair();
    const t0 = Date.now();
    await expect(b.recvmsg({ timeout: 60 })).rejects.toMatchObject({ code: 'ETIMEDOUT', syscall: 'recvmsg' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    await expect(b.readable({ timeout: 20 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    await a.close();
    await b.close();
  });

  it('SO_RCVTIMEO bounds a promise wait too, with the same ETIMEDOUT as a timeout', async () => {
    const [a, b] = Socket.socketpair();
    b.setsockopt('SOL_SOCKET', 'SO_RCVTIMEO', 40);
    const t0 = Date.now();
    await expect(b.recvmsg()).rejects.toMatchObject({ code: 'ETIMEDOUT', syscall: 'recvmsg' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(35);
    await expect(b.recvmsg({ timeout: 10_000 })).rejects.toMatchObject({ code: 'ETIMEDOUT' }); // the shorter one wins
    await a.close();
    await b.close();
  });

  it('MSG_DONTWAIT makes a promise call one attempt: EAGAIN at once, nothing left waiting', async () => {
    const [a, b] = Socket.socketpair(AF_UNIX, SOCK_DGRAM);
    await expect(b.recvmsg({ flags: k.MSG_DONTWAIT })).rejects.toMatchObject({ code: 'EAGAIN', syscall: 'recvmsg' });
    expect(b.so_rcv.sleepers).toBe(0);
    a.trySendmsg(Buffer.from('x'));
    expect((await b.recvmsg({ flags: k.MSG_DONTWAIT })).data.toString()).toBe('x');
    await a.close();
    await b.close();
  });

  it('a descriptor another Socket owns cannot be adopted twice; a duplicate can', async () => {
    const [a, b] = Socket.socketpair(AF_UNIX, SOCK_DGRAM);
    expect(() => Socket.fromFd(a.fd)).toThrow(/already belongs to a ksock Socket.*dup: true/);
    const d = Socket.fromFd(a.fd, { dup: true });
    expect(d.fd).not.toBe(a.fd);
    await d.close();
    expect(a.trySendmsg(Buffer.from('still mine'))).toBe(10);
    expect(b.tryRecvmsg()!.data.toString()).toBe('still mine');
    await a.close();
    await b.close();
  });

  it('close() while a recvmsg waits rejects it with EBADF', async () => {
    const [a, b] = Socket.socketpair();
    const p = b.recvmsg();
    await b.close();
    await expect(p).rejects.toMatchObject({ code: 'EBADF' });
    await a.close();
  });
});

describe('interop with Node', () => {
  it('fromFd of something that is not a socket: ENOTSOCK, and the caller\'s descriptor is left alone', async () => {
    const fs = await import('node:fs');
    const fd = fs.openSync('/dev/null', 'r');
    try {
      expect(() => Socket.fromFd(fd)).toThrow(expect.objectContaining({ code: 'ENOTSOCK', syscall: 'fromFd' }));
      expect(() => Socket.fromFd(fd, { dup: true })).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
      expect(fs.fstatSync(fd).isCharacterDevice()).toBe(true);
      expect(() => Socket.fromFd(-3)).toThrow(TypeError);
      expect(() => Socket.fromFd(1.5)).toThrow(TypeError);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('fromFd of a listening socket mirrors SO_ACCEPTCONN and SS_ISBOUND, and accepts', async () => {
    const l = Socket.create(AF_INET, SOCK_STREAM).bind(lo).listen();
    const adopted = Socket.fromFd(l.fd, { dup: true });
    expect(adopted.so_options & k.SO_OPTIONS.SO_ACCEPTCONN).toBe(k.SO_OPTIONS.SO_ACCEPTCONN);
    expect(adopted.so_state & k.SS_ISBOUND).toBe(k.SS_ISBOUND);
    expect(adopted.so_state & k.SS_ISCONNECTED).toBe(0);
    const c = Socket.create(AF_INET, SOCK_STREAM);
    const [s] = await Promise.all([adopted.accept({ timeout: 2000 }), c.connect(l.address())]);
    expect(s.remoteAddress()).toEqual(c.address());
    for (const so of [l, adopted, c, s]) await so.close();
  });

  it.runIf(k.features.unix_abstract)('connect to an AF_UNIX listener with a full backlog waits (bounded back-off) instead of failing', async () => {
    const name = { family: AF_UNIX, path: `\0ksock-backlog-${process.pid}` };
    const l = Socket.create(AF_UNIX, SOCK_STREAM).bind(name).listen(0);
    const clients: k.Socket[] = [];
    // Fill the backlog (Linux: backlog 0 still admits one) until a connect would block.
    let blocked = false;
    for (let i = 0; i < 10 && !blocked; i++) {
      const c = Socket.create(AF_UNIX, SOCK_STREAM);
      clients.push(c);
      blocked = k.soconnect(c, name) === k.EWOULDBLOCK;
    }
    expect(blocked).toBe(true);
    const last = clients[clients.length - 1]!;
    const connecting = last.connect(name, { timeout: 5000 });
    // Make room: accept one after a moment; the retry then gets in.
    await new Promise((r) => setTimeout(r, 20));
    const first = await l.accept();
    await connecting;
    expect(last.so_state & k.SS_ISCONNECTED).toBeTruthy();
    for (const so of [...clients, first, l]) await so.close();
  });

  it('fromFd adopts a dgram socket\'s descriptor (dup) and detects domain, type and protocol', async () => {
    const d = dgram.createSocket('udp4');
    await new Promise<void>((r) => d.bind(0, '127.0.0.1', r));
    const fd = (d as unknown as { _handle: { fd: number } })._handle.fd;
    const so = Socket.fromFd(fd, { dup: true });
    expect([so.so_dom, so.so_type, so.so_proto]).toEqual([AF_INET, SOCK_DGRAM, k.constants.IPPROTO_UDP]);
    expect(so.fd).not.toBe(fd);
    expect(so.address()).toEqual({ family: AF_INET, address: '127.0.0.1', port: d.address().port });
    const got = new Promise<Buffer>((r) => d.once('message', r));
    const tx = Socket.create(AF_INET, SOCK_DGRAM);
    await tx.sendmsg({ data: Buffer.from('to dgram'), to: so.address() });
    expect((await got).toString()).toBe('to dgram');
    await so.close();
    await tx.close();
    await new Promise<void>((r) => d.close(r));
  });

  it('a ksock stream socket becomes a net.Socket: http runs over it', async () => {
    const server = http.createServer((req, res) => res.end(`you asked for ${req.url}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const so = Socket.create(AF_INET, SOCK_STREAM);
    await so.connect({ family: AF_INET, address: '127.0.0.1', port });
    const sock = so.toNetSocket();
    expect(so.so_state & k.SS_NOFDREF).toBeTruthy();
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request({ createConnection: () => sock, path: '/over-ksock' }, (res) => {
        let s = '';
        res.on('data', (c) => (s += c));
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('you asked for /over-ksock');
    sock.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('a listening ksock socket is handed to net.Server.listen({ fd })', async () => {
    const l = Socket.create(AF_INET, SOCK_STREAM);
    l.setsockopt('SOL_SOCKET', 'SO_REUSEADDR', true);
    l.bind(lo).listen();
    const addr = l.address();
    const server = net.createServer((c) => c.end('served by node'));
    await new Promise<void>((r) => server.listen({ fd: l.detach() }, r));
    const c = Socket.create(AF_INET, SOCK_STREAM);
    await c.connect(addr);
    let text = '';
    let reads = 0;
    for await (const m of c) {
      text += m.data.toString();
      if (++reads > 100) break; // bounded, whatever the peer does
    }
    expect(text).toBe('served by node');
    await c.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('fromFd adopts a net.Socket\'s descriptor (dup) and speaks to its peer', async () => {
    const server = net.createServer((c) => c.on('data', (d) => c.end(`echo ${d}`)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const ns = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((r) => ns.once('connect', r));
    const fd = (ns as unknown as { _handle: { fd: number } })._handle.fd;
    ns.pause();
    const so = Socket.fromFd(fd, { dup: true });
    expect(so.so_state & k.SS_ISCONNECTED).toBeTruthy();
    await so.sendmsg(Buffer.from('hi'));
    const m = await so.recvmsg({ size: 64, flags: k.MSG_WAITALL, timeout: 2000 });
    expect(m.data.toString()).toBe('echo hi');
    await so.close();
    ns.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it.runIf(k.features.ipv6)('IPv6 through the idiomatic face', async () => {
    const a = Socket.create(AF_INET6, SOCK_DGRAM).bind({ family: AF_INET6, address: '::1', port: 0 });
    const b = Socket.create(AF_INET6, SOCK_DGRAM).bind({ family: AF_INET6, address: '::1', port: 0 });
    await a.sendmsg({ data: Buffer.from('v6'), to: b.address() });
    const m = await b.recvmsg({ size: 8 });
    expect(m.from).toMatchObject({ family: AF_INET6, address: '::1', port: a.address().port });
    await a.close();
    await b.close();
  });
});

describe('batches with control data', () => {
  it('sendmmsg carries the same control items on every message; recvmmsg returns each message\'s own, owned', async () => {
    const fs = await import('node:fs');
    const [a, b] = Socket.socketpair(AF_UNIX, SOCK_DGRAM);
    const fd = fs.openSync('/dev/null', 'r');
    const msgs = Array.from({ length: 10 }, (_, i) => Buffer.from(`m${i}`));
    expect(a.trySendmmsg(msgs, { control: [{ level: k.SOL_SOCKET, type: k.constants.SCM_RIGHTS!, fds: [fd] }] })).toBe(10);
    const batch = new k.RecvBatch(16, 16, false, k.CMSG_SPACE(4));
    expect(await b.recvmmsg(batch, { timeout: 2000 })).toBe(10);
    for (let i = 0; i < 10; i++) {
      expect(batch.data(i).toString()).toBe(`m${i}`);
      const items = batch.control(i);
      expect(items.length).toBe(1);
      const item = items[0] as k.RightsCmsg;
      expect(item.claimed).toBe(false);
      if (i % 2 === 0) {
        const [got] = item.fds;             // claimed: ours to close
        expect(fs.fstatSync(got!).isCharacterDevice()).toBe(true);
        fs.closeSync(got!);
      } else {
        expect(item.close()).toBe(1);       // not wanted: closed at once
      }
    }
    expect(batch.flags(0) & k.MSG_CTRUNC).toBe(0);
    fs.closeSync(fd);
    await a.close();
    await b.close();
  });

  it('a batch with too little control room reports MSG_CTRUNC per message and leaks nothing', async () => {
    const [a, b] = Socket.socketpair(AF_UNIX, SOCK_DGRAM);
    const fds = [0, 1].map(() => require('node:fs').openSync('/dev/null', 'r') as number);
    a.trySendmmsg([Buffer.from('x'), Buffer.from('y')], { control: [{ level: k.SOL_SOCKET, type: k.constants.SCM_RIGHTS!, fds }] });
    const batch = new k.RecvBatch(4, 8, false, k.CMSG_LEN(4)); // room for one of the two
    expect(b.tryRecvmmsg(batch)).toBe(2);
    for (let i = 0; i < 2; i++) {
      expect(batch.flags(i) & k.MSG_CTRUNC).toBe(k.MSG_CTRUNC);
      expect((batch.control(i)[0] as k.RightsCmsg).close()).toBe(1);
    }
    fds.forEach((f) => require('node:fs').closeSync(f));
    await a.close();
    await b.close();
  });
});

describe('dgram parity', () => {
  it("'message' events drain a datagram socket in batches while a listener exists", async () => {
    const a = Socket.create('AF_INET', 'SOCK_DGRAM').bind(lo);
    const b = Socket.create('AF_INET', 'SOCK_DGRAM').bind(lo);
    const to = b.address();
    for (let i = 0; i < 150; i++) a.trySendmsg({ data: Buffer.from(`m${i}`), to }); // queued before anyone listens
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      const on = (data: Buffer, msg: k.Msg): void => {
        got.push(data.toString());
        expect(msg.from).toMatchObject({ address: '127.0.0.1', port: a.address().port });
        if (got.length === 150) {
          b.off('message', on);
          resolve();
        }
      };
      b.on('message', on);
    });
    await done;
    expect(got[0]).toBe('m0');
    expect(got[149]).toBe('m149');
    expect(b.listenerCount('readable')).toBe(0); // the drain went with the last listener
    a.trySendmsg({ data: Buffer.from('later'), to });
    expect(b.tryRecvmsg()!.data.toString()).toBe('later'); // nobody drained it
    await a.close();
    await b.close();
  });

  it('host names are resolved (dns.lookup, for the address family) wherever the promise API takes an address', async () => {
    const b = Socket.create('AF_INET', 'SOCK_DGRAM').bind(lo);
    const a = Socket.create('AF_INET', 'SOCK_DGRAM');
    const port = b.address().port!;
    expect(await a.sendmsg({ data: Buffer.from('by name'), to: { family: AF_INET, address: 'localhost', port } })).toBe(7);
    expect((await b.recvmsg({ timeout: 2000 })).data.toString()).toBe('by name');
    await a.connect({ family: AF_INET, address: 'localhost', port });
    expect(a.remoteAddress()).toMatchObject({ address: '127.0.0.1', port });
    await expect(a.connect({ family: AF_INET, address: 'no-such-host.invalid', port })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await a.close();
    await b.close();
  });
});

describe('error conditions on the watcher', () => {
  it.runIf(k.constants.SOF_TIMESTAMPING_TX_SOFTWARE !== undefined)('a receive that waits is still woken for data after an error-queue entry arrives (libuv stops the watcher on POLLERR; SO_TIMESTAMPING: Linux)', async () => {
    const c = k.constants;
    const a = Socket.create('AF_INET', 'SOCK_DGRAM').bind(lo);
    const b = Socket.create('AF_INET', 'SOCK_DGRAM').bind(lo);
    b.setsockopt('SOL_SOCKET', 'SO_TIMESTAMPING', c.SOF_TIMESTAMPING_TX_SOFTWARE! | c.SOF_TIMESTAMPING_SOFTWARE! | c.SOF_TIMESTAMPING_OPT_TSONLY!);
    const p = b.recvmsg({ timeout: 3000 });
    await b.sendmsg({ data: Buffer.from('x'), to: a.address() }); // puts a timestamp on b's error queue: POLLERR
    await new Promise((r) => setTimeout(r, 30));
    await a.sendmsg({ data: Buffer.from('hello'), to: b.address() });
    expect((await p).data.toString()).toBe('hello');
    const e = await b.recvmsg({ flags: ['MSG_ERRQUEUE', 'MSG_DONTWAIT'], control: true });
    expect(e.control.some((x) => x.type === c.SCM_TIMESTAMPING)).toBe(true); // the entry was there all along
    await a.close();
    await b.close();
  });
});
