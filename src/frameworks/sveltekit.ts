import { resolve } from 'node:path'
import { type FrameworkOptions, checkFrameworkOptions, deployFinalOutput } from './final-output.js'

/** The parts of a SvelteKit adapter and builder that the deploy uses (no import of @sveltejs/kit). */
export interface AdapterLike {
  name: string
  adapt(builder: { config: { kit: { appDir: string } } }): void | Promise<void>
}

export interface SvelteKitOptions extends FrameworkOptions {
  /**
   * The directory the adapter writes the site to, relative to the project: adapter-static's
   * `pages` option.
   * @default 'build'
   */
  outDir?: string
}

/**
 * Wraps a SvelteKit adapter so that the site is deployed once the adapter has written it
 * (after prerendering): `adapter: collectfasta(adapter(), { strategy })` in `svelte.config.js`.
 * The files under `_app/immutable/` are cached for good.
 */
export function collectfasta<A extends AdapterLike>(adapter: A, options: SvelteKitOptions): A {
  const { outDir = 'build', ...common } = options
  if (typeof adapter !== 'object' || adapter === null || typeof adapter.adapt !== 'function') {
    throw new TypeError('[collectfasta] Expected a SvelteKit adapter as the first argument, e.g. `collectfasta(adapter(), { strategy })`.')
  }
  const enabled = checkFrameworkOptions(common)
  return {
    ...adapter,
    async adapt(builder) {
      await adapter.adapt(builder)
      if (!enabled) return
      const root = process.cwd()
      await deployFinalOutput(common, {
        framework: 'SvelteKit',
        outDir: resolve(root, outDir),
        assetsDir: `${builder.config.kit.appDir}/immutable`,
        configRoot: root,
      })
    },
  }
}

export default collectfasta
