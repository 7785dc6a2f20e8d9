// The published package: `npm pack`, install into an empty project with no
// C++ compiler on PATH (the prebuild must load), import from ESM and CJS.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'ksock-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * A command run without blocking the test worker's event loop (minutes of
 * npm in a synchronous call starve vitest's own messages).
 */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout: number }):
  Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeout);
    p.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

const npmCli = (() => {
  const npm = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  return npm ? realpathSync(npm) : null;
})();

describe.runIf(npmCli !== null && !process.env.KSOCK_NATIVE)('npm pack → install → import (checked once, in the default-build pass)', () => {
  it('installs without a compiler (the prebuild loads) and works from ESM and CommonJS', async () => {
    // Prebuild and pack from a copy of the package, so that rebuilding never
    // touches the build/ the other test files are loading the addon from.
    const pkg = join(work, 'pkg');
    cpSync(root, pkg, {
      recursive: true,
      filter: (src) => !/[\\/](node_modules|build|build-cmake|build-asan|test-results|prebuilds|\.git)$/.test(src),
    });
    symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
    const pre = await run('npm', ['run', 'prebuild'], { cwd: pkg, timeout: 240_000 });
    expect(pre.status, pre.stderr).toBe(0);
    const pack = await run('npm', ['pack', '--pack-destination', work, '--json'], { cwd: pkg, timeout: 120_000 });
    expect(pack.status, pack.stderr).toBe(0);
    const packOut = pack.stdout;
    const info = JSON.parse(packOut.slice(packOut.indexOf('[')))[0] as { filename: string; files: { path: string }[] };
    const paths = info.files.map((f) => f.path);
    expect(paths).toContain('dist/index.mjs');
    expect(paths).toContain('bin/ksock.mjs');
    expect(paths.some((p) => p.startsWith(`prebuilds/${process.platform}-${process.arch}/`))).toBe(true);

    // PATH with node, npm and a shell (npm runs scripts through sh) only: no cc, c++, make or python.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(npmCli!, join(bin, 'npm'));
    symlinkSync(realpathSync('/bin/sh'), join(bin, 'sh'));
    const env = { ...process.env, PATH: bin, CC: '/nonexistent/cc', CXX: '/nonexistent/c++', KSOCK_NATIVE: '' };
    for (const tool of ['cc', 'c++', 'g++', 'make']) expect(spawnSync(tool, ['--version'], { env }).error).toBeDefined();

    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const inst = await run('npm', ['install', '--no-audit', '--no-fund', join(work, info.filename)], { cwd: app, env, timeout: 180_000 });
    expect(inst.status, inst.stderr).toBe(0);
    expect(existsSync(join(app, 'node_modules', 'ksock', 'build'))).toBe(false); // nothing was compiled

    const probe = `const [a, b] = k.Socket.socketpair(); a.trySendmsg(Buffer.from('packed')); const m = b.tryRecvmsg({ size: 16 });
      console.log(JSON.stringify([typeof k.socreate, m.data.toString(), k.features.unix_stream]));`;
    const cjs = spawnSync(process.execPath, ['-e', `const k = require('ksock'); ${probe}`], { cwd: app, env, encoding: 'utf8' });
    expect(cjs.stderr).toBe('');
    expect(JSON.parse(cjs.stdout)).toEqual(['function', 'packed', true]);
    const esm = spawnSync(process.execPath, ['--input-type=module', '-e', `import * as k from 'ksock'; ${probe}`], { cwd: app, env, encoding: 'utf8' });
    expect(esm.stderr).toBe('');
    expect(JSON.parse(esm.stdout)).toEqual(['function', 'packed', true]);
    const cli = spawnSync(join(app, 'node_modules', '.bin', 'ksock'), ['doctor', '--json'], { cwd: app, env, encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout).features.unix_stream).toBe(true);
  }, 300_000);
});
