/**
 * The STIX 2.1 export against the official STIX 2.1 JSON schemas (copied offline into
 * test/fixtures/stix2.1-schemas/), on Results the real CLI produced: a generated log of 600
 * sessions and test/fixtures/cowrie.json. Validity alone would pass an empty bundle, so the
 * content is checked too: campaigns, indicators, ATT&CK, references, confidence, ids that do
 * not move between runs, and pattern literals that survive hostile values.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020.js"
import addFormats from "ajv-formats"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative, resolve } from "node:path"
import { domainToASCII } from "node:url"
import type { Campaign } from "../../src/domain/Campaign.ts"
import type { Result } from "../../src/domain/Result.ts"
import {
  ENGINE_EPOCH,
  ipAddressId,
  patternLiteral,
  serializeStixBundle,
  type StixAttackPattern,
  type StixBundle,
  type StixCampaign,
  type StixIndicator,
  type StixIpAddress,
  type StixObject,
  type StixObservedData,
  type StixRelationship,
  type StixSighting,
  stixBundle
} from "../../src/export/stix.ts"
import { REPO, runCli } from "../cli/helpers.ts"

// ---------------------------------------------------------------------------------------
// The official schemas, offline
// ---------------------------------------------------------------------------------------

const SCHEMAS = resolve(REPO, "test/fixtures/stix2.1-schemas")

const schemaFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? schemaFiles(join(dir, e.name)) : e.name.endsWith(".json") ? [join(dir, e.name)] : []
  )

/** Ajv 2020-12 (what every STIX schema declares) with every schema added under its own $id. */
const loadValidators = (): { readonly ajv: Ajv2020; readonly byPath: Map<string, string> } => {
  // unicodeRegExp off: the STIX patterns escape "-" outside classes ("\\-?$"), which
  // ECMAScript allows only without the u flag Ajv adds by default.
  const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false })
  addFormats(ajv)
  // domain-name.json uses "idn-hostname", which ajv-formats does not implement: an IDN
  // host is one whose ASCII (punycode) form is a valid host name.
  ajv.addFormat("idn-hostname", (s: string) => {
    const ascii = domainToASCII(s)
    return ascii !== "" && ascii.length <= 253 && /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i.test(ascii)
  })
  const byPath = new Map<string, string>()
  for (const file of schemaFiles(SCHEMAS)) {
    const schema = JSON.parse(readFileSync(file, "utf8")) as { $id: string }
    ajv.addSchema(schema)
    byPath.set(relative(SCHEMAS, file), schema.$id)
  }
  return { ajv, byPath }
}

const { ajv, byPath } = loadValidators()
const validatorFor = (path: string): ValidateFunction => {
  const id = byPath.get(path)
  if (id === undefined) throw new Error(`no schema ${path} in ${SCHEMAS}`)
  const v = ajv.getSchema(id)
  if (v === undefined) throw new Error(`schema ${id} did not compile`)
  return v
}
const BUNDLE_SCHEMA = validatorFor("common/bundle.json")
const SCHEMA_OF_TYPE: Record<StixObject["type"], ValidateFunction> = {
  "identity": validatorFor("sdos/identity.json"),
  "campaign": validatorFor("sdos/campaign.json"),
  "indicator": validatorFor("sdos/indicator.json"),
  "attack-pattern": validatorFor("sdos/attack-pattern.json"),
  "observed-data": validatorFor("sdos/observed-data.json"),
  "relationship": validatorFor("sros/relationship.json"),
  "sighting": validatorFor("sros/sighting.json"),
  "ipv4-addr": validatorFor("observables/ipv4-addr.json"),
  "ipv6-addr": validatorFor("observables/ipv6-addr.json")
}

/** Schema failures of the bundle and of each object, as ajv's own text; empty when valid. */
const schemaErrors = (bundle: unknown): Array<string> => {
  const errors: Array<string> = []
  if (!BUNDLE_SCHEMA(bundle)) errors.push(`bundle: ${ajv.errorsText(BUNDLE_SCHEMA.errors, { separator: "\n  " })}`)
  const objects = (bundle as { objects?: ReadonlyArray<{ type: string; id: string }> }).objects ?? []
  for (const o of objects) {
    const { id, type } = o
    const validate = (SCHEMA_OF_TYPE as Record<string, ValidateFunction | undefined>)[type]
    if (validate === undefined) errors.push(`${id}: no schema for type ${type}`)
    else if (!validate(o)) errors.push(`${id}: ${ajv.errorsText(validate.errors, { separator: "\n  " })}`)
  }
  return errors
}

/** Checks the schemas cannot make: references resolve, time order, key names, unique ids. */
const integrityErrors = (bundle: StixBundle): Array<string> => {
  const errors: Array<string> = []
  const ids = new Set(bundle.objects.map((o) => o.id))
  if (ids.size !== bundle.objects.length) errors.push("duplicate ids")
  const ref = (from: string, to: string | undefined): void => {
    if (to !== undefined && !ids.has(to)) errors.push(`${from} refers to missing ${to}`)
  }
  for (const o of bundle.objects) {
    for (const key of Object.keys(o)) {
      if (!/^[a-z0-9_]{2,250}$/.test(key) || (key.startsWith("x") && !/^x_[a-z0-9_]{1,248}$/.test(key))) {
        errors.push(`${o.id}: property name ${key}`)
      }
    }
    if ("created_by_ref" in o) ref(o.id, o.created_by_ref)
    if ("created" in o && o.modified < o.created) errors.push(`${o.id}: modified before created`)
    if (o.type === "relationship") {
      ref(o.id, o.source_ref)
      ref(o.id, o.target_ref)
    } else if (o.type === "sighting") {
      ref(o.id, o.sighting_of_ref)
      for (const r of o.observed_data_refs ?? []) ref(o.id, r)
      if (o.last_seen < o.first_seen) errors.push(`${o.id}: last_seen before first_seen`)
    } else if (o.type === "observed-data") {
      for (const r of o.object_refs) ref(o.id, r)
      if (o.last_observed < o.first_observed) errors.push(`${o.id}: last_observed before first_observed`)
    } else if (o.type === "campaign" && o.last_seen < o.first_seen) errors.push(`${o.id}: last_seen before first_seen`)
  }
  return errors
}

// ---------------------------------------------------------------------------------------
// Pattern literals, per the STIX patterning grammar
// ---------------------------------------------------------------------------------------

/**
 * `[object-type:path = 'literal']` with StringLiteral from STIXPattern.g4:
 * QUOTE ( ~['\\] | '\\\'' | '\\\\' )* QUOTE. Returns the path and the unescaped value, or
 * undefined when the pattern is not one comparison of that form.
 */
const parseEqualityPattern = (pattern: string): { readonly path: string; readonly value: string } | undefined => {
  const m = /^\[([a-z0-9-]+:[a-z_]+(?:\.'[A-Za-z0-9-]+')?) = '((?:[^'\\]|\\'|\\\\)*)'\]$/.exec(pattern)
  return m === null ? undefined : { path: m[1]!, value: m[2]!.replace(/\\(['\\])/g, "$1") }
}

// ---------------------------------------------------------------------------------------
// Results from the real CLI
// ---------------------------------------------------------------------------------------

const DIR = mkdtempSync(join(tmpdir(), "stix-export-"))
const FIXTURE = resolve(REPO, "test/fixtures/cowrie.json")

const analyze = (input: string, out: string): Result => {
  const run = runCli(["analyze", input, "--out", out, "--quiet"])
  if (run.code !== 0) throw new Error(`analyze ${input} exited ${run.code}: ${run.stderr}`)
  return JSON.parse(readFileSync(out, "utf8")) as Result
}

let generated: Result
let rerun: Result
let fixture: Result

beforeAll(() => {
  const gen = runCli(["generate", "--sessions", "600", "--seed", "7", "--out", DIR, "--quiet"])
  if (gen.code !== 0) throw new Error(`generate exited ${gen.code}: ${gen.stderr}`)
  generated = analyze(join(DIR, "cowrie.json"), join(DIR, "result.json"))
  rerun = analyze(join(DIR, "cowrie.json"), join(DIR, "result-again.json"))
  fixture = analyze(FIXTURE, join(DIR, "fixture-result.json"))
})

afterAll(() => rmSync(DIR, { recursive: true, force: true }))

/** The object types whose `type` may be T (an address SCO's type is a union of two). */
type StixOf<T extends StixObject["type"]> = StixObject extends infer O ? (O extends StixObject ? (T extends O["type"] ? O : never) : never) : never

const ofType = <T extends StixObject["type"]>(bundle: StixBundle, type: T): Array<StixOf<T>> =>
  bundle.objects.filter((o): o is StixOf<T> => o.type === type)

const campaignObject = (bundle: StixBundle, c: Campaign): StixCampaign => {
  const found = ofType(bundle, "campaign").filter((o) => o.x_dshield_campaign_id === c.id)
  expect(found).toHaveLength(1)
  return found[0]!
}

const relationshipsOf = (bundle: StixBundle, type: StixRelationship["relationship_type"]): Array<StixRelationship> =>
  ofType(bundle, "relationship").filter((r) => r.relationship_type === type)

/**
 * A campaign built by hand around the given indicators and addresses (for the edge cases),
 * on top of a real one so that fields added to Campaign later come along.
 */
const handMade = (base: Result, indicators: Campaign["indicators"], sourceIps: ReadonlyArray<string>): Result => {
  const campaign: Campaign = {
    ...generated.campaigns[0]!,
    id: "c-handmade0000001",
    parent_id: null,
    level: "family",
    name: "hand-made family",
    sessions: ["0c1d2e3f4a5b", "1a2b3c4d5e6f"],
    source_ips: [...sourceIps],
    first_seen: "2024-04-01T20:00:30.104Z",
    last_seen: "2024-04-01T20:10:00.000Z",
    confidence: 0.5,
    confidence_interval: [0.25, 0.75],
    assessment: "possibly_coordinated",
    evidence: {},
    indicators: [...indicators],
    ttps: ["T1110.001"],
    formed_by: []
  }
  return { ...base, campaigns: [...base.campaigns, campaign] }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

describe("STIX 2.1 export: schemas", () => {
  test("the generated run's bundle and every object in it validate", () => {
    expect(generated.campaigns.length).toBeGreaterThan(10)
    const bundle = stixBundle(generated)
    expect(schemaErrors(bundle)).toEqual([])
    expect(integrityErrors(bundle)).toEqual([])
    // Round trip through the serialised form: what a consumer reads validates too.
    expect(schemaErrors(JSON.parse(serializeStixBundle(bundle)))).toEqual([])
  })

  test("the fixture's run (three sessions, no campaign) is a valid bundle of the engine identity alone", () => {
    expect(fixture.campaigns).toHaveLength(0)
    const bundle = stixBundle(fixture)
    expect(schemaErrors(bundle)).toEqual([])
    expect(bundle.objects.map((o) => o.type)).toEqual(["identity"])
  })

  test("the validator is not vacuous: broken objects fail with ajv's text", () => {
    const bundle = stixBundle(generated)
    const campaign = ofType(bundle, "campaign")[0]!
    const broken = [
      { ...campaign, confidence: 101 },
      { ...campaign, created: "2024-04-01T20:00:30Z" }, // created needs milliseconds
      { ...campaign, x_DShield: 1 }, // custom property names are lowercase
      { ...campaign, x_dshield_formed_by: [] }, // no empty lists
      { ...ofType(bundle, "relationship")[0]!, source_ref: "campaign-1" },
      { ...ofType(bundle, "ipv4-addr")[0]!, value: "300.1.2.3" }
    ]
    for (const object of broken) {
      const errors = schemaErrors({ ...bundle, objects: [object] })
      expect(errors.length).toBeGreaterThan(0)
      expect(errors.join("\n")).toMatch(/must /)
    }
  })
})

describe("STIX 2.1 export: content", () => {
  test("one campaign object per engine campaign; each family under its own name", () => {
    const bundle = stixBundle(generated)
    expect(ofType(bundle, "campaign")).toHaveLength(generated.campaigns.length)
    const families = generated.campaigns.filter((c) => c.level === "family")
    expect(families.length).toBeGreaterThan(0)
    for (const family of families) {
      const o = campaignObject(bundle, family)
      expect(o.name).toBe(family.name)
      expect(o.x_dshield_level).toBe("family")
      expect(o.x_dshield_parent_campaign_id).toBeUndefined()
    }
    // A variant named like its family is told apart (platforms merge campaigns by name).
    const clash = generated.campaigns.filter((c) => c.level !== "family" && generated.campaigns.some((d) => d !== c && d.name === c.name))
    expect(clash.length).toBeGreaterThan(0)
    for (const c of clash) expect(campaignObject(bundle, c).name).toBe(`${c.name} (${c.level} ${c.id})`)
    for (const c of generated.campaigns.filter((c) => !clash.includes(c))) expect(campaignObject(bundle, c).name).toBe(c.name)
  })

  test("confidence is the integer round(100 × engine confidence); assessment and p-values are stated", () => {
    const bundle = stixBundle(generated)
    for (const c of generated.campaigns) {
      const o = campaignObject(bundle, c)
      expect(Number.isInteger(o.confidence)).toBe(true)
      expect(o.confidence).toBe(Math.round(100 * c.confidence))
      expect(o.x_dshield_confidence).toBe(c.confidence)
      expect(o.x_dshield_assessment).toBe(c.assessment)
      expect(o.description).toContain(c.assessment.replace(/_/g, " "))
      for (const [kind, e] of Object.entries(c.evidence)) {
        expect(o.x_dshield_evidence?.[kind as keyof Campaign["evidence"]]?.p_value).toBe(e.p_value)
        expect(o.description).toContain(`${kind.replace(/_/g, " ")} score ${e.score.toFixed(2)}, p = ${e.p_value.toPrecision(2)}`)
      }
      expect(o.first_seen).toBe(new Date(c.first_seen).toISOString())
      expect(o.last_seen).toBe(new Date(c.last_seen).toISOString())
    }
  })

  test("variants and waves are campaigns related-to their parent", () => {
    const bundle = stixBundle(generated)
    const children = generated.campaigns.filter((c) => c.parent_id !== null)
    expect(children.length).toBeGreaterThan(0)
    const related = relationshipsOf(bundle, "related-to")
    expect(related).toHaveLength(children.length)
    for (const child of children) {
      const parent = generated.campaigns.find((c) => c.id === child.parent_id)!
      const from = campaignObject(bundle, child)
      expect(from.x_dshield_parent_campaign_id).toBe(parent.id)
      expect(related.filter((r) => r.source_ref === from.id && r.target_ref === campaignObject(bundle, parent).id)).toHaveLength(1)
    }
  })

  test("indicators with an observable get a pattern and `indicates`; the rest stay verbatim on the campaign", () => {
    const bundle = stixBundle(generated)
    const indicators = ofType(bundle, "indicator")
    const indicates = relationshipsOf(bundle, "indicates")
    let patterned = 0
    for (const c of generated.campaigns) {
      const o = campaignObject(bundle, c)
      for (const i of c.indicators) {
        if (i.type === "sha256" || i.type === "url" || i.type === "domain") {
          const path = i.type === "sha256" ? "file:hashes.'SHA-256'" : i.type === "url" ? "url:value" : "domain-name:value"
          const match = indicators.filter((x) => parseEqualityPattern(x.pattern)?.path === path && parseEqualityPattern(x.pattern)?.value === i.value)
          expect(match).toHaveLength(1)
          expect(indicates.filter((r) => r.source_ref === match[0]!.id && r.target_ref === o.id)).toHaveLength(1)
          patterned++
        } else {
          expect(o.x_dshield_indicators_without_pattern).toContainEqual({ type: i.type, value: i.value })
        }
      }
    }
    expect(patterned).toBeGreaterThan(0)
    for (const x of indicators) {
      expect(x.pattern_type).toBe("stix")
      expect(x.valid_from).toBe(x.created)
    }
  })

  test("each ip indicator's pattern names its address (IPv4 and IPv6, canonical form)", () => {
    // The engine emits no ip indicators today (src/pipeline/analyzeSessions.ts), so each
    // family gets its first source address as one, plus the fixture's raw address spellings.
    const families = generated.campaigns.filter((c) => c.level === "family")
    const withIps: Result = {
      ...generated,
      campaigns: generated.campaigns.map((c) =>
        c.level === "family" ? { ...c, indicators: [...c.indicators, { type: "ip" as const, value: c.source_ips[0]! }] } : c
      )
    }
    const result = handMade(withIps, [
      { type: "ip", value: "2001:DB8:85A3::8A2E:370:7334" },
      { type: "ip", value: "::ffff:198.51.100.7" },
      { type: "ip", value: "not an address" }
    ], [])
    const bundle = stixBundle(result)
    expect(schemaErrors(bundle)).toEqual([])
    const patterns = ofType(bundle, "indicator").map((x) => x.pattern)
    for (const family of families) {
      const ip = family.source_ips[0]!
      const mine = patterns.filter((p) => p.includes(`'${ip}'`))
      expect(mine).toEqual([`[ipv4-addr:value = '${ip}']`])
    }
    expect(patterns).toContain("[ipv6-addr:value = '2001:db8:85a3::8a2e:370:7334']")
    expect(patterns).toContain("[ipv4-addr:value = '198.51.100.7']")
    expect(patterns.some((p) => p.includes("not an address"))).toBe(false)
    const hand = ofType(bundle, "campaign").find((o) => o.x_dshield_campaign_id === "c-handmade0000001")!
    expect(hand.x_dshield_indicators_without_pattern).toEqual([{ type: "ip", value: "not an address" }])
  })

  test("an attack-pattern with the mitre-attack id for every ttp, used by its campaign", () => {
    const bundle = stixBundle(generated)
    const patterns = ofType(bundle, "attack-pattern")
    const uses = relationshipsOf(bundle, "uses")
    const ttps = new Set(generated.campaigns.flatMap((c) => c.ttps))
    expect(ttps.size).toBeGreaterThan(0)
    expect(patterns).toHaveLength(ttps.size)
    const byTechnique = new Map<string, StixAttackPattern>()
    for (const p of patterns) {
      const ref = p.external_references[0]!
      expect(ref.source_name).toBe("mitre-attack")
      const [technique, sub] = ref.external_id.split(".")
      expect(ref.url).toBe(`https://attack.mitre.org/techniques/${technique}/${sub === undefined ? "" : `${sub}/`}`)
      byTechnique.set(ref.external_id, p)
    }
    expect(byTechnique.get("T1110.001")?.name).toBe("Brute Force: Password Guessing")
    for (const c of generated.campaigns) {
      const o = campaignObject(bundle, c)
      for (const ttp of c.ttps) {
        const p = byTechnique.get(ttp)
        expect(p).toBeDefined()
        expect(uses.filter((r) => r.source_ref === o.id && r.target_ref === p!.id)).toHaveLength(1)
      }
      expect(uses.filter((r) => r.source_ref === o.id)).toHaveLength(new Set(c.ttps).size)
    }
  })

  test("observed-data over the source addresses and one sighting of each campaign", () => {
    const bundle = stixBundle(generated)
    const scos = new Map(bundle.objects.filter((o): o is StixIpAddress => o.type === "ipv4-addr" || o.type === "ipv6-addr").map((o) => [o.id, o]))
    const observed = new Map(ofType(bundle, "observed-data").map((o) => [o.id, o] as const))
    const sightings = ofType(bundle, "sighting")
    expect(sightings).toHaveLength(generated.campaigns.length)
    for (const c of generated.campaigns) {
      const o = campaignObject(bundle, c)
      const mine = sightings.filter((s) => s.sighting_of_ref === o.id)
      expect(mine).toHaveLength(1)
      const s: StixSighting = mine[0]!
      expect(s.count).toBe(c.sessions.length)
      expect([s.first_seen, s.last_seen]).toEqual([o.first_seen, o.last_seen])
      expect(s.observed_data_refs).toHaveLength(1)
      const od: StixObservedData = observed.get(s.observed_data_refs![0]!)!
      expect(od.number_observed).toBe(c.sessions.length)
      expect([od.first_observed, od.last_observed]).toEqual([o.first_seen, o.last_seen])
      expect(od.object_refs.map((r) => scos.get(r)!.value).sort()).toEqual([...c.source_ips].sort())
    }
  })

  test("address SCOs carry the spec's deterministic ids", () => {
    // The examples of the STIX 2.1 specification (§2.9) and of the python-stix2 library.
    expect(ipAddressId("ipv4-addr", "198.51.100.3")).toBe("ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4")
    expect(ipAddressId("ipv6-addr", "2001:db8::1")).toBe("ipv6-addr--6469e3a9-b053-5e34-a025-9396ae051d26")
    const bundle = stixBundle(generated)
    for (const o of bundle.objects) {
      if (o.type === "ipv4-addr" || o.type === "ipv6-addr") expect(o.id).toBe(ipAddressId(o.type, o.value))
    }
  })

  test("the fixture's address spellings become canonical ipv4-addr / ipv6-addr SCOs that validate", () => {
    const raw = [...new Set([...readFileSync(FIXTURE, "utf8").matchAll(/"src_ip":"([^"]+)"/g)].map((m) => m[1]!))].sort()
    expect(raw).toEqual(["2001:DB8:85A3::8A2E:370:7334", "203.0.113.45", "::ffff:198.51.100.7"])
    const bundle = stixBundle(handMade(fixture, [], raw))
    expect(schemaErrors(bundle)).toEqual([])
    expect(integrityErrors(bundle)).toEqual([])
    const values = bundle.objects.flatMap((o) => (o.type === "ipv4-addr" || o.type === "ipv6-addr" ? [`${o.type} ${o.value}`] : []))
    expect(values.sort()).toEqual(["ipv4-addr 198.51.100.7", "ipv4-addr 203.0.113.45", "ipv6-addr 2001:db8:85a3::8a2e:370:7334"])
  })
})

describe("STIX 2.1 export: determinism", () => {
  test("the same Result gives a byte-identical bundle; times come from the Result, not the clock", () => {
    const a = serializeStixBundle(stixBundle(generated))
    const b = serializeStixBundle(stixBundle(structuredClone(generated)))
    expect(b).toBe(a)
    expect(a.endsWith("}\n")).toBe(true)
    const fromResult = new Set([ENGINE_EPOCH, new Date(generated.run.finished_at).toISOString()])
    for (const c of generated.campaigns) {
      fromResult.add(new Date(c.first_seen).toISOString())
      fromResult.add(new Date(c.last_seen).toISOString())
    }
    const times = [...a.matchAll(/"(created|modified|valid_from|first_seen|last_seen|first_observed|last_observed)": "([^"]+)"/g)]
    expect(times.length).toBeGreaterThan(0)
    for (const [, key, time] of times) expect(`${key} ${fromResult.has(time!) ? "from the Result" : time}`).toBe(`${key} from the Result`)
  })

  test("re-running analyze on the same input keeps every object id; only run id and times move", () => {
    expect(rerun.run.id).not.toBe(generated.run.id)
    const a = stixBundle(generated)
    const b = stixBundle(rerun)
    expect(b.objects.map((o) => o.id)).toEqual(a.objects.map((o) => o.id))
    expect(b.id).not.toBe(a.id) // a bundle is one run's: its id follows the run
    const neutral = (bundle: StixBundle, result: Result): string =>
      serializeStixBundle(bundle)
        .replaceAll(new Date(result.run.finished_at).toISOString(), "<finished>")
        .replaceAll(result.run.id, "<run>")
        .replace(bundle.id, "<bundle>")
    expect(neutral(b, rerun)).toBe(neutral(a, generated))
  })
})

describe("STIX 2.1 export: hostile indicator values", () => {
  const HOSTILE_URL = "http://evil.example/x?q=a'b\\c']\n[url:value = 'pwned"
  const HOSTILE_DOMAIN = "ev'il\\\\.example'] OR [x:y = '1"

  test("patternLiteral escapes exactly backslash and quote", () => {
    expect(patternLiteral("a'b\\c")).toBe("'a\\'b\\\\c'")
    expect(patternLiteral("plain\nline")).toBe("'plain\nline'")
    expect(patternLiteral("\\'")).toBe("'\\\\\\''")
  })

  test("quotes, backslashes, `']` and newlines stay inside one string literal and round-trip", () => {
    const result = handMade(fixture, [
      { type: "url", value: HOSTILE_URL },
      { type: "domain", value: HOSTILE_DOMAIN },
      { type: "sha256", value: "not-a-hash']" }
    ], ["203.0.113.45"])
    const bundle = JSON.parse(serializeStixBundle(stixBundle(result))) as StixBundle
    expect(schemaErrors(bundle)).toEqual([])
    expect(integrityErrors(bundle)).toEqual([])
    const indicators: Array<StixIndicator> = ofType(bundle, "indicator")
    expect(indicators).toHaveLength(2)
    const parsed = indicators.map((x) => parseEqualityPattern(x.pattern))
    expect(parsed).toContainEqual({ path: "url:value", value: HOSTILE_URL })
    expect(parsed).toContainEqual({ path: "domain-name:value", value: HOSTILE_DOMAIN })
    const url = indicators.find((x) => x.pattern.startsWith("[url:"))!
    expect(url.pattern).toBe("[url:value = 'http://evil.example/x?q=a\\'b\\\\c\\']\n[url:value = \\'pwned']")
    // Not a hash: no file pattern is invented; the value is kept verbatim on the campaign.
    const hand = ofType(bundle, "campaign").find((o) => o.x_dshield_campaign_id === "c-handmade0000001")!
    expect(hand.x_dshield_indicators_without_pattern).toEqual([{ type: "sha256", value: "not-a-hash']" }])
  })
})
