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

/** Campaigns between two young-generation collections inside the scoring and report phases. */
export const YOUNG_GC_EVERY = 256

/** JavaScriptCore's young-generation collection, where the runtime is Bun: looked up when first due, not at start-up. */
let edenGC: (() => number) | undefined
const youngCollection = (): (() => number) | undefined =>
  bun === undefined ? undefined : (edenGC ??= (require("bun:jsc") as { edenGC: () => number }).edenGC)

/**
 * Inside a phase that works campaign by campaign: every YOUNG_GC_EVERY-th campaign (`index`)
 * of a large analysis, the young generation is collected, so that what each campaign left
 * behind is reused by the next instead of piling up until the next full collection. On the
 * 1,000,000-session set the scoring phase grew the process by 108 MiB without it and 5 MiB
 * with it, in the same time (docs/benchmarks.md).
 */
export const collectYoungGarbage = (index: number, sessions: number): void => {
  if (youngCollectionDue(index, sessions)) youngCollection()?.()
}

/** True on every YOUNG_GC_EVERY-th campaign of a large analysis, unless DSHIELD_NO_GC is set. */
export const youngCollectionDue = (index: number, sessions: number): boolean =>
  index % YOUNG_GC_EVERY === YOUNG_GC_EVERY - 1 && process.env.DSHIELD_NO_GC === undefined && sessions >= GC_HINT_EVERY
