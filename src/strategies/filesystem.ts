import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { lstat, mkdir, open, readdir, realpath, rename, rm, unlink } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { lock } from 'proper-lockfile'
import { DEFAULTS } from '../defaults.js'
import { CHUNK_BYTES, loadHasher, loadStreamHasher } from '../hash.js'
import { normalizePrefix, printable } from '../paths.js'
import { type RemoteObject, type StrategyWith, type UploadFile, defineStrategy, storageConflict } from '../strategy.js'
import { HOST, TMP_MARKER, abandoned, aliasProblem, describe, probeCaseInsensitive, syncDirectory } from './directory.js'
import { assertUnderPrefix } from './utils.js'

const STRATEGY_NAME = 'fs'
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

function error(message: string): Error {
  return new Error(`[collectfasta] [${STRATEGY_NAME}] ${message}`)
}

export type FilesystemStrategy = StrategyWith<'list' | 'stat' | 'get' | 'delete' | 'copy' | 'bindRoot'>

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

  /** The absolute path of a key, refusing any key that would leave `dir` or alias another file. */
  const pathOf = (key: string): string => {
    const path = resolve(root, key)
    if (!path.startsWith(root + sep) || key.includes('\0')) {
      throw error(`Refusing the key ${printable(JSON.stringify(key))}: it would be written outside ${root}.`)
    }
    const alias = aliasProblem(key)
    if (alias) throw error(`Refusing the key ${printable(JSON.stringify(key))}: ${alias}. Rename the file.`)
    return path
  }

  const linkError = (key: string, what: string) =>
    error(`Refusing ${printable(JSON.stringify(key))} in ${root}: ${what} is a symbolic link, and links inside the target directory are never followed. Replace it with a real file or folder.`)

  /**
   * Refuses a path whose folders pass through a symbolic link inside `dir` (the link could lead
   * anywhere: a secret, /dev/zero, another site). `dir` itself may be a link. Resolves whether
   * the path's folder exists.
   */
  const checkFolders = async (key: string, path: string): Promise<boolean> => {
    let realRoot: string
    try {
      realRoot = await realpath(root)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw e
    }
    // The nearest folder that exists, resolved: inside `dir` it must be where its name says.
    for (let folder = dirname(path), exists = true; ; folder = dirname(folder), exists = false) {
      if (folder === root) return exists
      try {
        const real = await realpath(folder)
        if (real !== join(realRoot, relative(root, folder))) throw linkError(key, `the folder ${relative(root, folder).split(sep).join('/')}`)
        return exists
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e
      }
    }
  }

  /** The file at `key`, opened without following a link and without blocking on a FIFO. */
  const openFile = async (key: string, path: string) => {
    let handle: import('node:fs/promises').FileHandle
    try {
      handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw linkError(key, 'it')
      throw e
    }
    const info = await handle.stat()
    if (!info.isFile()) {
      await handle.close()
      throw error(`Refusing ${printable(JSON.stringify(key))} in ${root}: it is not a regular file (a device, a pipe or a folder). Remove it.`)
    }
    return { handle, size: info.size }
  }

  /** Removes temporary files that interrupted writes (a killed deploy) left in the listed folders. */
  const removeLeftovers = async (dirents: import('node:fs').Dirent[]) => {
    for (const dirent of dirents) {
      if (!dirent.isFile() || !dirent.name.startsWith(TMP_MARKER)) continue
      const path = join(dirent.parentPath, dirent.name)
      const info = await lstat(path).catch(() => undefined)
      if (info && abandoned(dirent.name, info.mtimeMs)) await rm(path, { force: true })
    }
  }

  /** What the directory holds at `key`, never through a link. */
  const statKey = async (key: string): Promise<RemoteObject | undefined> => {
    const path = pathOf(key)
    if (!(await checkFolders(key, path))) return undefined
    const info = await lstat(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined
      throw e
    })
    if (!info) return undefined
    if (info.isSymbolicLink()) throw linkError(key, 'it')
    return describe(key, path)
  }

  /** Whether the directory ignores letter case or Unicode normalisation: probed once per root. */
  const insensitivity = new Map<string, boolean>()
  const probeInsensitive = (): boolean => {
    const known = insensitivity.get(root)
    if (known !== undefined) return known
    const answer = probeCaseInsensitive(root)
    if (answer !== undefined) insensitivity.set(root, answer)
    return answer ?? false
  }

  return defineStrategy({
    name: STRATEGY_NAME,
    get target() {
      return `file://${root}/${prefix}`
    },
    bindRoot(projectRoot: string) {
      root = resolve(projectRoot, options.dir)
    },
    get localDir() {
      return resolve(root, prefix)
    },
    get caseInsensitive() {
      return probeInsensitive()
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
      await removeLeftovers(dirents)
      // Links are neither listed nor followed (readdir does not descend into linked folders).
      for (const dirent of dirents) {
        if (!dirent.isFile() || dirent.name.includes(TMP_MARKER)) continue
        const path = join(dirent.parentPath, dirent.name)
        yield describe(relative(root, path).split(sep).join('/'), path)
      }
    },

    stat: statKey,

    async get(key) {
      const path = pathOf(key)
      if (!(await checkFolders(key, path))) return undefined
      let opened: Awaited<ReturnType<typeof openFile>>
      try {
        opened = await openFile(key, path)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw e
      }
      try {
        if (opened.size > DEFAULTS.maxManifestBytes) {
          throw error(`Refusing to read ${printable(JSON.stringify(key))}: it holds ${opened.size} bytes, more than the ${DEFAULTS.maxManifestBytes} a deploy manifest may. Remove it.`)
        }
        return new Uint8Array(await opened.handle.readFile())
      } finally {
        await opened.handle.close()
      }
    },

    async upload(file) {
      if (file.ifVersion === undefined) return write(file)
      // A conditional write: compare and rename under a lock on the key, so two deploys never
      // both replace the version they read.
      const path = pathOf(file.key)
      await checkFolders(file.key, path)
      await mkdir(dirname(path), { recursive: true })
      const release = await lock(path, { realpath: false, lockfilePath: `${path}${LOCK_SUFFIX}`, retries: { retries: 40, minTimeout: 25, maxTimeout: 500 }, stale: 30_000 })
      try {
        const current = await statKey(file.key)
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
          // lstat: a link is not a file we wrote, and is left alone.
          if ((await checkFolders(key, path)) && (await lstat(path).catch(() => undefined))?.isFile()) await unlink(path)
          deleted.push(key)
        }
      } catch (e) {
        // What was deleted goes with the error: the report lists it.
        throw Object.assign(error(`Could not delete ${keys.length - deleted.length} file(s): ${(e as Error).message}`), { cause: e, deleted })
      }
    },

    async copy(from, to, ctx) {
      // Headers are the web server's to decide here: only the bytes are copied, atomically as an upload writes them.
      const path = pathOf(from)
      const opened = (await checkFolders(from, path))
        ? await openFile(from, path).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)))
        : undefined
      if (!opened) throw error(`Cannot copy ${printable(JSON.stringify(from))} to ${printable(JSON.stringify(to))}: there is no such file in ${root}.`)
      try {
        const { handle, size } = opened
        const read = async (start: number, end: number) => {
          const bytes = Buffer.alloc(end - start)
          for (let at = 0; at < bytes.length; ) {
            const { bytesRead } = await handle.read(bytes, at, bytes.length - at, start + at)
            if (bytesRead === 0) throw error(`${printable(JSON.stringify(from))} got shorter while it was copied. Copy it again.`)
            at += bytesRead
          }
          return bytes
        }
        // A small file is written whole, a large one from `read` a chunk at a time (as an upload's).
        const body = size < CHUNK_BYTES ? await read(0, size) : Buffer.alloc(0)
        await write({ key: to, size, read, body, xxh64: '' })
        ctx.count('copy')
      } finally {
        await opened.handle.close()
      }
      // What a listing will say of it (siblings are compared by MD5).
      return describe(to, pathOf(to))
    },
  })

  async function write(file: Pick<UploadFile, 'key' | 'size' | 'body' | 'read' | 'xxh64'>): Promise<RemoteObject> {
    const path = pathOf(file.key)
    await checkFolders(file.key, path)
    await mkdir(dirname(path), { recursive: true })
    await checkFolders(file.key, path) // a link planted meanwhile
    const tmp = join(dirname(path), `${TMP_MARKER}${HOST}-${process.pid}-${randomBytes(6).toString('hex')}`)
    // The version is what a listing will compute: the hash of the bytes stored (a compressed
    // sibling's, not its original's), so the manifest's record matches the next listing.
    let version: string
    try {
      // 'wx': a name taken by anything (a planted link) fails instead of being followed.
      const handle = await open(tmp, 'wx')
      try {
        if (file.size < CHUNK_BYTES || !file.read) {
          const body = file.body
          await handle.writeFile(body)
          version = (await loadHasher())(body)
        } else {
          // A large file is copied a chunk at a time, read from its source as it goes.
          const hasher = (await loadStreamHasher())()
          for (let start = 0; start < file.size; start += CHUNK_BYTES) {
            const chunk = await file.read(start, Math.min(start + CHUNK_BYTES, file.size))
            hasher.update(chunk)
            await handle.write(chunk)
          }
          version = hasher.digest()
        }
        // On disk before the rename makes it live: after a power loss the file is whole or
        // the old one, never empty while the cache vouches for it.
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(tmp, path)
    } catch (e) {
      await rm(tmp, { force: true })
      throw e
    }
    await syncDirectory(dirname(path))
    return { key: file.key, size: file.size, xxh64: file.xxh64, version }
  }
}

export default filesystem
