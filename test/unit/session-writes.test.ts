/**
 * Which sessions a stored analysis writes (src/store/sessionChanges.ts): a session the store
 * holds as it is keeps its row even when its stored form lists keys in another order (jsonb
 * sorts them) or lacks a property the analysed one holds as undefined (JSON drops it); any
 * changed value is rewritten.
 */
import { describe, expect, test } from "bun:test"
import type { AttackSession } from "../../src/domain/AttackSession.ts"
import { sessionWrites } from "../../src/store/sessionChanges.ts"
import { attackSession } from "./sessionFixture.ts"

/** The session as the store hands it back: keys in jsonb's order (shorter first), undefined properties gone. */
const asStored = (session: AttackSession): AttackSession => {
  const reorder = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(reorder)
      : value !== null && typeof value === "object"
      ? Object.fromEntries(
        Object.entries(value as Record<string, unknown>)
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, v]) => [k, reorder(v)])
      )
      : value
  return reorder(session) as AttackSession
}

const base = attackSession({
  id: "s-1",
  start: "2022-07-19T00:49:00.000Z",
  credentials: [{ username: "root", password: "admin", success: true }] as AttackSession["credentials"],
  commands: [{ input: "uname -a", timestamp: "2022-07-19T00:49:01.000Z" }] as unknown as AttackSession["commands"]
})

describe("sessionWrites", () => {
  test("a session stored as it is (keys reordered, undefined properties dropped) is not written again", () => {
    const analysed = { ...base, note: undefined } as unknown as AttackSession
    const stored = asStored(base)
    expect(Object.keys(stored)).not.toEqual(Object.keys(base))
    const writes = sessionWrites([analysed], new Set(["s-1"]), [stored])
    expect(writes).toEqual({ sessions: [], replaceIds: [], unchanged: 1 })
  })

  test("a changed nested value replaces the stored row; a new session is inserted; one not in the input is left alone", () => {
    const grown = { ...base, end: "2022-07-19T00:55:00.000Z", commands: [...base.commands, { input: "w", timestamp: "2022-07-19T00:55:00.000Z" }] } as AttackSession
    const fresh = attackSession({ id: "s-2", start: "2022-07-19T01:00:00.000Z" })
    const other = attackSession({ id: "s-3", start: "2022-07-19T02:00:00.000Z" })
    const writes = sessionWrites([grown, fresh, other], new Set(["s-1", "s-2"]), [asStored(base), asStored(other)])
    expect(writes.sessions.map((s) => s.id)).toEqual(["s-1", "s-2"])
    expect(writes.replaceIds).toEqual(["s-1"])
    expect(writes.unchanged).toBe(0)
  })

  test("a value that differs only in type (a number stored for a string) counts as changed", () => {
    const stored = asStored({ ...base, src_port: "40000" as unknown as number })
    expect(sessionWrites([base], new Set(["s-1"]), [stored]).replaceIds).toEqual(["s-1"])
  })
})
