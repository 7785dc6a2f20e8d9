// Types that guide: test/types/usage.ts compiles against the published
// declarations, and each line marked @ts-expect-error fails to compile (tsc
// reports an unused directive otherwise).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const tsc = createRequire(__filename).resolve('typescript/bin/tsc');

describe('the published types', () => {
  it('accept right calls and reject wrong ones (tsc --noEmit over test/types/usage.ts)', () => {
    const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'test', 'types', 'tsconfig.json')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout + r.stderr, 'tsc output').toBe('');
    expect(r.status).toBe(0);
  }, 60_000);

  it('publish no internals', async () => {
    const { readFileSync } = await import('node:fs');
    const dts = readFileSync(join(root, 'dist', 'core', 'socket.d.ts'), 'utf8');
    for (const internal of ['_sleep', '_h:', '_drain', '_rearm', '_onPoll', '_sleepers']) expect(dts).not.toContain(internal);
  });
});
