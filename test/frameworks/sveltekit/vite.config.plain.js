// The mistake the plain Vite plugin must refuse: added to a SvelteKit app's Vite config, it
// would deploy the client build before prerendering and before the adapter writes build/.
import { sveltekit } from '@sveltejs/kit/vite'
import { defineConfig } from 'vite'
import { collectfasta } from 'vite-plugin-collectfasta'
import { target } from '../target.mjs'

export default defineConfig({ plugins: [sveltekit(), collectfasta({ strategy: await target() })] })
