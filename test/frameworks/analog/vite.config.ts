// Analog (Angular) with static prerendering, and the plain Vite plugin: Analog's own buildApp
// builds the client (dist/client) and the SSR bundle, then Nitro prerenders the pages into
// dist/analog/public, the folder the app publishes. The plugin must deploy that folder whole,
// or refuse before any request naming it.
import analog from '@analogjs/platform'
import { defineConfig } from 'vite'
import { collectfasta } from 'vite-plugin-collectfasta'
import { target } from '../target.mjs'

export default defineConfig({
  plugins: [
    analog({ ssr: true, static: true, prerender: { routes: ['/', '/about'] } }),
    collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' }),
  ],
})
