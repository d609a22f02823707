/**
 * Synthetic data throughput: `writeDataset` for 100k and 1M sessions to a plain file (1M
 * also with two worker threads, and 100k gzipped), with sessions/s, events/s, MB/s
 * (uncompressed cowrie bytes) and peak RSS (sampled every 50 ms and after every block).
 * Files go to a temp dir that is removed afterwards. Not pinned to one core: the writer
 * overlaps rendering with file writes and gzip on other threads.
 *
 * Run: bun bench/generate.ts [sessions…]   (default: the table above)
 */
import { mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { defaultWorkers, writeDataset } from "../src/synthetic/writeDataset.ts"

interface Run {
  readonly sessions: number
  readonly gzip: boolean
  readonly workers?: number
}

const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0)
const runs: Array<Run> = sizes.length > 0
  ? sizes.map((sessions) => ({ sessions, gzip: false }))
  : [
    { sessions: 100_000, gzip: false },
    { sessions: 1_000_000, gzip: false },
    { sessions: 1_000_000, gzip: false, workers: 2 },
    { sessions: 100_000, gzip: true }
  ]

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US")

console.log(`machine: ${cpus()[0]?.model ?? "unknown"} (${cpus().length} cores), bun ${Bun.version}, seed 42`)
console.log("| sessions | output | workers | seconds | sessions/s | events/s | MB/s (raw) | file MB | peak RSS MB |")
console.log("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for (const run of runs) {
  const dir = mkdtempSync(join(tmpdir(), "dshield-bench-generate-"))
  let peak = process.memoryUsage().rss
  const sample = (): void => {
    const rss = process.memoryUsage().rss
    if (rss > peak) peak = rss
  }
  const timer = setInterval(sample, 50)
  try {
    const t0 = performance.now()
    const r = await writeDataset({
      sessions: run.sessions,
      seed: 42,
      outDir: dir,
      gzip: run.gzip,
      workers: run.workers ?? defaultWorkers(run.sessions),
      onProgress: sample
    })
    const s = (performance.now() - t0) / 1000
    sample()
    console.log(
      `| ${fmt(r.sessions)} | ${run.gzip ? "cowrie.json.gz" : "cowrie.json"} | ${r.workers} | ${s.toFixed(2)} | ${fmt(r.sessions / s)} | ${fmt(r.events / s)} | ` +
        `${(r.rawBytes / 1e6 / s).toFixed(0)} | ${(r.bytes / 1e6).toFixed(0)} | ${(peak / 1e6).toFixed(0)} |`
    )
  } finally {
    clearInterval(timer)
    rmSync(dir, { recursive: true, force: true })
  }
}
