// The same app as SolidStart's docs configure a server: Nitro's Node preset, `/` prerendered and
// `/about` rendered on request. .output/public alone is then a partial site: the plain plugin
// must refuse it.
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
  nitro: { preset: 'node_server', prerender: { routes: ['/'] } },
})
