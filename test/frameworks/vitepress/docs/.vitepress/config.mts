import { defineConfig } from 'vitepress'
import { collectfasta } from 'vite-plugin-collectfasta/vitepress'
import { target } from '../../../target.mjs'

export default defineConfig({
  title: 'Fixture',
  cleanUrls: true,
  sitemap: { hostname: 'https://example.com' },
  buildEnd: collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' }),
})
