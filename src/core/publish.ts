import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { reportToGithubActions } from '../github-actions.js'
import { DeployError, type DeployReport, type Logger, errorText } from '../report.js'

/**
 * A run's report, published: its duration, the report file and the CI summary. A failure to
 * write them is a warning, never the run's outcome. Shared by deploy and rollback.
 */
export function publishReport(report: DeployReport, started: number, to: { reportFile: string | undefined; github: boolean; logger: Logger }): void {
  report.durationMs = Math.round(performance.now() - started)
  if (to.reportFile) {
    try {
      mkdirSync(dirname(to.reportFile), { recursive: true })
      writeFileSync(to.reportFile, `${JSON.stringify(report, null, 2)}\n`)
    } catch (error) {
      to.logger.warn(`[collectfasta] Could not write the report file ${to.reportFile}: ${errorText(error)}.`)
    }
  }
  if (to.github) reportToGithubActions(report, to.logger)
}

/** Runs `onDeployed` (CDN hooks) with the report of a run that succeeded; its failure says the run itself succeeded. */
export async function runOnDeployed(hook: ((report: DeployReport) => unknown) | undefined, report: DeployReport, run: 'deploy' | 'rollback'): Promise<void> {
  if (!hook) return
  try {
    await hook(report)
  } catch (error) {
    throw new Error(`[collectfasta] The ${run} succeeded, but \`onDeployed\` failed: ${errorText(error)}`, { cause: error })
  }
}

/**
 * A run stopped before its end by an error that is not a DeployError (bad input, refused
 * credentials, a missing bucket): the report still says why, in `failed` with the key '' (the run
 * as a whole), is published, and goes with the error.
 */
export function stoppedRun(error: unknown, report: DeployReport, publish: () => void): unknown {
  if (error instanceof DeployError) return error
  report.failed.push({ key: '', error: errorText(error) })
  publish()
  Object.assign(error as object, { report })
  return error
}
