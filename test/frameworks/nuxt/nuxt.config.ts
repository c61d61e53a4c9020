import { collectfasta } from 'vite-plugin-collectfasta/nuxt'
import { target } from '../target.mjs'

export default defineNuxtConfig({
  modules: [collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' })],
  experimental: { payloadExtraction: false },
  telemetry: false,
  compatibilityDate: '2025-07-15',
})
