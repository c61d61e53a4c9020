import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type FrameworkOptions, checkFrameworkOptions, deployFinalOutput } from './final-output.js'

export type { FrameworkOptions }

/** The part of VitePress's resolved SiteConfig that the deploy reads. */
export interface VitepressSiteConfig {
  root: string
  outDir: string
  assetsDir?: string
  sitemap?: unknown
}

/**
 * VitePress (1.6) pipes sitemap.xml into a write stream and calls buildEnd without waiting for
 * it: deployed at once, the file would change under the deploy (which then refuses it). Wait,
 * a few seconds at most, until the sitemap is whole.
 */
async function sitemapWritten(outDir: string): Promise<void> {
  const file = join(outDir, 'sitemap.xml')
  for (let i = 0; i < 100; i++) {
    if (existsSync(file) && readFileSync(file, 'utf8').trimEnd().endsWith('</urlset>')) return
    await sleep(50)
  }
}

/**
 * A VitePress `buildEnd` hook that deploys the finished site (`.vitepress/dist`: every page,
 * the sitemap and hashmap.json) once VitePress has rendered it:
 * `buildEnd: collectfasta({ strategy })` in `.vitepress/config.*`.
 */
export function collectfasta(options: FrameworkOptions): (siteConfig: VitepressSiteConfig) => Promise<void> {
  const enabled = checkFrameworkOptions(options)
  return async (siteConfig) => {
    if (!enabled) return
    if (siteConfig.sitemap) await sitemapWritten(siteConfig.outDir)
    await deployFinalOutput(options, {
      framework: 'VitePress',
      outDir: siteConfig.outDir,
      assetsDir: siteConfig.assetsDir ?? 'assets',
      configRoot: join(siteConfig.root, '.vitepress'),
    })
  }
}

export default collectfasta
