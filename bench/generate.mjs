// Deterministic synthetic Vite-like outputs: the same seed gives the same files, byte for byte.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { seeded as random } from '../test/servers/random.mjs'

/**
 * Shapes of the outputs. Chunks are 1–80 KB, skewed small as real code-split output is; images
 * 5–300 KB; `big` files of 5.5–6.5 MB sit above the 5 MiB multipart threshold the benchmark
 * sets for every contender; the rest are small public files.
 */
export const PROFILES = {
  // ≈ 2,000 files / ≈ 10 MB
  small: { files: 2000, chunks: 600, images: 10, big: 1, html: 6 },
  // ≈ 10,000 files / ≈ 60 MB
  large: { files: 10000, chunks: 3600, images: 150, big: 3, html: 12 },
}
const BIG_SIZE = 5.5 * 1024 * 1024

const WORDS = ['export', 'const', 'function', 'return', 'import', 'from', 'await', 'async', 'let', 'if', 'else', 'null', 'true', 'value', 'props', 'state', 'render', 'node', 'item', 'index']

function text(rand, size) {
  const parts = []
  let length = 0
  while (length < size) {
    const word = `${WORDS[Math.floor(rand() * WORDS.length)]}${Math.floor(rand() * 1000)} `
    parts.push(word)
    length += word.length
  }
  return Buffer.from(parts.join('')).subarray(0, size)
}

function binary(rand, size) {
  const bytes = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i += 4) bytes.writeUInt32LE(Math.floor(rand() * 4294967296), Math.min(i, size - 4))
  return bytes
}

function hash8(rand) {
  return Math.floor(rand() * 36 ** 8).toString(36).padStart(8, '0')
}

/** Writes the profile's files under `dir` (emptied first); returns their paths. */
export function generate(dir, profileName, seed = 42) {
  const profile = PROFILES[profileName]
  const rand = random(seed)
  rmSync(dir, { recursive: true, force: true })
  const files = new Map()
  const add = (path, bytes) => files.set(path, bytes)
  for (let i = 0; i < profile.big; i++) add(`media/clip-${hash8(rand)}.bin`, binary(rand, BIG_SIZE + Math.floor(rand() * 1024 * 1024)))
  for (let i = 0; i < profile.images; i++) add(`assets/img-${i}-${hash8(rand)}.webp`, binary(rand, 5_000 + Math.floor(rand() ** 3 * 295_000)))
  for (let i = 0; i < profile.html; i++) add(i === 0 ? 'index.html' : `page-${i}/index.html`, text(rand, 2_000 + Math.floor(rand() * 8_000)))
  for (let i = 0; i < profile.chunks; i++) {
    const css = i % 5 === 0
    add(`assets/chunk-${i}-${hash8(rand)}.${css ? 'css' : 'js'}`, text(rand, 1_000 + Math.floor(rand() ** 15 * 79_000)))
  }
  for (let i = 0; files.size < profile.files; i++) add(`static/file-${i}.txt`, text(rand, 200 + Math.floor(rand() * 1_000)))
  let bytes = 0
  for (const [path, content] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
    bytes += content.length
  }
  return { paths: [...files.keys()].sort(), bytes }
}

/** Changes `fraction` of the files (not the multi-MB ones) in place; returns how to undo it. */
export function mutate(dir, paths, fraction, seed = 7) {
  const rand = random(seed)
  const candidates = paths.filter((p) => !p.startsWith('media/'))
  const count = Math.max(1, Math.round(paths.length * fraction))
  const chosen = new Set()
  while (chosen.size < count) chosen.add(candidates[Math.floor(rand() * candidates.length)])
  const originals = new Map()
  for (const path of chosen) {
    const file = join(dir, path)
    originals.set(path, readFileSync(file))
    writeFileSync(file, Buffer.concat([originals.get(path), Buffer.from(`\n/* changed ${seed} */\n`)]))
  }
  return {
    changed: [...chosen].sort(),
    restore() {
      for (const [path, bytes] of originals) writeFileSync(join(dir, path), bytes)
    },
  }
}
