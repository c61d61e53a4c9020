import { DEFAULTS } from '../defaults.js'
import { type RemoteObject, type StrategyContext, storageError } from '../strategy.js'
import type { S3Api } from './s3-api.js'

const PLAIN_ETAG = /^[0-9a-f]{32}$/

/** A key from a listing with `EncodingType=url`: S3 encodes it as a form value (a space is '+'). */
export function decodeListedKey(key: string): string {
  return decodeURIComponent(key.replaceAll('+', ' '))
}

/**
 * Every object under the prefix, a page of 1,000 at a time. A server that pages forever (the
 * same continuation token again, the same keys again, or empty pages that say "more") is
 * stopped with a sentence instead of listing until memory runs out.
 */
export async function* listAll(api: S3Api, bucket: string, prefix: string, kms: boolean, ctx: StrategyContext, fail: (error: unknown) => Error): AsyncGenerator<RemoteObject> {
  const tokens = new Set<string>()
  let previous = new Set<string>()
  let token: string | undefined
  let pages = 0
  let emptyInARow = 0
  do {
    let page: Awaited<ReturnType<S3Api['list']>>
    try {
      page = await api.list(prefix, token)
    } catch (error) {
      throw fail(error)
    }
    ctx.count('list')
    pages++
    const keys = page.objects.map((o) => (page.encoded ? decodeListedKey(o.key) : o.key))
    emptyInARow = keys.length ? 0 : emptyInARow + 1
    const misbehaving =
      (page.truncated && (!page.next || tokens.has(page.next)) && 'it answered a continuation token it had given before (or none) and said there is more') ||
      (keys.length > 0 && previous.has(keys[0] as string) && 'a page started with a key of the page before') ||
      (pages > DEFAULTS.s3.maxListPages && `it gave over ${DEFAULTS.s3.maxListPages} pages of 1,000 keys`) ||
      (page.truncated && emptyInARow > 100 && 'it gave 100 empty pages in a row, each saying there is more')
    if (misbehaving) {
      throw storageError('s3', `The listing of s3://${bucket}/${prefix} does not end: ${misbehaving}. The server does not page as S3 does; check \`endpoint\`.`)
    }
    previous = new Set(keys)
    for (let i = 0; i < keys.length; i++) {
      const object = page.objects[i] as (typeof page.objects)[number]
      const plain = !kms && object.etag !== undefined && PLAIN_ETAG.test(object.etag)
      yield { key: keys[i] as string, size: object.size, md5: plain ? object.etag : undefined, version: object.etag, modified: object.modified, needsStat: !plain, statOnMismatch: true }
    }
    if (page.next) tokens.add(page.next)
    token = page.truncated ? page.next : undefined
  } while (token)
}
