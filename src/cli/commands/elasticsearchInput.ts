/**
 * `analyze --es URL --index P --since T [--until T] [--query Q] [--es-ca FILE]`: the
 * documents are read from Elasticsearch (src/ingest/elasticsearchSource.ts) into a JSON-lines
 * file named after the read (server, index and range), which the analysis then reads like
 * any log — its digest in the Result is that of the documents read. The file is removed
 * afterwards. Credentials: ES_API_KEY, or ES_USERNAME and ES_PASSWORD.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { AnalysisError, InputError } from "../../domain/errors.ts"
import { ElasticsearchInputError, fetchElasticsearchInput, inputClient } from "../../ingest/elasticsearchSource.ts"
import type { ElasticsearchFlags } from "../args.ts"

const safe = (text: string): string => text.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80)

export const fromElasticsearch = <A, E, R>(es: ElasticsearchFlags, quiet: boolean, analyze: (path: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "dshield-es-"))),
    (dir) =>
      Effect.gen(function*() {
        const host = new URL(es.url).host
        const path = join(dir, `${safe(host)}_${safe(es.index)}_${safe(es.since)}_${safe(es.until ?? "now")}.json`)
        const input = {
          ...es,
          apiKey: process.env.ES_API_KEY || undefined,
          username: process.env.ES_USERNAME || undefined,
          password: process.env.ES_PASSWORD || undefined
        }
        const started = performance.now()
        const report = yield* Effect.tryPromise({
          try: () => fetchElasticsearchInput(input, path, inputClient(input)),
          catch: (error) =>
            error instanceof ElasticsearchInputError
              ? new InputError({ message: error.message })
              : new AnalysisError({ message: `Reading Elasticsearch at ${host} failed (${String((error as Error).message ?? error).split("\n")[0]}).` })
        })
        if (!quiet) {
          process.stderr.write(`read ${report.documents} document(s) of ${es.index} from ${host} (${es.since} to ${es.until ?? "now"}) in ${report.pages} page(s), ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
        }
        return yield* analyze(path)
      }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
