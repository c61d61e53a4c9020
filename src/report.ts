import type { DeployReport } from './deploy.js'

export interface Logger {
  info(message: string): void
  warn(message: string): void
}

export const consoleLogger: Logger = {
  info: (message) => console.log(message),
  warn: (message) => console.warn(message),
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = bytes / 1000
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

/** The one summary line. */
export function summarize(report: DeployReport): string {
  const verb = report.dryRun ? 'would upload' : 'uploaded'
  const parts = [
    `${verb} ${report.uploaded.length} file(s) (${formatBytes(report.bytesUploaded)})`,
    `${report.skipped.length} unchanged`,
  ]
  if (report.failed.length) parts.push(`${report.failed.length} failed`)
  if (report.pending.length) parts.push(`${report.pending.length} held back`)
  if (report.deleted.length) parts.push(`${report.deleted.length} ${report.dryRun ? 'would be deleted' : 'deleted'}`)
  const requests = Object.values(report.requests).reduce((a, b) => a + b, 0)
  const dry = report.dryRun ? ' (dry run)' : ''
  return `[collectfasta] ${report.target}${dry}: ${parts.join(', ')}, ${requests} request(s) in ${(report.durationMs / 1000).toFixed(2)} s`
}

const PROGRESS_AFTER_MS = 1000

/** A progress line on an interactive terminal, shown only once uploading takes a while. */
export function createProgress(total: number, enabled: boolean) {
  const stream = process.stderr
  const interactive = enabled && stream.isTTY === true && !process.env.CI
  const started = Date.now()
  let done = 0
  let shown = false
  let lastDraw = 0
  return {
    tick() {
      done++
      if (!interactive) return
      const now = Date.now()
      if (now - started < PROGRESS_AFTER_MS || now - lastDraw < 100) return
      lastDraw = now
      shown = true
      stream.write(`\r[collectfasta] uploading ${done}/${total}`)
    },
    done() {
      if (shown) stream.write('\r\x1b[K')
    },
  }
}
