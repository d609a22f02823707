/**
 * Field validation shared by every input format (src/ingest/validate.ts).
 */
import { describe, expect, test } from "bun:test"
import {
  formatTimestamp,
  hasOversizedField,
  MAX_FIELD_CHARS,
  normaliseIp,
  parseAnyTimestamp,
  parseEpochSeconds,
  parseIsoTimestamp,
  parseIsoTimestampBytes
} from "../../src/ingest/validate.ts"
import { Prng } from "../../src/analytics/Prng.ts"

/** The engine's seeded generator, as a plain function: the same inputs on every run. */
const prng = (seed: number): (() => number) => {
  const rng = new Prng(seed)
  return () => rng.next()
}

const MIN_TS = Date.UTC(1990, 0, 1)
const MAX_TS = Date.UTC(2100, 0, 1)

describe("parseIsoTimestamp", () => {
  test("cowrie's microsecond UTC form, truncated (not rounded) to milliseconds", () => {
    expect(parseIsoTimestamp("2024-04-01T20:01:05.690463Z")).toBe(Date.UTC(2024, 3, 1, 20, 1, 5, 690))
    expect(parseIsoTimestamp("2024-04-01T20:01:05.9999999Z")).toBe(Date.UTC(2024, 3, 1, 20, 1, 5, 999))
    expect(parseIsoTimestamp("2024-04-01T20:01:05.5Z")).toBe(Date.UTC(2024, 3, 1, 20, 1, 5, 500))
    expect(parseIsoTimestamp("2024-04-01T20:01:05,25Z")).toBe(Date.UTC(2024, 3, 1, 20, 1, 5, 250))
  })

  test("no zone means UTC; space or lower-case t separator; lower-case z", () => {
    const expected = Date.UTC(2024, 3, 1, 20, 1, 5)
    expect(parseIsoTimestamp("2024-04-01T20:01:05")).toBe(expected)
    expect(parseIsoTimestamp("2024-04-01 20:01:05")).toBe(expected)
    expect(parseIsoTimestamp("2024-04-01t20:01:05z")).toBe(expected)
  })

  test("offsets with and without colon are applied", () => {
    expect(parseIsoTimestamp("2024-04-01 20:01:05+02:00")).toBe(Date.UTC(2024, 3, 1, 18, 1, 5))
    expect(parseIsoTimestamp("2024-04-01T20:01:05+0200")).toBe(Date.UTC(2024, 3, 1, 18, 1, 5))
    expect(parseIsoTimestamp("2024-04-01T20:01:05.250-05:30")).toBe(Date.UTC(2024, 3, 2, 1, 31, 5, 250))
    expect(parseIsoTimestamp("2024-04-01T00:30:00+01:00")).toBe(Date.UTC(2024, 2, 31, 23, 30, 0))
    expect(parseIsoTimestamp("2024-04-01T20:01:05+00:00")).toBe(parseIsoTimestamp("2024-04-01T20:01:05Z"))
    expect(parseIsoTimestamp("2024-04-01T20:01:05-00:00")).toBe(parseIsoTimestamp("2024-04-01T20:01:05Z"))
  })

  test("agrees with Date.parse on seeded random instants and offsets", () => {
    const rand = prng(42)
    for (let i = 0; i < 500; i++) {
      const ts = MIN_TS + 86_400_000 + Math.floor(rand() * (MAX_TS - MIN_TS - 2 * 86_400_000))
      const iso = new Date(ts).toISOString()
      expect(parseIsoTimestamp(iso)).toBe(ts)
      // The same instant written in a local time with an offset of up to ±14:00.
      const offsetMin = Math.floor(rand() * 57) * 15 - 14 * 60
      const local = new Date(ts + offsetMin * 60_000).toISOString().slice(0, 23)
      const sign = offsetMin < 0 ? "-" : "+"
      const abs = Math.abs(offsetMin)
      const withOffset = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`
      expect(parseIsoTimestamp(withOffset)).toBe(Date.parse(withOffset))
      expect(parseIsoTimestamp(withOffset)).toBe(ts)
    }
  })

  test("impossible calendar dates and times are NaN", () => {
    for (
      const s of [
        "2024-02-30T12:00:00Z",
        "2023-02-29T12:00:00Z", // not a leap year
        "2100-02-29T12:00:00Z", // not a leap year (and out of range)
        "2024-04-31T12:00:00Z",
        "2024-13-01T12:00:00Z",
        "2024-00-10T12:00:00Z",
        "2024-01-00T12:00:00Z",
        "2024-01-32T12:00:00Z",
        "2024-01-10T24:00:00Z",
        "2024-01-10T12:60:00Z",
        "2024-01-10T12:00:61Z"
      ]
    ) expect([s, parseIsoTimestamp(s)]).toEqual([s, Number.NaN])
  })

  test("leap days: 2024 and 2000 have one, 2023 does not", () => {
    expect(parseIsoTimestamp("2024-02-29T00:00:00Z")).toBe(Date.UTC(2024, 1, 29))
    expect(parseIsoTimestamp("2000-02-29T00:00:00Z")).toBe(Date.UTC(2000, 1, 29))
    expect(parseIsoTimestamp("2023-02-28T23:59:59Z")).toBe(Date.UTC(2023, 1, 28, 23, 59, 59))
  })

  test("a leap second rolls over into the next minute", () => {
    expect(parseIsoTimestamp("2016-12-31T23:59:60Z")).toBe(Date.UTC(2017, 0, 1))
  })

  test("only [1990, 2100) is plausible, after applying the offset", () => {
    expect(parseIsoTimestamp("1990-01-01T00:00:00Z")).toBe(MIN_TS)
    expect(parseIsoTimestamp("1989-12-31T23:59:59Z")).toBeNaN()
    expect(parseIsoTimestamp("2099-12-31T23:59:59.999Z")).toBe(MAX_TS - 1)
    expect(parseIsoTimestamp("2100-01-01T00:00:00Z")).toBeNaN()
    expect(parseIsoTimestamp("2300-01-01T00:00:00Z")).toBeNaN()
    expect(parseIsoTimestamp("0000-01-01T00:00:00Z")).toBeNaN()
    // 00:30+01:00 on 1 January 1990 is 23:30 UTC on 31 December 1989.
    expect(parseIsoTimestamp("1990-01-01T00:30:00+01:00")).toBeNaN()
    expect(parseIsoTimestamp("2099-12-31T23:30:00-01:00")).toBeNaN()
  })

  test("malformed strings are NaN", () => {
    for (
      const s of [
        "",
        "2024-04-01",
        "2024-04-01T20:01",
        "2024/04/01T20:01:05Z",
        "2024-4-01T20:01:05Z",
        "2024-04-01X20:01:05Z",
        "2024-04-01T20-01-05Z",
        "2024-04-01T20:01:05.Z",
        "2024-04-01T20:01:05Zjunk",
        "2024-04-01T20:01:05 UTC",
        "2024-04-01T20:01:05+25:00",
        "2024-04-01T20:01:05+02:60",
        "2024-04-01T20:01:05+02",
        "2024-04-01T20:01:05+02:0",
        "2024-04-01T20:01:05+02:00:00",
        "abcd-ef-ghTij:kl:mnZ",
        "1712001600"
      ]
    ) expect([s, parseIsoTimestamp(s)]).toEqual([s, Number.NaN])
  })
})

describe("parseEpochSeconds", () => {
  test("integer and fractional seconds, as numbers or strings, to milliseconds", () => {
    expect(parseEpochSeconds(1712001600)).toBe(1712001600000)
    expect(parseEpochSeconds("1712001600")).toBe(1712001600000)
    expect(parseEpochSeconds("1712001600.5")).toBe(1712001600500)
    expect(parseEpochSeconds(1712001600.1234)).toBe(1712001600123)
    expect(parseEpochSeconds(1712001600.1236)).toBe(1712001600124)
    expect(parseEpochSeconds("999999999")).toBe(999999999000)
  })

  test("only [1990, 2100) is plausible", () => {
    expect(parseEpochSeconds(631152000)).toBe(MIN_TS)
    expect(parseEpochSeconds(631151999)).toBeNaN()
    expect(parseEpochSeconds(4102444799)).toBe(MAX_TS - 1000)
    expect(parseEpochSeconds(4102444800)).toBeNaN()
    expect(parseEpochSeconds(0)).toBeNaN()
    expect(parseEpochSeconds(-1712001600)).toBeNaN()
    // Epoch milliseconds are not seconds.
    expect(parseEpochSeconds(1712001600000)).toBeNaN()
  })

  test("non-numbers and odd spellings are NaN", () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, "", "abc", "12345678", "171200160000", "-1712001600", " 1712001600", "1712001600 ", "1.7e9", "0x660b1440", "1712001600."]) {
      expect([v, parseEpochSeconds(v)]).toEqual([v, Number.NaN])
    }
  })
})

describe("parseAnyTimestamp and formatTimestamp", () => {
  test("ISO strings, epoch seconds and epoch milliseconds", () => {
    const ts = Date.UTC(2024, 3, 1, 20, 0, 0)
    expect(parseAnyTimestamp("2024-04-01T20:00:00Z")).toBe(ts)
    expect(parseAnyTimestamp("1712001600")).toBe(ts)
    expect(parseAnyTimestamp(1712001600)).toBe(ts)
    expect(parseAnyTimestamp(1712001600000)).toBe(ts)
    expect(parseAnyTimestamp(1712001600000.4)).toBe(ts)
  })

  test("anything else is NaN", () => {
    for (const v of [null, undefined, true, {}, [], "yesterday", Number.NaN, 5e12, 1e11 - 1]) {
      expect(parseAnyTimestamp(v)).toBeNaN()
    }
  })

  test("formatTimestamp writes ISO-8601 UTC with milliseconds and round-trips", () => {
    expect(formatTimestamp(Date.UTC(2024, 3, 1, 20, 1, 5, 690))).toBe("2024-04-01T20:01:05.690Z")
    expect(parseIsoTimestamp(formatTimestamp(1712001600123))).toBe(1712001600123)
  })
})

describe("normaliseIp", () => {
  test("valid IPv4 stays as written", () => {
    for (const ip of ["192.0.2.1", "0.0.0.0", "255.255.255.255", "198.51.100.7", "203.0.113.250", "10.0.0.1"]) {
      expect(normaliseIp(ip)).toBe(ip)
    }
  })

  test("invalid IPv4 is undefined (including octal-looking leading zeros)", () => {
    for (
      const s of [
        "",
        "256.0.0.1",
        "192.0.2.256",
        "192.0.2",
        "192.0.2.1.5",
        "01.2.3.4",
        "192.0.2.01",
        "192..2.1",
        "192.0.2.1.",
        ".192.0.2.1",
        " 192.0.2.1",
        "192.0.2.1 ",
        "a.b.c.d",
        "192.0.2.1/24",
        "1234.0.2.1",
        "example.com"
      ]
    ) expect([s, normaliseIp(s)]).toEqual([s, undefined])
  })

  test("IPv6 is written in its RFC 5952 canonical form", () => {
    const cases: Array<[string, string]> = [
      ["2001:DB8::1", "2001:db8::1"],
      ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
      ["2001:0DB8:85A3:0000:0000:8A2E:0370:7334", "2001:db8:85a3::8a2e:370:7334"],
      // The first of two equally long zero runs is compressed.
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      // The longest run wins even when it comes later.
      ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
      // A single zero group is not compressed.
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      ["2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      ["::", "::"],
      ["0:0:0:0:0:0:0:1", "::1"],
      ["1::", "1::"],
      ["fe80::0001", "fe80::1"],
      // An IPv4 tail that is not IPv4-mapped is written in hex.
      ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"]
    ]
    for (const [input, canonical] of cases) expect([input, normaliseIp(input)]).toEqual([input, canonical])
  })

  test("IPv4-mapped IPv6, in any spelling, becomes the IPv4 address", () => {
    for (const s of ["::ffff:198.51.100.7", "::FFFF:198.51.100.7", "0:0:0:0:0:ffff:198.51.100.7", "::ffff:c633:6407", "0000:0000:0000:0000:0000:FFFF:C633:6407"]) {
      expect([s, normaliseIp(s)]).toEqual([s, "198.51.100.7"])
    }
  })

  test("agrees with the WHATWG URL serialiser on seeded random addresses", () => {
    const rand = prng(7)
    for (let i = 0; i < 500; i++) {
      // Groups that are zero half the time, so runs of zeros of every length occur.
      const groups = Array.from({ length: 8 }, () => (rand() < 0.5 ? 0 : Math.floor(rand() * 0x10000)))
      groups[0] = 0x2001 // keep clear of ::ffff:0:0/96
      const spelled = groups.map((g) => g.toString(16).padStart(rand() < 0.5 ? 4 : 1, "0")).map((g) => (rand() < 0.5 ? g.toUpperCase() : g)).join(":")
      const expected = new URL(`http://[${spelled}]/`).hostname.slice(1, -1)
      expect([spelled, normaliseIp(spelled)]).toEqual([spelled, expected])
      // Re-normalising a canonical address changes nothing.
      expect(normaliseIp(expected)).toBe(expected)
    }
  })

  test("invalid IPv6 is undefined", () => {
    for (
      const s of [
        "2001:db8::g",
        "2001:db8:::1",
        "2001::db8::1",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        "::ffff:1.2.3",
        "::ffff:256.1.1.1",
        "12345::1",
        ":",
        `${"0:".repeat(20)}1`
      ]
    ) expect([s, normaliseIp(s)]).toEqual([s, undefined])
  })
})

describe("hasOversizedField", () => {
  test("finds a string over 64 KiB at any depth, and only then", () => {
    const big = "a".repeat(MAX_FIELD_CHARS + 1)
    const limit = "a".repeat(MAX_FIELD_CHARS)
    expect(hasOversizedField(limit)).toBe(false)
    expect(hasOversizedField(big)).toBe(true)
    expect(hasOversizedField({ eventid: "cowrie.command.input", input: limit })).toBe(false)
    expect(hasOversizedField({ eventid: "cowrie.command.input", input: big })).toBe(true)
    expect(hasOversizedField({ a: { b: [1, null, { c: big }] } })).toBe(true)
    expect(hasOversizedField([["x", ["y", big]]])).toBe(true)
    expect(hasOversizedField({ a: 1, b: null, c: true, d: [1, 2, 3] })).toBe(false)
    expect(hasOversizedField(null)).toBe(false)
  })
})

describe("parseIsoTimestampBytes (the ingest fast path)", () => {
  test("agrees with parseIsoTimestamp on a byte range inside a larger buffer, for good and bad timestamps", () => {
    const cases = [
      "2024-04-01T20:01:05.690463Z",
      "2024-04-01 20:01:05+02:00",
      "2024-04-01T20:01:05-0530",
      "2024-02-29T00:00:00Z",
      "2023-02-29T00:00:00Z",
      "1989-12-31T23:30:00-01:00",
      "2100-01-01T00:30:00+01:00",
      "2100-01-01T00:30:00Z",
      "2024-04-01T20:01:05.",
      "2024-04-01T20:01:05+02",
      "2024-04-01T20:01:05Zjunk",
      "0095-01-01T00:00:00Z"
    ]
    for (const c of cases) {
      const bytes = new TextEncoder().encode(`xx"${c}"yy`)
      expect([c, parseIsoTimestampBytes(bytes, 3, 3 + c.length)]).toEqual([c, parseIsoTimestamp(c)])
    }
    expect(parseIsoTimestamp("1989-12-31T23:30:00-01:00")).toBe(Date.UTC(1990, 0, 1, 0, 30))
    // Years 0-99 are years 0-99 (Date.UTC would read them as 1900-1999): out of range.
    expect(parseIsoTimestamp("0095-01-01T00:00:00Z")).toBeNaN()
  })

  test("a fraction of any length is truncated to milliseconds, never rounded up to the next second", () => {
    expect(parseIsoTimestamp(`2024-04-01T20:01:05.${"9".repeat(40)}Z`)).toBe(Date.UTC(2024, 3, 1, 20, 1, 5, 999))
  })
})
