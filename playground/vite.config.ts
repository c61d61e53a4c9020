import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import collectfasta from 'vite-plugin-collectfasta'
import { filesystem } from 'vite-plugin-collectfasta/filesystem'

// A local directory stands in for the bucket: `npm run demo` needs no account.
const target = fileURLToPath(new URL('./.deploy/www', import.meta.url))

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [
    collectfasta({
      strategy: filesystem({ dir: target, prefix: 'static/' }),
      cacheDir: '.deploy/cache',
      reportFile: '.deploy/report.json',
    }),
  ],
})
