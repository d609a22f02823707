/**
 * The result cache of the orchestrators: an analysis of the same uploaded inputs with the same
 * configuration on the same engine version is answered with the stored reply at once (the
 * Result already in the results bucket), instead of being downloaded and analysed again.
 *
 * Only claim-check inputs are cached: their objects are named by their SHA-256, so the key
 * is known before any byte is read. Worker-local paths are not (a file may change under its
 * name). A hit is used only while its Result object is still in the results bucket (TTL and
 * byte limits drop old ones). Backed by the Cache service: Redis when REDIS_URL is set, so
 * every worker of a pool shares it; this process's memory otherwise.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { canonicalJson, sha256Hex } from "../../src/config/AnalysisConfig.ts"
import type { CacheService } from "../../src/store/Cache.ts"
import { cacheRequests } from "../../src/metrics/engineMetrics.ts"
import { ENGINE_VERSION } from "../../src/version.ts"
import { type AnalyzeMessage, AnalyzeReply, fullConfig } from "../api/Requests.ts"

export interface ReplyCache {
  readonly get: (key: string) => Effect.Effect<AnalyzeReply | undefined>
  readonly set: (key: string, reply: AnalyzeReply) => Effect.Effect<void>
}

/**
 * The cache key of a request, or undefined when it cannot be cached. Everything the Result
 * depends on is in it: the engine version, the whole configuration (defaults filled in), each
 * input as the user named it with its files' names and digests in order, and the results
 * bucket the reply's object lives in.
 */
export const replyCacheKey = (request: AnalyzeMessage, resultsBucket: string): string | undefined => {
  if (request.inputs === undefined || request.inputs.length === 0) return undefined
  return `analyze:${sha256Hex(canonicalJson({
    engine: ENGINE_VERSION,
    config: fullConfig(request.config),
    bucket: resultsBucket,
    inputs: request.inputs.map((input) => ({ path: input.path, kind: input.kind, files: input.files.map((f) => [f.name, f.sha256]) }))
  }))}`
}

/** Replies kept in the Cache service's result cache (24 h), as JSON; an entry that does not decode is a miss. */
export const cachedReplies = (cache: CacheService): ReplyCache => {
  const decodeReply = Schema.decodeUnknownOption(Schema.fromJsonString(AnalyzeReply))
  return {
    get: (key) =>
      Effect.map(cache.get("result", key), (text) => {
        const reply = text === undefined ? undefined : Option.getOrUndefined(decodeReply(text))
        cacheRequests.inc({ result: reply === undefined ? "miss" : "hit" })
        return reply
      }),
    set: (key, reply) => cache.set("result", key, JSON.stringify(reply))
  }
}
