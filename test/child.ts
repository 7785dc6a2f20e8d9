// Running a scenario in a child process, so that a crash (abort, segfault, an
// ASan report) shows as a failed assertion with the child's stderr, not as a
// dead test runner. The child inherits the environment: KSOCK_NATIVE and
// LD_PRELOAD select an instrumented build for the whole suite.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The built package (run `node scripts/build-ts.mjs` first). */
export const dist = join(__dirname, '..', 'dist', 'index.js');

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last stdout line, parsed as JSON (undefined when it is not JSON). */
  json: any;
}

/** What a crash looks like on stderr: V8/Node fatal errors, aborts, C++ terminate, glibc heap checks, sanitizers. */
const CRASH = /Abort|FATAL|Assertion|terminate called|malloc\(\)|free\(\)|double free|corrupted|AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|Segmentation/;

/**
 * Runs `code` with `node -e`. `DIST` is defined in the child as the path of
 * dist/index.js. Bounded by `timeout` ms (the child is killed with SIGKILL).
 */
export function runNode(code: string, opts: { timeout?: number; execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}): ChildResult {
  const prelude = `const DIST = ${JSON.stringify(dist)};\n`;
  const r = spawnSync(process.execPath, [...(opts.execArgv ?? []), '-e', prelude + code], {
    encoding: 'utf8',
    timeout: opts.timeout ?? 20_000,
    killSignal: 'SIGKILL',
    env: opts.env ?? process.env,
    maxBuffer: 16 << 20,
  });
  const stdout = r.stdout ?? '';
  let json: any;
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    json = JSON.parse(last);
  } catch {
    json = undefined;
  }
  return { status: r.status, signal: r.signal, stdout, stderr: r.stderr ?? '', json };
}

/** A one-paragraph account of a child for assertion messages. */
export function describeChild(r: ChildResult): string {
  const tail = (s: string): string => (s.length > 3000 ? '…' + s.slice(-3000) : s);
  return `child exited with status ${r.status}, signal ${r.signal}\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`;
}

/** True when the child's stderr shows a crash (abort, fatal error, heap corruption, sanitizer report). */
export function crashed(r: ChildResult): boolean {
  return r.signal !== null || CRASH.test(r.stderr);
}
