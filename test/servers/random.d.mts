/** A seeded pseudo-random generator (mulberry32): numbers in [0, 1). */
export function seeded(seed: number): () => number
