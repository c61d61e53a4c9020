export function describe(ms: number): string {
  return `Page alive for ${(ms / 1000).toFixed(1)} s`
}
