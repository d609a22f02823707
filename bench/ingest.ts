/**
 * Ingest throughput: cowrie events/s through the full ingest path (gunzip → line split →
 * JSON.parse → validate → sessionise) on one core, for the largest corpus, beside two
 * baselines measured in the same run: bare gunzip + line split, and gunzip + JSON.parse of
 * every line (the floor any JSON-lines parser pays).
 *
 * Run: npm run bench:ingest   (re-executes itself under `taskset -c 0` when available)
 */
import { spawnSync } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import { cpus } from "node:os"
import { join, resolve } from "node:path"
import { ingest } from "../src/ingest/ingest.ts"
import { openRaw, readLines } from "../src/ingest/readLines.ts"

const PINNED = "DSHIELD_BENCH_PINNED"
if (process.env[PINNED] === undefined && spawnSync("taskset", ["-V"]).status === 0) {
  const r = spawnSync("taskset", ["-c", "0", process.execPath, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, [PINNED]: "1" }
  })
  process.exit(r.status ?? 1)
}

const corpora = resolve(import.meta.dir, "../../shared/corpora")
const files = readdirSync(corpora).filter((f) => f.endsWith(".cowrie.json.gz"))
const arg = process.argv[2]
// The largest corpus by event count unless one is named.
const target = arg ?? join(corpora, "kareiva-2018.cowrie.json.gz")
if (files.length === 0 && arg === undefined) {
  console.error(`No corpora found in ${corpora}; pass a cowrie log as the first argument.`)
  process.exit(2)
}

const RUNS = 5
const median = (xs: Array<number>): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const timeIt = async (fn: () => Promise<number>): Promise<{ ms: number; count: number }> => {
  const times: Array<number> = []
  let count = 0
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    count = await fn()
    times.push(performance.now() - t0)
  }
  return { ms: median(times), count }
}

const splitOnly = await timeIt(async () => {
  const s = await readLines(openRaw(target), { line: () => {}, overlong: () => {} })
  return s.lines
})
const parseOnly = await timeIt(async () => {
  let n = 0
  await readLines(openRaw(target), {
    line: (t) => {
      try {
        JSON.parse(t)
        n++
      } catch { /* counted as rejects by the real path */ }
    },
    overlong: () => {}
  })
  return n
})
const full = await timeIt(async () => (await ingest([target], { format: "auto" })).events)

const rate = (r: { ms: number; count: number }): string => `${Math.round(r.count / (r.ms / 1000)).toLocaleString("en-US")}/s`
console.log(`machine: ${cpus()[0]?.model ?? "unknown"} (${cpus().length} cores), pinned to one core: ${process.env[PINNED] === "1"}`)
console.log(`bun ${Bun.version}, input ${target} (${(statSync(target).size / 1e6).toFixed(2)} MB gz)`)
console.log(`median of ${RUNS} runs`)
console.log(`gunzip + line split          ${splitOnly.ms.toFixed(0)} ms  ${splitOnly.count} lines   ${rate(splitOnly)}`)
console.log(`gunzip + JSON.parse          ${parseOnly.ms.toFixed(0)} ms  ${parseOnly.count} events  ${rate(parseOnly)}`)
console.log(`full ingest (sessions built) ${full.ms.toFixed(0)} ms  ${full.count} events  ${rate(full)}`)
