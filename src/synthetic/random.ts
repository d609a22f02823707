/**
 * Random helpers for the synthetic generator, all drawing from the engine's seeded `Prng`
 * (never `Math.random`, never the clock), so one seed gives one data set on every machine.
 */
import { Prng } from "../analytics/Prng.ts"

export { Prng }

/** One element of a non-empty list, uniformly. */
export const choose = <T>(rng: Prng, items: ReadonlyArray<T>): T => items[rng.int(items.length)]!

/** A shuffled copy (Fisher–Yates). */
export const shuffle = <T>(rng: Prng, items: ReadonlyArray<T>): Array<T> => {
  const out = items.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = out[i]!
    out[i] = out[j]!
    out[j] = t
  }
  return out
}

/** `k` distinct elements in random order (k is clamped to the list length). */
export const sample = <T>(rng: Prng, items: ReadonlyArray<T>, k: number): Array<T> =>
  shuffle(rng, items).slice(0, Math.max(0, Math.min(k, items.length)))

/** Uniform in [lo, hi). */
export const uniform = (rng: Prng, lo: number, hi: number): number => lo + (hi - lo) * rng.next()

/** Integer uniform in [lo, hi] (both inclusive). */
export const intBetween = (rng: Prng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1)

/** Log-uniform in [lo, hi): as likely to be 1–10 as 10–100. */
export const logUniform = (rng: Prng, lo: number, hi: number): number => lo * Math.pow(hi / lo, rng.next())

/** Uniform in (0, 1): never exactly 0, safe for logarithms. */
export const openUnit = (rng: Prng): number => (rng.nextU32() + 0.5) / 4294967296

/** True with probability p. */
export const chance = (rng: Prng, p: number): boolean => rng.next() < p

/** A list with weights, sampled by binary search over the cumulative weights. */
export class Weighted<T> {
  private readonly cumulative: Float64Array
  private readonly total: number

  constructor(readonly items: ReadonlyArray<T>, weights: ReadonlyArray<number>) {
    if (items.length === 0 || items.length !== weights.length) throw new RangeError("Weighted needs one weight per item.")
    this.cumulative = new Float64Array(items.length)
    let sum = 0
    for (let i = 0; i < items.length; i++) {
      sum += weights[i]!
      this.cumulative[i] = sum
    }
    this.total = sum
  }

  pick(rng: Prng): T {
    const x = rng.next() * this.total
    let lo = 0
    let hi = this.cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.cumulative[mid]! > x) hi = mid
      else lo = mid + 1
    }
    return this.items[lo]!
  }
}

/** Zipf-like weights 1/(rank+1)^s for a list already ordered by popularity. */
export const zipfWeights = (n: number, s: number): Array<number> => Array.from({ length: n }, (_, i) => 1 / Math.pow(i + 1, s))

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
const LOWER = "abcdefghijklmnopqrstuvwxyz"
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

const fromAlphabet = (rng: Prng, alphabet: string, length: number): string => {
  let s = ""
  let bits = 0
  let word = 0
  for (let i = 0; i < length; i++) {
    if (bits < 8) {
      word = rng.nextU32()
      bits = 32
    }
    s += alphabet[(word & 0xff) % alphabet.length]
    word >>>= 8
    bits -= 8
  }
  return s
}

/** Mixed-case letters and digits, like the random names kits give files (ZN5qL4gOwW). */
export const alnum = (rng: Prng, length: number): string => fromAlphabet(rng, ALNUM, length)
export const lowerWord = (rng: Prng, length: number): string => fromAlphabet(rng, LOWER, length)
export const upperWord = (rng: Prng, length: number): string => fromAlphabet(rng, UPPER, length)

/** Lower-case hex of the given length. */
export const hex = (rng: Prng, length: number): string => {
  let s = ""
  while (s.length < length) s += rng.nextU32().toString(16).padStart(8, "0")
  return s.slice(0, length)
}

/** Random bytes. */
export const bytes = (rng: Prng, n: number): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 4) {
    const w = rng.nextU32()
    out[i] = w & 0xff
    if (i + 1 < n) out[i + 1] = (w >>> 8) & 0xff
    if (i + 2 < n) out[i + 2] = (w >>> 16) & 0xff
    if (i + 3 < n) out[i + 3] = w >>> 24
  }
  return out
}

/** 32-bit avalanche mix (murmur3 finaliser): a stateless hash for derived values. */
export const mix32 = (x: number): number => {
  let h = x >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** True for IPv4 addresses no attacker on the internet would come from. */
export const isReservedIpv4 = (a: number, b: number, c: number): boolean =>
  a === 0 || a === 10 || a === 127 || a >= 224 ||
  (a === 100 && b >= 64 && b < 128) ||
  (a === 169 && b === 254) ||
  (a === 172 && b >= 16 && b < 32) ||
  (a === 192 && b === 168) ||
  (a === 192 && b === 0 && (c === 0 || c === 2)) ||
  (a === 198 && (b === 18 || b === 19)) ||
  (a === 198 && b === 51 && c === 100) ||
  (a === 203 && b === 0 && c === 113)

/** A public unicast IPv4 address derived from a 32-bit value (re-hashed until public). */
export const publicIpv4From = (value: number): string => {
  let v = value >>> 0
  for (;;) {
    const a = v >>> 24
    const b = (v >>> 16) & 0xff
    const c = (v >>> 8) & 0xff
    const d = v & 0xff
    if (!isReservedIpv4(a, b, c) && d !== 0 && d !== 255) return `${a}.${b}.${c}.${d}`
    v = mix32(v + 0x9e3779b9)
  }
}

/** A random public IPv4 address. */
export const publicIpv4 = (rng: Prng): string => publicIpv4From(rng.nextU32())

/** A random public /16 as its first two octets, "a.b". */
export const public16 = (rng: Prng): string => {
  for (;;) {
    const a = 1 + rng.int(223)
    const b = rng.int(256)
    if (!isReservedIpv4(a, b, 1)) return `${a}.${b}`
  }
}

/** A random public /24 as its first three octets, "a.b.c". */
export const public24 = (rng: Prng): string => {
  const ip = publicIpv4(rng)
  return ip.slice(0, ip.lastIndexOf("."))
}
