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
