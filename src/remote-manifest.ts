/**
 * The deploy manifest stored with the site (`.collectfasta/manifest.json` under the prefix):
 * what the last deploys wrote, so a cold cache can decide without a request per object and
 * stale files can be deleted after a grace period.
 */

export const MANIFEST_FORMAT = 1
export const DEFAULT_MANIFEST_PATH = '.collectfasta/manifest.json'

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

export function serializeManifest(manifest: RemoteManifest): Uint8Array {
  return Buffer.from(`${JSON.stringify(manifest)}\n`)
}
