// The AddressSanitizer + UBSan build of the addon, beside the regular one.
//
//   node scripts/asan.mjs build          builds build-asan/Release/ksock.node (cmake-js, -fsanitize=address,undefined)
//   node scripts/asan.mjs test [args…]   runs the test suite against it (vitest, with libasan preloaded)
//
// `npm run build:asan` and `npm run test:asan` call these. The regular build
// in build/ is not touched.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const out = join(root, 'build-asan', 'Release', 'ksock.node');
const [cmd, ...rest] = process.argv.slice(2);

function libasan() {
  let p = '';
  try {
    p = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
  } catch {
    // no gcc
  }
  if (!p.startsWith('/') || !existsSync(p)) {
    console.error('asan: no libasan for this toolchain (gcc -print-file-name=libasan.so)');
    process.exit(2);
  }
  return p;
}

if (cmd === 'build') {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build-asan'], {
    cwd: root, stdio: 'inherit', env: { ...process.env, KSOCK_SANITIZE: '1' },
  });
  process.exit(r.status ?? 1);
} else if (cmd === 'test') {
  if (!existsSync(out)) {
    console.error(`asan: ${out} is missing; run npm run build:asan first`);
    process.exit(2);
  }
  const vitest = require.resolve('vitest/vitest.mjs');
  const r = spawnSync(process.execPath, [vitest, 'run', ...rest], {
    cwd: root, stdio: 'inherit',
    env: {
      ...process.env,
      KSOCK_NATIVE: out,
      LD_PRELOAD: libasan(),
      ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=0:abort_on_error=1',
      UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'halt_on_error=1:print_stacktrace=1',
    },
  });
  process.exit(r.status ?? 1);
} else {
  console.error('usage: node scripts/asan.mjs build | test [vitest args…]');
  process.exit(2);
}
