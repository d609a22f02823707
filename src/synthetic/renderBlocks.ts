/**
 * Sessions rendered in fixed blocks of BLOCK_SESSIONS consecutive sessions: the unit that
 * `writeDataset` writes (and gzips as one member), and the unit it shares out between
 * worker threads. Every worker runs the whole (cheap, deterministic) generator and renders
 * only its own blocks (block index mod workers), so the bytes are the same whatever the
 * number of workers.
 */
import { ByteSink } from "./ByteSink.ts"
import { writeCowrie } from "./cowrieWriter.ts"
import { generateSessions, type GenerateSessionsOptions } from "./generateSessions.ts"

/** Sessions per block (about 4 MB of cowrie lines). */
export const BLOCK_SESSIONS = 1024

export interface RenderedBlock {
  readonly index: number
  readonly sessions: number
  readonly events: number
  /** cowrie JSON lines, each ending in "\n". */
  readonly cowrie: Buffer
  /** labels.tsv rows, each ending in "\n" (no header). */
  readonly labels: Buffer
}

/** The generator options only (what crosses a thread boundary). */
export const sessionOptions = (o: GenerateSessionsOptions): GenerateSessionsOptions => ({
  sessions: o.sessions,
  seed: o.seed,
  ...(o.startMs === undefined ? {} : { startMs: o.startMs }),
  ...(o.days === undefined ? {} : { days: o.days })
})

/**
 * Renders the blocks `worker` owns out of `workers` and hands each to `deliver`, in order,
 * waiting for it before going on (so a slow consumer holds the renderer back).
 */
export const renderBlocks = async (
  options: GenerateSessionsOptions,
  worker: number,
  workers: number,
  deliver: (block: RenderedBlock) => Promise<void>
): Promise<void> => {
  const cowrie = new ByteSink(6 << 20)
  const labels = new ByteSink(64 << 10)
  let index = 0
  let block = 0
  let inBlock = 0
  let events = 0
  let mine = worker % workers === 0
  for (const { session, label } of generateSessions(options)) {
    if (mine) {
      events += writeCowrie(session, cowrie)
      labels.str(`${session.id}\t${label.family}\t${label.variant}\t${label.wave}\t${label.coordinated ? 1 : 0}\n`)
    }
    index++
    inBlock++
    if (inBlock === BLOCK_SESSIONS) {
      if (mine) {
        await deliver({ index: block, sessions: inBlock, events, cowrie: cowrie.take(), labels: labels.take() })
        events = 0
      }
      block++
      inBlock = 0
      mine = block % workers === worker
    }
  }
  if (inBlock > 0 && mine) await deliver({ index: block, sessions: inBlock, events, cowrie: cowrie.take(1), labels: labels.take(1) })
}

/** How many blocks a run has. */
export const blockCount = (sessions: number): number => Math.ceil(sessions / BLOCK_SESSIONS)
