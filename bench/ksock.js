// ksock side of bench/run.mjs, through the kernel face.
//   node bench/ksock.js drain ROUNDS MAX      -> prints msgs/s
//   node bench/ksock.js drain-mmsg ROUNDS MAX -> the same through the batch API (RecvBatch)
//   node bench/ksock.js recv PORTFILE SECONDS -> prints msgs/s
//   node bench/ksock.js send PORT SECONDS
//   node bench/ksock.js recv-mmsg / send-mmsg …  the same pair through the batch API
//   node bench/ksock.js unix-stream NAME SECONDS -> reads from a writer on \0NAME; prints bytes/s
//   node bench/ksock.js rtt-server PORTFILE / rtt-client PORT N -> round trips/s
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
} else if (mode === 'fdpass') {
  // SCM_RIGHTS, one process: BATCH sends of one descriptor, then BATCH receives
  // (each descriptor claimed and closed). The kernel face, imported by name as
  // the README does (a property read of the namespace object per call costs a
  // getter chain: the package's CommonJS re-exports).
  const { sosend, soreceive } = k;
  const rounds = Number(a1), batch = Number(a2);
  const a = { value: null }, b = { value: null };
  k.socreate(k.AF_UNIX, a, k.SOCK_DGRAM, 0);
  k.socreate(k.AF_UNIX, b, k.SOCK_DGRAM, 0);
  k.soconnect2(a.value, b.value);
  const fd = fs.openSync('/dev/null', 'r');
  const control = [{ level: k.SOL_SOCKET, type: k.constants.SCM_RIGHTS, fds: [fd] }];
  const byte = Buffer.from('F');
  const out = new k.Uio(byte, k.UIO_WRITE);
  const uio = new k.Uio(Buffer.alloc(1));
  const controlp = { value: null, space: k.CMSG_SPACE(4) };
  const flagsp = { value: DONTWAIT };
  let n = 0;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < batch; i++) sosend(a.value, null, out.rewind(), null, control, DONTWAIT);
    for (let i = 0; i < batch; i++) {
      flagsp.value = DONTWAIT;
      if (soreceive(b.value, null, uio.rewind(), null, controlp, flagsp) !== 0) break;
      const got = controlp.value[0].fds[0];
      fs.closeSync(got);
      n++;
    }
  }
  console.log(Math.round(n / (Number(process.hrtime.bigint() - t0) / 1e9)));
  fs.closeSync(fd);
  k.soclose(a.value);
  k.soclose(b.value);
} else if (mode === 'fdpass-batch') {
  // The same through the batch API: trySendmmsg with the control encoded once,
  // tryRecvmmsg with room for one descriptor per message.
  const rounds = Number(a1), batchSize = Number(a2);
  const [a, b] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
  const fd = fs.openSync('/dev/null', 'r');
  const control = [{ level: k.SOL_SOCKET, type: k.constants.SCM_RIGHTS, fds: [fd] }];
  const msgs = Array.from({ length: batchSize }, () => Buffer.from('F'));
  const batch = new k.RecvBatch(batchSize, 1, false, k.CMSG_SPACE(4));
  let n = 0;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    a.trySendmmsg(msgs, { control });
    const got = b.tryRecvmmsg(batch) ?? 0;
    for (let i = 0; i < got; i++) {
      fs.closeSync(batch.control(i)[0].fds[0]);
      n++;
    }
  }
  console.log(Math.round(n / (Number(process.hrtime.bigint() - t0) / 1e9)));
  fs.closeSync(fd);
  a.close();
  b.close();
} else if (mode === 'unix-stream') {
  // Listen on the abstract AF_UNIX name NAME, accept one writer (run.mjs starts
  // the C writer, `ref unix-writer NAME`, the one the C readers read from) and
  // read 64 KiB at a time: soreceive with MSG_DONTWAIT, a sleeping soreceive
  // when the queue is empty. Counts for SECONDS from the first read; prints bytes/s.
  const name = a1, secs = Number(a2);
  const l = k.Socket.create(k.AF_UNIX, k.SOCK_STREAM).bind({ family: k.AF_UNIX, path: '\0' + name }).listen(1);
  (async () => {
    const s = await l.accept();
    k.soclose(l);
    const uio = new k.Uio(Buffer.alloc(65536));
    const flagsp = { value: 0 };
    await k.soreceive(s, null, uio, null, null, flagsp);
    let bytes = 0;
    const t0 = process.hrtime.bigint(), end = t0 + BigInt(secs * 1e9);
    while (process.hrtime.bigint() < end) {
      uio.rewind();
      flagsp.value = DONTWAIT;
      let r = k.soreceive(s, null, uio, null, null, flagsp);
      if (r === k.EWOULDBLOCK) r = await k.soreceive(s, null, uio, null, null, { value: 0 });
      if (r !== 0 || uio.moved === 0) break;
      bytes += uio.moved;
    }
    console.log(Math.round(bytes / (Number(process.hrtime.bigint() - t0) / 1e9)));
    k.soclose(s);
  })();
} else if (mode === 'rtt-server') {
  const rx = udp(0);
  fs.writeFileSync(a1, String(rx._local().port));
  const uio = new k.Uio(Buffer.alloc(2048));
  const from = { value: null };
  (async () => {
    for (;;) {
      uio.rewind();
      if (await k.soreceive(rx, from, uio, null, null, null) !== 0 || uio.moved === 0) break;
      const out = new k.Uio(uio.uio_iov[0].subarray(0, uio.moved), k.UIO_WRITE);
      k.sosend(rx, from.value, out, null, null, DONTWAIT);
    }
    k.soclose(rx);
  })();
} else if (mode === 'rtt-client') {
  const tx = udp(0);
  const n = Number(a2);
  k.soconnect(tx, { family: k.AF_INET, address: '127.0.0.1', port: Number(a1) });
  const out = new k.Uio(Buffer.alloc(64), k.UIO_WRITE);
  const uio = new k.Uio(Buffer.alloc(64));
  (async () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      k.sosend(tx, null, out.rewind(), null, null, DONTWAIT);
      await k.soreceive(tx, null, uio.rewind(), null, null, null);
    }
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    k.sosend(tx, null, new k.Uio(Buffer.alloc(0), k.UIO_WRITE), null, null, DONTWAIT);
    console.log(Math.round(n / dt));
    k.soclose(tx);
  })();
} else if (mode === 'send') {
  const tx = udp(0);
  const to = k.sockaddr({ family: k.AF_INET, address: '127.0.0.1', port: Number(a1) });
  const out = new k.Uio(Buffer.alloc(64), k.UIO_WRITE);
  const end = process.hrtime.bigint() + BigInt(Number(a2) * 1e9);
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 64; i++) k.sosend(tx, to, out.rewind(), null, null, DONTWAIT);
  }
  k.soclose(tx);
} else if (mode === 'drain-message') {
  // The idiomatic face's 'message' event (read natively on each wakeup), as dgram's drain.
  const rounds = Number(a1), max = Number(a2);
  const tx = udp(0), rx = udp(64 << 20);
  const to = k.sockaddr(rx._local());
  const out = new k.Uio(Buffer.alloc(64), k.UIO_WRITE);
  (async () => {
    let tn = 0, tt = 0n;
    for (let r = 0; r < rounds; r++) {
      let n = 0;
      while (n < max && k.sosend(tx, to, out.rewind(), null, null, DONTWAIT) === 0) n++;
      const t0 = process.hrtime.bigint();
      await new Promise((resolve) => {
        let got = 0;
        const on = () => {
          if (++got === n) {
            rx.off('message', on);
            resolve();
          }
        };
        rx.on('message', on);
      });
      tt += process.hrtime.bigint() - t0;
      tn += n;
    }
    console.log(Math.round(tn / (Number(tt) / 1e9)));
    k.soclose(tx);
    k.soclose(rx);
  })();
} else if (mode === 'recv-message') {
  const rx = udp(64 << 20);
  fs.writeFileSync(a1, String(rx._local().port));
  const secs = Number(a2);
  let count = 0, t0 = 0n;
  rx.on('message', () => {
    if (t0 === 0n) t0 = process.hrtime.bigint();
    count++;
  });
  const timer = setInterval(() => {
    if (t0 !== 0n && process.hrtime.bigint() - t0 >= BigInt(secs * 1e9)) {
      clearInterval(timer);
      console.log(Math.round(count / (Number(process.hrtime.bigint() - t0) / 1e9)));
      rx.removeAllListeners('message');
      k.soclose(rx);
    }
  }, 5);
} else if (mode === 'rtt-server-promise') {
  // The idiomatic face as a user writes it: await recvmsg(), answer with sendmsg({ to: msg.from }).
  const rx = udp(0);
  fs.writeFileSync(a1, String(rx._local().port));
  (async () => {
    for (;;) {
      const m = await rx.recvmsg({ size: 2048 });
      if (m.bytes === 0) break;
      await rx.sendmsg({ data: m.data, to: m.from });
    }
    await rx.close();
  })();
} else if (mode === 'rtt-client-promise') {
  const tx = udp(0);
  const n = Number(a2);
  const msg = Buffer.alloc(64);
  (async () => {
    await tx.connect({ family: k.AF_INET, address: '127.0.0.1', port: Number(a1) });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      await tx.sendmsg(msg);
      await tx.recvmsg({ size: 64 });
    }
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    await tx.sendmsg(Buffer.alloc(0));
    console.log(Math.round(n / dt));
    await tx.close();
  })();
} else if (mode === 'rtt-server-message') {
  // The 'message' event and trySendmsg, as dgram's server.
  const rx = udp(0);
  fs.writeFileSync(a1, String(rx._local().port));
  rx.on('message', (data, m) => {
    if (data.length === 0) {
      rx.removeAllListeners('message');
      k.soclose(rx);
      return;
    }
    rx.trySendmsg({ data, to: m.from });
  });
} else if (mode === 'rtt-client-message') {
  const tx = udp(0);
  const n = Number(a2);
  const msg = Buffer.alloc(64);
  let i = 0, t0 = 0n;
  tx.connect({ family: k.AF_INET, address: '127.0.0.1', port: Number(a1) }).then(() => {
    tx.on('message', () => {
      if (++i === n) {
        const dt = Number(process.hrtime.bigint() - t0) / 1e9;
        tx.trySendmsg(Buffer.alloc(0));
        console.log(Math.round(n / dt));
        tx.removeAllListeners('message');
        k.soclose(tx);
        return;
      }
      tx.trySendmsg(msg);
    });
    t0 = process.hrtime.bigint();
    tx.trySendmsg(msg);
  });
}
