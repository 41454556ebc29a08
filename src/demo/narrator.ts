/** How the demo speaks: step headers, indented lines, and plain-text tables. */
export interface Narrator {
  step(n: number, title: string): void
  say(line: string): void
  table(rows: string[][]): void
}

export function narrator(out: (line: string) => void): Narrator {
  return {
    step(n, title) {
      out('')
      out(`${n}. ${title}`)
    },
    say(line) {
      out(`   ${line}`)
    },
    table(rows) {
      for (const line of formatTable(rows)) out(`   ${line}`)
    }
  }
}

/** Columns padded to their widest cell; the first row is the header, underlined. */
export function formatTable(rows: string[][]): string[] {
  const widths: number[] = []
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)))
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  const [head, ...body] = rows
  if (!head) return []
  return [line(head), line(head.map((_c, i) => '-'.repeat(widths[i] ?? 0))), ...body.map(line)]
}

export const short = (id: string): string => id.slice(0, 8)
