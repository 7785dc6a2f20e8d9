// ksock side of bench/run.mjs (mmsg): sendmmsg with a destination per message,
// the same shape as bench/c/mmsg.c.
//   node bench/mmsg.js buffers SECONDS   per-message `to` as pre-encoded sockaddr() Buffers
//   node bench/mmsg.js objects SECONDS   per-message `to` as address objects (encoded on every call)
// One UDP sender, 4 bound UDP receivers on 127.0.0.1 (big SO_RCVBUF, never
// read), batches of 64 64-byte messages, message i to receiver i % 4, through
// trySendmmsg (a wait for writability only when the kernel took none). Sends
// for SECONDS after a 0.2 s warm-up; prints the messages the kernel took per second.
'use strict';
const k = require('..');

const BATCH = 64, RECEIVERS = 4, RCVBUF = 8 << 20;
const [mode, secondsArg] = process.argv.slice(2);
if (mode !== 'buffers' && mode !== 'objects') {
  console.error('usage: node bench/mmsg.js buffers|objects SECONDS');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 1);
const lo = { family: k.AF_INET, address: '127.0.0.1', port: 0 };

function receiver() {
  const s = k.Socket.create(k.AF_INET, k.SOCK_DGRAM).bind(lo);
  try {
    s.setsockopt('SOL_SOCKET', 'SO_RCVBUFFORCE', RCVBUF);
  } catch {
    s.setsockopt('SOL_SOCKET', 'SO_RCVBUF', RCVBUF);
  }
  return s;
}

async function run(tx, messages, end) {
  let sent = 0;
  while (performance.now() < end) {
    const n = tx.trySendmmsg(messages);
    if (n !== null) sent += n;
    else await tx.writable({ timeout: 10 }).catch(() => {});
  }
  return sent;
}

(async () => {
  const rx = Array.from({ length: RECEIVERS }, receiver);
  const tx = k.Socket.create(k.AF_INET, k.SOCK_DGRAM).bind(lo);
  const addrs = rx.map((s) => s.address());
  const to = mode === 'buffers' ? addrs.map((a) => k.sockaddr(a)) : addrs;
  const messages = Array.from({ length: BATCH }, (_, i) => ({ data: Buffer.alloc(64), to: to[i % RECEIVERS] }));
  await run(tx, messages, performance.now() + 200); // warm-up
  const t0 = performance.now();
  const sent = await run(tx, messages, t0 + seconds * 1000);
  const dt = (performance.now() - t0) / 1000;
  console.log(Math.round(sent / dt));
  for (const s of [...rx, tx]) await s.close();
})();
