import type { AzureApi, BlobHeaders, BlobInfo, Condition, Stored } from './azure-api.js'
import { AzureError } from './azure-transport.js'

/**
 * The Blob operations through a user's own `ContainerClient` of @azure/storage-blob: its
 * credentials, pipeline and retries are theirs to keep. Typed by the few members used, so this
 * package needs no Azure SDK to build, and any 12.x client fits.
 */

interface SdkProperties {
  contentLength?: number
  contentType?: string
  cacheControl?: string
  contentEncoding?: string
  contentMD5?: Uint8Array
  etag?: string
  lastModified?: Date
  metadata?: Record<string, string>
}

interface SdkConditions {
  ifMatch?: string
  ifNoneMatch?: string
}

interface SdkHttpHeaders {
  blobContentType?: string
  blobCacheControl?: string
  blobContentEncoding?: string
  blobContentMD5?: Uint8Array
}

interface SdkBlockBlobClient {
  getProperties(options?: { abortSignal?: AbortSignal }): Promise<SdkProperties>
  download(offset?: number, count?: number, options?: { abortSignal?: AbortSignal }): Promise<{ readableStreamBody?: NodeJS.ReadableStream }>
  upload(body: Uint8Array, length: number, options: { blobHTTPHeaders: SdkHttpHeaders; metadata: Record<string, string>; transactionalContentMD5: Uint8Array; conditions?: SdkConditions }): Promise<{ etag?: string; lastModified?: Date }>
  stageBlock(id: string, body: Uint8Array, length: number, options: { transactionalContentMD5: Uint8Array }): Promise<unknown>
  commitBlockList(ids: string[], options: { blobHTTPHeaders: SdkHttpHeaders; metadata: Record<string, string>; conditions?: SdkConditions }): Promise<{ etag?: string; lastModified?: Date }>
  deleteIfExists(options: { deleteSnapshots: 'include' }): Promise<{ succeeded: boolean }>
  readonly url: string
  beginCopyFromURL(source: string, options: { metadata?: Record<string, string> }): Promise<{ pollUntilDone(): Promise<{ copyStatus?: string; etag?: string; lastModified?: Date }> }>
  setHTTPHeaders(headers: SdkHttpHeaders): Promise<{ etag?: string; lastModified?: Date }>
}

interface SdkListPage {
  segment: { blobItems: { name: string; properties: SdkProperties; metadata?: Record<string, string> }[] }
  continuationToken?: string
}

/** The members of @azure/storage-blob's `ContainerClient` the strategy uses. */
export interface ContainerClientLike {
  readonly containerName: string
  readonly url: string
  getBlockBlobClient(name: string): SdkBlockBlobClient
  listBlobsFlat(options: { prefix?: string; includeMetadata: boolean; abortSignal?: AbortSignal }): { byPage(settings: { continuationToken?: string; maxPageSize: number }): AsyncIterableIterator<SdkListPage> }
}

const hex = (md5: Uint8Array | undefined) => (md5 ? Buffer.from(md5).toString('hex') : undefined)
const unquote = (etag: string | undefined) => etag?.replaceAll('"', '')

function info(name: string, p: SdkProperties, metadata = p.metadata): BlobInfo {
  return {
    name,
    size: p.contentLength,
    md5: hex(p.contentMD5),
    etag: unquote(p.etag),
    modified: p.lastModified?.getTime(),
    contentType: p.contentType ?? '',
    cacheControl: p.cacheControl ?? '',
    contentEncoding: p.contentEncoding ?? '',
    metadata: { ...metadata },
  }
}

/** An SDK error (RestError: `statusCode`, `code`) as the lean path's, so one explanation serves both. */
function asAzureError(error: unknown): unknown {
  const e = error as { statusCode?: number; code?: string; message?: string; name?: string }
  if (e?.name === 'AbortError' || (e?.statusCode === undefined && e?.code === undefined)) return error
  return new AzureError(e.statusCode ?? e.code ?? 'Error', e.code ?? '', String(e.message ?? error).split('\n')[0] as string, error)
}

async function wrap<T>(task: () => Promise<T>): Promise<T> {
  try {
    return await task()
  } catch (error) {
    throw asAzureError(error)
  }
}

const httpHeaders = (headers: BlobHeaders): SdkHttpHeaders => ({ blobContentType: headers.contentType, blobCacheControl: headers.cacheControl, blobContentEncoding: headers.contentEncoding })
const conditions = (condition: Condition | undefined): SdkConditions | undefined =>
  condition === undefined ? undefined : 'ifMatch' in condition ? { ifMatch: `"${condition.ifMatch}"` } : { ifNoneMatch: '*' }
const stored = (answer: { etag?: string; lastModified?: Date }): Stored => ({ etag: unquote(answer.etag), modified: answer.lastModified?.getTime() })

export function sdkAzureApi(client: ContainerClientLike): AzureApi {
  const blob = (name: string) => client.getBlockBlobClient(name)
  return {
    list: (prefix, marker, signal) =>
      wrap(async () => {
        const pages = client.listBlobsFlat({ prefix: prefix || undefined, includeMetadata: true, abortSignal: signal }).byPage({ continuationToken: marker, maxPageSize: 5000 })
        const { value } = await pages.next()
        const page = value as SdkListPage | undefined
        return { blobs: (page?.segment.blobItems ?? []).map((item) => info(item.name, item.properties, item.metadata)), next: page?.continuationToken || undefined }
      }),

    async head(name, signal) {
      try {
        return info(name, await blob(name).getProperties({ abortSignal: signal }))
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined
        throw asAzureError(error)
      }
    },

    async get(name, maxBytes, signal) {
      try {
        const { readableStreamBody } = await blob(name).download(0, undefined, { abortSignal: signal })
        const chunks: Buffer[] = []
        let size = 0
        for await (const chunk of (readableStreamBody ?? []) as AsyncIterable<Buffer>) {
          size += chunk.byteLength
          if (size > maxBytes) {
            ;(readableStreamBody as { destroy?(): void } | undefined)?.destroy?.()
            throw new AzureError(200, 'TooLarge', `it is larger than ${maxBytes} bytes`)
          }
          chunks.push(chunk)
        }
        return new Uint8Array(Buffer.concat(chunks, size))
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined
        throw error instanceof AzureError ? error : asAzureError(error)
      }
    },

    put: (name, body, md5, headers, condition) =>
      wrap(async () =>
        stored(await blob(name).upload(body, body.byteLength, { blobHTTPHeaders: httpHeaders(headers), metadata: headers.metadata, transactionalContentMD5: Buffer.from(md5, 'base64'), conditions: conditions(condition) })),
      ),

    putBlock: (name, id, body, md5) => wrap(async () => void (await blob(name).stageBlock(id, body, body.byteLength, { transactionalContentMD5: Buffer.from(md5, 'base64') }))),

    commit: (name, ids, md5, headers, condition) =>
      wrap(async () =>
        stored(await blob(name).commitBlockList(ids, { blobHTTPHeaders: { ...httpHeaders(headers), blobContentMD5: Buffer.from(md5, 'base64') }, metadata: headers.metadata, conditions: conditions(condition) })),
      ),

    copy: (from, to, headers, md5) =>
      wrap(async () => {
        const copied = await (await blob(to).beginCopyFromURL(blob(from).url, { metadata: headers?.metadata })).pollUntilDone()
        if (copied.copyStatus !== undefined && copied.copyStatus !== 'success') throw new AzureError(200, 'CopyFailed', `the copy ended ${copied.copyStatus}`)
        if (!headers) return stored(copied)
        // Set Blob Properties clears every property it is not given: the MD5 is given again.
        return stored(await blob(to).setHTTPHeaders({ ...httpHeaders(headers), blobContentMD5: md5 ? Buffer.from(md5, 'base64') : undefined }))
      }),

    delete: (name) => wrap(async () => (await blob(name).deleteIfExists({ deleteSnapshots: 'include' })).succeeded),

    async close() {},
  }
}
