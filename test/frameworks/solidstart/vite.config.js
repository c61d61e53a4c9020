// SolidStart 2 with Nitro's static preset and prerendering, and the plain Vite plugin. Vite
// builds the client (dist/client) and the server (dist/server); Nitro then renders the pages and
// writes the published site, .output/public, at the end of the app build.
import { solidStart } from '@solidjs/start/config'
import { nitro } from 'nitro/vite'
import { defineConfig } from 'vite'
import { collectfasta } from 'vite-plugin-collectfasta'
import { target } from '../target.mjs'

export default defineConfig({
  plugins: [
    collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' }),
    solidStart(),
    nitro(),
  ],
  nitro: { preset: 'static', prerender: { routes: ['/', '/about'], crawlLinks: true } },
})
