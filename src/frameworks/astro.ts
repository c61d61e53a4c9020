import { fileURLToPath } from 'node:url'
import { type FrameworkOptions, checkFrameworkOptions, deployFinalOutput } from './final-output.js'

export type { FrameworkOptions }

/** The parts of Astro's integration API that the deploy uses (no import of astro itself). */
export interface AstroIntegrationLike {
  name: string
  hooks: {
    'astro:config:done': (options: { config: { root: URL; build: { assets: string } } }) => void
    'astro:build:done': (options: { dir: URL; logger: { info(message: string): void; warn(message: string): void } }) => Promise<void>
  }
}

/**
 * An Astro integration that deploys the finished site once Astro has written every page
 * (`astro:build:done`): `integrations: [collectfasta({ strategy })]` in `astro.config.*`.
 * The files under `build.assets` (`_astro/`) are cached for good.
 */
export function collectfasta(options: FrameworkOptions): AstroIntegrationLike {
  const enabled = checkFrameworkOptions(options)
  let root = process.cwd()
  let assetsDir = '_astro'
  return {
    name: 'vite-plugin-collectfasta',
    hooks: {
      'astro:config:done': ({ config }) => {
        root = fileURLToPath(config.root)
        assetsDir = config.build.assets
      },
      'astro:build:done': async ({ dir }) => {
        if (!enabled) return
        await deployFinalOutput(options, { framework: 'Astro', outDir: fileURLToPath(dir), assetsDir, configRoot: root })
      },
    },
  }
}

export default collectfasta
