// Deterministic synthetic Vite-like outputs: the same seed gives the same files, byte for byte.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
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
  // ≈ 3,000 files / ≈ 16 MB: the site of issue #24's goals at 0 ms
  site3k: { files: 3000, chunks: 900, images: 15, big: 1, html: 8 },
  // ≈ 10,000 files / ≈ 60 MB
  large: { files: 10000, chunks: 3600, images: 150, big: 3, html: 12 },
  // Large media (issue #14): 3 videos of ≈ 400 MB and ≈ 1,000 small files, ≈ 1.2 GB
  media: { files: 1003, chunks: 300, images: 100, big: 3, bigSize: 400_000_000, html: 20 },
  // 100,000 files of a few hundred bytes to a few KB, ≈ 110 MB
  huge: { files: 100000, chunks: 6000, images: 200, big: 0, html: 100 },
  // 1,000,000 files of a few hundred bytes to a few KB, ≈ 0.8 GB, 1,000 per folder (issue #35: memory per file)
  million: { files: 1_000_000, chunks: 6000, images: 200, big: 0, html: 1000, perDir: 1000 },
  // One 5 GB file: deploys in parts read from disk, past any buffer
  film: { files: 1, chunks: 0, images: 0, big: 1, bigSize: 5_000_000_000, html: 0 },
}
const BIG_SIZE = 5.5 * 1024 * 1024
const MiB = 1024 * 1024

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

/**
 * A large incompressible file, written a MiB at a time: one random MiB, each copy stamped with
 * its offset so that no two MiB (and no two files) are alike. Deterministic, and fast enough for GBs.
 */
function writeBulk(path, rand, size) {
  mkdirSync(dirname(path), { recursive: true })
  const block = binary(rand, MiB)
  const salt = Math.floor(rand() * 2 ** 31)
  const fd = openSync(path, 'w')
  try {
    for (let at = 0; at < size; at += MiB) {
      block.writeUInt32LE(salt, 0)
      block.writeDoubleLE(at, 4)
      writeSync(fd, block, 0, Math.min(MiB, size - at))
    }
  } finally {
    closeSync(fd)
  }
}

/** Writes the profile's files under `dir` (emptied first); returns their paths. */
export function generate(dir, profileName, seed = 42) {
  const profile = PROFILES[profileName]
  const rand = random(seed)
  rmSync(dir, { recursive: true, force: true })
  const files = new Map()
  const add = (path, bytes) => files.set(path, bytes)
  const bigFiles = []
  for (let i = 0; i < profile.big; i++) {
    const name = `media/clip-${hash8(rand)}.bin`
    // Hundreds of MB are written straight to disk (see below), not held.
    if (profile.bigSize) bigFiles.push([name, profile.bigSize + Math.floor(rand() * MiB)])
    else add(name, binary(rand, BIG_SIZE + Math.floor(rand() * 1024 * 1024)))
  }
  for (let i = 0; i < profile.images; i++) add(`assets/img-${i}-${hash8(rand)}.webp`, binary(rand, 5_000 + Math.floor(rand() ** 3 * 295_000)))
  for (let i = 0; i < profile.html; i++) add(i === 0 ? 'index.html' : `page-${i}/index.html`, text(rand, 2_000 + Math.floor(rand() * 8_000)))
  for (let i = 0; i < profile.chunks; i++) {
    const css = i % 5 === 0
    add(`assets/chunk-${i}-${hash8(rand)}.${css ? 'css' : 'js'}`, text(rand, 1_000 + Math.floor(rand() ** 15 * 79_000)))
  }
  let bytes = 0
  // With `perDir`, the small public files go in folders of that many, written as they are made (a million would not fit in memory).
  const written = []
  for (let i = 0; files.size + written.length < profile.files; i++) {
    const path = profile.perDir ? `static/${Math.floor(i / profile.perDir)}/file-${i}.txt` : `static/file-${i}.txt`
    const content = text(rand, 200 + Math.floor(rand() * 1_000))
    if (!profile.perDir) add(path, content)
    else {
      if (i % profile.perDir === 0) mkdirSync(dirname(join(dir, path)), { recursive: true })
      writeFileSync(join(dir, path), content)
      written.push(path)
      bytes += content.length
    }
  }
  for (const [path, size] of bigFiles) {
    writeBulk(join(dir, path), rand, size)
    files.set(path, undefined)
    bytes += size
  }
  for (const [path, content] of files) {
    if (!content) continue
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
    bytes += content.length
  }
  return { paths: [...files.keys(), ...written].sort(), bytes }
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
