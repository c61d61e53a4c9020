import { defineConfig } from 'astro/config'
import { collectfasta } from 'vite-plugin-collectfasta/astro'
import { target } from '../target.mjs'

export default defineConfig({
  build: { inlineStylesheets: 'never' },
  integrations: [collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' })],
})
