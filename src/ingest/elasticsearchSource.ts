/**
 * Elasticsearch as an input: the documents of DShield-SIEM indices (`cowrie-*`, the
 * `cowrie.dshield-*` firewall logs, `cowrie.webhoneypot-*`) in a time range, read with a
 * point in time and `search_after` paging (a consistent view however long the read takes,
 * no deep-paging limit), each hit's `_source` written as one JSON line, in `@timestamp`
 * order, to a file the ordinary ingest then reads — so a log read from Elasticsearch is
 * sniffed, parsed, rejected and sessionised exactly as the same events read from a file.
 *
 * Authentication: an API key (ES_API_KEY), or a user and password (ES_USERNAME and
 * ES_PASSWORD, or in the URL), and a CA file for a private certificate authority. Transient
 * failures (connection errors, 502–504, 429) are retried by the client with backoff.
 * Every failure is one sentence naming the server, never a credential.
 */
import { createWriteStream, readFileSync } from "node:fs"
import { Client, HttpConnection } from "@elastic/elasticsearch"

export interface ElasticsearchInput {
  readonly url: string
  /** An index pattern, e.g. cowrie-* (commas for several). */
  readonly index: string
  /** Documents at or after this instant (ISO time). */
  readonly since: string
  /** Documents before this instant (ISO time); undefined: now. */
  readonly until: string | undefined
  /** A Lucene query string narrowing the documents (e.g. `eventid:cowrie.*`). */
  readonly query: string | undefined
  readonly apiKey?: string | undefined
  readonly username?: string | undefined
  readonly password?: string | undefined
  /** A PEM file of the certificate authority that signed the server's certificate. */
  readonly caFile?: string | undefined
  /** Hits per page. */
  readonly pageSize?: number | undefined
}

export class ElasticsearchInputError extends Error {}

/** The client for an input (tests pass the official mock's Connection). */
export const inputClient = (input: ElasticsearchInput, Connection: unknown = HttpConnection): Client => {
  const url = new URL(input.url)
  const username = input.username ?? (url.username === "" ? undefined : decodeURIComponent(url.username))
  const password = input.password ?? (url.password === "" ? undefined : decodeURIComponent(url.password))
  url.username = ""
  url.password = ""
  return new Client({
    node: url.href,
    Connection: Connection as typeof HttpConnection,
    maxRetries: 5,
    requestTimeout: 60_000,
    ...(input.apiKey !== undefined ? { auth: { apiKey: input.apiKey } } : username !== undefined ? { auth: { username, password: password ?? "" } } : {}),
    ...(input.caFile === undefined ? {} : { tls: { ca: readFileSync(input.caFile, "utf8") } })
  })
}

const origin = (raw: string): string => {
  try {
    const u = new URL(raw)
    return `${u.protocol}//${u.host}`
  } catch {
    return raw
  }
}

/** One sentence for a client error: status and Elasticsearch's own reason, never the credentials. */
const describe = (error: unknown, input: ElasticsearchInput, doing: string): ElasticsearchInputError => {
  const e = error as { meta?: { statusCode?: number; body?: { error?: { type?: string; reason?: string } } }; name?: string; message?: string }
  const status = e.meta?.statusCode
  const where = origin(input.url)
  if (status === 401 || status === 403) {
    return new ElasticsearchInputError(`Elasticsearch at ${where} refused to ${doing} (HTTP ${status}${e.meta?.body?.error?.type === undefined ? "" : `: ${e.meta.body.error.type}`}); check ES_API_KEY or ES_USERNAME/ES_PASSWORD and the key's index privileges.`)
  }
  if (status === 404) {
    return new ElasticsearchInputError(`Elasticsearch at ${where} has no index matching ${input.index} (HTTP 404${e.meta?.body?.error?.type === undefined ? "" : `: ${e.meta.body.error.type}`}); check --index.`)
  }
  if (status !== undefined && status > 0) {
    const reason = e.meta?.body?.error?.reason ?? e.meta?.body?.error?.type ?? ""
    return new ElasticsearchInputError(`Elasticsearch at ${where} failed to ${doing} (HTTP ${status}${reason === "" ? "" : `: ${reason.split("\n")[0]}`}).`)
  }
  return new ElasticsearchInputError(`Could not reach Elasticsearch at ${where} to ${doing} (${e.name ?? "error"}: ${String(e.message ?? error).split("\n")[0]}); check --es and that the server runs.`)
}

export interface FetchReport {
  readonly documents: number
  readonly pages: number
}

/**
 * Writes the documents of `input` to `out` as JSON lines, oldest first; refuses a pattern
 * that matches no document in the range with a sentence saying so.
 */
export const fetchElasticsearchInput = async (input: ElasticsearchInput, out: string, client: Client = inputClient(input)): Promise<FetchReport> => {
  const filter: Array<Record<string, unknown>> = [{ range: { "@timestamp": { gte: input.since, ...(input.until === undefined ? {} : { lt: input.until }), format: "strict_date_optional_time" } } }]
  if (input.query !== undefined) filter.push({ query_string: { query: input.query } })
  const query = { bool: { filter } }
  let total: number
  try {
    total = (await client.count({ index: input.index, query })).count
  } catch (error) {
    throw describe(error, input, `count documents in ${input.index}`)
  }
  if (total === 0) {
    throw new ElasticsearchInputError(`No document in ${input.index} at ${origin(input.url)} falls between ${input.since} and ${input.until ?? "now"}${input.query === undefined ? "" : ` matching ${input.query}`}; check --index, --since and --until.`)
  }
  let pit: string
  try {
    pit = (await client.openPointInTime({ index: input.index, keep_alive: "2m" })).id
  } catch (error) {
    throw describe(error, input, `open a point in time on ${input.index}`)
  }
  const file = createWriteStream(out)
  const write = (text: string): Promise<void> => new Promise((resolve, reject) => (file.write(text, (error) => (error ? reject(error) : resolve()))))
  let documents = 0
  let pages = 0
  let after: Array<unknown> | undefined
  try {
    for (;;) {
      let page
      try {
        page = await client.search({
          size: input.pageSize ?? 5000,
          query,
          pit: { id: pit, keep_alive: "2m" },
          sort: [{ "@timestamp": { order: "asc" } }, { _shard_doc: { order: "asc" } }],
          ...(after === undefined ? {} : { search_after: after as never }),
          track_total_hits: false
        })
      } catch (error) {
        throw describe(error, input, `read ${input.index}`)
      }
      pages++
      if (page.pit_id !== undefined) pit = page.pit_id
      const hits = page.hits.hits
      if (hits.length === 0) break
      let chunk = ""
      for (const hit of hits) {
        if (hit._source === undefined) continue
        chunk += `${JSON.stringify(hit._source)}\n`
        documents++
      }
      await write(chunk)
      after = hits[hits.length - 1]!.sort
      if (after === undefined) break
    }
  } finally {
    await new Promise<void>((resolve) => file.end(resolve))
    await client.closePointInTime({ id: pit }).catch(() => undefined)
  }
  return { documents, pages }
}
