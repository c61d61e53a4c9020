import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import collectfasta from 'vite-plugin-collectfasta'
import { filesystem } from 'vite-plugin-collectfasta/filesystem'

// A local directory stands in for the bucket: `npm run demo` needs no account. Relative paths
// in the options resolve against the project root (this repository, which has the
// package.json), so the demo's own files are named from this folder.
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const target = here('./.deploy/www')

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [
    collectfasta({
      strategy: filesystem({ dir: target, prefix: 'static/' }),
      cacheDir: here('./.deploy/cache'),
      reportFile: here('./.deploy/report.json'),
    }),
  ],
})
