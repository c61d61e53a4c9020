import { withPwa } from '@vite-pwa/vitepress'
import { defineConfig } from 'vitepress'
import { collectfasta } from 'vite-plugin-collectfasta/vitepress'
import { target } from '../../../target.mjs'

// withPwa wraps buildEnd and writes the service worker after ours returns: the deploy must
// still include it.
export default withPwa(
  defineConfig({
    title: 'Fixture',
    cleanUrls: true,
    sitemap: { hostname: 'https://example.com' },
    buildEnd: collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' }),
    pwa: { registerType: 'autoUpdate', manifest: { name: 'Fixture', short_name: 'Fixture', icons: [] } },
  }),
)
