/**
 * The garbage-collection hints of large analyses (src/analytics/memory.ts): the young-generation
 * collection they call exists in the pinned Bun (without it the hints would silently do
 * nothing and the 1M-session peak would grow back by about 100 MiB, docs/benchmarks.md), and
 * a hint is due only on every YOUNG_GC_EVERY-th campaign of a large analysis.
 */
import { describe, expect, test } from "bun:test"
import * as jsc from "bun:jsc"
import { collectYoungGarbage, GC_HINT_EVERY, YOUNG_GC_EVERY, youngCollectionDue } from "../../src/analytics/memory.ts"

describe("young-generation collection hints", () => {
  test("the runtime has the collection the hints call, and a due hint runs it", () => {
    expect(typeof jsc.edenGC).toBe("function")
    expect(() => collectYoungGarbage(YOUNG_GC_EVERY - 1, GC_HINT_EVERY)).not.toThrow()
  })

  test("due on every YOUNG_GC_EVERY-th campaign of a large analysis, never on a small one", () => {
    const due = (sessions: number) => Array.from({ length: YOUNG_GC_EVERY * 3 }, (_, i) => i).filter((i) => youngCollectionDue(i, sessions))
    expect(due(GC_HINT_EVERY)).toEqual([YOUNG_GC_EVERY - 1, 2 * YOUNG_GC_EVERY - 1, 3 * YOUNG_GC_EVERY - 1])
    expect(due(GC_HINT_EVERY - 1)).toEqual([])
  })
})
