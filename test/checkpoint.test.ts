import { describe, expect, it } from 'vitest'
import type { ChecksumCache } from '../src/core/cache.js'
import { createCheckpoint } from '../src/core/checkpoint.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('cache checkpoints during uploads', () => {
  it('save after 500 confirmations, one at a time, and never sooner than ten times the last save took', async () => {
    let saves = 0
    let took = 0
    let ended = 0
    const cache = {
      save: async () => {
        const started = Date.now()
        await sleep(40) // a large cache: each save reads, merges and writes it whole
        saves++
        ended = Date.now()
        took = ended - started
      },
    } as unknown as ChecksumCache
    const checkpoint = createCheckpoint(cache, () => {})
    const confirm = (n: number) => {
      for (let i = 0; i < n; i++) checkpoint.confirmed()
    }
    confirm(499)
    await checkpoint.settled()
    expect(saves).toBe(0)
    confirm(1)
    confirm(600) // while that save runs: no second one queued behind it
    await checkpoint.settled()
    expect(saves).toBe(1)
    confirm(500) // 500 more, but the last save took ≈ 40 ms: the next waits ten times that
    await checkpoint.settled()
    expect(saves).toBe(1)
    await sleep(Math.max(0, ended + took * 11 + 50 - Date.now()))
    confirm(1)
    await checkpoint.settled()
    expect(saves).toBe(2)
  })
})
