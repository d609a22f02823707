/**
 * Several inputs are read oldest first, by the time of each file's first event, so that a
 * sensor's log directory in cowrie's own rotation layout (`cowrie.json` holding today,
 * `cowrie.json.YYYY-MM-DD` the days before, so newest first by name) streams instead of being
 * read twice and held whole. The Result lists the files as given.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { gunzipSync, gzipSync } from "node:zlib"
import * as Effect from "effect/Effect"
import { DEFAULT_CONFIG } from "../../src/config/AnalysisConfig.ts"
import type { Result } from "../../src/domain/Result.ts"
import { CowrieFormat } from "../../src/ingest/formats/cowrie.ts"
import { EcsFormat } from "../../src/ingest/formats/ecs.ts"
import { makeFirewallFormat } from "../../src/ingest/formats/firewall.ts"
import { WebHoneypotFormat } from "../../src/ingest/formats/webhoneypot.ts"
import { readOrder } from "../../src/ingest/readOrder.ts"
import { runAnalysis } from "../../src/pipeline/runAnalysis.ts"

const RADEC = resolve(import.meta.dir, "../../../shared/corpora/radec73-2024-04.cowrie.json.gz")
const HAVE_CORPORA = existsSync(RADEC)
const FORMATS = [CowrieFormat, EcsFormat, WebHoneypotFormat, makeFirewallFormat({ syslogYear: 2024 })]

let tmp = ""
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "dshield-read-order-"))
})
afterAll(() => {
  if (tmp !== "") rmSync(tmp, { recursive: true, force: true })
})

const cowrieLine = (day: number, session: string): string =>
  JSON.stringify({ eventid: "cowrie.session.connect", timestamp: `2024-04-0${day}T10:00:00.000000Z`, src_ip: "192.0.2.7", src_port: 40000, dst_port: 22, session })

const write = (name: string, text: string | Buffer): string => {
  const path = join(tmp, name)
  writeFileSync(path, text)
  return path
}

describe("reading order", () => {
  test("cowrie's rotation layout is read oldest first, a gzip day included", async () => {
    const today = write("cowrie.json", `${cowrieLine(3, "c")}\n`)
    const first = write("cowrie.json.2024-04-01", `${cowrieLine(1, "a")}\n`)
    const second = write("cowrie.json.2024-04-02.gz", gzipSync(`${cowrieLine(2, "b")}\n`))
    expect(await readOrder([today, first, second], FORMATS, undefined)).toEqual([1, 2, 0])
  })

  test("files without an event in their head come last, in the order given; ties keep the order given", async () => {
    const document = write("search.json", JSON.stringify({ hits: { hits: [] } }))
    const notes = write("notes.txt", "not a honeypot log\n")
    const a = write("a.json", `${cowrieLine(2, "a")}\n`)
    const b = write("b.json", `${cowrieLine(2, "b")}\n`)
    const early = write("early.json", `${cowrieLine(1, "e")}\n`)
    expect(await readOrder([document, a, notes, b, early], FORMATS, undefined)).toEqual([4, 1, 3, 0, 2])
  })

  test("a firewall log is ordered by its own timestamps; with stdin among the inputs the order given is kept", async () => {
    const fw = (day: number) => `Apr  ${day} 12:00:00 fw kernel: [1.0] DSHIELDINPUT IN=eth0 OUT= SRC=198.51.100.4 DST=192.0.2.10 LEN=44 TTL=244 ID=1 PROTO=TCP SPT=5000 DPT=23 WINDOW=1 RES=0x00 SYN URGP=0`
    const later = write("fw-later.log", `${fw(5)}\n`)
    const sooner = write("fw-sooner.log", `${fw(4)}\n`)
    expect(await readOrder([later, sooner], FORMATS, undefined)).toEqual([1, 0])
    expect(await readOrder([later, "-", sooner], FORMATS, undefined)).toEqual([0, 1, 2])
  })

  test("a gzip bomb's head is not inflated past its cap: the file is only put last", async () => {
    const bomb = write("bomb.json.gz", gzipSync(Buffer.alloc(64 * 1024 * 1024)))
    const log = write("log.json", `${cowrieLine(1, "l")}\n`)
    expect(await readOrder([bomb, log], FORMATS, undefined)).toEqual([1, 0])
  })
})

/** The Result apart from the run's instants and the input block. */
const campaignsOf = (r: Result): string => JSON.stringify({ campaigns: r.campaigns, unclustered: r.unclustered_sessions, sessions: r.input.sessions })

describe("a sensor's log directory", () => {
  test.skipIf(!HAVE_CORPORA)("cut into days and named as cowrie rotates them, streams and gives the whole log's campaigns", async () => {
    const dir = join(tmp, "sensor")
    mkdirSync(dir)
    const byDay = new Map<string, Array<string>>()
    for (const line of gunzipSync(readFileSync(RADEC)).toString("utf8").split("\n")) {
      if (line.length === 0) continue
      const day = (JSON.parse(line) as { timestamp: string }).timestamp.slice(0, 10)
      byDay.set(day, [...(byDay.get(day) ?? []), line])
    }
    const days = [...byDay.keys()].sort()
    days.forEach((day, i) => {
      const name = i === days.length - 1 ? "cowrie.json" : `cowrie.json.${day}`
      writeFileSync(join(dir, name), `${byDay.get(day)!.join("\n")}\n`)
    })
    const whole = await Effect.runPromise(runAnalysis([RADEC], DEFAULT_CONFIG))
    const sensor = await Effect.runPromise(runAnalysis([dir], DEFAULT_CONFIG))
    expect(days.length).toBeGreaterThan(5)
    // Streamed (on the ingest thread, as directories are read), not read again whole.
    expect(sensor.mode).not.toBe("whole")
    expect(campaignsOf(sensor.result)).toBe(campaignsOf(whole.result))
    // Listed as the directory lists them: the current log first.
    expect(sensor.result.input.files[0]!.path).toBe(join(dir, "cowrie.json"))
    expect(sensor.result.input.duplicate_events).toBeUndefined()
  }, 120_000)
})
