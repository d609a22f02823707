/**
 * MISP export end to end: a Result from the real CLI (generate, then analyze) becomes one MISP
 * event per family, which is pushed to a local fake MISP (mispFake.ts) that answers as MISP
 * does and refuses any event that breaks the MISP core format. Pushing twice must update, never
 * duplicate; errors must be one sentence each.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Campaign, EvidenceKind } from "../../src/domain/Campaign.ts"
import type { Result } from "../../src/domain/Result.ts"
import {
  ATTACK_PATTERN_NAMES,
  evidenceSentence,
  type MispEvent,
  mispAttributeUuid,
  mispEvents,
  mispEventUuid,
  serializeMispEvent
} from "../../src/export/misp.ts"
import { uuidV5 } from "../../src/export/uuidV5.ts"
import { type FetchLike, pushEvents } from "../../src/export/mispClient.ts"
import { TECHNIQUES } from "../../src/analytics/attackTechniques.ts"
import { runCli } from "../cli/helpers.ts"
import { EVENT_EXISTS, type MispFake, NOT_NEWER, startMispFake, validateMispEvent } from "./mispFake.ts"

const DIR = mkdtempSync(join(tmpdir(), "dshield-misp-"))
const KEY = "Zq3V8mYpR2xT5kLw9nB4cD7fG1hJ6sA0eU3iO8pQ"
let result: Result
/** A second analysis of the same input: another run id and finish time. */
let rerun: Result
let fake: MispFake

beforeAll(() => {
  const generated = runCli(["generate", "--sessions", "600", "--seed", "7", "--out", DIR, "--quiet"])
  expect(generated.stderr).toBe("")
  expect(generated.code).toBe(0)
  for (const out of ["result.json", "rerun.json"]) {
    const analyzed = runCli(["analyze", join(DIR, "cowrie.json"), "--out", join(DIR, out), "--quiet"])
    expect(analyzed.stderr).toBe("")
    expect(analyzed.code).toBe(0)
  }
  result = JSON.parse(readFileSync(join(DIR, "result.json"), "utf8")) as Result
  rerun = JSON.parse(readFileSync(join(DIR, "rerun.json"), "utf8")) as Result
  fake = startMispFake(KEY)
})

afterAll(async () => {
  await fake?.stop()
  rmSync(DIR, { recursive: true, force: true })
})

const familiesOf = (r: Result): Array<Campaign> => r.campaigns.filter((c) => c.level === "family")
const push = (events: ReadonlyArray<MispEvent>, options: { url?: string; key?: string; fetch?: FetchLike; timeoutMs?: number } = {}) =>
  pushEvents(events, { url: options.url ?? fake.url, key: options.key ?? KEY, ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) })
const failureOf = (events: ReadonlyArray<MispEvent>, options: Parameters<typeof push>[1] = {}) => Effect.runPromise(Effect.flip(push(events, options)))

/** One sentence: a capital first, one final period, no sentence break inside. */
const expectOneSentence = (message: string): void => {
  expect(message).toMatch(/^[A-Z][^\n]*\.$/)
  expect(message.slice(0, -1)).not.toMatch(/[.?!]\s+[A-Z]/)
}

describe("MISP events from a Result", () => {
  test("UUIDv5 matches RFC 4122's construction (Python's uuid5 vector)", () => {
    expect(uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com")).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2")
  })

  test("one event per family, each valid MISP core format, with its evidence report", () => {
    const families = familiesOf(result)
    const events = mispEvents(result)
    expect(families.length).toBeGreaterThan(1)
    expect(events.length).toBe(families.length)
    events.forEach((event, i) => {
      const family = families[i]!
      expect(validateMispEvent(event)).toEqual([])
      expect(event.Event.uuid).toBe(mispEventUuid(family.id))
      expect(event.Event.info.startsWith("DShield campaign: ")).toBe(true)
      expect(event.Event.date).toBe(family.first_seen.slice(0, 10))
      expect(event.Event.timestamp).toBe(String(Math.floor(Date.parse(result.run.finished_at) / 1000)))
      expect(event.Event.published).toBe(false)
      expect(event.Event.publish_timestamp).toBe("0")
      // The family and each of its variants and waves as campaign-id attributes.
      const campaignIds = event.Event.Attribute.filter((a) => a.type === "campaign-id").map((a) => a.value)
      const subcampaigns = result.campaigns.filter((c) => c.level !== "family" && campaignIds.includes(c.id))
      expect(campaignIds[0]).toBe(family.id)
      expect(campaignIds.length).toBe(1 + subcampaigns.length)
      // The report states every evidence kind with its p-value.
      expect(event.Event.EventReport.length).toBe(1)
      const report = event.Event.EventReport[0]!.content
      for (const [kind, evidence] of Object.entries(family.evidence)) {
        expect(report).toContain(evidenceSentence(kind as EvidenceKind, evidence!))
        expect(report).toContain("with p-value")
      }
    })
  })

  test("every family's source addresses are ip-src attributes", () => {
    const events = mispEvents(result)
    familiesOf(result).forEach((family, i) => {
      const ipSrc = events[i]!.Event.Attribute.filter((a) => a.type === "ip-src")
      expect(new Set(ipSrc.map((a) => a.value))).toEqual(new Set(family.source_ips))
      for (const attribute of ipSrc) {
        expect(attribute.category).toBe("Network activity")
        expect(attribute.to_ids).toBe(true)
        expect(attribute.first_seen).toBe(family.first_seen)
        expect(attribute.last_seen).toBe(family.last_seen)
        expect(attribute.uuid).toBe(mispAttributeUuid(family.id, "ip-src", attribute.value))
      }
    })
  })

  test("every technique a rule can report has its misp-galaxy name (no tag falls back to a bare id)", () => {
    expect(Object.keys(ATTACK_PATTERN_NAMES).sort()).toEqual([...TECHNIQUES])
  })

  test("tags: the TLP, a likelihood, and one galaxy attack-pattern tag per technique", () => {
    const families = familiesOf(result)
    const check = (events: ReadonlyArray<MispEvent>, tlp: string, distribution: string): void => {
      events.forEach((event, i) => {
        const names = event.Event.Tag.map((t) => t.name)
        expect(names).toContain(`tlp:${tlp}`)
        expect(event.Event.distribution).toBe(distribution)
        expect(names.filter((n) => n.startsWith("estimative-language:likelihood-probability=")).length).toBe(1)
        const techniques = names
          .filter((n) => n.startsWith("misp-galaxy:mitre-attack-pattern="))
          .map((n) => /^misp-galaxy:mitre-attack-pattern="[^"]+ - (T\d{4}(?:\.\d{3})?)"$/.exec(n)?.[1])
        expect(techniques).toEqual([...families[i]!.ttps].sort())
      })
    }
    check(mispEvents(result), "amber", "0")
    check(mispEvents(result, { tlp: "green" }), "green", "1")
    check(mispEvents(result, { tlp: "clear" }), "clear", "3")
    const withOrg = mispEvents(result, { tlp: "red", orgName: "SANS ISC" })
    check(withOrg, "red", "0")
    expect(withOrg[0]!.Event.Orgc).toEqual({ name: "SANS ISC" })
  })

  test("deterministic: the same Result gives identical JSON; a re-analysis keeps every uuid", () => {
    const first = mispEvents(result).map(serializeMispEvent)
    const again = mispEvents(JSON.parse(readFileSync(join(DIR, "result.json"), "utf8")) as Result).map(serializeMispEvent)
    expect(again).toEqual(first)
    expect(first[0]!.endsWith("}\n")).toBe(true)
    expect(JSON.parse(first[0]!)).toEqual(mispEvents(result)[0])

    expect(rerun.run.id === result.run.id && rerun.run.finished_at === result.run.finished_at).toBe(false)
    const uuids = (events: ReadonlyArray<MispEvent>) =>
      events.map((e) => ({
        event: e.Event.uuid,
        attributes: e.Event.Attribute.map((a) => a.uuid),
        reports: e.Event.EventReport.map((r) => r.uuid)
      }))
    expect(uuids(mispEvents(rerun))).toEqual(uuids(mispEvents(result)))
  })
})

describe("pushing to MISP (a protocol-faithful fake)", () => {
  const storedShape = () =>
    fake.events().map((e) => ({ uuid: e.uuid, attributes: e.Attribute.length, count: e.attribute_count, tags: e.Tag.length, reports: e.EventReport.length }))

  const expectNoDuplicates = (): void => {
    for (const event of fake.events()) {
      const uuids = event.Attribute.map((a) => a.uuid)
      expect(new Set(uuids).size).toBe(uuids.length)
      const values = event.Attribute.map((a) => `${String(a.type)}|${String(a.category)}|${String(a.value)}`)
      expect(new Set(values).size).toBe(values.length)
      const tags = event.Tag.map((t) => String(t.name).toLowerCase())
      expect(new Set(tags).size).toBe(tags.length)
    }
  }

  test("first push creates N events; pushing again updates N and creates none", async () => {
    const events = mispEvents(result)
    const n = events.length

    const first = await Effect.runPromise(push(events))
    expect(first.map((o) => o.action)).toEqual(Array(n).fill("created"))
    expect(first.map((o) => o.uuid)).toEqual(events.map((e) => e.Event.uuid))
    expect(fake.events().length).toBe(n)
    const created = storedShape()
    created.forEach((stored, i) => {
      expect(stored.uuid).toBe(events[i]!.Event.uuid)
      expect(stored.attributes).toBe(events[i]!.Event.Attribute.length)
      expect(stored.count).toBe(String(events[i]!.Event.Attribute.length))
    })
    // Each event: looked up (404 from MISP: absent), then added.
    expect(fake.requests.slice(0, 2).map((r) => `${r.method} ${r.path.split("/").slice(0, 3).join("/")} ${r.status}`)).toEqual([
      "GET /events/view 404",
      "POST /events/add 200"
    ])

    const second = await Effect.runPromise(push(events))
    expect(second.filter((o) => o.action === "created").length).toBe(0)
    expect(second.filter((o) => o.action === "updated").length).toBe(n)
    expect(second.map((o) => o.id)).toEqual(first.map((o) => o.id))
    expect(fake.events().length).toBe(n)
    expect(storedShape()).toEqual(created)
    expectNoDuplicates()

    // A later analysis of the same input (newer timestamps) replaces attributes in place.
    const third = await Effect.runPromise(push(mispEvents(rerun)))
    expect(third.map((o) => o.action)).toEqual(Array(n).fill("updated"))
    expect(fake.events().length).toBe(n)
    expect(storedShape()).toEqual(created)
    expectNoDuplicates()
    const newer = String(Math.floor(Date.parse(rerun.run.finished_at) / 1000))
    if (newer !== String(Math.floor(Date.parse(result.run.finished_at) / 1000))) {
      expect(fake.events()[0]!.Attribute.every((a) => a.timestamp === newer)).toBe(true)
    }
    expect(fake.log).toEqual([])
  })

  test("every pushed event passed the fake's validator, and restSearch finds them by uuid", async () => {
    const refusals = fake.requests.filter((r) => r.method === "POST" && r.status !== 200)
    expect(refusals).toEqual([])
    const uuid = mispEvents(result)[1]!.Event.uuid
    const response = await fetch(new URL("events/restSearch", fake.url), {
      method: "POST",
      headers: { Authorization: KEY, Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ returnFormat: "json", uuid })
    })
    const body = (await response.json()) as { response: Array<{ Event: { uuid: string } }> }
    expect(body.response.map((r) => r.Event.uuid)).toEqual([uuid])
  })

  test("the fake refuses what MISP refuses: a malformed event, a duplicate add, an edit that is not newer", async () => {
    const [event] = mispEvents(result)
    const malformed: MispEvent = {
      Event: {
        ...event!.Event,
        uuid: "00000000-0000-4000-8000-000000000001",
        Attribute: event!.Event.Attribute.map((a) => (a.type === "ip-src" ? { ...a, category: "Payload type" } : a))
      }
    }
    const refused = await failureOf([malformed])
    expectOneSentence(refused.message)
    expect(refused.message).toContain(`refused to add event 00000000-0000-4000-8000-000000000001 (HTTP 403: Could not add Event: `)
    expect(refused.message).toContain(`category "Payload type" is not valid for type ip-src`)
    expect(fake.eventByUuid("00000000-0000-4000-8000-000000000001")).toBeUndefined()

    const headers = { Authorization: KEY, Accept: "application/json", "Content-Type": "application/json" }
    const duplicate = await fetch(new URL("events/add", fake.url), { method: "POST", headers, body: JSON.stringify(event) })
    expect(duplicate.status).toBe(404)
    expect(((await duplicate.json()) as { message: string }).message).toBe(EVENT_EXISTS)
    expect(duplicate.headers.get("location")).toBe(`/events/${fake.eventByUuid(event!.Event.uuid)!.id}`)

    // Why the client leaves the event timestamp out of an edit: MISP refuses one that is not newer.
    const stale = await fetch(new URL(`events/edit/${event!.Event.uuid}`, fake.url), { method: "POST", headers, body: JSON.stringify(event) })
    expect(stale.status).toBe(403)
    expect(((await stale.json()) as { errors: string }).errors).toBe(NOT_NEWER)
  })

  test("a wrong key is one sentence (MISP's 403), and the key is not in it", async () => {
    const events = mispEvents(result)
    const error = await failureOf(events, { key: "not-the-key" })
    expect(error._tag).toBe("MispPushError")
    expect(error.message).toBe(`MISP at ${fake.url} rejected the API key (HTTP 403); check the key and that its user may use the API.`)
    expect(error.message).not.toContain("not-the-key")
    expect(error.uuid).toBe(events[0]!.Event.uuid)
    expect(error.pushed).toBe(0)
  })

  test("an unreachable server is one sentence", async () => {
    const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") })
    const url = `http://127.0.0.1:${closed.port}/`
    await closed.stop(true)
    const error = await failureOf(mispEvents(result), { url })
    expectOneSentence(error.message)
    expect(error.message).toMatch(new RegExp(`^Could not reach MISP at ${url.replace(/[.]/g, "\\.")} \\(.+\\); check the URL and that the server is running\\.$`))
  })

  test("plain http to a host that is not loopback is refused before any request", async () => {
    let calls = 0
    const counting: FetchLike = () => {
      calls++
      return Promise.resolve(new Response("{}"))
    }
    const error = await failureOf(mispEvents(result), { url: "http://misp.example.org/", fetch: counting })
    expectOneSentence(error.message)
    expect(error.message).toContain("is not https")
    expect(calls).toBe(0)
  })

  test("a server that never answers times out per request, in one sentence", async () => {
    const silent: FetchLike = (_url, init) =>
      new Promise((_, reject) => init.signal?.addEventListener("abort", () => reject(new Error("aborted"))))
    const events = mispEvents(result)
    const started = performance.now()
    const error = await failureOf(events, { url: "https://misp.example.org/misp", fetch: silent, timeoutMs: 50 })
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(error.message).toBe(`MISP at https://misp.example.org/misp/ did not answer GET /events/view/${events[0]!.Event.uuid} within 50 ms.`)
  })
})
