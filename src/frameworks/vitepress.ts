import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DEFAULTS } from '../defaults.js'
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
 * Runs `deploy` once the build is over: when the process has nothing left to do (`beforeExit`,
 * where `vitepress build` ends). The hook that wraps ours is still running when ours is called,
 * and nothing it returns can be awaited from inside it, so the end of the process is the first
 * point known to follow it. A failed deploy prints its sentence and sets a non-zero exit code; a
 * process that exits first (a failed build, an explicit `process.exit`) says the site was not
 * deployed.
 */
function deployAfterBuild(deploy: () => Promise<unknown>): void {
  let state: 'waiting' | 'deploying' | 'done' = 'waiting'
  const notDeployed = () => {
    if (state === 'done') return
    console.error(`[collectfasta] The process exited before the VitePress site was ${state === 'waiting' ? 'deployed: nothing was deployed' : 'fully deployed: run the build again'}.`)
    process.exitCode ||= 1
  }
  process.once('exit', notDeployed)
  process.once('beforeExit', (code) => {
    if (code !== 0) return // the build failed after our hook: the exit handler says so
    state = 'deploying'
    deploy().then(
      () => {
        state = 'done'
      },
      (error: Error) => {
        state = 'done'
        // No "build error:" from VitePress here to say whose sentence it is.
        console.error(error.message.startsWith('[collectfasta]') ? error.message : `[collectfasta] ${error.message}`)
        process.exitCode = 1
      },
    )
  })
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
    deployAfterBuild(() => deploySite(siteConfig))
  }
  return buildEnd
}

export default collectfasta
