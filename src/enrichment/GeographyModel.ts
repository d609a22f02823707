/**
 * What a geography is, whichever databases answer it (the shipped ones, an iptoasn file or a
 * user's MaxMind files): the lookups and the databases they come from.
 */
export interface GeographySource {
  readonly name: string
  readonly version: string
  /** sha256 of the IPv4 and IPv6 files, in that order, hashed together ("" where not computed: see geographySources). */
  readonly sha256: string
}

/** A network's use as a database classifies it: a hosting provider's, or a residential/mobile access network. */
export type NetworkKind = "hosting" | "residential"

export interface Geography {
  /** ISO 3166 alpha-2 country code, or undefined when no range holds the address. */
  readonly countryOf: (ip: string) => string | undefined
  readonly asnOf: (ip: string) => { readonly asn: number; readonly organisation: string } | undefined
  /** Only where the database classifies networks (MaxMind Connection-Type, Anonymous-IP, Enterprise); absent otherwise. */
  readonly networkKindOf?: (ip: string) => NetworkKind | undefined
  readonly sources: ReadonlyArray<GeographySource>
  /** "name@version" of the database(s) answering countries, or autonomous systems. */
  readonly sourceOf: (part: "country" | "asn") => string
}

/** "name@version": how reports and manifests name a database. */
export const sourceLabel = (s: GeographySource): string => `${s.name}@${s.version}`
