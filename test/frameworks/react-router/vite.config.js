// React Router 7 framework mode with prerender and the plain Vite plugin: React Router ends the
// process inside its app build, before the plugin could deploy, so the build must exit 1.
import { reactRouter } from '@react-router/dev/vite'
import { defineConfig } from 'vite'
import { collectfasta } from 'vite-plugin-collectfasta'
import { target } from '../target.mjs'

export default defineConfig({
  plugins: [reactRouter(), collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' })],
})
