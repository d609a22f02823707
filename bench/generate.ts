/**
 * Synthetic data throughput: `writeDataset` for 100k and 1M sessions to a plain file (and
 * 100k gzipped), with sessions/s, events/s, MB/s (uncompressed cowrie bytes) and peak RSS
 * (sampled every 50 ms and at every progress callback). Files go to a temp dir that is
 * removed afterwards.
 *
 * Run: bun bench/generate.ts [sessions…]   (default: 100000 1000000)
 */
import { mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { writeDataset } from "../src/synthetic/writeDataset.ts"

const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0)
const runs: Array<{ sessions: number; gzip: boolean }> = sizes.length > 0
  ? sizes.map((sessions) => ({ sessions, gzip: false }))
  : [{ sessions: 100_000, gzip: false }, { sessions: 1_000_000, gzip: false }, { sessions: 100_000, gzip: true }]

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US")

console.log(`machine: ${cpus()[0]?.model ?? "unknown"} (${cpus().length} cores), bun ${Bun.version}, seed 42`)
console.log("| sessions | output | seconds | sessions/s | events/s | MB/s (raw) | file MB | peak RSS MB |")
console.log("|---:|---|---:|---:|---:|---:|---:|---:|")
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
    const r = await writeDataset({ sessions: run.sessions, seed: 42, outDir: dir, gzip: run.gzip, onProgress: sample })
    const s = (performance.now() - t0) / 1000
    sample()
    console.log(
      `| ${fmt(r.sessions)} | ${run.gzip ? "cowrie.json.gz" : "cowrie.json"} | ${s.toFixed(2)} | ${fmt(r.sessions / s)} | ${fmt(r.events / s)} | ` +
        `${(r.rawBytes / 1e6 / s).toFixed(0)} | ${(r.bytes / 1e6).toFixed(0)} | ${(peak / 1e6).toFixed(0)} |`
    )
  } finally {
    clearInterval(timer)
    rmSync(dir, { recursive: true, force: true })
  }
}
