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

/** What was stored for one path (relative to the prefix). */
export interface ManifestFile {
  xxh64: string
  /** Fingerprint of the headers it was stored with. */
  headers: string
  size: number
  md5: string
  /** The storage's identity of the stored version (ETag, generation); '' when unknown. */
  version: string
}

export interface RemoteManifest {
  format: number
  tool: 'vite-plugin-collectfasta'
  /** Newest first: when each recent deploy happened and every path it deployed. */
  deploys: { at: string; paths: string[] }[]
  /** The files of the newest deploy. */
  files: Record<string, ManifestFile>
}

/** Parses a manifest; throws an Error saying what is wrong with it. */
export function parseManifest(bytes: Uint8Array): RemoteManifest {
  const data = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<RemoteManifest>
  if (data?.tool !== 'vite-plugin-collectfasta') throw new Error('it was not written by vite-plugin-collectfasta')
  if (data.format !== MANIFEST_FORMAT) throw new Error(`it has format ${JSON.stringify(data.format)}, this version reads ${MANIFEST_FORMAT}`)
  if (!Array.isArray(data.deploys) || typeof data.files !== 'object' || data.files === null) throw new Error('it is incomplete')
  return data as RemoteManifest
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

/** Writes the deploy manifest, after every file of the site. Its failure is a warning, never a lie. */
export async function writeManifest(entries: Entry[], deploys: RemoteManifest['deploys'], ctx: ManifestWrite): Promise<void> {
  const files: RemoteManifest['files'] = {}
  for (const entry of entries) {
    const cached = ctx.cache.get(entry.key)
    files[entry.path] = {
      xxh64: entry.xxh64,
      headers: entry.headersFingerprint,
      size: entry.size,
      md5: cached?.[3] || entry.md5(),
      version: cached?.[4] ?? '',
    }
  }
  const body = serializeManifest({ format: MANIFEST_FORMAT, tool: 'vite-plugin-collectfasta', deploys, files })
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
    await ctx.counted('upload', (c) => ctx.strategy.upload(file, c))
    ctx.report.manifest = { key: ctx.key, size: body.byteLength }
  } catch (error) {
    ctx.logger.warn(
      `[collectfasta] The site is deployed, but the manifest ${ctx.key} could not be written (${errorText(error)}). ` +
        'The next cold-cache deploy will list the storage instead.',
    )
  }
}
