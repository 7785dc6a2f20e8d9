// ksock side of the capture-ring benchmark (bench/run.mjs, "capture"): frames
// of ethertype 0x88b5 on IFACE, counted for SECONDS from the first one.
//   node bench/ring.js ring IFACE READYFILE SECONDS BLOCKSIZE BLOCKCOUNT FRAMESIZE TIMEOUT -> frames/s
//       the TPACKET_V3 ring: each block's frames walked, each frame's length read
//   node bench/ring.js recvmsg IFACE READYFILE SECONDS -> frames/s
//       one recvmsg per frame (kernel face, MSG_DONTWAIT until EAGAIN, then a sleeping one)
'use strict';
const fs = require('node:fs');
const k = require('..');

const [mode, ifname, ready, secs, bs, bn, fsz, tov] = process.argv.slice(2);
const seconds = Number(secs);
const s = k.Socket.create('AF_PACKET', 'SOCK_RAW', 0);
s.bind({ family: k.AF_PACKET, protocol: 0x88b5, ifindex: k.if_nametoindex(ifname) });
const now = () => Number(process.hrtime.bigint()) / 1e9;

async function ring() {
  const r = k.openRing(s, { blockSize: Number(bs), blockCount: Number(bn), frameSize: Number(fsz), timeout: Number(tov) });
  fs.writeFileSync(ready, '');
  let frames = 0, bytes = 0, t0 = 0, end = Infinity;
  for (;;) {
    let b;
    try {
      b = r.tryNext() ?? await r.next({ timeout: t0 === 0 ? 30_000 : Math.max(1, (end - now()) * 1000) });
    } catch (e) {
      if (e.code === 'ETIMEDOUT') break;
      throw e;
    }
    if (t0 === 0) { t0 = now(); end = t0 + seconds; }
    for (const f of b) { bytes += f.len; frames++; }
    b.release();
    if (now() >= end) break;
  }
  const el = now() - t0;
  if (process.env.BENCH_VERBOSE) console.error('ring stats', r.stats());
  r.close();
  return [Math.round(frames / el), bytes];
}

async function recvmsg() {
  const uio = new k.Uio(Buffer.alloc(2048));
  const flagsp = { value: k.MSG_DONTWAIT };
  fs.writeFileSync(ready, '');
  // The first frame, sleeping; then drain, sleeping only when the queue is empty.
  if (await k.soreceive(s, null, uio.rewind(), null, null, null) !== 0) throw new Error('soreceive');
  let frames = 1, bytes = uio.moved, sleepsTimedOut = 0, drained = 0;
  const t0 = now(), end = t0 + seconds;
  s.setsockopt('SOL_SOCKET', 'SO_RCVTIMEO', 100);
  for (;;) {
    for (let i = 0; i < 1024; i++) {
      flagsp.value = k.MSG_DONTWAIT;
      if (k.soreceive(s, null, uio.rewind(), null, null, flagsp) !== 0) { drained++; break; }
      frames++;
      bytes += uio.moved;
    }
    if (now() >= end) break;
    const e = await k.soreceive(s, null, uio.rewind(), null, null, null);
    if (e === 0) { frames++; bytes += uio.moved; } else sleepsTimedOut++;
  }
  const el = now() - t0;
  if (process.env.BENCH_VERBOSE) {
    const st = Buffer.alloc(8);
    const so = new k.Sockopt();
    k.sockopt_init(so, k.SOL_PACKET, k.PACKET_STATISTICS, 8);
    k.sogetopt(s, so);
    k.sockopt_get(so, st, 8);
    console.error('recvmsg stats: packets', st.readUInt32LE(0), 'drops', st.readUInt32LE(4), 'read', frames, 'timed-out sleeps', sleepsTimedOut, 'drained empty', drained);
  }
  return [Math.round(frames / el), bytes];
}

(mode === 'ring' ? ring() : recvmsg()).then(([pps, bytes]) => {
  console.log(`${pps} ${bytes}`);
  s.close();
}, (e) => { console.error(e); process.exit(1); });
