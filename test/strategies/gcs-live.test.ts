import { Storage } from '@google-cloud/storage'
import { describe } from 'vitest'
import { gcs } from '../../src/strategies/gcs.js'
import { runContract } from './contract.js'

// Live Cloud Storage: runs only with Application Default Credentials and a bucket meant for tests.
const bucket = process.env.COLLECTFASTA_TEST_GCS_BUCKET
const live = Boolean(bucket && process.env.GOOGLE_APPLICATION_CREDENTIALS && !process.env.STORAGE_EMULATOR_HOST)

describe.skipIf(!live)('live GCS (set GOOGLE_APPLICATION_CREDENTIALS and COLLECTFASTA_TEST_GCS_BUCKET)', () => {
  const storage = new Storage()
  runContract({
    name: `gcs on live bucket ${bucket}`,
    create: (prefix) => gcs({ bucket: bucket!, prefix: `collectfasta-ci/${prefix}` }),
    storesHeaders: true,
    honoursConditions: true,
    async readBack(_strategy, key) {
      const file = storage.bucket(bucket!).file(key)
      try {
        const [[bytes], [metadata]] = await Promise.all([file.download(), file.getMetadata()])
        return { bytes, headers: { contentType: metadata.contentType, cacheControl: metadata.cacheControl, metadata: metadata.metadata as Record<string, string> } }
      } catch (error) {
        if ((error as { code?: number }).code === 404) return undefined
        throw error
      }
    },
  })
})
