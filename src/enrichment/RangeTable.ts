/**
 * An IP range table: inclusive address ranges, each with a label (a country code, an ASN and
 * its organisation), looked up by binary search over sorted typed arrays — no object per
 * range, no allocation per lookup. Built from the "num" CSV files of ip-location-db
 * (`start,end,label…`, addresses as decimal integers, ranges sorted and disjoint), IPv4 and
 * IPv6 kept apart (IPv6 as two 64-bit halves).
 */

export interface RangeTable {
  /** The label index of the range holding `ip` (an IPv4 or IPv6 address string); -1 when none. */
  readonly find: (ip: string) => number
  /** The text of a label index `find` gave. */
  readonly label: (k: number) => string
  readonly ranges: number
  /** The IPv4 part as arrays (to cache it: building it from the CSV is most of the load time). */
  readonly ipv4: () => Ipv4Ranges
}

/** IPv4 ranges as parallel arrays, sorted by start; `label` indexes `labels`. */
export interface Ipv4Ranges {
  readonly start: Uint32Array
  readonly end: Uint32Array
  readonly label: Int32Array
  readonly labels: Labels
}

/**
 * Label texts by index, decoded when asked for: a cached table holds 80,000 organisation
 * names, of which an analysis reads a few hundred.
 */
export interface Labels {
  readonly count: number
  readonly at: (k: number) => string
}

/** Labels held as an array of strings. */
export const labelsOf = (texts: ReadonlyArray<string>): Labels => ({ count: texts.length, at: (k) => texts[k]! })

/** A dotted quad as an unsigned 32-bit number; -1 when it is not one. */
export const ipv4Number = (ip: string): number => {
  let value = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || part > 255) return -1
      value = value * 256 + part
      part = 0
      digits = 0
      dots++
      continue
    }
    if (c < 48 || c > 57 || digits === 3) return -1
    part = part * 10 + (c - 48)
    digits++
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1
  return value * 256 + part
}

/** An IPv6 address (with ::, an embedded IPv4 tail, a zone) as a 128-bit bigint; undefined when it is not one. */
export const ipv6Number = (ip: string): bigint | undefined => {
  const address = ip.split("%")[0]!.toLowerCase()
  if (!address.includes(":")) return undefined
  let groups: Array<string>
  const halves = address.split("::")
  if (halves.length > 2) return undefined
  const parse = (part: string): Array<string> | undefined => {
    if (part === "") return []
    const out: Array<string> = []
    const items = part.split(":")
    for (let k = 0; k < items.length; k++) {
      const item = items[k]!
      if (k === items.length - 1 && item.includes(".")) {
        const v4 = ipv4Number(item)
        if (v4 < 0) return undefined
        out.push(((v4 >>> 16) & 0xffff).toString(16), (v4 & 0xffff).toString(16))
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(item)) return undefined
        out.push(item)
      }
    }
    return out
  }
  const head = parse(halves[0]!)
  if (head === undefined) return undefined
  if (halves.length === 2) {
    const tail = parse(halves[1]!)
    if (tail === undefined || head.length + tail.length > 7) return undefined
    groups = [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail]
  } else {
    if (head.length !== 8) return undefined
    groups = head
  }
  let value = 0n
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16))
  return value
}

const MASK64 = (1n << 64n) - 1n

/**
 * Labels kept once each, by index: `indexOf` adds a new one at the end. The index of the
 * initial labels (80,000 of them from a cached table) is built at the first `indexOf`: a
 * table read from its cache and asked only about IPv4 addresses never needs it, nor decodes
 * the labels it is not asked for (together 60–80 ms of every analysis's start).
 */
export const labelInterner = (initial: Labels = labelsOf([])): { readonly labels: Labels; readonly indexOf: (text: string) => number } => {
  const added: Array<string> = []
  let index: Map<string, number> | undefined
  const labels: Labels = {
    get count() {
      return initial.count + added.length
    },
    at: (k) => (k < initial.count ? initial.at(k) : added[k - initial.count]!)
  }
  return {
    labels,
    indexOf: (text) => {
      if (index === undefined) {
        index = new Map<string, number>()
        for (let k = 0; k < initial.count; k++) {
          const text = initial.at(k)
          if (!index.has(text)) index.set(text, k)
        }
      }
      let k = index.get(text)
      if (k === undefined) {
        k = labels.count
        added.push(text)
        index.set(text, k)
      }
      return k
    }
  }
}

/**
 * Parses `start,end,rest` lines (rest = the label, possibly quoted with "" escapes, possibly
 * several fields joined by ","). `label` turns the rest into the label text.
 */
export const buildRangeTable = (ipv4Csv: Buffer | Ipv4Ranges, ipv6Csv: () => string, label: (rest: Array<string>) => string): RangeTable => {
  const { labels, indexOf } = labelInterner(Buffer.isBuffer(ipv4Csv) ? undefined : ipv4Csv.labels)
  // IPv4: scanned byte by byte (400k lines; splitting into strings first costs more than
  // the whole scan). Each line: start,end,label-fields.
  let v4Start: Uint32Array
  let v4End: Uint32Array
  let v4Label: Int32Array
  let v4 = 0
  if (!Buffer.isBuffer(ipv4Csv)) {
    v4Start = ipv4Csv.start
    v4End = ipv4Csv.end
    v4Label = ipv4Csv.label
    v4 = v4Start.length
  } else {
  const bytes = ipv4Csv
  let lines = 0
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) lines++
  v4Start = new Uint32Array(lines + 1)
  v4End = new Uint32Array(lines + 1)
  v4Label = new Int32Array(lines + 1)
  let labelCache = new Map<string, number>()
  let numericLabels = new Map<number, number>()
  for (let i = 0; i < bytes.length;) {
    let start = 0
    let digits = 0
    while (i < bytes.length && bytes[i]! >= 48 && bytes[i]! <= 57) (start = start * 10 + bytes[i++]! - 48, digits++)
    if (digits === 0 || bytes[i] !== 44) {
      while (i < bytes.length && bytes[i] !== 10) i++
      i++
      continue
    }
    i++
    let end = 0
    digits = 0
    while (i < bytes.length && bytes[i]! >= 48 && bytes[i]! <= 57) (end = end * 10 + bytes[i++]! - 48, digits++)
    if (digits === 0 || bytes[i] !== 44) {
      while (i < bytes.length && bytes[i] !== 10) i++
      i++
      continue
    }
    i++
    const from = i
    // A label whose first field is a number (an ASN) is known by that number: its text (the
    // organisation) is decoded only the first time.
    let key = 0
    let numeric = true
    let j = i
    while (j < bytes.length && bytes[j] !== 44 && bytes[j] !== 10 && bytes[j] !== 13) {
      const c = bytes[j++]!
      if (c < 48 || c > 57) numeric = false
      else key = key * 10 + c - 48
    }
    while (i < bytes.length && bytes[i] !== 10) i++
    const until = bytes[i - 1] === 13 ? i - 1 : i
    i++
    let k = numeric && j > from ? numericLabels.get(key) : undefined
    if (k === undefined) {
      const raw = bytes.toString("latin1", from, until)
      k = numeric && j > from ? undefined : labelCache.get(raw)
      if (k === undefined) {
        k = indexOf(label(splitCsv(raw)))
        if (numeric && j > from) numericLabels.set(key, k)
        else labelCache.set(raw, k)
      }
    }
    v4Start[v4] = start
    v4End[v4] = end
    v4Label[v4++] = k
  }
  labelCache = new Map()
  numericLabels = new Map()
  }
  // IPv6, read at the first IPv6 lookup: most honeypot traffic is IPv4, and 128-bit
  // parsing is most of the build time.
  let v6 = 0
  let v6StartHi = new BigUint64Array(0)
  let v6StartLo = new BigUint64Array(0)
  let v6EndHi = new BigUint64Array(0)
  let v6EndLo = new BigUint64Array(0)
  let v6Label = new Int32Array(0)
  let v6Built = false
  const buildV6 = (): void => {
    v6Built = true
    const v6Lines = ipv6Csv().split("\n")
    v6StartHi = new BigUint64Array(v6Lines.length)
    v6StartLo = new BigUint64Array(v6Lines.length)
    v6EndHi = new BigUint64Array(v6Lines.length)
    v6EndLo = new BigUint64Array(v6Lines.length)
    v6Label = new Int32Array(v6Lines.length)
    for (const line of v6Lines) {
      if (line === "") continue
      const fields = splitCsv(line)
      if (fields.length < 3) continue
      const s = BigInt(fields[0]!)
      const e = BigInt(fields[1]!)
      v6StartHi[v6] = s >> 64n
      v6StartLo[v6] = s & MASK64
      v6EndHi[v6] = e >> 64n
      v6EndLo[v6] = e & MASK64
      v6Label[v6++] = indexOf(label(fields.slice(2)))
    }
  }
  const find = (ip: string): number => {
    const x = ipv4Number(ip)
    if (x >= 0) {
      // The last range starting at or below x.
      let lo = 0
      let hi = v4 - 1
      let at = -1
      while (lo <= hi) {
        const mid = (lo + hi) >> 1
        if (v4Start[mid]! <= x) {
          at = mid
          lo = mid + 1
        } else hi = mid - 1
      }
      return at >= 0 && x <= v4End[at]! ? v4Label[at]! : -1
    }
    const y = ipv6Number(ip)
    if (y === undefined) return -1
    if (!v6Built) buildV6()
    const yHi = y >> 64n
    const yLo = y & MASK64
    let lo = 0
    let hi = v6 - 1
    let at = -1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const sHi = v6StartHi[mid]!
      if (sHi < yHi || (sHi === yHi && v6StartLo[mid]! <= yLo)) {
        at = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    if (at < 0) return -1
    const eHi = v6EndHi[at]!
    return yHi < eHi || (yHi === eHi && yLo <= v6EndLo[at]!) ? v6Label[at]! : -1
  }
  const v4Labels = labels.count
  return {
    find,
    label: labels.at,
    get ranges() {
      return v4 + v6
    },
    ipv4: () => ({
      start: v4Start.slice(0, v4),
      end: v4End.slice(0, v4),
      label: v4Label.slice(0, v4),
      labels: labelsOf(Array.from({ length: v4Labels }, (_, k) => labels.at(k)))
    })
  }
}

/** One CSV line's fields (RFC 4180 quoting: "…" with "" for a quote). */
const splitCsv = (line: string): Array<string> => {
  if (!line.includes('"')) return line.replace(/\r$/, "").split(",")
  const out: Array<string> = []
  let field = ""
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ",") {
      out.push(field)
      field = ""
    } else if (c !== "\r") field += c
  }
  out.push(field)
  return out
}
