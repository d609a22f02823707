/**
 * `dshield-coord analyze FILE` as a user runs it — one whole process: the launcher
 * (bin/dshield-coord) starting Bun, module loading, ingest, analysis, Result v1 written —
 * beside the two peers in eval/peers on the same file, each also a whole process:
 *
 *   engine          bin/dshield-coord analyze FILE --out OUT --quiet
 *   minhash-lsh     bun eval/peers/minhash-lsh.ts FILE --out OUT    (GreedyBear-style MinHash(128)-LSH(0.55))
 *   tfidf-dbscan    bun eval/peers/tfidf-dbscan.ts FILE --out OUT   (TF-IDF + DBSCAN, cosine)
 *
 * on generated sets of 20k (seed 5), 100k and 1M (seed 11) sessions. The sets are generated
 * once with `dshield-coord generate` into the data directory (default $TMPDIR/dshield-coord-bench;
 * never inside the repository's tracked files) and reused while their files exist.
 *
 * Every run is timed from outside by GNU time (`/usr/bin/time -f`): wall seconds, user+system
 * CPU seconds of the process tree, and the peak RSS of its largest process. A run that
 * exceeds its timeout is stopped by coreutils `timeout` and reported as "> N s". Runs are
 * interleaved (engine, peers, engine, peers, …) so that a machine slowing down affects all
 * three alike; the ratio peer/engine is taken run by run and its median reported.
 * Numbers are recorded in docs/benchmarks.md, never asserted in tests.
 *
 * Run: npm run bench:analyze [-- --sets 20k,100k,1m] [--runs N] [--data DIR]
 *        [--timeout S] [--peer-timeout S] [--no-peers] [--json FILE]
 * (--runs 0 only generates the sets.)
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { cpus, freemem, loadavg, tmpdir, totalmem } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"

const REPO = resolve(import.meta.dir, "..")
const BUN = process.execPath

interface SetSpec {
  readonly name: string
  readonly sessions: number
  readonly seed: number
  /** Runs of each command when --runs is not given. */
  readonly runs: number
}

const SETS: ReadonlyArray<SetSpec> = [
  { name: "20k", sessions: 20_000, seed: 5, runs: 5 },
  { name: "100k", sessions: 100_000, seed: 11, runs: 3 },
  { name: "1m", sessions: 1_000_000, seed: 11, runs: 1 }
]

const { values } = parseArgs({
  options: {
    sets: { type: "string", default: "20k,100k,1m" },
    runs: { type: "string" },
    data: { type: "string", default: join(tmpdir(), "dshield-coord-bench") },
    timeout: { type: "string", default: "1800" },
    "peer-timeout": { type: "string", default: "900" },
    "no-peers": { type: "boolean", default: false },
    json: { type: "string" }
  }
})

const chosen = values.sets.split(",").map((name) => {
  const spec = SETS.find((s) => s.name === name.trim().toLowerCase())
  if (spec === undefined) throw new Error(`unknown set ${name}; choose from ${SETS.map((s) => s.name).join(", ")}`)
  return spec
})
const dataDir = resolve(values.data)
const engineTimeout = Number(values.timeout)
const peerTimeout = Number(values["peer-timeout"])

for (const tool of ["/usr/bin/time", "timeout"]) {
  if (spawnSync(tool, ["--version"], { stdio: "ignore" }).error !== undefined) throw new Error(`${tool} is needed (GNU time, coreutils timeout)`)
}

// ---------------------------------------------------------------------------------------------
// Data sets

interface DataSet {
  readonly spec: SetSpec
  readonly file: string
  readonly bytes: number
  readonly events: number | undefined
}

const ensureSet = (spec: SetSpec): DataSet => {
  const dir = join(dataDir, `gen-${spec.name}-seed${spec.seed}`)
  const file = join(dir, "cowrie.json")
  const summaryFile = join(dir, "generate.txt")
  if (!existsSync(file) || !existsSync(summaryFile)) {
    // Generated into a scratch directory and renamed when complete: an interrupted
    // generation is never mistaken for a set.
    const scratch = `${dir}.partial`
    rmSync(scratch, { recursive: true, force: true })
    mkdirSync(dataDir, { recursive: true })
    const args = [join(REPO, "src/cli/main.ts"), "generate", "--sessions", String(spec.sessions), "--seed", String(spec.seed), "--out", scratch]
    process.stderr.write(`generating ${spec.name}: bun ${args.slice(1).join(" ")}\n`)
    const r = spawnSync(BUN, args, { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 })
    process.stderr.write(`${r.stdout}${r.stderr}`)
    if (r.status !== 0) throw new Error(`generate failed for ${spec.name} (exit ${r.status})`)
    // The summary line ("N sessions, E events written to …") names the event count.
    writeFileSync(join(scratch, "generate.txt"), `${r.stdout}${r.stderr}`)
    rmSync(dir, { recursive: true, force: true })
    renameSync(scratch, dir)
  }
  const summary = readFileSync(summaryFile, "utf8")
  const events = /(\d+) events/.exec(summary)?.[1]
  return { spec, file, bytes: statSync(file).size, events: events === undefined ? undefined : Number(events) }
}

// ---------------------------------------------------------------------------------------------
// Timing one whole process

interface Run {
  readonly ok: boolean
  readonly timedOut: boolean
  readonly wall: number
  readonly cpu: number
  readonly peakMiB: number
  readonly note: string
}

interface Tool {
  readonly name: string
  readonly describe: string
  readonly argv: (file: string, out: string) => ReadonlyArray<string>
  readonly timeout: number
}

const TOOLS: ReadonlyArray<Tool> = [
  {
    name: "engine",
    describe: "bin/dshield-coord analyze FILE --out OUT --quiet",
    argv: (file, out) => [join(REPO, "bin/dshield-coord"), "analyze", file, "--out", out, "--quiet"],
    timeout: engineTimeout
  },
  ...(values["no-peers"] ? [] : [
    {
      name: "minhash-lsh",
      describe: "bun eval/peers/minhash-lsh.ts FILE --out OUT",
      argv: (file: string, out: string) => [BUN, join(REPO, "eval/peers/minhash-lsh.ts"), file, "--out", out],
      timeout: peerTimeout
    },
    {
      name: "tfidf-dbscan",
      describe: "bun eval/peers/tfidf-dbscan.ts FILE --out OUT",
      argv: (file: string, out: string) => [BUN, join(REPO, "eval/peers/tfidf-dbscan.ts"), file, "--out", out],
      timeout: peerTimeout
    }
  ])
]

const timeOnce = (tool: Tool, file: string, outDir: string): Run => {
  const out = join(outDir, `${tool.name}.json`)
  const stats = join(outDir, `${tool.name}.time`)
  rmSync(out, { force: true })
  // timeout sends TERM at the bound and KILL 10 s later; GNU time reports what ran.
  const r = spawnSync(
    "/usr/bin/time",
    ["-f", "%e %U %S %M %x", "-o", stats, "timeout", "-k", "10", String(tool.timeout), ...tool.argv(file, out)],
    { cwd: REPO, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"], maxBuffer: 64 * 1024 * 1024 }
  )
  const lines = existsSync(stats) ? readFileSync(stats, "utf8").trim().split("\n") : []
  const last = (lines.at(-1) ?? "").split(" ")
  const [wall, user, sys, maxKb, code] = last.map(Number) as [number, number, number, number, number]
  const exit = Number.isFinite(code) ? code : (r.status ?? -1)
  // 124: stopped by TERM at the bound; 137: by the KILL that follows (or killed otherwise,
  // hence the check against the bound).
  const timedOut = (exit === 124 || exit === 137) && (wall ?? 0) >= tool.timeout - 1
  const ok = exit === 0 && existsSync(out) && statSync(out).size > 0
  // The error line of what failed (Bun prints the source excerpt first, its version last).
  const errLines = (r.stderr ?? "").split("\n").map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith("Bun v"))
  const stderr = (errLines.find((l) => /error|ENOMEM|ENOENT|EACCES|out of memory|RangeError/i.test(l)) ?? errLines.at(-1) ?? "").slice(0, 300)
  return {
    ok,
    timedOut,
    wall: wall ?? Number.NaN,
    cpu: (user ?? 0) + (sys ?? 0),
    peakMiB: (maxKb ?? 0) / 1024,
    note: ok ? "" : timedOut ? `stopped at ${tool.timeout} s` : `exit ${exit}${stderr.length > 0 ? `: ${stderr}` : ""}`
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics and report

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const sh = (cmd: string, args: ReadonlyArray<string>): string => {
  const r = spawnSync(cmd, args, { encoding: "utf8" })
  return r.status === 0 ? r.stdout.trim() : "?"
}

const machine = {
  date: new Date().toISOString(),
  nproc: sh("nproc", []),
  cpu: cpus()[0]?.model ?? "?",
  memoryGiB: (totalmem() / 2 ** 30).toFixed(1),
  freeGiBAtStart: (freemem() / 2 ** 30).toFixed(1),
  loadAtStart: loadavg().map((x) => x.toFixed(2)).join(" "),
  bun: Bun.version,
  node: sh("node", ["--version"]),
  commit: sh("git", ["-C", REPO, "rev-parse", "--short", "HEAD"]),
  dirtyFiles: 0
}
if (machine.commit !== "?") {
  machine.dirtyFiles = sh("git", ["-C", REPO, "status", "--porcelain", "--untracked-files=no"]).split("\n").filter((l) => l.length > 0).length
}

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : "–")

interface ToolSummary {
  readonly tool: string
  readonly runs: ReadonlyArray<Run>
  readonly wall: number
  readonly wallMin: number
  readonly wallMax: number
  readonly cpu: number
  readonly peakMiB: number
  /** Median over runs of (this tool's wall / the engine's wall in the same round). */
  readonly ratioToEngine: number | undefined
  /** The same for CPU seconds (steadier than wall time on a shared machine). */
  readonly cpuRatioToEngine: number | undefined
}

const results: Array<{ set: string; sessions: number; seed: number; events: number | undefined; bytes: number; tools: Array<ToolSummary> }> = []

process.stdout.write(
  `machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.memoryGiB} GiB RAM; bun ${machine.bun}, node ${machine.node}; commit ${machine.commit === "?" ? "? (not a git checkout)" : machine.commit}${machine.dirtyFiles > 0 ? ` + ${machine.dirtyFiles} modified file(s)` : ""}; load ${machine.loadAtStart}\n`
)

for (const spec of chosen) {
  const set = ensureSet(spec)
  const runs = values.runs === undefined ? spec.runs : Number(values.runs)
  const outDir = join(dataDir, "out", spec.name)
  mkdirSync(outDir, { recursive: true })
  process.stderr.write(`${spec.name}: ${set.file} (${(set.bytes / 1e6).toFixed(0)} MB), ${runs} run(s) of each\n`)
  const byTool = new Map<string, Array<Run>>(TOOLS.map((t) => [t.name, []]))
  for (let i = 0; i < runs; i++) {
    for (const tool of TOOLS) {
      // A peer that already ran past its bound on this set is not run again.
      const previous = byTool.get(tool.name)!
      if (previous.some((r) => r.timedOut)) continue
      const run = timeOnce(tool, set.file, outDir)
      previous.push(run)
      process.stderr.write(
        `  ${spec.name} run ${i + 1}/${runs} ${tool.name.padEnd(12)} ${run.ok ? `${fmt(run.wall)} s wall, ${fmt(run.cpu)} s CPU, ${fmt(run.peakMiB, 0)} MiB` : `not finished (${run.note})`}\n`
      )
    }
  }
  const engineRuns = byTool.get("engine")!
  const tools = TOOLS.map((tool): ToolSummary => {
    const all = byTool.get(tool.name)!
    const ok = all.filter((r) => r.ok)
    const ratios = (of: (r: Run) => number) =>
      tool.name === "engine" ? [] : all.flatMap((r, i) => {
        const e = engineRuns[i]
        if (e === undefined || !e.ok) return []
        // A run stopped at its bound gives a lower bound of the ratio.
        return r.ok || r.timedOut ? [of(r) / of(e)] : []
      })
    return {
      tool: tool.name,
      runs: all,
      wall: median(ok.map((r) => r.wall)),
      wallMin: Math.min(...ok.map((r) => r.wall)),
      wallMax: Math.max(...ok.map((r) => r.wall)),
      cpu: median(ok.map((r) => r.cpu)),
      peakMiB: median(ok.map((r) => r.peakMiB)),
      ratioToEngine: tool.name === "engine" ? undefined : median(ratios((r) => r.wall)),
      cpuRatioToEngine: tool.name === "engine" ? undefined : median(ratios((r) => r.cpu))
    }
  })
  results.push({ set: spec.name, sessions: spec.sessions, seed: spec.seed, events: set.events, bytes: set.bytes, tools })
}

// Markdown, ready for docs/benchmarks.md.
const lines: Array<string> = []
lines.push(`| set | tool | runs | wall s, median (min–max) | CPU s (user+sys) | peak RSS MiB | peer / engine, wall | peer / engine, CPU |`)
lines.push(`|---|---|---|---:|---:|---:|---:|---:|`)
for (const r of results) {
  const label = `${r.set} (${r.sessions.toLocaleString("en-US")} sessions${r.events === undefined ? "" : `, ${(r.events / 1e6).toFixed(2)}M events`}, ${(r.bytes / 1e6).toFixed(0)} MB, seed ${r.seed})`
  for (const t of r.tools) {
    const finished = t.runs.filter((x) => x.ok).length
    const stopped = t.runs.find((x) => x.timedOut)
    const failed = t.runs.find((x) => !x.ok && !x.timedOut)
    const wall = finished > 0
      ? `${fmt(t.wall)} (${fmt(t.wallMin)}–${fmt(t.wallMax)})`
      : stopped !== undefined
      ? `> ${fmt(stopped.wall, 0)} (stopped)`
      : `did not finish (${failed?.note ?? "?"})`
    const ratio = (x: number | undefined) =>
      x === undefined ? "" : Number.isFinite(x) ? `${stopped !== undefined && finished === 0 ? "> " : ""}${fmt(x)}×` : "–"
    lines.push(`| ${label} | ${t.tool} | ${t.runs.length} | ${wall} | ${fmt(t.cpu)} | ${fmt(t.peakMiB, 0)} | ${ratio(t.ratioToEngine)} | ${ratio(t.cpuRatioToEngine)} |`)
  }
}
process.stdout.write(`\n${lines.join("\n")}\n\nload at end: ${loadavg().map((x) => x.toFixed(2)).join(" ")}\n`)
process.stdout.write(`commands:\n${TOOLS.map((t) => `  ${t.name}: ${t.describe}`).join("\n")}\n`)
if (values.json !== undefined) {
  writeFileSync(values.json, `${JSON.stringify({ machine: { ...machine, loadAtEnd: loadavg() }, results }, null, 2)}\n`)
}
