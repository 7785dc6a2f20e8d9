// Adds up vitest JSON reports and prints the line CI reads, last:
//   N passed, M failed[, K skipped]
// A report that is missing or unreadable counts as one failure.
import { readFileSync } from 'node:fs';

let passed = 0, failed = 0, skipped = 0;
const failures = []; // printed just above the last line, so a log's tail names them
const firstLine = (m) => String(m ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n').find((l) => l.trim()) ?? '';
for (const file of process.argv.slice(2)) {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += (r.numFailedTests ?? 0);
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // A file that failed outside any test (setup, the descriptor guard) has no failed test: count it.
    for (const f of r.testResults ?? []) {
      const name = String(f.name ?? '').replace(process.cwd() + '/', '');
      if (f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed')) {
        failed += 1;
        failures.push(`${file}: ${name}: ${firstLine(f.message)}`);
      }
      for (const a of f.assertionResults ?? []) {
        if (a.status === 'failed') {
          failures.push(`${file}: ${name} > ${a.fullName ?? a.title}: ${firstLine((a.failureMessages ?? [])[0])}`);
        }
      }
    }
    console.log(`${file}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
  } catch (e) {
    console.log(`${file}: unreadable (${e.message})`);
    failed += 1;
  }
}
for (const f of failures) console.log(`FAILED ${f.slice(0, 400)}`);
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
process.exit(failed > 0 ? 1 : 0);
