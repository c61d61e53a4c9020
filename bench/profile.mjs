// Reads V8 CPU profiles (`node --cpu-prof`) and sums self time on the main thread: by module
// (a package, our own code, a part of Node, or a native call such as `read` or `fsync`) and by
// function. `npm run bench -- --profile` prints these tables per cell; alone:
//   node bench/profile.mjs FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const OURS = fileURLToPath(new URL('..', import.meta.url))

/** Where a frame's self time is counted: the rows of the "by module" table. */
export function moduleOf({ functionName, url }) {
  if (functionName === '(garbage collector)') return 'GC'
  if (functionName === '(program)') return '(program: V8 and native, outside JS)'
  if (functionName === '(idle)') return '(idle)'
  if (functionName === '(root)') return '(root)'
  if (url.startsWith('wasm://')) return 'wasm (xxhash)'
  // Native bindings (fs, crypto) and V8 builtins have no URL: their name is what they do.
  if (!url) return functionName || '(native)'
  if (/^node:internal\/(modules|vm)\b/.test(url) || url === 'node:internal/main/run_main_module') return 'module loading'
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/')
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  const modules = path.lastIndexOf('/node_modules/')
  if (modules >= 0) {
    const parts = path.slice(modules + '/node_modules/'.length).split('/')
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? path)
  }
  // This checkout, or another build of it (`--base`): any dist/ outside node_modules.
  if (path.startsWith(OURS) || path.includes('/dist/')) return 'ours'
  return path
}

/** Self milliseconds per profile node (a sample's time is the delta to the next one). */
function selfTimes(profile) {
  const self = new Map()
  const { samples = [], timeDeltas = [] } = profile
  for (let i = 0; i < samples.length; i++) {
    const ms = (timeDeltas[i + 1] ?? 0) / 1000
    self.set(samples[i], (self.get(samples[i]) ?? 0) + ms)
  }
  return self
}

/** The totals of one profile: by module and by function, in ms, largest first; `busy` leaves idle time out. */
export function summarize(profile) {
  const self = selfTimes(profile)
  const byModule = new Map()
  const byFunction = new Map()
  let busy = 0
  let total = 0
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0
    if (ms === 0) continue
    const frame = node.callFrame
    const where = moduleOf(frame)
    total += ms
    if (where !== '(idle)') busy += ms
    byModule.set(where, (byModule.get(where) ?? 0) + ms)
    const file = frame.url ? frame.url.split('/').at(-1) : ''
    const name = `${frame.functionName || '(anonymous)'}${file ? ` (${where === 'ours' ? '' : `${where} `}${file}:${frame.lineNumber + 1})` : ''}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms)
  }
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1])
  return { total, busy, byModule: sorted(byModule), byFunction: sorted(byFunction) }
}

/** Two markdown tables: self time by module, and the `top` functions. */
export function profileTables(summary, { top = 20, title = '' } = {}) {
  const ms = (n) => n.toFixed(0)
  const lines = [
    `${title}main thread: ${ms(summary.busy)} ms busy of ${ms(summary.total)} ms sampled`,
    '',
    '| where (self time) | ms | % of busy |',
    '|---|---|---|',
  ]
  for (const [where, t] of summary.byModule) {
    if (where === '(idle)' || t < 1) continue
    lines.push(`| ${where} | ${ms(t)} | ${((100 * t) / summary.busy).toFixed(1)} |`)
  }
  lines.push('', '| function (self time) | ms |', '|---|---|')
  for (const [name, t] of summary.byFunction.filter(([n]) => n !== '(idle)').slice(0, top)) lines.push(`| \`${name.replaceAll('|', '\\|')}\` | ${ms(t)} |`)
  return lines.join('\n')
}

/** Several profiles of one cell (its runs, main thread each): the mean of their tables. */
export function summarizeFiles(files) {
  const merged = { total: 0, busy: 0, byModule: new Map(), byFunction: new Map() }
  for (const file of files) {
    const s = summarize(JSON.parse(readFileSync(file, 'utf8')))
    merged.total += s.total / files.length
    merged.busy += s.busy / files.length
    for (const [k, v] of s.byModule) merged.byModule.set(k, (merged.byModule.get(k) ?? 0) + v / files.length)
    for (const [k, v] of s.byFunction) merged.byFunction.set(k, (merged.byFunction.get(k) ?? 0) + v / files.length)
  }
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1])
  return { ...merged, byModule: sorted(merged.byModule), byFunction: sorted(merged.byFunction) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const i = args.indexOf('--top')
  const top = i >= 0 ? Number(args[i + 1]) : 25
  const files = args.filter((a, j) => !a.startsWith('--') && (i < 0 || j !== i + 1))
  if (files.length === 0) {
    console.error('usage: node bench/profile.mjs FILE.cpuprofile… [--top 25] (several files: their mean)')
    process.exit(2)
  }
  console.log(profileTables(summarizeFiles(files), { top }))
}
