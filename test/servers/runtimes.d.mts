export const NODE_24: string
export const NODE_FLOOR: string
export function nodeAtLeast(minimum: [number, number], why: string): string
