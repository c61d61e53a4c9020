export * from '@azure/storage-blob'
