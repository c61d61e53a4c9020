import { collectfasta } from './plugin.js'

export { collectfasta }
export default collectfasta
export { deploy, DeployError } from './deploy.js'
export type { DeployOptions, DeployReport, UploadReason } from './deploy.js'
export type { CollectfastaOptions, DeployCommonOptions } from './options.js'
export type { HeaderRule } from './headers.js'
export type { Logger } from './report.js'
export { defineStrategy } from './strategy.js'
export type { ObjectHeaders, RemoteObject, RequestKind, Strategy, StrategyContext, UploadFile } from './strategy.js'
