/**
 * The result store on NATS: a JetStream object store bucket, so Results larger than one NATS
 * message travel in chunks and any client of the pool can fetch them.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { NatsConnection } from "nats"
import type { ResultStore } from "../orchestrator/Orchestrator.ts"

export const RESULTS_BUCKET = "coord-results"

export const natsResultStore = (nc: NatsConnection, bucket: string = RESULTS_BUCKET): ResultStore => {
  const store = () => nc.jetstream().views.os(bucket)
  return {
    put: (name, data) => Effect.promise(async () => void (await (await store()).putBlob({ name }, data))),
    get: (name) => Effect.promise(async () => (await (await store()).getBlob(name)) ?? undefined)
  }
}
