/**
 * Errors that cross a boundary (CLI, actors, API). Each carries one sentence a user can act on.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
/**
 * The command line was wrong: unknown option, missing argument. Exit code 2.
 *
 * @category errors
 */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String
}) {}

/**
 * An input could not be read at all (missing path, permission denied, unknown format),
 * or `--strict` was given and lines were rejected. Exit code 2.
 *
 * @category errors
 */
export class InputError extends Schema.TaggedError<InputError>()("InputError", {
  message: Schema.String,
  path: Schema.optional(Schema.String)
}) {}

/**
 * The analysis itself failed after the input was read. Exit code 1.
 *
 * @category errors
 */
export class AnalysisError extends Schema.TaggedError<AnalysisError>()("AnalysisError", {
  message: Schema.String
}) {}
