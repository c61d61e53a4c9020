// Qwik City with the static adapter, and the plain Vite plugin: the client build (`vite build`)
// holds no page (the static adapter's server build renders them), so the plugin must refuse it.
import { qwikVite } from '@builder.io/qwik/optimizer'
import { qwikCity } from '@builder.io/qwik-city/vite'
import { defineConfig } from 'vite'
import { collectfasta } from 'vite-plugin-collectfasta'
import { target } from '../target.mjs'

export default defineConfig({
  plugins: [qwikCity(), qwikVite(), collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' })],
})
