import { inject } from 'vitest'
import { type AzureOptions, azure } from '../../src/strategies/azure.js'
import { type ContainerClient, StorageSharedKeyCredential, BlobServiceClient } from '../servers/azurite/sdk.mjs'
import type { ReadBack } from './contract.js'

import { AZURE_CONTAINER, AZURITE_ACCOUNT, AZURITE_KEY } from './azurite-account.js'

export { AZURE_CONTAINER, AZURITE_ACCOUNT, AZURITE_KEY }

/** An independent client of the Azure SDK for Azurite (the global setup created the tests' containers). */
const clients = new Map<string, Promise<ContainerClient>>()
export function azuriteContainer(container = AZURE_CONTAINER, endpoint = inject('azuriteEndpoint')): Promise<ContainerClient> {
  const id = `${endpoint} ${container}`
  let client = clients.get(id)
  if (!client) {
    client = (async () => {
      const service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY))
      const c = service.getContainerClient(container)
      if (container !== AZURE_CONTAINER && container !== '$web') await c.createIfNotExists()
      return c
    })()
    clients.set(id, client)
  }
  return client
}

/** The strategy on Azurite, on the lean path. */
export function azuriteStrategy(prefix: string, extra: Partial<AzureOptions> = {}, endpoint = inject('azuriteEndpoint')) {
  return azure({ url: endpoint, accountKey: AZURITE_KEY, container: AZURE_CONTAINER, prefix, ...extra })
}

/** A blob's bytes and properties, read by the SDK (not by the strategy under test). */
export async function readBackAzure(key: string, container = AZURE_CONTAINER): Promise<ReadBack | undefined> {
  const blob = (await azuriteContainer(container)).getBlockBlobClient(key)
  try {
    const bytes = await blob.downloadToBuffer()
    const p = await blob.getProperties()
    return { bytes, headers: { contentType: p.contentType, cacheControl: p.cacheControl, contentEncoding: p.contentEncoding, metadata: p.metadata } }
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined
    throw error
  }
}
