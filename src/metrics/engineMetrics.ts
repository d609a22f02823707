/**
 * The engine's metric families, named and described in one place (docs/operations.md lists
 * them; deploy/grafana/ draws them). Recorded by: the actor kernel (messages, latency, errors,
 * restarts, mailboxes), the HTTP edge (requests), the API's analysis runner (analyses, ingest),
 * the durable-job consumer (jobs, consumer lag), the reply cache (hits) and the inference
 * endpoints (queue wait and requests per GPU).
 */
import { DURATION_BUCKETS, metrics } from "./Registry.ts"

export const actorMessages = metrics.counter("dshield_actor_messages_total", "Messages handled by actors, by actor type, message and outcome (ok, error, timeout, cancelled, crash).")
export const actorMessageSeconds = metrics.histogram("dshield_actor_message_duration_seconds", "Time actors spent handling a message, by actor type and message.")
export const actorErrors = metrics.counter("dshield_actor_errors_total", "Typed errors and crashes of actor messages, by actor type and error tag.")
export const actorRestarts = metrics.counter("dshield_actor_restarts_total", "Actor restarts after a crash, by actor type and instance.")
export const actorMailbox = metrics.gauge("dshield_actor_mailbox_depth", "Messages waiting in an actor's mailbox, by actor type and instance.")
export const actorInFlight = metrics.gauge("dshield_actor_in_flight", "Messages an actor is handling now, by actor type and instance.")
export const actorUp = metrics.gauge("dshield_actor_state", "1 for the state each actor instance is in (running, restarting, passive, escalated, stopped).")

export const httpRequests = metrics.counter("dshield_http_requests_total", "HTTP API requests, by method, endpoint and status code.")
export const httpRequestSeconds = metrics.histogram("dshield_http_request_duration_seconds", "HTTP API request latency at the edge, by method and endpoint.")

export const analyses = metrics.counter("dshield_analyses_total", "Analyses finished, by status (completed, failed) and depth.")
export const analysisSeconds = metrics.histogram("dshield_analysis_duration_seconds", "Time from an analysis starting to its Result being stored, by depth.", [...DURATION_BUCKETS, 1800, 3600])
export const analysesWaiting = metrics.gauge("dshield_analyses_waiting", "Analyses accepted and waiting to run.")
export const ingestEvents = metrics.counter("dshield_ingest_events_total", "Events read by analyses that completed.")
export const ingestSessions = metrics.counter("dshield_ingest_sessions_total", "Sessions analysed by analyses that completed.")
export const ingestRejected = metrics.counter("dshield_ingest_rejected_total", "Input lines rejected by analyses that completed, by reason.")

export const jobs = metrics.counter("dshield_jobs_total", "Durable jobs handled, by outcome (done, failed, duplicate, busy, retry, dead_lettered).")
export const jobsPending = metrics.gauge("dshield_jobs_consumer_pending", "Durable jobs waiting in the JetStream consumer (lag), by stream and consumer.")
export const jobsRedelivered = metrics.gauge("dshield_jobs_consumer_redelivered", "Durable jobs delivered more than once and not yet acked, by stream and consumer.")
export const jobsAckPending = metrics.gauge("dshield_jobs_consumer_ack_pending", "Durable jobs delivered and not yet acked, by stream and consumer.")

export const cacheRequests = metrics.counter("dshield_cache_requests_total", "Result cache look-ups, by result (hit, miss).")

export const inferenceQueueWait = metrics.histogram("dshield_inference_queue_wait_seconds", "Time an inference request waited for its GPU's endpoint, by GPU.")
export const inferenceRequests = metrics.counter("dshield_inference_requests_total", "Inference requests to Ollama endpoints, by GPU and outcome (ok, failed, overloaded).")

/**
 * Instance numbers of each actor type in this process: the lowest number not in use, given
 * back when the actor stops. Actors spawned per analysis (the store actor, the workflow's
 * agents) reuse numbers, so the instance label stays as small as the number alive at once.
 */
const inUse = new Map<string, Set<number>>()
export const takeActorInstance = (actor: string): { readonly instance: string; readonly release: () => void } => {
  const used = inUse.get(actor) ?? new Set<number>()
  inUse.set(actor, used)
  let n = 1
  while (used.has(n)) n++
  used.add(n)
  return { instance: String(n), release: () => void used.delete(n) }
}
