import { deploy } from '../core/deploy.js'
import type { DeployCommonOptions } from '../options.js'
import { SiteRefusal } from '../site/guard.js'
import { validateOptions } from '../validate.js'
import { projectRoot, resolveEnabled } from '../resolve.js'
import { type DeployReport, DeployError, type Logger, consoleLogger } from '../report.js'

/** Options of every framework integration: those of the plugin that apply to a finished site. */
export interface FrameworkOptions extends DeployCommonOptions {
  /**
   * Turn the deploy off. `COLLECTFASTA_ENABLED=false` (or `0`) also turns it off.
   * @default true
   */
  enabled?: boolean
}

/** Where a framework left its final output, and what it calls its hashed assets folder. */
export interface FinalOutput {
  /** The framework, for messages. */
  framework: string
  /** The directory the framework publishes, absolute. */
  outDir: string
  /** The folder (relative to outDir) whose files carry a content hash: cached for good. */
  assetsDir: string
  /** Where the framework's config lives; the project root is the nearest folder with a package.json. */
  configRoot: string
  logger?: Logger
}

/** Checks a framework integration's options once, where the user wrote them. */
export function checkFrameworkOptions(options: FrameworkOptions): boolean {
  validateOptions(options)
  return resolveEnabled(options.enabled)
}

/**
 * Deploys a framework's finished output with the same core as the plugin. The summary goes to
 * the console even where the framework quiets Vite's logger; a failed deploy fails the build
 * with its one-sentence message (the report is on the error).
 */
export async function deployFinalOutput(options: FrameworkOptions, output: FinalOutput): Promise<DeployReport> {
  const { enabled: _enabled, ...common } = options
  const logger = output.logger ?? consoleLogger
  try {
    return await deploy({
      ...common,
      outDir: output.outDir,
      assetsDir: output.assetsDir,
      root: projectRoot(output.configRoot),
      logger,
      handleSignals: true,
    })
  } catch (error) {
    // The site model's refusal is the same sentence in every door; a deploy's failure is its own.
    if (error instanceof DeployError || error instanceof SiteRefusal) throw error
    // Another error gets where it happened inside its one sentence, not after it as a second one.
    const message = (error as Error).message.replace(/\.?$/, ` (while deploying the ${output.framework} build).`)
    throw new Error(message, { cause: error })
  }
}
