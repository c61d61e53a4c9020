// The app's Vite config, with the plain plugin: `storybook build` reads it too, and must never
// deploy Storybook's output to the app's target.
import { defineConfig } from 'vite'
import { collectfasta } from 'vite-plugin-collectfasta'
import { target } from '../target.mjs'

export default defineConfig({
  plugins: [collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' })],
})
