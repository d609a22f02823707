/**
 * Where source addresses are: country and autonomous system from offline databases shipped
 * as npm data — ip-location-db's `geo-whois-asn-country` (country of the registry's whois
 * record of the announcing ASN) and `asn` (RouteViews + DB-IP ASN ranges), both CC BY 4.0 /
 * NRO. Loaded once per process, lazily; the same files give the same answers, and their
 * names, versions and digests are what a run records.
 *
 * ip-location-db's npm README warns that its npm data has known errors and that updates move
 * to GitHub releases: a lookup is evidence about a network's registration, not a location.
 */
import { createHash } from "node:crypto"
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { basename, dirname, join } from "node:path"
import { gunzipSync } from "node:zlib"
import { type Geography, type GeographySource, sourceLabel } from "./GeographyModel.ts"
import { maxmindGeography } from "./maxmindGeography.ts"
import { buildRangeTable, type Ipv4Ranges, ipv4Number, ipv6Number, labelInterner, type Labels, type RangeTable } from "./RangeTable.ts"

export type { Geography, GeographySource, NetworkKind } from "./GeographyModel.ts"
export { sourceLabel } from "./GeographyModel.ts"

const require = createRequire(import.meta.url)

const packageDir = (name: string): string => dirname(require.resolve(`${name}/package.json`))

const DATABASES = [
  { name: "@ip-location-db/geo-whois-asn-country", file: "geo-whois-asn-country" },
  { name: "@ip-location-db/asn", file: "asn" }
] as const

const versionOf = (dir: string): string =>
  String((JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: unknown }).version ?? "unknown")

const readDatabase = (name: string, file: string): { v4: Buffer; v6: Buffer; source: GeographySource } => {
  const dir = packageDir(name)
  const v4 = readFileSync(join(dir, `${file}-ipv4-num.csv`))
  const v6 = readFileSync(join(dir, `${file}-ipv6-num.csv`))
  const sha256 = createHash("sha256").update(v4).update(v6).digest("hex")
  return { v4, v6, source: { name, version: versionOf(dir), sha256 } }
}

/**
 * The IPv4 table as arrays, cached beside the embedded store's template
 * (`DSHIELD_CACHE_DIR`, else node_modules/.cache/dshield-coord): parsing the CSV costs about
 * half a second, reading the arrays back a few milliseconds. The cache is named by its format,
 * the package, its version and the CSV's size and modification time, so a new database is
 * parsed again; a cache that cannot be written or read is skipped, never an error.
 *
 * Layout: the magic line, padding to a multiple of 4 bytes, the range count and the label
 * count (two little-endian 32-bit words), then start, end and label (one word per range),
 * each label's offset in the text (count + 1 words), and the labels as UTF-8 text. The arrays
 * are read as views of the file's bytes where the platform's byte order allows (copying them
 * cost 70 ms of every analysis's start), and a label is decoded when it is asked for.
 */
const CACHE_MAGIC = "dshield-coord geography v2\n"
/** Where the count and the arrays start: after the magic, aligned for 32-bit views. */
const CACHE_HEADER = Math.ceil(CACHE_MAGIC.length / 4) * 4
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

const cachePath = (name: string, file: string, csv: string): string => {
  const stat = statSync(csv)
  const key = createHash("sha256").update(`${CACHE_MAGIC}${name}\n${versionOf(packageDir(name))}\n${stat.size}\n${stat.mtimeMs}`).digest("hex").slice(0, 16)
  const root = process.env.DSHIELD_CACHE_DIR ?? join(dirname(dirname(packageDir(name))), ".cache", "dshield-coord")
  return join(root, `geography-${file}-${key}.bin`)
}

/**
 * The file's bytes, mapped rather than read where the platform can (a lookup's binary search
 * touches a few pages of the 12 MB; reading them all cost 30 ms of every analysis's start).
 * Cache files are replaced by renaming a new file into place, never rewritten, so a mapping
 * never sees its file change.
 */
const mapFile = (path: string): Buffer => {
  try {
    const mapped = Bun.mmap(path, { shared: false })
    return Buffer.from(mapped.buffer, mapped.byteOffset, mapped.byteLength)
  } catch {
    return readFileSync(path)
  }
}

const readCache = (path: string): Ipv4Ranges | undefined => {
  try {
    const bytes = mapFile(path)
    if (bytes.toString("latin1", 0, CACHE_MAGIC.length) !== CACHE_MAGIC) return undefined
    let at = CACHE_HEADER
    const count = bytes.readUInt32LE(at)
    const labelCount = bytes.readUInt32LE(at + 4)
    at += 8
    const textAt = at + (3 * count + labelCount + 1) * 4
    if (bytes.length < textAt) return undefined
    const aligned = LITTLE_ENDIAN && (bytes.byteOffset + at) % 4 === 0
    /** The next `length` 32-bit words: a view of the file's bytes, or a copy where that cannot be. */
    const words = (length: number): Uint32Array => {
      const from = at
      at += length * 4
      if (aligned) return new Uint32Array(bytes.buffer, bytes.byteOffset + from, length)
      return Uint32Array.from({ length }, (_, k) => bytes.readUInt32LE(from + k * 4))
    }
    const start = words(count)
    const end = words(count)
    const labelWords = words(count)
    const offsets = words(labelCount + 1)
    if (bytes.length !== textAt + offsets[labelCount]!) return undefined
    const decoded: Array<string | undefined> = []
    const labels: Labels = {
      count: labelCount,
      at: (k) => (decoded[k] ??= bytes.toString("utf8", textAt + offsets[k]!, textAt + offsets[k + 1]!))
    }
    return { start, end, label: new Int32Array(labelWords.buffer, labelWords.byteOffset, count), labels }
  } catch {
    return undefined
  }
}

const writeCache = (path: string, ranges: Ipv4Ranges): void => {
  try {
    const texts = Array.from({ length: ranges.labels.count }, (_, k) => Buffer.from(ranges.labels.at(k), "utf8"))
    const offsets = new Uint32Array(texts.length + 1)
    for (let k = 0; k < texts.length; k++) offsets[k + 1] = offsets[k]! + texts[k]!.length
    const head = Buffer.alloc(CACHE_HEADER + 8)
    head.write(CACHE_MAGIC, 0, "latin1")
    head.writeUInt32LE(ranges.start.length, CACHE_HEADER)
    head.writeUInt32LE(texts.length, CACHE_HEADER + 4)
    const littleEndian = (array: Uint32Array | Int32Array): Buffer => {
      const out = Buffer.alloc(array.length * 4)
      for (let k = 0; k < array.length; k++) out.writeUInt32LE(array[k]! >>> 0, k * 4)
      return out
    }
    mkdirSync(dirname(path), { recursive: true })
    const temporary = `${path}.${process.pid}.tmp`
    writeFileSync(temporary, Buffer.concat([head, littleEndian(ranges.start), littleEndian(ranges.end), littleEndian(ranges.label), littleEndian(offsets), ...texts]))
    renameSync(temporary, path)
  } catch {
    // A read-only install: the table is built from the CSV each time.
  }
}

const loadTable = (name: string, file: string, label: (rest: Array<string>) => string): { table: RangeTable; source: GeographySource } => {
  const dir = packageDir(name)
  const v4Path = join(dir, `${file}-ipv4-num.csv`)
  const v6 = (): string => readFileSync(join(dir, `${file}-ipv6-num.csv`), "latin1")
  const cache = cachePath(name, file, v4Path)
  const cached = readCache(cache)
  const source: GeographySource = { name, version: versionOf(dir), sha256: "" }
  if (cached !== undefined) return { table: buildRangeTable(cached, v6, label), source }
  const table = buildRangeTable(readFileSync(v4Path), v6, label)
  writeCache(cache, table.ipv4())
  return { table, source }
}

let digested: ReadonlyArray<GeographySource> | undefined

/**
 * The databases an analysis's geography comes from, with their digests (what a run manifest
 * records). The shipped ones are digested here, not when loaded: hashing them costs more than
 * reading the cached tables.
 */
export const geographySources = (): ReadonlyArray<GeographySource> =>
  (digested ??= [...new Set(defaultGeography().sources)].map((s) => {
    const shipped = DATABASES.find((d) => d.name === s.name)
    return s.sha256 === "" && shipped !== undefined ? readDatabase(shipped.name, shipped.file).source : s
  }))

/**
 * A user's iptoasn.com database (`ip2asn-v4.tsv`, `ip2asn-combined.tsv`, plain or .gz: start,
 * end, AS number, country, AS description, tab-separated; "Not routed" rows skipped) — both
 * country and ASN from one file, as DSHIELD_ASN_DB or `analyze --asn-db FILE` names it.
 */
export const iptoasnGeography = (path: string): Geography => {
  const raw = readFileSync(path)
  const text = (path.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8")
  const sha256 = createHash("sha256").update(raw).digest("hex")
  const v4: Array<[number, number, string, string]> = []
  const v6Country: Array<string> = []
  const v6Asn: Array<string> = []
  const quote = (t: string): string => `"${t.replaceAll('"', '""')}"`
  for (const line of text.split("\n")) {
    const [start = "", end = "", asn = "", country = "", description = ""] = line.replace(/\r$/, "").split("\t")
    if (asn === "" || asn === "0") continue
    const a = ipv4Number(start)
    const b = ipv4Number(end)
    if (a >= 0 && b >= 0) {
      v4.push([a, b, country === "None" ? "" : country.toUpperCase(), `${asn}\t${description}`])
      continue
    }
    const x = ipv6Number(start)
    const y = ipv6Number(end)
    if (x === undefined || y === undefined) continue
    if (country !== "None" && country !== "") v6Country.push(`${x},${y},${country.toUpperCase()}`)
    v6Asn.push(`${x},${y},${asn},${quote(description)}`)
  }
  if (v4.length === 0 && v6Asn.length === 0) throw new Error(`${path} holds no iptoasn ranges (start, end, AS number, country, description, tab-separated)`)
  const ranges = (pick: (r: (typeof v4)[number]) => string, skipEmpty: boolean): Ipv4Ranges => {
    const rows = skipEmpty ? v4.filter((r) => pick(r) !== "") : v4
    const labels = labelInterner()
    const label = Int32Array.from(rows, (r) => labels.indexOf(pick(r)))
    return { start: Uint32Array.from(rows, (r) => r[0]), end: Uint32Array.from(rows, (r) => r[1]), label, labels: labels.labels }
  }
  const countryTable = buildRangeTable(ranges((r) => r[2], true), () => v6Country.join("\n"), (rest) => rest[0]!.trim().toUpperCase())
  const asnTable = buildRangeTable(ranges((r) => r[3], false), () => v6Asn.join("\n"), (rest) => `${rest[0]!.trim()}\t${rest.slice(1).join(",")}`)
  const source: GeographySource = { name: `iptoasn:${basename(path)}`, version: "user", sha256 }
  return geographyFrom(countryTable, asnTable, [source, source])
}

/**
 * Lookups over a country table (labels: codes) and an ASN table (labels: "number\torganisation").
 * An ASN label is split once, when first answered: labels first met in the IPv6 part are only
 * added when that part is read.
 */
const geographyFrom = (country: RangeTable, asn: RangeTable, sources: ReadonlyArray<GeographySource>): Geography => {
  const asns: Array<{ readonly asn: number; readonly organisation: string } | undefined> = []
  return {
    countryOf: (ip) => {
      const k = country.find(ip)
      return k < 0 ? undefined : country.label(k)
    },
    asnOf: (ip) => {
      const k = asn.find(ip)
      if (k < 0) return undefined
      let known = asns[k]
      if (known === undefined) {
        const [number, organisation = ""] = asn.label(k).split("\t")
        known = asns[k] = { asn: Number(number), organisation }
      }
      return known
    },
    sources,
    sourceOf: (part) => sourceLabel(sources[part === "country" ? 0 : 1] ?? sources[0]!)
  }
}

let loaded: Geography | undefined

const shippedGeography = (): Geography => {
  const country = loadTable(DATABASES[0].name, DATABASES[0].file, (rest) => rest[0]!.trim().toUpperCase())
  const asn = loadTable(DATABASES[1].name, DATABASES[1].file, (rest) => `${rest[0]!.trim()}\t${Buffer.from(rest.slice(1).join(","), "latin1").toString("utf8")}`)
  return geographyFrom(country.table, asn.table, [country.source, asn.source])
}

/** The MaxMind files DSHIELD_GEOIP_DB names (comma-separated), in order. */
export const geoIpPaths = (value = process.env.DSHIELD_GEOIP_DB): Array<string> =>
  (value ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "")

/**
 * The databases of this process, loaded on the first call: DSHIELD_GEOIP_DB (MaxMind files)
 * first, then DSHIELD_ASN_DB (an iptoasn file) or the shipped ones for what those lack.
 */
export const defaultGeography = (): Geography => {
  if (loaded !== undefined) return loaded
  const userDb = process.env.DSHIELD_ASN_DB
  const base = (): Geography => (userDb !== undefined && userDb !== "" ? iptoasnGeography(userDb) : shippedGeography())
  const mmdb = geoIpPaths()
  return (loaded = mmdb.length === 0 ? base() : maxmindGeography(mmdb, base))
}
