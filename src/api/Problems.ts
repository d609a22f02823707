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

export class InvalidRequest extends HttpApiError.Problem<InvalidRequest>()("InvalidRequest", {
  type: "urn:dshield-coord:problem:invalid-request",
  status: 400,
  title: "Invalid request"
}, extension) {}

export class TooLarge extends HttpApiError.Problem<TooLarge>()("TooLarge", {
  type: "urn:dshield-coord:problem:too-large",
  status: 413,
  title: "Request too large"
}, extension) {}

export class QuotaExceeded extends HttpApiError.Problem<QuotaExceeded>()("QuotaExceeded", {
  type: "urn:dshield-coord:problem:quota-exceeded",
  status: 429,
  title: "Daily analysis quota used up"
}, extension) {}

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
