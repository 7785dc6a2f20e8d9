// npm run bench: UDP, 64-byte datagrams on loopback, side by side with a C
// reference compiled here and Node's own dgram, in one run. Prints each rate's
// median and spread (min–max over interleaved passes) and its ratio to the C
// reference of the same pass (median and spread), and writes the results with
// their provenance (machine, load, Node, commit) to bench/out/results.json and
// bench/out/<date>-<commit>.json.
//   (a) drain a prefilled receive queue in one process
//   (b) a sender and a receiver in two processes
//   (c) SCM_RIGHTS, (d) an AF_UNIX stream, (e) round trips on one CPU, (f) capture
// Settings: BENCH_PASSES (5), BENCH_SECONDS (1), BENCH_RTT_N (20000 round trips),
// and BENCH_ONLY=group,group, BENCH_OUT=dir (bench/out), CC (cc).
// BENCH_PERF=group[:index][,…] profiles instead: it runs one ksock contender of
// each group (the first, or the one at that index in the group) once under
// `perf record -g` and writes its top symbols to bench/out/profile-<group>.txt.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : join(here, 'out');
mkdirSync(out, { recursive: true });
const PASSES = Number(process.env.BENCH_PASSES ?? 5);
const ROUNDS = 20, MAX = 20000, SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const RTT_N = Number(process.env.BENCH_RTT_N ?? 20000);
for (const [k, v] of Object.entries({ BENCH_PASSES: PASSES, BENCH_SECONDS: SECONDS, BENCH_RTT_N: RTT_N })) {
  if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${k} must be a positive number`);
}
const loadBefore = os.loadavg();

const cbin = join(out, 'udp');
const rbin = join(out, 'ref');
let haveC = true;
try {
  const cc = (o, c) => execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-Wextra', '-o', o, join(here, 'c', c)], { stdio: 'inherit' });
  cc(cbin, 'udp.c');
  cc(rbin, 'ref.c');
} catch {
  haveC = false;
  console.log('no C compiler: the C reference is left out, ratios are not computed');
}
// The Node-API floor (bench/c/floor.c): a bare addon, built against the
// headers of the Node that runs this, when they are there.
const floorNode = join(out, 'floor.node');
const nodeInclude = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node'].find((d) => existsSync(join(d, 'node_api.h')));
let haveFloor = false;
if (haveC && nodeInclude) {
  try {
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-Wextra', '-shared', '-fPIC', '-I', nodeInclude, '-o', floorNode, join(here, 'c', 'floor.c')], { stdio: 'inherit' });
    haveFloor = true;
  } catch {
    console.log('the Node-API floor did not build: its rows are left out');
  }
} else if (haveC) {
  console.log("no node_api.h beside this Node: the Node-API floor's rows are left out");
}

// Under BENCH_PERF, every Node process a contender starts runs under `perf
// record`, which starts sampling PERF_DELAY ms in, past Node's own startup.
let profiling = null;
const PERF_DELAY = Number(process.env.BENCH_PERF_DELAY ?? 300);
function perfWrap(cmd, args) {
  const argv = [cmd, ...args];
  const i = argv.indexOf(process.execPath);
  if (!profiling || i < 0) return argv;
  const data = join(profiling.dir, `perf-${profiling.files.length}.data`);
  profiling.files.push({ data, what: argv.slice(i + 1).map((a) => a.replace(here + '/', '')).join(' ') });
  return [...argv.slice(0, i), 'perf', 'record', '-g', '-q', ...(PERF_DELAY > 0 ? ['-D', String(PERF_DELAY)] : []), '-o', data, '--',
    // --perf-basic-prof also starts V8's logger: its file goes with the data, not into the cwd.
    process.execPath, '--perf-basic-prof', '--interpreted-frames-native-stack', '--no-logfile-per-isolate', `--logfile=${data}.v8.log`,
    ...argv.slice(i + 1)];
}

function run(cmd, args) {
  [cmd, ...args] = perfWrap(cmd, args);
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
    'C recvmsg(MSG_DONTWAIT), the syscall soreceive makes': haveC ? () => run(cbin, ['drain-recvmsg', String(ROUNDS), String(MAX)]).then((s) => Number(s.split(' ')[0])) : null,
    'C recv(MSG_DONTWAIT)': haveC ? () => run(cbin, ['drain', String(ROUNDS), String(MAX)]).then((s) => Number(s.split(' ')[0])) : null,
    'ksock soreceive + MSG_DONTWAIT': () => node('ksock.js', 'drain', String(ROUNDS), String(MAX)).then(Number),
    'node:dgram': () => node('dgram.js', 'drain', String(ROUNDS), String(MAX)).then(Number),
    "ksock 'message' (read natively per wakeup)": () => node('ksock.js', 'drain-message', String(ROUNDS), String(MAX)).then(Number),
    'Node-API floor: a bare recv() per call (bench/c/floor.c)': haveFloor ? () => node('floor.js', floorNode, 'drain', String(ROUNDS), String(MAX)).then(Number) : null,
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
    "ksock sosend → ksock 'message'": () => pair([process.execPath, join(here, 'ksock.js'), 'recv-message'], [process.execPath, join(here, 'ksock.js'), 'send']),
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
async function rtt(server, client, n = RTT_N) {
  const portfile = join(tmpdir(), `ksock-rtt-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const [sc, ...sa] = [...pin, ...server];
  const srv = run(sc, [...sa, portfile]);
  srv.catch(() => {}); // awaited below; a server that fails early must not be an unhandled rejection
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
// (d) Every reader reads 64 KiB at a time, with default socket buffers, from
// the same C writer (`ref unix-writer NAME`), which connects once NAME listens.
async function stream(reader) {
  const name = `ksock-bench-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const [got] = await Promise.all([run(reader[0], [...reader.slice(1), name, String(SECONDS)]), run(rbin, ['unix-writer', name])]);
  return Number(got);
}
contenders.stream = {
  'C nonblocking read(64 KiB) + poll': haveC ? () => stream([rbin, 'unix-reader-poll']) : null,
  'C blocking read(64 KiB)': haveC ? () => stream([rbin, 'unix-reader']) : null,
  'ksock soreceive(64 KiB) + MSG_DONTWAIT, sleeping soreceive when empty': haveC ? () => stream([process.execPath, join(here, 'ksock.js'), 'unix-stream']) : null,
};
contenders.rtt = {
  'C blocking sendto/recv': haveC ? () => rtt([rbin, 'rtt-server'], [rbin, 'rtt-client']) : null,
  'C nonblocking + poll': haveC ? () => rtt([rbin, 'rtt-server-poll'], [rbin, 'rtt-client-poll']) : null,
  'ksock sosend + sleeping soreceive': () => rtt([process.execPath, join(here, 'ksock.js'), 'rtt-server'], [process.execPath, join(here, 'ksock.js'), 'rtt-client']),
  'node:dgram': () => rtt([process.execPath, join(here, 'dgram.js'), 'rtt-server'], [process.execPath, join(here, 'dgram.js'), 'rtt-client']),
  "ksock 'message' + trySendmsg (dgram's style)": () => rtt([process.execPath, join(here, 'ksock.js'), 'rtt-server-message'], [process.execPath, join(here, 'ksock.js'), 'rtt-client-message']),
  'ksock await recvmsg() / sendmsg()': () => rtt([process.execPath, join(here, 'ksock.js'), 'rtt-server-promise'], [process.execPath, join(here, 'ksock.js'), 'rtt-client-promise']),
  'Node-API floor: one recv in the poll callback, one JS call (bench/c/floor.c)': haveFloor ? () => rtt([process.execPath, join(here, 'floor.js'), floorNode, 'rtt-server'], [process.execPath, join(here, 'floor.js'), floorNode, 'rtt-client']) : null,
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
const unit = { stream: 'B/s', rtt: '/s', capture: 'frames/s' };
const group3 = (v) => Math.round(v).toLocaleString('en-US');
function rate(v, u, withUnit = true) {
  if (v === null) return '—';
  if (u === 'B/s') return `${(v / 1e9).toFixed(2)}${withUnit ? ' GB/s' : ''}`;
  return `${group3(v)}${withUnit ? ` ${u}` : ''}`;
}
const ratio = (v) => (v === null ? '—' : v.toFixed(2));
const range = (r, f) => (r.min === null ? '—' : `${f(r.min)}–${f(r.max)}`);

function git(...args) {
  try {
    return execFileSync('git', args, { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
  } catch {
    return null;
  }
}
const commit = git('rev-parse', 'HEAD');
const changes = commit === null ? null : (git('status', '--porcelain') ?? '').split('\n').filter(Boolean);

if (process.env.BENCH_PERF) {
  await profile(process.env.BENCH_PERF);
  process.exit(0);
}

// Medians, spreads and per-pass ratios: a pass runs every contender of a group
// once, and each ratio divides by the C reference (the group's first row) of
// the same pass.
function spread(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return { median: null, min: null, max: null };
  const h = s.length >> 1;
  return { median: s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2, min: s[0], max: s[s.length - 1] };
}
const results = {};
for (const [bench, set] of Object.entries(contenders)) {
  const names = Object.keys(set).filter((n) => set[n]);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const failures = Object.fromEntries(names.map((n) => [n, []]));
  for (let p = 0; p < PASSES; p++) {
    for (const name of names) {
      let v = null;
      try {
        v = await set[name]();
        if (!Number.isFinite(v)) throw new Error(`printed no number (${v})`);
      } catch (e) {
        v = null;
        failures[name].push(`pass ${p + 1}: ${e.message}`);
        console.error(`${bench} / ${name}, pass ${p + 1}: ${e.message}`);
      }
      samples[name].push(v);
    }
  }
  // The reference is the group's first contender when it is C (it is absent without a compiler).
  const refName = haveC && set[Object.keys(set)[0]] ? Object.keys(set)[0] : null;
  const ref = refName ? samples[refName] : null;
  results[bench] = {
    title: null, // below
    unit: unit[bench] ?? 'msg/s',
    reference: refName,
    contenders: Object.fromEntries(names.map((n) => {
      const xs = samples[n];
      const ratios = ref ? xs.map((x, i) => (x !== null && ref[i] ? +(x / ref[i]).toFixed(4) : null)) : null;
      return [n, { samples: xs, ...spread(xs), ratios, ratio: ratios ? spread(ratios) : null, failures: failures[n] }];
    })),
  };
}

const title = {
  drain: '(a) drain a prefilled receive queue, one process', batch: '(a\') the same through the batch API',
  pair: '(b) sender and receiver in two processes', fdpass: '(c) SCM_RIGHTS fd passing, one process (msgs/s)',
  stream: '(d) AF_UNIX stream, two processes (bytes/s)', rtt: '(e) UDP round trips on one CPU (round trips/s)',
  capture: '(f) capture on a veth flooded by a C sender (frames/s)',
  mmsg: '(g) sendmmsg, a destination per message, batches of 64 (msgs/s taken)',
};
for (const [bench, r] of Object.entries(results)) r.title = title[bench] ?? bench;
const loadAfter = os.loadavg();

const model = cpus()[0]?.model ?? 'unknown CPU';
const load = (l) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`\n${cpus().length} CPUs, ${model}, ${os.type()} ${os.release()}, Node ${process.version}, ksock ${commit?.slice(0, 7) ?? '(not a git checkout)'}${changes?.length ? ' (dirty)' : ''}`);
console.log(`medians and min–max of ${PASSES} interleaved passes, ${SECONDS} s each; ratios per pass to the first (C) row; load ${load(loadBefore)} before, ${load(loadAfter)} after\n`);
console.log('| benchmark | contender | rate (median) | spread | × C (median) | × C spread |');
console.log('|---|---|---:|---:|---:|---:|');
for (const r of Object.values(results)) {
  for (const [name, c] of Object.entries(r.contenders)) {
    const fails = c.failures.length ? ` (${c.failures.length} of ${PASSES} passes failed)` : '';
    console.log(`| ${r.title} | ${name}${fails} | ${rate(c.median, r.unit)} | ${range(c, (v) => rate(v, r.unit, false))} | ${c.ratio ? ratio(c.ratio.median) : '—'} | ${c.ratio ? range(c.ratio, ratio) : '—'} |`);
  }
}

const date = new Date().toISOString();
const report = {
  date,
  machine: {
    cpuModel: model, cpus: cpus().length, platform: os.platform(), arch: os.arch(), release: os.release(),
    totalMemory: os.totalmem(), loadBefore, loadAfter,
  },
  node: process.version,
  cc: haveC ? ccVersion() : null,
  commit, dirty: changes === null ? null : changes.length > 0, changes: changes?.slice(0, 50) ?? null,
  passes: PASSES, seconds: SECONDS, rttRoundTrips: RTT_N, only: process.env.BENCH_ONLY ?? null, pinned: pin.length > 0,
  results,
};
function ccVersion() {
  try {
    return execFileSync(process.env.CC ?? 'cc', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
  } catch {
    return null;
  }
}
const json = JSON.stringify(report, null, 2) + '\n';
const stamp = date.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const dated = join(out, `${stamp}-${commit ? commit.slice(0, 7) + (changes.length ? '-dirty' : '') : 'nogit'}.json`);
writeFileSync(join(out, 'results.json'), json);
writeFileSync(dated, json);
console.log(`\nwritten: ${join(out, 'results.json')} and ${dated}`);

// BENCH_PERF=group[:index][,…]: one run of one contender per group under
// `perf record -g` (every Node process it starts, with --perf-basic-prof so
// that JIT frames have names), then each process's top symbols, self time.
async function profile(spec) {
  if (spawnSync('perf', ['--version']).status !== 0) {
    console.log('BENCH_PERF: no perf(1) here, nothing profiled');
    return;
  }
  const { mkdtempSync } = await import('node:fs');
  for (const item of spec.split(',').filter(Boolean)) {
    const [group, index] = item.split(':');
    const set = contenders[group];
    if (!set) throw new Error(`BENCH_PERF: no group ${group} (groups: ${Object.keys(contenders).join(', ')})`);
    const entries = Object.entries(set).filter(([, fn]) => fn);
    const picked = index === undefined ? entries.find(([n]) => n.startsWith('ksock')) : Object.entries(set)[Number(index)];
    if (!picked || !picked[1]) throw new Error(`BENCH_PERF: no contender ${index ?? 'named ksock…'} in ${group}`);
    const [name, fn] = picked;
    profiling = { dir: mkdtempSync(join(tmpdir(), 'ksock-perf-')), files: [] };
    const { dir, files } = profiling;
    let got;
    try {
      got = await fn();
    } finally {
      profiling = null;
    }
    let text = `${group}: ${name} — ${rate(got, unit[group] ?? 'msg/s')} under perf\n`;
    text += `perf record -g${PERF_DELAY > 0 ? ` -D ${PERF_DELAY}` : ''}, then perf report --no-children --sort symbol: the top 25 symbols by self time\n`;
    text += `${new Date().toISOString()}, ksock ${commit?.slice(0, 7) ?? '?'}${changes?.length ? ' (dirty)' : ''}, Node ${process.version}, ${cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`;
    for (const { data, what } of files) {
      const report = (...a) => spawnSync('perf', ['report', '-i', data, '--stdio', '-g', 'none', ...a], { encoding: 'utf8', maxBuffer: 64 << 20 });
      const r = report('--no-children', '--sort', 'symbol', '--percent-limit', '0.1');
      const lines = (r.stdout ?? '').split('\n');
      const samples = lines.find((l) => /^# Samples:/.test(l))?.slice(2) ?? '';
      const top = lines.filter((l) => /^\s+\d+\.\d+%/.test(l)).slice(0, 25)
        .map((l) => l.replace(/\s+-\s+-\s*$/, '').replace(/\s+$/, '').slice(0, 200));
      text += `\n## node ${what} (${samples || 'no samples'})\n${top.join('\n') || r.stderr}\n`;
      // The JIT maps (/tmp/perf-PID.map) of the processes recorded are no longer needed.
      // perf report --tasks lists every process recorded, sampled or not.
      const pids = new Set([...(report('--tasks').stdout ?? '').matchAll(/^\s*(\d+)\s+\d+\s+-?\d+\s+\|/gm)].map((m) => m[1]));
      for (const pid of pids) if (pid !== '0') rmSync(`/tmp/perf-${pid}.map`, { force: true });
    }
    rmSync(dir, { recursive: true, force: true });
    const file = join(out, `profile-${group}.txt`);
    writeFileSync(file, text);
    console.log(text);
    console.log(`written: ${file}`);
  }
}
