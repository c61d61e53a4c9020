import { randomBytes } from 'node:crypto'
import { mkdir, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { DEFAULTS } from '../defaults.js'
import { loadHasher, md5Hex } from '../hash.js'
import { normalizePrefix } from '../paths.js'
import { type RemoteObject, type StrategyWith, defineStrategy } from '../strategy.js'
import { assertUnderPrefix } from './utils.js'

const STRATEGY_NAME = 'fs'
/** Temporary files of interrupted writes carry this marker; listings ignore them. */
const TMP_MARKER = '.collectfasta-tmp-'

export interface FilesystemOptions {
  /** The directory to deploy into (created if missing), e.g. a web server's document root. */
  dir: string
  /**
   * Sub-directory of `dir` that every key goes under.
   * @default ''
   */
  prefix?: string
  /**
   * Files written at once. Local disks gain little from more.
   * @default 8
   */
  concurrency?: number
}

/**
 * What the directory holds at `key`. A `.br` / `.gz` sibling is compared by the MD5 of its
 * bytes: the deploy keys siblings on the original file's hash, which a listing cannot know, so
 * an xxh64 of the stored bytes would never match and a cold cache would rewrite every sibling.
 */
function describe(key: string, bytes: Uint8Array, hash: (bytes: Uint8Array) => string): RemoteObject {
  const version = hash(bytes)
  if (/\.(br|gz)$/.test(key)) return { key, size: bytes.byteLength, md5: md5Hex(bytes), version }
  return { key, size: bytes.byteLength, xxh64: version, version }
}

function error(message: string): Error {
  return new Error(`[collectfasta] [${STRATEGY_NAME}] ${message}`)
}

export type FilesystemStrategy = StrategyWith<'list' | 'stat' | 'get' | 'delete' | 'bindRoot'>

/**
 * Deploys into a local or mounted directory. Writes are atomic (temporary file, then rename),
 * so a web server never serves half a file. Headers cannot be stored on a filesystem: the
 * server serving `dir` decides them. A relative `dir` resolves against the project root the
 * deploy runs in (see `bindRoot`), like every relative path in the options.
 */
export function filesystem(options: FilesystemOptions): FilesystemStrategy {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`[collectfasta] [${STRATEGY_NAME}] Expected options like \`{ dir: '/srv/www' }\`, got ${String(options)}.`)
  }
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw new TypeError(
      `[collectfasta] [${STRATEGY_NAME}] Missing required option \`dir\`: the directory to deploy into, e.g. \`filesystem({ dir: '/srv/www' })\`.`,
    )
  }
  let root = resolve(options.dir)
  const prefix = normalizePrefix(STRATEGY_NAME, options.prefix)

  /** The absolute path of a key, refusing any key that would leave `dir`. */
  const pathOf = (key: string): string => {
    const path = resolve(root, key)
    if (!path.startsWith(root + sep) || key.includes('\0')) {
      throw error(`Refusing the key ${JSON.stringify(key)}: it would be written outside ${root}.`)
    }
    return path
  }

  return defineStrategy({
    name: STRATEGY_NAME,
    get target() {
      return `file://${root}/${prefix}`
    },
    bindRoot(projectRoot: string) {
      root = resolve(projectRoot, options.dir)
    },
    prefix,
    compression: 'siblings',
    concurrency: options.concurrency ?? DEFAULTS.filesystem.concurrency,

    async *list() {
      const hash = await loadHasher()
      const base = join(root, prefix)
      let dirents: import('node:fs').Dirent[]
      try {
        dirents = await readdir(base, { recursive: true, withFileTypes: true })
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
        throw e
      }
      for (const dirent of dirents) {
        if (!dirent.isFile() || dirent.name.includes(TMP_MARKER)) continue
        const path = join(dirent.parentPath, dirent.name)
        yield describe(relative(root, path).split(sep).join('/'), await readFile(path), hash)
      }
    },

    async stat(key) {
      const hash = await loadHasher()
      try {
        return describe(key, await readFile(pathOf(key)), hash)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw e
      }
    },

    async get(key) {
      try {
        return new Uint8Array(await readFile(pathOf(key)))
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw e
      }
    },

    async upload(file) {
      const path = pathOf(file.key)
      await mkdir(dirname(path), { recursive: true })
      const tmp = join(dirname(path), `${TMP_MARKER}${randomBytes(6).toString('hex')}`)
      try {
        await writeFile(tmp, file.body)
        await rename(tmp, path)
      } catch (e) {
        await rm(tmp, { force: true })
        throw e
      }
      // The version is what a listing will compute: the hash of the bytes stored (a compressed
      // sibling's, not its original's), so the manifest's record matches the next listing.
      return { key: file.key, size: file.size, xxh64: file.xxh64, version: (await loadHasher())(file.body) }
    },

    async delete(keys) {
      assertUnderPrefix(STRATEGY_NAME, prefix, keys)
      for (const key of keys) {
        const path = pathOf(key)
        if ((await stat(path).catch(() => undefined))?.isFile()) await unlink(path)
      }
    },
  })
}

export default filesystem
