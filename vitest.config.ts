import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/build.ts', 'test/setup/servers.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
