import { sveltekit } from '@sveltejs/kit/vite'
import { SvelteKitPWA } from '@vite-pwa/sveltekit'
import { defineConfig } from 'vite'

// @vite-pwa/sveltekit writes the service worker into SvelteKit's output before the adapter
// copies it: the wrapped adapter's deploy must include it.
export default defineConfig({
  plugins: [sveltekit(), SvelteKitPWA({ registerType: 'autoUpdate', manifest: { name: 'Fixture', short_name: 'Fixture', icons: [] } })],
})
