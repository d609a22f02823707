/**
 * `dshield-coord export` and `analyze --stix/--misp/--misp-url`, as a user runs them: the
 * files they write are the exporters' output for the Result the user has (analyze's exports
 * equal `export` of its own --out file), a push to MISP creates then updates (the fake MISP
 * of test/integration/mispFake.ts, key in MISP_KEY), and mistakes are one sentence.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import type { Result } from "../../src/domain/Result.ts"
import { mispEvents, serializeMispEvent } from "../../src/export/misp.ts"
import { serializeStixBundle, stixBundle } from "../../src/export/stix.ts"
import { startMispFake } from "../integration/mispFake.ts"
import { CORPORA, HAVE_CORPORA, RADEC, REPO, runCli } from "./helpers.ts"

const dir = mkdtempSync(join(tmpdir(), "dshield-export-"))
const fake = startMispFake("test-misp-key-0123456789")
afterAll(() => fake.stop())

/** The CLI without blocking this process (the fake MISP answers from this event loop). */
const cli = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const proc = Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), ...args], { cwd: REPO, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { code, stdout, stderr }
}

describe("exports from the command line", () => {
  expect(runCli(["generate", "--sessions", "500", "--seed", "9", "--out", join(dir, "gen"), "--quiet"]).code).toBe(0)
  const input = join(dir, "gen", "cowrie.json")

  test("analyze --stix --misp writes exactly what the exporters make of its Result; export of that Result writes the same", async () => {
    const run = await cli(["analyze", input, "--quiet", "--out", join(dir, "r.json"), "--stix", join(dir, "a.stix.json"), "--misp", join(dir, "a-misp"), "--tlp", "green"])
    expect(run.stderr).toBe("")
    expect(run.code).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, "r.json"), "utf8")) as Result
    expect(readFileSync(join(dir, "a.stix.json"), "utf8")).toBe(serializeStixBundle(stixBundle(result)))
    const events = mispEvents(result, { tlp: "green" })
    expect(events.length).toBe(result.campaigns.filter((c) => c.level === "family").length)
    expect(readdirSync(join(dir, "a-misp")).sort()).toEqual(events.map((e) => `${e.Event.uuid}.json`).sort())
    for (const e of events) expect(readFileSync(join(dir, "a-misp", `${e.Event.uuid}.json`), "utf8")).toBe(serializeMispEvent(e))

    const again = await cli(["export", "--stix", join(dir, "b.stix.json"), "--misp", join(dir, "b-misp"), "--tlp", "green", join(dir, "r.json")])
    expect(again.code).toBe(0)
    expect(again.stderr).toContain("STIX 2.1 bundle written")
    expect(readFileSync(join(dir, "b.stix.json"), "utf8")).toBe(readFileSync(join(dir, "a.stix.json"), "utf8"))
    for (const e of events) expect(readFileSync(join(dir, "b-misp", `${e.Event.uuid}.json`), "utf8")).toBe(serializeMispEvent(e))
  }, 60_000)

  test("--misp-url pushes to MISP: created the first time, updated the second, never duplicated", async () => {
    const env = { MISP_KEY: fake.key }
    const first = await cli(["export", "--misp-url", fake.url, join(dir, "r.json")], env)
    expect(first.code).toBe(0)
    const families = (JSON.parse(readFileSync(join(dir, "r.json"), "utf8")) as Result).campaigns.filter((c) => c.level === "family").length
    expect(first.stderr).toContain(`${families} event(s) created, 0 updated`)
    const second = await cli(["export", "--misp-url", fake.url, join(dir, "r.json")], env)
    expect(second.code).toBe(0)
    expect(second.stderr).toContain(`0 event(s) created, ${families} updated`)
    expect(fake.events()).toHaveLength(families)
  }, 60_000)

  test("export --campaign ID from the store: the same MISP event and attributes, and STIX ids, as the export of analyze --store's Result", async () => {
    const data = join(dir, "store")
    const stored = await cli(["analyze", input, "--quiet", "--store", "--data-dir", data, "--out", join(dir, "stored.json"), "--misp", join(dir, "stored-misp"), "--stix", join(dir, "stored.stix.json")])
    expect(stored.code).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, "stored.json"), "utf8")) as Result
    const family = result.campaigns.filter((c) => c.level === "family").sort((a, b) => b.sessions.length - a.sessions.length)[0]!
    const child = result.campaigns.find((c) => c.parent_id === family.id)
    // A variant's or wave's id exports its whole family, like the family's own id.
    for (const id of [family.id, ...(child === undefined ? [] : [child.id])]) {
      const out = join(dir, `from-store-${id}`)
      const run = await cli(["export", "--campaign", id, "--data-dir", data, "--misp", out, "--stix", `${out}.stix.json`])
      expect(run.code).toBe(0)
      const [file] = readdirSync(out)
      const fromStore = JSON.parse(readFileSync(join(out, file!), "utf8")) as { Event: { uuid: string; Attribute: Array<{ uuid: string; type: string; value: string }>; Tag: Array<{ name: string }> } }
      const fromResult = JSON.parse(readFileSync(join(dir, "stored-misp", file!), "utf8")) as typeof fromStore
      expect(fromStore.Event.uuid).toBe(fromResult.Event.uuid)
      const attributes = (e: typeof fromStore) => e.Event.Attribute.map((a) => `${a.uuid} ${a.type} ${a.value}`).sort()
      expect(attributes(fromStore)).toEqual(attributes(fromResult))
      expect(fromStore.Event.Tag.map((t) => t.name).sort()).toEqual(fromResult.Event.Tag.map((t) => t.name).sort())
      const ids = (path: string, types: ReadonlyArray<string>) =>
        (JSON.parse(readFileSync(path, "utf8")) as { objects: Array<{ id: string; type: string }> }).objects.filter((o) => types.includes(o.type)).map((o) => o.id)
      const storeIds = ids(`${out}.stix.json`, ["campaign", "indicator", "attack-pattern", "intrusion-set"])
      expect(storeIds.length).toBeGreaterThan(0)
      expect(storeIds.filter((x) => !ids(join(dir, "stored.stix.json"), ["campaign", "indicator", "attack-pattern", "intrusion-set"]).includes(x))).toEqual([])
    }
    const unknown = await cli(["export", "--campaign", "c-0000000000000000", "--data-dir", data, "--stix", join(dir, "none.json")])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr.trim()).toBe("dshield-coord: No stored campaign has id c-0000000000000000 in tenant default; see `dshield-coord campaigns list`.")
    const otherTenant = await cli(["export", "--campaign", family.id, "--tenant", "someone-else", "--data-dir", data, "--stix", join(dir, "none.json")])
    expect(otherTenant.code).toBe(2)
    expect(runCli(["export", "--tenant", "t", "--stix", join(dir, "x.json"), join(dir, "r.json")]).stderr).toContain("give --campaign too")
    expect(runCli(["export", "--campaign", family.id, "--stix", join(dir, "x.json"), join(dir, "r.json")]).stderr).toContain("not both")
  }, 120_000)

  test.skipIf(!HAVE_CORPORA)("export --campaign after a second stored log: the attributes of the second Result's export, none left from the first run", async () => {
    // alvarogar, then radec73, into one store: the second run re-analyses both, and a family's
    // client, hassh and networks from the first run were kept beside the second run's.
    const data = join(dir, "two-logs")
    for (const [log, out] of [[join(CORPORA, "alvarogar-2022-07.cowrie.json.gz"), "first.json"], [RADEC, "second.json"]] as const) {
      expect((await cli(["analyze", log, "--quiet", "--store", "--data-dir", data, "--out", join(dir, out)])).code).toBe(0)
    }
    expect((await cli(["export", "--misp", join(dir, "second-misp"), join(dir, "second.json")])).code).toBe(0)
    const attributes = (path: string) =>
      (JSON.parse(readFileSync(path, "utf8")) as { Event: { Attribute: Array<{ type: string; value: string }> } }).Event.Attribute.map((a) => `${a.type} ${a.value}`).sort()
    const families = (JSON.parse(readFileSync(join(dir, "second.json"), "utf8")) as Result).campaigns.filter((c) => c.level === "family")
    expect(families.length).toBeGreaterThan(5)
    for (const family of families) {
      const out = join(dir, `two-logs-${family.id}`)
      expect((await cli(["export", "--campaign", family.id, "--data-dir", data, "--misp", out])).code).toBe(0)
      const [file] = readdirSync(out)
      expect(attributes(join(out, file!))).toEqual(attributes(join(dir, "second-misp", file!)))
    }
  }, 180_000)

  test("import --misp pulls the tagged attributes into the feed once; a deep analysis's threat-intel tool names the addresses it knows", async () => {
    const env = { MISP_KEY: fake.key }
    const feed = join(dir, "feed.json")
    // The events of the push test above: TLP amber, ip-src for every source of each family.
    const result = JSON.parse(readFileSync(join(dir, "r.json"), "utf8")) as Result
    const addresses = new Set(result.campaigns.filter((c) => c.level === "family").flatMap((c) => c.source_ips))
    const first = await cli(["import", "--misp", fake.url, "--tag", "tlp:amber", "--feed", feed], env)
    expect(first.code).toBe(0)
    const kept = JSON.parse(readFileSync(feed, "utf8")) as { imports: Array<unknown>; indicators: Array<{ type: string; value: string; sightings: Array<unknown> }> }
    expect(new Set(kept.indicators.filter((i) => i.type === "ip").map((i) => i.value))).toEqual(addresses)
    expect(first.stderr).toContain(`The feed ${feed} holds ${kept.indicators.length} indicator(s)`)
    // Again, and with a tag no event carries: nothing is duplicated, nothing is lost.
    expect((await cli(["import", "--misp", fake.url, "--tag", "tlp:amber", "--since", "1d", "--feed", feed], env)).code).toBe(0)
    const none = await cli(["import", "--misp", fake.url, "--tag", "no-such-tag", "--feed", feed], env)
    expect(none.stderr).toContain("0 attribute(s) tagged no-such-tag")
    const after = JSON.parse(readFileSync(feed, "utf8")) as typeof kept
    expect(after.indicators).toEqual(kept.indicators)
    expect(after.imports).toHaveLength(3)

    const deep = await cli(["analyze", input, "--depth", "deep", "--out", join(dir, "deep.json")], { DSHIELD_THREAT_INTEL: feed })
    expect(deep.code).toBe(0)
    const all = new Set((JSON.parse(readFileSync(join(dir, "deep.json"), "utf8")) as Result).campaigns.flatMap((c) => c.source_ips))
    const line = `${deep.stdout}${deep.stderr}`.split("\n").find((l) => l.includes("tool threat-intel"))!
    expect(line).toContain("ok")
    expect(line).toContain(`${addresses.size} of `)
    expect(all.size).toBeGreaterThanOrEqual(addresses.size)

    // A plain list joins the same feed: the deep analysis now also knows the listed network.
    // An address of the log in no campaign (the tool looks at every source of the input).
    const logAddresses = new Set(readFileSync(input, "utf8").split("\n").filter((l) => l !== "").map((l) => String((JSON.parse(l) as { src_ip?: string }).src_ip)))
    const someAddress = [...logAddresses].sort().find((ip) => !addresses.has(ip) && /^\d+\.\d+\.\d+\.\d+$/.test(ip))!
    writeFileSync(join(dir, "list.txt"), `# test list\n${someAddress.split(".").slice(0, 3).join(".")}.0/24\nnonsense line\n`)
    const listed = await cli(["import", "--list", join(dir, "list.txt"), "--tag", "local-blocklist", "--feed", feed])
    expect(listed.code).toBe(0)
    expect(listed.stderr).toContain("1 indicator(s), 1 line(s) that are none (first at line 3)")
    const again = await cli(["analyze", input, "--depth", "deep", "--out", join(dir, "deep2.json")], { DSHIELD_THREAT_INTEL: feed })
    const line2 = `${again.stdout}${again.stderr}`.split("\n").find((l) => l.includes("tool threat-intel"))!
    expect(Number(/ok \((\d+) of /.exec(line2)![1])).toBeGreaterThan(addresses.size)

    // Mistakes: one sentence each.
    const noKey = await cli(["import", "--misp", fake.url, "--tag", "tlp:amber", "--feed", feed], { MISP_KEY: "" })
    expect(noKey.code).toBe(2)
    expect(noKey.stderr).toContain("Set MISP_KEY")
    const wrongKey = await cli(["import", "--misp", fake.url, "--tag", "tlp:amber", "--feed", feed], { MISP_KEY: "wrong" })
    expect(wrongKey.code).toBe(1)
    expect(wrongKey.stderr.trim().split("\n")).toHaveLength(1)
    expect(runCli(["import", "--misp", fake.url]).stderr).toContain("at least one --tag")
    expect(runCli(["import", "--misp", fake.url, "--tag", "x", "--since", "yesterday"]).stderr).toContain("--since must be")
    expect((await cli(["import", "--misp", "http://misp.example.org/", "--tag", "x"], { MISP_KEY: "k" })).stderr).toContain("not https")
  }, 120_000)

  test("import --misp-feed reads a feed folder (here: analyze --misp's events); bad event files are named, the rest kept; --tag filters", async () => {
    const folder = join(dir, "feed-folder")
    const run = await cli(["analyze", input, "--quiet", "--out", join(dir, "feed-r.json"), "--misp", folder, "--tlp", "green"])
    expect(run.code).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, "feed-r.json"), "utf8")) as Result
    const addresses = new Set(result.campaigns.filter((c) => c.level === "family").flatMap((c) => c.source_ips))
    const events = readdirSync(folder).filter((f) => f.endsWith(".json"))
    expect(events.length).toBeGreaterThan(1)
    // A manifest as MISP writes it, naming one event that is not there; one file that is not JSON.
    const manifest: Record<string, unknown> = {}
    for (const f of events) manifest[f.replace(/\.json$/, "")] = { info: "x", Tag: [{ name: "tlp:green" }] }
    manifest["00000000-0000-4000-8000-000000000000"] = { info: "missing" }
    writeFileSync(join(folder, "manifest.json"), JSON.stringify(manifest))
    writeFileSync(join(folder, "11111111-1111-4111-8111-111111111111.json"), "{ not json")
    const feed = join(dir, "folder-feed.json")
    const imported = await cli(["import", "--misp-feed", folder, "--feed", feed])
    expect(imported.code).toBe(0)
    expect(imported.stderr).toContain(`MISP feed ${folder}: ${events.length} event(s)`)
    expect(imported.stderr).toContain("2 event file(s) not read (00000000-0000-4000-8000-000000000000.json: named in manifest.json but missing; 11111111-1111-4111-8111-111111111111.json: not JSON)")
    const kept = JSON.parse(readFileSync(feed, "utf8")) as { indicators: Array<{ type: string; value: string; sightings: Array<{ source: string; tags: Array<string> }> }> }
    expect(new Set(kept.indicators.filter((i) => i.type === "ip").map((i) => i.value))).toEqual(addresses)
    for (const i of kept.indicators) {
      expect(i.sightings[0]!.source).toBe("misp-feed:feed-folder")
      expect(i.sightings[0]!.tags).toContain("tlp:green")
    }
    const again = await cli(["import", "--misp-feed", folder, "--feed", feed])
    expect(JSON.parse(readFileSync(feed, "utf8")).indicators).toEqual(kept.indicators)
    expect(again.code).toBe(0)
    const none = join(dir, "folder-feed-none.json")
    const filtered = await cli(["import", "--misp-feed", folder, "--tag", "tlp:red", "--feed", none])
    expect(filtered.code).toBe(0)
    expect(filtered.stderr).toMatch(/0 attribute\(s\) tagged tlp:red \(\d+ left out by --tag\/--since\)/)
    expect((JSON.parse(readFileSync(none, "utf8")) as { indicators: Array<unknown> }).indicators).toEqual([])
    const empty = mkdtempSync(join(tmpdir(), "dshield-empty-feed-"))
    const nothing = await cli(["import", "--misp-feed", empty, "--feed", none])
    expect(nothing.code).toBe(2)
    expect(nothing.stderr.trim()).toBe(`dshield-coord: ${empty} holds no MISP feed events (manifest.json and <uuid>.json files); give a feed folder such as one MISP's feed export writes.`)
    expect(runCli(["import", "--misp-feed", folder, "--list", join(dir, "x.txt")]).stderr).toContain("not several")
  }, 60_000)

  test("mistakes are one sentence: no key, a wrong key, no target, a bad TLP, not a Result", async () => {
    const noKey = await cli(["export", "--misp-url", fake.url, join(dir, "r.json")], { MISP_KEY: "" })
    expect(noKey.code).toBe(2)
    expect(noKey.stderr).toContain("Set MISP_KEY")
    const wrongKey = await cli(["export", "--misp-url", fake.url, join(dir, "r.json")], { MISP_KEY: "not-the-key" })
    expect(wrongKey.code).toBe(1)
    expect(wrongKey.stderr).not.toContain("not-the-key")
    expect(wrongKey.stderr.trim().split("\n")).toHaveLength(1)
    const noTarget = runCli(["export", join(dir, "r.json")])
    expect(noTarget.code).toBe(2)
    expect(noTarget.stderr).toContain("--stix FILE, --misp DIR or --misp-url URL")
    expect(runCli(["export", "--tlp", "purple", "--stix", join(dir, "x.json"), join(dir, "r.json")]).stderr).toContain("--tlp must be one of")
    const notResult = runCli(["export", "--stix", join(dir, "x.json"), input])
    expect(notResult.code).toBe(2)
    expect(notResult.stderr).toContain("not")
  }, 60_000)
})
