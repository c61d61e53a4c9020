import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { DEFAULTS } from '../defaults.js'
import { CHUNK_BYTES, hashFile, loadHasher, loadStreamHasher, md5Hex, md5Stream } from '../hash.js'
import { normalizePrefix } from '../paths.js'
import { lock } from 'proper-lockfile'
import { type RemoteObject, type StrategyWith, type UploadFile, defineStrategy, storageConflict } from '../strategy.js'
import { assertUnderPrefix } from './utils.js'

const STRATEGY_NAME = 'fs'
/** Temporary files of interrupted writes carry this marker; listings ignore them. */
const TMP_MARKER = '.collectfasta-tmp-'
/** The lock of a conditional write (a directory next to the key; listings skip directories). */
const LOCK_SUFFIX = '.collectfasta-lock'

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
 * A large file is hashed a chunk at a time, never held whole.
 */
async function describe(key: string, path: string): Promise<RemoteObject> {
  const sibling = /\.(br|gz)$/.test(key)
  const { size, mtimeMs } = await stat(path)
  let version: string
  let md5: string | undefined
  if (size < CHUNK_BYTES) {
    const bytes = await readFile(path)
    version = (await loadHasher())(bytes)
    if (sibling) md5 = md5Hex(bytes)
  } else {
    const xxh64 = (await loadStreamHasher())()
    const md5Hasher = md5Stream()
    await hashFile(path, sibling ? [xxh64, md5Hasher] : [xxh64])
    version = xxh64.digest()
    if (sibling) md5 = md5Hasher.digest()
  }
  return sibling ? { key, size, md5, version, modified: mtimeMs } : { key, size, xxh64: version, version, modified: mtimeMs }
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
    needsMd5: false,
    storesHeaders: false,
    conditionalWrites: true,
    concurrency: options.concurrency ?? DEFAULTS.filesystem.concurrency,

    async *list() {
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
        yield describe(relative(root, path).split(sep).join('/'), path)
      }
    },

    async stat(key) {
      try {
        return await describe(key, pathOf(key))
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
      if (file.ifVersion === undefined) return write(file)
      // A conditional write: compare and rename under a lock on the key, so two deploys never
      // both replace the version they read.
      const path = pathOf(file.key)
      await mkdir(dirname(path), { recursive: true })
      const release = await lock(path, { realpath: false, lockfilePath: `${path}${LOCK_SUFFIX}`, retries: { retries: 40, minTimeout: 25, maxTimeout: 500 }, stale: 30_000 })
      try {
        const current = await describe(file.key, path).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return undefined
          throw e
        })
        if ((current?.version ?? null) !== file.ifVersion) {
          throw storageConflict(STRATEGY_NAME, `${file.key} is no longer the version this deploy read (another deploy wrote it); nothing was written.`)
        }
        return await write(file)
      } finally {
        await release()
      }
    },

    async delete(keys) {
      assertUnderPrefix(STRATEGY_NAME, prefix, keys)
      const deleted: string[] = []
      try {
        for (const key of keys) {
          const path = pathOf(key)
          if ((await stat(path).catch(() => undefined))?.isFile()) await unlink(path)
          deleted.push(key)
        }
      } catch (e) {
        // What was deleted goes with the error: the report lists it.
        throw Object.assign(error(`Could not delete ${keys.length - deleted.length} file(s): ${(e as Error).message}`), { cause: e, deleted })
      }
    },
  })

  async function write(file: UploadFile): Promise<RemoteObject> {
    const path = pathOf(file.key)
    await mkdir(dirname(path), { recursive: true })
    const tmp = join(dirname(path), `${TMP_MARKER}${randomBytes(6).toString('hex')}`)
    // The version is what a listing will compute: the hash of the bytes stored (a compressed
    // sibling's, not its original's), so the manifest's record matches the next listing.
    let version: string
    try {
      if (file.size < CHUNK_BYTES || !file.read) {
        const body = file.body
        await writeFile(tmp, body)
        version = (await loadHasher())(body)
      } else {
        // A large file is copied a chunk at a time, read from its source as it goes.
        const hasher = (await loadStreamHasher())()
        const handle = await open(tmp, 'w')
        try {
          for (let start = 0; start < file.size; start += CHUNK_BYTES) {
            const chunk = await file.read(start, Math.min(start + CHUNK_BYTES, file.size))
            hasher.update(chunk)
            await handle.write(chunk)
          }
        } finally {
          await handle.close()
        }
        version = hasher.digest()
      }
      await rename(tmp, path)
    } catch (e) {
      await rm(tmp, { force: true })
      throw e
    }
    return { key: file.key, size: file.size, xxh64: file.xxh64, version }
  }
}

export default filesystem
