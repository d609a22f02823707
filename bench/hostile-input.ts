/**
 * Peak memory and time of `dshield-coord analyze` on a cowrie log with and without hostile
 * input: the same lines split in two halves with, between them, a line nested 100,000 deep
 * (arrays), one nested 100,000 deep (objects), a line of 200,000 short keys (under 1 MiB), one
 * of 200,000 long keys (over 1 MiB) and 1 MiB of seeded random bytes; and a gzip bomb (2 GiB of
 * zeros on one line) at the end. Both runs are `bin/dshield-coord analyze` (what `npx
 * dshield-coord` runs) as whole processes under `/usr/bin/time -f %M`.
 *
 * Run: bun bench/hostile-input.ts [FILE.json.gz]
 * FILE defaults to /tmp/gen20k/cowrie.json.gz
 * (`dshield-coord generate --sessions 20000 --seed 5 --gzip --out /tmp/gen20k`).
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { gunzipSync, gzipSync } from "node:zlib"
import { Prng } from "../src/analytics/Prng.ts"

const REPO = resolve(import.meta.dir, "..")
const input = process.argv[2] ?? "/tmp/gen20k/cowrie.json.gz"
if (!existsSync(input)) {
  console.error(`No input at ${input}; run generate --sessions 20000 --seed 5 --gzip --out /tmp/gen20k first, or pass a gzip cowrie log.`)
  process.exit(2)
}
if (!existsSync("/usr/bin/time")) {
  console.error("This benchmark needs /usr/bin/time (GNU time) to read peak memory; install the time package.")
  process.exit(2)
}

const dir = mkdtempSync(join(tmpdir(), "dshield-hostile-bench-"))
const text = gunzipSync(readFileSync(input))
const mid = text.indexOf(10, text.length >> 1) + 1
const rng = new Prng(5, "bench-hostile")
const noise = Buffer.alloc(1 << 20)
for (let i = 0; i < noise.length; i++) noise[i] = rng.int(256)
const hostileLines = [
  `{"eventid":"cowrie.command.input","x":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
  `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`,
  `{${new Array<string>(200_000).fill('"":0').join(",")}}`,
  `{${Array.from({ length: 200_000 }, (_, i) => `"key${i}":${i}`).join(",")}}`
].join("\n") + "\n"
const zeros = gzipSync(Buffer.alloc(16 << 20), { level: 9 })
const hostile = join(dir, "hostile.json.gz")
writeFileSync(
  hostile,
  Buffer.concat([
    gzipSync(text.subarray(0, mid)),
    gzipSync(Buffer.from(hostileLines)),
    gzipSync(Buffer.concat([noise, Buffer.from("\n")])),
    gzipSync(text.subarray(mid)),
    ...new Array<Buffer>(128).fill(zeros)
  ])
)

// The command a user types (bin/dshield-coord, what `npx dshield-coord` runs), as a whole process.
const run = (file: string) => {
  const out = join(dir, "result.json")
  const r = spawnSync("/usr/bin/time", ["-f", "%M %e", join(REPO, "bin", "dshield-coord"), "analyze", file, "--out", out, "--quiet"], {
    cwd: REPO,
    encoding: "utf8"
  })
  const [kib, seconds] = r.stderr.trim().split("\n").at(-1)!.split(" ").map(Number) as [number, number]
  const result = r.status === 0 ? JSON.parse(readFileSync(out, "utf8")) as { input: { sessions: number; events: number; rejected: Record<string, number> }; campaigns: Array<unknown> } : undefined
  return { code: r.status, mib: kib / 1024, seconds, result }
}

const clean = run(input)
const dirty = run(hostile)
console.log(`input ${input} (${(readFileSync(input).length / 1e6).toFixed(1)} MB gz), hostile copy ${(readFileSync(hostile).length / 1e6).toFixed(1)} MB gz, ${new Date().toISOString()}`)
for (const [name, r] of [["without hostile input", clean], ["with hostile input", dirty]] as const) {
  console.log(
    `${name.padEnd(24)} exit ${r.code}  peak RSS ${r.mib.toFixed(0).padStart(5)} MiB  ${r.seconds.toFixed(1).padStart(6)} s  ` +
      (r.result === undefined ? "" : `sessions ${r.result.input.sessions}  events ${r.result.input.events}  campaigns ${r.result.campaigns.length}  rejected ${JSON.stringify(r.result.input.rejected)}`)
  )
}
console.log(`peak RSS difference: ${(dirty.mib - clean.mib).toFixed(0)} MiB`)
rmSync(dir, { recursive: true, force: true })
