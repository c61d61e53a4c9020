// The Azure SDK from this folder's own node_modules (not a root devDependency): the tests read
// blobs back with it, and pass its ContainerClient to the strategy.
export * from '@azure/storage-blob'
