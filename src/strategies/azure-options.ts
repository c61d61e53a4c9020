import { redactUrl } from '../redact.js'
import type { AzureCredential } from './azure-auth.js'
import type { ContainerClientLike } from './azure-sdk.js'

/** The Azure strategy's options, and their checks at config time. */

export interface AzureOptions {
  /** The storage account's name. Either this or `url`. */
  account?: string
  /**
   * The Blob service's URL instead of `account`: a sovereign cloud's, Azurite's
   * (`http://127.0.0.1:10000/devstoreaccount1`), or one carrying a SAS token in its query.
   * @default `https://${account}.blob.core.windows.net`
   */
  url?: string
  /** The container to deploy into; `$web` is a static website's. */
  container: string
  /**
   * Blob name prefix (a "folder") for every blob. `static`, `/static` and `static/` are the same.
   * @default ''
   */
  prefix?: string
  /**
   * A credential of @azure/identity (any `TokenCredential`), a `StorageSharedKeyCredential` or an
   * `AzureSasCredential`.
   * @default an account key, SAS token or connection string from the options or the environment
   * (AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN), else
   * `DefaultAzureCredential` of @azure/identity
   */
  credential?: AzureCredential
  /** The account's access key (base64). @default AZURE_STORAGE_KEY */
  accountKey?: string
  /** A SAS token (`sv=…&sig=…`) with read, write, delete and list permissions on the container. @default AZURE_STORAGE_SAS_TOKEN */
  sasToken?: string
  /** A connection string from the account's "Access keys" page. @default AZURE_STORAGE_CONNECTION_STRING */
  connectionString?: string
  /**
   * A ready `ContainerClient` of @azure/storage-blob: its credentials, pipeline and retries are
   * its own, and every request goes through it. `account`, `url`, `container` and credentials are then not needed.
   */
  client?: ContainerClientLike
  /**
   * Files of this many bytes or more are uploaded in blocks (Put Block, then Put Block List);
   * smaller ones in one Put Blob.
   * @default 8 MiB
   */
  blockThreshold?: number
  /**
   * Bytes per block; a file of more than 50,000 blocks gets larger ones.
   * @default 8 MiB
   */
  blockSize?: number
  /** Blocks of one file in flight at once. @default 4 */
  blockConcurrency?: number
  /**
   * Attempts per request, including the first, on a network error, a timeout, a 5xx or a 429.
   * With a `client`, the client retries, and a read ends within `maxAttempts` × `timeout`.
   * @default 3
   */
  maxAttempts?: number
  /**
   * Milliseconds without progress before a small request (list, properties, download, delete, a
   * Put Blob) is abandoned and retried; the whole request may take this plus 4 s per MiB over
   * 1 MiB of its body, sent or answered.
   * @default 10000
   */
  timeout?: number
  /** Milliseconds without progress for one block or the block list (in place of `timeout`). @default 120000 */
  requestTimeout?: number
  /**
   * Uploads in flight at once with this strategy, when the plugin's (or `deploy()`'s) own
   * `concurrency` is not set: that one, when set, wins.
   * @default the plugin's concurrency (64)
   */
  concurrency?: number
}

const ACCOUNT = /^[a-z0-9]{3,24}$/
const CONTAINER = /^(?:\$web|\$root|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$/

export function validate(options: AzureOptions): void {
  const fail = (message: string): never => {
    throw new TypeError(`[collectfasta] [azure] ${message}`)
  }
  if (typeof options !== 'object' || options === null) fail(`Expected options like \`{ account: 'mysite', container: '$web' }\`, got ${String(options)}.`)
  const { account, container, client } = options
  if (!client && (typeof container !== 'string' || container === '')) {
    fail("Missing required option `container`: the container to deploy into, e.g. `azure({ account: 'mysite', container: '$web' })`.")
  }
  if (!client && !CONTAINER.test(container)) {
    fail(`The container name ${JSON.stringify(container)} is not one Azure allows: 3 to 63 lowercase letters, digits and single hyphens, or \`$web\`. Put a folder in \`prefix\`.`)
  }
  if (account !== undefined && !ACCOUNT.test(account)) fail(`The account name ${JSON.stringify(account)} is not one Azure allows: 3 to 24 lowercase letters and digits.`)
  if (!client && account === undefined && options.url === undefined && !options.connectionString && !process.env.AZURE_STORAGE_CONNECTION_STRING) {
    fail("Missing required option `account` (or `url`): the storage account to deploy into, e.g. `azure({ account: 'mysite', container: '$web' })`.")
  }
  if (options.url !== undefined && !URL.canParse(options.url)) fail(`\`url\` ${JSON.stringify(redactUrl(options.url.split('?')[0] as string))} is not a URL: use https://ACCOUNT.blob.core.windows.net.`)
  for (const name of ['blockThreshold', 'blockSize', 'blockConcurrency', 'maxAttempts', 'timeout', 'requestTimeout', 'concurrency'] as const) {
    const value = options[name]
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) fail(`Expected \`${name}\` to be an integer ≥ 1, got ${String(value)}.`)
  }
}

