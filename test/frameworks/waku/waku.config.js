// Waku (static pages) and the plain Vite plugin: it must deploy dist/public, never dist/server.
import { collectfasta } from 'vite-plugin-collectfasta'
import { defineConfig } from 'waku/config'
import { target } from '../target.mjs'

export default defineConfig({
  vite: { plugins: [collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' })] },
})
