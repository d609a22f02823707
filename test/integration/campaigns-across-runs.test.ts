/**
 * Issue acceptance: radec73 split into two halves, analysed with --store one half at a time,
 * yields the same campaigns as one run over the whole file, with merged history and no
 * duplicates — on the embedded store and on the real PostgreSQL.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
import type { Result } from "../../src/domain/Result.ts"
import { HAVE_CORPORA, RADEC, runCli } from "../cli/helpers.ts"
import { POSTGRES_ADMIN_URL, postgresUrlFor, serviceAvailable } from "./services.ts"

const HAVE_POSTGRES = await serviceAvailable("PostgreSQL", 5432)
const DATABASE = `dshield_coord_runs_${process.pid}`
const tmp = mkdtempSync(join(tmpdir(), "dshield-runs-"))

const psqlAdmin = (statement: string): void => {
  const r = Bun.spawnSync(["psql", POSTGRES_ADMIN_URL, "-q", "-c", statement], { stdout: "pipe", stderr: "pipe" })
  if (r.exitCode !== 0) throw new Error(`psql failed: ${r.stderr.toString()}`)
}
if (HAVE_POSTGRES) {
  psqlAdmin(`DROP DATABASE IF EXISTS ${DATABASE}`)
  psqlAdmin(`CREATE DATABASE ${DATABASE}`)
}
afterAll(() => {
  if (HAVE_POSTGRES) psqlAdmin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`)
})

const families = (result: Result): Array<string> =>
  result.campaigns.filter((c) => c.level === "family").map((c) => [...c.sessions].sort().join(",")).sort()

describe.skipIf(!HAVE_CORPORA)("campaigns across runs (radec73 in two halves)", () => {
  const lines = HAVE_CORPORA ? gunzipSync(readFileSync(RADEC)).toString("utf8").split("\n").filter((l) => l.length > 0) : []
  const half = Math.floor(lines.length / 2)
  const first = join(tmp, "first.json")
  const second = join(tmp, "second.json")
  writeFileSync(first, `${lines.slice(0, half).join("\n")}\n`)
  writeFileSync(second, `${lines.slice(half).join("\n")}\n`)
  const whole = HAVE_CORPORA ? runCli(["analyze", "--quiet", "--out", join(tmp, "whole.json"), RADEC]) : undefined
  const wholeResult = (HAVE_CORPORA ? JSON.parse(readFileSync(join(tmp, "whole.json"), "utf8")) : {}) as Result

  const backends: Array<readonly [string, ReadonlyArray<string>, boolean]> = [
    ["embedded PGlite", ["--data-dir", join(tmp, "store")], true],
    ["PostgreSQL", ["--database-url", postgresUrlFor(DATABASE)], HAVE_POSTGRES]
  ]
  for (const [name, storeArgs, available] of backends) {
    test.skipIf(!available)(`${name}: two stored runs give the whole-file campaigns, ids kept, no duplicates`, () => {
      expect(whole!.code).toBe(0)
      const out1 = join(tmp, `${name}-1.json`)
      const out2 = join(tmp, `${name}-2.json`)
      const run1 = runCli(["analyze", "--store", ...storeArgs, "--quiet", "--out", out1, first])
      expect(run1.stderr).toBe("")
      expect(run1.code).toBe(0)
      const listed1 = runCli(["campaigns", "list", ...storeArgs])
      const run2 = runCli(["analyze", "--store", ...storeArgs, "--quiet", "--out", out2, second])
      expect(run2.code).toBe(0)
      const listed2 = runCli(["campaigns", "list", ...storeArgs])

      // The second run saw the stored history: its campaigns are the whole file's.
      const result2 = JSON.parse(readFileSync(out2, "utf8")) as Result
      expect(result2.input.sessions).toBe(7700)
      expect(families(result2)).toEqual(families(wholeResult))

      // Stored: exactly one live family per whole-file family.
      const rows = listed2.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s{2,}/))
      const liveFamilies = rows.filter((r) => r[1] === "family")
      expect(liveFamilies.length).toBe(families(wholeResult).length)

      // The SSH-key family found in the first half keeps its id and first sighting.
      const keyRow = (text: string) => text.split("\n").find((l) => l.includes("family") && l.includes("ssh key"))
      const before = keyRow(listed1.stdout)
      const after = keyRow(listed2.stdout)
      expect(before).toBeDefined()
      expect(after).toBeDefined()
      expect(after!.split(/\s+/)[0]).toBe(before!.split(/\s+/)[0])
      // The Results name campaigns by their stored ids: an id read from either works with
      // `campaigns show`, and the key family has the same id in both Results.
      const result1 = JSON.parse(readFileSync(out1, "utf8")) as Result
      const listedIds = new Set(rows.map((r) => r[0]))
      expect(result2.campaigns.filter((c) => !listedIds.has(c.id)).map((c) => c.id)).toEqual([])
      const keyFamily = (r: Result) => r.campaigns.find((c) => c.level === "family" && c.indicators.some((i) => i.type === "ssh_key"))
      expect(keyFamily(result1)?.id).toBe(before!.split(/\s+/)[0])
      expect(keyFamily(result2)?.id).toBe(keyFamily(result1)?.id)
      const shown = runCli(["campaigns", "show", keyFamily(result2)!.id, ...storeArgs])
      expect(shown.code).toBe(0)
      expect(shown.stdout).toContain(keyFamily(result2)!.id)
      for (const c of result2.campaigns) {
        if (c.parent_id !== null) expect(result2.campaigns.some((p) => p.id === c.parent_id)).toBe(true)
      }
      const sessionsBefore = Number(before!.split(/\s{2,}/)[3])
      const sessionsAfter = Number(after!.split(/\s{2,}/)[3])
      expect(sessionsAfter).toBeGreaterThanOrEqual(sessionsBefore)

      // Storing the second half again reads the same events twice: nothing is doubled or
      // rewritten, and the analysis is the second run's (campaigns, members, scores).
      const out3 = join(tmp, `${name}-3.json`)
      const run3 = runCli(["analyze", "--store", ...storeArgs, "--out", out3, second])
      expect(run3.code).toBe(0)
      expect(run3.stderr).toContain(": 0 sessions new or changed;")
      const result3 = JSON.parse(readFileSync(out3, "utf8")) as Result
      const scored = (r: Result) => r.campaigns.map((c) => ({ id: c.id, sessions: c.sessions, confidence: c.confidence, evidence: c.evidence, indicators: c.indicators }))
      expect(scored(result3)).toEqual(scored(result2))
    }, 120_000)
  }
})
