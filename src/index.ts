import { collectfasta } from './plugin.js'

export { collectfasta }
export default collectfasta
export { deploy } from './core/deploy.js'
export { DriftError, check } from './core/check.js'
export { RollbackRefusal, rollback } from './core/rollback.js'
export type { RollbackOptions, RollbackReport } from './core/rollback.js'
export { listReleases } from './core/releases.js'
export type { ReleaseInfo } from './core/releases.js'
export type { CheckReport } from './core/check.js'
export { RemoveRefused, remove } from './core/remove.js'
export type { RemoveOptions, RemoveReport } from './core/remove.js'
export { DeployError } from './report.js'
export type { DeleteReason, DeployReport, Logger, PlanItem, UploadReason } from './report.js'
export type { CollectfastaOptions, DeployCommonOptions, DeployOptions, PruneOptions } from './options.js'
export type { CompressOptions } from './core/compress.js'
export type { HeaderRule } from './core/headers.js'
export { normalizePrefix } from './paths.js'
export { defineStrategy, isConflict, isThrottle, storageConflict, storageError } from './strategy.js'
export type {
  ObjectHeaders,
  RemoteObject,
  RequestKind,
  StoredHeaders,
  Strategy,
  StrategyContext,
  StrategyWith,
  UploadFile,
} from './strategy.js'
export type { CollectfastaApi } from './plugin.js'
export { defineConfig } from './cli/config.js'
export type { CollectfastaConfig, ConfigExport } from './cli/config.js'
