// VuePress 2 (bundler-vite) and the plain Vite plugin: VuePress builds the client and a server
// (SSR) bundle of the same root, then renders every page into docs/.vuepress/dist. The plugin
// must deploy that directory once, after the render.
import { viteBundler } from '@vuepress/bundler-vite'
import { defaultTheme } from '@vuepress/theme-default'
import { collectfasta } from 'vite-plugin-collectfasta'
import { defineUserConfig } from 'vuepress'
import { target } from '../../../target.mjs'

export default defineUserConfig({
  bundler: viteBundler({ viteOptions: { plugins: [collectfasta({ strategy: await target(), reportFile: '.collectfasta/report.json', cacheDir: '.collectfasta/cache' })] } }),
  theme: defaultTheme(),
})
