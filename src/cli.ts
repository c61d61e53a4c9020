#!/usr/bin/env node
// The command's entry. Node 22.1 and later keep the code they compile (the AWS SDK's above all)
// in a cache on disk, so the next deploy starts sooner; older Nodes go on without it. It is
// turned on before anything else loads: only what loads after it is cached.
import module from 'node:module'

;(module as { enableCompileCache?: () => unknown }).enableCompileCache?.()
await import('./cli/main.js')
