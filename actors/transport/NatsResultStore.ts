/**
 * The result store on NATS: a JetStream object store bucket, so Results larger than one NATS
 * message travel in chunks and any client of the pool can fetch them.
 *
 * Writes never overwrite: `put` and `create` publish the object's metadata with an expected
 * last sequence of 0 for its name, so when the name exists the server refuses the write (and
 * the chunks just written are purged). Result documents are named by their digest and job
 * answers by their analysis id, so the first write is the one result. The bucket has a TTL
 * and a byte limit.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type { NatsConnection, ObjectStore } from "nats"
import { StorageType } from "nats"
import { type ResultStore, runIdOf } from "../orchestrator/Orchestrator.ts"

export const RESULTS_BUCKET = "coord-results"

export interface NatsResultStoreOptions {
  readonly bucket?: string
  /** How long results are kept (default 30 days). */
  readonly ttlMs?: number
  /** Byte limit of the bucket (default 4 GiB); past it the oldest results are dropped. */
  readonly maxBytes?: number
  /**
   * A worker owns the bucket: its limits are brought to these (an older bucket, or changed
   * settings). Clients only read and write; asking the server to change the limits is not
   * theirs to do (the deploy/nats users may not, and the server logs each refusal).
   */
  readonly owner?: boolean
}

const DEFAULT_TTL_MS = 30 * 24 * 60 * 60_000
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024 * 1024

export interface NatsResultStore extends ResultStore {
  /** Writes `name` unless it exists; true when this call wrote it. */
  readonly create: (name: string, data: Uint8Array) => Effect.Effect<boolean>
}

const exists = (error: unknown): boolean => /wrong last sequence|10071/i.test(`${String((error as Error).message)} ${(error as { api_error?: { err_code?: number } }).api_error?.err_code ?? ""}`)

export const natsResultStore = (nc: NatsConnection, options: NatsResultStoreOptions | string = {}): NatsResultStore => {
  const opts: NatsResultStoreOptions = typeof options === "string" ? { bucket: options } : options
  const bucket = opts.bucket ?? RESULTS_BUCKET
  const ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES
  let opened: Promise<ObjectStore> | undefined
  const store = (): Promise<ObjectStore> => {
    opened ??= (async () => {
      const os = await nc.jetstream().views.os(bucket, { ttl: ttlMs * 1_000_000, max_bytes: maxBytes, storage: StorageType.File })
      // A bucket made before limits existed gets them.
      const jsm = await nc.jetstreamManager()
      const info = await jsm.streams.info(`OBJ_${bucket}`)
      if (opts.owner === true && (info.config.max_age !== ttlMs * 1_000_000 || info.config.max_bytes !== maxBytes)) {
        await jsm.streams.update(`OBJ_${bucket}`, { ...info.config, max_age: ttlMs * 1_000_000, max_bytes: maxBytes }).catch(() => undefined)
      }
      return os
    })().catch((error) => {
      opened = undefined
      throw error
    })
    return opened
  }
  /** Writes `name` unless it exists (with `description` in its metadata); true when this call wrote it. */
  const createNamed = async (name: string, data: Uint8Array, description?: string): Promise<boolean> => {
    const os = await store()
    const meta = description === undefined ? { name } : { name, description }
    try {
      await os.putBlob(meta, data, { previousRevision: 0 })
      return true
    } catch (error) {
      if (!exists(error)) throw error
      // A deleted object leaves a tombstone that a create-only put collides with: the name
      // is free again, so it is written (two writers here would both write the same
      // content-named document, so this race is harmless).
      if ((await os.info(name))?.deleted === true) {
        await os.putBlob(meta, data)
        return true
      }
      return false
    }
  }
  const create = (name: string, data: Uint8Array): Effect.Effect<boolean> => Effect.promise(() => createNamed(name, data))
  return {
    create,
    // The run id rides in the object's description, so a refused create reads it without the document.
    put: (name, data, runId) =>
      Effect.promise(async () => {
        if (await createNamed(name, data, runId)) return runId
        const os = await store()
        const described = (await os.info(name))?.description
        if (described !== undefined && described !== "") return described
        const kept = await os.getBlob(name)
        return (kept === null ? undefined : runIdOf(kept)) ?? runId
      }),
    get: (name) => Effect.promise(async () => (await (await store()).getBlob(name)) ?? undefined),
    has: (name) =>
      Effect.promise(async () => {
        const info = await (await store()).info(name)
        return info !== null && !info.deleted
      })
  }
}
