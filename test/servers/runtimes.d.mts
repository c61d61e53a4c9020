export const NODE_24: string
export function nodeAtLeast(minimum: [number, number], why: string): string
