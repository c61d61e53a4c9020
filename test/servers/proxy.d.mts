export type RequestKind = 'LIST' | 'HEAD' | 'GET' | 'PUT' | 'DELETE'
export interface RecordedRequest {
  method: string
  path: string
  /** The query string, as sent (without '?'). */
  query: string
  headers: Record<string, string | string[] | undefined>
  kind: RequestKind
  bytes: number
  /** Requests in flight when this one arrived (itself included). */
  inFlight: number
  fault?: FaultKind
}
export type FaultKind = 'error500' | 'slowDown' | 'resetRequest' | 'resetResponse' | 'stall' | 'truncate'
export interface ProxyOptions {
  seed?: number
  rates?: Partial<Record<FaultKind, number>>
  maxFaults?: number
  stallMs?: number
  throttleAbove?: number
  /** Uploads whose URL (path and query, decoded) matches fail with a 500 on every attempt while faults are on. */
  failPaths?: RegExp
  latencyMs?: number
  /** A wide-area link: every chunk each way (heads included) arrives this many ms later, in order. */
  oneWayMs?: number
  onRequest?: (request: RecordedRequest) => void
  /** Emulate S3's answers to conditional writes (If-Match / If-None-Match), which the local servers ignore. */
  conditionalWrites?: boolean
}
export interface RecordingProxy {
  url: string
  requests: RecordedRequest[]
  faults: { count: number; byKind: Partial<Record<FaultKind, number>> }
  setFaults(on: boolean): void
  reset(): void
  summary(): Record<RequestKind | 'bytes', number>
  close(): Promise<void>
}
export function kindOf(method: string, url: string): RequestKind
export function recordingProxy(target: string, options?: ProxyOptions): Promise<RecordingProxy>
