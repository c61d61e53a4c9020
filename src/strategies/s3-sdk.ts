import type { S3Client } from '@aws-sdk/client-s3'
import type { S3Api } from './s3-api.js'
import { encodeKey } from './s3-transport.js'
import { bodyTimeout, importSdk } from './utils.js'

/**
 * The same operations through a user's own `client` (an S3Client): its region, endpoint,
 * credentials, retries and middleware apply. Only this path loads `@aws-sdk/client-s3`.
 */
export async function sdkApi(client: S3Client, bucket: string, limits: { timeout: number; maxAttempts: number }): Promise<S3Api> {
  const sdk = await importSdk<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3', () => import('@aws-sdk/client-s3'))
  const unquote = (etag: string | undefined) => etag?.replaceAll('"', '')
  const notFound = (error: unknown) => {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } }
    return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404
  }
  /**
   * Runs a read under the deploy's `signal` and a deadline of `maxAttempts` tries of `timeout`
   * plus 4 s per MiB (the client may have no total timeout): a trickled answer ends, as a
   * TimeoutError; a cancelled deploy stops waiting, as Cancelled.
   */
  const read = async <T>(signal: AbortSignal | undefined, call: (abortSignal: AbortSignal, grow: (bytes: number) => void) => Promise<T>): Promise<T> => {
    const late = new AbortController()
    const started = performance.now()
    let ms = 0
    let timer: NodeJS.Timeout | undefined
    const grow = (bytes: number) => {
      clearTimeout(timer)
      ms = limits.maxAttempts * bodyTimeout(bytes, limits.timeout)
      timer = setTimeout(() => late.abort(), ms - (performance.now() - started))
    }
    grow(0)
    try {
      return await call(signal ? AbortSignal.any([signal, late.signal]) : late.signal, grow)
    } catch (error) {
      if (signal?.aborted) throw Object.assign(new Error('the deploy was cancelled while waiting for the answer', { cause: error }), { name: 'Cancelled' })
      if (late.signal.aborted) throw Object.assign(new Error(`the answer was not whole within ${ms} ms`, { cause: error }), { name: 'TimeoutError' })
      throw error
    } finally {
      clearTimeout(timer)
    }
  }
  /** A large body says its own timeout; small requests keep the client's cached middleware. */
  const timed = (timeout: number, short: boolean) => (short ? undefined : { requestTimeout: timeout })

  return {
    async put(input, body, md5, timeout, condition) {
      const put = await client.send(
        new sdk.PutObjectCommand({ ...input, Bucket: bucket, Body: body, ContentLength: body.byteLength, ContentMD5: md5, IfMatch: condition?.ifMatch && `"${condition.ifMatch}"`, IfNoneMatch: condition?.ifNoneMatch }),
        timed(timeout, body.byteLength <= 1024 * 1024),
      )
      return unquote(put.ETag)
    },
    async head(key, signal) {
      try {
        const head = await read(signal, (abortSignal) => client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }))
        const headers = {
          contentType: head.ContentType ?? null,
          cacheControl: head.CacheControl ?? null,
          contentEncoding: head.ContentEncoding ?? null,
          redirect: head.WebsiteRedirectLocation ?? null,
        }
        return { size: head.ContentLength, etag: unquote(head.ETag), metadata: head.Metadata ?? {}, modified: head.LastModified?.getTime(), headers }
      } catch (error) {
        if (notFound(error)) return undefined
        throw error
      }
    },
    async list(prefix, token, signal) {
      const page = await read(signal, (abortSignal) =>
        client.send(
          // URL-encoded keys: in raw XML a key's \r comes back as \n (XML normalises line ends).
          new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, MaxKeys: 1000, ContinuationToken: token, EncodingType: 'url' }),
          { abortSignal },
        ),
      )
      return {
        objects: (page.Contents ?? []).flatMap((o) => (o.Key ? [{ key: o.Key, size: o.Size, etag: unquote(o.ETag), modified: o.LastModified?.getTime() }] : [])),
        truncated: page.IsTruncated === true,
        next: page.NextContinuationToken,
        encoded: page.EncodingType === 'url',
      }
    },
    async get(key, maxBytes, signal) {
      try {
        // The deadline starts as a small request's and, once the size is announced, becomes that size's.
        return await read(signal, async (abortSignal, grow) => {
          const object = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal })
          if ((object.ContentLength ?? 0) > maxBytes) {
            await object.Body?.transformToByteArray().catch(() => undefined)
            throw Object.assign(new Error(`the object is ${object.ContentLength} bytes, over the ${maxBytes} it may have`), { name: 'TooLarge' })
          }
          grow(object.ContentLength ?? 0)
          return await object.Body?.transformToByteArray()
        })
      } catch (error) {
        if (notFound(error)) return undefined
        throw error
      }
    },
    async deleteBatch(keys) {
      // Not quiet: a key counts as deleted only where the answer names it so.
      const result = await client.send(new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: false } }))
      return {
        deleted: (result.Deleted ?? []).flatMap((d) => (d.Key === undefined ? [] : [d.Key])),
        errors: (result.Errors ?? []).map((e) => ({ key: e.Key ?? '', code: e.Code ?? 'Error', message: e.Message ?? '' })),
      }
    },
    async createMultipart(input) {
      const created = await client.send(new sdk.CreateMultipartUploadCommand({ ...input, Bucket: bucket }))
      if (!created.UploadId) throw new Error('CreateMultipartUpload answered without an UploadId')
      return created.UploadId
    },
    async uploadPart(key, uploadId, partNumber, body, md5, timeout) {
      const part = await client.send(
        new sdk.UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.byteLength, ContentMD5: md5 }),
        timed(timeout, false),
      )
      return part.ETag
    },
    async complete(key, uploadId, parts, timeout, condition) {
      const completed = await client.send(
        new sdk.CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts }, IfMatch: condition?.ifMatch && `"${condition.ifMatch}"`, IfNoneMatch: condition?.ifNoneMatch }),
        timed(timeout, false),
      )
      return unquote(completed.ETag)
    },
    async abort(key, uploadId) {
      await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
    },
    async copy(from, input, directive, timeout) {
      const copied = await client.send(new sdk.CopyObjectCommand({ ...input, Bucket: bucket, CopySource: `${bucket}/${encodeKey(from)}`, MetadataDirective: directive }), timed(timeout, false))
      return unquote(copied.CopyObjectResult?.ETag)
    },
    // The client is the user's: they destroy it.
    async close() {},
  }
}
