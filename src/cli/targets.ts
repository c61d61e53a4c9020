import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isDotSegment, prefixProblem } from '../paths.js'
import { redactUrl } from '../redact.js'
import type { Strategy } from '../strategy.js'

/** A usage mistake: the CLI prints the message and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/**
 * The strategy for a `--to` URL: `s3://bucket/prefix`, `gs://bucket/prefix`,
 * `azblob://account/container/prefix` (or `az://`) or `file:///srv/www`. Credentials come from
 * each SDK's default chain (Azure: a connection string, key or SAS token in the environment, else
 * DefaultAzureCredential); `endpoint` points S3 at a compatible service (with path-style URLs,
 * which most of them need), and Azure at Azurite or a sovereign cloud's Blob service.
 */
export async function strategyFor(to: string, endpoint?: string): Promise<Strategy> {
  // A URL parser drops whitespace around the URL, a path keeps it: `" file:./www"` would be
  // parsed as file:./www (`/www`, at the filesystem root). Neither reading is safe to guess.
  if (to !== to.trim()) {
    throw new UsageError(`[collectfasta] --to ${JSON.stringify(redactUrl(to))} has whitespace around it (a quoting slip?): remove it, e.g. --to ${JSON.stringify(redactUrl(to.trim()))}.`)
  }
  // `file:` alone would be the filesystem root, whose writes fail with an [fs] error.
  if (/^file:\/*$/i.test(to)) {
    throw new UsageError(`[collectfasta] --to ${JSON.stringify(to)} names no directory: use file:///absolute/path, or file:./www for a path relative to this folder.`)
  }
  // The shell expands `~` only at the start of a word, never inside a URL: `file:~/x` would be a
  // folder named `~` in the current one (`file:///~/x`, one at the filesystem root).
  const tilde = /^file:(?:\/\/\/?)?~(?:\/(.*))?$/i.exec(to)
  if (tilde) {
    const rest = tilde[1] ?? ''
    throw new UsageError(
      `[collectfasta] --to ${JSON.stringify(to)} starts with ~, which the shell does not expand inside a URL: use file:///home/you${rest ? `/${rest}` : ''}, or file:./${rest || 'www'} for a path relative to this folder.`,
    )
  }
  if (/^file:/i.test(to)) refuseFileUrlResolution(to)
  // `file:out`, `file:./out`, `file:../out`: a path relative to the current folder. As a URL it
  // would be `file:///out`, a folder at the filesystem root.
  const relativeFile = /^file:(?!\/)(.+)$/i.exec(to)
  if (relativeFile) {
    if (endpoint !== undefined) throw new UsageError(ENDPOINT_SCHEMES)
    const { filesystem } = await import('../strategies/filesystem.js')
    return filesystem({ dir: resolve(process.cwd(), relativeFile[1] as string) })
  }
  let url: URL
  // Printed only without credentials (s3://KEY:SECRET@bucket would otherwise be shown whole).
  const shown = JSON.stringify(redactUrl(to))
  try {
    url = new URL(to)
  } catch {
    throw new UsageError(`[collectfasta] --to ${shown} is not a URL: use s3://bucket/prefix, gs://bucket/prefix, azblob://account/container/prefix or file:///path/to/dir.`)
  }
  if (url.username || url.password) {
    throw new UsageError(
      `[collectfasta] --to ${shown} carries credentials, which a command line would leave in the shell's history and the process list: ` +
        'remove them; the SDKs read them from the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_CONNECTION_STRING) or a profile.',
    )
  }
  if ((url.protocol === 's3:' || url.protocol === 'gs:') && url.hostname === '') {
    throw new UsageError(`[collectfasta] --to ${shown} names no bucket: use --to ${url.protocol}//my-bucket or --to ${url.protocol}//my-bucket/prefix.`)
  }
  const azure = url.protocol === 'azblob:' || url.protocol === 'az:'
  if (endpoint !== undefined && url.protocol !== 's3:' && !azure) throw new UsageError(ENDPOINT_SCHEMES)
  // Azure's path is the container (`$web` among them), then the prefix: one rule for both.
  const path = url.protocol === 's3:' || url.protocol === 'gs:' || azure ? bucketPrefix(to, url.protocol) : ''
  const [container = '', ...folders] = azure ? path.split('/') : []
  const prefix = azure ? folders.join('/') : path
  switch (url.protocol) {
    case 's3:': {
      const { s3 } = await import('../strategies/s3.js')
      return s3({ bucket: url.hostname, prefix, endpoint, forcePathStyle: endpoint !== undefined ? true : undefined })
    }
    case 'gs:': {
      const { gcs } = await import('../strategies/gcs.js')
      return gcs({ bucket: url.hostname, prefix })
    }
    case 'azblob:':
    case 'az:': {
      if (url.hostname === '' || !container) {
        throw new UsageError(`[collectfasta] --to ${shown} names no ${url.hostname === '' ? 'storage account' : 'container'}: use --to '${url.protocol}//my-account/$web' or --to ${url.protocol}//my-account/my-container/prefix.`)
      }
      const { azure: azureStrategy } = await import('../strategies/azure.js')
      return azureStrategy({ account: url.hostname, container, prefix, url: endpoint })
    }
    case 'file:': {
      // `file://out` names a host, `out`, not a folder: Node would only say the host is wrong.
      if (url.hostname !== '' && url.hostname !== 'localhost') {
        throw new UsageError(
          `[collectfasta] --to ${JSON.stringify(to)} names the host \`${url.hostname}\`, not a directory: use file:///absolute/path, or file:./${url.hostname}${url.pathname === '/' ? '' : url.pathname} for a path relative to this folder.`,
        )
      }
      const { filesystem } = await import('../strategies/filesystem.js')
      return filesystem({ dir: fileURLToPath(url) })
    }
    default:
      throw new UsageError(`[collectfasta] --to ${shown}: unknown scheme ${url.protocol} Use s3://, gs://, azblob:// or file://.`)
  }
}

const ENDPOINT_SCHEMES = '[collectfasta] --endpoint applies to s3:// and azblob:// targets only.'

/**
 * The prefix of `s3://bucket/prefix` (or any bucket scheme's URL), read from the raw string: a
 * URL parser would resolve `..`, `%2e%2e` and `//` and cut `?…` and `#…` off without a word, and
 * so pick another folder than the one written. What `prefixProblem` finds, in the URL as written
 * or once decoded, is a UsageError (exit 2).
 */
export function bucketPrefix(to: string, scheme: string): string {
  // What follows `scheme://bucket`: the bucket ends at the first `/`, `?` or `#`.
  const rest = to.slice(scheme.length + 2).replace(/^[^/?#]*/, '')
  const refuse = (problem: string) =>
    new UsageError(`[collectfasta] --to ${JSON.stringify(redactUrl(to))} has a prefix that is not a plain path: ${problem}. Name the folder plainly, e.g. --to ${scheme}//my-bucket/site/.`)
  if (rest === '' || rest === '/') return ''
  let problem = prefixProblem(rest)
  if (problem) throw refuse(problem)
  let decoded: string
  try {
    decoded = decodeURIComponent(rest)
  } catch {
    throw refuse('it has a `%` that starts no valid escape (write `%25` for a literal `%`)')
  }
  problem = prefixProblem(decoded)
  if (problem) throw refuse(`once decoded, ${problem}`)
  return decoded.slice(1)
}

/**
 * A `file:` URL is a directory path: `..` works as in a shell (`file:../www`). What a URL parser
 * would silently change is refused: a `?` or `#` it would cut off, a `%2e` segment it would
 * resolve as a dot.
 */
function refuseFileUrlResolution(to: string): void {
  const problem = /[?#]/.test(to)
    ? 'it contains `?` or `#`, which a URL would cut off as a query or fragment'
    : to.split('/').some((segment) => /%2e/i.test(segment) && isDotSegment(segment))
      ? 'it has a percent-encoded dot segment (`%2e`), which a URL would resolve as `.` or `..`'
      : undefined
  if (problem) throw new UsageError(`[collectfasta] --to ${JSON.stringify(redactUrl(to))} is not a plain directory: ${problem}. Write the path plainly, e.g. file:///srv/www or file:./www.`)
}
