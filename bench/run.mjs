// npm run bench: UDP, 64-byte datagrams on loopback, side by side with a C
// reference compiled here and Node's own dgram, in one run. Prints msgs/s and
// ratios to C (medians over interleaved passes) and writes bench/out/results.json.
//   (a) drain a prefilled receive queue in one process
//   (b) a sender and a receiver in two processes
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'out');
mkdirSync(out, { recursive: true });
const PASSES = Number(process.env.BENCH_PASSES ?? 5);
const ROUNDS = 20, MAX = 20000, SECONDS = Number(process.env.BENCH_SECONDS ?? 1);

const cbin = join(out, 'udp');
const rbin = join(out, 'ref');
let haveC = true;
try {
  execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', cbin, join(here, 'c', 'udp.c')], { stdio: 'inherit' });
  execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', rbin, join(here, 'c', 'ref.c')], { stdio: 'inherit' });
} catch {
  haveC = false;
  console.log('no C compiler: the C reference is left out, ratios are not computed');
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    p.stdout.on('data', (d) => (s += d));
    const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${cmd} ${args.join(' ')} timed out`)); }, 60_000);
    p.on('close', (code) => { clearTimeout(t); code === 0 ? resolve(s.trim()) : reject(new Error(`${cmd} exited ${code}`)); });
  });
}

const node = (file, ...args) => run(process.execPath, [join(here, file), ...args]);

async function pair(recvCmd, sendCmd) {
  const portfile = join(tmpdir(), `ksock-bench-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const receiver = run(recvCmd[0], [...recvCmd.slice(1), portfile, String(SECONDS)]);
  for (let i = 0; i < 500 && !existsSync(portfile); i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 20));
  const port = readFileSync(portfile, 'utf8').trim();
  rmSync(portfile, { force: true });
  const sender = run(sendCmd[0], [...sendCmd.slice(1), port, String(SECONDS + 0.5)]);
  const [r] = await Promise.all([receiver, sender]);
  return Number(r.split(/\s+/)[0]);
}

const contenders = {
  drain: {
    'C recv(MSG_DONTWAIT)': haveC ? () => run(cbin, ['drain', String(ROUNDS), String(MAX)]).then((s) => Number(s.split(' ')[0])) : null,
    'ksock soreceive + MSG_DONTWAIT': () => node('ksock.js', 'drain', String(ROUNDS), String(MAX)).then(Number),
    'node:dgram': () => node('dgram.js', 'drain', String(ROUNDS), String(MAX)).then(Number),
  },
  batch: {
    'C recvmmsg (64 per call)': haveC ? () => run(cbin, ['drain-mmsg', String(ROUNDS), String(MAX)]).then((s) => Number(s.split(' ')[0])) : null,
    'ksock tryRecvmmsg + RecvBatch(64)': () => node('ksock.js', 'drain-mmsg', String(ROUNDS), String(MAX)).then(Number),
  },
  pair: {
    'C send → C recv': haveC ? () => pair([cbin, 'recv'], [cbin, 'send']) : null,
    'ksock sosend → ksock upcall + soreceive': () => pair([process.execPath, join(here, 'ksock.js'), 'recv'], [process.execPath, join(here, 'ksock.js'), 'send']),
    'node:dgram → node:dgram': () => pair([process.execPath, join(here, 'dgram.js'), 'recv'], [process.execPath, join(here, 'dgram.js'), 'send']),
    'ksock trySendmmsg → ksock upcall + tryRecvmmsg (batches of 64)': () => pair([process.execPath, join(here, 'ksock.js'), 'recv-mmsg'], [process.execPath, join(here, 'ksock.js'), 'send-mmsg']),
  },
};

// Round trips on one CPU: both processes pinned to CPU 0 where taskset exists.
let pin = [];
try {
  execFileSync('taskset', ['-c', '0', 'true']);
  pin = ['taskset', '-c', '0'];
} catch {
  console.log('no taskset: round trips run unpinned');
}
async function rtt(server, client, n = 20000) {
  const portfile = join(tmpdir(), `ksock-rtt-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const [sc, ...sa] = [...pin, ...server];
  const srv = run(sc, [...sa, portfile]);
  for (let i = 0; i < 500 && !existsSync(portfile); i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  const port = readFileSync(portfile, 'utf8').trim();
  rmSync(portfile, { force: true });
  const [cc, ...ca] = [...pin, ...client];
  const r = await run(cc, [...ca, port, String(n)]);
  await srv;
  return Number(r);
}
contenders.fdpass = {
  'C sendmsg/recvmsg + close': haveC ? () => run(rbin, ['fdpass', '300', '100']).then(Number) : null,
  'ksock sosend/soreceive + fs.closeSync': () => node('ksock.js', 'fdpass', '300', '100').then(Number),
  'ksock trySendmmsg/tryRecvmmsg, batches of 64 + fs.closeSync': () => node('ksock.js', 'fdpass-batch', '500', '64').then(Number),
};
contenders.stream = {
  'C read(64 KiB) from a forked writer': haveC ? () => run(rbin, ['unix-stream', String(SECONDS)]).then(Number) : null,
  'ksock soreceive(64 KiB) from a ksock writer': () => node('ksock.js', 'unix-stream', String(SECONDS)).then(Number),
};
contenders.rtt = {
  'C blocking sendto/recv': haveC ? () => rtt([rbin, 'rtt-server'], [rbin, 'rtt-client']) : null,
  'ksock sosend + sleeping soreceive': () => rtt([process.execPath, join(here, 'ksock.js'), 'rtt-server'], [process.execPath, join(here, 'ksock.js'), 'rtt-client']),
  'node:dgram': () => rtt([process.execPath, join(here, 'dgram.js'), 'rtt-server'], [process.execPath, join(here, 'dgram.js'), 'rtt-client']),
};

// (f) Capture on a veth flooded by a C sender (both ends in a network
// namespace made for the run and removed at exit): frames/s the reader sees,
// counted from its first frame. Needs root (namespaces, packet sockets).
const CAPTURE_RING = ['1048576', '64', '2048', '10']; // blockSize, blockCount, frameSize, timeout (ms): same for C and ksock
const captureNs = `ksock-bench-${process.pid}`;
let captureWhy = null;
if (process.getuid?.() !== 0) captureWhy = 'not root';
else if (spawnSync('ip', ['-V']).status !== 0) captureWhy = 'no ip(8)';
else if (!haveC) captureWhy = 'no C compiler';
const sendBin = join(out, 'ring-send'), readBin = join(out, 'ring-read');
if (captureWhy === null) {
  try {
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', sendBin, join(here, 'ring-send.c')], { stdio: 'inherit' });
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', readBin, join(here, 'ring-read.c')], { stdio: 'inherit' });
  } catch {
    captureWhy = 'the capture sources do not compile here (no <linux/if_packet.h>?)';
  }
}
let captureUp = false;
function captureSetup() {
  if (captureUp) return;
  const ip = (...a) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'inherit'] });
  captureUp = true;
  process.on('exit', () => spawnSync('ip', ['netns', 'del', captureNs]));
  ip('netns', 'add', captureNs);
  ip('-n', captureNs, 'link', 'add', 'ca', 'type', 'veth', 'peer', 'name', 'cb');
  for (const d of ['ca', 'cb', 'lo']) ip('-n', captureNs, 'link', 'set', d, 'up');
}
async function capture(reader) {
  captureSetup();
  const ready = join(tmpdir(), `ksock-capture-${process.pid}-${Math.random().toString(36).slice(2)}`);
  // The sender (and the kernel's delivery, in its softirq) on CPU 0, the reader on CPU 1 where
  // taskset exists: a reader then cannot slow the flood down by taking the sender's CPU.
  const cpu = (n) => (pin.length && cpus().length > 1 ? ['taskset', '-c', String(n)] : []);
  const r = run('ip', ['netns', 'exec', captureNs, ...cpu(1), ...reader(ready)]);
  for (let i = 0; i < 500 && !existsSync(ready); i++) await new Promise((res) => setTimeout(res, 10));
  rmSync(ready, { force: true });
  const sender = run('ip', ['netns', 'exec', captureNs, ...cpu(0), sendBin, 'ca', String(SECONDS + 1)]);
  const [got] = await Promise.all([r, sender]);
  return Number(got.split(/\s+/)[0]);
}
if (captureWhy === null) {
  contenders.capture = {
    'C TPACKET_V3 ring reader': () => capture((f) => [readBin, 'cb', f, String(SECONDS), ...CAPTURE_RING]),
    'ksock openRing, every frame\'s len read': () => capture((f) => [process.execPath, join(here, 'ring.js'), 'ring', 'cb', f, String(SECONDS), ...CAPTURE_RING]),
    'ksock soreceive per frame': () => capture((f) => [process.execPath, join(here, 'ring.js'), 'recvmsg', 'cb', f, String(SECONDS)]),
  };
} else {
  console.log(`(f) capture on a flooded veth: skipped (${captureWhy})`);
}

// (g) sendmmsg with a destination per message: one UDP sender, 4 bound receivers on 127.0.0.1 (big
// SO_RCVBUF, never read), batches of 64 64-byte messages, message i to receiver i % 4; what is measured
// is the send path: messages the kernel took per second. The C reference compiles here (bench/c/mmsg.c).
{
  const mmsgBin = join(out, 'mmsg');
  let mmsgC = haveC;
  if (mmsgC) {
    try {
      execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', mmsgBin, join(here, 'c', 'mmsg.c')], { stdio: 'inherit' });
    } catch {
      mmsgC = false;
      console.log('(g) bench/c/mmsg.c does not compile here (no sendmmsg?): its C reference is left out');
    }
  }
  contenders.mmsg = {
    'C sendmmsg, per-message addresses': mmsgC ? () => run(mmsgBin, [String(SECONDS)]).then(Number) : null,
    'ksock trySendmmsg, per-message sockaddr() Buffers': () => node('mmsg.js', 'buffers', String(SECONDS)).then(Number),
    'ksock trySendmmsg, per-message address objects': () => node('mmsg.js', 'objects', String(SECONDS)).then(Number),
  };
}

// BENCH_ONLY=capture,rtt runs only the named groups.
if (process.env.BENCH_ONLY) {
  const only = new Set(process.env.BENCH_ONLY.split(','));
  for (const name of Object.keys(contenders)) if (!only.has(name)) delete contenders[name];
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const results = {};
for (const [bench, set] of Object.entries(contenders)) {
  const samples = {};
  for (let p = 0; p < PASSES; p++) {
    for (const [name, fn] of Object.entries(set)) {
      if (!fn) continue;
      (samples[name] ??= []).push(await fn());
    }
  }
  const ref = Object.keys(samples)[0];
  const refMed = haveC ? median(samples[ref]) : null;
  results[bench] = Object.fromEntries(Object.entries(samples).map(([n, xs]) => {
    const m = median(xs);
    return [n, { msgsPerSec: m, ratioToC: refMed ? +(m / refMed).toFixed(2) : null, samples: xs }];
  }));
}

const title = {
  drain: '(a) drain a prefilled receive queue, one process', batch: '(a\') the same through the batch API',
  pair: '(b) sender and receiver in two processes', fdpass: '(c) SCM_RIGHTS fd passing, one process (msgs/s)',
  stream: '(d) AF_UNIX stream, two processes (bytes/s)', rtt: '(e) UDP round trips on one CPU (round trips/s)',
  capture: '(f) capture on a veth flooded by a C sender (frames/s)',
  mmsg: '(g) sendmmsg, a destination per message, batches of 64 (msgs/s taken)',
};
console.log(`\nUDP, 64-byte datagrams on loopback — ${cpus().length} CPUs, ${cpus()[0]?.model ?? ''}, Node ${process.version}`);
console.log(`medians of ${PASSES} interleaved passes\n`);
console.log('| benchmark | contender | msgs/s | × C |');
console.log('|---|---|---:|---:|');
for (const [bench, rows] of Object.entries(results)) {
  for (const [name, r] of Object.entries(rows)) {
    console.log(`| ${title[bench]} | ${name} | ${r.msgsPerSec.toLocaleString('en-US')} | ${r.ratioToC ?? '—'} |`);
  }
}
writeFileSync(join(out, 'results.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, results }, null, 2));
