// A plain Vite app with vite-plugin-pwa (generateSW): sw.js and workbox-*.js are written in
// closeBundle, after the bundle; the deploy must wait for them.
import { defineConfig } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'
import { collectfasta } from 'vite-plugin-collectfasta'
import { target } from '../target.mjs'

export default defineConfig({
  plugins: [
    collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' }),
    VitePWA({ registerType: 'autoUpdate', manifest: { name: 'Fixture', short_name: 'Fixture', icons: [] } }),
  ],
})
