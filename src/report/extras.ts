/**
 * What the HTML report adds to a Result when it is made by `analyze`, which reads the
 * sessions: each session's start time (a Result has only each campaign's first and last
 * sighting) and every distinct command line with its ATT&CK techniques
 * (`commandsWithTechniques`), so the report can list the command lines no rule maps.
 *
 * `analyze --html` collects them as the analysis streams its sessions (AnalyzeInputs.onSession);
 * where the analysis ran elsewhere (NATS, the workflow), or for `report --logs`, the inputs
 * are read once more here.
 *
 * @since 0.1.0
 */
import { type CommandTechniques, commandsWithTechniques } from "../analytics/attackTechniques.ts"
import type { AttackSession } from "../domain/AttackSession.ts"
import { ingest, type IngestOptions, ingestStream } from "../ingest/ingest.ts"
import { isStreamInput } from "../ingest/inputPaths.ts"

export interface ReportExtras {
  /** Start of each session read, in milliseconds since the epoch, by session id. */
  readonly sessionStarts?: ReadonlyMap<string, number> | undefined
  /** Every distinct command line of those sessions with its techniques, most used first. */
  readonly commands?: ReadonlyArray<CommandTechniques> | undefined
}

/**
 * Keeps what the report needs of each session shown to it, keyed by session id (a session
 * shown twice, as when an input is read again whole, counts once). Command strings are
 * interned, so a command line run by many sessions is held once.
 */
export class ReportExtrasCollector {
  private readonly starts = new Map<string, number>()
  private readonly commandsBySession = new Map<string, ReadonlyArray<string>>()
  private readonly interned = new Map<string, string>()

  /** An arrow function, so it can be handed on as a callback. */
  readonly add = (session: AttackSession): void => {
    const start = Date.parse(session.start)
    if (Number.isFinite(start)) this.starts.set(session.id, start)
    if (session.commands.length === 0) {
      this.commandsBySession.delete(session.id)
      return
    }
    const distinct: Array<string> = []
    for (const command of new Set(session.commands)) {
      let canonical = this.interned.get(command)
      if (canonical === undefined) {
        canonical = command
        this.interned.set(command, command)
      }
      distinct.push(canonical)
    }
    this.commandsBySession.set(session.id, distinct)
  }

  /** Sessions seen so far. */
  get size(): number {
    return this.starts.size
  }

  extras(): ReportExtras {
    const sessions = [...this.commandsBySession.values()].map((commands) => ({ commands }))
    return { sessionStarts: this.starts, commands: commandsWithTechniques(sessions) }
  }
}

/**
 * Reads the inputs again for the report's extras (the analysis ran elsewhere, or the report
 * is made from a Result file with `--logs`). Streamed; an input whose order stops the stream
 * is read whole.
 */
export const readReportExtras = async (paths: ReadonlyArray<string>, options: IngestOptions): Promise<ReportExtras> => {
  const collector = new ReportExtrasCollector()
  // Stdin and named pipes are read once: whole, never streamed and then read again.
  const outcome = paths.some(isStreamInput) ? { streamed: false } : await ingestStream(paths, options, collector.add)
  if (!outcome.streamed) {
    const { sessions } = await ingest(paths, options)
    for (const s of sessions) collector.add(s)
  }
  return collector.extras()
}
