#!/usr/bin/env node
// The `quid` command. The TypeScript sources are compiled to dist/ by `npm ci` (the `prepare`
// script) or `npm run build`.
import { main } from '../dist/agent/cli.js'

process.exitCode = await main(process.argv.slice(2))
