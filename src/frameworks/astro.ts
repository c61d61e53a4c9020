import { fileURLToPath } from 'node:url'
import { type FrameworkOptions, checkFrameworkOptions, deployFinalOutput } from './final-output.js'

export type { FrameworkOptions }

type BuildDone = (options: { dir: URL; logger: { info(message: string): void; warn(message: string): void } }) => Promise<void>

/** The parts of Astro's integration API that the deploy uses (no import of astro itself). */
export interface AstroIntegrationLike {
  name: string
  hooks: {
    'astro:config:done': (options: {
      config: { root: URL; build: { assets: string }; integrations?: { name: string; hooks: Record<string, unknown> }[] }
    }) => void
    'astro:build:done': BuildDone
  }
}

/** Astro's `build.assets` when its config does not say (read at astro:config:done). */
const ASTRO_ASSETS = '_astro'

/**
 * An Astro integration that deploys the finished site once Astro has written every page
 * (`astro:build:done`): `integrations: [collectfasta({ strategy })]` in `astro.config.*`.
 * The files under `build.assets` (`_astro/`) are cached for good.
 */
export function collectfasta(options: FrameworkOptions): AstroIntegrationLike {
  const enabled = checkFrameworkOptions(options)
  let root = process.cwd()
  let assetsDir = ASTRO_ASSETS
  /** Set when another integration's astro:build:done runs after ours: the deploy then follows it. */
  let handedOver = false
  const deployBuilt: BuildDone = async ({ dir }) => {
    if (!enabled) return
    await deployFinalOutput(options, { framework: 'Astro', outDir: fileURLToPath(dir), assetsDir, configRoot: root })
  }
  const integration: AstroIntegrationLike = {
    name: 'vite-plugin-collectfasta',
    hooks: {
      'astro:config:done': ({ config }) => {
        root = fileURLToPath(config.root)
        assetsDir = config.build.assets
        // Astro runs astro:build:done integration by integration, in order, and others write
        // files there (@vite-pwa/astro its service worker): the deploy follows the last of them.
        // Their order cannot change while Astro walks it, so the last hook is wrapped instead.
        const integrations = config.integrations ?? []
        const last = integrations.findLast((other) => typeof other.hooks['astro:build:done'] === 'function')
        if (!last || last === (integration as unknown)) return
        const original = last.hooks['astro:build:done'] as BuildDone
        last.hooks['astro:build:done'] = async (params: Parameters<BuildDone>[0]) => {
          await original.call(last.hooks, params)
          await deployBuilt(params)
        }
        handedOver = true
      },
      'astro:build:done': async (params) => {
        if (!handedOver) await deployBuilt(params)
      },
    },
  }
  return integration
}

export default collectfasta
