/**
 * Start-up: the `effect` package root re-exports every module of the library, and importing
 * from it loaded all of them (0.12 s against 0.03 s for `effect/Effect` alone, Bun 1.4.5), at
 * the start of every command. Shipped code imports Effect modules one by one.
 */
import { describe, expect, test } from "bun:test"
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"

const REPO = join(import.meta.dir, "..", "..")
const SHIPPED = ["src", "actors", "layers", "bin"]

const sources = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|js)$/.test(e.name) ? [join(dir, e.name)] : []
  )

describe("Effect imports", () => {
  test("no shipped module imports from the effect package root", () => {
    const files = SHIPPED.flatMap((d) => sources(join(REPO, d)))
    expect(files.length).toBeGreaterThan(100)
    const offenders = files.filter((f) => /from\s+["']effect["']/.test(readFileSync(f, "utf8"))).map((f) => relative(REPO, f))
    expect(offenders).toEqual([])
  })
})
