// ksock side of bench/run.mjs, through the kernel face.
//   node bench/ksock.js drain ROUNDS MAX      -> prints msgs/s
//   node bench/ksock.js drain-mmsg ROUNDS MAX -> the same through the batch API (RecvBatch)
//   node bench/ksock.js recv PORTFILE SECONDS -> prints msgs/s
//   node bench/ksock.js send PORT SECONDS
//   node bench/ksock.js recv-mmsg / send-mmsg …  the same pair through the batch API
'use strict';
const fs = require('node:fs');
const k = require('..');

function udp(rcvbuf) {
  const aso = { value: null };
  k.socreate(k.AF_INET, aso, k.SOCK_DGRAM, 0);
  k.sobind(aso.value, { family: k.AF_INET, address: '127.0.0.1', port: 0 });
  if (rcvbuf) {
    const s = new k.Sockopt();
    k.sockopt_init(s, k.SOL_SOCKET, k.constants.SO_RCVBUFFORCE ?? k.constants.SO_RCVBUF, 4);
    k.sockopt_setint(s, rcvbuf);
    if (k.sosetopt(aso.value, s) !== 0) {
      k.sockopt_init(s, k.SOL_SOCKET, k.constants.SO_RCVBUF, 4);
      k.sockopt_setint(s, rcvbuf);
      k.sosetopt(aso.value, s);
    }
  }
  return aso.value;
}

const [mode, a1, a2] = process.argv.slice(2);
const DONTWAIT = k.MSG_DONTWAIT;

if (mode === 'drain') {
  const rounds = Number(a1), max = Number(a2);
  const tx = udp(0), rx = udp(64 << 20);
  const to = k.sockaddr(rx._local());
  const out = new k.Uio(Buffer.alloc(64), k.UIO_WRITE);
  const uio = new k.Uio(Buffer.alloc(64));
  const flagsp = { value: DONTWAIT };
  let tn = 0, tt = 0n;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    while (n < max && k.sosend(tx, to, out.rewind(), null, null, DONTWAIT) === 0) n++;
    const t0 = process.hrtime.bigint();
    let got = 0;
    for (;;) {
      uio.rewind();
      flagsp.value = DONTWAIT;
      if (k.soreceive(rx, null, uio, null, null, flagsp) !== 0) break;
      got++;
    }
    tt += process.hrtime.bigint() - t0;
    tn += got;
  }
  console.log(Math.round(tn / (Number(tt) / 1e9)));
} else if (mode === 'drain-mmsg') {
  const rounds = Number(a1), max = Number(a2);
  const tx = udp(0), rx = udp(64 << 20);
  const to = k.sockaddr(rx._local());
  const out = new k.Uio(Buffer.alloc(64), k.UIO_WRITE);
  const batch = new k.RecvBatch(64, 64);
  let tn = 0, tt = 0n;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    while (n < max && k.sosend(tx, to, out.rewind(), null, null, DONTWAIT) === 0) n++;
    const t0 = process.hrtime.bigint();
    let got = 0, m;
    while ((m = rx.tryRecvmmsg(batch)) !== null) got += m;
    tt += process.hrtime.bigint() - t0;
    tn += got;
  }
  console.log(Math.round(tn / (Number(tt) / 1e9)));
} else if (mode === 'recv') {
  const rx = udp(64 << 20);
  fs.writeFileSync(a1, String(rx._local().port));
  const secs = Number(a2);
  const uio = new k.Uio(Buffer.alloc(64));
  const flagsp = { value: DONTWAIT };
  let count = 0, t0 = 0n;
  // The kernel idiom: an upcall on readability drains with MSG_DONTWAIT.
  k.soupcall_set(rx, k.SO_RCV, (so) => {
    if (t0 === 0n) t0 = process.hrtime.bigint();
    for (;;) {
      uio.rewind();
      flagsp.value = DONTWAIT;
      if (k.soreceive(so, null, uio, null, null, flagsp) !== 0) break;
      count++;
    }
  });
  const timer = setInterval(() => {
    if (t0 !== 0n && process.hrtime.bigint() - t0 >= BigInt(secs * 1e9)) {
      clearInterval(timer);
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(Math.round(count / dt));
      k.soupcall_clear(rx, k.SO_RCV);
      k.soclose(rx);
    }
  }, 5);
} else if (mode === 'recv-mmsg') {
  const rx = udp(64 << 20);
  fs.writeFileSync(a1, String(rx._local().port));
  const secs = Number(a2);
  const batch = new k.RecvBatch(64, 64);
  let count = 0, t0 = 0n;
  k.soupcall_set(rx, k.SO_RCV, (so) => {
    if (t0 === 0n) t0 = process.hrtime.bigint();
    let n;
    while ((n = so.tryRecvmmsg(batch)) !== null) count += n;
  });
  const timer = setInterval(() => {
    if (t0 !== 0n && process.hrtime.bigint() - t0 >= BigInt(secs * 1e9)) {
      clearInterval(timer);
      console.log(Math.round(count / (Number(process.hrtime.bigint() - t0) / 1e9)));
      k.soupcall_clear(rx, k.SO_RCV);
      k.soclose(rx);
    }
  }, 5);
} else if (mode === 'send-mmsg') {
  const tx = udp(0);
  const to = k.sockaddr({ family: k.AF_INET, address: '127.0.0.1', port: Number(a1) });
  const msgs = Array.from({ length: 64 }, () => Buffer.alloc(64));
  const end = process.hrtime.bigint() + BigInt(Number(a2) * 1e9);
  while (process.hrtime.bigint() < end) tx.trySendmmsg(msgs, { to });
  k.soclose(tx);
} else if (mode === 'send') {
  const tx = udp(0);
  const to = k.sockaddr({ family: k.AF_INET, address: '127.0.0.1', port: Number(a1) });
  const out = new k.Uio(Buffer.alloc(64), k.UIO_WRITE);
  const end = process.hrtime.bigint() + BigInt(Number(a2) * 1e9);
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 64; i++) k.sosend(tx, to, out.rewind(), null, null, DONTWAIT);
  }
  k.soclose(tx);
}
