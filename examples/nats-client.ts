/**
 * A NATS client of the DShield Coordination Engine API (docs/nats-api.md), using only the
 * `nats` package and plain JSON — what any service in any language does:
 *
 * 1. connect with credentials (user:password in NATS_URL, NATS_TOKEN, or a NATS_CREDS file)
 *    and TLS (NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY) as the server requires;
 * 2. upload the log file to the object store bucket `coord-inputs` under `input-<sha256>`
 *    (claim-check: the workers need no access to this machine's disk);
 * 3. ask `coord.v1.analyze` naming the object, with a deadline (`timeout_ms`);
 * 4. fetch the Result v1 with `coord.v1.result`, or from the bucket `coord-results` when it
 *    is larger than one message.
 *
 *   npx dshield-coord worker --roles api &                 # serve coord.v1.* (needs nats-server)
 *   NATS_URL=nats://client:PASSWORD@127.0.0.1:4222 npx bun examples/nats-client.ts cowrie.json
 */
import { createHash } from "node:crypto"
import { createReadStream, readFileSync, statSync } from "node:fs"
import { basename } from "node:path"
import { Readable } from "node:stream"
import { connect, type ConnectionOptions, credsAuthenticator, ServiceError } from "nats"

// Connection options from the environment (nats.js takes credentials as options, not from the URL).
const url = new URL(process.env.NATS_URL ?? "nats://127.0.0.1:4222")
const options: ConnectionOptions = { servers: `${url.hostname}:${url.port || "4222"}` }
if (url.username !== "" && url.password !== "") Object.assign(options, { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) })
else if (url.username !== "") options.token = decodeURIComponent(url.username)
if (process.env.NATS_TOKEN) options.token = process.env.NATS_TOKEN
if (process.env.NATS_CREDS) options.authenticator = credsAuthenticator(new Uint8Array(readFileSync(process.env.NATS_CREDS)))
if (process.env.NATS_TLS_CA || process.env.NATS_TLS_CERT || url.protocol === "tls:") {
  options.tls = { caFile: process.env.NATS_TLS_CA, certFile: process.env.NATS_TLS_CERT, keyFile: process.env.NATS_TLS_KEY }
}

const nc = await connect(options)
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
const decode = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data))

const call = async (endpoint: string, body: unknown, timeout = 120_000) => {
  const reply = await nc.request(`coord.v1.${endpoint}`, encode(body), { timeout })
  if (ServiceError.isServiceError(reply)) {
    // Errors: code and description in the Nats-Service-Error headers, the typed error in the body.
    const error = ServiceError.toServiceError(reply)!
    throw new Error(`coord.v1.${endpoint} failed (${error.code}): ${error.message} ${reply.data.length > 0 ? JSON.stringify(decode(reply.data)) : ""}`)
  }
  return decode(reply.data)
}

console.log("status:", await call("status", {}))
const file = process.argv[2]
if (file === undefined) {
  console.log("pass a cowrie log path to analyse it")
} else {
  // Claim-check: upload the file under its SHA-256, then name the object in the request.
  const sha256 = createHash("sha256").update(readFileSync(file)).digest("hex")
  const object = `input-${sha256}`
  const inputs = await nc.jetstream().views.os("coord-inputs")
  await inputs.put({ name: object }, Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>)
  const bytes = statSync(file).size
  const deadline = 10 * 60_000
  const summary = await call("analyze", {
    inputs: [{ path: file, kind: "file", files: [{ name: basename(file), object, sha256, bytes }] }],
    config: { seed: 42 },
    timeout_ms: deadline
  }, deadline + 5_000)
  console.log("analysis:", summary)
  try {
    const result = await call("result", { result_object: summary.result_object })
    console.log(`${result.campaigns.length} campaigns; first:`, result.campaigns[0]?.name)
  } catch {
    // Results over one NATS message come from the JetStream object store instead.
    const os = await nc.jetstream().views.os("coord-results")
    const blob = await os.getBlob(summary.result_object)
    const result = JSON.parse(new TextDecoder().decode(blob!))
    console.log(`${result.campaigns.length} campaigns (from the object store); first:`, result.campaigns[0]?.name)
  }
}
await nc.close()
