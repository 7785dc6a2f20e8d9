import { defineConfig } from 'vitest/config';

// Each test file runs in its own forked process: native state, descriptor
// counts and env teardown are per file. KSOCK_REPORT names the JSON report
// that .ci/run reads.
export default defineConfig({
  test: {
    pool: 'forks',
    // --expose-gc: tests check what happens when a received message is dropped.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/fd-guard.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: process.env.KSOCK_REPORT ? ['default', 'json'] : ['default'],
    outputFile: process.env.KSOCK_REPORT ? { json: process.env.KSOCK_REPORT } : undefined,
  },
});
