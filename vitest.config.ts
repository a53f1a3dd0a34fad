import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'infra/**/*.test.ts', 'constructs/**/*.test.ts', 'cluster-mgr/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: ['test/lab/global-setup.ts'],
    reporters: ['default', './test/lab/skip-reporter.ts'],
    // Real-daemon tests share network namespaces and ports; keep file parallelism modest on 2 cores.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
