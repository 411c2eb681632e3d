import { defineConfig } from 'vitest/config';

// Tests run against real SQLite, Redis on 127.0.0.1 and spawned servers: keep them in a few
// forks so a 2-core CI machine is not oversubscribed.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
