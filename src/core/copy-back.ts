import { md5Hex } from '../hash.js'
import type { RemoteObject, Strategy } from '../strategy.js'
import type { ReleaseFile, ReleaseRecord } from './release.js'
import type { Counted } from './requests.js'

/** Copies a kept copy back under its key: server-side, else read and written again with the recorded headers. */
export async function copyBack(strategy: Strategy, counted: Counted, c: { from: string; key: string; file: ReleaseFile }, record: ReleaseRecord): Promise<RemoteObject | undefined> {
  if (strategy.copy) {
    const copy = strategy.copy.bind(strategy)
    return counted('copy', (ctx) => copy(c.from, c.key, ctx))
  }
  const get = strategy.get?.bind(strategy)
  const headers = record.headers[c.file[4]]
  const bytes = get && (await counted('get', (ctx) => get(c.from, ctx)))
  if (!bytes || !headers) throw new Error(`the kept copy ${c.from} could not be read`)
  const md5 = md5Hex(bytes)
  return counted('upload', (ctx) => strategy.upload({ key: c.key, body: bytes, size: bytes.byteLength, xxh64: c.file[1], md5: () => md5, headers, headersFingerprint: c.file[2] }, ctx))
}
