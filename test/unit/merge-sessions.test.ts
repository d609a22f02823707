/**
 * Pieces of one session read at different times (src/domain/mergeSessions.ts): disjoint
 * pieces join, the same events read again do not double.
 */
import { describe, expect, test } from "bun:test"
import type { AttackSession } from "../../src/domain/AttackSession.ts"
import { mergeSessionPieces } from "../../src/domain/mergeSessions.ts"
import { attackSession } from "./sessionFixture.ts"

const piece = (start: string, end: string, commands: Array<string>, logins: Array<string> = []): AttackSession =>
  attackSession({
    id: "s1",
    start,
    end,
    credentials: logins.map((l) => ({ username: "root", password: l, success: false })),
    commands,
    event_count: commands.length + logins.length + 1
  })

describe("joining pieces of one session", () => {
  test("pieces from two log files concatenate in time order", () => {
    const a = piece("2024-04-01T00:00:00.000Z", "2024-04-01T00:00:30.000Z", ["uname -a"], ["a"])
    const b = piece("2024-04-01T00:00:30.000Z", "2024-04-01T00:01:00.000Z", ["id"], ["b"])
    for (const joined of [mergeSessionPieces(a, b), mergeSessionPieces(b, a)]) {
      expect(joined.commands).toEqual(["uname -a", "id"])
      expect(joined.credentials.map((c) => c.password)).toEqual(["a", "b"])
      expect(joined.event_count).toBe(a.event_count + b.event_count)
      expect([joined.start, joined.end]).toEqual([a.start, b.end])
    }
  })

  test("the same piece read twice is one piece; a grown re-read replaces the shorter one", () => {
    const a = piece("2024-04-01T00:00:00.000Z", "2024-04-01T00:00:30.000Z", ["uname -a", "uname -a"], ["a"])
    expect(mergeSessionPieces(a, { ...a })).toEqual(a)
    const grown = piece("2024-04-01T00:00:00.000Z", "2024-04-01T00:02:00.000Z", ["uname -a", "uname -a", "id"], ["a", "b"])
    expect(mergeSessionPieces(a, grown)).toEqual(grown)
    expect(mergeSessionPieces(grown, a)).toEqual(grown)
  })

  test("a piece within the other's time span but with events the other lacks still joins", () => {
    // Same instant, different commands: two flushes of a live session in one millisecond.
    const a = piece("2024-04-01T00:00:00.000Z", "2024-04-01T00:00:00.000Z", ["uname -a"])
    const b = piece("2024-04-01T00:00:00.000Z", "2024-04-01T00:00:00.000Z", ["id"])
    expect(mergeSessionPieces(a, b).commands.slice().sort()).toEqual(["id", "uname -a"])
    // A command repeated more often than the other piece holds it is new, too.
    const twice = piece("2024-04-01T00:00:00.000Z", "2024-04-01T00:00:00.000Z", ["uname -a", "uname -a"])
    expect(mergeSessionPieces(twice, a).commands).toEqual(["uname -a", "uname -a"])
    expect(mergeSessionPieces(a, { ...a, commands: ["uname -a", "uname -a"] }).commands.length).toBe(2)
  })
})
