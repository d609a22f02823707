/**
 * A hint to collect garbage between the heavy phases of a large analysis.
 *
 * On a million sessions each phase leaves hundreds of megabytes of short-lived strings and
 * arrays behind; the collector would get to them eventually, but by then the heap has grown
 * and the process keeps that memory. Collecting the young generation at phase boundaries
 * (cheap: milliseconds) keeps peak RSS close to the live data. A no-op outside Bun.
 */
const bun = (globalThis as { Bun?: { gc?: (full: boolean) => void } }).Bun

/** Sessions between two hints inside one phase. */
export const GC_HINT_EVERY = 100_000

/** Collects when the data is large enough to matter (`sessions` ≥ GC_HINT_EVERY); else no-op. */
export const collectGarbage = (full: boolean, sessions: number): void => {
  if (process.env.DSHIELD_NO_GC === undefined && sessions >= GC_HINT_EVERY) bun?.gc?.(full)
}
