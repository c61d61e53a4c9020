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
/**
 * `truncate`: half the answer, then the connection drops; `cutShort`: half the answer without a
 * length, then a clean close; `trickle`: the answer's body one byte every `trickleMs`;
 * `errorIn200`: a 200 whose body is S3's InternalError document (nothing forwarded).
 */
export type FaultKind = 'error500' | 'slowDown' | 'resetRequest' | 'resetResponse' | 'stall' | 'truncate' | 'cutShort' | 'trickle' | 'errorIn200'
export interface ProxyOptions {
  seed?: number
  rates?: Partial<Record<FaultKind, number>>
  maxFaults?: number
  stallMs?: number
  /** Milliseconds between the bytes of a `trickle` answer. @default 5000 */
  trickleMs?: number
  /** A fault for this request (or none), decided before `rates` are drawn: for faults aimed at one kind of request. */
  faultFor?: (request: RecordedRequest) => FaultKind | undefined
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
