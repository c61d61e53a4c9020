import { DEFAULTS } from '../defaults.js'
import type { RemoteObject, StrategyContext } from '../strategy.js'
import type { S3Api } from './s3-api.js'
import { endlessListingGuard, isMd5Etag } from './utils.js'

/** A key from a listing with `EncodingType=url`: S3 encodes it as a form value (a space is '+'). */
export function decodeListedKey(key: string): string {
  return decodeURIComponent(key.replaceAll('+', ' '))
}

/** Every object under the prefix, a page of 1,000 at a time; a listing that would never end is stopped with a sentence. */
export async function* listAll(api: S3Api, bucket: string, prefix: string, kms: boolean, ctx: StrategyContext, fail: (error: unknown) => Error): AsyncGenerator<RemoteObject> {
  const guard = endlessListingGuard('s3', `s3://${bucket}/${prefix}`, DEFAULTS.maxListPages)
  let token: string | undefined
  do {
    let page: Awaited<ReturnType<S3Api['list']>>
    try {
      page = await api.list(prefix, token, ctx.signal)
    } catch (error) {
      throw fail(error)
    }
    ctx.count('list')
    const keys = page.objects.map((o) => (page.encoded ? decodeListedKey(o.key) : o.key))
    guard({ keys, more: page.truncated, next: page.next })
    for (let i = 0; i < keys.length; i++) {
      const object = page.objects[i] as (typeof page.objects)[number]
      const plain = !kms && isMd5Etag(object.etag)
      yield { key: keys[i] as string, size: object.size, md5: plain ? object.etag : undefined, version: object.etag, modified: object.modified, needsStat: !plain, statOnMismatch: true }
    }
    token = page.truncated ? page.next : undefined
  } while (token)
}
