/** A one-line progress bar on a terminal (stderr); nothing when the stream is not a TTY. */
export type ProgressBar = (label: string | null, done: number, total: number) => void

export function progressBar(stream: NodeJS.WriteStream | null): ProgressBar {
  if (!stream?.isTTY) return () => {}
  let last = 0
  return (label, done, total) => {
    if (label === null) {
      stream.write('\r\x1b[K')
      return
    }
    // Redrawing costs: at most ten times a second, and always at the end of a phase.
    const t = Date.now()
    if (t - last < 100 && done < total) return
    last = t
    const width = 30
    const fill = total > 0 ? Math.round((width * done) / total) : 0
    const pct = total > 0 ? Math.floor((100 * done) / total) : 0
    stream.write(
      `\r\x1b[K${label.padEnd(14)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct}% ${done}/${total}`
    )
  }
}
