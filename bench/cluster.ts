/**
 * Clustering + scoring throughput on synthetic ground truth: 10k, 100k and 1M sessions
 * through features → linkage → hierarchy → evidence → confidence (analyzeSessions), each
 * size in a fresh process so peak RSS is its own. Sessions stream from the generator into
 * the feature builder (generation is not timed).
 *
 * Run: npm run bench:cluster [-- SIZES...]   e.g. npm run bench:cluster -- 10000 100000
 */
import { spawnSync } from "node:child_process"
import { cpus } from "node:os"
import { DEFAULT_CONFIG } from "../src/config/AnalysisConfig.ts"
import { FeatureBuilder } from "../src/analytics/sessionFeatures.ts"
import { generateSessions } from "../src/synthetic/generateSessions.ts"
import { type SessionCommands, tfidfDbscan } from "../eval/peers/tfidfDbscan.ts"
import { analyzeFeatures } from "../src/pipeline/analyzeSessions.ts"

/** Largest size the TF-IDF + DBSCAN peer is run at (its neighbour search is quadratic). */
const PEER_MAX = 100_000

const CHILD = "DSHIELD_BENCH_CLUSTER_SIZE"

if (process.env[CHILD] !== undefined) {
  const size = Number(process.env[CHILD])
  // Sessions stream from the generator into the feature builder and are dropped: the
  // engine holds compact features, never a million session objects. Generation is not
  // timed; feature extraction, linkage, hierarchy, evidence and confidence are.
  const builder = new FeatureBuilder()
  let generateMs = 0
  let featureMs = 0
  let t = performance.now()
  // The peer, TF-IDF of command strings + DBSCAN (what analysts run today), on the same
  // sessions where it finishes in reasonable time; it needs the command strings kept.
  const peer: Array<SessionCommands> | undefined = size <= PEER_MAX ? [] : undefined
  for (const s of generateSessions({ sessions: size, seed: 7 })) {
    const t1 = performance.now()
    generateMs += t1 - t
    peer?.push({ id: s.session.id, commands: s.session.commands })
    builder.add(s.session)
    t = performance.now()
    featureMs += t - t1
  }
  Bun.gc(true)
  const rssBefore = process.memoryUsage().rss
  const t0 = performance.now()
  const analysis = analyzeFeatures(builder.finish(), DEFAULT_CONFIG)
  const ms = performance.now() - t0 + featureMs
  const families = analysis.campaigns.filter((c) => c.level === "family").length
  // Peak RSS of the engine, read before the peer runs.
  const enginePeakRssMb = Math.round((process.resourceUsage().maxRSS * 1024) / 1e6)
  let peerMs: number | null = null
  if (peer !== undefined) {
    const t2 = performance.now()
    tfidfDbscan(peer)
    peerMs = Math.round(performance.now() - t2)
  }
  console.log(JSON.stringify({
    size,
    ms: Math.round(ms),
    peerMs,
    generateMs: Math.round(generateMs),
    campaigns: analysis.campaigns.length,
    families,
    unclustered: analysis.unclusteredSessions,
    rssBeforeMb: Math.round(rssBefore / 1e6),
    peakRssMb: enginePeakRssMb
  }))
  process.exit(0)
}

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0)
const run = sizes.length > 0 ? sizes : [10_000, 100_000, 1_000_000]
console.log(`machine: ${cpus()[0]?.model ?? "unknown"} (${cpus().length} cores), bun ${Bun.version}`)
console.log("size       wall (ms)   sessions/s   campaigns  families  unclustered  RSS after features  peak RSS   TF-IDF+DBSCAN (ms)")
for (const size of run) {
  const r = spawnSync(process.execPath, ["--smol", import.meta.path], { env: { ...process.env, [CHILD]: String(size) }, encoding: "utf8", maxBuffer: 1 << 24 })
  const line = r.stdout.trim().split("\n").pop() ?? ""
  if (r.status !== 0 || !line.startsWith("{")) {
    console.log(`${size}: failed (${r.status}) ${r.stderr.slice(-500)}`)
    continue
  }
  const m = JSON.parse(line) as { size: number; ms: number; peerMs: number | null; campaigns: number; families: number; unclustered: number; rssBeforeMb: number; peakRssMb: number }
  console.log(
    `${String(m.size).padEnd(10)} ${String(m.ms).padStart(9)}   ${String(Math.round(m.size / (m.ms / 1000))).padStart(10)}   ${String(m.campaigns).padStart(9)}  ${String(m.families).padStart(8)}  ${String(m.unclustered).padStart(11)}  ${String(m.rssBeforeMb).padStart(14)} MB  ${String(m.peakRssMb).padStart(5)} MB   ${m.peerMs === null ? "not run" : String(m.peerMs).padStart(8)}`
  )
}
