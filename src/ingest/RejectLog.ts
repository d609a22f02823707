/**
 * Counts rejected lines by reason and keeps the first few with their location, so a user can
 * open the file at the line and see what was wrong.
 */
import { printable } from "../domain/printable.ts"

export interface RejectSample {
  readonly reason: string
  readonly file: string
  readonly line: number
  /** The start of the offending line, cut to 120 characters. */
  readonly excerpt: string
}

export class RejectLog {
  private readonly counts = new Map<string, number>()
  readonly samples: Array<RejectSample> = []

  constructor(private readonly maxSamples = 10) {}

  add(reason: string, file: string, line: number, text: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1)
    if (this.samples.length < this.maxSamples) {
      const safe = printable(text.length > 120 ? text.slice(0, 121) : text)
      this.samples.push({ reason, file, line, excerpt: safe.length > 120 ? `${safe.slice(0, 117)}...` : safe })
    }
  }

  get total(): number {
    let n = 0
    for (const c of this.counts.values()) n += c
    return n
  }

  /** Counts by reason, keys sorted so the output is deterministic. */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const key of [...this.counts.keys()].sort()) out[key] = this.counts.get(key)!
    return out
  }
}

