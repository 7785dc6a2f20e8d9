// `npm run bench` (bench/run.mjs) at its smallest settings: two interleaved
// passes of the round-trip and AF_UNIX stream groups, written to a directory
// of this test's own (BENCH_OUT). Checks what a reader of the results relies
// on: the provenance of the JSON (machine, load, Node, commit), every row's
// median inside its min–max spread, per-pass ratios to the C reference of the
// same pass, and the table printing both. With perf(1), BENCH_PERF writes a
// profile naming the symbols of each Node process of the contender.
// Needs a C compiler (the references are compiled by the run); perf is optional.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const script = join(root, 'bench', 'run.mjs');
const cc = process.env.CC ?? 'cc';
const hasCc = spawnSync(cc, ['--version'], { timeout: 10_000 }).status === 0;
const dirs: string[] = [];
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), `ksock-bench-test-${process.pid}-`));
  dirs.push(d);
  return d;
};
const hasPerf = (() => {
  const d = scratch();
  return spawnSync('perf', ['record', '-q', '-o', join(d, 'probe.data'), '--', 'true'], { timeout: 20_000 }).status === 0;
})();
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs bench/run.mjs with the given settings; resolves with its stdout. */
function bench(env: Record<string, string>, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script], { cwd, env: { ...process.env, ...env }, timeout: 100_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

interface Row {
  samples: (number | null)[]; median: number; min: number; max: number;
  ratios: (number | null)[] | null; ratio: { median: number; min: number; max: number } | null; failures: string[];
}
interface Report {
  date: string; node: string; commit: string | null; dirty: boolean | null; passes: number; seconds: number;
  machine: { cpuModel: string; cpus: number; release: string; totalMemory: number; loadBefore: number[]; loadAfter: number[] };
  results: Record<string, { title: string; unit: string; reference: string | null; contenders: Record<string, Row> }>;
}

describe.runIf(hasCc)(`npm run bench, smallest settings (${hasCc ? `compiles with ${cc}` : `skipped: no C compiler (${cc})`})`, () => {
  it('writes results with provenance, and every row with its spread and per-pass ratios', async () => {
    const out = scratch();
    const stdout = await bench({ BENCH_ONLY: 'rtt,stream', BENCH_PASSES: '2', BENCH_SECONDS: '0.2', BENCH_RTT_N: '2000', BENCH_OUT: out }, root);

    const files = readdirSync(out).filter((f) => f.endsWith('.json'));
    const dated = files.filter((f) => f !== 'results.json');
    expect(files).toContain('results.json');
    expect(dated).toHaveLength(1);
    expect(dated[0]).toMatch(/^\d{8}T\d{6}Z-([0-9a-f]{7}(-dirty)?|nogit)\.json$/);
    const text = readFileSync(join(out, 'results.json'), 'utf8');
    expect(readFileSync(join(out, dated[0]!), 'utf8')).toBe(text);
    const r = JSON.parse(text) as Report;

    // Provenance.
    expect(Date.now() - Date.parse(r.date)).toBeLessThan(120_000);
    expect(r.node).toBe(process.version);
    expect(r.machine).toMatchObject({ cpus: cpus().length, release: release(), totalMemory: totalmem() });
    expect(r.machine.cpuModel).toBe(cpus()[0]?.model ?? 'unknown CPU');
    for (const l of [r.machine.loadBefore, r.machine.loadAfter]) expect(l).toHaveLength(3);
    const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' });
    if (head.status === 0) {
      expect(r.commit).toBe(head.stdout.trim());
      expect(typeof r.dirty).toBe('boolean');
      expect(dated[0]!.includes(`-${r.commit!.slice(0, 7)}`)).toBe(true);
    }
    expect(r).toMatchObject({ passes: 2, seconds: 0.2 });

    // The groups asked for, their C references first.
    expect(Object.keys(r.results)).toEqual(['stream', 'rtt']);
    expect(Object.keys(r.results.rtt!.contenders).slice(0, 2)).toEqual(['C blocking sendto/recv', 'C nonblocking + poll']);
    expect(r.results.rtt!.reference).toBe('C blocking sendto/recv');
    expect(r.results.stream!.reference).toBe('C nonblocking read(64 KiB) + poll');
    expect(Object.keys(r.results.stream!.contenders).some((n) => n.startsWith('ksock'))).toBe(true);
    // The Node-API floor (a bare addon, bench/c/floor.c) runs beside them where Node's headers are.
    const nodeApi = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node'].some((d) => existsSync(join(d, 'node_api.h')));
    expect(Object.keys(r.results.rtt!.contenders).some((n) => n.startsWith('Node-API floor'))).toBe(nodeApi);

    for (const [group, g] of Object.entries(r.results)) {
      const ref = g.contenders[g.reference!]!;
      for (const [name, c] of Object.entries(g.contenders)) {
        const what = `${group} / ${name}`;
        expect(c.failures, what).toEqual([]);
        expect(c.samples, what).toHaveLength(2);
        for (const x of c.samples) expect(x, what).toBeGreaterThan(0);
        const xs = c.samples as number[];
        expect([c.min, c.median, c.max], what).toEqual([Math.min(...xs), (xs[0]! + xs[1]!) / 2, Math.max(...xs)]);
        expect(c.ratios, what).toHaveLength(2);
        c.ratios!.forEach((q, i) => expect(q, what).toBeCloseTo(xs[i]! / ref.samples[i]!, 3));
        expect(c.ratio!.min, what).toBeLessThanOrEqual(c.ratio!.median);
        expect(c.ratio!.median, what).toBeLessThanOrEqual(c.ratio!.max);
        // The table row: rate, its min–max, the ratio's median and min–max.
        const row = stdout.split('\n').find((l) => l.startsWith(`| ${g.title} | ${name} |`));
        expect(row, what).toBeDefined();
        const cells = row!.split(' | ');
        expect(cells.length, what).toBe(6);
        expect(cells[3], what).toMatch(/^[\d.,]+–[\d.,]+$/);
        expect(cells[4], what).toBe(c.ratio!.median.toFixed(2));
        expect(cells[5], what).toBe(`${c.ratio!.min.toFixed(2)}–${c.ratio!.max.toFixed(2)} |`);
      }
      expect(ref.ratios, group).toEqual([1, 1]);
    }
    expect(stdout).toContain('| benchmark | contender | rate (median) | spread | × C (median) | × C spread |');
  }, 110_000);

  it.runIf(hasPerf)(`BENCH_PERF profiles each Node process of a ksock contender (${hasPerf ? 'perf works here' : 'skipped: no working perf(1)'})`, async () => {
    const out = scratch(), cwd = scratch();
    await bench({ BENCH_PERF: 'rtt', BENCH_RTT_N: '2000', BENCH_PERF_DELAY: '0', BENCH_OUT: out }, cwd);
    const text = readFileSync(join(out, 'profile-rtt.txt'), 'utf8');
    expect(text.split('\n')[0]).toMatch(/^rtt: ksock .* — [\d,]+ \/s under perf$/);
    const sections = text.split('\n## ').slice(1);
    expect(sections.map((s) => s.split(' ').slice(0, 3).join(' '))).toEqual(['node ksock.js rtt-server', 'node ksock.js rtt-client']);
    for (const s of sections) {
      const rows = s.split('\n').filter((l) => /^\s+\d+\.\d+%\s+\[[.k]\] \S/.test(l));
      expect(rows.length).toBeGreaterThanOrEqual(5);
      expect(rows.length).toBeLessThanOrEqual(25);
    }
    // Nothing left in the working directory (V8's log goes with the perf data).
    expect(readdirSync(cwd)).toEqual([]);
  }, 110_000);
});
