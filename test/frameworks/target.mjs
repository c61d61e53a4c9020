// The deploy target of every framework fixture, from the environment the test sets:
// COLLECTFASTA_TARGET=file:///dir, or s3://bucket/prefix with COLLECTFASTA_S3_ENDPOINT.
import { fileURLToPath } from 'node:url'

export async function target() {
  const url = process.env.COLLECTFASTA_TARGET
  if (!url) throw new Error('COLLECTFASTA_TARGET is not set: run this fixture from test/frameworks.test.ts.')
  if (url.startsWith('file://')) {
    const { filesystem } = await import('vite-plugin-collectfasta/filesystem')
    return filesystem({ dir: fileURLToPath(url) })
  }
  const { s3 } = await import('vite-plugin-collectfasta/s3')
  const { host: bucket, pathname } = new URL(url)
  return s3({
    bucket,
    prefix: pathname.slice(1),
    endpoint: process.env.COLLECTFASTA_S3_ENDPOINT,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  })
}
