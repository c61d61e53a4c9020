import * as v from 'valibot'
import { pathRecord, validatePath } from '../paths.js'
import { type DeployReport, type Logger, errorText } from '../report.js'
import type { Strategy, UploadFile } from '../strategy.js'
import type { ChecksumCache } from './cache.js'
import type { Entry } from './entry.js'
import { loadHasher, md5Hex } from '../hash.js'
import { fingerprintHeaders } from './headers.js'
import type { Counted } from './requests.js'

/**
 * The deploy manifest stored with the site (`.collectfasta/manifest.json` under the prefix):
 * what the last deploys wrote, so a cold cache can decide without a request per object and
 * stale files can be deleted after a grace period.
 */

const MANIFEST_FORMAT = 1
const TOOL = 'vite-plugin-collectfasta'

const FileSchema = v.object({ xxh64: v.string(), headers: v.string(), size: v.pipe(v.number(), v.integer(), v.minValue(0)), md5: v.string(), version: v.string() })
const DeploySchema = v.object({
  at: v.string(),
  paths: v.array(v.string()),
  /** Which site wrote it (the `site` option); absent in manifests of older versions. */
  site: v.optional(v.string()),
  /** Written by a deploy with include/exclude: its paths include the last full deploy's. */
  partial: v.optional(v.boolean()),
})
// `files` is checked as a list of [path, file] entries: a record schema would drop paths such
// as `__proto__` or `constructor`, which are legal file names.
const ManifestSchema = v.object({
  format: v.literal(MANIFEST_FORMAT),
  tool: v.literal(TOOL),
  deploys: v.array(DeploySchema),
  files: v.array(v.tuple([v.string(), FileSchema])),
})

/** What was stored for one path (relative to the prefix). */
export type ManifestFile = v.InferOutput<typeof FileSchema>
export type ManifestDeploy = v.InferOutput<typeof DeploySchema>

export interface RemoteManifest {
  format: number
  tool: typeof TOOL
  /** Newest first: when each recent deploy happened, which site wrote it, every path it deployed. */
  deploys: ManifestDeploy[]
  /** The files of the newest deploy (and, after partial deploys, of the last full one). */
  files: Record<string, ManifestFile>
}

/**
 * Parses a deploy manifest read from the storage, which others can write: anything off the
 * schema throws an Error saying where, and paths that are not plain relative paths are dropped
 * (reported through `warn`), so they can never become a skip or a delete.
 */
export function parseManifest(bytes: Uint8Array, warn: (message: string) => void = () => {}): RemoteManifest {
  let data: unknown
  try {
    data = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (error) {
    throw new Error((error as Error).message)
  }
  const tool = (data as { tool?: unknown } | null)?.tool
  if (tool !== TOOL) throw new Error('it was not written by vite-plugin-collectfasta')
  const format = (data as { format?: unknown }).format
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
  for (const deploy of manifest.deploys) {
    const plain = deploy.paths.filter((path) => validatePath(path) === undefined)
    dropped += deploy.paths.length - plain.length
    deploy.paths = plain
  }
  for (const path of Object.keys(manifest.files)) {
    if (validatePath(path) !== undefined) {
      delete manifest.files[path]
      dropped++
    }
  }
  if (dropped > 0) warn(`[collectfasta] Ignored ${dropped} path(s) in the deploy manifest that are not plain relative paths.`)
  return manifest
}

function serializeManifest(manifest: RemoteManifest): Uint8Array {
  return Buffer.from(`${JSON.stringify(manifest)}\n`)
}

export interface ManifestWrite {
  strategy: Strategy
  counted: Counted
  cache: ChecksumCache
  report: DeployReport
  /** The manifest's full key (prefix included). */
  key: string
  logger: Logger
}

/**
 * Writes the deploy manifest, after every file of the site, and resolves with the version the
 * storage gave it (what the cache then vouches for), or `undefined` when it could not be
 * written or has no version. Its failure is a warning, never a lie. `carried` are the files of
 * the previous manifest that a partial deploy did not look at: they are still stored.
 */
export async function writeManifest(
  entries: Entry[],
  deploys: RemoteManifest['deploys'],
  carried: RemoteManifest['files'],
  ctx: ManifestWrite,
): Promise<string | undefined> {
  const files = pathRecord(carried)
  for (const entry of entries) {
    const cached = ctx.cache.get(entry.key)
    // Only what is known: an MD5 is never computed (nor a file compressed) just for the manifest.
    files[entry.path] = {
      xxh64: entry.xxh64,
      headers: entry.headersFingerprint,
      size: entry.size,
      md5: cached?.[3] || entry.md5Hex || '',
      version: cached?.[4] ?? '',
    }
  }
  const body = serializeManifest({ format: MANIFEST_FORMAT, tool: TOOL, deploys, files })
  const hash = await loadHasher()
  const headers = { contentType: 'application/json; charset=utf-8', cacheControl: 'no-cache' }
  let md5: string | undefined
  const file: UploadFile = {
    key: ctx.key,
    body,
    size: body.byteLength,
    xxh64: hash(body),
    md5: () => (md5 ??= md5Hex(body)),
    headers,
    headersFingerprint: hash(Buffer.from(fingerprintHeaders(headers))),
  }
  try {
    const stored = await ctx.counted('upload', (c) => ctx.strategy.upload(file, c))
    ctx.report.manifest = { key: ctx.key, size: body.byteLength }
    // A strategy that cannot stat is checked by reading the manifest: its version is the hash.
    return ctx.strategy.stat ? stored?.version : file.xxh64
  } catch (error) {
    ctx.logger.warn(
      `[collectfasta] The site is deployed, but the manifest ${ctx.key} could not be written (${errorText(error)}). ` +
        'The next deploy will list the storage instead.',
    )
    return undefined
  }
}
