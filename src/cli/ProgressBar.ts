/**
 * A one-line progress bar on stderr (bytes read, events/s), drawn only when stderr is a
 * terminal and the input is large enough for waiting to be noticeable.
 */

/** Inputs smaller than this finish before a progress bar would be useful. */
export const PROGRESS_MIN_BYTES = 16 * 1024 * 1024

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1)

export class ProgressBar {
  private readonly started = performance.now()
  private drawn = false

  constructor(private readonly totalBytes: number | undefined, private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(bytes: number, events: number): void {
    const seconds = Math.max(1e-3, (performance.now() - this.started) / 1000)
    const rate = `${Math.round(events / seconds).toLocaleString("en-US")} events/s`
    let text: string
    if (this.totalBytes !== undefined && this.totalBytes > 0) {
      const fraction = Math.min(1, bytes / this.totalBytes)
      const width = 30
      const filled = Math.round(fraction * width)
      text = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${mb(bytes)}/${mb(this.totalBytes)} MB  ${rate}`
    } else {
      text = `${mb(bytes)} MB read  ${rate}`
    }
    this.stream.write(`\r${text}\u001b[K`)
    this.drawn = true
  }

  clear(): void {
    if (this.drawn) this.stream.write("\r\u001b[K")
  }
}
