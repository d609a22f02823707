/**
 * Where sources are: the IP range tables (src/enrichment/RangeTable.ts), the shipped
 * databases (src/enrichment/Geography.ts) and the geographic evidence they make possible
 * (src/analytics/evidence.ts), tested on hand-made tables and groups whose answer is known.
 */
import { describe, expect, test } from "bun:test"
import { EvidenceContext, measureGroup, type SessionGeography } from "../../src/analytics/evidence.ts"
import { computeFeatures } from "../../src/analytics/sessionFeatures.ts"
import type { AttackSession } from "../../src/domain/AttackSession.ts"
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { gzipSync } from "node:zlib"
import { defaultGeography, geographySources, iptoasnGeography } from "../../src/enrichment/Geography.ts"
import { maxmindGeography } from "../../src/enrichment/maxmindGeography.ts"
import { buildRangeTable, ipv4Number, ipv6Number } from "../../src/enrichment/RangeTable.ts"
import { writeMmdb } from "./mmdbWriter.ts"
import { attackSession } from "./sessionFixture.ts"
import { runCli } from "../cli/helpers.ts"

const require = createRequire(import.meta.url)

describe("IP range tables", () => {
  test("addresses as numbers: dotted quads, IPv6 with :: and an IPv4 tail; anything else refused", () => {
    expect(ipv4Number("0.0.0.0")).toBe(0)
    expect(ipv4Number("255.255.255.255")).toBe(4294967295)
    expect(ipv4Number("1.2.3.4")).toBe(16909060)
    for (const bad of ["1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "", "1.2.3.4 ", "1234.1.1.1"]) expect(ipv4Number(bad)).toBe(-1)
    expect(ipv6Number("::1")).toBe(1n)
    expect(ipv6Number("2001:db8::")).toBe(0x20010db8n << 96n)
    expect(ipv6Number("::ffff:1.2.3.4")).toBe((0xffffn << 32n) | 16909060n)
    expect(ipv6Number("fe80::1%eth0")).toBe((0xfe80n << 112n) | 1n)
    for (const bad of ["1.2.3.4", "2001:db8::1::2", "2001:db8:0:0:0:0:0:0:1", "g::1", "12345::1"]) expect(ipv6Number(bad)).toBeUndefined()
  })

  test("inclusive ranges, gaps unknown, quoted labels with commas, IPv6 read on its first use", () => {
    const v4 = Buffer.from('16777216,16777471,13335,"Cloudflare, Inc."\n16777472,16778239,4134,"A ""quoted"" org"\n16778240,16779263,13335,"Cloudflare, Inc."\r\n')
    let v6Reads = 0
    const v6 = (): string => {
      v6Reads++
      return `${(0x20010db8n << 96n).toString()},${((0x20010db8n << 96n) | 0xffffn).toString()},64496,Doc\n`
    }
    const table = buildRangeTable(v4, v6, (rest) => rest.join(" | "))
    const label = (ip: string): string | undefined => {
      const k = table.find(ip)
      return k < 0 ? undefined : table.label(k)
    }
    expect(label("1.0.0.0")).toBe("13335 | Cloudflare, Inc.")
    expect(label("1.0.0.255")).toBe("13335 | Cloudflare, Inc.")
    expect(label("1.0.1.0")).toBe('4134 | A "quoted" org')
    expect(label("1.0.3.255")).toBe('4134 | A "quoted" org')
    expect(label("1.0.4.0")).toBe("13335 | Cloudflare, Inc.")
    expect(label("1.0.7.255")).toBe("13335 | Cloudflare, Inc.")
    expect(label("1.0.8.0")).toBeUndefined()
    expect(label("0.255.255.255")).toBeUndefined()
    expect(label("1.0.12.0")).toBeUndefined()
    expect(label("not an address")).toBeUndefined()
    expect(v6Reads).toBe(0)
    expect(label("2001:db8::ffff")).toBe("64496 | Doc")
    expect(label("2001:db8::1:0")).toBeUndefined()
    expect(v6Reads).toBe(1)
    expect(table.ranges).toBe(4)
    // The cached form (the IPv4 arrays) answers as the CSV did.
    const again = buildRangeTable(table.ipv4(), v6, (rest) => rest.join(" | "))
    for (const ip of ["1.0.0.0", "1.0.3.255", "1.0.4.0", "1.0.8.0", "2001:db8::ffff"]) {
      const k = again.find(ip)
      expect(k < 0 ? undefined : again.label(k)).toBe(label(ip))
    }
  })

  test("the shipped databases know well-known networks and name their sources", () => {
    const g = defaultGeography()
    expect(g.asnOf("8.8.8.8")?.asn).toBe(15169)
    expect(g.countryOf("8.8.8.8")).toBe("US")
    expect(g.asnOf("1.1.1.1")?.asn).toBe(13335)
    expect(g.asnOf("2001:4860:4860::8888")?.asn).toBe(15169)
    // An AS announced over IPv6 only: its label first appears when the IPv6 part is read.
    expect(g.asnOf("2001:200:1ba::1")).toEqual({ asn: 24047, organisation: "Internet Systems Consortium, Inc." })
    expect(g.countryOf("10.0.0.1")).toBeUndefined()
    expect(g.countryOf("192.0.2.7")).toBeUndefined()
    expect(g.sources.map((s) => s.name)).toEqual(["@ip-location-db/geo-whois-asn-country", "@ip-location-db/asn"])
    // What a run manifest records: name, version and the digest of both files.
    expect(geographySources().map((s) => s.name)).toEqual(g.sources.map((s) => s.name))
    for (const s of geographySources()) expect(s.sha256).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe("the shipped tables' cache", () => {
  test("built from the CSV on first use, then read back from the cache with the same answers, UTF-8 names and IPv6 included", () => {
    const cache = mkdtempSync(join(tmpdir(), "dshield-geo-cache-"))
    // Each run is a process of its own: the tables are loaded once per process.
    const lookups = (): string => {
      const script = `const { defaultGeography } = await import(${JSON.stringify(join(import.meta.dir, "../../src/enrichment/Geography.ts"))});
        const g = defaultGeography();
        const ips = ["8.8.8.8", "1.1.1.1", "38.226.206.1", "45.70.144.1", "192.0.2.7", "2001:4860:4860::8888", "2001:200:1ba::1"];
        console.log(JSON.stringify(ips.map((ip) => [ip, g.countryOf(ip) ?? null, g.asnOf(ip) ?? null])))`
      const r = Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, DSHIELD_CACHE_DIR: cache }, stdout: "pipe", stderr: "pipe" })
      expect(r.exitCode).toBe(0)
      return r.stdout.toString()
    }
    const built = lookups()
    const files = readdirSync(cache).filter((f) => f.startsWith("geography-"))
    expect(files.length).toBe(2)
    const inodes = () => files.map((f) => statSync(join(cache, f)).ino)
    const written = inodes()
    const cached = lookups()
    expect(cached).toBe(built)
    // Read, not built and written again (a rebuild renames a new file into place).
    expect(inodes()).toEqual(written)
    const answers = JSON.parse(cached) as Array<[string, string | null, { asn: number; organisation: string } | null]>
    expect(answers[0]![2]?.asn).toBe(15169)
    expect(answers[4]).toEqual(["192.0.2.7", null, null])
    expect(answers[6]![2]).toEqual({ asn: 24047, organisation: "Internet Systems Consortium, Inc." })
    // A name with a non-ASCII character (a soft hyphen in the shipped data) reads back whole.
    expect(answers.some(([, , a]) => a !== null && /[^\x00-\x7f]/.test(a.organisation))).toBe(true)
    // A cache that does not match its own layout is not used: the table is built again.
    for (const f of files) writeFileSync(join(cache, f), readFileSync(join(cache, f)).subarray(0, 100))
    expect(lookups()).toBe(built)
    expect(files.map((f) => statSync(join(cache, f)).size).every((size) => size > 100)).toBe(true)
  }, 60_000)
})

describe("geographic evidence", () => {
  // 200 sessions from 200 addresses; the hand-made geography spreads them over 20 countries.
  const sessions: Array<AttackSession> = Array.from({ length: 200 }, (_, k) =>
    attackSession({
      id: `s${String(k).padStart(3, "0")}`,
      sensor: "test",
      src_ip: `198.51.${k >> 8}.${k & 255}`,
      src_port: 40000 + k,
      dst_ip: "203.0.113.1",
      start: new Date(Date.UTC(2024, 0, 1) + k * 3_600_000).toISOString(),
      end: new Date(Date.UTC(2024, 0, 1) + k * 3_600_000 + 60_000).toISOString()
    }))
  const features = computeFeatures(sessions)
  const countries = Array.from({ length: 20 }, (_, k) => `C${k}`)
  const country = new Int32Array(features.count)
  for (let i = 0; i < features.count; i++) country[i] = i % 20
  // Sessions 0, 20, 40, …: all in country C0.
  const geography: SessionGeography = { country, countries, asn: new Int32Array(features.count).fill(-1), asns: [] }

  test("a group from one country is concentrated against the population; a spread group is not; no geography, no key", () => {
    const ctx = new EvidenceContext(features, 199, 7, geography)
    const oneCountry = Int32Array.from({ length: 10 }, (_, k) => k * 20)
    const spread = Int32Array.from({ length: 10 }, (_, k) => k * 21)
    const concentrated = measureGroup(oneCountry, -1, ctx, 7, "one").raw.find((r) => r.kind === "geographic_proximity")!
    expect(concentrated.p).toBeLessThan(0.01)
    expect(concentrated.score).toBeGreaterThan(0.8)
    expect(concentrated.detail).toStartWith("1 distinct country for 10 sessions with a known source country (C0 100%)")
    const wide = measureGroup(spread, -1, ctx, 7, "wide").raw.find((r) => r.kind === "geographic_proximity")!
    expect(wide.p).toBeGreaterThan(0.2)
    expect(wide.score).toBe(0)
    const none = new EvidenceContext(features, 199, 7)
    expect(measureGroup(oneCountry, -1, none, 7, "one").raw.map((r) => r.kind)).not.toContain("geographic_proximity")
    // The other evidence is the same with or without geography (no draw of its own).
    const strip = (raw: ReadonlyArray<{ kind: string }>) => raw.filter((r) => r.kind !== "geographic_proximity")
    expect(strip(measureGroup(oneCountry, -1, new EvidenceContext(features, 199, 7, geography), 7, "one").raw)).toEqual(strip(measureGroup(oneCountry, -1, none, 7, "one").raw))
  })

  test("sessions of unknown country are left out; fewer than two known, no key", () => {
    const sparse: SessionGeography = { ...geography, country: Int32Array.from(country, (c, i) => (i < 2 ? c : -1)) }
    const ctx = new EvidenceContext(features, 99, 7, sparse)
    expect(measureGroup(Int32Array.from([0, 1, 2, 3]), -1, ctx, 7, "x").raw.map((r) => r.kind)).not.toContain("geographic_proximity")
  })
})

describe("a user's iptoasn database (--asn-db, DSHIELD_ASN_DB)", () => {
  test("country and ASN from one TSV, plain or gzip; not-routed rows unknown; named with its digest", () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-iptoasn-"))
    const tsv = [
      "0.0.0.0\t0.255.255.255\t0\tNone\tNot routed",
      "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET",
      "1.0.1.0\t1.0.3.255\t4134\tCN\tCHINANET-BACKBONE No.31,Jin-rong Street",
      "2001:db8::\t2001:db8::ffff\t64496\tZZ\tDOC-AS \"quoted\"",
      ""
    ].join("\n")
    writeFileSync(join(dir, "ip2asn.tsv"), tsv)
    writeFileSync(join(dir, "ip2asn.tsv.gz"), gzipSync(tsv))
    for (const file of ["ip2asn.tsv", "ip2asn.tsv.gz"]) {
      const g = iptoasnGeography(join(dir, file))
      expect(g.countryOf("1.0.0.7")).toBe("US")
      expect(g.asnOf("1.0.2.9")).toEqual({ asn: 4134, organisation: "CHINANET-BACKBONE No.31,Jin-rong Street" })
      expect(g.asnOf("0.1.2.3")).toBeUndefined()
      expect(g.countryOf("0.1.2.3")).toBeUndefined()
      expect(g.asnOf("2001:db8::10")).toEqual({ asn: 64496, organisation: 'DOC-AS "quoted"' })
      expect(g.countryOf("2001:db8::10")).toBe("ZZ")
      expect(g.sources[0]!.name).toBe(`iptoasn:${file}`)
      expect(g.sources[0]!.sha256).toMatch(/^[0-9a-f]{64}$/)
    }
    writeFileSync(join(dir, "empty.tsv"), "nothing here\n")
    expect(() => iptoasnGeography(join(dir, "empty.tsv"))).toThrow("holds no iptoasn ranges")
  })
})

describe("analyze --asn-db", () => {
  test("the analysis's tools and evidence use the given database; an unreadable one is one sentence", () => {
    const dir = mkdtempSync(join(tmpdir(), "dshield-asn-db-"))
    expect(runCli(["generate", "--sessions", "300", "--seed", "31", "--out", dir, "--quiet"]).code).toBe(0)
    // Two halves of the IPv4 space: every address is known, in one of two countries.
    writeFileSync(join(dir, "halves.tsv"), "0.0.0.0\t127.255.255.255\t64500\tXA\tLOWER-HALF\n128.0.0.0\t255.255.255.255\t64501\tXB\tUPPER-HALF\n")
    const deep = runCli(["analyze", "--depth", "deep", "--asn-db", join(dir, "halves.tsv"), "--out", join(dir, "r.json"), join(dir, "cowrie.json")])
    expect(deep.code).toBe(0)
    expect(deep.stderr).toMatch(/tool asn-prefix: ok \((\d+) of \1 addresses in 2 autonomous systems \(iptoasn:halves\.tsv@user\)/)
    const result = JSON.parse(readFileSync(join(dir, "r.json"), "utf8")) as { campaigns: Array<{ evidence: { geographic_proximity?: { detail: string } } }> }
    const details = result.campaigns.flatMap((c) => (c.evidence.geographic_proximity === undefined ? [] : [c.evidence.geographic_proximity.detail]))
    expect(details.length).toBeGreaterThan(0)
    for (const d of details) expect(d).toMatch(/\((X[AB] \d+%(, X[AB] \d+%)?); autonomous systems AS6450[01] (LOWER|UPPER)-HALF/)
    const missing = runCli(["analyze", "--asn-db", join(dir, "absent.tsv"), join(dir, "cowrie.json")])
    expect(missing.code).toBe(2)
    expect(missing.stderr.trim()).toBe(`dshield-coord: Cannot read the ASN database ${join(dir, "absent.tsv")} (ENOENT); give an iptoasn.com ip2asn TSV file (plain or .gz).`)
  }, 60_000)
})

describe("a user's MaxMind databases (--geoip-db, DSHIELD_GEOIP_DB)", () => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-geoip-"))
  const country = join(dir, "GeoLite2-Country-test.mmdb")
  const asn = join(dir, "GeoLite2-ASN-test.mmdb")
  const connection = join(dir, "GeoIP2-Connection-Type-test.mmdb")
  writeFileSync(country, writeMmdb("GeoLite2-Country", [
    ["1.0.0.0/24", { country: { iso_code: "AU", names: { en: "Australia" } }, registered_country: { iso_code: "AU" } }],
    ["1.0.1.0/24", { registered_country: { iso_code: "CN" } }],
    ["2001:db8::/32", { country: { iso_code: "ZZ" } }]
  ]))
  writeFileSync(asn, writeMmdb("GeoLite2-ASN", [
    ["1.0.0.0/24", { autonomous_system_number: 13335, autonomous_system_organization: "CLOUDFLARENET" }],
    ["2001:db8::/32", { autonomous_system_number: 4200000001, autonomous_system_organization: "A 32-bit AS" }]
  ]))
  writeFileSync(connection, writeMmdb("GeoIP2-Connection-Type", [
    ["1.0.0.0/24", { connection_type: "Corporate" }],
    ["1.0.1.0/24", { connection_type: "Cable/DSL" }]
  ]))

  test("GeoLite2 Country and ASN answer in their own layouts; registered country when no country; named with digests", () => {
    let fellBack = 0
    const g = maxmindGeography([country, asn], () => {
      fellBack++
      return defaultGeography()
    })
    expect(g.countryOf("1.0.0.9")).toBe("AU")
    expect(g.countryOf("1.0.1.9")).toBe("CN")
    expect(g.countryOf("2001:db8::1")).toBe("ZZ")
    expect(g.countryOf("1.0.2.1")).toBeUndefined()
    expect(g.asnOf("1.0.0.200")).toEqual({ asn: 13335, organisation: "CLOUDFLARENET" })
    expect(g.asnOf("2001:db8:ffff::1")).toEqual({ asn: 4200000001, organisation: "A 32-bit AS" })
    // The ASN file is the ASN source: an address it does not hold is unknown, not asked elsewhere.
    expect(g.asnOf("1.0.1.9")).toBeUndefined()
    expect(g.networkKindOf?.("1.0.0.9")).toBeUndefined()
    expect(g.countryOf("not an address")).toBeUndefined()
    expect(fellBack).toBe(0)
    expect(g.sources.map((s) => [s.name, s.version])).toEqual([
      ["mmdb:GeoLite2-Country-test.mmdb", "GeoLite2-Country 2026-01-01"],
      ["mmdb:GeoLite2-ASN-test.mmdb", "GeoLite2-ASN 2026-01-01"]
    ])
    for (const s of g.sources) expect(s.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(g.sourceOf("asn")).toBe("mmdb:GeoLite2-ASN-test.mmdb@GeoLite2-ASN 2026-01-01")
    expect(g.sourceOf("country")).toBe("mmdb:GeoLite2-Country-test.mmdb@GeoLite2-Country 2026-01-01")
  })

  test("a Country file alone takes ASNs from the fallback; Connection-Type gives the residential hint", () => {
    const g = maxmindGeography([country, connection], defaultGeography)
    expect(g.asnOf("8.8.8.8")?.asn).toBe(15169)
    expect(g.countryOf("8.8.8.8")).toBeUndefined()
    expect(g.networkKindOf?.("1.0.1.5")).toBe("residential")
    expect(g.networkKindOf?.("1.0.0.5")).toBeUndefined()
    expect(g.sources.map((s) => s.name)).toEqual(["mmdb:GeoLite2-Country-test.mmdb", "mmdb:GeoIP2-Connection-Type-test.mmdb", "@ip-location-db/asn"])
    expect(g.sourceOf("asn")).toMatch(/^@ip-location-db\/asn@/)
  })

  test("ip-location-db's country MMDB (country_code) reads like the CSV it is built from", () => {
    const shipped = join(dirname(require.resolve("@ip-location-db/geo-whois-asn-country-mmdb/package.json")), "geo-whois-asn-country.mmdb")
    const g = maxmindGeography([shipped], defaultGeography)
    for (const ip of ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "185.220.101.1", "10.0.0.1"]) expect(g.countryOf(ip)).toBe(defaultGeography().countryOf(ip))
  })

  test("a file that is not an MMDB, or is missing, is one sentence", () => {
    writeFileSync(join(dir, "not.mmdb"), "plain text\n")
    expect(() => maxmindGeography([join(dir, "not.mmdb")], defaultGeography)).toThrow(`${join(dir, "not.mmdb")} is not a MaxMind database (.mmdb); give a GeoLite2 or GeoIP2 file such as GeoLite2-Country.mmdb or GeoLite2-ASN.mmdb.`)
    expect(() => maxmindGeography([join(dir, "absent.mmdb")], defaultGeography)).toThrow(`Cannot read the GeoIP database ${join(dir, "absent.mmdb")} (ENOENT); give a MaxMind .mmdb file.`)
  })

  test("analyze --geoip-db: evidence, ASN and country indicators and the MISP AS attribute come from the given files", () => {
    const work = mkdtempSync(join(tmpdir(), "dshield-geoip-analyze-"))
    expect(runCli(["generate", "--sessions", "300", "--seed", "31", "--out", work, "--quiet"]).code).toBe(0)
    // Two halves of the IPv4 space, each one country, one AS and one network kind.
    writeFileSync(join(work, "halves-country.mmdb"), writeMmdb("GeoLite2-Country", [["0.0.0.0/1", { country: { iso_code: "XA" } }], ["128.0.0.0/1", { country: { iso_code: "XB" } }]]))
    writeFileSync(join(work, "halves-asn.mmdb"), writeMmdb("GeoLite2-ASN", [["0.0.0.0/1", { autonomous_system_number: 64500, autonomous_system_organization: "LOWER-HALF" }], ["128.0.0.0/1", { autonomous_system_number: 64501, autonomous_system_organization: "UPPER-HALF" }]]))
    writeFileSync(join(work, "halves-anon.mmdb"), writeMmdb("GeoIP2-Anonymous-IP", [["0.0.0.0/1", { is_hosting_provider: true }]]))
    const out = join(work, "r.json")
    const run = runCli(["analyze", "--geoip-db", join(work, "halves-country.mmdb"), "--geoip-db", join(work, "halves-asn.mmdb"), "--geoip-db", join(work, "halves-anon.mmdb"), "--misp", join(work, "misp"), "--manifest", join(work, "m.json"), "--out", out, join(work, "cowrie.json")])
    expect(run.code).toBe(0)
    const result = JSON.parse(readFileSync(out, "utf8")) as { campaigns: Array<{ source_ips: Array<string>; indicators: Array<{ type: string; value: string; name?: string }>; evidence: { geographic_proximity?: { detail: string } } }> }
    expect(result.campaigns.length).toBeGreaterThan(0)
    for (const c of result.campaigns) {
      const lower = c.source_ips.filter((ip) => Number(ip.split(".")[0]) < 128).length
      const expected = [...(lower > 0 ? ["AS64500"] : []), ...(lower < c.source_ips.length ? ["AS64501"] : [])]
      expect(c.indicators.filter((i) => i.type === "asn").map((i) => i.value).sort()).toEqual(expected)
      for (const i of c.indicators.filter((x) => x.type === "asn")) expect(i.name).toBe(i.value === "AS64500" ? "LOWER-HALF" : "UPPER-HALF")
      expect(c.indicators.filter((i) => i.type === "country").map((i) => i.value).sort()).toEqual(expected.map((a) => (a === "AS64500" ? "XA" : "XB")))
      const detail = c.evidence.geographic_proximity?.detail
      expect(detail).toBeDefined()
      // Only the lower half is classified (hosting): the share is of classified sessions.
      if (lower > 0) expect(detail).toMatch(/networks hosting 100% of \d+ classified/)
      else expect(detail).not.toMatch(/classified/)
    }
    const manifest = JSON.parse(readFileSync(join(work, "m.json"), "utf8")) as { enrichment_databases: Array<{ name: string; sha256: string }> }
    expect(manifest.enrichment_databases.map((d) => d.name)).toEqual([
      "mmdb:halves-country.mmdb@GeoLite2-Country 2026-01-01",
      "mmdb:halves-asn.mmdb@GeoLite2-ASN 2026-01-01",
      "mmdb:halves-anon.mmdb@GeoIP2-Anonymous-IP 2026-01-01"
    ])
    const events = readdirSync(join(work, "misp")).map((f) => JSON.parse(readFileSync(join(work, "misp", f), "utf8")) as { Event: { Attribute: Array<{ type: string; value: string; category: string; to_ids: boolean }> } })
    const as = events.flatMap((e) => e.Event.Attribute.filter((a) => a.type === "AS"))
    expect(as.length).toBeGreaterThan(0)
    for (const a of as) {
      expect(["64500", "64501"]).toContain(a.value)
      expect(a.category).toBe("Network activity")
      expect(a.to_ids).toBe(false)
    }
    // Replay needs the same databases: without them it says which; with them it reproduces.
    const without = runCli(["replay", join(work, "m.json")])
    expect(without.code).toBe(1)
    expect(without.stderr).toContain("mmdb:halves-country.mmdb@GeoLite2-Country 2026-01-01, mmdb:halves-asn.mmdb@GeoLite2-ASN 2026-01-01, mmdb:halves-anon.mmdb@GeoIP2-Anonymous-IP 2026-01-01 are not the ones in use; give the recorded files with --asn-db/--geoip-db")
    const replayed = runCli(["replay", join(work, "m.json"), ...["halves-country", "halves-asn", "halves-anon"].flatMap((f) => ["--geoip-db", join(work, `${f}.mmdb`)])])
    expect(replayed.stderr).toBe("")
    expect(replayed.code).toBe(0)
    expect(replayed.stdout).toContain("identical result")
    const wrong = runCli(["analyze", "--geoip-db", join(work, "cowrie.json"), join(work, "cowrie.json")])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr.trim()).toBe(`dshield-coord: ${join(work, "cowrie.json")} is not a MaxMind database (.mmdb); give a GeoLite2 or GeoIP2 file such as GeoLite2-Country.mmdb or GeoLite2-ASN.mmdb.`)
  }, 60_000)
})
