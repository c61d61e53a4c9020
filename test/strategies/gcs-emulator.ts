import { Storage } from '@google-cloud/storage'
import { inject } from 'vitest'
import type { ReadBack } from './contract.js'

export const GCS_BUCKET = 'collectfasta-test'

/**
 * A Storage client for the emulator at `endpoint` (the emulator itself, or a proxy in front of
 * it). The SDK reads STORAGE_EMULATOR_HOST when a client is made; `apiEndpoint` alone is not
 * enough for the emulator.
 */
export function emulatorStorage(endpoint = inject('gcsEndpoint')): Storage {
  const previous = process.env.STORAGE_EMULATOR_HOST
  process.env.STORAGE_EMULATOR_HOST = endpoint
  try {
    return new Storage({ projectId: 'collectfasta-test' })
  } finally {
    process.env.STORAGE_EMULATOR_HOST = previous
  }
}

/** Reads an object back with a separate client: bytes and metadata. */
export async function readBackGcs(key: string): Promise<ReadBack | undefined> {
  const file = emulatorStorage().bucket(GCS_BUCKET).file(key)
  try {
    const [[bytes], [metadata]] = await Promise.all([file.download({ decompress: false }), file.getMetadata()]) // the stored bytes, not a transcoding
    return {
      bytes,
      headers: {
        contentType: metadata.contentType,
        cacheControl: metadata.cacheControl,
        contentEncoding: metadata.contentEncoding,
        metadata: metadata.metadata as Record<string, string>,
      },
    }
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined
    throw error
  }
}
