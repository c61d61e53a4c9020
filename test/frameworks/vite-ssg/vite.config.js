// vite-ssg and the plain Vite plugin: vite-ssg builds the client (with an SSR manifest), then an
// SSR build of the same root, then renders every page into dist. The plugin must deploy dist
// once, after the render, byte-identical.
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'
import { collectfasta } from 'vite-plugin-collectfasta'
import { target } from '../target.mjs'

export default defineConfig({
  plugins: [vue(), collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' })],
})
