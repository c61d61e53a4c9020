import { runContract } from './contract.js'
import { type MemoryStrategy, type StoredObject, memory } from './memory.js'

const objects = new Map<string, StoredObject>()

runContract({
  name: 'in-memory test strategy',
  create: (prefix) => memory({ prefix, objects }),
  storesHeaders: true,
  honoursConditions: true,
  async readBack(strategy, key) {
    const object = (strategy as MemoryStrategy).objects.get(key)
    return object && { bytes: object.bytes, headers: object.headers }
  },
})
