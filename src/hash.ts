import { createHash } from 'node:crypto'

type Hasher = (bytes: Uint8Array) => string

let hasher: Promise<Hasher> | undefined

/** The xxh64 hasher; the WebAssembly module is loaded and compiled once, on first use. */
export function loadHasher(): Promise<Hasher> {
  hasher ??= import('xxhash-wasm').then(async ({ default: xxhash }) => {
    const { h64Raw } = await xxhash()
    return (bytes) => h64Raw(bytes).toString(16).padStart(16, '0')
  })
  return hasher
}

export function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex')
}
