import { execFileSync } from 'node:child_process'
import { gunzipSync, gzipSync } from 'node:zlib'
import * as v from 'valibot'
import { validatePath } from '../paths.js'
import { runPool } from '../pool.js'
import type { ObjectHeaders, Strategy, StrategyContext, UploadFile } from '../strategy.js'
import { md5Hex } from '../hash.js'
import { MANIFEST_TOOL, type RemoteManifest, type ReleaseSummary, jsonUpload } from './deploy-manifest.js'
import type { Entry } from './entry.js'
import type { Counted } from './requests.js'
import { type Throttle, createThrottle, underThrottle } from './throttle.js'
import { toUploadFile } from './upload.js'

/**
 * Releases: every committed deploy is one. Its summary (where it came from, its size) is a field
 * of its line in the deploy manifest; its files (per path: content hash, headers fingerprint,
 * size, headers, whether a copy is kept) are a record of their own, `.collectfasta/releases/<id>.json`,
 * written before the manifest commit that names it. A warm deploy reads neither: one HEAD.
 *
 * The bytes a rollback needs: a file with a content hash in its name never changes under its key,
 * and prune keeps it while a kept release uses it. Any other file (a page) is copied, right after
 * its upload, to `.collectfasta/kept/<xxh64>-<headers fingerprint>`: written once per distinct
 * content, with that content's headers, so a rollback copies it back server-side.
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

/** Where this deploy comes from: a CI's variables, else the repository at `root`, and the user's label. */
export function releaseSource(root: string, label: string | undefined, env: NodeJS.ProcessEnv = process.env): ReleaseSource {
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
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim()
    if (/^[0-9a-f]{40,64}$/.test(head)) source.commit = head
  } catch {
    // No git, or no repository here: the release has no commit.
  }
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

/**
 * Copies every file without a content hash in its name to its kept key, unless the live release
 * already kept that content (`previous` says so): server-side where the strategy can copy, else
 * by uploading the entry's bytes again. Resolves with the paths whose content is kept; a failed
 * copy is a warning (that release cannot be rolled back to), never the deploy's failure.
 */
export async function keepCopies(entries: Entry[], uploaded: Set<string>, previous: RemoteManifest | undefined, ctx: KeepContext): Promise<Set<string>> {
  const { strategy, folder } = ctx
  const keptBefore = previous?.deploys[0]?.release?.kept === true && !previous.pending
  const kept = new Set<string>()
  const todo = new Map<string, Entry>()
  for (const entry of entries) {
    if (hashedName(entry.headers)) continue
    const recorded = previous?.files[entry.path]
    const known = keptBefore && !uploaded.has(entry.key) && recorded?.xxh64 === entry.xxh64 && recorded.headers === entry.headersFingerprint
    if (known) kept.add(entry.path)
    else todo.set(keptKey(folder, entry.xxh64, entry.headersFingerprint), entry)
  }
  const failed: string[] = []
  const copy = strategy.copy?.bind(strategy)
  const throttle = ctx.throttle ?? createThrottle(ctx.concurrency)
  const signal = ctx.signal ?? new AbortController().signal
  await runPool(
    [...todo],
    async ([key, entry]) => {
      const once = async () => {
        if (copy) {
          const stored = await ctx.counted('copy', (c) => copy(entry.key, key, c))
          // Another deploy wrote this key between the upload and the copy: the copy is not this content.
          if (stored?.md5 && entry.md5Hex && stored.md5 !== entry.md5Hex) {
            const remove = strategy.delete?.bind(strategy)
            if (remove) await ctx.counted('delete', (c) => remove([key], c))
            throw new Error(`${entry.key} changed before its copy was made`)
          }
          return
        }
        await entry.prepare(strategy.needsMd5 !== false)
        await ctx.counted('upload', (c) => strategy.upload(toUploadFile(entry, key), c))
        entry.release()
      }
      try {
        await underThrottle(throttle, signal, once, () => entry.release())
      } catch (error) {
        if (ctx.signal?.aborted) throw error
        failed.push(entry.key)
      }
    },
    { limit: ctx.concurrency },
  )
  const failedKeys = new Set(failed)
  for (const [, entry] of todo) if (!failedKeys.has(entry.key)) kept.add(entry.path)
  if (failed.length > 0) {
    ctx.warn(`[collectfasta] Could not keep a copy of ${failed.length} file(s) for rollback (${failed.slice(0, 5).join(', ')}): this release cannot be rolled back to once they change.`)
  }
  if (!copy && todo.size > 0) ctx.info?.(`[collectfasta] ${strategy.name} cannot copy server-side: ${todo.size} file(s) were uploaded a second time as kept copies for rollback.`)
  return kept
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
  /** Keys uploaded by this deploy. */
  uploaded: Set<string>
  /** The manifest the plan read. */
  previous: RemoteManifest | undefined
  /** The files a partial deploy did not look at, still stored. */
  carried: RemoteManifest['files']
  source: ReleaseSource
  extra?: Pick<ReleaseSummary, 'rollbackOf'>
}

/**
 * Makes this deploy a release: keeps copies of its pages, writes its record, and returns the
 * summary for its line in the manifest. A failure is a warning and no release (the deploy stands).
 */
export async function recordRelease(input: ReleaseInput, ctx: KeepContext): Promise<ReleaseSummary | undefined> {
  try {
    const kept = await keepCopies(input.entries, input.uploaded, input.previous, ctx)
    const keptBefore = input.previous?.deploys[0]?.release?.kept === true && !input.previous.pending
    const files = [
      ...Object.entries(input.carried).map(([path, f]) => ({ path, xxh64: f.xxh64, headersFingerprint: f.headers, size: f.size, kept: keptBefore })),
      ...input.entries.map((e) => ({ path: e.path, xxh64: e.xxh64, headersFingerprint: e.headersFingerprint, size: e.size, headers: e.headers, kept: kept.has(e.path) })),
    ]
    await writeRecord(ctx.strategy, ctx.counted, ctx.folder, makeRecord(input.id, input.at, files))
    const unkept = input.entries.some((e) => !hashedName(e.headers) && !kept.has(e.path)) || (Object.keys(input.carried).length > 0 && !keptBefore)
    return { ...input.source, ...input.extra, files: files.length, bytes: files.reduce((sum, f) => sum + f.size, 0), kept: !unkept }
  } catch (error) {
    if (ctx.signal?.aborted) throw error
    ctx.warn(`[collectfasta] This deploy is not recorded as a release one can roll back to: ${(error as Error).message}`)
    return undefined
  }
}
