import { describe } from 'vitest'
import { azure } from '../../src/strategies/azure.js'
import { BlobServiceClient } from '../servers/azurite/sdk.mjs'
import { runContract } from './contract.js'

// Live Azure Blob Storage: runs only with a connection string and a container meant for tests.
const container = process.env.COLLECTFASTA_TEST_AZURE_CONTAINER
const connectionString = process.env.AZURE_STORAGE_CONNECTION_STRING
const live = Boolean(container && connectionString && !connectionString.includes('127.0.0.1'))

describe.skipIf(!live)('live Azure Blob Storage (set AZURE_STORAGE_CONNECTION_STRING and COLLECTFASTA_TEST_AZURE_CONTAINER)', () => {
  runContract({
    name: `azure on live container ${container}`,
    create: (prefix) => azure({ container: container!, prefix }),
    storesHeaders: true,
    honoursConditions: true,
    async readBack(_strategy, key) {
      const blob = BlobServiceClient.fromConnectionString(connectionString!).getContainerClient(container!).getBlockBlobClient(key)
      try {
        const [bytes, p] = await Promise.all([blob.downloadToBuffer(), blob.getProperties()])
        return { bytes, headers: { contentType: p.contentType, cacheControl: p.cacheControl, metadata: p.metadata } }
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined
        throw error
      }
    },
  })
})
