import { join } from 'node:path'
import { type FrameworkOptions, checkFrameworkOptions, deployFinalOutput } from './final-output.js'

export type { FrameworkOptions }

/** The part of VitePress's resolved SiteConfig that the deploy reads. */
export interface VitepressSiteConfig {
  root: string
  outDir: string
  assetsDir?: string
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
    await deployFinalOutput(options, {
      framework: 'VitePress',
      outDir: siteConfig.outDir,
      assetsDir: siteConfig.assetsDir ?? 'assets',
      configRoot: join(siteConfig.root, '.vitepress'),
    })
  }
}

export default collectfasta
