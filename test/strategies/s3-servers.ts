import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { inject } from 'vitest'
import { type S3Options, s3 } from '../../src/strategies/s3.js'
import { S3_BUCKET } from '../setup/servers.js'
import { type ProxyOptions, recordingProxy } from '../servers/proxy.mjs'
import type { ReadBack } from './contract.js'

export const LOCAL_SERVERS = [
  { name: 's3rver', endpoint: () => inject('s3rverEndpoint') },
  { name: 'fauxqs', endpoint: () => inject('fauxqsEndpoint') },
] as const

export const SERVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
const credentials = SERVER_CREDENTIALS

/** Options for a strategy on a local server. */
export function localOptions(endpoint: string, prefix: string, extra: Partial<S3Options> = {}): S3Options {
  return { bucket: S3_BUCKET, prefix, endpoint, forcePathStyle: true, region: 'us-east-1', credentials, ...extra }
}

export const localS3 = (endpoint: string, prefix: string, extra?: Partial<S3Options>) => s3(localOptions(endpoint, prefix, extra))

/** A client of the test's own, with every command it sends counted by name. */
export function countingClient(endpoint: string) {
  const counts: Record<string, number> = {}
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? 'unknown').replace(/Command$/, '')
      counts[name] = (counts[name] ?? 0) + 1
      return next(args)
    },
    { step: 'initialize', name: 'countCommands' },
  )
  const reset = () => {
    for (const name of Object.keys(counts)) delete counts[name]
  }
  return { client, counts, reset }
}

/** The S3 operation a request is, by its method and query (what the SDK calls its command). */
export function operationOf(method: string, query: string): string {
  const has = (name: string) => new RegExp(`(^|&)${name}(=|&|$)`).test(query)
  if (method === 'HEAD') return 'HeadObject'
  if (method === 'GET') return has('list-type') ? 'ListObjectsV2' : 'GetObject'
  if (method === 'PUT') return has('partNumber') ? 'UploadPart' : 'PutObject'
  if (method === 'POST') return has('delete') ? 'DeleteObjects' : has('uploads') ? 'CreateMultipartUpload' : 'CompleteMultipartUpload'
  return has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject'
}

/**
 * A recording proxy in front of a local server, with every request counted as the S3
 * operation it is: the strategy's own transport is what is counted, from outside it.
 */
export async function countingProxy(endpoint: string, options: ProxyOptions = {}) {
  const counts: Record<string, number> = {}
  const proxy = await recordingProxy(endpoint, {
    ...options,
    onRequest(request) {
      const name = operationOf(request.method, request.query)
      counts[name] = (counts[name] ?? 0) + 1
      options.onRequest?.(request)
    },
  })
  const reset = () => {
    for (const name of Object.keys(counts)) delete counts[name]
  }
  return { proxy, url: proxy.url, counts, reset, close: () => proxy.close() }
}

/** Reads an object back with a separate client: bytes and headers. */
export async function readBackS3(endpoint: string, key: string): Promise<ReadBack | undefined> {
  const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials, responseChecksumValidation: 'WHEN_REQUIRED' })
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: S3_BUCKET, Key: key }))
    const bytes = await object.Body!.transformToByteArray()
    return {
      bytes,
      headers: {
        contentType: object.ContentType,
        cacheControl: object.CacheControl,
        contentEncoding: object.ContentEncoding,
        metadata: object.Metadata,
      },
    }
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey' || (error as Error).name === 'NotFound') return undefined
    throw error
  } finally {
    client.destroy()
  }
}

export async function headS3(endpoint: string, key: string) {
  const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials })
  try {
    return await client.send(new HeadObjectCommand({ Bucket: S3_BUCKET, Key: key }))
  } finally {
    client.destroy()
  }
}
