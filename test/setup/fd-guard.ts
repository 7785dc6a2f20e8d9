// Every test file: the process's open descriptors after the file's tests are
// the same as before them. Counted from /proc/self/fd (Linux); elsewhere the
// guard is a no-op.
import { readdirSync, existsSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';

const FD_DIR = '/proc/self/fd';

// Under the ASan pass (.ci/run preloads libasan), every child a test starts
// inherits the preload, third-party tools included: ip(8) 6.1's print_route
// calls strncpy on overlapping buffers, which ASan's string interceptors turn
// into an abort. Children get those interceptors' checks off (replace_str=0,
// and the strlen/strchr/strndup ones it would otherwise warn about on
// stderr); the test processes themselves, where the addon runs, keep every
// check.
if ((process.env.LD_PRELOAD ?? '').includes('libasan') && !/replace_str=/.test(process.env.ASAN_OPTIONS ?? '')) {
  process.env.ASAN_OPTIONS = [process.env.ASAN_OPTIONS, 'replace_str=0:intercept_strlen=0:intercept_strchr=0:intercept_strndup=0'].filter(Boolean).join(':');
}

export function openFds(): string[] {
  return readdirSync(FD_DIR).sort((a, b) => Number(a) - Number(b));
}

let before: string[] | null = null;

beforeAll(() => {
  if (existsSync(FD_DIR)) before = openFds();
});

afterAll(async () => {
  if (before === null) return;
  // Let pending closes (child pipes, timers) settle.
  await new Promise((r) => setTimeout(r, 50));
  const after = openFds();
  expect(after.length, `descriptors leaked: before [${before.join(',')}] after [${after.join(',')}]`).toBe(before.length);
});
