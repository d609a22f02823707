/**
 * Issue 13, item 4 — live mode from sensors over JetStream, end to end with the real CLI, a
 * private nats-server and fresh PostgreSQL databases:
 *
 * 1. `kill -9` of the live consumer after its first commit, while `tail` is still publishing,
 *    and a restart: the stored campaigns (family member sets) and every session's events and
 *    commands equal those of an uninterrupted consumer of the same stream into a second
 *    database, and the families equal those of `analyze` of the file; no session's commands
 *    are doubled.
 * 2. Hostile lines in the stream (a 100,000-deep JSON line, binary) are rejected and counted
 *    by reason; the other lines are kept.
 * 3. Alerts: one `campaign.new` per new family of the first commit on the alert subject, and
 *    the same alerts POSTed, signed, to the webhook.
 *
 * Skips visibly without PostgreSQL or nats-server, unless REQUIRE_SERVICES=1 (then fails).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { connect, type NatsConnection, StorageType } from "nats"
import { tenantWebhookSecret } from "../../src/api/webhookDispatch.ts"
import { verifySignature } from "../../src/api/webhooks/Signature.ts"
import type { AttackSession } from "../../src/domain/AttackSession.ts"
import type { Result } from "../../src/domain/Result.ts"
import { ingest } from "../../src/ingest/ingest.ts"
import { REPO, runCli } from "../cli/helpers.ts"
import { natsServerAvailable, startAuthServer, startPrivateServer } from "./natsAuthServer.ts"
import { freshDatabase, serviceAvailable } from "./services.ts"

const HAVE_PG = await serviceAvailable("PostgreSQL", 5432)
const HAVE_NATS_SERVER = natsServerAvailable()
const RUN = HAVE_PG && HAVE_NATS_SERVER

let server: Awaited<ReturnType<typeof startPrivateServer>> | undefined
let nc: NatsConnection | undefined
let dir = ""
let small = ""
const databases: Array<{ readonly url: string; readonly drop: () => void }> = []
const children: Array<ReturnType<typeof Bun.spawn>> = []

const database = (prefix: string): string => {
  const db = freshDatabase(prefix, true)!
  databases.push(db)
  return db.url
}

const psql = (url: string, sql: string): string => {
  const r = Bun.spawnSync(["psql", url, "-At", "-c", sql], { stdout: "pipe", stderr: "pipe" })
  if (r.exitCode !== 0) throw new Error(`psql failed: ${r.stderr.toString()}`)
  return r.stdout.toString().trim()
}

/** A CLI child process with its stderr collected as it comes. */
const start = (args: ReadonlyArray<string>, env: Record<string, string | undefined> = process.env) => {
  const child = Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), ...args], { cwd: REPO, env, stdout: "pipe", stderr: "pipe" })
  children.push(child)
  let stderr = ""
  let stdout = ""
  void (async () => {
    for await (const chunk of child.stderr as ReadableStream<Uint8Array>) stderr += new TextDecoder().decode(chunk)
  })()
  void (async () => {
    for await (const chunk of child.stdout as ReadableStream<Uint8Array>) stdout += new TextDecoder().decode(chunk)
  })()
  return { child, stderr: () => stderr, stdout: () => stdout }
}

const eventually = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000, diagnostics: () => string = () => ""): Promise<void> => {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} did not happen within ${timeoutMs} ms\n${diagnostics()}`)
    await Bun.sleep(100)
  }
}

const ingestArgs = (stream: string, consumer: string, url: string, extra: ReadonlyArray<string> = []) => [
  "ingest", "--from", "nats", "--stream", stream, "--subject", "dshield.events.>", "--consumer", consumer,
  "--nats", server!.url, "--database-url", url, "--commit-every", "1s", "--session-timeout", "3s", ...extra
]

/** The consumer's checkpoint row, or undefined before its first commit. */
const checkpoint = (url: string, consumer: string): { floor: number; processed: number; open: number; commits: number } | undefined => {
  // Before the consumer has migrated the database there is no table yet.
  if (psql(url, "SELECT to_regclass('live_offsets') IS NOT NULL") !== "t") return undefined
  const row = psql(url, `SELECT floor_seq, processed_seq, (SELECT count(*) FROM jsonb_object_keys(open_sessions)), commits FROM live_offsets WHERE consumer = '${consumer}'`)
  if (row === "") return undefined
  const [floor, processed, open, commits] = row.split("|").map(Number)
  return { floor: floor!, processed: processed!, open: open!, commits: commits! }
}

/** Everything read and committed: the floor is past the stream's last message. */
const drained = async (url: string, consumer: string, stream: string): Promise<boolean> => {
  const last = (await (await nc!.jetstreamManager()).streams.info(stream)).state.last_seq
  const cp = checkpoint(url, consumer)
  return cp !== undefined && cp.floor === last + 1 && cp.open === 0
}

/** Stored families (not concluded) as sorted session-id lists, sorted. */
const storedFamilies = (url: string): Array<string> =>
  psql(url, "SELECT string_agg(cs.session_id, ',' ORDER BY cs.session_id) FROM campaigns c JOIN campaign_sessions cs ON cs.campaign_id = c.id WHERE c.level = 'family' AND c.state <> 'concluded' GROUP BY c.id")
    .split("\n").filter((l) => l.length > 0).sort()

const resultFamilies = (result: Result): Array<string> =>
  result.campaigns.filter((c) => c.level === "family").map((c) => [...c.sessions].sort().join(",")).sort()

/** Every stored session: id → events, commands. */
const storedSessions = (url: string): Map<string, { events: number; commands: Array<string> }> => {
  const out = new Map<string, { events: number; commands: Array<string> }>()
  const rows = psql(url, "SELECT json_build_object('id', id, 'events', (data->>'event_count')::int, 'commands', data->'commands') FROM attack_sessions")
  for (const line of rows.split("\n").filter((l) => l.length > 0)) {
    const r = JSON.parse(line) as { id: string; events: number; commands: Array<string> }
    expect(out.has(r.id)).toBe(false)
    out.set(r.id, { events: r.events, commands: r.commands })
  }
  return out
}

const stop = async (proc: ReturnType<typeof start>): Promise<number> => {
  proc.child.kill("SIGTERM")
  return await proc.child.exited
}

beforeAll(async () => {
  if (!RUN) return
  server = await startPrivateServer()
  nc = await connect({ servers: server.url })
  dir = mkdtempSync(join(tmpdir(), "dshield-live-"))
  expect(runCli(["generate", "--sessions", "1500", "--seed", "5", "--out", dir, "--quiet"]).code).toBe(0)
  small = join(dir, "small")
  expect(runCli(["generate", "--sessions", "200", "--seed", "8", "--out", small, "--quiet"]).code).toBe(0)
})

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL")
  await Promise.all(children.map((c) => c.exited))
  await nc?.close()
  await server?.stop()
  for (const db of databases) db.drop()
  if (dir !== "") rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(!RUN)("live mode over JetStream", () => {
  test("kill -9 after the first commit, restart: the same campaigns as an uninterrupted run and as analyze", async () => {
    const input = join(dir, "cowrie.json")
    const lines = readFileSync(input, "utf8").split("\n").filter((l) => l.length > 0).length
    const killed = database("live_killed")
    const whole = database("live_whole")
    // About 7 s of publishing at 2,000 lines/s.
    const tail = start(["tail", input, "--to", "nats", "--nats", server!.url, "--stream", "SENSORS1", "--rate", "2000"])
    await eventually("the stream to exist", async () => (await (await nc!.jetstreamManager()).streams.info("SENSORS1").catch(() => undefined)) !== undefined, 20_000, tail.stderr)
    const first = start(ingestArgs("SENSORS1", "killed", killed))
    const uninterrupted = start(ingestArgs("SENSORS1", "whole", whole))
    await eventually("the first commit", () => checkpoint(killed, "killed") !== undefined, 30_000, first.stderr)
    first.child.kill("SIGKILL")
    expect(await first.child.exited).not.toBe(0)
    // The tail was still publishing when the consumer died.
    expect(tail.child.exitCode).toBeNull()
    const before = checkpoint(killed, "killed")!
    expect(before.processed).toBeLessThan(lines)

    const restarted = start(ingestArgs("SENSORS1", "killed", killed))
    expect(await tail.child.exited).toBe(0)
    expect(tail.stdout()).toContain(`published ${lines} line(s)`)
    await eventually("the restarted consumer to drain the stream", () => drained(killed, "killed", "SENSORS1"), 90_000, restarted.stderr)
    await eventually("the uninterrupted consumer to drain the stream", () => drained(whole, "whole", "SENSORS1"), 90_000, uninterrupted.stderr)
    expect(await stop(restarted)).toBe(0)
    expect(await stop(uninterrupted)).toBe(0)
    if (process.env.LIVE_TEST_VERBOSE === "1") console.log(first.stderr(), restarted.stderr(), uninterrupted.stderr())
    expect(restarted.stderr()).toContain("checkpoint: floor")
    expect(checkpoint(killed, "killed")!.commits).toBeGreaterThan(before.commits)

    // The campaigns: the same families in both databases, and the same as a batch analysis.
    const killedFamilies = storedFamilies(killed)
    expect(killedFamilies.length).toBeGreaterThan(0)
    expect(killedFamilies).toEqual(storedFamilies(whole))
    const out = join(dir, "batch.json")
    expect(runCli(["analyze", "--quiet", "--out", out, input]).code).toBe(0)
    expect(killedFamilies).toEqual(resultFamilies(JSON.parse(readFileSync(out, "utf8")) as Result))

    // Every session once, with the events and commands of the file: none lost, none doubled.
    const batch = new Map<string, AttackSession>((await ingest([input], { format: "auto" })).sessions.map((s) => [s.id, s]))
    const a = storedSessions(killed)
    const b = storedSessions(whole)
    expect(a.size).toBe(batch.size)
    expect(b.size).toBe(batch.size)
    let events = 0
    for (const [id, s] of batch) {
      expect(a.get(id)).toEqual({ events: s.event_count, commands: [...s.commands] })
      expect(b.get(id)).toEqual({ events: s.event_count, commands: [...s.commands] })
      events += s.event_count
    }
    expect(events).toBe(lines)
  }, 240_000)

  test("with deploy/nats's users: sensor publishes, live consumes (alerts and status allowed), and neither can do the other's part", async () => {
    const auth = await startAuthServer(REPO)
    try {
      const input = join(small, "cowrie.json")
      const url = database("live_roles")
      const tail = start(["tail", input, "--to", "nats", "--nats", auth.urlFor("sensor"), "--stream", "SENSORS", "--subject", "dshield.events.cowrie", "--rate", "5000"])
      expect(await tail.child.exited, tail.stderr()).toBe(0)
      const live = start([
        "ingest", "--from", "nats", "--stream", "SENSORS", "--subject", "dshield.events.>", "--consumer", "roles",
        "--nats", auth.urlFor("live"), "--database-url", url, "--commit-every", "1s", "--session-timeout", "3s"
      ])
      const admin = await connect({ servers: auth.url, user: "ops", pass: "test-ops-password" })
      try {
        const last = (await (await admin.jetstreamManager()).streams.info("SENSORS")).state.last_seq
        await eventually("the live user's consumer to drain the stream", () => {
          const cp = checkpoint(url, "roles")
          return cp !== undefined && cp.floor === last + 1 && cp.open === 0
        }, 90_000, live.stderr)
      } finally {
        await admin.close()
      }
      expect(await stop(live)).toBe(0)
      // Its alerts (16 new campaigns) and status went out without a refusal.
      expect(live.stderr()).toContain("16 new")
      expect(live.stderr()).not.toContain("Permissions Violation")
      const out = join(dir, "roles-batch.json")
      expect(runCli(["analyze", "--quiet", "--out", out, input]).code).toBe(0)
      expect(storedFamilies(url)).toEqual(resultFamilies(JSON.parse(readFileSync(out, "utf8")) as Result))

      // The live user cannot publish events; the sensor user cannot read them back.
      const asLive = start(["tail", input, "--to", "nats", "--nats", auth.urlFor("live"), "--stream", "SENSORS", "--subject", "dshield.events.cowrie", "--rate", "5000"])
      expect(await asLive.child.exited).not.toBe(0)
      const asSensor = start([
        "ingest", "--from", "nats", "--stream", "SENSORS", "--subject", "dshield.events.>", "--consumer", "sneaky",
        "--nats", auth.urlFor("sensor"), "--database-url", database("live_sneaky"), "--commit-every", "1s"
      ])
      expect(await asSensor.child.exited).toBe(2)
      if (process.env.LIVE_TEST_VERBOSE === "1") console.log(asLive.stderr(), asSensor.stderr(), live.stderr())
      expect(asSensor.stderr().trim().split("\n").at(-1)).toContain("(permissions violation); connect as a user with the live role of deploy/nats")
      expect(asLive.stderr().trim().split("\n").at(-1)).toContain("Permissions Violation for Publish")
    } finally {
      await auth.stop()
    }
  }, 180_000)

  test("hostile lines are rejected and counted by reason; the rest is kept", async () => {
    const input = join(small, "cowrie.json")
    const clean = readFileSync(input, "utf8").split("\n").filter((l) => l.length > 0)
    const encoder = new TextEncoder()
    const deep = encoder.encode(`{"eventid":"cowrie.command.input","session":"x","v":${"[".repeat(100_000)}${"]".repeat(100_000)}}`)
    const binary = new Uint8Array([0x00, 0x01, 0xff, 0xfe, 0x7b, 0x22, 0x80, 0x81, 0x00])
    const jsm = await nc!.jetstreamManager()
    await jsm.streams.add({ name: "SENSORS2", subjects: ["hostile.>"], storage: StorageType.File })
    const js = nc!.jetstream()
    let deeps = 0
    let binaries = 0
    for (let i = 0; i < clean.length; i++) {
      await js.publish("hostile.cowrie", encoder.encode(clean[i]!))
      if (i % 300 === 0) {
        await js.publish("hostile.cowrie", deep)
        deeps++
      } else if (i % 300 === 150) {
        await js.publish("hostile.cowrie", binary)
        binaries++
      }
    }
    const url = database("live_hostile")
    const consumer = start(["ingest", "--from", "nats", "--stream", "SENSORS2", "--subject", "hostile.>", "--consumer", "hostile", "--nats", server!.url, "--database-url", url, "--commit-every", "1s", "--session-timeout", "2s"])
    await eventually("the consumer to drain the stream", () => drained(url, "hostile", "SENSORS2"), 60_000, consumer.stderr)
    expect(await stop(consumer)).toBe(0)
    expect(consumer.stderr()).toContain(`rejected: binary ${binaries}, too_deep ${deeps}`)
    // The rejects are in the stored Results, counted once.
    const rejected = psql(url, "SELECT coalesce(sum((r.result->'input'->'rejected'->>'too_deep')::int), 0) || '|' || coalesce(sum((r.result->'input'->'rejected'->>'binary')::int), 0) FROM analysis_results r")
    expect(rejected).toBe(`${deeps}|${binaries}`)
    const batch = (await ingest([input], { format: "auto" })).sessions
    const stored = storedSessions(url)
    expect(stored.size).toBe(batch.length)
    for (const s of batch) expect(stored.get(s.id)).toEqual({ events: s.event_count, commands: [...s.commands] })
  }, 120_000)

  test("alerts: one campaign.new per new family of the first commit, on the subject and signed to the webhook", async () => {
    const input = join(small, "cowrie.json")
    // The whole log is in the stream before the consumer starts: its first commit sees it all.
    const tail = runCli(["tail", input, "--to", "nats", "--nats", server!.url, "--stream", "SENSORS3", "--subject", "alerts.cowrie", "--rate", "0"])
    expect(tail.code).toBe(0)
    const alerts: Array<{ event: string; campaign: { id: string; level: string; sessions: number }; analysis_id: string }> = []
    const sub = nc!.subscribe("coord.alerts.test3")
    void (async () => {
      for await (const m of sub) alerts.push(JSON.parse(new TextDecoder().decode(m.data)))
    })()
    const secret = "live-test-server-secret"
    const received: Array<{ body: string; signature: string | null }> = []
    const receiver = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => {
        received.push({ body: await req.text(), signature: req.headers.get("coord-signature") })
        return new Response("ok")
      }
    })
    try {
      await nc!.flush()
      const url = database("live_alerts")
      const target = `127.0.0.1:${receiver.port}`
      const consumer = start(
        ["ingest", "--from", "nats", "--stream", "SENSORS3", "--subject", "alerts.>", "--consumer", "alerts", "--nats", server!.url, "--database-url", url,
          "--commit-every", "1s", "--session-timeout", "3s", "--alert-subject", "coord.alerts.test3", "--alert-webhook", `http://${target}/hook`, "--allow-webhook-targets", target],
        { ...process.env, DSHIELD_WEBHOOK_SECRET: secret }
      )
      await eventually("the consumer to drain the stream", () => drained(url, "alerts", "SENSORS3"), 60_000, consumer.stderr)
      expect(await stop(consumer)).toBe(0)
      // The first commit's analysis and the families it created (a fresh database: all new).
      const firstAnalysis = psql(url, "SELECT id FROM analysis_sessions ORDER BY started_at, id LIMIT 1")
      const result = JSON.parse(psql(url, `SELECT result FROM analysis_results WHERE analysis_id = '${firstAnalysis}'`)) as Result
      const families = result.campaigns.filter((c) => c.level === "family").map((c) => c.id).sort()
      expect(families.length).toBeGreaterThan(0)
      await eventually("the alerts to arrive", () => alerts.filter((a) => a.analysis_id === firstAnalysis).length >= families.length, 10_000)
      const firstAlerts = alerts.filter((a) => a.analysis_id === firstAnalysis)
      expect(firstAlerts.every((a) => a.event === "campaign.new" && a.campaign.level === "family")).toBe(true)
      expect(firstAlerts.map((a) => a.campaign.id).sort()).toEqual(families)
      // Every alert went to the webhook too, signed with the tenant's secret.
      await eventually("the webhook deliveries", () => received.length >= alerts.length, 20_000)
      expect(received.length).toBe(alerts.length)
      const tenantSecret = tenantWebhookSecret(secret, "default")
      for (const r of received) expect(verifySignature(tenantSecret, r.signature, r.body, Math.floor(Date.now() / 1000))).toBe(true)
      expect(received.map((r) => JSON.parse(r.body).campaign.id).sort()).toEqual(alerts.map((a) => a.campaign.id).sort())
    } finally {
      sub.unsubscribe()
      await receiver.stop(true)
    }
  }, 120_000)

  test("a consumer refuses what it cannot read: a missing stream, gap-sessionised formats", () => {
    const url = database("live_refuse")
    const missing = runCli(["ingest", "--from", "nats", "--stream", "NOPE", "--nats", server!.url, "--database-url", url])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("The stream NOPE does not exist")
    const firewall = runCli(["ingest", "--from", "nats", "--format", "firewall", "--nats", server!.url, "--database-url", url])
    expect(firewall.code).toBe(2)
    expect(firewall.stderr.trim().split("\n")).toHaveLength(1)
  }, 60_000)
})
