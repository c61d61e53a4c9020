import xxhash from 'xxhash-wasm'
import { describe, expect, it } from 'vitest'
import { loadHasher, loadStreamHasher } from '../src/hash.js'

describe('xxh64', () => {
  it('inputs larger than one piece give the digest of the whole bytes, whole or streamed', async () => {
    const { h64Raw } = await xxhash()
    const hash = await loadHasher()
    const stream = await loadStreamHasher()
    const sizes = [0, 1, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 + 17]
    for (const size of sizes) {
      const bytes = Buffer.alloc(size)
      for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24
      const expected = h64Raw(bytes).toString(16).padStart(16, '0')
      expect(hash(bytes), `${size} bytes`).toBe(expected)
      const hasher = stream()
      for (let at = 0; at < size; at += 700_001) hasher.update(bytes.subarray(at, at + 700_001))
      expect(hasher.digest(), `${size} bytes in pieces`).toBe(expected)
    }
    expect(sizes.length).toBeGreaterThan(0)
  })
})
