/** An emulation of Cloud Storage's generation preconditions in front of the emulator (see the .mjs). */
export function gcsPreconditions(target: string): Promise<{ endpoint: string; conflicts: () => number; close: () => Promise<void> }>
