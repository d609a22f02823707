/**
 * A user's MaxMind databases (`--geoip-db FILE`, repeatable; DSHIELD_GEOIP_DB, comma-separated):
 * GeoLite2/GeoIP2 Country or City for countries, GeoLite2/GeoIP2 ASN or ISP for autonomous
 * systems, GeoIP2 Connection-Type, Anonymous-IP or Enterprise for the hosting/residential hint,
 * and any MMDB that answers `country_code` (ip-location-db's). Each file is read with the
 * `maxmind` package; what the user's files do not answer comes from `fallback` (the shipped
 * databases, or an iptoasn file), so a Country file alone still gives every source an ASN.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { basename } from "node:path"
import { Reader } from "maxmind"
import { type Geography, type GeographySource, type NetworkKind, sourceLabel } from "./GeographyModel.ts"

/** The fields of the MaxMind record layouts read here (all optional: each database has some). */
interface MmdbRecord {
  readonly country?: { readonly iso_code?: string }
  readonly registered_country?: { readonly iso_code?: string }
  readonly country_code?: string
  readonly autonomous_system_number?: number
  readonly autonomous_system_organization?: string
  readonly connection_type?: string
  readonly user_type?: string
  readonly is_hosting_provider?: boolean
  readonly traits?: {
    readonly autonomous_system_number?: number
    readonly autonomous_system_organization?: string
    readonly connection_type?: string
    readonly user_type?: string
    readonly is_hosting_provider?: boolean
  }
}

export class GeoIpDatabaseError extends Error {}

const countryOfRecord = (r: MmdbRecord): string | undefined => {
  const code = r.country?.iso_code ?? r.registered_country?.iso_code ?? r.country_code
  return code === undefined || code === "" ? undefined : code.toUpperCase()
}

const asnOfRecord = (r: MmdbRecord): { asn: number; organisation: string } | undefined => {
  const asn = r.autonomous_system_number ?? r.traits?.autonomous_system_number
  if (asn === undefined || asn === 0) return undefined
  return { asn, organisation: r.autonomous_system_organization ?? r.traits?.autonomous_system_organization ?? "" }
}

/**
 * MaxMind's own classifications, nothing inferred from names: Anonymous-IP's
 * `is_hosting_provider`, the Enterprise/Insights `user_type` ("hosting"; "residential" and
 * "cellular" as residential) and Connection-Type's "Cable/DSL" and "Cellular" as residential.
 */
const networkKindOfRecord = (r: MmdbRecord): NetworkKind | undefined => {
  if (r.is_hosting_provider === true || r.traits?.is_hosting_provider === true) return "hosting"
  const userType = r.user_type ?? r.traits?.user_type
  if (userType === "hosting") return "hosting"
  if (userType === "residential" || userType === "cellular") return "residential"
  const connection = r.connection_type ?? r.traits?.connection_type
  if (connection === "Cable/DSL" || connection === "Cellular") return "residential"
  return undefined
}

interface OpenDatabase {
  readonly reader: Reader<MmdbRecord>
  readonly source: GeographySource
}

const openDatabase = (path: string): OpenDatabase => {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (error) {
    throw new GeoIpDatabaseError(`Cannot read the GeoIP database ${path} (${(error as { code?: string }).code ?? String(error)}); give a MaxMind .mmdb file.`)
  }
  let reader: Reader<MmdbRecord>
  try {
    reader = new Reader<MmdbRecord>(bytes)
  } catch {
    throw new GeoIpDatabaseError(`${path} is not a MaxMind database (.mmdb); give a GeoLite2 or GeoIP2 file such as GeoLite2-Country.mmdb or GeoLite2-ASN.mmdb.`)
  }
  const built = reader.metadata.buildEpoch.toISOString().slice(0, 10)
  let digest: string | undefined
  return {
    reader,
    // The digest is for manifests only: computed when first asked (a City file is 70 MB).
    source: {
      name: `mmdb:${basename(path)}`,
      version: `${reader.metadata.databaseType} ${built}`,
      get sha256() {
        return (digest ??= createHash("sha256").update(bytes).digest("hex"))
      }
    }
  }
}

/** The record of `ip` in `db`, or undefined (unknown address, or not an address at all). */
const lookup = (db: OpenDatabase, ip: string): MmdbRecord | undefined => {
  try {
    return db.reader.get(ip) ?? undefined
  } catch {
    // An IPv6 address against an IPv4-only database, or a malformed address.
    return undefined
  }
}

export const maxmindGeography = (paths: ReadonlyArray<string>, fallback: () => Geography): Geography => {
  const databases = paths.map(openDatabase)
  const first = <T>(pick: (r: MmdbRecord) => T | undefined, ip: string): T | undefined => {
    for (const db of databases) {
      const r = lookup(db, ip)
      const answer = r === undefined ? undefined : pick(r)
      if (answer !== undefined) return answer
    }
    return undefined
  }
  // Which parts the user's files can answer at all, judged by their declared types, so the
  // fallback is loaded (and recorded) only for what they lack.
  const types = databases.map((d) => d.reader.metadata.databaseType.toLowerCase())
  const answersCountry = (t: string): boolean => /country|city|enterprise|insights/.test(t)
  const answersAsn = (t: string): boolean => /asn|isp|enterprise/.test(t)
  const hasCountry = types.some(answersCountry)
  const hasAsn = types.some(answersAsn)
  let fell: Geography | undefined
  const other = (): Geography => (fell ??= fallback())
  return {
    countryOf: (ip) => first(countryOfRecord, ip) ?? (hasCountry ? undefined : other().countryOf(ip)),
    asnOf: (ip) => first(asnOfRecord, ip) ?? (hasAsn ? undefined : other().asnOf(ip)),
    networkKindOf: (ip) => first(networkKindOfRecord, ip),
    sourceOf: (part) => {
      const answers = part === "country" ? answersCountry : answersAsn
      const own = databases.filter((_, k) => answers(types[k]!)).map((d) => sourceLabel(d.source))
      return own.length > 0 ? own.join(", ") : other().sourceOf(part)
    },
    get sources() {
      const own = databases.map((d) => d.source)
      if (hasCountry && hasAsn) return own
      const rest = other().sources
      // The fallback's sources are [country, asn] (or one iptoasn file for both).
      const needed = rest.length === 1 ? rest : [...(hasCountry ? [] : [rest[0]!]), ...(hasAsn ? [] : [rest[1]!])]
      return [...own, ...needed]
    }
  }
}
