// The addon in worker_threads: each env has its own state and event loop.
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dist = join(__dirname, '..', 'dist', 'index.js');

const body = `
const { parentPort, workerData } = require('node:worker_threads');
const k = require(${JSON.stringify(dist)});
(async () => {
  const mk = () => { const a = { value: null }; k.socreate(k.AF_INET, a, k.SOCK_DGRAM, 0);
    k.sobind(a.value, { family: k.AF_INET, address: '127.0.0.1', port: 0 }); return a.value; };
  const a = mk(), b = mk();
  const to = b._local();
  let ok = 0;
  for (let i = 0; i < workerData.n; i++) {
    const uio = new k.Uio(Buffer.alloc(32));
    const p = k.soreceive(b, null, uio, null, null, null);   // sleeps on this worker's loop
    setTimeout(() => k.sosend(a, to, null, Buffer.from('w' + workerData.id + ':' + i), null, 0), 1);
    if (await p === 0 && uio.uio_iov[0].subarray(0, uio.moved).toString() === 'w' + workerData.id + ':' + i) ok++;
  }
  if (workerData.hang) {
    k.soreceive(b, null, new k.Uio(Buffer.alloc(8)), null, null, null);  // left sleeping
    parentPort.postMessage({ ok, hanging: true });
    return;
  }
  k.soclose(a); k.soclose(b);
  parentPort.postMessage({ ok });
})();`;

function run(workerData: object): { worker: Worker; result: Promise<{ ok: number }> } {
  const worker = new Worker(body, { eval: true, workerData });
  const result = new Promise<{ ok: number }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('worker timed out')), 15_000);
    worker.once('message', (m) => { clearTimeout(t); resolve(m); });
    worker.once('error', (e) => { clearTimeout(t); reject(e); });
  });
  return { worker, result };
}

describe('worker_threads', () => {
  it('the addon works in two worker threads at once', async () => {
    const w1 = run({ id: 1, n: 50 }), w2 = run({ id: 2, n: 50 });
    const [r1, r2] = await Promise.all([w1.result, w2.result]);
    expect(r1.ok).toBe(50);
    expect(r2.ok).toBe(50);
    await Promise.all([w1.worker.terminate(), w2.worker.terminate()]);
  });

  it('a worker terminated with open sockets and a sleeping soreceive tears down cleanly', async () => {
    const w = run({ id: 3, n: 3, hang: true });
    expect((await w.result).ok).toBe(3);
    const code = await w.worker.terminate();
    expect(code).toBe(1); // terminated, not crashed; the fd guard checks the descriptors were closed
  });
});
