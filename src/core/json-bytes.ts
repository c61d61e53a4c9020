import { writeSync } from 'node:fs'

/**
 * Large JSON documents (the cache file, the deploy manifest, a release record) written without
 * their whole text in memory: a million files make a JSON string and its bytes of ≈ 150 MB each.
 * The bytes are exactly those of `JSON.stringify(value)`, made a piece at a time.
 */

/** A container with fewer members than this, all of them primitives, is one piece. */
const WHOLE_BELOW = 64
/** Characters gathered before they are written out. */
const BATCH = 64 * 1024

/** As JSON.stringify: in an object these are left out, in an array they are `null`. */
const skipped = (value: unknown) => value === undefined || typeof value === 'function' || typeof value === 'symbol'

const isContainer = (value: unknown): value is object => typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON !== 'function'

/** The text of `JSON.stringify(value)` in pieces: big or nested containers member by member, the rest whole. */
export function* jsonPieces(value: unknown): Generator<string> {
  if (!isContainer(value)) {
    yield JSON.stringify(value) ?? 'null'
    return
  }
  if (Array.isArray(value)) {
    if (value.length < WHOLE_BELOW && !value.some(isContainer)) {
      yield JSON.stringify(value)
      return
    }
    yield '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ','
      const item: unknown = value[i]
      if (skipped(item)) yield 'null'
      else yield* jsonPieces(item)
    }
    yield ']'
    return
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length < WHOLE_BELOW && !keys.some((key) => isContainer(record[key]))) {
    yield JSON.stringify(record)
    return
  }
  yield '{'
  let first = true
  for (const key of keys) {
    const item = record[key]
    if (skipped(item)) continue
    yield `${first ? '' : ','}${JSON.stringify(key)}:`
    first = false
    yield* jsonPieces(item)
  }
  yield '}'
}

/** Pieces gathered into strings of about `BATCH` characters. */
function* batches(value: unknown, end: string): Generator<string> {
  let batch = ''
  for (const piece of jsonPieces(value)) {
    batch += piece
    if (batch.length >= BATCH) {
      yield batch
      batch = ''
    }
  }
  yield batch + end
}

/** `JSON.stringify(value) + end` as one Buffer, allocated once at its exact size (no whole string before it). */
export function jsonBytes(value: unknown, end = ''): Buffer {
  let size = 0
  for (const batch of batches(value, end)) size += Buffer.byteLength(batch)
  const bytes = Buffer.allocUnsafe(size)
  let at = 0
  for (const batch of batches(value, end)) at += bytes.write(batch, at)
  if (at !== size) throw new Error(`[collectfasta] internal: a JSON document changed while it was written (${at} of ${size} bytes)`)
  return bytes
}

/** Writes `JSON.stringify(value)` to an open file, a batch at a time. */
export function writeJson(fd: number, value: unknown): void {
  for (const batch of batches(value, '')) {
    const bytes = Buffer.from(batch)
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at)
  }
}
