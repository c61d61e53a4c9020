import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { describe } from 'vitest'
import { s3 } from '../../src/strategies/s3.js'
import { runContract } from './contract.js'

// Live AWS: runs only with credentials and a bucket meant for tests.
const bucket = process.env.COLLECTFASTA_TEST_S3_BUCKET
const live = Boolean(bucket && process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY)

describe.skipIf(!live)('live S3 (set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and COLLECTFASTA_TEST_S3_BUCKET)', () => {
  const client = new S3Client({})
  runContract({
    name: `s3 on live bucket ${bucket}`,
    create: (prefix) => s3({ bucket: bucket!, prefix: `collectfasta-ci/${prefix}` }),
    storesHeaders: true,
    honoursConditions: true,
    async readBack(_strategy, key) {
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        return {
          bytes: await object.Body!.transformToByteArray(),
          headers: { contentType: object.ContentType, cacheControl: object.CacheControl, metadata: object.Metadata },
        }
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey') return undefined
        throw error
      }
    },
  })
})
