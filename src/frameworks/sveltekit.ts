import { isAbsolute, relative, resolve } from 'node:path'
import { SiteRefusal } from '../site/guard.js'
import { deployCommand, shown } from '../site/layout.js'
import { type FrameworkOptions, checkFrameworkOptions, deployFinalOutput } from './final-output.js'

/** The parts of a SvelteKit builder that the deploy uses (no import of @sveltejs/kit). */
export interface BuilderLike {
  config: { kit: { appDir: string } }
  writeClient?(dest: string): string[]
  writePrerendered?(dest: string): string[]
  writeServer?(dest: string): string[]
  getServerDirectory?(): string
  generateManifest?(options: unknown): string
}

/** The parts of a SvelteKit adapter that the deploy uses. */
export interface AdapterLike {
  name: string
  adapt(builder: BuilderLike): void | Promise<void>
}

export interface SvelteKitOptions extends FrameworkOptions {
  /**
   * Not needed: the directory is learned from the adapter (where it writes the client and the
   * prerendered pages: adapter-static's `pages`). Kept for configs that set it; a different
   * directory from the adapter's is reported and the adapter's is deployed.
   * @default the adapter's output directory
   */
  outDir?: string
}

/** Where the wrapped adapter wrote what: learned from the builder it was given. */
interface Written {
  client: Set<string>
  prerendered: Set<string>
  /** Where the adapter wrote a server, or how it took one from the builder (the server build, a manifest of routes to serve). */
  server: Set<string>
}

/** The builder with its write methods noted: the adapter's real output directories. */
function watchBuilder<B extends BuilderLike>(builder: B, written: Written): B {
  const noting = (method: 'writeClient' | 'writePrerendered' | 'writeServer', into: Set<string>) =>
    function (this: unknown, dest: string) {
      into.add(resolve(dest))
      return (builder[method] as (dest: string) => string[]).call(builder, dest)
    }
  // adapter-node copies the server build (getServerDirectory) and bundles it itself; serverless
  // adapters ask for a manifest of the routes their functions serve: a server either way.
  const asking = (method: 'getServerDirectory' | 'generateManifest', what: string) =>
    function (this: unknown, ...args: unknown[]) {
      written.server.add(what)
      return (builder[method] as (...args: unknown[]) => string).apply(builder, args)
    }
  const wrapped: Partial<Record<string, unknown>> = {
    writeClient: noting('writeClient', written.client),
    writePrerendered: noting('writePrerendered', written.prerendered),
    writeServer: noting('writeServer', written.server),
    getServerDirectory: asking('getServerDirectory', 'it takes the server build'),
    generateManifest: asking('generateManifest', 'it serves routes from a manifest'),
  }
  return new Proxy(builder, {
    get: (target, property, receiver) => (typeof property === 'string' && property in wrapped && property in target ? wrapped[property] : Reflect.get(target, property, receiver)),
  })
}

/** The one directory that holds the whole static site the adapter wrote, or why there is none. */
function staticSite(adapter: string, written: Written): { dir: string } | { refusal: string } {
  if (written.server.size > 0) {
    return {
      refusal:
        `[collectfasta] ${adapter} writes a server (${[...written.server].map((where) => (isAbsolute(where) ? shown(where) : where)).join('; ')}): its output is not a static site, so nothing is deployed; ` +
        `use @sveltejs/adapter-static, or deploy only the static files the host serves with ${deployCommand()}.`,
    }
  }
  const dirs = [...new Set([...written.client, ...written.prerendered])]
  if (dirs.length === 0) return { refusal: `[collectfasta] ${adapter} wrote neither the client nor the prerendered pages through the builder: there is no static site to deploy.` }
  if (dirs.length > 1) {
    return {
      refusal: `[collectfasta] ${adapter} writes the site to ${dirs.length} directories (${dirs.map((dir) => shown(dir)).join(', ')}): give adapter-static one (\`assets\` = \`pages\`), or deploy each with ${deployCommand(dirs[0])}.`,
    }
  }
  return { dir: dirs[0] as string }
}

/**
 * Wraps a SvelteKit adapter so that the site is deployed once the adapter has written it
 * (after prerendering): `adapter: collectfasta(adapter(), { strategy })` in `svelte.config.js`.
 * The directory deployed is the one the adapter wrote the client and the pages to (learned from
 * the builder); an adapter that writes a server (adapter-node, ...) is refused. The files under
 * `_app/immutable/` are cached for good.
 */
export function collectfasta<A extends AdapterLike>(adapter: A, options: SvelteKitOptions): A {
  const { outDir, ...common } = options
  if (typeof adapter !== 'object' || adapter === null || typeof adapter.adapt !== 'function') {
    throw new TypeError('[collectfasta] Expected a SvelteKit adapter as the first argument, e.g. `collectfasta(adapter(), { strategy })`.')
  }
  const enabled = checkFrameworkOptions(common)
  return {
    ...adapter,
    async adapt(builder: BuilderLike) {
      const written: Written = { client: new Set(), prerendered: new Set(), server: new Set() }
      await adapter.adapt(enabled ? watchBuilder(builder, written) : builder)
      if (!enabled) return
      const site = staticSite(adapter.name, written)
      if ('refusal' in site) throw new SiteRefusal(site.refusal)
      const root = process.cwd()
      if (outDir !== undefined && resolve(root, outDir) !== site.dir) {
        console.warn(`[collectfasta] outDir ${JSON.stringify(outDir)} is not where ${adapter.name} wrote the site: deploying ${relative(root, site.dir)}, the adapter's.`)
      }
      await deployFinalOutput(common, {
        framework: 'SvelteKit',
        outDir: site.dir,
        assetsDir: `${builder.config.kit.appDir}/immutable`,
        configRoot: root,
      })
    },
  }
}

export default collectfasta
