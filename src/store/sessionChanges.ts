/**
 * Which of an analysis's sessions the store must write. Every `analyze --store` analyses the
 * input together with the stored history, so storing the same log again (or overlapping
 * logs) gives sessions the store already holds as they are: rewriting those is most of the
 * time such a run spends in the embedded store. A session is written when it is new, or when
 * it differs from its stored version (a session that straddled two runs, joined with its
 * stored piece); an unchanged one keeps its row, and the `analysis_id` of the analysis that
 * last wrote it.
 */
import type { AttackSession } from "../domain/AttackSession.ts"

export interface SessionWrites {
  /** New or changed sessions, to insert. */
  readonly sessions: ReadonlyArray<AttackSession>
  /** The ids among them that the store holds: their stored rows are replaced. */
  readonly replaceIds: ReadonlyArray<string>
  /** Sessions stored unchanged: not written. */
  readonly unchanged: number
}

/**
 * `analysed`: the run's sessions (input joined with stored pieces); `inputIds`: the ids the
 * input holds (only those are the run's to write); `history`: the stored sessions the run
 * was analysed with. Stored versions are compared as JSON values: PostgreSQL's jsonb keeps
 * what was written apart from key order, which `Bun.deepEquals` ignores, as it ignores
 * undefined properties (JSON drops them); 10 ms for alvarogar's 3,341 sessions against 70 ms
 * for comparing their canonical JSON texts.
 */
export const sessionWrites = (
  analysed: ReadonlyArray<AttackSession>,
  inputIds: ReadonlySet<string>,
  history: ReadonlyArray<AttackSession>
): SessionWrites => {
  const stored = new Map<string, AttackSession>()
  for (const s of history) stored.set(s.id, s)
  const sessions: Array<AttackSession> = []
  const replaceIds: Array<string> = []
  let unchanged = 0
  for (const s of analysed) {
    if (!inputIds.has(s.id)) continue
    const before = stored.get(s.id)
    if (before === undefined) {
      sessions.push(s)
      continue
    }
    if (Bun.deepEquals(before, s)) {
      unchanged++
      continue
    }
    sessions.push(s)
    replaceIds.push(s.id)
  }
  return { sessions, replaceIds, unchanged }
}
