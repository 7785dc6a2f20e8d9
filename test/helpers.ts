// Shared test helpers: real sockets only, loopback only, every wait bounded.
import { spawn } from 'node:child_process';
import * as k from '../lib/index';

export { k };

/** Creates a socket or fails the test with the errno's name. */
export function mk(dom: number, type: number, proto = 0): k.Socket {
  const aso: k.Holder<k.Socket | null> = { value: null };
  const e = k.socreate(dom, aso, type, proto);
  if (e !== 0) throw new Error(`socreate: ${k.errnoName(e)}`);
  return aso.value!;
}

/** A bound socket on the loopback address of its family, port chosen by the kernel. */
export function bound(dom: number, type: number, proto = 0): k.Socket {
  const so = mk(dom, type, proto);
  const addr = dom === k.AF_INET6 ? { family: dom, address: '::1', port: 0 } : { family: dom, address: '127.0.0.1', port: 0 };
  const e = k.sobind(so, addr);
  if (e !== 0) throw new Error(`sobind: ${k.errnoName(e)}`);
  return so;
}

/** A listener on 127.0.0.1 and a connected, accepted TCP pair through the kernel face. */
export async function tcpPair(): Promise<{ l: k.Socket; c: k.Socket; s: k.Socket }> {
  const l = bound(k.AF_INET, k.SOCK_STREAM);
  if (k.solisten(l, 1) !== 0) throw new Error('solisten failed');
  const c = mk(k.AF_INET, k.SOCK_STREAM);
  if (k.soconnect(c, local(l)) !== 0) throw new Error('soconnect failed');
  const aso: k.Holder<k.Socket | null> = { value: null };
  const e = await k.soaccept(l, aso);
  if (e !== 0) throw new Error(`soaccept: ${k.errnoName(e)}`);
  return { l, c, s: aso.value! };
}

export function local(so: k.Socket): k.SockaddrOut {
  const a = so._local();
  if (a === null) throw new Error('getsockname failed');
  return a;
}

/** Waits, with a bound, until cond() holds, sleeping on so_timeo between tests. */
export async function until(so: k.Socket, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 1000 && !cond(); i++) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('timed out waiting for a socket state');
    await k.tsleep(so.so_timeo, 'until', Math.min(left, 100));
  }
  if (!cond()) throw new Error('condition not reached');
}

/** Runs python3 with a script; resolves its stdout. Killed after `ms`. */
export function python(script: string, args: string[] = [], ms = 10_000): { done: Promise<string>; child: ReturnType<typeof spawn> } {
  const child = spawn('python3', ['-c', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`python timed out; stderr: ${err}`));
    }, ms);
    child.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`python exited ${code}: ${err}`));
    });
  });
  return { done, child };
}

export const hasPython = (() => {
  try {
    require('node:child_process').execFileSync('python3', ['-c', 'import socket'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * This process's effective capabilities (CapEff in /proc/self/status; 0 where
 * there is no such file, as on the BSDs): bit 12 CAP_NET_ADMIN, 13 CAP_NET_RAW,
 * 21 CAP_SYS_ADMIN.
 */
export function capEff(): bigint {
  try {
    const m = /CapEff:\s+([0-9a-f]+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8') as string);
    return m ? BigInt('0x' + m[1]) : 0n;
  } catch {
    return 0n;
  }
}

/** True when this process may create network namespaces: root, CAP_SYS_ADMIN in effect, and iproute2 present. */
export const canCreateNetns: boolean = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    const status = require('node:fs').readFileSync('/proc/self/status', 'utf8') as string;
    const m = /CapEff:\s+([0-9a-f]+)/.exec(status);
    if (!m || ((BigInt('0x' + m[1]) >> 21n) & 1n) === 0n) return false;
    return require('node:child_process').spawnSync('ip', ['-V']).status === 0;
  } catch {
    return false;
  }
})();
