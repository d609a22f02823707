/**
 * The HTTP API's errors, each an RFC 9457 problem (`application/problem+json`) with its own
 * `type`, so clients branch on the type, not on the wording. `detail` is one sentence saying
 * what to do; `request_id` ties the answer to the server's log line.
 *
 * The types are URNs: they name the problem without promising a web page.
 */
import * as Schema from "effect/Schema"
import { HttpApiError } from "effect/http-api"

const extension = { request_id: Schema.optionalKey(Schema.String) }

export class Unauthorized extends HttpApiError.Problem<Unauthorized>()("Unauthorized", {
  type: "urn:dshield-coord:problem:unauthorized",
  status: 401,
  title: "Authentication required"
}, extension) {}

export class Forbidden extends HttpApiError.Problem<Forbidden>()("Forbidden", {
  type: "urn:dshield-coord:problem:forbidden",
  status: 403,
  title: "Not allowed for this role"
}, extension) {}

export class NotFound extends HttpApiError.Problem<NotFound>()("NotFound", {
  type: "urn:dshield-coord:problem:not-found",
  status: 404,
  title: "Not found"
}, extension) {}

/** One thing wrong with a request: where (body, query or path parameter, then the field) and what. */
export const RequestIssue = Schema.Struct({ path: Schema.Array(Schema.Union([Schema.String, Schema.Number])), message: Schema.String })

/** `errors`: what the request's schema refused, when it was that (Server.ts words them in `detail` too). */
export class InvalidRequest extends HttpApiError.Problem<InvalidRequest>()("InvalidRequest", {
  type: "urn:dshield-coord:problem:invalid-request",
  status: 400,
  title: "Invalid request"
}, { ...extension, errors: Schema.optionalKey(Schema.Array(RequestIssue)) }) {}

/** A body in a media type the endpoint does not read (answered by the server's edge, Server.ts). */
export class UnsupportedMediaType extends HttpApiError.Problem<UnsupportedMediaType>()("UnsupportedMediaType", {
  type: "urn:dshield-coord:problem:unsupported-media-type",
  status: 415,
  title: "Unsupported media type"
}, extension) {}

/**
 * Too many requests in a rate-limit window (answered by the server's edge before the API,
 * with Retry-After; declared with authentication, which every rate-limited endpoint has).
 */
export class RateLimited extends HttpApiError.Problem<RateLimited>()("RateLimited", {
  type: "urn:dshield-coord:problem:rate-limited",
  status: 429,
  title: "Too many requests"
}, extension) {}

export class TooLarge extends HttpApiError.Problem<TooLarge>()("TooLarge", {
  type: "urn:dshield-coord:problem:too-large",
  status: 413,
  title: "Request too large"
}, extension) {}

/** `retry_after`: seconds until the quota resets, also sent as the Retry-After header (Server.ts). */
export class QuotaExceeded extends HttpApiError.Problem<QuotaExceeded>()("QuotaExceeded", {
  type: "urn:dshield-coord:problem:quota-exceeded",
  status: 429,
  title: "Daily analysis quota used up"
}, { ...extension, retry_after: Schema.optionalKey(Schema.Int) }) {}

export class Unavailable extends HttpApiError.Problem<Unavailable>()("Unavailable", {
  type: "urn:dshield-coord:problem:unavailable",
  status: 503,
  title: "A dependency is unavailable"
}, { ...extension, failed: Schema.optionalKey(Schema.Array(Schema.String)) }) {}

export class ServerFailure extends HttpApiError.Problem<ServerFailure>()("ServerFailure", {
  type: "urn:dshield-coord:problem:server-failure",
  status: 500,
  title: "The server failed"
}, extension) {}
