import { DEFAULTS } from '../defaults.js'
import type { AzureAuth } from './azure-transport.js'
import { importSdk } from './utils.js'

/**
 * Where the Blob service is and how requests are authorised, the Azure way: an account key, a
 * SAS token, a token credential (`DefaultAzureCredential` of @azure/identity when nothing else
 * is given: environment, workload identity, managed identity, `az login`, and the federated
 * token of `azure/login` in GitHub Actions), or a connection string.
 */

/** @azure/core-auth's `TokenCredential`: what `DefaultAzureCredential` and every @azure/identity credential are. */
export interface TokenCredential {
  getToken(scopes: string | string[], options?: object): Promise<{ token: string; expiresOnTimestamp: number } | null>
}

/** @azure/storage-blob's `StorageSharedKeyCredential` (an account name and key). */
export interface SharedKeyCredentialLike {
  readonly accountName: string
  readonly accountKey: Buffer | string
}

/** @azure/core-auth's `AzureSasCredential` (a SAS token). */
export interface SasCredentialLike {
  readonly signature: string
}

export type AzureCredential = TokenCredential | SharedKeyCredentialLike | SasCredentialLike

export interface AuthInput {
  account?: string
  url?: string
  credential?: AzureCredential
  accountKey?: string
  sasToken?: string
  connectionString?: string
}

export interface Resolved {
  /** The Blob service's URL, no query: `https://ACCOUNT.blob.core.windows.net`, Azurite's `http://127.0.0.1:10000/devstoreaccount1`. */
  service: string
  account: string
  /** Builds the authorisation (loading @azure/identity only when it is needed). */
  auth(): Promise<AzureAuth>
}

const SCOPE = 'https://storage.azure.com/.default'

const fail = (message: string): never => {
  throw new TypeError(`[collectfasta] [azure] ${message}`)
}

/** `Key=Value;…` of a connection string; the values keep any '=' they hold (keys, SAS tokens do). */
export function parseConnectionString(text: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null)
  for (const part of text.split(';')) {
    const at = part.indexOf('=')
    if (at > 0) fields[part.slice(0, at).trim().toLowerCase()] = part.slice(at + 1).trim()
  }
  return fields
}

/** The account a service URL names: the host's first label on Azure, the path's first segment on Azurite and IP hosts. */
export function accountOf(service: URL): string | undefined {
  if (/^[\d.]+$|^\[|^localhost$/.test(service.hostname)) return service.pathname.split('/')[1] || undefined
  return service.hostname.split('.')[0]
}

const sasOf = (text: string) => text.replace(/^\?/, '')

/** A token credential's tokens, kept until two minutes before they expire; one request at a time. */
function tokens(credential: TokenCredential): () => Promise<string> {
  let held: { token: string; expires: number } | undefined
  let pending: Promise<string> | undefined
  return () => {
    if (held && held.expires - Date.now() > DEFAULTS.azure.tokenRefreshMargin) return Promise.resolve(held.token)
    pending ??= credential.getToken(SCOPE).then(
      (answer) => {
        pending = undefined
        if (!answer?.token) throw new Error('[collectfasta] [azure] The Azure credential gave no token for Blob Storage: check `az login`, AZURE_CLIENT_ID / AZURE_TENANT_ID, or the azure/login step.')
        held = { token: answer.token, expires: answer.expiresOnTimestamp }
        return answer.token
      },
      (error: unknown) => {
        pending = undefined
        throw error
      },
    )
    return pending
  }
}

export function resolveAuth(input: AuthInput, env: NodeJS.ProcessEnv = process.env): Resolved {
  const explicit = input.credential ?? input.accountKey ?? input.sasToken ?? input.connectionString
  const connection = input.connectionString ?? (explicit === undefined ? env.AZURE_STORAGE_CONNECTION_STRING : undefined)
  if (connection) {
    const fields = parseConnectionString(connection)
    const name = fields.accountname
    if (input.account && name && input.account !== name) {
      fail(`The connection string is for the account \`${name}\`, not \`${input.account}\`: use that account's connection string, or unset AZURE_STORAGE_CONNECTION_STRING.`)
    }
    const account = name ?? input.account
    const endpoint = fields.blobendpoint ?? (account && `${fields.defaultendpointsprotocol ?? 'https'}://${account}.blob.${fields.endpointsuffix ?? 'core.windows.net'}`)
    if (!endpoint) fail('The connection string names no account (AccountName=…) and no BlobEndpoint=…: copy it whole from the storage account\'s "Access keys" page.')
    const service = (input.url ?? endpoint) as string
    const accountName = account ?? accountOf(new URL(service))
    if (!accountName) fail('The connection string names no account (AccountName=…): copy it whole from the storage account\'s "Access keys" page.')
    const key = fields.accountkey
    const sas = fields.sharedaccesssignature
    if (!key && !sas) fail('The connection string has neither AccountKey=… nor SharedAccessSignature=…: copy it whole from the storage account\'s "Access keys" page.')
    const auth: AzureAuth = key ? { kind: 'key', account: accountName as string, key: Buffer.from(key, 'base64') } : { kind: 'sas', query: sasOf(sas as string) }
    return { service: stripQuery(service), account: accountName as string, auth: async () => auth }
  }

  const url = input.url === undefined ? undefined : new URL(input.url)
  const account = input.account ?? (url && accountOf(url))
  if (!account) fail('Missing required option `account` (or `url`): the storage account to deploy into, e.g. `azure({ account: \'mysite\', container: \'$web\' })`.')
  const service = url ? stripQuery(input.url as string) : `https://${account}.blob.core.windows.net`
  const sasInUrl = url?.search ? sasOf(url.search) : undefined
  const credential = input.credential
  const sharedKey = credential && 'accountKey' in credential ? credential : undefined
  const key = input.accountKey ?? sharedKey?.accountKey ?? (explicit === undefined && !sasInUrl ? env.AZURE_STORAGE_KEY : undefined)
  if (key !== undefined) {
    const auth: AzureAuth = { kind: 'key', account: sharedKey?.accountName ?? (account as string), key: Buffer.isBuffer(key) ? key : Buffer.from(key, 'base64') }
    return { service, account: account as string, auth: async () => auth }
  }
  const sas = input.sasToken ?? (credential && 'signature' in credential ? credential.signature : undefined) ?? sasInUrl ?? (explicit === undefined ? env.AZURE_STORAGE_SAS_TOKEN : undefined)
  if (sas !== undefined) return { service, account: account as string, auth: async () => ({ kind: 'sas', query: sasOf(sas) }) }
  const given = credential && 'getToken' in credential ? credential : undefined
  return {
    service,
    account: account as string,
    async auth() {
      // A variable name: this package builds without @azure/identity installed.
      const identity = '@azure/identity'
      const tokenCredential = given ?? new (await importSdk<{ DefaultAzureCredential: new () => TokenCredential }>(identity, () => import(identity))).DefaultAzureCredential()
      return { kind: 'token', token: tokens(tokenCredential) }
    },
  }
}

/** A URL without its query (a SAS token) and trailing slash: what is shown and signed against. */
function stripQuery(url: string): string {
  const parsed = new URL(url)
  parsed.search = ''
  parsed.hash = ''
  return parsed.href.replace(/\/$/, '')
}
