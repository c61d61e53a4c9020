import { collectfasta } from 'vite-plugin-collectfasta/nuxt'
import { target } from '../target.mjs'

// @vite-pwa/nuxt listed after ours on purpose: the deploy must still include the service worker
// it writes while Nitro builds.
export default defineNuxtConfig({
  modules: [collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' }), '@vite-pwa/nuxt'],
  pwa: { registerType: 'autoUpdate', manifest: { name: 'Fixture', short_name: 'Fixture', icons: [] } },
  experimental: { payloadExtraction: false },
  telemetry: false,
  compatibilityDate: '2025-07-15',
})
