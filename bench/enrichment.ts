/**
 * `npm run bench:enrichment`: the offline country and ASN databases (src/enrichment) —
 * loading them (cached tables, and the first parse of the CSV), lookups per second on one
 * core over the real corpora's source addresses and over a million seeded random IPv4
 * addresses, and how many of each corpus's source addresses the databases know.
 *
 * CORPORA_DIR overrides ../shared/corpora. Prints Markdown for docs/benchmarks.md.
 */
import { existsSync, readdirSync, rmSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import { cpus } from "node:os"
import { dirname, join, resolve } from "node:path"
import { Prng } from "../src/analytics/Prng.ts"
import { defaultGeography } from "../src/enrichment/Geography.ts"
import { maxmindGeography } from "../src/enrichment/maxmindGeography.ts"
import { ingest } from "../src/ingest/ingest.ts"

const REPO = resolve(import.meta.dir, "..")
const CORPORA = process.env.CORPORA_DIR ?? resolve(REPO, "../shared/corpora")

// Cold: a fresh process (this one) loading from the cache written at install.
let t = performance.now()
const g = defaultGeography()
const loadMs = performance.now() - t

const rate = (ips: ReadonlyArray<string>, rounds: number, lookup: (ip: string) => unknown): number => {
  let found = 0
  const started = performance.now()
  for (let r = 0; r < rounds; r++) for (const ip of ips) if (lookup(ip) !== undefined) found++
  const seconds = (performance.now() - started) / 1000
  if (found < 0) console.log(found)
  return (ips.length * rounds) / seconds
}

const prng = new Prng(17, "bench-enrichment")
const random = Array.from({ length: 1_000_000 }, () => `${1 + prng.int(223)}.${prng.int(256)}.${prng.int(256)}.${prng.int(256)}`)
// Warm-up, then measured.
rate(random.slice(0, 100_000), 1, g.countryOf)
const randomCountry = rate(random, 3, g.countryOf)
const randomAsn = rate(random, 3, g.asnOf)

const rows: Array<string> = []
const corpusIps: Array<string> = []
const files = existsSync(CORPORA) ? readdirSync(CORPORA).filter((f) => f.endsWith(".cowrie.json.gz")).sort() : []
for (const file of files) {
  const report = await ingest([join(CORPORA, file)], { format: "auto" })
  const ips = [...new Set(report.sessions.flatMap((s) => (s.src_ip === null ? [] : [s.src_ip])))]
  corpusIps.push(...ips)
  const country = ips.filter((ip) => g.countryOf(ip) !== undefined).length
  const asn = ips.filter((ip) => g.asnOf(ip) !== undefined).length
  const pct = (k: number): string => `${k} (${((100 * k) / ips.length).toFixed(1)}%)`
  rows.push(`| ${file.replace(".cowrie.json.gz", "")} | ${ips.length} | ${pct(country)} | ${pct(asn)} |`)
}
const corpusCountry = corpusIps.length === 0 ? 0 : rate(corpusIps, Math.ceil(1_000_000 / corpusIps.length), g.countryOf)
const corpusAsn = corpusIps.length === 0 ? 0 : rate(corpusIps, Math.ceil(1_000_000 / corpusIps.length), g.asnOf)

// The first parse, as after an install whose cache could not be written.
const cacheDir = join(REPO, "node_modules/.cache/dshield-coord-bench-enrichment")
process.env.DSHIELD_CACHE_DIR = cacheDir
rmSync(cacheDir, { recursive: true, force: true })
t = performance.now()
const fresh = Bun.spawnSync([process.execPath, "-e", `import { defaultGeography } from ${JSON.stringify(resolve(REPO, "src/enrichment/Geography.ts"))}; const t = performance.now(); defaultGeography(); console.log(performance.now() - t)`], {
  env: { ...process.env, DSHIELD_CACHE_DIR: cacheDir },
  stdout: "pipe"
})
const parseMs = Number(fresh.stdout.toString().trim())
rmSync(cacheDir, { recursive: true, force: true })

// A user's MaxMind file (--geoip-db), read with the maxmind package: ip-location-db's country
// MMDB (a devDependency) stands in for GeoLite2-Country, which cannot be shipped.
const mmdbPath = join(dirname(createRequire(import.meta.url).resolve("@ip-location-db/geo-whois-asn-country-mmdb/package.json")), "geo-whois-asn-country.mmdb")
t = performance.now()
const mm = maxmindGeography([mmdbPath], () => g)
const mmdbLoadMs = performance.now() - t
rate(random.slice(0, 100_000), 1, mm.countryOf)
const mmdbCountry = rate(random, 1, mm.countryOf)

const fmt = (x: number): string => Math.round(x).toLocaleString("en-US")
console.log(`machine: ${cpus()[0]?.model ?? "?"} (${cpus().length} cores), ${new Date().toISOString().slice(0, 10)}; ${g.sources.map((s) => `${s.name}@${s.version}`).join(", ")}\n`)
console.log("| step | figure |\n|---|---:|")
console.log(`| load both tables from the install-time cache (in process) | ${loadMs.toFixed(0)} ms |`)
console.log(`| load both tables parsing the CSV (no cache) | ${parseMs.toFixed(0)} ms |`)
console.log(`| country lookups, 1M random IPv4, one core | ${fmt(randomCountry)} /s |`)
console.log(`| ASN lookups, 1M random IPv4, one core | ${fmt(randomAsn)} /s |`)
console.log(`| country lookups, the corpora's ${corpusIps.length} source addresses, one core | ${fmt(corpusCountry)} /s |`)
console.log(`| ASN lookups, the corpora's source addresses, one core | ${fmt(corpusAsn)} /s |`)
console.log(`| open a MaxMind country MMDB (--geoip-db; ip-location-db's, ${(statSync(mmdbPath).size / 1e6).toFixed(1)} MB) | ${mmdbLoadMs.toFixed(0)} ms |`)
console.log(`| country lookups through that MMDB, 1M random IPv4, one core | ${fmt(mmdbCountry)} /s |\n`)
console.log("| corpus | source addresses | with a country | with an ASN |\n|---|---:|---:|---:|")
for (const r of rows) console.log(r)
