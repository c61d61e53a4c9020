export type RequestKind = 'LIST' | 'HEAD' | 'GET' | 'PUT' | 'DELETE'
export interface RecordedRequest {
  method: string
  path: string
  kind: RequestKind
  bytes: number
}
export interface RecordingProxy {
  url: string
  requests: RecordedRequest[]
  reset(): void
  summary(): Record<RequestKind | 'bytes', number>
  close(): Promise<void>
}
export function kindOf(method: string, url: string): RequestKind
export function recordingProxy(target: string): Promise<RecordingProxy>
