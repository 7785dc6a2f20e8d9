// Node core's dgram side of bench/run.mjs.
//   node bench/dgram.js drain ROUNDS MAX      -> prints msgs/s
//   node bench/dgram.js recv PORTFILE SECONDS -> prints msgs/s
//   node bench/dgram.js send PORT SECONDS
'use strict';
const dgram = require('node:dgram');
const fs = require('node:fs');
const k = require('..');

// dgram caps its receive buffer at rmem_max; give it the same room as the C
// and ksock receivers through its descriptor (a benchmark-only shortcut).
function grow(sock) {
  // _handle is deprecated (DEP0112) and the only way to the descriptor: read it without the warning.
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  const fd = sock._handle && sock._handle.fd;
  process.noDeprecation = quiet;
  if (typeof fd !== 'number' || fd < 0) return;
  const so = k.Socket.fromFd(fd, { dup: true }); // the same socket, through a duplicate
  so.setsockopt(k.SOL_SOCKET, k.constants.SO_RCVBUFFORCE ?? k.constants.SO_RCVBUF, 64 << 20);
  so.close();
}

const [mode, a1, a2] = process.argv.slice(2);

if (mode === 'drain') {
  const rounds = Number(a1), max = Number(a2);
  const rx = dgram.createSocket('udp4');
  rx.bind(0, '127.0.0.1', async () => {
    grow(rx);
    const aso = { value: null };
    k.socreate(k.AF_INET, aso, k.SOCK_DGRAM, 0);
    const to = k.sockaddr({ family: k.AF_INET, address: '127.0.0.1', port: rx.address().port });
    const out = new k.Uio(Buffer.alloc(64), k.UIO_WRITE);
    let tn = 0, tt = 0n;
    for (let r = 0; r < rounds; r++) {
      let n = 0;
      while (n < max && k.sosend(aso.value, to, out.rewind(), null, null, k.MSG_DONTWAIT) === 0) n++;
      const t0 = process.hrtime.bigint();
      await new Promise((resolve) => {
        let got = 0;
        const on = () => {
          if (++got === n) {
            rx.removeListener('message', on);
            resolve();
          }
        };
        rx.on('message', on);
      });
      tt += process.hrtime.bigint() - t0;
      tn += n;
    }
    console.log(Math.round(tn / (Number(tt) / 1e9)));
    k.soclose(aso.value);
    rx.close();
  });
} else if (mode === 'recv') {
  const rx = dgram.createSocket('udp4');
  const secs = Number(a2);
  let count = 0, t0 = 0n;
  rx.on('message', () => {
    if (t0 === 0n) t0 = process.hrtime.bigint();
    count++;
  });
  rx.bind(0, '127.0.0.1', () => {
    grow(rx);
    fs.writeFileSync(a1, String(rx.address().port));
    const timer = setInterval(() => {
      if (t0 !== 0n && process.hrtime.bigint() - t0 >= BigInt(secs * 1e9)) {
        clearInterval(timer);
        console.log(Math.round(count / (Number(process.hrtime.bigint() - t0) / 1e9)));
        rx.close();
      }
    }, 5);
  });
} else if (mode === 'rtt-server') {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => {
    if (m.length === 0) return s.close();
    s.send(m, r.port, r.address);
  });
  s.bind(0, '127.0.0.1', () => fs.writeFileSync(a1, String(s.address().port)));
} else if (mode === 'rtt-client') {
  const s = dgram.createSocket('udp4');
  const n = Number(a2);
  const msg = Buffer.alloc(64);
  let i = 0, t0;
  s.on('message', () => {
    if (++i === n) {
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      s.send(Buffer.alloc(0), () => {
        console.log(Math.round(n / dt));
        s.close();
      });
      return;
    }
    s.send(msg);
  });
  s.connect(Number(a1), '127.0.0.1', () => {
    t0 = process.hrtime.bigint();
    s.send(msg);
  });
} else if (mode === 'send') {
  const tx = dgram.createSocket('udp4');
  const port = Number(a1);
  const msg = Buffer.alloc(64);
  const end = process.hrtime.bigint() + BigInt(Number(a2) * 1e9);
  const batch = () => {
    if (process.hrtime.bigint() >= end) return tx.close();
    for (let i = 0; i < 63; i++) tx.send(msg, port, '127.0.0.1');
    tx.send(msg, port, '127.0.0.1', batch);
  };
  batch();
}
