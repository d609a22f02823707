/**
 * A NATS client of the DShield Coordination Engine API (docs/nats-api.md), using only the
 * `nats` package and plain JSON — what any service in any language does.
 *
 *   npx dshield-coord worker --roles api &           # serve coord.v1.* (needs nats-server)
 *   npx bun examples/nats-client.ts cowrie.json      # analyse a file the worker can read
 */
import { resolve } from "node:path"
import { connect, ServiceError } from "nats"

const nc = await connect({ servers: process.env.NATS_URL ?? "127.0.0.1:4222" })
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
  const summary = await call("analyze", { paths: [resolve(file)], config: { seed: 42 } })
  console.log("analysis:", summary)
  try {
    const result = await call("result", { result_object: summary.result_object })
    console.log(`${result.campaigns.length} campaigns; first:`, result.campaigns[0]?.name)
  } catch (error) {
    // Results over one NATS message come from the JetStream object store instead.
    const os = await nc.jetstream().views.os("coord-results")
    const blob = await os.getBlob(summary.result_object)
    const result = JSON.parse(new TextDecoder().decode(blob!))
    console.log(`${result.campaigns.length} campaigns (from the object store); first:`, result.campaigns[0]?.name)
  }
}
await nc.close()
