import { createHash } from 'node:crypto'
import xxhash from 'xxhash-wasm'

type Hasher = Awaited<ReturnType<typeof xxhash>>

let hasher: Promise<Hasher> | undefined

/** The xxh64 hasher; the WebAssembly module is compiled once per process. */
export async function loadHasher(): Promise<(bytes: Uint8Array) => string> {
  hasher ??= xxhash()
  const { h64Raw } = await hasher
  return (bytes) => h64Raw(bytes).toString(16).padStart(16, '0')
}

export function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex')
}
