/**
 * The registry of benchmark suites, in the order `npm run bench` runs them. A new suite is a module
 * exporting a Suite (suite.ts) and one line here.
 */
import type { Suite } from './suite.js'
import { ledger } from './ledger.js'
import { auditSuite } from './audit.js'
import { hostSuite } from './host.js'
import { exchangeSuite } from './exchange.js'
import { vnetSuite } from './vnet.js'
import { cliSuite } from './cli.js'

export const suites: readonly Suite[] = [
  ledger,
  auditSuite,
  hostSuite,
  exchangeSuite,
  vnetSuite,
  cliSuite
]
