// The timed part of bench/gcs-cpu.mjs and bench/azure-cpu.mjs: small uploads through a
// strategy at a concurrency, a warm-up first, the client's CPU and wall time per upload after it.
import { createHash } from 'node:crypto'

/** `job`: { uploads, warmup, concurrency, bytes }. Digests are computed before the clock starts (the core does that work on every path). */
export async function timedUploads(strategy, prefix, job) {
  const { loadHasher } = await import('../dist/hash.js')
  const hash = await loadHasher()
  const files = Array.from({ length: job.uploads + job.warmup }, (_, i) => {
    const body = Buffer.alloc(job.bytes, `${i} `)
    const md5 = createHash('md5').update(body).digest('hex')
    const headers = { contentType: 'text/plain; charset=utf-8', cacheControl: 'public, max-age=60' }
    return { key: `${prefix}${String(i).padStart(5, '0')}.txt`, body, size: body.byteLength, xxh64: hash(body), md5: () => md5, headers, headersFingerprint: 'bench' }
  })
  const ctx = { signal: new AbortController().signal, count() {}, concurrency: job.concurrency }
  const run = async (list) => {
    let next = 0
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        while (next < list.length) await strategy.upload(list[next++], ctx)
      }),
    )
  }
  await run(files.slice(0, job.warmup))
  const cpu = process.cpuUsage()
  const start = performance.now()
  await run(files.slice(job.warmup))
  const used = process.cpuUsage(cpu)
  const wall = performance.now() - start
  await strategy.dispose()
  return { cpuMsPerUpload: (used.user + used.system) / 1000 / job.uploads, wallMsPerUpload: wall / job.uploads }
}
