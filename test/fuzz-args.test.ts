// The argument fuzzer (test/fuzz/args-fuzz.cjs) in a child process: every
// export, every method, every raw addon function, called with hostile
// arguments. The child must finish (exit 0, no signal) with the descriptors
// it started with. On failure the message has the seed, the last calls from
// the journal and the child's stderr.
//
//   KSOCK_FUZZ_SEED=<n> KSOCK_FUZZ_ITER=<calls> npx vitest run test/fuzz-args.test.ts
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = join(__dirname, 'fuzz', 'args-fuzz.cjs');
const seed = process.env.KSOCK_FUZZ_SEED ?? String(0x6b736f63);
const iter = process.env.KSOCK_FUZZ_ITER ?? '3000';

describe('argument fuzzer', () => {
  it(`every export, method and raw addon function survives hostile arguments (seed ${seed}, ${iter} calls)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksock-fuzz-journal-'));
    const journal = join(dir, 'journal.log');
    try {
      const r = spawnSync(process.execPath, ['--expose-gc', script], {
        encoding: 'utf8',
        timeout: 90_000,
        killSignal: 'SIGKILL',
        env: { ...process.env, KSOCK_FUZZ_SEED: seed, KSOCK_FUZZ_ITER: iter, KSOCK_FUZZ_MS: '60000', KSOCK_FUZZ_JOURNAL: journal },
        maxBuffer: 64 << 20,
      });
      const lines = existsSync(journal) ? readFileSync(journal, 'utf8').trim().split('\n') : [];
      const last = lines.filter((l) => !l.startsWith('SUMMARY ')).slice(-5).join('\n') || '(no journal)';
      // The summary is on stdout and, in case stdout itself was closed by a call, in the journal.
      const out = lines.find((l) => l.startsWith('SUMMARY '))?.slice(8) ?? (r.stdout ?? '').trim().split('\n').pop() ?? '';
      let summary: any = null;
      try {
        summary = JSON.parse(out);
      } catch {
        summary = null;
      }
      const failing = summary?.findings?.filter((f: any) => !f.internal && !f.note) ?? [];
      const message = [
        `seed ${seed} (rerun: KSOCK_FUZZ_SEED=${seed} KSOCK_FUZZ_ITER=${iter} node --expose-gc test/fuzz/args-fuzz.cjs)`,
        `status ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''}`,
        `last calls:\n${last}`,
        `findings: ${JSON.stringify(failing, null, 1).slice(0, 6000)}`,
        `leaked: ${JSON.stringify(summary?.leaked ?? null)}, closed descriptors of others: ${JSON.stringify(summary?.closedOfOthers ?? null)}`,
        `stderr (tail):\n${(r.stderr ?? '').slice(-4000)}`,
      ].join('\n');
      expect({ status: r.status, signal: r.signal }, message).toEqual({ status: 0, signal: null });
      expect(summary?.calls, message).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000); // the fuzzer has up to 60 s of calls (KSOCK_FUZZ_MS) and the spawn 90 s in all
});
