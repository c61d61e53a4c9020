import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DEFAULTS } from '../defaults.js'
import { processEnd } from '../site/process-end.js'
import { type FrameworkOptions, checkFrameworkOptions, deployFinalOutput } from './final-output.js'

export type { FrameworkOptions }

/** The part of VitePress's resolved SiteConfig that the deploy reads. */
export interface VitepressSiteConfig {
  root: string
  outDir: string
  assetsDir?: string
  sitemap?: unknown
  /** The hook VitePress calls: ours, or another function that calls ours (`withPwa`'s). */
  buildEnd?: unknown
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
 * `buildEnd: collectfasta({ strategy })` in `.vitepress/config.*`. When another hook wraps it
 * (`withPwa` from @vite-pwa/vitepress, which writes the service worker after ours returns), the
 * deploy waits until the build is over, so what the wrapper writes is deployed too.
 */
export function collectfasta(options: FrameworkOptions): (siteConfig: VitepressSiteConfig) => Promise<void> {
  const enabled = checkFrameworkOptions(options)
  const deploySite = async (siteConfig: VitepressSiteConfig) => {
    if (siteConfig.sitemap) await sitemapWritten(siteConfig.outDir)
    await deployFinalOutput(options, {
      framework: 'VitePress',
      outDir: siteConfig.outDir,
      assetsDir: siteConfig.assetsDir ?? DEFAULTS.assetsDir,
      configRoot: join(siteConfig.root, '.vitepress'),
    })
  }
  const buildEnd = async (siteConfig: VitepressSiteConfig) => {
    if (!enabled) return
    if (siteConfig.buildEnd === undefined || siteConfig.buildEnd === buildEnd) return await deploySite(siteConfig)
    // The hook that wraps ours is still running, and nothing it returns can be awaited from
    // here: the deploy waits for the end of the process's work (`vitepress build` ends there),
    // as the plugin's deferred deploys do. A process that exits first fails, naming the command.
    processEnd().wait(resolve(siteConfig.root), { dir: siteConfig.outDir, until: 'process', run: () => deploySite(siteConfig), warnOnly: false })
  }
  return buildEnd
}

export default collectfasta
