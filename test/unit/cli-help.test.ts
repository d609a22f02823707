/**
 * Each command's help says what its parser does: every option a help text lists is accepted
 * by that command (`campaigns --help` listed --redis-url, which campaigns refused), no help
 * text shows a template placeholder (`tail --help` printed "${NATS_AUTH_OPTIONS}"), and a
 * negative number given to a numeric option is judged by that option's own check.
 */
import { describe, expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import { parseCommand } from "../../src/cli/args.ts"
import * as help from "../../src/cli/help.ts"

const HELP_OF: Record<string, string> = {
  analyze: help.ANALYZE_HELP,
  assess: help.ASSESS_HELP,
  audit: help.AUDIT_HELP,
  campaigns: help.CAMPAIGNS_HELP,
  config: help.CONFIG_HELP,
  eval: help.EVAL_HELP,
  export: help.EXPORT_HELP,
  generate: help.GENERATE_HELP,
  import: help.IMPORT_HELP,
  ingest: help.INGEST_HELP,
  keys: help.KEYS_HELP,
  maintenance: help.MAINTENANCE_HELP,
  mcp: help.MCP_HELP,
  migrate: help.MIGRATE_HELP,
  ops: help.OPS_HELP,
  replay: help.REPLAY_HELP,
  report: help.REPORT_HELP,
  schema: help.SCHEMA_HELP,
  serve: help.SERVE_HELP,
  tail: help.TAIL_HELP,
  techniques: help.TECHNIQUES_HELP,
  version: help.VERSION_HELP,
  worker: help.WORKER_HELP
}

/** The options a help text lists: each line of its option list that starts with one. */
const listedOptions = (text: string): Array<string> => {
  const out = new Set<string>()
  for (const line of text.split("\n")) {
    const m = /^ {2}(--[a-z][a-z0-9-]*)/.exec(line)
    if (m !== null) out.add(m[1]!)
  }
  return [...out]
}

/** The parser's complaint about argv, or undefined when it parses. */
const complaint = (argv: ReadonlyArray<string>): string | undefined => {
  const exit = Effect.runSyncExit(parseCommand(argv))
  return exit._tag === "Success" ? undefined : JSON.stringify(exit.cause)
}

describe("help texts", () => {
  test("no help text shows a template placeholder", () => {
    for (const [command, text] of Object.entries({ ...HELP_OF, main: help.MAIN_HELP })) {
      expect({ command, placeholder: /\$\{/.test(text) }).toEqual({ command, placeholder: false })
    }
  })

  test("every option a command's help lists is one that command accepts", () => {
    let checked = 0
    for (const [command, text] of Object.entries(HELP_OF)) {
      for (const option of listedOptions(text)) {
        // A value after it, in case it takes one: only "Unknown option" matters here.
        const problem = complaint([command, option, "1"]) ?? ""
        expect({ command, option, unknown: problem.includes(`Unknown option ${option}`) }).toEqual({ command, option, unknown: false })
        checked++
      }
    }
    expect(checked).toBeGreaterThan(150)
  })

  test("commands that connect to NATS list its authentication options", () => {
    for (const command of ["analyze", "campaigns", "export", "ingest", "tail", "worker", "ops", "replay"]) {
      const options = listedOptions(HELP_OF[command]!)
      for (const option of ["--nats-token", "--nats-creds", "--nats-tls-ca", "--nats-tls-cert", "--nats-tls-key"]) {
        expect({ command, option, listed: options.includes(option) }).toEqual({ command, option, listed: true })
      }
    }
  })
})

describe("negative numbers", () => {
  test("a negative value is judged by the option's own check, not taken for an option", () => {
    expect(complaint(["analyze", "--limit", "-3", "x.json"])).toContain("--limit must be a whole number between 0 and")
    expect(complaint(["analyze", "--seed", "-1", "x.json"])).toContain("--seed must be a whole number between 0 and")
    expect(complaint(["analyze", "--quiet", "-3", "x.json"])).toContain("Option --quiet takes no value")
    // A file taken as --limit's value: --limit's message, not "needs at least one input".
    expect(complaint(["analyze", "--limit", "x.json"])).toContain("--limit must be a whole number between 0 and 1000000, not")
  })
})

describe("options of a mode given without it", () => {
  test("are refused in one sentence instead of being ignored", () => {
    for (const [argv, message] of [
      [["analyze", "--data-dir", "d", "x.json"], "--data-dir is an option of the stored analysis; add --store or drop it."],
      [["analyze", "--database-url", "postgres://h/db", "x.json"], "--database-url is an option of the stored analysis; add --store or drop it."],
      [["analyze", "--dormant-days", "3", "x.json"], "--dormant-days is an option of the stored analysis; add --store or drop it."],
      [["analyze", "--thread", "t1", "x.json"], "--thread names the conversation of a workflow analysis; add --depth or drop it."],
      [["analyze", "--tlp", "green", "--stix", "b.json", "x.json"], "--tlp marks the MISP events; add --misp DIR or --misp-url URL, or drop it"],
      [["export", "--tlp", "green", "--stix", "b.json", "r.json"], "--tlp marks the MISP events"]
    ] as const) {
      expect(complaint(argv)).toContain(message)
    }
    // With their mode they parse.
    expect(complaint(["analyze", "--store", "--data-dir", "d", "--dormant-days", "3", "x.json"])).toBeUndefined()
    expect(complaint(["analyze", "--tlp", "green", "--misp", "m", "x.json"])).toBeUndefined()
    expect(complaint(["analyze", "--depth", "standard", "--thread", "t1", "x.json"])).toBeUndefined()
  })
})

describe("worker options that cannot work", () => {
  test("no role, a role twice, a default deadline past the maximum", () => {
    expect(complaint(["worker", "--roles", ""])).toContain("--roles names no role")
    expect(complaint(["worker", "--roles", " , "])).toContain("--roles names no role")
    const twice = Effect.runSync(parseCommand(["worker", "--roles", "api,api,jobs"]))
    expect(twice._tag === "Worker" ? twice.roles : []).toEqual(["api", "jobs"])
    expect(complaint(["worker", "--max-timeout", "1s", "--default-timeout", "1m"])).toContain("--default-timeout (1m) is longer than --max-timeout (1s)")
  })
})
