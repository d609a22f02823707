/**
 * Ingest throughput: cowrie events/s through the full ingest path (gunzip → byte line split →
 * validating scan → cowrie fields → sessionise) on one core, beside two baselines measured in
 * the same run on the same file: bare gunzip + line split, and gunzip + decode + JSON.parse of
 * every line (the floor any JSON.parse-based parser pays, and what ingest did before its
 * byte-level fast path).
 *
 * Each figure is the median of RUNS runs (default 5), in wall time and in CPU time of this
 * process, and the best run's wall time: on a shared, noisy machine the best of many runs is
 * the closest to what one quiet core does.
 *
 * Run: npm run bench:ingest [FILE]   (re-executes itself under `taskset -c 0` when available)
 * FILE defaults to the generated 100k-session set when present
 * (`dshield-coord generate --sessions 100000 --seed 11 --gzip --out /tmp/gen100k`),
 * otherwise the largest corpus in ../shared/corpora.
 */
import { spawnSync } from "node:child_process"
import { existsSync, statSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { resolve } from "node:path"
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

const GENERATED = "/tmp/gen100k/cowrie.json.gz"
const CORPUS = resolve(import.meta.dir, "../../shared/corpora/kareiva-2018.cowrie.json.gz")
const target = process.argv[2] ?? (existsSync(GENERATED) ? GENERATED : CORPUS)
if (!existsSync(target)) {
  console.error(`No input at ${target}; pass a cowrie log as the first argument, or run generate --sessions 100000 --seed 11 --gzip --out /tmp/gen100k first.`)
  process.exit(2)
}

const RUNS = Number(process.env.RUNS ?? 5)
const median = (xs: Array<number>): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

interface Timing {
  readonly wallMs: number
  readonly cpuMs: number
  readonly bestWallMs: number
  readonly count: number
}

const timeIt = async (fn: () => Promise<number>): Promise<Timing> => {
  const walls: Array<number> = []
  const cpus: Array<number> = []
  let count = 0
  for (let i = 0; i < RUNS; i++) {
    Bun.gc(true)
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    count = await fn()
    walls.push(performance.now() - t0)
    const c = process.cpuUsage(c0)
    cpus.push((c.user + c.system) / 1000)
  }
  return { wallMs: median(walls), cpuMs: median(cpus), bestWallMs: Math.min(...walls), count }
}

const splitOnly = await timeIt(async () => {
  const s = await readLines(openRaw(target), { line: () => {}, bytes: () => true, overlong: () => {} })
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

const rate = (count: number, ms: number): string => `${Math.round(count / (ms / 1000)).toLocaleString("en-US")}/s`.padStart(12)
const row = (name: string, r: Timing, unit: string): string =>
  `${name.padEnd(30)} ${r.count.toLocaleString("en-US").padStart(10)} ${unit.padEnd(6)} wall ${r.wallMs.toFixed(0).padStart(6)} ms ${rate(r.count, r.wallMs)}   cpu ${r.cpuMs.toFixed(0).padStart(6)} ms ${rate(r.count, r.cpuMs)}   best ${r.bestWallMs.toFixed(0).padStart(6)} ms ${rate(r.count, r.bestWallMs)}`
console.log(`machine: ${cpus()[0]?.model ?? "unknown"} (${cpus().length} cores), pinned to one core: ${process.env[PINNED] === "1"}`)
console.log(`bun ${Bun.version}, input ${target} (${(statSync(target).size / 1e6).toFixed(2)} MB on disk), ${new Date().toISOString()}`)
console.log(`median of ${RUNS} runs (wall, cpu) and the best run (wall); load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`)
console.log(row("gunzip + byte line split", splitOnly, "lines"))
console.log(row("gunzip + decode + JSON.parse", parseOnly, "events"))
console.log(row("full ingest (sessions built)", full, "events"))
console.log(`full ingest / bare JSON.parse: ${(parseOnly.wallMs / full.wallMs).toFixed(2)}x (median wall), ${(parseOnly.cpuMs / full.cpuMs).toFixed(2)}x (median cpu), ${(parseOnly.bestWallMs / full.bestWallMs).toFixed(2)}x (best wall)`)
