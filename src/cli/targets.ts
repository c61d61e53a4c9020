import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
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
  // Azure's first path segment is the container (`$web` among them); the rest is the prefix.
  const container = azure ? /^\/+([^/]*)/.exec(url.pathname)?.[1] : undefined
  const prefix = prefixOf(azure ? url.pathname.replace(/^\/+[^/]*/, '') : url.pathname)
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
      return azureStrategy({ account: url.hostname, container: decodeURIComponent(container), prefix, url: endpoint })
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

/** The prefix a target URL's path names (after the bucket, or the Azure container). */
function prefixOf(pathname: string): string {
  return decodeURIComponent(pathname.replace(/^\/+/, ''))
}
