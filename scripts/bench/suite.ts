/**
 * What a benchmark suite is. A suite measures a few named figures in one run and returns them;
 * the CLI (scripts/bench.ts) prints them as a table and, on request, as JSON for comparisons.
 */

export interface Figure {
  /** Key in the JSON output; stable, so results of different runs can be compared. */
  name: string
  value: number
  /** Shown in the table only ("ops/s", "ratio", ...). */
  unit: string
  /** How it was measured, for the reader of the table. */
  note?: string
}

export interface SuiteContext {
  /** Smaller inputs, for a fast smoke run; figures are less precise. */
  quick: boolean
  /** Reports what is happening now (shown on stderr when it is a terminal). */
  progress(message: string): void
}

export interface Suite {
  name: string
  description: string
  run(ctx: SuiteContext): Promise<Figure[]>
}
