/**
 * Inputs by claim-check: a client uploads each input file to the JetStream object store
 * bucket `coord-inputs` (chunked by the object store, named by its SHA-256 so the same file
 * is uploaded once) and the request names the objects. A worker streams each object into a
 * private staging directory, checking size and digest, hands the staged files to ingest, and
 * removes them when the analysis ends. No shared disk is needed between client and workers.
 *
 * The bucket has a TTL and a byte limit (DSHIELD_INPUTS_TTL_MS, DSHIELD_INPUTS_MAX_BYTES;
 * the worker creates the bucket with them and brings an existing bucket's limits up to date).
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { mkdir, mkdtemp, open, readdir, rm, stat } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join, resolve, sep } from "node:path"
import { Readable } from "node:stream"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { nanos, type NatsConnection, type ObjectStore, StorageType } from "nats"
import { type ClaimCheckInput, type InputObject, LIMITS, objectNameFor } from "../api/Requests.ts"

export const INPUTS_BUCKET = "coord-inputs"

export interface InputBucketSettings {
  /** How long an uploaded input is kept. */
  readonly ttlMs: number
  /** Bytes the bucket may hold; uploads beyond it are refused. */
  readonly maxBytes: number
}

export const DEFAULT_INPUT_BUCKET: InputBucketSettings = { ttlMs: 24 * 60 * 60_000, maxBytes: 10 * 1024 ** 3 }

/** The bucket's limits from DSHIELD_INPUTS_TTL_MS and DSHIELD_INPUTS_MAX_BYTES (defaults: 24 h, 10 GiB). */
export const inputBucketSettings: Effect.Effect<InputBucketSettings, ClaimCheckError> = Effect.gen(function*() {
  const ttlMs = yield* Config.Int("DSHIELD_INPUTS_TTL_MS").pipe(Config.withDefault(DEFAULT_INPUT_BUCKET.ttlMs))
  const maxBytes = yield* Config.Int("DSHIELD_INPUTS_MAX_BYTES").pipe(Config.withDefault(DEFAULT_INPUT_BUCKET.maxBytes))
  if (ttlMs < 60_000 || maxBytes < 1024 * 1024) {
    return yield* new ClaimCheckError({ message: "DSHIELD_INPUTS_TTL_MS must be at least 60000 and DSHIELD_INPUTS_MAX_BYTES at least 1048576; raise them." })
  }
  return { ttlMs, maxBytes }
}).pipe(Effect.mapError((e) => (e instanceof ClaimCheckError ? e : new ClaimCheckError({ message: `The inputs bucket settings are not valid (${String(e)}); fix DSHIELD_INPUTS_TTL_MS or DSHIELD_INPUTS_MAX_BYTES.` }))))

/** An input could not be uploaded or staged; `message` says what to do. */
export class ClaimCheckError extends Schema.TaggedError<ClaimCheckError>()("ClaimCheckError", {
  message: Schema.String,
  /** "input": the client's input (missing, changed, expired); "refused": the request names something it may not. */
  kind: Schema.optionalKey(Schema.Literals(["input", "refused"]))
}) {}

const streamName = (bucket: string): string => `OBJ_${bucket}`

/** Opens the inputs bucket; the worker creates it (or updates its limits), clients only open it. */
export const inputBucket = (nc: NatsConnection, settings: InputBucketSettings, bucket = INPUTS_BUCKET) =>
  Effect.tryPromise({
    try: () => nc.jetstream().views.os(bucket, { ttl: nanos(settings.ttlMs), max_bytes: settings.maxBytes, storage: StorageType.File }),
    catch: (error) => new ClaimCheckError({ message: bucketOpenFailure(`inputs bucket ${bucket}`, error, "DSHIELD_INPUTS_MAX_BYTES", "the NATS user's") })
  })

/**
 * Why a JetStream bucket cannot be opened, in one sentence saying what to do: a server with no
 * room for the bucket's byte limit (a matter of limits, not of permissions), or else the
 * permissions of `whose` connection.
 */
export const bucketOpenFailure = (what: string, error: unknown, limitVariable: string, whose: string): string => {
  const reason = String((error as Error | undefined)?.message ?? error)
  return /insufficient (storage )?resources/i.test(reason)
    ? `Cannot open the ${what} (${reason}); the NATS server has no room for its byte limit: lower ${limitVariable} or raise the server's max_file_store.`
    : `Cannot open the ${what} (${reason}); check ${whose} NATS permissions.`
}

/** Worker side: the bucket exists with the configured TTL and byte limit. */
export const ensureInputBucket = (nc: NatsConnection, settings: InputBucketSettings, bucket = INPUTS_BUCKET) =>
  Effect.gen(function*() {
    yield* inputBucket(nc, settings, bucket)
    yield* Effect.tryPromise({
      try: async () => {
        const jsm = await nc.jetstreamManager()
        const info = await jsm.streams.info(streamName(bucket))
        if (info.config.max_age !== nanos(settings.ttlMs) || info.config.max_bytes !== settings.maxBytes) {
          await jsm.streams.update(streamName(bucket), { ...info.config, max_age: nanos(settings.ttlMs), max_bytes: settings.maxBytes })
        }
      },
      catch: (error) => new ClaimCheckError({ message: `Cannot set the limits of the inputs bucket ${bucket} (${String((error as Error).message ?? error)}); check the worker's NATS permissions.` })
    })
  })

const toHex = (objectDigest: string): string | undefined => {
  if (!objectDigest.startsWith("SHA-256=")) return undefined
  return Buffer.from(objectDigest.slice(8).replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("hex")
}

const sha256File = (path: string): Promise<string> =>
  new Promise((res, rej) => {
    const hash = createHash("sha256")
    createReadStream(path).on("data", (chunk) => hash.update(chunk)).on("error", rej).on("end", () => res(hash.digest("hex")))
  })

/** The files of one input in ingest's order: a file, or a directory walked sorted, dot-files skipped, links to files read. */
const filesOf = async (path: string): Promise<{ kind: "file" | "directory"; files: Array<{ name: string; full: string }> }> => {
  const info = await stat(path)
  if (info.isFile()) return { kind: "file", files: [{ name: path.split(/[\\/]/).filter((s) => s.length > 0).pop() ?? "input", full: path }] }
  if (!info.isDirectory()) throw Object.assign(new Error("not a regular file or directory"), { code: "ENOTFILE" })
  const out: Array<{ name: string; full: string }> = []
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true })
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue
      const full = join(dir, entry.name)
      const name = prefix === "" ? entry.name : `${prefix}/${entry.name}`
      if (entry.isDirectory()) await walk(full, name)
      else if (entry.isFile()) out.push({ name, full })
      // As ingest walks a directory (src/ingest/ingest.ts): a link to a file is read, any other link is not followed.
      else if (entry.isSymbolicLink() && (await stat(full).then((t) => t.isFile(), () => false))) out.push({ name, full })
    }
  }
  await walk(path, "")
  return { kind: "directory", files: out }
}

/**
 * Client side: uploads the files under `paths` (as the user named them) and returns the
 * claim-check inputs naming them. A file already in the bucket with the same digest (and
 * young enough not to expire during the analysis) is not uploaded again.
 */
export const uploadInputs = (nc: NatsConnection, paths: ReadonlyArray<string>, settings: InputBucketSettings = DEFAULT_INPUT_BUCKET) =>
  Effect.gen(function*() {
    const os = yield* inputBucket(nc, settings)
    const inputs: Array<ClaimCheckInput> = []
    for (const path of paths) {
      const listed = yield* Effect.tryPromise({
        try: () => filesOf(path),
        catch: (error) => {
          const code = (error as { code?: string }).code
          return new ClaimCheckError({
            kind: "input",
            message: code === "ENOENT"
              ? `Input ${path} does not exist; check the path.`
              : code === "ENOTFILE"
              ? `Input ${path} is not a regular file or directory; pass log files or directories of them.`
              : `Input ${path} cannot be read (${code ?? String(error)}); check the path and its permissions.`
          })
        }
      })
      const files: Array<InputObject> = []
      for (const file of listed.files) files.push(yield* uploadFile(os, file.full, file.name, settings))
      inputs.push({ path, kind: listed.kind, files })
    }
    return inputs
  })

const uploadFile = (os: ObjectStore, full: string, name: string, settings: InputBucketSettings) =>
  Effect.tryPromise({
    try: async (): Promise<InputObject> => {
      const before = await stat(full)
      if (before.size > LIMITS.fileBytes) throw Object.assign(new Error("too large"), { code: "EFBIG" })
      const sha256 = await sha256File(full)
      const object = objectNameFor(sha256)
      const existing = await os.info(object)
      const fresh = existing !== null && !existing.deleted && existing.size === before.size && toHex(existing.digest) === sha256 &&
        Date.now() - Date.parse(existing.mtime) < settings.ttlMs / 2
      if (!fresh) {
        const info = await os.put({ name: object }, Readable.toWeb(createReadStream(full)) as unknown as ReadableStream<Uint8Array>)
        if (toHex(info.digest) !== sha256 || info.size !== before.size) throw Object.assign(new Error("changed while uploading"), { code: "ECHANGED" })
      }
      return { name, object, sha256, bytes: before.size }
    },
    catch: (error) => {
      const code = (error as { code?: string }).code
      const message = String((error as Error).message ?? error)
      return new ClaimCheckError({
        kind: "input",
        message: code === "EFBIG"
          ? `Input ${full} is over ${LIMITS.fileBytes} bytes, the largest upload; split it.`
          : code === "ECHANGED"
          ? `Input ${full} changed while it was uploaded; upload it again once it is complete.`
          : /maximum bytes|insufficient resources/i.test(message)
          ? `The inputs bucket ${INPUTS_BUCKET} is full; wait for older inputs to expire or raise DSHIELD_INPUTS_MAX_BYTES on the workers.`
          : /permission/i.test(message)
          ? `The NATS user may not upload to the inputs bucket ${INPUTS_BUCKET}; use the client credentials from deploy/nats.`
          : `Uploading ${full} to the inputs bucket failed (${message}); check the NATS connection.`
      })
    }
  })

/** Where a staged input lives on this worker, and how the Result names it. */
export interface DisplayRoot {
  readonly local: string
  readonly shown: string
  readonly kind: "file" | "directory"
}

export interface StagedInputs {
  /** What ingest reads, one per input. */
  readonly paths: ReadonlyArray<string>
  readonly roots: ReadonlyArray<DisplayRoot>
}

/**
 * Worker side: streams the named objects into a private staging directory (removed when the
 * scope closes), checking each object's size and SHA-256 against the request.
 */
export const stageInputs = (nc: NatsConnection, inputs: ReadonlyArray<ClaimCheckInput>, settings: InputBucketSettings, bucket = INPUTS_BUCKET) =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => mkdtemp(join(tmpdir(), "dshield-inputs-")),
        catch: (error) => new ClaimCheckError({ message: `Cannot create a staging directory for the inputs (${String(error)}); check the worker's temporary directory.` })
      }),
      (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
    )
    const os = yield* inputBucket(nc, settings, bucket)
    const paths: Array<string> = []
    const roots: Array<DisplayRoot> = []
    for (const [i, input] of inputs.entries()) {
      const base = join(dir, String(i))
      for (const file of input.files) {
        const target = resolve(base, ...file.name.split("/"))
        if (!target.startsWith(base + sep)) {
          return yield* new ClaimCheckError({ kind: "refused", message: `The input name ${file.name} leaves its directory; name files by relative path without "..".` })
        }
        yield* stageObject(os, file, target, bucket)
      }
      const local = input.kind === "file" ? resolve(base, input.files[0]!.name) : base
      if (input.kind === "directory") yield* Effect.promise(() => mkdir(base, { recursive: true }))
      paths.push(local)
      roots.push({ local, shown: input.path, kind: input.kind })
    }
    return { paths, roots } satisfies StagedInputs
  })

const stageObject = (os: ObjectStore, file: InputObject, target: string, bucket: string) =>
  Effect.tryPromise({
    try: async () => {
      const info = await os.info(file.object)
      if (info === null || info.deleted) throw Object.assign(new Error("missing"), { code: "MISSING" })
      if (info.size !== file.bytes || toHex(info.digest) !== file.sha256) throw Object.assign(new Error("mismatch"), { code: "MISMATCH" })
      const got = await os.get(file.object)
      if (got === null) throw Object.assign(new Error("missing"), { code: "MISSING" })
      await mkdir(dirname(target), { recursive: true })
      const handle = await open(target, "wx", 0o600)
      const hash = createHash("sha256")
      let bytes = 0
      try {
        const reader = got.data.getReader()
        while (true) {
          const { done, value } = await reader.read()
          if (done) break
          hash.update(value)
          bytes += value.length
          if (bytes > file.bytes) throw Object.assign(new Error("mismatch"), { code: "MISMATCH" })
          await handle.write(value)
        }
      } finally {
        await handle.close()
      }
      // The object store checks its own digest at the end of the stream; so do we.
      const failure = await got.error
      if (failure !== null && failure !== undefined) throw failure
      if (bytes !== file.bytes || hash.digest("hex") !== file.sha256) throw Object.assign(new Error("mismatch"), { code: "MISMATCH" })
    },
    catch: (error) => {
      const code = (error as { code?: string } | undefined)?.code
      return new ClaimCheckError({
        kind: "input",
        message: code === "MISSING"
          ? `The input object ${file.object} (${file.name}) is not in the bucket ${bucket}; it may have expired: upload it again.`
          : code === "MISMATCH"
          ? `The input object ${file.object} (${file.name}) does not match the size and SHA-256 the request names; upload it again.`
          : `Reading the input object ${file.object} (${file.name}) failed (${String((error as Error | undefined)?.message ?? error)}); try again.`
      })
    }
  })

/** How the Result names a file ingest read: by the input the user named, not the staging path. */
export const shownPath = (path: string, roots: ReadonlyArray<DisplayRoot>): string => {
  for (const root of roots) {
    if (root.kind === "file" && path === root.local) return root.shown
    if (root.kind === "directory" && path.startsWith(root.local + sep)) return join(root.shown, path.slice(root.local.length + 1))
  }
  return path
}
