import AstroPWA from '@vite-pwa/astro'
import { defineConfig } from 'astro/config'
import { collectfasta } from 'vite-plugin-collectfasta/astro'
import { target } from '../target.mjs'

export default defineConfig({
  build: { inlineStylesheets: 'never' },
  // collectfasta first on purpose: @vite-pwa/astro writes the service worker in its own
  // astro:build:done, and the deploy must still wait for it.
  integrations: [
    collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' }),
    AstroPWA({ registerType: 'autoUpdate', manifest: { name: 'Fixture', short_name: 'Fixture', icons: [] } }),
  ],
})
