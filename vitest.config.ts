import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code they test; test/ holds suites that cross modules.
// End-to-end suites (test/e2e) need root and network namespaces; they run serially
// because they share the machine's two cores with the traffic they generate.
export default defineConfig({
  test: {
    include: [
      'host/**/*.test.ts',
      'lab/**/*.test.ts',
      'test/**/*.test.ts',
      'bench/**/*.test.ts',
      'deploy/**/*.test.ts',
    ],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
