import nodeAdapter from '@sveltejs/adapter-node'
import adapter from '@sveltejs/adapter-static'
import { collectfasta } from 'vite-plugin-collectfasta/sveltekit'
import { target } from '../target.mjs'

// SVELTEKIT_ADAPTER=node builds the same app with adapter-node (a server), which the wrapper refuses.
const chosen = process.env.SVELTEKIT_ADAPTER === 'node' ? nodeAdapter() : adapter(process.env.SVELTEKIT_PAGES ? { pages: process.env.SVELTEKIT_PAGES } : undefined)

export default {
  kit: {
    adapter: collectfasta(chosen, { strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' }),
  },
}
