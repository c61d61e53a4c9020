import { collectfasta } from './plugin.js'

export { collectfasta }
export default collectfasta
export { deploy, DeployError } from './deploy.js'
export type { DeleteReason, DeployOptions, DeployReport, PlanItem, UploadReason } from './deploy.js'
export type { CollectfastaOptions, DeployCommonOptions, PruneOptions } from './options.js'
export type { CompressOptions } from './compress.js'
export type { HeaderRule } from './headers.js'
export type { Logger } from './report.js'
export { defineStrategy } from './strategy.js'
export type { ObjectHeaders, RemoteObject, RequestKind, Strategy, StrategyContext, UploadFile } from './strategy.js'
