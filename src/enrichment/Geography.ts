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
import { dirname, join } from "node:path"
import { buildRangeTable, type Ipv4Ranges, type RangeTable } from "./RangeTable.ts"

export interface GeographySource {
  readonly name: string
  readonly version: string
  /** sha256 of the IPv4 and IPv6 files, in that order, hashed together ("" where not computed: see geographySources). */
  readonly sha256: string
}

export interface Geography {
  /** ISO 3166 alpha-2 country code, or undefined when no range holds the address. */
  readonly countryOf: (ip: string) => string | undefined
  readonly asnOf: (ip: string) => { readonly asn: number; readonly organisation: string } | undefined
  readonly sources: ReadonlyArray<GeographySource>
}

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
 * half a second, reading the arrays back a few milliseconds. The cache is named by the
 * package, its version and the CSV's size and modification time, so a new database is parsed
 * again; a cache that cannot be written or read is skipped, never an error.
 */
const CACHE_MAGIC = "dshield-coord geography v1\n"

const cachePath = (name: string, file: string, csv: string): string => {
  const stat = statSync(csv)
  const key = createHash("sha256").update(`${name}\n${versionOf(packageDir(name))}\n${stat.size}\n${stat.mtimeMs}`).digest("hex").slice(0, 16)
  const root = process.env.DSHIELD_CACHE_DIR ?? join(dirname(dirname(packageDir(name))), ".cache", "dshield-coord")
  return join(root, `geography-${file}-${key}.bin`)
}

const readCache = (path: string): Ipv4Ranges | undefined => {
  try {
    const bytes = readFileSync(path)
    if (bytes.toString("latin1", 0, CACHE_MAGIC.length) !== CACHE_MAGIC) return undefined
    let at = CACHE_MAGIC.length
    const count = bytes.readUInt32LE(at)
    const labelBytes = bytes.readUInt32LE(at + 4)
    at += 8
    const copy = (length: number): ArrayBuffer => bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + (at += length)) as ArrayBuffer
    const start = new Uint32Array(copy(count * 4))
    const end = new Uint32Array(copy(count * 4))
    const label = new Int32Array(copy(count * 4))
    const labels = bytes.toString("utf8", at, at + labelBytes).split("\n")
    return { start, end, label, labels }
  } catch {
    return undefined
  }
}

const writeCache = (path: string, ranges: Ipv4Ranges): void => {
  try {
    const text = Buffer.from(ranges.labels.join("\n"), "utf8")
    const header = Buffer.alloc(8)
    header.writeUInt32LE(ranges.start.length, 0)
    header.writeUInt32LE(text.length, 4)
    mkdirSync(dirname(path), { recursive: true })
    const temporary = `${path}.${process.pid}.tmp`
    writeFileSync(temporary, Buffer.concat([Buffer.from(CACHE_MAGIC, "latin1"), header, Buffer.from(ranges.start.buffer, ranges.start.byteOffset, ranges.start.byteLength), Buffer.from(ranges.end.buffer, ranges.end.byteOffset, ranges.end.byteLength), Buffer.from(ranges.label.buffer, ranges.label.byteOffset, ranges.label.byteLength), text]))
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

/** The databases an analysis's geography comes from, with their digests (what a run manifest records). */
export const geographySources = (): ReadonlyArray<GeographySource> =>
  (digested ??= DATABASES.map((d) => readDatabase(d.name, d.file).source))

let loaded: Geography | undefined

/** The shipped databases (loaded on the first call). */
export const defaultGeography = (): Geography => {
  if (loaded !== undefined) return loaded
  const country = loadTable(DATABASES[0].name, DATABASES[0].file, (rest) => rest[0]!.trim().toUpperCase())
  const asn = loadTable(DATABASES[1].name, DATABASES[1].file, (rest) => `${rest[0]!.trim()}\t${Buffer.from(rest.slice(1).join(","), "latin1").toString("utf8")}`)
  const asnOfLabel = asn.table.labels.map((l) => {
    const [number, organisation = ""] = l.split("\t")
    return { asn: Number(number), organisation }
  })
  loaded = {
    countryOf: (ip) => {
      const k = country.table.find(ip)
      return k < 0 ? undefined : country.table.labels[k]
    },
    asnOf: (ip) => {
      const k = asn.table.find(ip)
      return k < 0 ? undefined : asnOfLabel[k]
    },
    sources: [country.source, asn.source]
  }
  return loaded
}
