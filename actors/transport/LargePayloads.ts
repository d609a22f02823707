/**
 * Claim-check for actor messages of any size. A NATS message holds 1 MiB by default; an
 * agent request carrying the sessions of a large analysis, or a reply carrying its
 * campaigns, does not fit. Above INLINE_MAX_BYTES the encoded body is put in the JetStream
 * object store bucket `coord-payloads`, named by its SHA-256, and the message carries only
 * the `Coord-Payload-Object` header; the receiver fetches the object, checks its digest and
 * decodes it as if it had arrived inline. Small messages are unchanged.
 *
 * The bucket keeps payloads for DSHIELD_PAYLOADS_TTL_MS (default 1 h: long enough for a
 * request to be served, not an archive) up to DSHIELD_PAYLOADS_MAX_BYTES (default 4 GiB);
 * a receiver refuses one payload over DSHIELD_PAYLOADS_MAX_OBJECT_BYTES (default 2 GiB).
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { type MsgHdrs, nanos, type NatsConnection, type ObjectStore, StorageType } from "nats"

export const PAYLOADS_BUCKET = "coord-payloads"
export const PAYLOAD_HEADER = "Coord-Payload-Object"

/** Bodies up to this size travel inline (leaves room for headers under a 1 MiB max_payload). */
export const INLINE_MAX_BYTES = 768 * 1024

const OBJECT_NAME = /^payload-[0-9a-f]{64}$/

const setting = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  return Number.isInteger(value) && value > 0 ? value : fallback
}

const buckets = new WeakMap<NatsConnection, Promise<ObjectStore>>()

/** The payloads bucket of this connection (created with its TTL and byte limit when missing). */
const payloadBucket = (nc: NatsConnection): Promise<ObjectStore> => {
  let bucket = buckets.get(nc)
  if (bucket === undefined) {
    bucket = nc.jetstream().views.os(PAYLOADS_BUCKET, {
      ttl: nanos(setting("DSHIELD_PAYLOADS_TTL_MS", 60 * 60_000)),
      max_bytes: setting("DSHIELD_PAYLOADS_MAX_BYTES", 4 * 1024 ** 3),
      storage: StorageType.File
    })
    // A failure is not cached: the next message tries again.
    bucket.catch(() => buckets.delete(nc))
    buckets.set(nc, bucket)
  }
  return bucket
}

/** Worker side: the bucket exists (clients may use it but, under deploy/nats, not create it). */
export const ensurePayloadBucket = (nc: NatsConnection): Promise<void> => payloadBucket(nc).then(() => undefined)

/**
 * The body to send for `body`: itself when small; else an empty body, after the bytes are
 * stored and `headers` names them.
 */
export const outgoingBody = async (nc: NatsConnection, body: Uint8Array, headers: MsgHdrs): Promise<Uint8Array> => {
  if (body.byteLength <= INLINE_MAX_BYTES) return body
  const name = `payload-${createHash("sha256").update(body).digest("hex")}`
  const bucket = await payloadBucket(nc)
  // Content-named: the same bytes already stored need not be sent again.
  const existing = await bucket.info(name)
  if (existing === null || existing.deleted) await bucket.putBlob({ name }, body)
  headers.set(PAYLOAD_HEADER, name)
  return new Uint8Array(0)
}

/** Whether a message's body is in the payloads bucket rather than in the message. */
export const isClaimChecked = (headers: MsgHdrs | undefined): boolean => (headers?.get(PAYLOAD_HEADER) ?? "") !== ""

/** The body a message carried: inline, or fetched (and checked against its name) from the bucket. */
export const incomingBody = async (nc: NatsConnection, data: Uint8Array, headers: MsgHdrs | undefined): Promise<Uint8Array> => {
  const name = headers?.get(PAYLOAD_HEADER) ?? ""
  if (name === "") return data
  if (!OBJECT_NAME.test(name)) throw new Error(`the ${PAYLOAD_HEADER} header names no payload object`)
  const bucket = await payloadBucket(nc)
  // Bounded before it is read: a request from outside cannot make a worker load any size.
  const info = await bucket.info(name)
  const maxBytes = setting("DSHIELD_PAYLOADS_MAX_OBJECT_BYTES", 2 * 1024 ** 3)
  if (info !== null && !info.deleted && info.size > maxBytes) throw new Error(`the payload ${name} has ${info.size} bytes, over DSHIELD_PAYLOADS_MAX_OBJECT_BYTES (${maxBytes})`)
  const body = await bucket.getBlob(name)
  if (body === null) throw new Error(`the payload ${name} is no longer in the ${PAYLOADS_BUCKET} bucket (kept DSHIELD_PAYLOADS_TTL_MS); send the request again`)
  if (`payload-${createHash("sha256").update(body).digest("hex")}` !== name) throw new Error(`the payload ${name} does not match its digest`)
  return body
}
