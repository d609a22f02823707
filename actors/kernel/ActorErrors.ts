/**
 * Errors every actor client can see besides the message's own typed errors.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
/**
 * The actor cannot take the message: it escalated (kept failing past its restart budget),
 * was stopped, or its transport is down. `reason` says which, in one sentence.
 *
 * @category errors
 */
export class ActorUnavailable extends Schema.TaggedError<ActorUnavailable>()("ActorUnavailable", {
  actor: Schema.String,
  reason: Schema.String,
  /**
   * For an actor that escalated: the failure that spent its restart budget, in its own words
   * (e.g. the store's "…is in use by…" sentence), for a caller that reports it to a user.
   */
  lastFailure: Schema.optional(Schema.String)
}) {}

/**
 * No reply within the ask timeout (the message may still be processed).
 *
 * @category errors
 */
export class ActorTimeout extends Schema.TaggedError<ActorTimeout>()("ActorTimeout", {
  actor: Schema.String,
  message: Schema.String,
  timeoutMs: Schema.Number
}) {}
