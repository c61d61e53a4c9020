// The command line (dist/cli.js loads it).
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { cac } from 'cac'
import { findConfig, viteBuildDirs } from './config.js'
import { UsageError, strategyFor } from './targets.js'
import type { DeployOptions } from '../options.js'
import { redactUrl } from '../redact.js'
import type { Logger } from '../report.js'

/** Exit codes: a public contract. */
const EXIT_OK = 0
const EXIT_FAILED = 1
const EXIT_USAGE = 2

interface Flags {
  to?: string
  endpoint?: string
  config?: string
  mode: string
  dryRun?: boolean
  force?: boolean
  /** cac turns `--concurrency 8` into a number, and leaves `abc` a string. */
  concurrency?: string | number
  prune?: boolean
  report?: string
  cacheDir?: string
  json?: boolean
  quiet?: boolean
  verify?: boolean
  yes?: boolean
}

const cli = cac('collectfasta')

/** The options every command has: where the site is, and the config that may say it. */
function targetOptions<C extends ReturnType<typeof cli.command>>(command: C): C {
  return command
    .option('--to <url>', 'Target: s3://bucket/prefix, gs://bucket/prefix, azblob://account/container/prefix or file:///path (overrides the config)')
    .option('--endpoint <url>', 'S3-compatible endpoint for an s3:// target (R2, MinIO, ...), or the Blob service URL for an azblob:// one (Azurite, a sovereign cloud)')
    .option('--config <file>', 'Config file: collectfasta.config.* or a vite.config.* (default: found in the current folder)')
    .option('--mode <mode>', 'Vite mode, as `vite build --mode`', { default: 'production' })
}

targetOptions(cli.command('deploy [dir]', 'Deploy a built directory, uploading only what changed'))
  .option('--dry-run', 'Report what would be uploaded and deleted, and why; change nothing')
  .option('--force', 'Upload every file, whatever the cache and the storage say')
  .option('--concurrency <n>', 'Uploads in flight at once')
  .option('--prune', 'Delete objects the recent deploys no longer use (after a grace period)')
  .option('--report <file>', 'Write the JSON report to this file')
  .option('--cache-dir <dir>', 'Where the checksum cache lives (cache it between CI runs)')
  .option('--verify', 'Also list the storage and restore anything missing or different, headers included: everything `check` reports')
  .option('--json', 'Print the JSON report on stdout, and nothing else there')
  .option('--quiet', 'Print only warnings and errors')
  .example('collectfasta deploy dist --to s3://my-site/www')
  .example('collectfasta deploy --mode staging')
  .action(run)

targetOptions(cli.command('check [dir]', 'Compare a built directory with the storage (bytes and headers); exit 1 on any difference'))
  .option('--concurrency <n>', 'Requests in flight at once')
  .option('--json', 'Print the JSON report on stdout, and nothing else there')
  .option('--quiet', 'Print only the differences')
  .example('collectfasta check dist --to s3://my-site/www')
  .action(runCheck)

targetOptions(cli.command('remove', 'Take a site down: delete what this tool deployed at the target (its deploy manifest says what), and nothing else'))
  .option('--dry-run', 'List what would be deleted; delete nothing')
  .option('--yes', 'Delete without asking (needed where stdin is not a terminal, as in CI)')
  .option('--json', 'Print the JSON report on stdout, and nothing else there')
  .option('--quiet', 'Print only warnings and errors')
  .example('collectfasta remove --to s3://my-site/pr-42 --yes')
  .action(runRemove)

targetOptions(cli.command('rollback', 'Make a kept release live again, from the storage alone (no build, no cache)'))
  .option('--release <id>', 'The release to restore (`collectfasta releases` lists them)')
  .option('--steps <n>', 'How many releases back from the live one (default: 1)')
  .option('--dry-run', 'Print what would be copied and deleted; change nothing')
  .option('--report <file>', 'Write the JSON report to this file')
  .option('--json', 'Print the JSON report on stdout, and nothing else there')
  .option('--quiet', 'Print only warnings and errors')
  .example('collectfasta rollback --to s3://my-site/www')
  .example('collectfasta rollback --to s3://my-site/www --release 3f9c2a1b7d4e5f60')
  .action(runRollback)

targetOptions(cli.command('releases', 'List the kept releases, newest first, and whether each can be rolled back to'))
  .option('--json', 'Print the list as JSON')
  .example('collectfasta releases --to s3://my-site/www')
  .action(runReleases)

cli.help()
cli.version(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version)

// The deploy, the check and the directory rules are loaded by the command that runs them
// (`--version` and `--help` load none of them).
async function run(dir: string | undefined, flags: Flags): Promise<void> {
  const [{ deploy }, options] = await Promise.all([import('../core/deploy.js'), commandOptions(dir, flags)])
  const report = await deploy(options)
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
}

async function runCheck(dir: string | undefined, flags: Flags): Promise<void> {
  const [{ check }, options] = await Promise.all([import('../core/check.js'), commandOptions(dir, flags)])
  const report = await check(options)
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
}

interface ReleaseFlags extends Flags {
  release?: string | number
  steps?: string | number
}

/** A flag's value as typed (cac reads `0123` as the number 123: an id of digits keeps its zeros). */
function typed(flag: string, parsed: string | number): string {
  const argv = cli.rawArgs
  const at = argv.lastIndexOf(flag)
  const inline = argv.findLast((arg) => arg.startsWith(`${flag}=`))
  return inline?.slice(flag.length + 1) ?? (at >= 0 ? argv[at + 1] : undefined) ?? String(parsed)
}

async function runRollback(flags: ReleaseFlags): Promise<void> {
  if (flags.release !== undefined && flags.steps !== undefined) throw new UsageError('[collectfasta] Give --release or --steps, not both.')
  const [{ rollback }, { strategy, config, logger }] = await Promise.all([import('../core/rollback.js'), commandTarget(flags)])
  const manifest = typeof config.manifest === 'string' ? config.manifest : undefined
  const report = await rollback({
    strategy,
    logger,
    ...(flags.release !== undefined && { release: typed('--release', flags.release) }),
    ...(flags.steps !== undefined && { steps: wholeNumber('--steps', flags.steps) }),
    ...(flags.dryRun && { dryRun: true }),
    ...(flags.report && { reportFile: resolve(process.cwd(), flags.report) }),
    ...(manifest && { manifest }),
    ...(config.onDeployed && { onDeployed: config.onDeployed }),
    ...(config.githubActions !== undefined && { githubActions: config.githubActions }),
  })
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
}

async function runReleases(flags: Flags): Promise<void> {
  const [{ listReleases }, { strategy, config }] = await Promise.all([import('../core/releases.js'), commandTarget(flags)])
  const manifest = typeof config.manifest === 'string' ? config.manifest : undefined
  const releases = await listReleases({ strategy, ...(manifest && { manifest }) })
  if (flags.json) return void process.stdout.write(`${JSON.stringify(releases, null, 2)}\n`)
  for (const r of releases) {
    const from = [r.label, r.commit?.slice(0, 12), r.rollbackOf && `rollback to ${r.rollbackOf}`].filter(Boolean).join(' ')
    const size = r.files === undefined ? '' : ` ${r.files} files, ${r.bytes} bytes`
    const state = r.live ? 'live' : r.canRollBack ? 'can roll back' : `cannot roll back: ${r.why}`
    process.stdout.write(`${r.id || '(no id)'}  ${r.at}  ${from || '-'}${size}  ${state}\n`)
  }
}

async function runRemove(flags: Flags): Promise<void> {
  // Before any request: a script must say that it means it.
  if (!flags.dryRun && !flags.yes && !process.stdin.isTTY) {
    throw new UsageError('[collectfasta] remove deletes the site at the target, and cannot ask for confirmation here (stdin is not a terminal): add --yes, or --dry-run to see the list.')
  }
  const [{ remove }, target] = await Promise.all([import('../core/remove.js'), commandTarget(flags)])
  const { config, strategy, logger } = target
  if (config.manifest === false) throw new UsageError('[collectfasta] The config sets `manifest: false`: without a deploy manifest, what this tool deployed is unknown. Remove the objects yourself.')
  const report = await remove({ strategy, dryRun: flags.dryRun, manifest: config.manifest, logger, confirm: flags.yes ? undefined : confirm })
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  if (report.declined) throw new Error('[collectfasta] Not confirmed: nothing was deleted.')
}

/** Lists the keys on the terminal and asks; only "y" or "yes" deletes. */
async function confirm(keys: string[]): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises')
  const shown = keys.slice(0, 50).map((key) => `  delete  ${key}`)
  if (keys.length > shown.length) shown.push(`  … and ${keys.length - shown.length} more`)
  process.stderr.write(`${shown.join('\n')}\n`)
  const terminal = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return /^y(es)?$/i.test((await terminal.question(`Delete these ${keys.length} object(s)? [y/N] `)).trim())
  } finally {
    terminal.close()
  }
}

/** The target (from --to, or the config), the config and the logger of a command. */
async function commandTarget(flags: Flags) {
  const found = await findConfig(process.cwd(), { config: flags.config, mode: flags.mode })
  const config = found?.config ?? {}
  const strategy = flags.to ? await strategyFor(flags.to, flags.endpoint) : config.strategy
  if (flags.endpoint && !flags.to) throw new UsageError('[collectfasta] --endpoint goes with --to s3://bucket/prefix.')
  if (!strategy) {
    throw new UsageError(
      '[collectfasta] No target: pass --to s3://bucket/prefix (or gs://, file://), or add a collectfasta.config.ts, ' +
        'or a collectfasta() plugin to vite.config.*.',
    )
  }
  const logger: Logger = {
    info: (message) => {
      if (!flags.quiet) (flags.json ? process.stderr : process.stdout).write(`${message}\n`)
    },
    warn: (message) => process.stderr.write(`${message}\n`),
  }
  return { found, config, strategy, logger }
}

/** The options of a deploy (or check) from the flags, the config file and the directory. */
async function commandOptions(dir: string | undefined, flags: Flags): Promise<DeployOptions> {
  const cwd = process.cwd()
  const [{ manifestAssetsDir, publishedDir }, { found, config, strategy, logger }] = await Promise.all([import('./published-dir.js'), commandTarget(flags)])
  const concurrency = flags.concurrency === undefined ? config.concurrency : wholeNumber('--concurrency', flags.concurrency)
  const { dir: configDir, ...common } = config
  // A directory named (here or in collectfasta.config) is deployed as named; otherwise the one
  // this project's build publishes is looked for, never a server bundle.
  // A collectfasta.config without `dir` looks where vite.config's build.outDir says (read only then).
  const vite = dir === undefined && configDir === undefined && found && !found.dirFromVite ? await viteBuildDirs(cwd, flags.mode) : undefined
  const outDir =
    dir !== undefined
      ? resolve(cwd, dir)
      : configDir !== undefined && !found?.dirFromVite
        ? configDir
        : publishedDir(cwd, configDir ?? vite?.dir, logger.info)
  if (!existsSync(outDir)) throw new UsageError(`[collectfasta] The directory ${outDir} does not exist: build first, or name the directory to deploy.`)
  // Hashed files elsewhere than Vite's default folder are still cached for good, when the build's manifest says where.
  if (common.assetsDir === undefined && vite?.assetsDir !== undefined) common.assetsDir = vite.assetsDir
  const builtAssets = common.assetsDir === undefined ? manifestAssetsDir(outDir) : undefined
  if (builtAssets && builtAssets !== 'assets') logger.info(`[collectfasta] ${builtAssets}/: the build's hashed files (its .vite/manifest.json), cached for good.`)
  const options: DeployOptions = {
    ...common,
    strategy,
    outDir,
    ...(builtAssets && { assetsDir: builtAssets }),
    root: cwd,
    logger,
    handleSignals: true,
    progress: !flags.json && !flags.quiet,
    ...(flags.dryRun && { dryRun: true }),
    ...(flags.force && { force: true }),
    ...(concurrency !== undefined && { concurrency }),
    ...(flags.prune && { prune: config.prune || true }),
    ...(flags.report && { reportFile: flags.report }),
    ...(flags.cacheDir && { cacheDir: flags.cacheDir }),
    ...(flags.verify && { verify: true }),
  }
  return options
}

/** A flag's whole number ≥ 1, or a usage error that shows what was typed. */
function wholeNumber(flag: string, value: string | number | boolean): number {
  if (!/^\d+$/.test(String(value).trim()) || Number(value) < 1) {
    throw new UsageError(`[collectfasta] ${flag} expects a whole number ≥ 1, got ${JSON.stringify(String(value))}.`)
  }
  return Number(value)
}

/** The long flags of every command, for "did you mean". */
const FLAGS = cli.commands.flatMap((command) => command.options.map((option) => `--${option.rawName.replace(/^--|\s.*$/g, '')}`))

/** The flag nearest to a mistyped one (at most 2 edits away), if any. */
function nearestFlag(typed: string): string | undefined {
  const distance = (a: string, b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, i) => i)
    for (let i = 1; i <= a.length; i++) {
      const next = [i]
      for (let j = 1; j <= b.length; j++) next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
      row = next
    }
    return row[b.length] ?? Number.POSITIVE_INFINITY
  }
  const [best] = FLAGS.map((flag) => ({ flag, d: distance(typed, flag) })).sort((a, b) => a.d - b.d)
  return best && best.d <= 2 ? best.flag : undefined
}

/** cac's own messages (an unknown flag, a missing value) as our sentences, with the way out. */
function usageMessage(message: string, command = 'deploy'): string {
  const unknown = /^Unknown option `(--?[^`]+)`/.exec(message)
  const near = unknown?.[1] && nearestFlag(unknown[1])
  const hint = near ? `Did you mean ${near}? ` : ''
  return `[collectfasta] ${message.replace(/\.?$/, '.')} ${hint}Run \`collectfasta ${command} --help\` for every option.`
}

/**
 * Exit 2 is for what the user must change before anything can be tried: a flag, an option (our
 * TypeErrors, which all begin with `[collectfasta]`), a missing SDK to install. Anything else that
 * went wrong, a runtime TypeError included, is a failed deploy: 1.
 */
function isUsage(error: unknown): boolean {
  const e = error as Error & { code?: string }
  return (
    error instanceof UsageError ||
    e?.name === 'CACError' ||
    e?.code === 'ERR_COLLECTFASTA_MISSING_SDK' ||
    e?.code === 'ERR_COLLECTFASTA_REFUSED' ||
    (error instanceof TypeError && e.message.startsWith('[collectfasta]'))
  )
}

/** Runs the CLI; resolves with the exit code. Errors are printed as their sentence (with the stack under DEBUG). */
export async function main(argv = process.argv): Promise<number> {
  try {
    cli.parse(argv, { run: false })
    if (cli.options.help || cli.options.version) return EXIT_OK
    if (!cli.matchedCommand) {
      if (cli.args.length > 0) throw new UsageError(`[collectfasta] Unknown command ${JSON.stringify(cli.args[0])}. Run \`collectfasta --help\`.`)
      cli.outputHelp()
      return EXIT_USAGE
    }
    await cli.runMatchedCommand()
    return EXIT_OK
  } catch (error) {
    const e = error as Error
    const message = e?.name === 'CACError' ? usageMessage(e.message, cli.matchedCommand?.name) : (e?.message ?? String(error))
    // Credentials in a URL the user typed never reach the terminal, whatever raised the error.
    process.stderr.write(`${redactUrl(process.env.DEBUG && e?.stack ? e.stack : message)}\n`)
    // A deploy that failed still has its report (DeployError, or any error the deploy gave one).
    const report = (error as { report?: unknown })?.report
    if (cli.options.json && report !== undefined) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    return isUsage(error) ? EXIT_USAGE : EXIT_FAILED
  }
}

process.exitCode = await main()
