/**
 * Live mode's bookkeeping (src/live/LiveState.ts) without NATS or a database: a log offered
 * message by message, committed into a store that joins pieces as the real one does, gives
 * exactly the sessions a batch read of the same log gives — with commits at any point, with a
 * crash (everything uncommitted lost) and a restart from the committed checkpoint at any
 * point, with sessions finished early by the wall clock (later events become pieces), and
 * with hostile lines, which are rejected and never hold the ack floor.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Prng } from "../../src/analytics/Prng.ts"
import type { AttackSession } from "../../src/domain/AttackSession.ts"
import { mergeSessionPieces } from "../../src/domain/mergeSessions.ts"
import { ingest } from "../../src/ingest/ingest.ts"
import { type LiveCheckpoint, LiveState } from "../../src/live/LiveState.ts"
import { messageParser, UNSUPPORTED_FORMAT } from "../../src/live/parseMessage.ts"
import { writeDataset } from "../../src/synthetic/writeDataset.ts"

let dir = ""
let lines: Array<Uint8Array> = []
let batch = new Map<string, AttackSession>()

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dshield-live-state-"))
  await writeDataset({ sessions: 600, seed: 9, outDir: dir })
  const path = join(dir, "cowrie.json")
  const encoder = new TextEncoder()
  lines = readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0).map((l) => encoder.encode(l))
  const report = await ingest([path], { format: "auto" })
  batch = new Map(report.sessions.map((s) => [s.id, s]))
})
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true })
})

/** The store: committed pieces joined by id, and the checkpoint of the last commit. */
class FakeStore {
  readonly sessions = new Map<string, AttackSession>()
  checkpoint: LiveCheckpoint | undefined
  commits = 0

  commit(state: LiveState): void {
    const checkpoint = state.checkpointAfterCommit()
    for (const f of state.finished) {
      const stored = this.sessions.get(f.session.id)
      this.sessions.set(f.session.id, stored === undefined ? f.session : mergeSessionPieces(stored, f.session))
    }
    state.committed(state.finished.length)
    state.takeRejects()
    this.checkpoint = checkpoint
    this.commits++
  }
}

const parse = messageParser("auto")

/** Offers messages [from, to] (1-based sequences), committing every `every` and on recovery. */
const run = (state: LiveState, store: FakeStore, from: number, to: number, every: number, wall: (seq: number) => number = () => 0): void => {
  for (let seq = from; seq <= to; seq++) {
    if (state.offer(seq, lines[seq - 1]!, wall(seq)) === "stopped") {
      while (state.needsRecovery) {
        store.commit(state)
        state.recover()
      }
    }
    if (seq % every === 0) store.commit(state)
  }
}

/** The end of the stream: everything open is finished and committed. */
const drain = (state: LiveState, store: FakeStore): void => {
  state.flushAll()
  while (state.needsRecovery) {
    store.commit(state)
    state.recover()
    state.flushAll()
  }
  store.commit(state)
}

/** Sessions equal to the batch read: the same ids, events, commands, credentials. */
const expectBatch = (store: FakeStore): void => {
  expect(store.sessions.size).toBe(batch.size)
  for (const [id, s] of batch) {
    const got = store.sessions.get(id)
    expect(got).toBeDefined()
    expect(got!.event_count).toBe(s.event_count)
    expect(got!.commands).toEqual(s.commands)
    expect(got!.credentials).toEqual(s.credentials)
    expect(got!.downloads).toEqual(s.downloads)
    expect(got!.start).toBe(s.start)
    expect(got!.end).toBe(s.end)
    expect(got!.src_ip).toBe(s.src_ip)
  }
}

describe("live state", () => {
  test("messages in ECS are read per message in auto mode, as the ECS format reads them", async () => {
    const fixture = join(import.meta.dir, "../fixtures/ecs.jsonl")
    const encoder = new TextEncoder()
    const lines = readFileSync(fixture, "utf8").split("\n").filter((l) => l.length > 0)
    const state = new LiveState(parse)
    const store = new FakeStore()
    lines.forEach((l, i) => expect(state.offer(i + 1, encoder.encode(l), 0)).toBe("fed"))
    drain(state, store)
    const expected = (await ingest([fixture], { format: "ecs" })).sessions
    expect(store.sessions.size).toBe(expected.length)
    for (const s of expected) expect(store.sessions.get(s.id)).toEqual(s)
  })

  test("an uninterrupted stream commits exactly the batch sessions, and the floor never passes an uncommitted session", () => {
    const state = new LiveState(parse)
    const store = new FakeStore()
    for (let seq = 1; seq <= lines.length; seq++) {
      state.offer(seq, lines[seq - 1]!, 0)
      const floor = state.floor()
      for (const f of state.finished) expect(f.firstSeq).toBeGreaterThanOrEqual(floor)
      if (seq % 997 === 0) {
        store.commit(state)
        // After a commit every message below the floor is in the store.
        expect(store.checkpoint!.floorSeq).toBe(state.floor())
      }
    }
    drain(state, store)
    expectBatch(store)
    expect(state.floor()).toBe(lines.length + 1)
  })

  test("a crash at any point and a restart from the checkpoint lose no event and count none twice", () => {
    const prng = new Prng(17)
    for (let trial = 0; trial < 12; trial++) {
      const store = new FakeStore()
      const every = 200 + Math.floor(prng.next() * 1500)
      const crashAt = 1 + Math.floor(prng.next() * (lines.length - 1))
      const first = new LiveState(parse)
      run(first, store, 1, crashAt, every)
      // kill -9: the state is gone, the store keeps its last commit.
      const cp = store.checkpoint
      const start = cp?.floorSeq ?? 1
      const second = new LiveState(parse, cp, start)
      run(second, store, start, lines.length, every)
      drain(second, store)
      expectBatch(store)
    }
  })

  test("two crashes in a row, the second before the restarted run commits", () => {
    const store = new FakeStore()
    run(new LiveState(parse), store, 1, 4000, 1000)
    const cp1 = store.checkpoint!
    // The restarted run reads on but dies before its first commit.
    const second = new LiveState(parse, cp1, cp1.floorSeq)
    for (let seq = cp1.floorSeq; seq <= 4500; seq++) second.offer(seq, lines[seq - 1]!, 0)
    expect(store.checkpoint).toBe(cp1)
    const third = new LiveState(parse, cp1, cp1.floorSeq)
    run(third, store, cp1.floorSeq, lines.length, 1000)
    drain(third, store)
    expectBatch(store)
  })

  test("redeliveries are ignored by sequence", () => {
    const state = new LiveState(parse)
    const store = new FakeStore()
    for (let seq = 1; seq <= lines.length; seq++) {
      expect(state.offer(seq, lines[seq - 1]!, 0)).not.toBe("redelivered")
      if (seq > 50) expect(state.offer(seq - 50, lines[seq - 51]!, 0)).toBe("redelivered")
      if (seq % 1000 === 0) store.commit(state)
    }
    drain(state, store)
    expectBatch(store)
  })

  test("sessions finished early by the wall clock time out and are committed before the stream ends", () => {
    const state = new LiveState(parse)
    const store = new FakeStore()
    // Every 5th message the wall clock jumps a minute, and sessions quiet for 30 s are finished.
    let expired = 0
    for (let seq = 1; seq <= lines.length; seq++) {
      const now = Math.floor(seq / 5) * 60_000
      if (state.offer(seq, lines[seq - 1]!, now) === "stopped") {
        while (state.needsRecovery) {
          store.commit(state)
          state.recover()
        }
      }
      if (seq % 5 === 0) expired += state.expire(now, 30_000)
      if (seq % 500 === 0) store.commit(state)
    }
    expect(expired).toBeGreaterThan(0)
    drain(state, store)
    expectBatch(store)
  })

  test("an event after its session was handed on stops the builder; it becomes a piece the store joins", () => {
    // The last line of 30 sessions moved to the end of the stream, long after each session was
    // finished and committed: the batch read of these lines gives the same sessions.
    const bySession = new Map<string, Array<number>>()
    lines.forEach((l, i) => {
      const id = /"session":"([^"]+)"/.exec(new TextDecoder().decode(l))?.[1]
      if (id !== undefined) bySession.set(id, [...(bySession.get(id) ?? []), i])
    })
    const moved = new Set([...bySession.values()].filter((ix) => ix.length >= 3 && ix[0]! < lines.length / 2).slice(0, 30).map((ix) => ix[ix.length - 1]!))
    const reordered = [...lines.filter((_, i) => !moved.has(i)), ...lines.filter((_, i) => moved.has(i))]
    const original = lines
    lines = reordered
    try {
      const state = new LiveState(parse)
      const store = new FakeStore()
      run(state, store, 1, lines.length, 700)
      drain(state, store)
      expect(state.recoveries).toBeGreaterThan(0)
      expectBatch(store)
    } finally {
      lines = original
    }
  })

  test("an idle flush mid-stream splits open sessions into pieces that join again", () => {
    const state = new LiveState(parse)
    const store = new FakeStore()
    for (let seq = 1; seq <= lines.length; seq++) {
      state.offer(seq, lines[seq - 1]!, 0)
      if (seq % 1500 === 0) {
        state.flushAll()
        store.commit(state)
        expect(state.openCount).toBe(0)
        expect(state.floor()).toBe(seq + 1)
      }
    }
    drain(state, store)
    expectBatch(store)
  })

  test("hostile messages are rejected by reason, never hold the floor, and are not counted again after a restart", () => {
    const encoder = new TextEncoder()
    const deep = encoder.encode(`${"[".repeat(100_000)}${"]".repeat(100_000)}`)
    const deepObject = encoder.encode(`{"eventid":"cowrie.session.connect","x":${"{\"a\":".repeat(100_000)}1${"}".repeat(100_000)}}`)
    const binary = new Uint8Array([0x7b, 0x22, 0x00, 0xff, 0xfe, 0x01, 0x02, 0x0a])
    const firewall = encoder.encode("1700000000 kernel: DSHIELDINPUT IN=eth0 OUT= SRC=192.0.2.1 DST=198.51.100.2 PROTO=TCP SPT=4444 DPT=22")
    const hostile = [deep, deepObject, binary, encoder.encode("not json at all"), firewall, encoder.encode("   ")]
    expect(parse(deep)).toBe("too_deep")
    expect(parse(deepObject)).toBe("too_deep")
    expect(parse(binary)).toBe("binary")
    expect(parse(firewall)).toBe(UNSUPPORTED_FORMAT)
    // The log with a hostile message after every 50th line.
    const mixed: Array<Uint8Array> = []
    lines.forEach((l, i) => {
      mixed.push(l)
      if (i % 50 === 0) mixed.push(hostile[(i / 50) % hostile.length]!)
    })
    const store = new FakeStore()
    const state = new LiveState(parse)
    const crashAt = Math.floor(mixed.length / 2)
    const rejectedAt: Array<number> = []
    for (let seq = 1; seq <= crashAt; seq++) {
      if (state.offer(seq, mixed[seq - 1]!, 0) === "rejected") rejectedAt.push(seq)
      // The floor is a session's first message, never a rejected one.
      expect(rejectedAt.includes(state.floor()) && state.openCount > 0).toBe(false)
      if (seq % 800 === 0) store.commit(state)
    }
    const cp = store.checkpoint!
    const second = new LiveState(parse, cp, cp.floorSeq)
    let rejectedAfter = 0
    for (let seq = cp.floorSeq; seq <= mixed.length; seq++) {
      if (second.offer(seq, mixed[seq - 1]!, 0) === "rejected") rejectedAfter++
      if (seq % 800 === 0) store.commit(second)
    }
    drain(second, store)
    expectBatch(store)
    // Every hostile message but the blank ones is rejected exactly once in what the store keeps:
    // the first run's up to its checkpoint, the second run's after it.
    const blank = mixed.filter((m) => m === hostile[5]).length
    const committedFirst = rejectedAt.filter((seq) => seq <= cp.processedSeq).length
    expect(committedFirst + rejectedAfter).toBe(mixed.length - lines.length - blank)
    expect(second.rejectTotals.get("too_deep") ?? 0).toBeGreaterThan(0)
  })
})
