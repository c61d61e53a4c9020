import adapter from '@sveltejs/adapter-static'
import { collectfasta } from 'vite-plugin-collectfasta/sveltekit'
import { target } from '../target.mjs'

export default {
  kit: {
    adapter: collectfasta(adapter(process.env.SVELTEKIT_PAGES ? { pages: process.env.SVELTEKIT_PAGES } : undefined), { strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' }),
  },
}
