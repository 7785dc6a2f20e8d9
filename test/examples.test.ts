// The runnable examples work as the README says (`npm start`).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..');

describe('examples/', () => {
  it('tour.mjs shows the states, a connect/tsleep loop and MSG_DONTWAIT', () => {
    const r = spawnSync(process.execPath, [join(root, 'examples', 'tour.mjs')], { encoding: 'utf8', timeout: 20_000, cwd: root });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/soconnect returned\s+Socket<AF_INET SOCK_STREAM fd=\d+ SS_ISCONNECTING/);
    expect(out).toMatch(/connected\s+Socket<AF_INET SOCK_STREAM fd=\d+ SS_ISCONNECTED\|SS_ISBOUND/);
    expect(out).toContain('"hello, kernel face"');
    expect(out).toMatch(/MSG_DONTWAIT, nothing queued soreceive -> number EAGAIN/);
    expect(out).toMatch(/so_error = ECONNREFUSED/);
    expect(out).toMatch(/after soclose \(twice\)\s+Socket<AF_INET SOCK_STREAM fd=-1 SS_NOFDREF/);
  });
});

describe('dist/', () => {
  it('is importable from ESM and from CommonJS, with the same exports', () => {
    const esm = spawnSync(process.execPath, ['--input-type=module', '-e',
      "import * as k from 'ksock'; import d from 'ksock'; console.log(JSON.stringify([typeof k.socreate, typeof d.soreceive, Object.keys(k).length]))"],
      { encoding: 'utf8', cwd: root, timeout: 10_000 });
    const cjs = spawnSync(process.execPath, ['-e',
      "const k = require('ksock'); console.log(JSON.stringify([typeof k.socreate, typeof k.soreceive, Object.keys(k).length + 1]))"],
      { encoding: 'utf8', cwd: root, timeout: 10_000 });
    expect(esm.stderr).toBe('');
    expect(cjs.stderr).toBe('');
    const e = JSON.parse(esm.stdout), c = JSON.parse(cjs.stdout);
    expect(e[0]).toBe('function');
    expect(e[1]).toBe('function');
    expect(c[0]).toBe('function');
    // ESM has the named exports plus `default`.
    expect(e[2]).toBe(c[2]);
  });
});
