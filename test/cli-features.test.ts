// Importing ksock opens no socket; `features` probes on first read and closes
// what it opened. Checked in a child process that lists its own descriptors.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';

const dist = join(__dirname, '..', 'dist', 'index.js');

/** Runs `body` in a fresh node with `sockets()` (this process's socket descriptors) defined. */
function child(body: string, env: NodeJS.ProcessEnv = {}) {
  const script = `
    const fs = require('node:fs');
    const sockets = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
      try { return fs.readlinkSync('/proc/self/fd/' + fd).startsWith('socket:'); } catch { return false; }
    });
    ${body}`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

// The addon, wrapped so that every socket()/socketpair() through it is counted (KSOCK_NATIVE loads it instead).
const dir = mkdtempSync(join(tmpdir(), 'ksock-features-'));
const real = (require('node-gyp-build') as { path(dir: string): string }).path(join(__dirname, '..'));
const counting = join(dir, 'counting.js');
writeFileSync(counting, `
  const real = require(${JSON.stringify(real)});
  globalThis.socketCalls = [];
  const count = (name) => (...a) => { globalThis.socketCalls.push(name + '(' + a.join(', ') + ')'); return real[name](...a); };
  module.exports = Object.assign(Object.create(real), { socket: count('socket'), socketpair: count('socketpair') });`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(existsSync('/proc/self/fd'))('features: no socket at import, probes on first read (counted in /proc/self/fd)', () => {
  it('require(dist/index.js) calls socket() not once (counted in the addon)', () => {
    const out = child(`
      const k = require(${JSON.stringify(dist)});
      const atImport = [...socketCalls];
      const ipv4 = k.features.ipv4, ipv6 = k.features.ipv6;
      const afterTwo = [...socketCalls];
      k.features.ipv4; k.features.ipv6;
      console.log(JSON.stringify({ atImport, afterTwo, end: socketCalls, ipv4 }));`, { KSOCK_NATIVE: counting });
    expect(out.atImport).toEqual([]);
    expect(out.afterTwo).toHaveLength(2); // one probe each, on first read
    expect(out.end).toEqual(out.afterTwo); // kept: no second probe
    expect(out.ipv4).toBe(true);
  });

  it('require(dist/index.js) opens no socket descriptor', () => {
    const out = child(`
      const before = sockets();
      const k = require(${JSON.stringify(dist)});
      const after = sockets();
      console.log(JSON.stringify({ before, after, keys: Object.keys(k.features).length }));`);
    expect(out.after).toEqual(out.before);
    expect(out.keys).toBeGreaterThan(10); // the names are there before any probe runs
  });

  it('reading features.ipv4 probes with a socket it closes again; the answer is kept', () => {
    const out = child(`
      const k = require(${JSON.stringify(dist)});
      const before = sockets();
      const ipv4 = k.features.ipv4;
      const after = sockets();
      const again = k.features.ipv4;
      const all = { ...k.features };
      console.log(JSON.stringify({ before, after, ipv4, again, frozen: Object.isFrozen(k.features), all, end: sockets() }));`);
    expect(out.ipv4).toBe(true);
    expect(out.again).toBe(true);
    expect(out.after).toEqual(out.before);
    expect(out.end).toEqual(out.before);
    expect(out.frozen).toBe(true);
    expect(out.all).toMatchObject({ ipv4: true, unix_stream: true, unix_dgram: true });
    expect(Object.values(out.all).every((v) => typeof v === 'boolean')).toBe(true);
  });

});
