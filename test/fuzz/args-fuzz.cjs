'use strict';
// A seeded, bounded argument fuzzer over every export of ksock, every method
// of its classes, and every function and class of the raw native addon.
//
//   node --expose-gc test/fuzz/args-fuzz.cjs
//   KSOCK_FUZZ_SEED=123 KSOCK_FUZZ_ITER=3000 KSOCK_FUZZ_MS=60000 \
//   KSOCK_FUZZ_SKIP=native.close,Socket#_release KSOCK_FUZZ_JOURNAL=/tmp/j.log node …
//
// Each call must return (a promise is awaited for at most 200 ms; a rejection
// is fine) or throw synchronously. A thrown value that is not an Error is
// acceptable only when it is the fuzzer's own (a getter or trap threw it).
// Every socket the fuzzer makes is closed, and at the end the process has the
// descriptors it started with; otherwise it exits 1. A crash kills the
// process: the journal's last line names the call.
//
// Descriptor numbers: the fuzzer never passes a number that is the descriptor
// of something it does not own (stdio, the IPC channel, libuv's epoll fd …).
// Integers in [0, 1e6] are only passed when no descriptor of that number is
// open, or when it is one of the fuzzer's own raw descriptors (socketpairs it
// detached for the purpose). Socket objects are passed as objects.
//
// Safety: socket creation never gets AF_NETLINK or AF_PACKET, nor SOCK_RAW or
// SOCK_PACKET (the fuzzer must not send random frames or netlink requests
// anywhere); named network namespaces are never created or removed (netnsAdd and
// netnsDelete only get names they refuse); addresses come from a loopback-only pool; the working directory is
// a fresh temporary directory (AF_UNIX binds create files there).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');

const root = path.join(__dirname, '..', '..');
const k = require(path.join(root, 'dist', 'index.js'));
const native = process.env.KSOCK_NATIVE
  ? require(path.resolve(root, process.env.KSOCK_NATIVE))
  : require(require.resolve('node-gyp-build', { paths: [root] }))(root);

const SEED = Number(process.env.KSOCK_FUZZ_SEED ?? 0x6b736f63) >>> 0;
const ITER = Number(process.env.KSOCK_FUZZ_ITER ?? 3000);
const WALL_MS = Math.min(Number(process.env.KSOCK_FUZZ_MS ?? 60_000), 120_000);
const SKIP = new Set((process.env.KSOCK_FUZZ_SKIP ?? '').split(',').filter(Boolean));
const JOURNAL = process.env.KSOCK_FUZZ_JOURNAL ?? null;
const PROMISE_MS = 200;
const FD_DIR = '/proc/self/fd';

// ------------------------------------------------------------------ PRNG

function mulberry32(a) {
  return function () {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(SEED);
const int = (n) => Math.floor(rnd() * n);
const pick = (arr) => arr[int(arr.length)];
const chance = (p) => rnd() < p;

// ------------------------------------------------------------ bookkeeping

const startDir = process.cwd();
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ksock-fuzz-'));
process.chdir(workDir);

const listFds = () => fs.readdirSync(FD_DIR).map(Number).filter((n) => Number.isInteger(n));
const link = (fd) => { try { return fs.readlinkSync(`${FD_DIR}/${fd}`); } catch { return null; } };
const startFds = new Set(listFds());
const startLinks = new Map([...startFds].map((fd) => [fd, link(fd)]));

/** Every Socket the fuzzer has seen (made, returned, put in a holder): closed at the end. */
const sockets = new Set();
/** The descriptor each Socket had when the fuzzer first saw it. */
const sockFd = new Map();
/** net.Sockets returned by toNetSocket. */
const netSockets = new Set();
/** Raw descriptors the fuzzer owns, with the inode link they had: closed at the end if unchanged. */
const rawFds = new Map();
/** Received control items with a close() (unclaimed SCM_RIGHTS). */
const rights = new Set();
/** Which call first made each descriptor that appeared. */
const madeBy = new Map();

/** The fuzzer's own thrown non-Error value, and its own Error. */
const THROWN = Object.freeze({ fuzz: 'thrown' });
class FuzzError extends Error {}
let lastGc = 0;
/** gc() at most every 50 ms: a full collection in every getter would make the run crawl. */
const maybeGc = () => { const now = Date.now(); if (globalThis.gc && now - lastGc > 50) { lastGc = now; globalThis.gc(); } };
const fuzzThrow = () => { throw chance(0.5) ? THROWN : new FuzzError('fuzz getter'); };
const isOwnThrow = (e) => e === THROWN || e instanceof FuzzError;

const stats = { calls: 0, returned: 0, threw: {}, rejected: {}, pending: 0, findings: [] };
// Findings while calling a `_`-prefixed internal member are noted, not failures.
// Descriptors orphaned by the raw addon (dup without an owner …) or that cannot
// be attributed to one call are noted too: the raw addon hands out numbers.
const finding = (what, detail) => {
  const origin = detail.call ?? detail.madeBy ?? '';
  if (/^native\./.test(origin) || (what.startsWith('descriptor') && !/^[A-Za-z_.#@ ]+\(/.test(origin))) {
    if (stats.findings.length < 200) stats.findings.push({ what, note: 'raw addon or unattributed', ...detail });
    return;
  }
  const internal = /#(get )?_/.test(detail.call ?? detail.madeBy ?? '') || /^at Socket\._\w+ .* < at Object\.call \(args-fuzz/.test(detail.stack ?? '') ||
    (detail.stack !== undefined && !/dist|ksock|native/.test(detail.stack));
  if (stats.findings.length < 200) stats.findings.push({ what, ...(internal ? { internal } : {}), ...detail });
};

let journalFd = null;
if (JOURNAL) journalFd = fs.openSync(JOURNAL, 'w');
const journal = (line) => {
  if (journalFd !== null) fs.writeSync(journalFd, (line.startsWith('SUMMARY') ? line : line.slice(0, 2000)) + '\n');
};

let current = '';
process.on('uncaughtException', (e) => {
  if (!isOwnThrow(e)) finding('uncaught exception', { error: describe(e), stack: stackOf(e), during: current.slice(0, 300) });
});
process.on('unhandledRejection', (e) => {
  if (!isOwnThrow(e)) finding('unhandled rejection', { error: describe(e), stack: stackOf(e), during: current.slice(0, 300) });
});
const stackOf = (e) => String(e?.stack ?? '').split('\n').slice(1, 6).map((l) => l.trim().replace(/\(.*[\\/]/, '(')).join(' < ');
let warnings = 0;
process.on('warning', () => { warnings++; });

function describe(v, depth = 0) {
  try {
    if (v === THROWN) return '<THROWN>';
    if (v instanceof Error) return `${v.constructor?.name ?? 'Error'}(${JSON.stringify(String(v.message).slice(0, 120))})`;
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'symbol') return v.toString();
    if (typeof v === 'function') return v.name ? `fn ${v.name}` : 'fn';
    if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + `…(${v.length})` : v);
    if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
    if (v === null || typeof v !== 'object') return String(v);
    if (v.__desc) return v.__desc;
    if (v instanceof k.Socket) return `Socket(fd ${v.fd})`;
    if (Buffer.isBuffer(v)) return `Buffer(${v.length})`;
    if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength})`;
    if (Array.isArray(v)) {
      if (v.length > 8) return `Array(length ${v.length})`;
      return depth > 2 ? '[…]' : `[${Array.from({ length: v.length }, (_, i) => (i in v ? describe(Object.getOwnPropertyDescriptor(v, i)?.get ? '<getter>' : v[i], depth + 1) : '<hole>')).join(', ')}]`;
    }
    if (depth > 2) return '{…}';
    const keys = Object.keys(v).slice(0, 8);
    return `{${keys.map((key) => {
      const d = Object.getOwnPropertyDescriptor(v, key);
      return `${key}: ${d.get ? '<getter>' : describe(d.value, depth + 1)}`;
    }).join(', ')}}`;
  } catch {
    return require('node:util').types.isProxy(v) ? `<Proxy of ${Array.isArray(v) ? 'an array' : 'an object'} with throwing traps>` : '<indescribable>';
  }
}

// -------------------------------------------------------- socket fixtures

const AF_NETLINK = k.constants.AF_NETLINK ?? 16;
const AF_PACKET = k.constants.AF_PACKET ?? 17;
const SOCK_PACKET = k.constants.SOCK_PACKET ?? 10;

function track(v, depth = 0) {
  try {
    trackUnsafe(v, depth);
  } catch {
    // a proxy or getter of the fuzzer's: nothing to track there
  }
}

function trackUnsafe(v, depth) {
  if (v === null || typeof v !== 'object' || depth > 2) return;
  if (v instanceof k.Socket) {
    sockets.add(v);
    if (!sockFd.has(v) && Number.isInteger(v.fd) && v.fd >= 0) sockFd.set(v, { fd: v.fd, link: link(v.fd) });
    return;
  }
  if (v instanceof net.Socket) { netSockets.add(v); return; }
  if (k.PcapWriter && v instanceof k.PcapWriter) { rights.add(v); return; } // a file it opened: closed with the round
  if (typeof v.close === 'function' && v.level !== undefined && v.type !== undefined) rights.add(v);
  if (Array.isArray(v)) { for (let i = 0; i < Math.min(v.length, 16); i++) track(v[i], depth + 1); return; }
  // 'socket' and 'nl': netlink sessions (Netlink, RouteNetlink, GenericNetlink) hold their Socket there.
  for (const key of ['value', 'control', 'data', 'socket', 'nl']) {
    const d = Object.getOwnPropertyDescriptor(v, key);
    if (d && 'value' in d) track(d.value, depth + 1);
  }
}

const bindLo = (s) => s.bind({ family: k.AF_INET, address: '127.0.0.1', port: 0 });

/** The round's receivers and argument sockets: UDP, a TCP pair, an AF_UNIX pair, a closed one. */
async function fixtures() {
  const udp = bindLo(k.Socket.create(k.AF_INET, k.SOCK_DGRAM));
  const l = bindLo(k.Socket.create(k.AF_INET, k.SOCK_STREAM)).listen();
  const tcp = k.Socket.create(k.AF_INET, k.SOCK_STREAM);
  await tcp.connect(l.address());
  const tcpPeer = await l.accept();
  const [ua, ub] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_STREAM);
  const [da, db] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
  const closed = k.Socket.create(k.AF_INET, k.SOCK_DGRAM);
  await closed.close();
  for (const s of [udp, l, tcp, tcpPeer, ua, ub, da, db, closed]) track(s);
  // Raw descriptors for the raw addon: a detached socketpair, owned by the fuzzer.
  const [ra, rb] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
  const raw = [ra.detach(), rb.detach()];
  for (const fd of raw) rawFds.set(fd, link(fd));
  return { udp, udpPort: udp.address().port, l, tcp, tcpPeer, ua, ub, da, db, closed, raw };
}
let fx = null;

// ------------------------------------------------------ value generators

/** True when `n` may be passed: not the number of a descriptor the fuzzer does not own. */
function safeInt(n) {
  if (!Number.isInteger(n) || n < 0 || n > 1e6) return true;
  if (rawFds.has(n) && rawFds.get(n) === link(n)) return true;
  return link(n) === null;
}
/** `n`, or a safe replacement when `n` is the number of a descriptor the fuzzer does not own. */
const num = (n) => (safeInt(n) ? n : ownFdOrFar());

function ownFdOrFar() {
  const own = [...rawFds.keys()].filter((fd) => rawFds.get(fd) === link(fd));
  return own.length > 0 && chance(0.7) ? pick(own) : 1_000_000 + 1 + int(1000);
}

const numericConstants = Object.entries(k).filter(([, v]) => typeof v === 'number').map(([, v]) => v)
  .concat(Object.values(k.constants).filter((v) => typeof v === 'number'));

function genNumber() {
  let n;
  switch (int(6)) {
    case 0: n = pick([0, -1, -0, 1.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 31) - 1, 2 ** 31 - 1, 2 ** 63]); break;
    case 1: n = int(21); break; // fd-like
    case 2: n = pick(numericConstants); break;
    case 3: return ownFdOrFar();
    case 4: n = int(70000); break;
    default: n = -int(100); break;
  }
  return num(n);
}

const addressPool = () => pick([
  { family: k.AF_INET, address: '127.0.0.1', port: fx ? fx.udpPort : 9 },
  { family: k.AF_INET, address: '127.0.0.1', port: genNumber() },
  { family: k.AF_INET6, address: '::1', port: 0 },
  { family: k.AF_UNIX, path: '\0ksock-fuzz-' + int(4) },
  { family: k.AF_UNIX, path: 'fuzz-' + int(4) },
  { family: genNumber(), address: pick(['127.0.0.1', 'x', '', '::1']), port: genNumber() },
  k.sockaddr({ family: k.AF_INET, address: '127.0.0.1', port: 9 }),
]);

const strings = () => pick(['', 'SO_RCVBUF', 'SOL_SOCKET', 'SO_LINGER', 'IPPROTO_TCP', 'TCP_NODELAY', 'x', '127.0.0.1', '::1', 'lo',
  '\0abs', 'é\u{1F600}', 'a\0b', 'x'.repeat(300), 'y'.repeat(1 << 20)]);

function detachable(n) {
  const buf = Buffer.alloc(n);
  buf.__detach = () => { if (buf.length > 0) structuredClone(buf.buffer, { transfer: [buf.buffer] }); };
  return buf;
}

const fields = ['fd', 'value', 'family', 'address', 'port', 'path', 'level', 'type', 'data', 'fds', 'size', 'into', 'control', 'flags',
  'signal', 'timeout', 'to', 'onoff', 'linger', 'space', 'uio_iov', 'uio_resid', 'sopt_data', 'sopt_valsize', 'ttl', 'segsize'];

function genObject(depth) {
  const o = {};
  const n = int(5);
  for (let i = 0; i < n; i++) o[pick(fields)] = gen(depth + 1);
  return o;
}

function withGetter(depth, mode) {
  const o = genObject(depth);
  const key = pick(fields);
  const victim = detachable(4096 + int(8192));
  let calls = 0;
  const value = gen(depth + 1);
  Object.defineProperty(o, key, {
    enumerable: true,
    configurable: true,
    get() {
      calls++;
      if (mode === 'throw') fuzzThrow();
      if (mode === 'detach' && calls > int(3)) { victim.__detach(); maybeGc(); }
      return value;
    },
  });
  o.__victim = victim;
  return o;
}

/**
 * `arr` with length 2**32 - 1. Element 0 must not be a Buffer:
 * `[…holes].every(Buffer.isBuffer)` is true and walks 2**32 indices (minutes),
 * a finding reported once, separately. A primitive conversion (a join of
 * 2**32 holes) would hang as well, so the array has its own.
 */
function huge(arr) {
  arr.length = 2 ** 32 - 1;
  Object.defineProperty(arr, Symbol.toPrimitive, { value: () => NaN });
  return arr;
}

function genArray(depth) {
  switch (int(8)) {
    case 0: return [];
    case 1: return [, , ,];
    case 2: return huge([pick([{}, 1, 'x', null])]);
    case 3: return [gen(depth + 1), [gen(depth + 2)]];
    case 4: return [Buffer.from('ab'), Buffer.alloc(3)];
    case 5: {
      const victim = detachable(4096 + int(4096));
      const a = [victim];
      let calls = 0;
      Object.defineProperty(a, 1, { enumerable: true, get() { if (calls++ >= int(4)) { if (chance(0.5)) fuzzThrow(); victim.__detach(); } return Buffer.alloc(2); } });
      return a;
    }
    case 6: return [{ level: k.SOL_SOCKET, type: k.constants.SCM_RIGHTS, fds: [ownFdOrFar()] }];
    default: return Array.from({ length: 1 + int(4) }, () => gen(depth + 1));
  }
}

function genProxy(depth) {
  const target = chance(0.5) ? [] : genObject(depth);
  const handler = {};
  for (const trap of ['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'set', 'getPrototypeOf', 'defineProperty']) {
    if (chance(0.5)) handler[trap] = () => fuzzThrow();
  }
  return new Proxy(target, handler);
}

function genSocket() {
  if (!fx) return null;
  switch (int(5)) {
    case 0: return fx.closed;
    case 1: return Object.create(k.Socket.prototype);
    default: return pick([fx.udp, fx.tcp, fx.tcpPeer, fx.ua, fx.ub, fx.da, fx.db, fx.l]);
  }
}

function genInstance() {
  try {
    switch (int(6)) {
      case 0: return new k.Uio(chance(0.5) ? Buffer.alloc(16) : [Buffer.alloc(4), Buffer.alloc(8)], chance(0.5) ? k.UIO_READ : k.UIO_WRITE);
      case 1: return new k.RecvBatch(1 + int(4), 1 + int(128), chance(0.5), chance(0.5) ? 0 : k.CMSG_SPACE(8));
      case 2: return new k.Sockopt();
      case 3: return new k.Channel('fuzz');
      case 4: return new k.SocketError(k.EINVAL, 'fuzz');
      default: { const h = { value: null }; h.__desc = '{value: null}'; return h; }
    }
  } catch {
    return {};
  }
}

/** A cmsg item: well-formed, or with one hostile field. */
function genCmsg(depth) {
  const it = pick([
    () => ({ level: k.SOL_SOCKET, type: k.constants.SCM_RIGHTS, fds: [ownFdOrFar()] }),
    () => ({ level: k.constants.IPPROTO_IP ?? 0, type: k.constants.IP_TTL ?? 2, data: Buffer.alloc(4) }),
    () => ({ level: k.SOL_SOCKET, type: k.constants.SCM_CREDENTIALS ?? 2 }),
    () => ({ level: genNumber(), type: genNumber(), data: gen(depth + 1) }),
  ])();
  if (chance(0.5)) hostileLeaf(it, depth);
  return it;
}

/** Replaces one field of `o` by a hostile value or accessor. */
function hostileLeaf(o, depth) {
  try {
    return hostileLeafUnsafe(o, depth);
  } catch {
    return o;
  }
}

function hostileLeafUnsafe(o, depth) {
  const keys = Object.keys(o);
  if (keys.length === 0) return o;
  const key = pick(keys);
  const value = o[key];
  switch (int(4)) {
    case 0: Object.defineProperty(o, key, { enumerable: true, get: fuzzThrow }); break;
    case 1: {
      const victim = pick(Object.values(o).filter((v) => Buffer.isBuffer(v)).concat([detachable(4096)]));
      let n = 0;
      Object.defineProperty(o, key, { enumerable: true, get() { if (n++ >= 1) { try { structuredClone(victim.buffer, { transfer: [victim.buffer] }); } catch { /* pool */ } maybeGc(); } return value; } });
      break;
    }
    default: o[key] = gen(depth + 1);
  }
  return o;
}

/**
 * A sendmmsg batch: Buffers and { data, to?, control? } message objects (a
 * Buffer or a Buffer list, an address object, a sockaddr() Buffer, null or
 * nothing, a control list or null), with hostile fields, elements and lengths.
 */
function genMessages(depth) {
  const one = () => {
    if (chance(0.3)) return pick([Buffer.from('m'), detachable(4096)]);
    const m = { data: chance(0.7) ? detachable(4096) : [detachable(4096), Buffer.alloc(4)] };
    const to = int(4);
    if (to === 0) m.to = addressPool();
    else if (to === 1) { try { m.to = k.sockaddr(addressPool()); } catch { m.to = Buffer.alloc(16); } }
    else if (to === 2) m.to = null;
    if (chance(0.4)) m.control = chance(0.8) ? [genCmsg(depth + 1)] : null;
    return chance(0.4) ? hostileLeaf(m, depth) : m;
  };
  const list = Array.from({ length: 1 + int(4) }, one);
  switch (int(8)) {
    case 0: list.length += 2; break; // sparse tail
    case 1: huge(list); break;
    case 2: {
      let n = 0;
      const lim = int(4), victim = list.find((m) => Buffer.isBuffer(m)) ?? detachable(64);
      Object.defineProperty(list, list.length, { enumerable: true, get() { if (n++ >= lim) { victim.__detach?.(); maybeGc(); } return one(); } });
      break;
    }
    case 3: return new Proxy(list, { get(t, p) { return p === 'length' ? t.length : fuzzThrow(); } });
    case 4: list.push(gen(depth + 1)); break;
    default: break;
  }
  return list;
}

/** A value shaped like what socket calls take: a raw descriptor, a Buffer, a flag, an options object, a list. */
function plausible(depth) {
  switch (int(11)) {
    case 10: return genMessages(depth);
    case 0: case 1: return ownFdOrFar();
    case 2: return pick([Buffer.alloc(16), Buffer.alloc(8192), Buffer.from('abc'), new Int32Array(12)]);
    case 3: return num(pick([0, k.MSG_DONTWAIT, k.MSG_PEEK, 4, 64, 65536]));
    case 4: return pick([null, undefined]);
    case 5: return { value: null };
    case 6: {
      const arr = [genCmsg(depth)];
      if (chance(0.1)) arr.length = 3;
      else if (chance(0.1)) huge(arr);
      if (chance(0.2)) return new Proxy(arr, { get(t, p) { return p === 'length' ? t.length : fuzzThrow(); } });
      return arr;
    }
    case 7: {
      const bufs = [detachable(4096), Buffer.alloc(8)];
      return chance(0.5) ? hostileLeaf(bufs, depth) : bufs;
    }
    case 8: return addressPool();
    default: {
      const o = { data: chance(0.7) ? detachable(4096) : [detachable(4096), Buffer.alloc(4)], to: chance(0.5) ? addressPool() : null,
        control: chance(0.5) ? [genCmsg(depth)] : null, flags: num(pick([0, k.MSG_DONTWAIT])), into: detachable(4096), size: num(pick([0, 16, 2 ** 31])),
        signal: chance(0.2) ? AbortSignal.abort() : undefined, timeout: chance(0.3) ? 50 : undefined };
      return chance(0.6) ? hostileLeaf(o, depth) : o;
    }
  }
}

function gen(depth = 0) {
  if (depth > 3) return pick([undefined, null, num(0), 'x']);
  if (depth === 0 && chance(0.5)) return plausible(depth);
  switch (int(24)) {
    case 0: return undefined;
    case 1: return null;
    case 2: return chance(0.5);
    case 3: case 4: case 5: return genNumber();
    case 6: return strings();
    case 7: return pick([Symbol('fuzz'), Symbol.iterator]);
    case 8: return pick([0n, -1n, 2n ** 64n]);
    case 9: return genObject(depth);
    case 10: return withGetter(depth, 'throw');
    case 11: return withGetter(depth, 'detach');
    case 12: return genProxy(depth);
    case 13: case 14: return genArray(depth);
    case 15: return pick([Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(70000), Buffer.alloc(16), (() => { const b = detachable(8192); b.__detach(); return b; })()]);
    case 16: return pick([new DataView(new ArrayBuffer(8)), new Uint8Array(8), new Int32Array(12), new Float64Array(2),
      (() => { const d = new DataView(new ArrayBuffer(8)); Object.setPrototypeOf(d, Buffer.prototype); return d; })()]);
    case 17: return pick([() => 0, function thrower() { fuzzThrow(); }, async () => 1, k.Socket]);
    case 18: case 19: return genSocket();
    case 20: { const ac = new AbortController(); if (chance(0.5)) ac.abort(); return ac.signal; }
    case 21: { const h = { value: gen(depth + 1) }; return h; }
    case 22: return addressPool();
    default: return genInstance();
  }
}

/** Socket creation arguments are sanitized: no netlink/packet domains, no raw/packet types. */
function sanitizeCreation(args) {
  if (typeof args[0] === 'number' && (args[0] === AF_NETLINK || args[0] === AF_PACKET)) args[0] = k.AF_INET;
  for (const i of [1, 2]) {
    if (typeof args[i] === 'number') {
      const base = args[i] & 0xf;
      if (base === k.SOCK_RAW || base === SOCK_PACKET) args[i] = k.SOCK_DGRAM;
    }
  }
  return args;
}

/**
 * netnsAdd/netnsDelete create and remove host-wide named namespaces (/run/netns/NAME): a string
 * name gets a '/' appended, so that it is always refused (test/netns.test.ts covers valid names).
 */
function sanitizeNetnsName(args) {
  if (typeof args[0] === 'string') args[0] += '/';
  return args;
}

/** nsWriteFile/nsReadFile open a path inside a namespace: only paths under the fuzzer's own directory. */
function sanitizeNsPath(args) {
  if (typeof args[1] === 'string') args[1] = `./${args[1].replace(/^\/+/, '')}`;
  return args;
}

// ---------------------------------------------------------------- targets

const targets = [];
const add = (name, call) => { if (!SKIP.has(name)) targets.push({ name, call }); };

const isClass = (f) => /^class\b/.test(Function.prototype.toString.call(f)) ||
  (typeof f === 'function' && f.prototype && Object.getOwnPropertyNames(f.prototype).length > 1);

/** Own methods and accessors of a prototype (not Object's or EventEmitter's). */
function protoMembers(proto) {
  return Object.getOwnPropertyNames(proto).filter((m) => m !== 'constructor').map((m) => [m, Object.getOwnPropertyDescriptor(proto, m)]);
}

/**
 * The exported constructors that adopt descriptor numbers (Socket's fd,
 * RightsCmsg's fds) close them when collected or closed. Given a number that
 * is free now, or a Buffer whose bytes read as numbers (0, 1, 127 …), they
 * would later close whatever has that number then — stdin, stdout, libuv's
 * epoll descriptor (found by this fuzzer; see the report). Their descriptor
 * arguments are therefore only numbers far out of range.
 */
function sanitizeAdopting(prefix, args) {
  // pcap files take a descriptor to write to or read from: never one of the process's own.
  if (/^(PcapWriter|PcapReader|readPcap)$/.test(prefix) && typeof args[0] === 'number') args[0] = 1_000_000 + 1 + int(1000);
  if (prefix === 'Socket' && args.length > 3) args[3] = typeof args[3] === 'number' ? 1_000_000 + 1 + int(1000) : args[3];
  if (prefix === 'RightsCmsg' && args.length > 2 && args[2] !== null && typeof args[2] === 'object') {
    try {
      args[2] = Array.from({ length: Math.min(Number(args[2].length) || 0, 8) }, () => 1_000_000 + 1 + int(1000));
    } catch {
      args[2] = [];
    }
  }
  return args;
}

function addClass(prefix, C, receivers) {
  add(`new ${prefix}`, (args) => new C(...sanitizeAdopting(prefix, args)));
  add(`${prefix}()`, (args) => C(...args));
  for (const s of Object.getOwnPropertyNames(C)) {
    if (['length', 'name', 'prototype'].includes(s) || typeof C[s] !== 'function') continue;
    add(`${prefix}.${s}`, (args) => C[s](...(/create|socketpair/.test(s) ? sanitizeCreation(args) : args)));
  }
  for (const [m, d] of protoMembers(C.prototype)) {
    for (const [rname, recv] of receivers) {
      // `_`-prefixed members are internal (not in the published types): on a
      // real socket they may legitimately break its invariants (give the
      // number away, mark it closed), so they are fuzzed on forged objects only.
      if (m.startsWith('_') && rname !== 'forged') continue;
      if (typeof d.value === 'function') {
        add(`${prefix}#${m}@${rname}`, (args) => {
          const self = recv();
          const fd = self instanceof k.Socket ? self.fd : -1;
          const l = fd >= 0 ? link(fd) : null;
          try {
            return d.value.apply(self, args);
          } finally {
            // detach() and the internals that let go of the number without
            // closing it hand the descriptor to the caller: the fuzzer's now.
            if (fd >= 0 && self.fd !== fd && /^(detach|_detach|_release)$/.test(m) && link(fd) === l) rawFds.set(fd, l);
          }
        });
      }
      else if (d.get) add(`${prefix}#get ${m}@${rname}`, () => d.get.call(recv()));
    }
  }
}

const socketReceivers = [
  ['udp', () => fx.udp], ['tcp', () => fx.tcp], ['unix', () => fx.ua], ['closed', () => fx.closed],
  ['forged', () => Object.create(k.Socket.prototype)],
];

// Never fuzzed: what changes the host's network (a Topology makes namespaces and veths).
for (const name of ['Topology.create']) SKIP.add(name);

// 1. The package's exports.
for (const [name, v] of Object.entries(k)) {
  if (typeof v !== 'function') continue;
  if (name === 'Socket') { addClass('Socket', v, socketReceivers); continue; }
  if (isClass(v)) {
    addClass(name, v, [['instance', () => genInstanceOf(v)], ['forged', () => Object.create(v.prototype)]]);
    continue;
  }
  add(name, (args) => v(...(/socreate|socketpair/.test(name) ? sanitizeCreation(args) : sanitizeAdopting(name, args))));
}
function genInstanceOf(C) {
  try {
    if (C === k.Uio) return new k.Uio([Buffer.alloc(4), Buffer.alloc(4)]);
    if (C === k.RecvBatch) return new k.RecvBatch(2, 64, true, k.CMSG_SPACE(8));
    if (C === k.Sockopt) return new k.Sockopt();
    if (C === k.Channel) return new k.Channel('fuzz');
    if (C === k.SocketError) return new k.SocketError(k.EINVAL, 'fuzz');
    if (C === k.Sockbuf) return fx.udp.so_rcv;
    if (C === k.RightsCmsg) return new k.RightsCmsg(k.SOL_SOCKET, k.constants.SCM_RIGHTS, [], undefined);
  } catch { /* fall through */ }
  return Object.create(C.prototype);
}

// Seeds: the argument lists the library itself passes to the raw addon (the
// addon's functions are wrapped to record them; signatures are never written
// down here), and argument lists that a target accepted. A call mutates one
// or two arguments of a seed half of the time.
const seeds = new Map();
const recordSeed = (name, args) => {
  let list = seeds.get(name);
  if (!list) seeds.set(name, (list = []));
  if (list.length < 16) list.push(args.slice());
  else list[int(16)] = args.slice();
};
const nativeOrig = {};
for (const name of Object.keys(native)) {
  const f = native[name];
  if (typeof f !== 'function' || isClass(f) || /^[A-Z]/.test(name)) continue;
  nativeOrig[name] = f;
  try {
    native[name] = function (...a) { recordSeed(`native.${name}`, a); return f.apply(this, a); };
  } catch { /* a frozen exports object: no seeds from the library */ }
}

// 2. The raw addon: every function, and every class with its methods.
const nativeInstances = [];
for (const name of Object.keys(native)) {
  const v = native[name];
  if (typeof v !== 'function') continue;
  if (isClass(v) || /^[A-Z]/.test(name)) {
    add(`native.new ${name}`, (args) => { const o = new v(...args); nativeInstances.push(o); return o; });
    for (const [m, d] of protoMembers(v.prototype)) {
      if (typeof d.value !== 'function') continue;
      add(`native.${name}#${m}`, (args) => d.value.apply(nativeInstances.length && chance(0.8) ? pick(nativeInstances) : Object.create(v.prototype), args));
    }
    continue;
  }
  const fn = nativeOrig[name] ?? v;
  add(`native.${name}`, (args) => fn(...(/socket/.test(name) ? sanitizeCreation(args) : /^netns(Add|Delete)$/.test(name) ? sanitizeNetnsName(args)
    : /^ns(Write|Read)File$/.test(name) ? sanitizeNsPath(args) : args)));
}

// ------------------------------------------------------------------- run

async function settle(p) {
  let timer;
  const t = new Promise((r) => { timer = setTimeout(() => r({ timeout: true }), PROMISE_MS); });
  try {
    return await Promise.race([p.then((v) => ({ value: v }), (e) => ({ error: e })), t]);
  } finally {
    clearTimeout(timer);
  }
}

function classify(e) {
  if (e === THROWN) return 'fuzzer value';
  if (e instanceof Error) return e.constructor?.name ?? 'Error';
  return 'non-Error ' + typeof e;
}

/** The shapes that have broken native argument readers: dense in mutations. */
function nasty() {
  switch (int(10)) {
    case 9: return genMessages(1);
    case 0: return huge([pick([{}, 1, null])]);
    case 1: return [, , ,];
    case 2: return new Proxy([genCmsg(1)], { get(t, p) { return p === 'length' ? 1 : fuzzThrow(); } });
    case 3: {
      const a = [Buffer.alloc(8)];
      let n = 0;
      const lim = int(5);
      Object.defineProperty(a, 1, { enumerable: true, get() { if (n++ >= lim) fuzzThrow(); return Buffer.alloc(4); } });
      return a;
    }
    case 4: {
      const victim = detachable(8192);
      const a = [victim];
      let n = 0;
      const lim = int(5);
      Object.defineProperty(a, 1, { enumerable: true, get() { if (n++ >= lim) { victim.__detach(); maybeGc(); } return Buffer.alloc(4); } });
      return a;
    }
    case 5: return [hostileLeaf(genCmsg(1), 1)];
    case 6: { const b = detachable(8192); b.__detach(); return b; }
    case 7: { const d = new DataView(new ArrayBuffer(8)); Object.setPrototypeOf(d, Buffer.prototype); return d; }
    default: return hostileLeaf({ value: null, level: 1, type: 1, data: Buffer.alloc(4), family: k.AF_INET, address: '127.0.0.1', port: 9 }, 1);
  }
}

function argsFor(target) {
  const list = seeds.get(target.name);
  if (list && list.length > 0 && chance(0.5)) {
    // A seed's numbers may name descriptors that have since been closed and
    // reused by someone else: they are checked again.
    const args = pick(list).map((a) => (typeof a === 'number' ? num(a) : a));
    const n = 1 + int(2);
    for (let i = 0; i < n; i++) {
      const at = int(Math.min(args.length + 1, 8));
      args[at] = chance(0.5) ? nasty() : gen(0);
    }
    return args;
  }
  return Array.from({ length: int(9) }, () => gen(0));
}

async function callOne(target) {
  try {
    await callOneUnsafe(target);
  } catch (e) {
    // The fuzzer's own bookkeeping tripped on a hostile value: not a finding of ksock.
    stats.harness = (stats.harness ?? 0) + 1;
    if (stats.harness <= 3) console.error("harness:", target.name, e instanceof Error ? e.stack : e);
  }
}

async function callOneUnsafe(target) {
  const args = argsFor(target);
  const desc = `${target.name}(${args.map((a) => describe(a)).join(', ')})`;
  journal(`#${stats.calls} ${desc}`);
  current = desc;
  const fdsBefore = new Set(listFds());
  stats.calls++;
  const returnedBefore = stats.returned;
  let result;
  try {
    result = target.call(args);
  } catch (e) {
    const c = classify(e);
    stats.threw[c] = (stats.threw[c] ?? 0) + 1;
    if (!(e instanceof Error) && e !== THROWN) finding('threw a non-Error value', { call: desc, value: describe(e) });
    else if (e instanceof Error && !(e instanceof FuzzError) && !isOwnThrow(e) && /^(Error|TypeError|RangeError|SocketError|SyntaxError|PcapFormatError|NetlinkError|DOMException)$/.test(c) === false) {
      finding('threw an unexpected Error class', { call: desc, error: describe(e) });
    }
    afterCall(args, undefined, fdsBefore, desc);
    return;
  }
  if (result && typeof result.then === 'function') {
    const r = await settle(result);
    if (r.timeout) stats.pending++;
    else if ('error' in r) {
      const c = classify(r.error);
      stats.rejected[c] = (stats.rejected[c] ?? 0) + 1;
      if (!(r.error instanceof Error) && r.error !== THROWN) finding('rejected with a non-Error value', { call: desc, value: describe(r.error) });
    } else {
      stats.returned++;
      result = r.value;
    }
  } else {
    stats.returned++;
  }
  if (stats.returned > returnedBefore) recordSeed(target.name, args);
  afterCall(args, result, fdsBefore, desc);
}

function afterCall(args, result, fdsBefore, desc) {
  for (const a of args) track(a);
  track(result);
  if (result instanceof net.Socket) netSockets.add(result);
  // A Socket that says it is closed must not have left its descriptor open,
  // unless the descriptor was handed out (detach, toNetSocket) or another live Socket has it.
  for (const [so, rec] of sockFd) {
    let closed;
    try {
      closed = so.closed;
    } catch {
      continue; // a Socket made by the fuzzer with hostile state
    }
    if (!closed) continue;
    sockFd.delete(so);
    if (rec.link === null || link(rec.fd) !== rec.link || rawFds.has(rec.fd)) continue;
    if ([...sockets].some((o) => o !== so && !o.closed && o.fd === rec.fd)) continue;
    if ([...netSockets].some((n) => n._handle?.fd === rec.fd)) continue;
    finding('a Socket was closed but its descriptor stayed open', { call: desc.slice(0, 400), fd: rec.fd, link: rec.link });
    rawFds.set(rec.fd, rec.link); // reported once; the fuzzer closes it at the end of the round
  }
  const now = listFds();
  for (const fd of now) {
    if (fdsBefore.has(fd)) continue;
    madeBy.set(fd, desc.slice(0, 300));
    // A number returned by the raw addon or by detach() that is a new descriptor is the fuzzer's to close.
    if (result === fd || (native.state && (native.state[3] === fd || native.state[4] === fd))) rawFds.set(fd, link(fd));
  }
}

async function closeAll() {
  for (const s of sockets) {
    // A call may have set SO_LINGER: the close would then run on the threadpool
    // for up to the linger time, and the count below would see it still open.
    try { if (!s.closed) s.setsockopt('SOL_SOCKET', 'SO_LINGER', { onoff: 0, linger: 0 }); } catch { /* not every socket takes it */ }
    try { await settle(Promise.resolve(s.close())); } catch { /* forged or broken: counted below */ }
  }
  sockets.clear();
  for (const n of netSockets) n.destroy();
  netSockets.clear();
  for (const r of rights) { try { r.close(); } catch { /* not ours */ } }
  rights.clear();
  for (const o of nativeInstances) { try { if (typeof o.close === 'function') o.close(); } catch { /* ignore */ } }
  nativeInstances.length = 0;
}

function closeRaw() {
  for (const [fd, l] of rawFds) {
    if (l !== null && link(fd) === l) { try { fs.closeSync(fd); } catch { /* already gone */ } }
  }
  rawFds.clear();
}

/**
 * Ends a round: closes everything the fuzzer holds, lets the collector run,
 * and reports (then closes) any socket descriptor that is still open.
 */
async function endRound(roundStart) {
  const before = new Set(listFds());
  await closeAll();
  closeRaw();
  for (const fd of listFds()) if (!before.has(fd)) madeBy.set(fd, 'opened while the fuzzer closed its sockets (closeAll)');
  for (let i = 0; i < 3; i++) { globalThis.gc?.(); await new Promise((r) => setTimeout(r, 10)); }
  for (const fd of listFds()) {
    if (roundStart.has(fd) || startFds.has(fd)) continue;
    const l = link(fd);
    // Closed meanwhile, or libuv's reserve descriptor for EMFILE (opened lazily, on /dev/null).
    if (l === null || l === '/dev/null') continue;
    finding('descriptor left open after closing everything', { fd, link: l, madeBy: madeBy.get(fd) ?? '?' });
    if (l !== null && l.startsWith('socket:')) { try { fs.closeSync(fd); } catch { /* gone */ } }
  }
}

(async () => {
  const t0 = Date.now();
  console.error(`ksock args fuzzer: seed ${SEED} (KSOCK_FUZZ_SEED=${SEED}), ${ITER} calls, ${targets.length} targets, ≤ ${WALL_MS} ms`);
  let round = 0;
  outer: while (stats.calls < ITER) {
    const roundStart = new Set(listFds());
    fx = await fixtures();
    for (const [name, so] of Object.entries(fx)) if (so instanceof k.Socket && so.fd >= 0) madeBy.set(so.fd, `fixture ${name} (round ${round})`);
    // One round: every target once, in a seeded order.
    const order = targets.map((t) => [rnd(), t]).sort((x, y) => x[0] - y[0]).map(([, t]) => t);
    let stop = false;
    for (const t of order) {
      if (stats.calls >= ITER || Date.now() - t0 > WALL_MS) { stop = true; break; }
      await callOne(t);
      // As many calls again to targets with seeds (the library's own native calls, accepted argument lists).
      const seeded = targets.filter((x) => seeds.has(x.name));
      if (seeded.length > 0 && stats.calls < ITER) await callOne(pick(seeded));
    }
    await endRound(roundStart);
    round++;
    if (stop) break outer;
  }
  fx = null;
  // Let unclaimed received descriptors and forgotten Sockets be collected.
  for (let i = 0; i < 5; i++) { globalThis.gc?.(); await new Promise((r) => setTimeout(r, 20)); }
  const endFds = listFds();
  const extra = endFds.filter((fd) => !startFds.has(fd) && link(fd) !== null && link(fd) !== '/dev/null').map((fd) => ({ fd, link: link(fd), madeBy: madeBy.get(fd) ?? '?' }));
  // Closed, or closed and replaced by something else (stdout replaced by a socket …).
  const missing = [...startFds].filter((fd) => !endFds.includes(fd) || (startLinks.get(fd) !== null && link(fd) !== startLinks.get(fd) && !/^anon_inode/.test(startLinks.get(fd))));
  process.chdir(startDir);
  fs.rmSync(workDir, { recursive: true, force: true });
  const summary = { seed: SEED, rounds: round, targets: targets.length, ms: Date.now() - t0, ...stats, warnings, leaked: extra, closedOfOthers: missing };
  console.log(JSON.stringify(summary));
  journal('SUMMARY ' + JSON.stringify(summary));
  const failing = stats.findings.filter((f) => !f.internal && !f.note);
  process.exit(extra.length === 0 && missing.length === 0 && failing.length === 0 ? 0 : 1);
})().catch((e) => {
  console.error('fuzzer failure:', e);
  process.exit(2);
});
