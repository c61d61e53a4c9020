import * as v from 'valibot'
import { MAX_KEY_BYTES, pathRecord, validatePath } from '../paths.js'
import { errorText } from '../report.js'
import type { UploadFile } from '../strategy.js'
import type { ChecksumCache } from './cache.js'
import type { Entry } from './entry.js'
import { loadHasher, md5Hex } from '../hash.js'
import { fingerprintHeaders } from './headers.js'
import { jsonBytes } from './json-bytes.js'

/**
 * The deploy manifest stored with the site (`.collectfasta/manifest.json` under the prefix):
 * what the last deploys wrote, so a cold cache can decide without a request per object and
 * stale files can be deleted after a grace period.
 */

export const MANIFEST_FORMAT = 1
export const MANIFEST_TOOL = 'vite-plugin-collectfasta'

const FileSchema = v.object({ xxh64: v.string(), headers: v.string(), size: v.pipe(v.number(), v.integer(), v.minValue(0)), md5: v.string(), version: v.string() })
/**
 * A committed deploy as a release: where it came from, its size, and whether every file without
 * a content hash in its name has a kept copy. Its files are in its own record
 * (`.collectfasta/releases/<id>.json`), so the manifest a warm deploy reads stays small.
 */
const ReleaseSummarySchema = v.object({
  /** The commit it was built from (a CI's variables, else `git rev-parse HEAD`). */
  commit: v.optional(v.string()),
  /** The CI run that deployed it (a URL where the CI gives one). */
  run: v.optional(v.string()),
  /** The `release` label the user gave. */
  label: v.optional(v.string()),
  /** A rollback: the id of the release whose files it restored. */
  rollbackOf: v.optional(v.string()),
  files: v.pipe(v.number(), v.integer(), v.minValue(0)),
  bytes: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** Its files without a content hash in their name are kept for rollback: copied under `.collectfasta/kept/` before a run replaces them. */
  kept: v.boolean(),
})
const DeploySchema = v.object({
  at: v.string(),
  paths: v.array(v.string()),
  /** Which site wrote it (the `site` option); absent in manifests of older versions. */
  site: v.optional(v.string()),
  /** Written by a deploy with `include`: its paths include the last full deploy's. */
  partial: v.optional(v.boolean()),
  /**
   * Far smaller than the largest full deploy kept (a build that looks broken): prune refused it,
   * and it is never the reference the shrink guard compares with.
   */
  shrunk: v.optional(v.boolean()),
  /** Smaller than the guard allows by default, let through by a lowered `prune.minShare`: the guard's reference restarts here. */
  accepted: v.optional(v.boolean()),
  /** A random id per deploy: tells this deploy's pending mark from another's. */
  id: v.optional(v.string()),
  /** What makes it a release one can roll back to (core/release.ts); absent in manifests of older versions. */
  release: v.optional(ReleaseSummarySchema),
  /**
   * Moved into the history by another deploy's mark before it committed: it may still be writing
   * (or was killed). Its own commit records it again without this. A manifest whose history holds
   * one does not describe the storage for sure (see docs/guarantees.md).
   */
  open: v.optional(v.boolean()),
  /**
   * Set (with `open`) by the run itself when it stopped without committing, after another's mark
   * had moved it here: it writes no more. A deploy that saw it open at its plan and sees it ended
   * at its commit counts it as one that wrote since (end-record.ts, `endUncommitted`).
   */
  ended: v.optional(v.boolean()),
})
/**
 * A prune under way: its deploy's id, when it began (its own clock) and the paths it may delete.
 * Written conditionally before the first delete, so a deploy that marks the storage later sees it
 * and waits for it to end before it trusts a listing of those paths (docs/guarantees.md, step 7).
 */
const PruningSchema = v.object({ id: v.string(), at: v.string(), paths: v.array(v.string()) })
// `files` is checked as a list of [path, file] entries: a record schema would drop paths such
// as `__proto__` or `constructor`, which are legal file names.
const ManifestSchema = v.object({
  format: v.literal(MANIFEST_FORMAT),
  tool: v.literal(MANIFEST_TOOL),
  deploys: v.array(DeploySchema),
  files: v.array(v.tuple([v.string(), FileSchema])),
  /**
   * A deploy that marked the storage before its first write and has not committed yet (still
   * running, or killed, failed or cancelled): no cache vouches for a storage in this state, and
   * its paths count as a kept deploy for prune (some of them may be live).
   */
  pending: v.optional(DeploySchema),
  /** A prune that has begun deleting and has not committed (see PruningSchema). */
  pruning: v.optional(PruningSchema),
})

/** What was stored for one path (relative to the prefix). */
export type ManifestFile = v.InferOutput<typeof FileSchema>
export type ManifestDeploy = v.InferOutput<typeof DeploySchema>
export type ManifestPruning = v.InferOutput<typeof PruningSchema>
export type ReleaseSummary = v.InferOutput<typeof ReleaseSummarySchema>

export interface RemoteManifest {
  format: number
  tool: typeof MANIFEST_TOOL
  /** Newest first: when each recent deploy happened, which site wrote it, every path it deployed. */
  deploys: ManifestDeploy[]
  /** The files of the newest deploy (and, after partial deploys, of the last full one). */
  files: Record<string, ManifestFile>
  /** A deploy under way, or one that stopped before its commit (see the schema). */
  pending?: ManifestDeploy
  /** A prune under way, or one that stopped before its commit (see PruningSchema). */
  pruning?: ManifestPruning
}

/** What reading the deploy manifest found. */
export type ManifestRead =
  | { state: 'absent' }
  | { state: 'ok'; manifest: RemoteManifest }
  /** It exists but cannot be used: never trusted, never overwritten by an older format, and prune refuses. */
  | { state: 'unreadable'; why: string; newer: boolean }

/** Thrown by `parseManifest` for a manifest of a later format than this version reads. */
export class NewerManifestError extends Error {}

/** Parses bytes read from the storage into a `ManifestRead` (never throws). `maxPathBytes`: see `parseManifest`. */
export function readManifest(bytes: Uint8Array | undefined, warn: (message: string) => void = () => {}, maxPathBytes = MAX_KEY_BYTES): ManifestRead {
  if (bytes === undefined) return { state: 'absent' }
  try {
    return { state: 'ok', manifest: parseManifest(bytes, warn, maxPathBytes) }
  } catch (error) {
    return { state: 'unreadable', why: errorText(error), newer: error instanceof NewerManifestError }
  }
}

/**
 * Parses a deploy manifest read from the storage, which others can write: anything off the
 * schema throws an Error saying where, and paths that are not plain relative paths, or longer
 * than `maxPathBytes` (the storage's key limit less the prefix: no deploy can have written
 * them), are dropped (reported through `warn`), so they can never become a skip, a request or a
 * delete.
 */
export function parseManifest(bytes: Uint8Array, warn: (message: string) => void = () => {}, maxPathBytes = MAX_KEY_BYTES): RemoteManifest {
  let data: unknown
  try {
    data = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (error) {
    throw new Error((error as Error).message)
  }
  const tool = (data as { tool?: unknown } | null)?.tool
  if (tool !== MANIFEST_TOOL) throw new Error('it was not written by vite-plugin-collectfasta')
  const format = (data as { format?: unknown }).format
  if (typeof format === 'number' && format > MANIFEST_FORMAT) {
    throw new NewerManifestError(`it has format ${format}, written by a later version of vite-plugin-collectfasta (this one reads ${MANIFEST_FORMAT})`)
  }
  if (format !== MANIFEST_FORMAT) throw new Error(`it has format ${JSON.stringify(format)}, this version reads ${MANIFEST_FORMAT}`)
  const rawFiles = (data as { files?: unknown }).files
  if (typeof rawFiles !== 'object' || rawFiles === null || Array.isArray(rawFiles)) throw new Error('it does not match the manifest schema at files: not an object')
  const entries = Object.entries(rawFiles)
  const parsed = v.safeParse(ManifestSchema, { ...(data as object), files: entries })
  if (!parsed.success) {
    const issue = parsed.issues[0]
    const keys = issue.path?.map((item) => String(item.key)) ?? []
    // files.<n>.1.size names the file by its path: files.<path>.size
    if (keys[0] === 'files' && keys[1] !== undefined) keys.splice(1, 2, entries[Number(keys[1])]?.[0] ?? keys[1])
    const where = keys.join('.')
    throw new Error(`it does not match the manifest schema${where ? ` at ${where}` : ''}: ${issue.message}`)
  }
  const files = pathRecord<ManifestFile>()
  for (const [path, file] of parsed.output.files) files[path] = file
  const manifest: RemoteManifest = { ...parsed.output, files }
  let dropped = 0
  let long = 0
  const usable = (path: string) => {
    // UTF-8 takes at least one byte per UTF-16 unit and at most three: count only where it matters.
    if (path.length > maxPathBytes || (path.length * 3 > maxPathBytes && Buffer.byteLength(path) > maxPathBytes)) {
      long++
      return false
    }
    if (validatePath(path) === undefined) return true
    dropped++
    return false
  }
  for (const deploy of [...manifest.deploys, ...(manifest.pending ? [manifest.pending] : []), ...(manifest.pruning ? [manifest.pruning] : [])]) deploy.paths = deploy.paths.filter(usable)
  for (const path of Object.keys(manifest.files)) if (!usable(path)) delete manifest.files[path]
  if (dropped > 0) warn(`[collectfasta] Ignored ${dropped} path(s) in the deploy manifest that are not plain relative paths.`)
  if (long > 0) warn(`[collectfasta] Ignored ${long} path(s) in the deploy manifest longer than the storage's key limit (${maxPathBytes} bytes under this prefix): no deploy wrote them.`)
  return manifest
}

/**
 * A history with each deploy id once, newest first: the first (newest) line of an id is kept.
 * A deploy can meet its own id again (its pending mark, kept as a deploy by another run's mark,
 * then its own commit), and a repeated line would push a real deploy out of the kept window.
 * Lines without an id (older versions) are all kept.
 */
export function historyOf(deploys: ManifestDeploy[]): ManifestDeploy[] {
  const seen = new Set<string>()
  return deploys.filter((deploy) => {
    if (deploy.id === undefined) return true
    if (seen.has(deploy.id)) return false
    seen.add(deploy.id)
    return true
  })
}

/** The manifest as the object to store, written only through a conditional upload (see core/trust). */
export function manifestUpload(manifest: Omit<RemoteManifest, 'format' | 'tool'>, key: string, ifVersion?: string | null): Promise<UploadFile> {
  return jsonUpload(key, { format: MANIFEST_FORMAT, tool: MANIFEST_TOOL, ...manifest }, ifVersion)
}

/** A JSON document of ours (the manifest, a release record) as the object to store: never cached by a CDN. */
export async function jsonUpload(key: string, value: unknown, ifVersion?: string | null): Promise<UploadFile> {
  const body = jsonBytes(value, '\n')
  const hash = await loadHasher()
  const headers = { contentType: 'application/json; charset=utf-8', cacheControl: 'no-cache' }
  let md5: string | undefined
  return {
    key,
    body,
    size: body.byteLength,
    xxh64: hash(body),
    md5: () => (md5 ??= md5Hex(body)),
    headers,
    headersFingerprint: hash(Buffer.from(fingerprintHeaders(headers))),
    ...(ifVersion === undefined ? {} : { ifVersion }),
  }
}

/**
 * The files record of the manifest: each entry as the storage confirmed it (its MD5 and version
 * from the cache, never computed just for this). `carried` are the previous manifest's files that
 * a partial deploy did not look at: they are still stored.
 */
export function manifestFiles(entries: Entry[], cache: ChecksumCache, carried: RemoteManifest['files'] = {}): RemoteManifest['files'] {
  const files = pathRecord(carried)
  for (const entry of entries) {
    const cached = cache.get(entry.key)
    files[entry.path] = {
      xxh64: entry.xxh64,
      headers: entry.headersFingerprint,
      size: entry.size,
      md5: cached?.[3] || entry.md5Hex || '',
      version: cached?.[4] ?? '',
    }
  }
  return files
}

/** How a deploy is told from another in the history: its id, or (written by an older version) its time, site and size. */
export function deployIdentity(deploy: ManifestDeploy): string {
  return deploy.id ?? `${deploy.at}|${deploy.site ?? ''}|${deploy.paths.length}`
}
