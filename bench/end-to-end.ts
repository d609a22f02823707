/**
 * 1,000 sessions end to end: cowrie JSON file → ingest → analysis → Result v1 JSON, in
 * process (median of warm runs, and the first, cold run), beside the wall time of the whole
 * CLI process (`dshield-coord analyze --quiet --out FILE`, which adds Bun's start-up and
 * module loading).
 *
 * Run: npm run bench:e2e [-- SESSIONS]
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import * as Effect from "effect/Effect"
import { serializeResult } from "../src/domain/Result.ts"
import { DEFAULT_CONFIG } from "../src/config/AnalysisConfig.ts"
import { writeDataset } from "../src/synthetic/writeDataset.ts"
import { runAnalysis } from "../src/pipeline/runAnalysis.ts"

const sessions = Number(process.argv[2] ?? 1000)
const dir = mkdtempSync(join(tmpdir(), "dshield-e2e-"))
const summary = await writeDataset({ sessions, seed: 99, outDir: dir })

const once = async (): Promise<number> => {
  const t0 = performance.now()
  const { result } = await Effect.runPromise(runAnalysis([summary.cowriePath], DEFAULT_CONFIG))
  serializeResult(result)
  return performance.now() - t0
}
const cold = await once()
const warm: Array<number> = []
for (let i = 0; i < 15; i++) warm.push(await once())
warm.sort((a, b) => a - b)

const cli: Array<number> = []
for (let i = 0; i < 5; i++) {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [resolve(import.meta.dir, "../src/cli/main.ts"), "analyze", "--quiet", "--out", join(dir, "r.json"), summary.cowriePath])
  if (r.status !== 0) throw new Error(`CLI failed: ${r.stderr}`)
  cli.push(performance.now() - t0)
}
cli.sort((a, b) => a - b)
console.log(`bun ${Bun.version}; ${sessions} sessions, ${summary.events} events, ${(summary.bytes / 1e6).toFixed(2)} MB cowrie JSON`)
console.log(`in process: cold ${cold.toFixed(0)} ms, warm median ${warm[Math.floor(warm.length / 2)]!.toFixed(0)} ms (min ${warm[0]!.toFixed(0)} ms)`)
console.log(`CLI process (start-up included): median ${cli[Math.floor(cli.length / 2)]!.toFixed(0)} ms`)
