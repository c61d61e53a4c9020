#!/usr/bin/env node
// The command's entry. Node 22.1 and later keep the code they compile in a cache on disk, so the
// next deploy starts sooner; older Nodes go on without it. It is turned on before anything else
// loads: only what loads after it is cached. The cache lives in the project's
// node_modules/.cache (where this package is installed), never in the shared temporary folder
// Node would pick, where another user of the machine could plant compiled code for us to run.
// NODE_COMPILE_CACHE, when set, is the user's choice and wins.
import module from 'node:module'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

if (!process.env.NODE_COMPILE_CACHE) {
  // Installed: <project>/node_modules/vite-plugin-collectfasta/dist/cli.js; a checkout: <repo>/dist/cli.js.
  const pkg = fileURLToPath(new URL('..', import.meta.url))
  const modules = basename(dirname(pkg)) === 'node_modules' ? dirname(pkg) : join(pkg, 'node_modules')
  const dir = join(modules, '.cache/vite-plugin-collectfasta/compile')
  // A folder it cannot write (a global install, a read-only file system) only turns the cache off.
  ;(module as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache?.(dir)
}
await import('./cli/main.js')
