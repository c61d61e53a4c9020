export interface GcsSink {
  /** host:port to give the SDK as the emulator host. */
  host: string
  /** Object name → size and MD5 (hex) of the body each sunk upload delivered. */
  received: Map<string, { size: number; md5: string }>
  close(): Promise<void>
}
export function gcsSink(emulatorHost: string, sinks: (name: string) => boolean): Promise<GcsSink>
