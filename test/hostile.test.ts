// Hostile arguments (issue #8, item 7): getters that detach the Buffer being
// sent or received into, getters and proxies that throw, impossible array
// shapes, objects that only look like Buffers, options that make Node throw,
// descriptors adopted twice, AbortSignals reused. Each must end in a thrown
// TypeError/RangeError (or the caller's own error) or a correct result:
// never an abort, never a byte moved through memory the caller no longer
// owns, never a leaked descriptor or listener.
//
// What can crash runs in a child process (with --expose-gc, so that a
// detached backing store is really freed): under an ASan build
// (LD_PRELOAD=libasan, KSOCK_NATIVE=build-asan/ksock.node) a use-after-free
// is a non-zero exit there.
import { getEventListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { k } from './helpers';
import { openFds } from './setup/fd-guard';
import { runNode, describeChild, crashed, type ChildResult } from './child';

function expectClean(r: ChildResult): void {
  expect({ status: r.status, signal: r.signal, crashed: crashed(r) }, describeChild(r)).toEqual({ status: 0, signal: null, crashed: false });
}

// ----------------------------------------------------------- detaching getters

// In the child: two bound UDP sockets, a detach() that transfers a Buffer's
// ArrayBuffer away and lets the collector free it, and an outcome recorder.
const prelude = `
const k = require(DIST);
const mk = () => k.Socket.create(k.AF_INET, k.SOCK_DGRAM).bind({ family: k.AF_INET, address: '127.0.0.1', port: 0 });
const a = mk(), b = mk();
const to = b.address();
const detach = (buf) => { structuredClone(buf.buffer, { transfer: [buf.buffer] }); globalThis.gc(); };
const violations = [];
const argError = (e) => e instanceof TypeError || e instanceof RangeError;
const drain = (s) => { for (let i = 0; i < 100 && s.tryRecvmsg(); i++); };
const ttlItem = () => { const d = Buffer.alloc(4); d.writeInt32LE(64); return { level: k.constants.IPPROTO_IP ?? 0, type: k.constants.IP_TTL, data: d }; };
`;

/**
 * Send side. For K = 0..7 the hostile getter detaches the data Buffer (8192
 * bytes of 0xee, its own ArrayBuffer) on its K-th call and later, wherever
 * that call happens (the library's checks, or native code after the data was
 * pinned). `early` records that the peer had nothing queued yet: the detach
 * came before the datagram was sent, so the datagram must not carry those
 * bytes, and the count returned must be the datagram's size.
 */
function sendScan(build: string, send: string): string {
  return prelude + `
(async () => {
  for (let K = 0; K < 8; K++) {
    const data = Buffer.alloc(8192, 0xee);
    let calls = 0, early = null;
    const hit = () => { if (calls++ >= K && data.length > 0) { early = b.so_rcv.sb_cc === 0; detach(data); } };
    ${build}
    let thrown = null, count = null;
    try { count = await (async () => { ${send} })(); } catch (e) { thrown = e; }
    const m = b.tryRecvmsg();
    const got = m ? m.bytes : null, carried = m ? m.data.includes(0xee) : false;
    const at = { K, calls, early, count, got, thrown: thrown && String(thrown) };
    if (thrown !== null && !argError(thrown)) violations.push({ ...at, why: 'threw something other than TypeError/RangeError' });
    if (early === true && carried) violations.push({ ...at, why: 'the datagram carried bytes of a Buffer detached before the send' });
    if (thrown === null && early !== false && count !== got) violations.push({ ...at, why: 'the count returned is not the size of the datagram sent' });
    drain(b);
  }
  console.log(JSON.stringify({ violations }));
})();`;
}

/**
 * Receive side. A 6000-byte datagram of 0x5a is queued; the receive goes into
 * [b1 (8192 bytes, its own ArrayBuffer), b2 (16 bytes)], where element 1 is a
 * getter that detaches b1 from its K-th call on. `early` records that the
 * datagram was still queued: the receive had not happened, so at most b2's
 * 16 bytes may be filled, and what is reported must be what is in the Buffers.
 */
function recvScan(recv: string): string {
  return prelude + `
(async () => {
  for (let K = 0; K < 8; K++) {
    a.trySendmsg({ data: Buffer.alloc(6000, 0x5a), to });
    const b1 = Buffer.alloc(8192), b2 = Buffer.alloc(16);
    let calls = 0, early = null;
    const into = [b1];
    Object.defineProperty(into, 1, { enumerable: true, get() { if (calls++ >= K && b1.length > 0) { early = b.so_rcv.sb_cc > 0; detach(b1); } return b2; } });
    let thrown = null, res = null;
    try { res = await (async () => { ${recv} })(); } catch (e) { thrown = e; }
    const at = { K, calls, early, res, thrown: thrown && String(thrown) };
    if (thrown !== null && !argError(thrown)) violations.push({ ...at, why: 'threw something other than TypeError/RangeError' });
    if (res !== null) {
      if (early === true && res.bytes > 16) violations.push({ ...at, why: 'bytes were received into a Buffer detached before the receive' });
      if (res.data !== undefined && (res.data.length !== res.bytes || res.data.some((x) => x !== 0x5a))) violations.push({ ...at, why: 'the data reported is not the bytes received' });
    }
    drain(b);
  }
  console.log(JSON.stringify({ violations }));
})();`;
}

const gcArgs = { execArgv: ['--expose-gc'], timeout: 20_000 };

describe('getters that detach the data Buffer while the call is being made', () => {
  const sends: Record<string, [string, string]> = {
    'sendmsg: a control item\'s data getter': [
      `const it = ttlItem(), d = it.data; Object.defineProperty(it, 'data', { enumerable: true, get() { hit(); return d; } }); const opts = { data, to, control: [it] };`,
      `return await a.sendmsg(opts);`],
    'trySendmsg: a control item\'s data getter': [
      `const it = ttlItem(), d = it.data; Object.defineProperty(it, 'data', { enumerable: true, get() { hit(); return d; } }); const opts = { data, to, control: [it] };`,
      `return a.trySendmsg(opts);`],
    'trySendmsg: a control item\'s level getter': [
      `const it = ttlItem(), lv = it.level; Object.defineProperty(it, 'level', { enumerable: true, get() { hit(); return lv; } }); const opts = { data, to, control: [it] };`,
      `return a.trySendmsg(opts);`],
    'trySendmsg: a getter on `to`': [
      `const opts = { data, get to() { hit(); return to; } };`,
      `return a.trySendmsg(opts);`],
    'trySendmsg: a getter on the address\'s family': [
      `const opts = { data, to: { get family() { hit(); return k.AF_INET; }, address: '127.0.0.1', port: to.port } };`,
      `return a.trySendmsg(opts);`],
    'trySendmsg: a getter on the address\'s port': [
      `const opts = { data, to: { family: k.AF_INET, address: '127.0.0.1', get port() { hit(); return to.port; } } };`,
      `return a.trySendmsg(opts);`],
    'trySendmsg: a getter on element 1 of data detaches element 0': [
      `const tail = Buffer.from('TAIL'); const arr = [data]; Object.defineProperty(arr, 1, { enumerable: true, get() { hit(); return tail; } }); const opts = { data: arr, to };`,
      `return a.trySendmsg(opts);`],
    'sosend (kernel face) with a Uio: a control item\'s data getter': [
      `const it = ttlItem(), d = it.data; Object.defineProperty(it, 'data', { enumerable: true, get() { hit(); return d; } }); const uio = new k.Uio(data, k.UIO_WRITE);`,
      `const e = await k.sosend(a, to, uio, null, [it], 0); if (e !== 0) throw new Error('sosend ' + e); return uio.moved;`],
    'sosend (kernel face) with a Uio whose element 1 is a getter': [
      `const tail = Buffer.from('TAIL'); const uio = new k.Uio([data, tail], k.UIO_WRITE); const arr = [data]; Object.defineProperty(arr, 1, { enumerable: true, get() { hit(); return tail; } }); uio.uio_iov = arr;`,
      `const e = k.sosend(a, to, uio, null, null, k.MSG_DONTWAIT); if (e !== 0) throw new Error('sosend ' + e); return uio.moved;`],
    'trySendmmsg: a control item\'s data getter': [
      `const it = ttlItem(), d = it.data; Object.defineProperty(it, 'data', { enumerable: true, get() { hit(); return d; } });`,
      `const n = a.trySendmmsg([data], { to, control: [it] }); return n === 1 ? data.length : n;`],
    'trySendmmsg: a message object\'s data getter': [
      `const msg = { get data() { hit(); return data; }, to };`,
      `const n = a.trySendmmsg([msg]); return n === 1 ? data.length : n;`],
    'trySendmmsg: a message object\'s to getter': [
      `const msg = { data, get to() { hit(); return to; } };`,
      `const n = a.trySendmmsg([msg]); return n === 1 ? data.length : n;`],
    'trySendmmsg: a message object\'s control getter': [
      `const msg = { data, to, get control() { hit(); return [ttlItem()]; } };`,
      `const n = a.trySendmmsg([msg]); return n === 1 ? data.length : n;`],
    'trySendmmsg: a data getter of a control item in a message\'s own list': [
      `const it = ttlItem(), d = it.data; Object.defineProperty(it, 'data', { enumerable: true, get() { hit(); return d; } }); const msg = { data, to, control: [it] };`,
      `const n = a.trySendmmsg([msg], { to: null, control: null }); return n === 1 ? data.length : n;`],
    'trySendmmsg: a getter on the port of a message\'s own address': [
      `const msg = { data, to: { family: k.AF_INET, address: '127.0.0.1', get port() { hit(); return to.port; } } };`,
      `const n = a.trySendmmsg([msg]); return n === 1 ? data.length : n;`],
    'trySendmmsg: a getter on element 1 of a message\'s data detaches element 0': [
      `const tail = Buffer.from('TAIL'); const arr = [data]; Object.defineProperty(arr, 1, { enumerable: true, get() { hit(); return tail; } }); const msg = { data: arr, to };`,
      `const n = a.trySendmmsg([msg]); return n === 1 ? data.length + 4 : n;`],
    'trySendmmsg: a getter on message 1 detaches message 0\'s data': [
      `const msgs = [{ data, to }]; Object.defineProperty(msgs, 1, { enumerable: true, get() { hit(); return { data: Buffer.from('second'), to }; } });`,
      `const n = a.trySendmmsg(msgs); return n === 2 ? data.length : n;`],
    'sendmmsg (async): a message object\'s data getter': [
      `const msg = { get data() { hit(); return data; }, to };`,
      `const n = await a.sendmmsg([msg]); return n === 1 ? data.length : n;`],
  };
  for (const [name, [build, send]] of Object.entries(sends)) {
    it(`${name} → TypeError or a correct send`, () => {
      const r = runNode(sendScan(build, send), gcArgs);
      expectClean(r);
      expect(r.json?.violations, describeChild(r)).toEqual([]);
    });
  }

  const recvs: Record<string, string> = {
    'recvmsg({ into })': `const m = await b.recvmsg({ into }); return { bytes: m.bytes, data: m.data };`,
    'tryRecvmsg({ into })': `const m = b.tryRecvmsg({ into }); return m && { bytes: m.bytes, data: m.data };`,
    'soreceive (kernel face) with a Uio': `const uio = new k.Uio([b1, b2]); uio.uio_iov = into; const e = await k.soreceive(b, null, uio, null, null, null);
      if (e !== 0) throw new Error('soreceive ' + e); return { bytes: uio.moved };`,
  };
  for (const [name, recv] of Object.entries(recvs)) {
    it(`${name}: a getter on element 1 detaches element 0 → TypeError or a correct receive`, () => {
      const r = runNode(recvScan(recv), gcArgs);
      expectClean(r);
      expect(r.json?.violations, describeChild(r)).toEqual([]);
    });
  }

  it('tryRecvmmsg: a getter on the RecvBatch detaches its slab → TypeError/RangeError or a correct receive', () => {
    const r = runNode(prelude + `
      (async () => {
        for (const field of ['slotSize', 'count', 'controlSpace', 'addrs', 'lengths']) {
          for (let K = 0; K < 3; K++) {
            for (let i = 0; i < 2; i++) a.trySendmsg({ data: Buffer.alloc(100, 0x5a), to });
            const batch = new k.RecvBatch(4, 2048, true);
            const slab = batch.slab, orig = batch[field];
            let calls = 0, early = null;
            Object.defineProperty(batch, field, { enumerable: true, get() { if (calls++ >= K && slab.length > 0) { early = b.so_rcv.sb_cc > 0; detach(slab); } return orig; } });
            let thrown = null, n = null;
            try { n = b.tryRecvmmsg(batch); } catch (e) { thrown = e; }
            const at = { field, K, calls, early, n, thrown: thrown && String(thrown) };
            if (thrown !== null && !argError(thrown)) violations.push({ ...at, why: 'threw something other than TypeError/RangeError' });
            if (early === true && n > 0) violations.push({ ...at, why: 'messages were received into a slab detached before the receive' });
            drain(b);
          }
        }
        console.log(JSON.stringify({ violations }));
      })();`, gcArgs);
    expectClean(r);
    expect(r.json?.violations, describeChild(r)).toEqual([]);
  });
});

// ------------------------------------------------------ pending exceptions

/** Runs `body` (returns a value or throws) in a child and reports how it ended. */
function outcome(body: string): string {
  return `
const k = require(DIST);
const [a, b] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
const boom = new Error('boom');
(async () => {
  let out;
  try { const v = await (async () => { ${body} })(); out = { ok: true, value: v }; }
  catch (e) { out = { ok: false, same: e === boom, name: e && e.name, message: String(e && e.message) }; }
  const m = b.tryRecvmsg();
  out.got = m ? m.data.toString('latin1') : null;
  console.log(JSON.stringify(out));
})();`;
}

describe('exceptions thrown while arguments are read propagate as they are', () => {
  const sendFaces: Record<string, (control: string) => string> = {
    trySendmsg: (c) => `return a.trySendmsg({ data: Buffer.from('x'), control: ${c} });`,
    sendmsg: (c) => `return await a.sendmsg({ data: Buffer.from('x'), control: ${c} });`,
    'sosend (kernel face)': (c) => `return k.sosend(a, null, null, Buffer.from('x'), ${c}, k.MSG_DONTWAIT);`,
    trySendmmsg: (c) => `return a.trySendmmsg([Buffer.from('x')], { control: ${c} });`,
    'trySendmmsg (a message\'s own control)': (c) => `return a.trySendmmsg([{ data: Buffer.from('x'), control: ${c} }]);`,
    'sendmmsg (a message\'s own control)': (c) => `return await a.sendmmsg([{ data: Buffer.from('x'), control: ${c} }]);`,
  };

  for (const [face, call] of Object.entries(sendFaces)) {
    it(`${face}: a control item whose level getter throws → that Error`, () => {
      const r = runNode(outcome(call(`[{ get level() { throw boom; }, type: 1, data: Buffer.alloc(4) }]`)));
      expectClean(r);
      expect(r.json, describeChild(r)).toMatchObject({ ok: false, same: true, message: 'boom', got: null });
    });

    it(`${face}: a Proxy control item whose traps throw → that Error (or a TypeError)`, () => {
      const r = runNode(outcome(call(`[new Proxy({}, { get() { throw boom; }, has() { throw boom; }, ownKeys() { throw boom; }, getOwnPropertyDescriptor() { throw boom; } })]`)));
      expectClean(r);
      expect(r.json?.ok, describeChild(r)).toBe(false);
      expect(r.json.same || r.json.name === 'TypeError', describeChild(r)).toBe(true);
    });

    it(`${face}: a Proxy of an array as the control list → TypeError or that Error`, () => {
      const r = runNode(outcome(call(`new Proxy([{ level: 1, type: 1, data: Buffer.alloc(4) }], { get(t, p) { if (p === 'length') return 1; throw boom; } })`)));
      expectClean(r);
      expect(r.json?.ok, describeChild(r)).toBe(false);
      expect(r.json.same || r.json.name === 'TypeError', describeChild(r)).toBe(true);
    });

    it(`${face}: a sparse control list [, , ,] → TypeError`, () => {
      const r = runNode(outcome(call(`[, , ,]`)));
      expectClean(r);
      expect(r.json, describeChild(r)).toMatchObject({ ok: false, name: 'TypeError', got: null });
    });

    it(`${face}: a control list whose length is 2**32 - 1 → RangeError (or TypeError), not an abort`, () => {
      const r = runNode(outcome(`const c = []; c.length = 2 ** 32 - 1; ${call('c')}`));
      expectClean(r);
      expect(r.json?.ok, describeChild(r)).toBe(false);
      expect(['RangeError', 'TypeError'], describeChild(r)).toContain(r.json.name);
    });
  }

  // The getter is read once or more by the library's checks and again by
  // native code; it throws from its K-th read on, so that for some K the
  // throw happens inside native code, after earlier elements were read.
  it('a getter on an element of the data array that throws from its K-th read on → that Error, or a correct send', () => {
    const r = runNode(`
      const k = require(DIST);
      const [a, b] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
      const boom = new Error('boom');
      const bad = [];
      for (let K = 0; K < 8; K++) {
        let calls = 0;
        const arr = [Buffer.from('ab')];
        Object.defineProperty(arr, 1, { enumerable: true, get() { if (calls++ >= K) throw boom; return Buffer.from('cd'); } });
        let res;
        try { res = { n: a.trySendmsg({ data: arr }) }; } catch (e) { res = { same: e === boom, e: String(e) }; }
        const m = b.tryRecvmsg();
        const got = m ? m.data.toString() : null;
        if (res.n !== undefined ? !(res.n === 4 && got === 'abcd') : !(res.same && got === null)) bad.push({ K, calls, res, got });
      }
      console.log(JSON.stringify({ bad }));`);
    expectClean(r);
    expect(r.json?.bad, describeChild(r)).toEqual([]);
  });

  it('soreceive with a Uio whose element getter throws from its K-th read on → that Error, or a correct receive', () => {
    const r = runNode(`
      const k = require(DIST);
      const [a, b] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
      const boom = new Error('boom');
      const bad = [];
      for (let K = 0; K < 8; K++) {
        a.trySendmsg(Buffer.from('abcd'));
        let calls = 0;
        const b1 = Buffer.alloc(2), b2 = Buffer.alloc(2);
        const uio = new k.Uio([b1, b2]);
        const arr = [b1];
        Object.defineProperty(arr, 1, { enumerable: true, get() { if (calls++ >= K) throw boom; return b2; } });
        uio.uio_iov = arr;
        let res;
        try { res = { e: k.soreceive(b, null, uio, null, null, { value: k.MSG_DONTWAIT }) }; } catch (e) { res = { same: e === boom, e: String(e) }; }
        if (res.same === undefined ? !(res.e === 0 && uio.moved === 4 && b1.toString() + b2.toString() === 'abcd') : !res.same) bad.push({ K, calls, res });
        for (let i = 0; i < 10 && b.tryRecvmsg(); i++);
      }
      console.log(JSON.stringify({ bad }));`);
    expectClean(r);
    expect(r.json?.bad, describeChild(r)).toEqual([]);
  });

  it('a DataView as data → TypeError or a correct send', () => {
    const r = runNode(outcome(`const dv = new DataView(new ArrayBuffer(8)); dv.setUint8(0, 0x41); return a.trySendmsg({ data: dv });`));
    expectClean(r);
    if (r.json?.ok) expect(r.json, describeChild(r)).toMatchObject({ value: 8, got: 'A' + '\0'.repeat(7) });
    else expect(r.json?.name, describeChild(r)).toBe('TypeError');
  });

  it('a DataView whose prototype is Buffer.prototype (Buffer.isBuffer says true) → TypeError or a correct send', () => {
    const r = runNode(outcome(`const dv = new DataView(new ArrayBuffer(8)); dv.setUint8(0, 0x41); Object.setPrototypeOf(dv, Buffer.prototype);
      if (!Buffer.isBuffer(dv)) throw new Error('premise: Buffer.isBuffer(dv)'); return a.trySendmsg({ data: dv });`));
    expectClean(r);
    if (r.json?.ok) expect(r.json, describeChild(r)).toMatchObject({ value: 8, got: 'A' + '\0'.repeat(7) });
    else expect(r.json?.name, describeChild(r)).toBe('TypeError');
  });

  it('a DataView posing as a Buffer in a control item\'s data and in a data array → TypeError or a correct send', () => {
    const r = runNode(outcome(`const dv = new DataView(new ArrayBuffer(8)); Object.setPrototypeOf(dv, Buffer.prototype);
      const r1 = (() => { try { return a.trySendmsg({ data: [Buffer.from('x'), dv] }); } catch (e) { if (!(e instanceof TypeError)) throw e; return 'TypeError'; } })();
      b.tryRecvmsg();
      const r2 = (() => { try { return a.trySendmsg({ data: Buffer.from('y'), control: [{ level: k.SOL_SOCKET, type: 9999, data: dv }] }); } catch (e) { if (!(e instanceof Error)) throw e; return e.name; } })();
      return [r1, r2];`));
    expectClean(r);
    expect(r.json?.ok, describeChild(r)).toBe(true);
    expect([9, 'TypeError'], describeChild(r)).toContain(r.json.value[0]);
  });
});

// ------------------------------------------------ sendmmsg message shapes

describe('sendmmsg: hostile message lists and message objects', () => {
  // Each shape, through trySendmmsg and the async sendmmsg, on an AF_UNIX
  // datagram pair and on a UDP socket: a TypeError/RangeError, the caller's
  // own Error, a SocketError from the kernel, or a count — never a crash.
  const shapes: Record<string, string> = {
    'a sparse message list': `new Array(4)`,
    'a message list of length 2**32 - 1': `(() => { const m = []; m.length = 2 ** 32 - 1; return m; })()`,
    'a Proxy of a message list': `new Proxy([{ data: Buffer.from('x') }], { get(t, p) { if (p === 'length') return 1; throw boom; } })`,
    'a Proxy message whose traps throw': `[new Proxy({}, { get() { throw boom; }, has() { throw boom; }, ownKeys() { throw boom; }, getOwnPropertyDescriptor() { throw boom; } })]`,
    'a message whose data getter throws': `[{ get data() { throw boom; } }]`,
    'a message whose to getter throws': `[{ data: Buffer.from('x'), get to() { throw boom; } }]`,
    'a message whose control getter throws': `[{ data: Buffer.from('x'), get control() { throw boom; } }]`,
    'a message list element getter that throws': `(() => { const m = [Buffer.from('x')]; Object.defineProperty(m, 1, { get() { throw boom; } }); return m; })()`,
    'a message data list of length 2**32 - 1': `(() => { const d = []; d.length = 2 ** 32 - 1; return [{ data: d }]; })()`,
    'a message data list longer than IOV_MAX': `[{ data: new Array(5000).fill(Buffer.from('x')) }]`,
    'a sparse message data list': `[{ data: new Array(3) }]`,
    'a to Buffer longer than sockaddr_storage': `[{ data: Buffer.from('x'), to: Buffer.alloc(1 << 20) }]`,
    'a detached to Buffer': `(() => { const t = Buffer.alloc(16); structuredClone(t.buffer, { transfer: [t.buffer] }); return [{ data: Buffer.from('x'), to: t }]; })()`,
    'a to of the wrong family': `[{ data: Buffer.from('x'), to: { family: k.AF_INET6, address: '::1', port: 9 } }, Buffer.from('y')]`,
    'a to of an unknown family with a huge data field': `[{ data: Buffer.from('x'), to: { family: 12345, data: Buffer.alloc(1 << 20) } }]`,
    'a to that is a number, a string, a symbol': `[{ data: Buffer.from('x'), to: 5 }, { data: Buffer.from('x'), to: 'x' }, { data: Buffer.from('x'), to: Symbol('s') }]`,
    'a DataView as to and as data': `[{ data: new DataView(new ArrayBuffer(8)), to: new DataView(new ArrayBuffer(16)) }]`,
    'a control list of length 2**32 - 1 in a message': `(() => { const c = []; c.length = 2 ** 32 - 1; return [{ data: Buffer.from('x'), control: c }]; })()`,
    'control items of 512 KiB in 64 messages (32 MiB in all)': `Array.from({ length: 64 }, () => ({ data: Buffer.from('x'), control: [{ level: 1, type: 9999, data: Buffer.alloc(1 << 19) }] }))`,
    'SCM_RIGHTS with a descriptor number nobody has': `[{ data: Buffer.from('x'), control: [{ level: k.SOL_SOCKET, type: k.constants.SCM_RIGHTS, fds: [999999] }] }]`,
    'an element that is an array, a string, a function': `[[Buffer.from('x')], 'x', () => 0]`,
  };
  const faces: Record<string, string> = {
    trySendmmsg: `return s.trySendmmsg(M);`,
    sendmmsg: `return await s.sendmmsg(M, { timeout: 200 });`,
  };
  for (const [name, shape] of Object.entries(shapes)) {
    it(`${name} → TypeError/RangeError, the caller's Error, a SocketError or a count`, () => {
      const r = runNode(`
const k = require(DIST);
const boom = new Error('boom');
const [a, b] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
const u = k.Socket.create(k.AF_INET, k.SOCK_DGRAM).bind({ family: k.AF_INET, address: '127.0.0.1', port: 0 });
const bad = [];
(async () => {
  for (const s of [a, u]) {
    ${Object.entries(faces).map(([face, call]) => `{
      const M = ${shape};
      let out;
      try { out = await (async () => { ${call} })(); } catch (e) { out = e; }
      const ok = typeof out === 'number' || out === null || out === boom || out instanceof TypeError || out instanceof RangeError || out instanceof k.SocketError;
      if (!ok) bad.push({ face: ${JSON.stringify(face)}, out: String(out && out.stack || out) });
    }`).join('\n')}
  }
  for (let i = 0; i < 100 && b.tryRecvmsg(); i++);
  for (const s of [a, b, u]) await s.close();
  console.log(JSON.stringify({ bad }));
})();`, { timeout: 20_000 });
      expectClean(r);
      expect(r.json?.bad, describeChild(r)).toEqual([]);
    });
  }
});

// ------------------------------------------------------------- toNetSocket

describe('toNetSocket with options that make it throw', () => {
  // Warm up Node's net machinery once, so that the descriptors it opens lazily are not counted.
  beforeEach(async () => {
    const [w1, w2] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_STREAM);
    w1.toNetSocket().destroy();
    await w2.close();
    await new Promise((r) => setTimeout(r, 20));
  });

  const bad: Record<string, () => object> = {
    'a getter that throws': () => ({ get readable(): boolean { throw new Error('boom'); } }),
    'signal: 5 (net.Socket refuses it)': () => ({ signal: 5 }),
    'handle: 5 (net.Socket refuses it)': () => ({ handle: 5 }),
  };
  for (const [name, make] of Object.entries(bad)) {
    it(`${name} → throws, and no descriptor is leaked`, async () => {
      const before = openFds().length;
      const [s1, s2] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_STREAM);
      expect(() => s1.toNetSocket(make() as never)).toThrow();
      // Whatever state the Socket is left in, closing it releases everything.
      await s1.close().catch(() => undefined);
      await s2.close();
      let after = openFds().length;
      for (let i = 0; i < 20 && after !== before; i++) {
        await new Promise((r) => setTimeout(r, 10));
        after = openFds().length;
      }
      expect(after, 'descriptors open after the failed toNetSocket and close()').toBe(before);
    });
  }

  it('{ fd: "x" } is not the descriptor used: the net.Socket works, and destroying it leaks nothing', async () => {
    const before = openFds().length;
    const [s1, s2] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_STREAM);
    let ns: import('node:net').Socket | null = null;
    try {
      ns = s1.toNetSocket({ fd: 'x' } as never);
    } catch (e) {
      expect(e).toBeInstanceOf(TypeError);
    }
    if (ns !== null) {
      const got = new Promise<string>((r) => ns!.once('data', (d) => r(d.toString())));
      await s2.sendmsg(Buffer.from('hi'));
      expect(await got).toBe('hi');
      await new Promise<void>((r) => ns!.destroy().once('close', () => r()));
    }
    await s1.close().catch(() => undefined);
    await s2.close();
    expect(openFds().length).toBe(before);
  });
});

// ------------------------------------------------------------------ fromFd

describe('Socket.fromFd of a descriptor another Socket owns', () => {
  it('throws a clear Error instead of making a second owner', async () => {
    const [s1, s2] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
    let twin: k.Socket | null = null;
    try {
      expect(() => {
        twin = k.Socket.fromFd(s1.fd);
      }).toThrow(Error);
    } finally {
      // If a twin was made, closing it would close s1's descriptor: forget it instead.
      if (twin !== null) (twin as k.Socket)._detach();
    }
    // s1 still works.
    expect(s1.trySendmsg(Buffer.from('x'))).toBe(1);
    expect(s2.tryRecvmsg()?.data.toString()).toBe('x');
    await s1.close();
    await s2.close();
  });

  it('with { dup: true } gives an independent Socket: closing either leaves the other working', async () => {
    const [s1, s2] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
    const d = k.Socket.fromFd(s1.fd, { dup: true });
    expect(d.fd).not.toBe(s1.fd);
    expect(d.trySendmsg(Buffer.from('d'))).toBe(1);
    expect(s2.tryRecvmsg()?.data.toString()).toBe('d');
    await d.close();
    expect(s1.trySendmsg(Buffer.from('s'))).toBe(1);
    expect(s2.tryRecvmsg()?.data.toString()).toBe('s');
    const d2 = k.Socket.fromFd(s1.fd, { dup: true });
    await s1.close();
    expect(d2.trySendmsg(Buffer.from('e'))).toBe(1);
    expect(s2.tryRecvmsg()?.data.toString()).toBe('e');
    await d2.close();
    await s2.close();
  });
});

// ------------------------------------------------------- reused AbortSignal

describe('one AbortSignal reused for many waits', () => {
  let warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  beforeEach(() => {
    warnings = [];
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });

  async function reuse(wait: (a: k.Socket, b: k.Socket, signal: AbortSignal) => Promise<unknown>, queuedFirst: boolean): Promise<number> {
    const [a, b] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
    const ac = new AbortController();
    try {
      for (let i = 0; i < 20; i++) {
        if (queuedFirst) a.trySendmsg(Buffer.from('x'));
        else setTimeout(() => a.trySendmsg(Buffer.from('x')), 1);
        await wait(a, b, ac.signal);
      }
      await new Promise((r) => setTimeout(r, 10)); // let a warning be emitted
      return getEventListeners(ac.signal, 'abort').length;
    } finally {
      await a.close();
      await b.close();
    }
  }

  const waits: Record<string, (a: k.Socket, b: k.Socket, signal: AbortSignal) => Promise<unknown>> = {
    'recvmsg({ signal })': (_a, b, signal) => b.recvmsg({ signal }),
    'recvmsg({ signal, timeout: 1000 })': (_a, b, signal) => b.recvmsg({ signal, timeout: 1000 }),
    'readable({ signal })': async (_a, b, signal) => {
      await b.readable({ signal });
      b.tryRecvmsg();
    },
    'readable({ signal, timeout: 1000 })': async (_a, b, signal) => {
      await b.readable({ signal, timeout: 1000 });
      b.tryRecvmsg();
    },
  };
  for (const [name, wait] of Object.entries(waits)) {
    for (const queuedFirst of [false, true]) {
      it(`20 × ${name}, each satisfied by a datagram ${queuedFirst ? 'already queued' : 'sent while it sleeps'} → no listener left, no MaxListenersExceededWarning`, async () => {
        const left = await reuse(wait, queuedFirst);
        expect(left, 'abort listeners still registered on the signal').toBe(0);
        expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map(String)).toEqual([]);
      });
    }
  }
});

// ------------------------------------ recvmmsg: descriptors of earlier messages

describe.runIf(existsSync('/proc/self/fd'))('recvmmsg with control data, when building the result fails part-way (counted in /proc/self/fd)', () => {
  // Decoding fails at message i when assigning a received item's `fds` runs
  // JavaScript that throws: here a setter on Object.prototype (prototype
  // pollution, as hostile code could do) that throws at its second use. The
  // descriptors of message 0, already decoded, must not be leaked.
  const scenario = (setup: string): string => `
const k = require(DIST);
const fs = require('node:fs');
const count = () => fs.readdirSync('/proc/self/fd').length;
(async () => {
  const [a, b] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
  const before = count();
  for (let i = 0; i < 3; i++) {
    const [x, y] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
    a.trySendmsg({ data: Buffer.from('m' + i), control: [{ level: k.SOL_SOCKET, type: k.constants.SCM_RIGHTS, fds: [x.fd, y.fd] }] });
    await x.close(); await y.close();
  }
  const batch = new k.RecvBatch(4, 64, false, k.CMSG_SPACE(16));
  const boom = new Error('boom');
  let uses = 0;
  ${setup}
  let res;
  try { res = { n: b.tryRecvmmsg(batch) }; } catch (e) { res = { same: e === boom, e: String(e) }; }
  delete Object.prototype.fds;
  if (res.n) for (let i = 0; i < res.n; i++) for (const it of batch.control(i)) if (typeof it.close === 'function') it.close();
  let after = count();
  for (let i = 0; i < 50 && after !== before; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); after = count(); }
  await a.close(); await b.close();
  console.log(JSON.stringify({ res, uses, before, after }));
})();`;

  it('a throwing setter for `fds` at message 1 → the error, and message 0\'s descriptors are closed', () => {
    const r = runNode(scenario(`Object.defineProperty(Object.prototype, 'fds', { configurable: true, set(v) {
      if (++uses === 2) throw boom; Object.defineProperty(this, 'fds', { value: v, writable: true, enumerable: true, configurable: true }); } });`),
    { execArgv: ['--expose-gc'] });
    expectClean(r);
    expect(r.json, describeChild(r)).toBeDefined();
    expect(r.json.after, `descriptors leaked: ${JSON.stringify(r.json)}`).toBe(r.json.before);
  });

  it('a result holder whose `value` setter throws when the native call fills it → no received descriptor is leaked', () => {
    const r = runNode(scenario(`Object.defineProperty(batch, '_controls', { value: { get value() { return null; }, set value(v) { if (++uses === 2) throw boom; } } });`),
      { execArgv: ['--expose-gc'] });
    expectClean(r);
    expect(r.json, describeChild(r)).toBeDefined();
    expect(r.json.after, `descriptors leaked: ${JSON.stringify(r.json)}`).toBe(r.json.before);
  });
});
