/**
 * The threat-intel feed (src/intel/threatIntelFeed.ts) and the tool coordinator's report on
 * it: which MISP attribute types become indicators, how imports merge, what a reader does
 * with a missing or damaged file.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { threatIntelReport } from "../../actors/tool-coordinator/ToolCoordinator.ts"
import type { MispAttribute } from "../../src/export/mispClient.ts"
import { cidrOf, EMPTY_FEED, feedMatches, feedPath, indicatorOfListLine, indicatorsOfAttribute, mergeAttributes, mergeList, readFeed, writeFeed } from "../../src/intel/threatIntelFeed.ts"

const attribute = (over: Partial<MispAttribute>): MispAttribute => ({
  uuid: "00000000-0000-4000-8000-000000000001",
  type: "ip-src",
  value: "192.0.2.1",
  timestamp: 1_700_000_000,
  toIds: true,
  eventUuid: "10000000-0000-4000-8000-000000000001",
  eventInfo: "an event",
  tags: ["tlp:green"],
  ...over
})

describe("the threat-intel feed", () => {
  test("MISP types become the indicators sessions show; others none", () => {
    expect(indicatorsOfAttribute({ type: "ip-dst|port", value: "2001:DB8::1|22" })).toEqual([{ type: "ip", value: "2001:db8::1" }])
    expect(indicatorsOfAttribute({ type: "domain|ip", value: "Bad.Example|198.51.100.7" })).toEqual([{ type: "domain", value: "bad.example" }, { type: "ip", value: "198.51.100.7" }])
    expect(indicatorsOfAttribute({ type: "sha256", value: "A".repeat(64) })).toEqual([{ type: "sha256", value: "a".repeat(64) }])
    expect(indicatorsOfAttribute({ type: "sha256", value: "not-a-hash" })).toEqual([])
    expect(indicatorsOfAttribute({ type: "ip-src", value: "not an address" })).toEqual([])
    expect(indicatorsOfAttribute({ type: "text", value: "anything" })).toEqual([])
  })

  test("imports merge: one indicator per value, one sighting per attribute, the newer attribute wins", () => {
    const source = { source: "https://misp.example/", tags: ["tlp:green"], since: null }
    const first = mergeAttributes(EMPTY_FEED, [attribute({}), attribute({ uuid: "00000000-0000-4000-8000-000000000002", type: "text", value: "x" })], source)
    expect(first.kept).toBe(1)
    expect(first.unsupported).toEqual({ text: 1 })
    const again = mergeAttributes(first.feed, [attribute({ timestamp: 1_700_000_500, eventInfo: "renamed" }), attribute({ uuid: "00000000-0000-4000-8000-000000000003", eventInfo: "another" })], source)
    expect(again.feed.indicators).toHaveLength(1)
    const sightings = again.feed.indicators[0]!.sightings
    expect(sightings.map((s) => [s.attribute_uuid, s.event_info])).toEqual([
      ["00000000-0000-4000-8000-000000000001", "renamed"],
      ["00000000-0000-4000-8000-000000000003", "another"]
    ])
    // An older copy of an attribute does not replace the newer one.
    const older = mergeAttributes(again.feed, [attribute({ timestamp: 1_600_000_000, eventInfo: "old" })], source)
    expect(older.feed.indicators[0]!.sightings[0]!.event_info).toBe("renamed")
    expect(older.feed.imports).toHaveLength(3)
  })

  test("the threat-intel tool: missing feed, damaged feed and matches, each said in its report", () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-feed-"))
    const path = join(dir, "feed.json")
    const missing = threatIntelReport(path, ["192.0.2.1"])
    expect(missing.status).toBe("unavailable")
    expect(missing.detail).toContain("import --misp")
    writeFileSync(path, "{not json")
    expect(readFeed(path)).toEqual({ error: `${path} is not JSON; import the feed again with dshield-coord import --misp` })
    expect(threatIntelReport(path, ["192.0.2.1"]).status).toBe("unavailable")
    const { feed } = mergeAttributes(EMPTY_FEED, [attribute({}), attribute({ uuid: "00000000-0000-4000-8000-000000000009", value: "198.51.100.9" })], { source: "https://misp.example/", tags: ["tlp:green"], since: "30d" })
    writeFeed(path, feed)
    expect(readFeed(path)).toEqual({ feed })
    const report = threatIntelReport(path, ["203.0.113.5", "192.0.2.1", "192.0.2.1"])
    expect(report.status).toBe("ok")
    expect(report.detail).toStartWith("1 of 3 addresses are on the threat-intel feed (2 indicators from 1 import(s)")
    expect(report.detail).toContain('192.0.2.1 (event "an event"; tags tlp:green)')
    expect(feedMatches(feed, "ip", ["198.51.100.9", "192.0.2.1"]).map((m) => m.value)).toEqual(["198.51.100.9", "192.0.2.1"])
  })

  test("plain lists: addresses, CIDR networks, hashes, URLs and domains, # comments; an address matches the networks holding it", () => {
    const list = [
      "# blocklist of the week",
      "198.51.100.7",
      "203.0.113.77/24   # the whole /24 (host bits cleared)",
      "2001:DB8::/32",
      `${"B".repeat(64)}`,
      "http://203.0.113.9/bins.sh",
      "bad.example.org",
      "not an indicator at all",
      ""
    ].join("\n")
    const { feed, kept, unreadable } = mergeList(EMPTY_FEED, list, { source: "file:week.txt", tags: ["blocklist"] })
    expect(kept).toBe(6)
    expect(unreadable).toEqual([8])
    expect(feed.indicators.map((i) => `${i.type} ${i.value}`)).toEqual([
      "cidr 2001:db8:0:0:0:0:0:0/32",
      "cidr 203.0.113.0/24",
      "domain bad.example.org",
      "ip 198.51.100.7",
      `sha256 ${"b".repeat(64)}`,
      "url http://203.0.113.9/bins.sh"
    ])
    const hits = feedMatches(feed, "ip", ["203.0.113.200", "198.51.100.7", "192.0.2.1", "2001:db8:1::5", "2001:db9::1"])
    expect(hits.map((h) => h.value)).toEqual(["203.0.113.200", "198.51.100.7", "2001:db8:1::5"])
    expect(hits[0]!.sightings[0]!.tags).toEqual(["blocklist"])
    // The same list again adds nothing.
    expect(mergeList(feed, list, { source: "file:week.txt", tags: ["blocklist"] }).feed.indicators).toEqual(feed.indicators)
    expect(cidrOf("10.1.2.3/33")).toBeUndefined()
    expect(cidrOf("10.1.2.3/8")).toBe("10.0.0.0/8")
    expect(indicatorOfListLine("   # only a comment")).toBeUndefined()
  })

  test("where the feed is: --feed, else DSHIELD_THREAT_INTEL, else beside the embedded store", () => {
    expect(feedPath("a.json", { DSHIELD_THREAT_INTEL: "b.json" })).toBe("a.json")
    expect(feedPath(undefined, { DSHIELD_THREAT_INTEL: "b.json" })).toBe("b.json")
    expect(feedPath(undefined, {})).toBe("./.dshield-coord/threat-intel.json")
  })
})
