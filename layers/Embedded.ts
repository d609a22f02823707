/**
 * The embedded default: every agent actor in this process, no server needed. Used by
 * `analyze --depth …` without --nats (the workflow layer in layers/Analyzers.ts).
 *
 * @since 0.1.0
 */
export { EmbeddedAgents as Embedded } from "../src/workflow/analysisActors.ts"
