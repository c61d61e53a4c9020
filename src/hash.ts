import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'

type Hasher = (bytes: Uint8Array) => string

/** A digest fed piece by piece, for bytes that are never held whole. */
export interface StreamHasher {
  update(bytes: Uint8Array): void
  digest(): string
}

interface Xxh64 {
  whole: Hasher
  stream(): StreamHasher
}

let xxh64: Promise<Xxh64> | undefined

/** The most bytes handed to the WebAssembly hasher at once. */
const WASM_PIECE_BYTES = 1024 * 1024

/** The WebAssembly module is loaded and compiled once, on first use. */
function loadXxh64(): Promise<Xxh64> {
  xxh64 ??= import('xxhash-wasm').then(async ({ default: xxhash }) => {
    const { h64Raw, create64 } = await xxhash()
    const hex = (value: bigint) => value.toString(16).padStart(16, '0')
    // Bytes are copied into the module's memory, which grows to the largest input: growing and
    // first touching 6 MB of it cost 20–30 ms, more than hashing a whole site. Larger inputs go
    // through in pieces, so the memory stays at one piece (the digest is the same).
    const update = (state: ReturnType<typeof create64>, bytes: Uint8Array) => {
      for (let at = 0; at < bytes.byteLength; at += WASM_PIECE_BYTES) state.update(bytes.subarray(at, at + WASM_PIECE_BYTES))
    }
    const stream = (): StreamHasher => {
      const state = create64()
      return { update: (bytes) => update(state, bytes), digest: () => hex(state.digest()) }
    }
    return {
      whole: (bytes) => {
        if (bytes.byteLength <= WASM_PIECE_BYTES) return hex(h64Raw(bytes))
        const hasher = stream()
        hasher.update(bytes)
        return hasher.digest()
      },
      stream,
    }
  })
  return xxh64
}

/** The xxh64 hasher of whole byte arrays. */
export async function loadHasher(): Promise<Hasher> {
  return (await loadXxh64()).whole
}

/** A factory of incremental xxh64 hashers, whose digest equals `loadHasher()`'s of the same bytes. */
export async function loadStreamHasher(): Promise<() => StreamHasher> {
  return (await loadXxh64()).stream
}

export function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex')
}

export function md5Stream(): StreamHasher {
  const state = createHash('md5')
  return { update: (bytes) => void state.update(bytes), digest: () => state.digest('hex') }
}

/** Pieces in which large files are read: enough to keep the disk busy, small beside any site. */
export const CHUNK_BYTES = 8 * 1024 * 1024

/** Feeds a file to hashers a chunk at a time (one buffer, reused): memory stays at one chunk. */
export async function hashFile(path: string, hashers: StreamHasher[]): Promise<number> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES)
    let total = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, total)
      if (bytesRead === 0) return total
      const chunk = buffer.subarray(0, bytesRead)
      for (const hasher of hashers) hasher.update(chunk)
      total += bytesRead
    }
  } finally {
    await handle.close()
  }
}
