import { execFile } from 'node:child_process'
import { gunzipSync, gzipSync } from 'node:zlib'
import * as v from 'valibot'
import { validatePath } from '../paths.js'
import { runPool } from '../pool.js'
import type { ObjectHeaders, RemoteObject, Strategy, StrategyContext, UploadFile } from '../strategy.js'
import { md5Hex } from '../hash.js'
import { MANIFEST_TOOL, type ManifestFile, type RemoteManifest, type ReleaseSummary, jsonUpload } from './deploy-manifest.js'
import { type Entry, GROUP_HASHED, GROUP_LAST, GROUP_OTHER } from './entry.js'
import type { Counted } from './requests.js'
import { type Throttle, createThrottle, underThrottle } from './throttle.js'

/**
 * Releases: every committed deploy is one. Its summary (where it came from, its size) is a field
 * of its line in the deploy manifest; its files (per path: content hash, headers fingerprint,
 * size, headers, whether a copy is kept) are a record of their own, `.collectfasta/releases/<id>.json`,
 * written before the manifest commit that names it. A warm deploy reads neither: one HEAD.
 *
 * The bytes a rollback needs: a file with a content hash in its name never changes under its key,
 * and prune keeps it while a kept release uses it. Any other file (a page) stays under its key
 * until a run replaces or deletes it; just before, that run copies it to
 * `.collectfasta/kept/<xxh64>-<headers fingerprint>` (the content the live manifest records,
 * checked): written once per distinct content, with its headers, so a rollback copies it back
 * server-side. A first deploy copies nothing.
 */

export const RELEASE_FORMAT = 1

const HeadersSchema = v.object({
  contentType: v.string(),
  cacheControl: v.optional(v.string()),
  contentEncoding: v.optional(v.string()),
  metadata: v.optional(v.record(v.string(), v.string())),
  redirect: v.optional(v.string()),
})
/** One file: path, xxh64, headers fingerprint, size, index in `headers` (-1: unknown), 1 when a copy is kept. */
const FileSchema = v.tuple([v.string(), v.string(), v.string(), v.number(), v.number(), v.picklist([0, 1])])
const RecordSchema = v.object({
  format: v.literal(RELEASE_FORMAT),
  tool: v.literal(MANIFEST_TOOL),
  id: v.string(),
  at: v.string(),
  /** Each distinct set of headers once: most sites have a handful. */
  headers: v.array(HeadersSchema),
  files: v.array(FileSchema),
})

export type ReleaseRecord = v.InferOutput<typeof RecordSchema>
export type ReleaseFile = ReleaseRecord['files'][number]

/** Where a release came from. */
export type ReleaseSource = Pick<ReleaseSummary, 'commit' | 'run' | 'label'>

/** The commit and run of a CI, from its documented variables: the first CI that sets its commit wins. */
const CI: { commit: string; run?: (env: NodeJS.ProcessEnv) => string | undefined }[] = [
  { commit: 'GITHUB_SHA', run: (e) => e.GITHUB_RUN_ID && `${e.GITHUB_SERVER_URL ?? 'https://github.com'}/${e.GITHUB_REPOSITORY}/actions/runs/${e.GITHUB_RUN_ID}` },
  { commit: 'CI_COMMIT_SHA', run: (e) => e.CI_PIPELINE_URL ?? e.CI_JOB_URL },
  { commit: 'CIRCLE_SHA1', run: (e) => e.CIRCLE_BUILD_URL },
  { commit: 'BUILDKITE_COMMIT', run: (e) => e.BUILDKITE_BUILD_URL },
  { commit: 'BITBUCKET_COMMIT', run: (e) => e.BITBUCKET_BUILD_NUMBER },
  { commit: 'TRAVIS_COMMIT', run: (e) => e.TRAVIS_BUILD_WEB_URL },
  { commit: 'BUILD_SOURCEVERSION', run: (e) => e.BUILD_BUILDID },
  { commit: 'CF_PAGES_COMMIT_SHA' },
  { commit: 'VERCEL_GIT_COMMIT_SHA' },
  { commit: 'COMMIT_REF', run: (e) => e.DEPLOY_URL },
  { commit: 'GIT_COMMIT', run: (e) => e.BUILD_URL },
]

/**
 * Where this deploy comes from: a CI's variables, else the repository at `root`, and the user's
 * label. Asynchronous, so that `git` runs beside the deploy's first requests (a spawn costs tens of
 * milliseconds); it never fails: without git or a repository, the release has no commit.
 */
export async function releaseSource(root: string, label: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ReleaseSource> {
  const source: ReleaseSource = {}
  const given = label ?? env.COLLECTFASTA_RELEASE
  if (given) source.label = given
  for (const ci of CI) {
    const commit = env[ci.commit]
    if (!commit) continue
    source.commit = commit
    const run = ci.run?.(env)
    if (run) source.run = run
    return source
  }
  const head = await new Promise<string>((resolve) => {
    try {
      execFile('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', timeout: 5_000 }, (error, stdout) => resolve(error ? '' : stdout.trim()))
    } catch {
      resolve('') // a root that does not exist: no repository here
    }
  })
  if (/^[0-9a-f]{40,64}$/.test(head)) source.commit = head
  return source
}

/** The folder of our own objects (the manifest's folder, else `.collectfasta/`) under the prefix, e.g. `www/.collectfasta/`. */
export function releaseFolder(prefix: string, manifestPath: string): string {
  const slash = manifestPath.lastIndexOf('/')
  return `${prefix}${slash < 0 ? '.collectfasta/' : manifestPath.slice(0, slash + 1)}`
}

/** Ids are ours (16 hex digits); one read from a manifest others can write never becomes a key otherwise. */
export function usableId(id: string | undefined): id is string {
  return id !== undefined && /^[0-9a-z]{1,64}$/i.test(id)
}

export const recordKey = (folder: string, id: string) => `${folder}releases/${id}.json`
export const keptKey = (folder: string, xxh64: string, headersFingerprint: string) => `${folder}kept/${xxh64}-${headersFingerprint}`

/** Whether a file is stored under a name that changes with its content: cached for good, never overwritten, so never copied. */
export function hashedName(headers: Pick<ObjectHeaders, 'cacheControl'> | undefined): boolean {
  return headers?.cacheControl?.includes('immutable') === true
}

/** A release record's bytes: gzip'd JSON, stored without Content-Encoding (read back as stored). */
export async function recordUpload(key: string, record: ReleaseRecord): Promise<UploadFile> {
  const file = await jsonUpload(key, record)
  const body = gzipSync(file.body)
  return { ...file, body, size: body.byteLength, md5: () => md5Hex(body), headers: { contentType: 'application/gzip', cacheControl: 'no-cache' } }
}

/** Reads a release record (undefined: none stored); anything off its schema throws a sentence. */
export async function readRecord(strategy: Strategy, counted: Counted, key: string): Promise<ReleaseRecord | undefined> {
  if (!strategy.get) return undefined
  const get = strategy.get.bind(strategy)
  const bytes = await counted('get', (c) => get(key, c))
  if (!bytes) return undefined
  let data: unknown
  try {
    data = JSON.parse(gunzipSync(bytes).toString('utf8'))
  } catch (error) {
    throw new Error(`[collectfasta] The release record ${key} cannot be read (${(error as Error).message}).`)
  }
  const parsed = v.safeParse(RecordSchema, data)
  if (!parsed.success) throw new Error(`[collectfasta] The release record ${key} does not match its schema: ${parsed.issues[0].message}.`)
  const record = parsed.output
  const bad = record.files.find(([path, , , , headers]) => validatePath(path) !== undefined || headers >= record.headers.length)
  if (bad) throw new Error(`[collectfasta] The release record ${key} names a file that no deploy wrote (${JSON.stringify(bad[0])}).`)
  return record
}

export interface KeepContext {
  strategy: Strategy
  counted: Counted
  concurrency: number
  /** `releaseFolder` of the manifest. */
  folder: string
  signal?: AbortSignal
  /** The uploads' throttle: a "slow down" they met holds for the copies too. */
  throttle?: Throttle
  warn(message: string): void
  info?(message: string): void
}

/** A stored file a run is about to overwrite or delete: its key and its content as the live manifest records it. */
export interface Overwrite {
  key: string
  recorded: ManifestFile
}

/**
 * Whether a copy holds the recorded content: by the stored MD5 where both sides know it, else by
 * our xxh64; an unverified copy is never trusted into a rollback.
 */
function holdsRecorded(stored: Pick<RemoteObject, 'md5' | 'xxh64'> | undefined, recorded: ManifestFile): boolean {
  if (stored?.md5 && recorded.md5) return stored.md5 === recorded.md5
  return Boolean(stored?.xxh64 && stored.xxh64 === recorded.xxh64)
}

/**
 * Copy before overwrite: the current content of each file a run is about to overwrite or delete
 * is copied to its kept key, unless that content is kept already (`known`, the kept keys a
 * listing of this run saw; with `statFirst`, a stat of each says). Server-side where the strategy can copy, else read and written again.
 * A copy that does not hold the recorded content (a deploy that stopped half-way wrote another)
 * is deleted. Resolves with the keys whose content could not be kept: the releases holding it
 * can no longer be rolled back to (a warning, never the run's failure).
 */
export async function keepBeforeOverwrite(overwrites: Overwrite[], known: ReadonlySet<string>, ctx: KeepContext & { statFirst?: boolean }): Promise<string[]> {
  const { strategy, folder } = ctx
  const todo = new Map<string, Overwrite>()
  for (const o of overwrites) {
    const kept = keptKey(folder, o.recorded.xxh64, o.recorded.headers)
    if (!known.has(kept) && !todo.has(kept)) todo.set(kept, o)
  }
  const failed: string[] = []
  const copy = strategy.copy?.bind(strategy)
  const get = strategy.get?.bind(strategy)
  const remove = strategy.delete?.bind(strategy)
  const throttle = ctx.throttle ?? createThrottle(ctx.concurrency)
  const signal = ctx.signal ?? new AbortController().signal
  const stat = ctx.statFirst ? strategy.stat?.bind(strategy) : undefined
  const once = async (kept: string, { key, recorded }: Overwrite) => {
    // Where the live content is uncertain (a deploy left pending), a kept copy already stored is never overwritten by a copy that may be wrong.
    if (stat && (await ctx.counted('stat', (c) => stat(kept, c)))) return
    if (copy) {
      const stored = await ctx.counted('copy', (c) => copy(key, kept, c))
      if (holdsRecorded(stored, recorded)) return
      if (remove) await ctx.counted('delete', (c) => remove([kept], c))
      throw new Error(`${key} no longer holds the content its release recorded`)
    }
    const bytes = get && (await ctx.counted('get', (c) => get(key, c)))
    if (!bytes) throw new Error(`${key} could not be read`)
    const md5 = md5Hex(bytes)
    if (!holdsRecorded({ md5 }, recorded)) throw new Error(`${key} no longer holds the content its release recorded`)
    const file: UploadFile = { key: kept, body: bytes, size: bytes.byteLength, xxh64: recorded.xxh64, md5: () => md5, headers: { contentType: 'application/octet-stream', cacheControl: 'no-cache' }, headersFingerprint: recorded.headers }
    await ctx.counted('upload', (c) => strategy.upload(file, c))
  }
  await runPool(
    [...todo],
    async ([kept, o]) => {
      try {
        await underThrottle(throttle, signal, () => once(kept, o))
      } catch (error) {
        if (ctx.signal?.aborted) throw error
        failed.push(o.key)
      }
    },
    { limit: ctx.concurrency },
  )
  if (failed.length > 0) {
    failed.sort()
    ctx.warn(
      `[collectfasta] Could not keep a copy of ${failed.length} file(s) before replacing them (${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ', …' : ''}): the releases that hold their current content can no longer be rolled back to.`,
    )
  }
  if (!copy && todo.size > failed.length) ctx.info?.(`[collectfasta] ${strategy.name} cannot copy server-side: ${todo.size - failed.length} file(s) were read and written again as kept copies for rollback.`)
  return failed
}

/** Whether the live files hold this file of a release (its content and headers): a rollback leaves it alone. */
export function isLive(file: ReleaseFile, live: Record<string, ManifestFile>): boolean {
  const now = live[file[0]]
  return now?.xxh64 === file[1] && now.headers === file[2]
}

/**
 * Where a rollback finds a file of a release that the live files do not hold: under its own key
 * while that key still holds it (a file with a content hash in its name, which prune keeps; a page
 * no deploy replaced since, as the storage's xxh64 and headers fingerprint say), else its kept
 * copy (a page, copied before it was replaced); undefined when neither is stored.
 */
export async function locate(file: ReleaseFile, prefix: string, folder: string, lookUp: (key: string) => Promise<RemoteObject | undefined>): Promise<string | undefined> {
  const [path, xxh64, fingerprint, , , kept] = file
  const own = await lookUp(prefix + path)
  if (own && (kept === 0 || (own.xxh64 === xxh64 && (own.headersFingerprint === undefined || own.headersFingerprint === fingerprint)))) return prefix + path
  const copy = keptKey(folder, xxh64, fingerprint)
  return kept === 1 && (await lookUp(copy)) ? copy : undefined
}

/** The record of a release: each distinct set of headers once. */
export function makeRecord(id: string, at: string, files: { path: string; xxh64: string; headersFingerprint: string; size: number; headers?: ObjectHeaders; kept: boolean }[]): ReleaseRecord {
  const headers: ObjectHeaders[] = []
  const index = new Map<string, number>()
  const rows = files.map((file): ReleaseFile => {
    let h = -1
    if (file.headers) {
      const text = JSON.stringify(file.headers)
      h = index.get(text) ?? headers.push(file.headers) - 1
      index.set(text, h)
    }
    return [file.path, file.xxh64, file.headersFingerprint, file.size, h, file.kept ? 1 : 0]
  })
  return { format: RELEASE_FORMAT, tool: MANIFEST_TOOL, id, at, headers, files: rows }
}

/** Writes a release record (before the manifest commit that names it). */
export async function writeRecord(strategy: Strategy, counted: Counted, folder: string, record: ReleaseRecord): Promise<void> {
  const file = await recordUpload(recordKey(folder, record.id), record)
  await counted('upload', (c: StrategyContext) => strategy.upload(file, c))
}

export interface ReleaseInput {
  id: string
  at: string
  entries: Entry[]
  /** The files a partial deploy did not look at, still stored. */
  carried: RemoteManifest['files']
  source: ReleaseSource
}

/**
 * Makes this deploy a release: writes its record (before its first page goes out) and returns
 * the summary for its line in the manifest. Every file without a content hash in its name is
 * marked kept: a later run copies it before replacing it. A failure is a warning and no release
 * (the deploy stands).
 */
export async function recordRelease(input: ReleaseInput, ctx: KeepContext): Promise<ReleaseSummary | undefined> {
  try {
    const files = [
      ...Object.entries(input.carried).map(([path, f]) => ({ path, xxh64: f.xxh64, headersFingerprint: f.headers, size: f.size, kept: true })),
      ...input.entries.map((e) => ({ path: e.path, xxh64: e.xxh64, headersFingerprint: e.headersFingerprint, size: e.size, headers: e.headers, kept: !hashedName(e.headers) })),
    ]
    await writeRecord(ctx.strategy, ctx.counted, ctx.folder, makeRecord(input.id, input.at, files))
    return { ...input.source, files: files.length, bytes: files.reduce((sum, f) => sum + f.size, 0), kept: true }
  } catch (error) {
    if (ctx.signal?.aborted) throw error
    ctx.warn(`[collectfasta] This deploy is not recorded as a release one can roll back to: ${(error as Error).message}`)
    return undefined
  }
}

/** The upload group of a release file: hashed assets, other files, then HTML. */
export function groupOf(record: ReleaseRecord, file: ReleaseFile): number {
  const headers = record.headers[file[4]]
  if (hashedName(headers)) return GROUP_HASHED
  return headers?.contentType.startsWith('text/html') || /\.html?$/.test(file[0]) ? GROUP_LAST : GROUP_OTHER
}
