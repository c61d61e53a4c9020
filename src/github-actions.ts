import { appendFileSync } from 'node:fs'
import { printable } from './paths.js'
import { type DeployReport, type Logger, formatBytes } from './report.js'

/** Whether to speak GitHub Actions: on its runners (GITHUB_ACTIONS=true), unless turned off. */
export function githubActionsEnabled(option: boolean | undefined): boolean {
  return (option ?? true) && process.env.GITHUB_ACTIONS === 'true'
}

/** Workflow-command escaping: a message may hold any text, and a line ends the command. */
function escapeData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A')
}

function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C')
}

/** Markdown-table cell: pipes and line ends would break the table. */
function cell(text: string): string {
  return printable(text.replaceAll(/\r?\n/g, ' ')).replaceAll('|', '\\|')
}

/**
 * A key as Markdown inline code: fenced with one backtick more than its longest run of them
 * (CommonMark), so a key holding backticks cannot end the code span and inject Markdown.
 */
function code(key: string): string {
  const text = printable(key).replaceAll('|', '\\|')
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

/** Keys listed in the step summary, at most: the report has them all. */
const LISTED = 20

/** The deploy as a Markdown section for $GITHUB_STEP_SUMMARY. */
export function stepSummary(report: DeployReport): string {
  const requests = Object.values(report.requests).reduce((a, b) => a + b, 0)
  const verb = report.dryRun ? 'would upload' : 'uploaded'
  const lines = [
    `### collectfasta: ${report.failed.length ? '❌' : '✅'} ${code(report.target)}${report.dryRun ? ' (dry run)' : ''}`,
    '',
    `| ${verb} | unchanged | ${report.dryRun ? 'would delete' : 'deleted'} | failed | held back | bytes | requests | time |`,
    '|---|---|---|---|---|---|---|---|',
    `| ${report.uploaded.length} | ${report.skipped.length} | ${report.deleted.length} | ${report.failed.length} | ${report.pending.length} | ${formatBytes(report.bytesUploaded)} | ${requests} | ${(report.durationMs / 1000).toFixed(2)} s |`,
  ]
  const rollback = report.rollback
  if (rollback) {
    const live = `release ${code(rollback.to)} ${report.dryRun ? 'would be' : 'is'} live again (was ${rollback.from ? code(rollback.from) : 'none'})`
    lines.push('', `**Rollback:** ${live}${rollback.id ? `, recorded as release ${code(rollback.id)}` : ''}.`)
  }
  if (report.uploaded.length) {
    lines.push('', `**${report.dryRun ? 'Would change' : 'Changed'}** (first ${Math.min(LISTED, report.uploaded.length)} of ${report.uploaded.length}):`, '')
    for (const u of report.uploaded.slice(0, LISTED)) lines.push(`- ${code(u.key)} (${u.reason})`)
  }
  if (report.failed.length) {
    lines.push('', `**Failed** (first ${Math.min(LISTED, report.failed.length)} of ${report.failed.length}):`, '', '| key | cause |', '|---|---|')
    for (const f of report.failed.slice(0, LISTED)) lines.push(`| ${code(f.key || '(the deploy)')} | ${cell(f.error)} |`)
  }
  if (report.pruneRefused) lines.push('', `**Prune refused:** ${cell(report.pruneRefused)}`)
  if (report.pruneFailed) lines.push('', `**Prune failed:** ${cell(report.pruneFailed)}`)
  return `${lines.join('\n')}\n\n`
}

/**
 * After a deploy on GitHub Actions: a section in the step summary, an `::error::` annotation per
 * failed key (at most 20; the summary counts the rest) and a `::warning::` for a prune refusal.
 */
export function reportToGithubActions(report: DeployReport, logger: Logger): void {
  const summaryFile = process.env.GITHUB_STEP_SUMMARY
  if (summaryFile) {
    try {
      appendFileSync(summaryFile, stepSummary(report))
    } catch (error) {
      logger.warn(`[collectfasta] Could not append to GITHUB_STEP_SUMMARY (${(error as Error).message}).`)
    }
  }
  for (const f of report.failed.slice(0, LISTED)) {
    logger.info(`::error title=${escapeProperty(`collectfasta: ${f.key || 'deploy'} failed`)}::${escapeData(`${f.key ? `${f.key}: ` : ''}${f.error}`)}`)
  }
  if (report.pruneRefused) logger.info(`::warning title=collectfasta prune refused::${escapeData(report.pruneRefused)}`)
  if (report.pruneFailed) logger.info(`::error title=collectfasta prune failed::${escapeData(report.pruneFailed)}`)
}

/**
 * Wraps the dry run's one-line-per-file output in a collapsible group. Each line is printed
 * through `printable`: a key can neither break it in two nor start a workflow command.
 */
export function group(title: string, lines: Iterable<string>, logger: Logger, enabled: boolean): void {
  if (enabled) logger.info(`::group::${escapeData(title)}`)
  for (const line of lines) logger.info(printable(line))
  if (enabled) logger.info('::endgroup::')
}
