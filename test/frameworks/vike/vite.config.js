// Vike with vike-react and prerendering, and the plain Vite plugin: it must deploy dist/client
// only once the pages are prerendered, never dist/server.
import react from '@vitejs/plugin-react'
import vike from 'vike/plugin'
import { defineConfig } from 'vite'
import { collectfasta } from 'vite-plugin-collectfasta'
import { target } from '../target.mjs'

export default defineConfig({
  plugins: [react(), vike(), collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' })],
})
