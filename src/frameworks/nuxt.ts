import { DEFAULTS } from '../defaults.js'
import { type FrameworkOptions, checkFrameworkOptions, deployFinalOutput } from './final-output.js'

export type { FrameworkOptions }

interface NitroLike {
  options: { dev?: boolean; output: { publicDir: string } }
  hooks: { hook(name: 'compiled', fn: (nitro: NitroLike) => Promise<void>): void }
}

/** The parts of the Nuxt instance the module uses (no import of nuxt or @nuxt/kit). */
export interface NuxtLike {
  options: { dev: boolean; rootDir: string; app: { buildAssetsDir: string } }
  hook(name: 'nitro:init', fn: (nitro: NitroLike) => void): void
}

/**
 * A Nuxt module that deploys `.output/public` once Nitro has prerendered every page and
 * finished the build (`nuxt generate`, or `nuxt build` for the static files of a server app):
 * `modules: [collectfasta({ strategy })]` in `nuxt.config.*`. The files under `_nuxt/` are
 * cached for good, except `_nuxt/builds/` (the build manifest, which changes every build).
 */
export function collectfasta(options: FrameworkOptions): (inlineOptions: unknown, nuxt: NuxtLike) => void {
  const enabled = checkFrameworkOptions(options)
  return (_inlineOptions, nuxt) => {
    if (!enabled || nuxt.options.dev) return
    const assetsDir = nuxt.options.app.buildAssetsDir.replace(/^\/+|\/+$/g, '')
    nuxt.hook('nitro:init', (nitro) => {
      nitro.hooks.hook('compiled', async (built) => {
        if (built.options.dev) return
        await deployFinalOutput(
          { ...options, headers: [{ match: `${assetsDir}/builds/**`, cacheControl: options.defaultCacheControl ?? DEFAULTS.defaultCacheControl }, ...(options.headers ?? [])] },
          { framework: 'Nuxt', outDir: built.options.output.publicDir, assetsDir, configRoot: nuxt.options.rootDir },
        )
      })
    })
  }
}

export default collectfasta
