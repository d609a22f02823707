/**
 * Result v1 written a campaign at a time (src/domain/Result.ts resultJsonChunks) is the text
 * JSON.stringify gives the whole Result, and checking it a campaign at a time accepts and
 * refuses what decoding it whole does.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { checkResult, Result, resultJsonChunks } from "../../src/domain/Result.ts"
import { HAVE_CORPORA, RADEC, runCli } from "../cli/helpers.ts"

const reference = (result: unknown): string => `${JSON.stringify(result, null, 2)}\n`

describe("writing a Result in pieces", () => {
  test.skipIf(!HAVE_CORPORA)("a real Result: analyze --out wrote what JSON.stringify gives, and the pieces are that text", () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-result-"))
    const out = join(dir, "r.json")
    expect(runCli(["analyze", "--quiet", "--out", out, RADEC]).code).toBe(0)
    const text = readFileSync(out, "utf8")
    const result = JSON.parse(text) as Result
    expect(result.campaigns.length).toBeGreaterThan(10)
    expect(text).toBe(reference(result))
    expect([...resultJsonChunks(result)].join("")).toBe(text)
  }, 60_000)

  test("edge shapes: no campaigns, strings with newlines, quotes and unicode, nested empty arrays", () => {
    const campaign = {
      id: "c-1", parent_id: null, level: "family", name: "line\nbreak \"quoted\" — ünïcode \u0000", sessions: [], source_ips: ["198.51.100.1"],
      first_seen: "2024-01-01T00:00:00.000Z", last_seen: "2024-01-01T00:00:00.000Z", confidence: 0.5, confidence_interval: [0.1, 0.9],
      assessment: "possibly_coordinated", evidence: {}, indicators: [{ type: "asn", value: "AS1", name: "A\tB" }], ttps: [], formed_by: []
    }
    const result = {
      schema: "dshield-coordination/result@1",
      run: { id: "r", engine_version: "0.1.0", input_digest: "d", config_digest: "c", seed: 1, started_at: "s", finished_at: "f" },
      input: { files: [], events: 0, sessions: 0, rejected: {} },
      campaigns: [] as Array<unknown>,
      unclustered_sessions: 0
    }
    expect([...resultJsonChunks(result as unknown as Result)].join("")).toBe(reference(result))
    result.campaigns = [campaign, { ...campaign, id: "c-2", evidence: { temporal_correlation: { score: 1, p_value: 0.5, detail: "x\ny" } } }]
    expect([...resultJsonChunks(result as unknown as Result)].join("")).toBe(reference(result))
  })

  test("checking in parts refuses what decoding whole refuses, and accepts what it accepts", () => {
    const good = {
      schema: "dshield-coordination/result@1",
      run: { id: "r", engine_version: "0.1.0", input_digest: "d", config_digest: "c", seed: 1, started_at: "s", finished_at: "f" },
      input: { files: [], events: 0, sessions: 0, rejected: {} },
      campaigns: [{
        id: "c-1", parent_id: null, level: "family", name: "n", sessions: ["a"], source_ips: [], first_seen: "t", last_seen: "t",
        confidence: 0.5, confidence_interval: [0.1, 0.9], assessment: "possibly_coordinated", evidence: {}, indicators: [], ttps: [], formed_by: []
      }],
      unclustered_sessions: 0
    }
    const whole = (r: unknown) => Exit.isSuccess(Schema.decodeUnknownExit(Result)(r))
    const parts = (r: unknown) => Exit.isSuccess(Effect.runSyncExit(checkResult(r)))
    const variants: Array<unknown> = [
      good,
      { ...good, unclustered_sessions: -1 },
      { ...good, schema: "other" },
      { ...good, campaigns: "not a list" },
      { ...good, campaigns: [{ ...good.campaigns[0], confidence: 2 }] },
      { ...good, campaigns: [good.campaigns[0], { ...good.campaigns[0], level: "galaxy" }] },
      null
    ]
    expect(variants.map(whole)).toEqual([true, false, false, false, false, false, false])
    expect(variants.map(parts)).toEqual(variants.map(whole))
  })
})
