// The floor issue #16 holds our first deploy to: a bare loop of AWS SDK PutObject calls, N at
// once, over the files of a directory, in a process of its own. No cache, no hashing, no
// headers beyond the SDK's own; sockets enough for N requests. Input: one JSON argument.
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'

const job = JSON.parse(process.argv[2])
const sockets = { keepAlive: true, maxSockets: Math.max(50, job.concurrency) }
const client = new S3Client({
  endpoint: job.endpoint,
  forcePathStyle: true,
  region: 'us-east-1',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  requestHandler: { httpAgent: sockets, httpsAgent: sockets },
})
const paths = readdirSync(job.dir, { recursive: true, withFileTypes: true })
  .filter((d) => d.isFile())
  .map((d) => join(d.parentPath, d.name))
let next = 0
await Promise.all(
  Array.from({ length: job.concurrency }, async () => {
    while (next < paths.length) {
      const path = paths[next++]
      const key = job.prefix + relative(job.dir, path).split(sep).join('/')
      await client.send(new PutObjectCommand({ Bucket: job.bucket, Key: key, Body: readFileSync(path) }))
    }
  }),
)
client.destroy()
console.log(JSON.stringify({ uploaded: paths.length }))
