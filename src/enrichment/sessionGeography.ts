/**
 * Each session's source country and autonomous system, for the geographic evidence
 * (src/analytics/evidence.ts): one lookup per distinct source address.
 */
import { NETWORK_KINDS, type SessionGeography } from "../analytics/evidence.ts"
import type { SessionFeatures } from "../analytics/sessionFeatures.ts"
import type { Geography } from "./Geography.ts"

export const sessionGeography = (features: SessionFeatures, geography: Geography): SessionGeography => {
  const countries: Array<string> = []
  const countryIndex = new Map<string, number>()
  const asns: Array<string> = []
  const asnIndex = new Map<number, number>()
  const countryOfIp = new Int32Array(features.ips.length).fill(-1)
  const asnOfIp = new Int32Array(features.ips.length).fill(-1)
  const kindOf = geography.networkKindOf
  const kindOfIp = kindOf === undefined ? undefined : new Int8Array(features.ips.length)
  features.ips.forEach((ip, k) => {
    if (kindOfIp !== undefined) {
      const kind = kindOf!(ip)
      kindOfIp[k] = kind === undefined ? -1 : NETWORK_KINDS.indexOf(kind)
    }
    const country = geography.countryOf(ip)
    if (country !== undefined) {
      let c = countryIndex.get(country)
      if (c === undefined) {
        c = countries.length
        countries.push(country)
        countryIndex.set(country, c)
      }
      countryOfIp[k] = c
    }
    const asn = geography.asnOf(ip)
    if (asn !== undefined) {
      let a = asnIndex.get(asn.asn)
      if (a === undefined) {
        a = asns.length
        asns.push(`AS${asn.asn}${asn.organisation === "" ? "" : ` ${asn.organisation}`}`)
        asnIndex.set(asn.asn, a)
      }
      asnOfIp[k] = a
    }
  })
  const country = new Int32Array(features.count)
  const asn = new Int32Array(features.count)
  const networkKind = kindOfIp === undefined ? undefined : new Int8Array(features.count)
  for (let i = 0; i < features.count; i++) {
    const ip = features.ipId[i]!
    country[i] = ip < 0 ? -1 : countryOfIp[ip]!
    asn[i] = ip < 0 ? -1 : asnOfIp[ip]!
    if (networkKind !== undefined) networkKind[i] = ip < 0 ? -1 : kindOfIp![ip]!
  }
  return { country, countries, asn, asns, ...(networkKind === undefined ? {} : { networkKind }) }
}
