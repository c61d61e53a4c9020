// docs/benchmark.svg from the tables of bench/RESULTS.md: one panel per scenario, a bar per
// contender (wall seconds), for one site at one round trip. `npm run bench` calls
// `writeChart` after it writes RESULTS.md, so the chart always shows the numbers beside it;
// `node bench/chart.mjs` redraws it from the RESULTS.md already there (no two-hour run).
// Plain SVG written by hand: no dependency, readable on any forge.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ANALYSIS_MARKER = '<!-- analysis: written by hand, kept across runs -->'
const BENCH = fileURLToPath(new URL('.', import.meta.url))
export const RESULTS_FILE = `${BENCH}RESULTS.md`
export const CHART_FILE = fileURLToPath(new URL('../docs/benchmark.svg', import.meta.url))

/**
 * The generated tables of RESULTS.md (above the hand-written analysis, whose tables are of other
 * runs): `{ size, files, rtt, scenario, rows: [{ name, wall }] }` for each table.
 */
export function parseResults(markdown) {
  const marker = markdown.indexOf(ANALYSIS_MARKER)
  const generated = marker >= 0 ? markdown.slice(0, marker) : markdown
  const tables = []
  let section
  let table
  for (const line of generated.split('\n')) {
    const heading = /^## (\w+): (\d+) files .*RTT (\d+) ms/.exec(line)
    if (heading) {
      section = { size: heading[1], files: Number(heading[2]), rtt: Number(heading[3]) }
      table = undefined
      continue
    }
    // Another section (the Azurite one): its rows belong to no table of the chart.
    if (line.startsWith('## ')) {
      section = undefined
      table = undefined
    }
    const scenario = /^### (.+)$/.exec(line)
    if (scenario && section) {
      table = { ...section, scenario: scenario[1], rows: [] }
      tables.push(table)
      continue
    }
    // A cell's CPU profile tables (`--profile`) follow its table: they are not contenders.
    if (line.startsWith('<details>')) table = undefined
    const cells = line.split('|').map((cell) => cell.trim())
    // | contender | wall s | … : a data row has a number in its second column.
    if (table && cells.length > 3 && /^\d+(\.\d+)?$/.test(cells[2] ?? '')) table.rows.push({ name: cells[1], wall: Number(cells[2]) })
  }
  return tables.filter((t) => t.rows.length > 0)
}

/** The contenders a reader compares: ours at its default concurrency, and every peer. */
function chosen(rows) {
  const ours = rows.filter((r) => r.name.startsWith('ours (deploy(), source outDir'))
  const best = ours.sort((a, b) => concurrencyOf(b.name) - concurrencyOf(a.name))[0]
  return [...(best ? [best] : []), ...rows.filter((r) => /^(rclone|aws) /.test(r.name))]
}
const concurrencyOf = (name) => Number(/concurrency (\d+)/.exec(name)?.[1] ?? 0)

/** A label that fits beside a bar: the tool and its concurrency (the legend has the whole name). */
function label(name) {
  const n = /concurrency (\d+)|--transfers (\d+)|max_concurrent_requests (\d+)/.exec(name)
  const count = n?.slice(1).find(Boolean)
  const tool = name.startsWith('ours') ? 'ours' : name.startsWith('rclone') ? 'rclone' : name.startsWith('aws') ? 'aws s3 sync' : name.slice(0, 20)
  if (/defaults:/.test(name)) return `${tool}, its defaults`
  return count ? `${tool}, ${count} in flight` : tool
}

const xml = (text) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
const seconds = (s) => (s >= 10 ? s.toFixed(1) : s.toFixed(2))
const COLORS = ['#2f6fdf', '#e07b24', '#f2b36b', '#7a7a7a', '#b0b0b0']

/**
 * The chart for one site at one round trip (default: the large site at 20 ms, else the first
 * one present). Each panel has its own scale: a first deploy takes seconds where a warm one
 * takes a fraction of one, and one axis would hide the fractions.
 */
export function chartSvg(markdown, { size = 'large', rtt = 20 } = {}) {
  const tables = parseResults(markdown)
  if (tables.length === 0) throw new Error('[bench] RESULTS.md holds no result tables to chart: run `npm run bench` first.')
  const pick = tables.some((t) => t.size === size && t.rtt === rtt) ? { size, rtt } : { size: tables[0].size, rtt: tables[0].rtt }
  const panels = tables.filter((t) => t.size === pick.size && t.rtt === pick.rtt).map((t) => ({ ...t, rows: chosen(t.rows) }))
  const ranOn = /^Machine: .*, (\d{4}-\d{2}-\d{2})\.$/m.exec(markdown)?.[1]
  const names = [...new Set(panels.flatMap((p) => p.rows.map((r) => r.name)))]
  const width = 900
  const labelWidth = 180
  const barArea = width - labelWidth - 90
  const barHeight = 16
  const gap = 4
  const panelTop = 70
  const panelHeight = names.length * (barHeight + gap) + 34
  const legendTop = panelTop + panels.length * panelHeight + 10
  const height = legendTop + names.length * 20 + 20
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="28" font-size="17" font-weight="600">Wall time, ${panels[0].files.toLocaleString('en')} files (${xml(pick.size)} site), ${pick.rtt} ms round trip, lower is better</text>`,
    `<text x="20" y="50" fill="#555">Median seconds of the runs in bench/RESULTS.md${ranOn ? ` (run of ${ranOn})` : ''}, whole process; each panel has its own scale.</text>`,
  ]
  panels.forEach((panel, p) => {
    const top = panelTop + p * panelHeight
    const max = Math.max(...panel.rows.map((r) => r.wall))
    out.push(`<text x="20" y="${top + 14}" font-weight="600">${xml(panel.scenario)}</text>`)
    panel.rows.forEach((row, i) => {
      const y = top + 24 + i * (barHeight + gap)
      const w = Math.max(1, (row.wall / max) * barArea)
      const color = COLORS[names.indexOf(row.name) % COLORS.length]
      const short = label(row.name)
      out.push(
        `<text x="${labelWidth - 8}" y="${y + barHeight - 4}" text-anchor="end" fill="#333">${xml(short)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${color}"><title>${xml(row.name)}: ${seconds(row.wall)} s</title></rect>`,
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + barHeight - 4}" fill="#333">${seconds(row.wall)} s</text>`,
      )
    })
  })
  names.forEach((name, i) => {
    const y = legendTop + i * 20
    out.push(`<rect x="20" y="${y}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`, `<text x="40" y="${y + 11}" fill="#333">${xml(name)}</text>`)
  })
  out.push('</svg>', '')
  return out.join('\n')
}

/** Writes docs/benchmark.svg from RESULTS.md's text. */
export function writeChart(markdown, file = CHART_FILE) {
  writeFileSync(file, chartSvg(markdown))
  return file
}

// `node bench/chart.mjs`: redraw from the RESULTS.md already there.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = writeChart(readFileSync(RESULTS_FILE, 'utf8'))
  console.log(`[bench] wrote ${file}`)
}
