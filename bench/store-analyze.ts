/**
 * `dshield-coord analyze --store FILE` on the embedded PGlite store beside plain
 * `dshield-coord analyze FILE`, each a whole process as a user runs it (the launcher
 * bin/dshield-coord starting Bun, module loading, the store opened and migrated, history read, analysis,
 * everything written in one transaction, Result v1 written):
 *
 *   plain        bin/dshield-coord analyze --quiet --out OUT FILE
 *   store-new    the same with --store --data-dir DIR, DIR a new directory name for each run
 *   store-again  the same with --store --data-dir DIR on a store that already holds FILE's run
 *                (the sessions and campaigns are replaced and updated)
 *
 * Default FILE: ../shared/corpora/alvarogar-2022-07.cowrie.json.gz (3,341 sessions).
 * Stores are removed only at the end: on this disk a copy made right after a deletion took
 * 0.2–0.3 s longer (a user making a new store has not just deleted one). Every run is timed
 * from outside by GNU time (wall seconds, CPU seconds, peak RSS of the
 * largest process); runs are interleaved (plain, new, again, plain, …) and the ratios
 * store/plain are taken run by run, medians reported. Recorded in docs/benchmarks.md.
 *
 * Run: npm run bench:store-analyze [-- FILE] [--runs N]
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"

const REPO = resolve(import.meta.dir, "..")
const { values, positionals } = parseArgs({ options: { runs: { type: "string", default: "5" } }, allowPositionals: true })
const file = resolve(positionals[0] ?? join(REPO, "..", "shared", "corpora", "alvarogar-2022-07.cowrie.json.gz"))
const runs = Number(values.runs)
const scratch = mkdtempSync(join(tmpdir(), "dshield-bench-store-"))
const out = join(scratch, "result.json")
/** The data directory of run `i` (-1: the warm-up). */
const storeDir = (i: number) => join(scratch, `store-${i}`)

interface Run {
  readonly wall: number
  readonly cpu: number
  readonly peakMiB: number
}

/** One whole process under GNU time: wall, user+system CPU, peak RSS. */
const timed = (args: ReadonlyArray<string>): Run => {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", join(REPO, "bin", "dshield-coord"), ...args], { cwd: REPO, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`dshield-coord ${args.join(" ")} failed (exit ${r.status}): ${r.stderr}`)
  const [wall, user, sys, kb] = r.stderr.trim().split("\n").at(-1)!.split(" ").map(Number)
  return { wall: wall!, cpu: user! + sys!, peakMiB: kb! / 1024 }
}

const plain = ["analyze", "--quiet", "--out", out, file]
const stored = (i: number) => ["analyze", "--store", "--data-dir", storeDir(i), "--quiet", "--out", out, file]

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

// Warm-up (page cache, the store template read once), not counted.
timed(plain)
timed(stored(-1))

const rows: Record<"plain" | "store-new" | "store-again", Array<Run>> = { plain: [], "store-new": [], "store-again": [] }
const load = loadavg()[0]!
for (let i = 0; i < runs; i++) {
  rows.plain.push(timed(plain))
  rows["store-new"].push(timed(stored(i)))
  rows["store-again"].push(timed(stored(i)))
}
rmSync(scratch, { recursive: true, force: true })

console.log(`${file}: ${runs} interleaved runs each, load average ${load.toFixed(2)} at the start; medians (min–max):`)
for (const [name, list] of Object.entries(rows)) {
  const walls = list.map((r) => r.wall)
  console.log(
    `${name.padEnd(12)} wall ${median(walls).toFixed(2)} s (${Math.min(...walls).toFixed(2)}–${Math.max(...walls).toFixed(2)})` +
      `  cpu ${median(list.map((r) => r.cpu)).toFixed(2)} s  peak ${median(list.map((r) => r.peakMiB)).toFixed(0)} MiB (max ${Math.max(...list.map((r) => r.peakMiB)).toFixed(0)})`
  )
}
for (const name of ["store-new", "store-again"] as const) {
  const ratios = rows[name].map((r, i) => r.wall / rows.plain[i]!.wall)
  console.log(`${name} / plain wall: median ${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`)
}
