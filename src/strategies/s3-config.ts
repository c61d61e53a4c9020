import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import type { CredentialsProvider, S3Credentials } from './s3-transport.js'

const PROVIDER = '@aws-sdk/credential-provider-node'

/**
 * Imports the AWS SDK's default credential chain (environment, shared config and SSO, web
 * identity, ECS and EC2 metadata). It comes with `@aws-sdk/client-s3`, so a project that
 * installed the SDK for an earlier version keeps working even where the package manager does
 * not hoist it (pnpm): it is then found next to the SDK.
 */
async function importProvider(): Promise<typeof import('@aws-sdk/credential-provider-node')> {
  try {
    return await import('@aws-sdk/credential-provider-node')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error
  }
  try {
    const sdk = createRequire(import.meta.url).resolve('@aws-sdk/client-s3')
    return (await import(pathToFileURL(createRequire(sdk).resolve(PROVIDER)).href)) as typeof import('@aws-sdk/credential-provider-node')
  } catch {
    // Named as the SDK names a missing credential: the strategy's explanation adds where to set them.
    throw Object.assign(new Error(`cannot import \`${PROVIDER}\` (the AWS credential chain): install it with \`npm i -D ${PROVIDER}\`, or pass \`credentials\``), { name: 'CredentialsProviderError' })
  }
}

/** Where the credential chain's own modules are, to load the SDK's config files the same way. */
function requireNextToProvider(): NodeRequire {
  const here = createRequire(import.meta.url)
  try {
    return createRequire(here.resolve(PROVIDER))
  } catch {
    return createRequire(createRequire(here.resolve('@aws-sdk/client-s3')).resolve(PROVIDER))
  }
}

export type CredentialsOption = S3Credentials | ((options?: { forceRefresh?: boolean }) => Promise<S3Credentials>)

/**
 * Credentials set in the environment, read as the SDK's chain reads them first: a key id and a
 * secret (and a session token, an expiry), unless `AWS_PROFILE` names a profile, which the SDK
 * then prefers. Read here, the chain (≈ 100 packages) is not loaded, nor needed installed.
 */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): S3Credentials | undefined {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken, AWS_CREDENTIAL_EXPIRATION: expires } = env
  if (!accessKeyId || !secretAccessKey || env.AWS_PROFILE) return undefined
  const credentials: S3Credentials = { accessKeyId, secretAccessKey }
  if (sessionToken) credentials.sessionToken = sessionToken
  if (expires && !Number.isNaN(Date.parse(expires))) credentials.expiration = new Date(expires)
  return credentials
}

/** Credentials as given, from the environment, or the SDK's default chain (memoised by the SDK, refreshed when they expire). */
export function credentialsProvider(given: CredentialsOption | undefined): CredentialsProvider {
  if (typeof given === 'function') return given
  if (given) return async () => given
  let chain: CredentialsProvider | undefined
  return async (options) => {
    // Read at each call, as the chain would: the environment is the process's to change.
    const fromEnvironment = environmentCredentials()
    if (fromEnvironment) return fromEnvironment
    if (!chain) {
      const { defaultProvider } = await importProvider()
      chain = defaultProvider() as CredentialsProvider
    }
    return chain(options)
  }
}

/**
 * The region the SDK would pick: AWS_REGION, then the profile's `region` in the shared config
 * files (AWS_PROFILE, AWS_CONFIG_FILE). Loaded only when no `region` is given.
 */
export async function defaultRegion(): Promise<string> {
  if (process.env.AWS_REGION) return process.env.AWS_REGION
  let region: string | undefined
  try {
    const config = requireNextToProvider()('@smithy/core/config') as typeof import('@smithy/core/config')
    region = await config.loadConfig(config.NODE_REGION_CONFIG_OPTIONS, config.NODE_REGION_CONFIG_FILE_OPTIONS)()
  } catch {
    region = undefined
  }
  if (!region) throw new Error('Region is missing: neither AWS_REGION nor the profile in the shared config files sets one')
  return region
}
