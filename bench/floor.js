// The Node-API floor's contenders (bench/c/floor.c, built by run.mjs):
//   node bench/floor.js ADDON drain ROUNDS MAX        -> msgs/s, one recv per call, as ksock.js drain
//   node bench/floor.js ADDON rtt-server PORTFILE     -> UDP echo server: read in the poll callback, one JS call, reply
//   node bench/floor.js ADDON rtt-client PORT N       -> N round trips of 64 bytes the same way; prints round trips/s
'use strict';
const fs = require('node:fs');

const [addon, mode, a1, a2] = process.argv.slice(2);
const f = require(addon);
const EAGAIN = -11;

if (mode === 'drain') {
  const rounds = Number(a1), max = Number(a2);
  const tx = f.sock(), rx = f.sock();
  const port = f.port(rx);
  const out = Buffer.alloc(64), buf = Buffer.alloc(64);
  let tn = 0, tt = 0n;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    while (n < max && f.sendto(tx, out, port) === 64) n++;
    const t0 = process.hrtime.bigint();
    let got = 0;
    while (f.recv(rx, buf) >= 0) got++;
    tt += process.hrtime.bigint() - t0;
    tn += got;
  }
  console.log(Math.round(tn / (Number(tt) / 1e9)));
  process.exit(0); // the watchers and sockets are the instrument's: no teardown
} else if (mode === 'rtt-server') {
  const fd = f.sock();
  fs.writeFileSync(a1, String(f.port(fd)));
  const buf = Buffer.alloc(2048), echo = Buffer.alloc(64);
  f.watch(fd, buf, (n) => {
    if (n === 0) process.exit(0);
    if (n > 0) f.reply(fd, echo); // the client sends 64 bytes: no object per message
  });
} else if (mode === 'rtt-client') {
  const fd = f.sock();
  f.connect(fd, Number(a1));
  const n = Number(a2), msg = Buffer.alloc(64), buf = Buffer.alloc(2048);
  let i = 0;
  const t0 = process.hrtime.bigint();
  f.watch(fd, buf, (got) => {
    if (got === EAGAIN) return;
    if (++i === n) {
      console.log(Math.round(n / (Number(process.hrtime.bigint() - t0) / 1e9)));
      f.send(fd, Buffer.alloc(0));
      process.exit(0);
    }
    f.send(fd, msg);
  });
  f.send(fd, msg);
} else {
  console.error('usage: node bench/floor.js ADDON drain ROUNDS MAX | rtt-server PORTFILE | rtt-client PORT N');
  process.exit(2);
}
