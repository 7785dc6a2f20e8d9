// npm run bench: UDP, 64-byte datagrams on loopback, side by side with a C
// reference compiled here and Node's own dgram, in one run. Prints msgs/s and
// ratios to C (medians over interleaved passes) and writes bench/out/results.json.
//   (a) drain a prefilled receive queue in one process
//   (b) a sender and a receiver in two processes
import { execFileSync, spawn } from 'node:child_process';
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
