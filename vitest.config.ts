import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration files each start their own nats-server and gateway; two cores run two at a time.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
