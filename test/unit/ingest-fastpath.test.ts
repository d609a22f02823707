/**
 * The byte-level cowrie fast path (a validating scanner instead of JSON.parse, fields read from
 * bytes) must give exactly what the reference gives: JSON.parse of the decoded line, then
 * cowrieEventFromObject. Checked on the committed fixtures and on thousands of seeded
 * mutations of them (escapes, duplicate keys, odd types, whitespace, cut lines, flipped bytes),
 * so every validation the JSON.parse path did is still done.
 */
import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { Prng } from "../../src/analytics/Prng.ts"
import { cowrieEventFromObject, CowrieFormat } from "../../src/ingest/formats/cowrie.ts"
import { JsonLineScanner, SCAN_MALFORMED } from "../../src/ingest/formats/JsonLine.ts"
import type { LineOutcome } from "../../src/ingest/formats/Format.ts"
import { hasOversizedField, MAX_FIELD_CHARS } from "../../src/ingest/validate.ts"

const FIXTURES = resolve(import.meta.dir, "../fixtures")
const utf8 = new TextDecoder()

/** What the engine did before the fast path, for lines within the depth and key limits. */
const reference = (bytes: Uint8Array): LineOutcome => {
  const line = utf8.decode(bytes)
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return "malformed_json"
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "not_an_object"
  if (line.length > MAX_FIELD_CHARS && hasOversizedField(value)) return "field_too_large"
  const o = value as Record<string, unknown>
  return cowrieEventFromObject(o, o.timestamp)
}

/** The fast path on bytes; `binary` is the fast path's finer name for malformed_json. */
const fast = (bytes: Uint8Array): LineOutcome => {
  const out = CowrieFormat.parseBytes!(bytes, 0, bytes.length)
  return out === "binary" ? "malformed_json" : out
}

/** An outcome as comparable data: absent and undefined fields alike, fields in name order. */
const plain = (o: LineOutcome): unknown =>
  o !== null && typeof o === "object"
    ? Object.fromEntries(Object.entries(JSON.parse(JSON.stringify(o)) as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
    : o

const enc = new TextEncoder()

const fixtureLines = (): Array<string> =>
  ["cowrie.json", "garbage-mixed.json"].flatMap((f) =>
    readFileSync(resolve(FIXTURES, f), "utf8").split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l.trim().length > 0)
  )

const EDGE_CASES: Array<string> = [
  `{"\\u0065ventid":"cowrie.session.connect","session":"a1","timestamp":"2024-04-01T00:00:00Z","src_ip":"192.0.2.1"}`,
  `{"eventid":"cowrie.login.failed","session":"a1","timestamp":"2024-04-01T00:00:00Z","username":123,"password":1e2}`,
  `{"eventid":"cowrie.login.failed","session":"a1","timestamp":"2024-04-01T00:00:00Z","username":[1,[2,3]],"password":{"x":1}}`,
  `{"eventid":"cowrie.login.failed","session":"a1","timestamp":"2024-04-01T00:00:00Z","username":null,"password":true}`,
  `{"eventid":"cowrie.login.failed","session":"a1","session":"b2","timestamp":"2024-04-01T00:00:00Z"}`,
  `{"eventid":"cowrie.command.input","session":"a1","timestamp":"2024-04-01T00:00:00Z","input":"echo \\"hi\\" \\u00e9 \\ud83d\\ude00 \\n"}`,
  `{"eventid":"cowrie.command.input","session":"a1","timestamp":"2024-04-01T00:00:00Z","input":"caf\u00e9 \u6f22\u5b57 \ud83d\ude00"}`,
  `  {"eventid" : "cowrie.session.connect" , "session" : "a1" , "timestamp" : "2024-04-01T00:00:00Z" , "src_port" : "22" , "dst_port" : 65536 }  `,
  `{"eventid":"cowrie.session.connect","session":"a1","timestamp":"2024-04-01T00:00:00Z","src_port":22.5}`,
  `{"eventid":"cowrie.session.connect","session":"a1","timestamp":"2024-04-01T00:00:00Z","src_port":-0,"dst_port":2.2e1}`,
  `{"eventid":"cowrie.session.connect","session":"a1","timestamp":"2024-04-01T00:00:00Z","protocol":"SSH","dst_ip":"::ffff:192.0.2.1"}`,
  `{"eventid":"cowrie.session.file_download","session":"a1","timestamp":"2024-04-01T00:00:00Z","shasum":"ABC","filename":"x","url":"http://x"}`,
  `{"eventid":"cowrie.direct-tcpip.request","session":"a1","timestamp":"2024-04-01T00:00:00Z","dst_ip":"example.com","dst_port":"443"}`,
  `{"eventid":"cowrie.direct-tcpip.request","session":"a1","timestamp":"2024-04-01T00:00:00Z","dst_ip":"example.com","dst_port":"x"}`,
  `{"eventid":"cowrie.something.new","session":"a1","timestamp":"2024-04-01T00:00:00+02:00"}`,
  `{"eventid":"","session":"a1","timestamp":"2024-04-01T00:00:00Z"}`,
  `{"eventid":"cowrie.session.closed","session":"","timestamp":"2024-04-01T00:00:00Z"}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":1711929600}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-02-30T00:00:00Z"}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z","src_ip":"300.1.1.1"}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00\\u005a"}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z","__proto__":{"x":1}}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z",}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z"} x`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z","n":01}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z","n":1.}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z","n":-}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z","s":"\\x"}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z","s":"\\u12"}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z","s":"tab\there"}`,
  `{"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z","t":tru}`,
  `{"eventid":"cowrie.command.input","session":"a1","timestamp":"2024-04-01T00:00:00Z","input":"${"x".repeat(MAX_FIELD_CHARS + 1)}"}`,
  `{"eventid":"cowrie.command.input","session":"a1","timestamp":"2024-04-01T00:00:00Z","input":"${"\u00e9".repeat(MAX_FIELD_CHARS / 2 + 1)}"}`,
  `{"eventid":"cowrie.command.input","session":"a1","timestamp":"2024-04-01T00:00:00Z","input":"${"\\n".repeat(MAX_FIELD_CHARS / 2)}"}`,
  `{"eventid":"cowrie.command.input","session":"a1","timestamp":"2024-04-01T00:00:00Z","k":["${"y".repeat(MAX_FIELD_CHARS + 1)}"]}`,
  `[{"eventid":"cowrie.session.closed"}]`,
  `"just a string"`,
  `42`,
  `{}`,
  ``,
  `{"a":{"b":[1,2,{"c":null}]},"eventid":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z"}`,
  // Keys whose length, first and last bytes hash like a field name's but that are not it.
  `{"fventiE":"cowrie.session.closed","session":"a1","timestamp":"2024-04-01T00:00:00Z"}`,
  `{"eventid":"cowrie.session.closed","tession":"a1","session":"a2","timestamp":"2024-04-01T00:00:00Z"}`
]

const agree = (bytes: Uint8Array): void => {
  const expected = plain(reference(bytes))
  const got = plain(fast(bytes))
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    throw new Error(`fast path differs on ${JSON.stringify(utf8.decode(bytes).slice(0, 300))}: got ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`)
  }
  // The text path (parseLine: scanner, then JSON.parse) agrees too.
  const text = CowrieFormat.parseLine(utf8.decode(bytes))
  const viaText = plain(text === "binary" ? "malformed_json" : text)
  if (JSON.stringify(viaText) !== JSON.stringify(expected)) {
    throw new Error(`text path differs on ${JSON.stringify(utf8.decode(bytes).slice(0, 300))}: got ${JSON.stringify(viaText)}`)
  }
}

describe("cowrie fast path = JSON.parse + cowrieEventFromObject", () => {
  test("on every fixture line", () => {
    for (const line of fixtureLines()) agree(enc.encode(line))
  })

  test("on edge cases: escapes, odd types, duplicates, whitespace, grammar errors, oversized fields", () => {
    for (const line of EDGE_CASES) agree(enc.encode(line))
  })

  test("a key is a field only when every byte matches: no near-miss of any field name is read as it", () => {
    const names = ["eventid", "session", "timestamp", "sensor", "src_ip", "src_port", "dst_ip", "dst_port", "protocol", "version", "hassh", "username", "password", "key", "fingerprint", "input", "url", "shasum", "destfile", "filename"]
    const base: Record<string, unknown> = {
      eventid: "cowrie.session.connect", session: "a1", timestamp: "2024-04-01T00:00:00Z", src_ip: "192.0.2.1", src_port: 1, dst_port: 2,
      dst_ip: "192.0.2.2", protocol: "ssh", sensor: "s"
    }
    for (const name of names) {
      for (let at = 0; at < name.length; at++) {
        for (const delta of [-31, -1, 1, 31]) {
          const c = name.charCodeAt(at) + delta
          if (c < 32 || c > 126 || c === 34 || c === 92) continue
          const near = name.slice(0, at) + String.fromCharCode(c) + name.slice(at + 1)
          const o = { ...base }
          o[near] = o[name] ?? "x"
          delete o[name]
          agree(enc.encode(JSON.stringify(o)))
        }
      }
    }
  })

  test("on 20,000 seeded mutations of fixture lines", () => {
    const rng = new Prng(2024, "fastpath-mutations")
    const lines = [...fixtureLines(), ...EDGE_CASES.filter((l) => l.length < 1000)].map((l) => enc.encode(l))
    const alphabet = enc.encode(`{}[]":,\\ \t0123456789-+.eEtrufalsn\u00e9x/bfnr`)
    for (let n = 0; n < 20_000; n++) {
      const src = lines[rng.int(lines.length)]!
      let bytes = Uint8Array.from(src)
      const edits = 1 + rng.int(3)
      for (let e = 0; e < edits; e++) {
        const at = rng.int(bytes.length + 1)
        switch (rng.int(5)) {
          case 0: // cut
            bytes = bytes.slice(0, at)
            break
          case 1: // replace one byte with a JSON-significant one
            if (at < bytes.length) bytes[at] = alphabet[rng.int(alphabet.length)]!
            break
          case 2: // insert one
            bytes = Uint8Array.from([...bytes.slice(0, at), alphabet[rng.int(alphabet.length)]!, ...bytes.slice(at)])
            break
          case 3: // delete one
            bytes = Uint8Array.from([...bytes.slice(0, at), ...bytes.slice(at + 1)])
            break
          default: // any byte at all (control, invalid UTF-8)
            if (at < bytes.length) bytes[at] = rng.int(256)
        }
      }
      agree(bytes)
    }
  }, 60_000)

  test("the scanner accepts what JSON.parse accepts, on random JSON-ish texts", () => {
    const rng = new Prng(7, "scanner-grammar")
    const scanner = new JsonLineScanner()
    const tokens = ["{", "}", "[", "]", ",", ":", '"a"', '"\\u00e9"', '"\\"', "1", "-0.5e+3", "01", "true", "nul", "null", " ", "1.", ".5", '"x\\/y"']
    for (let n = 0; n < 20_000; n++) {
      let text = "{"
      const len = rng.int(12)
      for (let i = 0; i < len; i++) text += tokens[rng.int(tokens.length)]
      if (rng.next() < 0.7) text += "}"
      let ok = true
      let object = false
      try {
        const v: unknown = JSON.parse(text)
        object = v !== null && typeof v === "object" && !Array.isArray(v)
      } catch {
        ok = false
      }
      const bytes = enc.encode(text)
      const r = scanner.scan(bytes, 0, bytes.length)
      if (ok !== (r !== SCAN_MALFORMED) || (ok && object !== r >= 0)) throw new Error(`scanner disagrees on ${text}: ${r}`)
    }
  })
})

test("the fast path's events are the ones ingest keeps (no JSON.parse on the hot path)", () => {
  const line = enc.encode(`{"eventid":"cowrie.login.success","username":"root","password":"x","session":"s1","timestamp":"2024-04-01T00:00:00.5Z","src_ip":"2001:DB8::1"}`)
  expect(plain(CowrieFormat.parseBytes!(line, 0, line.length))).toEqual({
    kind: "login.success",
    sourceEventId: "cowrie.login.success",
    sessionKey: "s1",
    ts: Date.UTC(2024, 3, 1, 0, 0, 0, 500),
    srcIp: "2001:db8::1",
    username: "root",
    password: "x"
  })
})
