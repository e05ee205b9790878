import { defineConfig } from 'vitest/config';

// Floods (10 000 connections, hundreds of MiB through the gateway) keep both cores busy for
// seconds: they run after the rest, so that no timing bound elsewhere is measured beside them.
const FLOODS = ['test/integration/byte-budget.test.ts', 'test/integration/liveness.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration files each start their own nats-server and gateway; two cores run two at a time.
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: FLOODS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        // One at a time: each flood's peak RSS and timing is its own.
        test: {
          name: 'floods',
          include: FLOODS,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
