// Every test file: the process's open descriptors after the file's tests are
// the same as before them. Counted from /proc/self/fd (Linux); elsewhere the
// guard is a no-op.
import { readdirSync, existsSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';

const FD_DIR = '/proc/self/fd';

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
