/**
 * The roles `dshield-coord worker --roles` can serve, apart from the NATS code that serves
 * them (commands/worker.ts), so that parsing a command line loads no transport.
 */

/** The workflow's agent actors a worker can serve. */
export const AGENT_ROLE_NAMES = ["pattern-analyzer", "confidence-scorer", "tool-coordinator", "inference", "elasticsearch-enricher"] as const

export type AgentRoleName = (typeof AGENT_ROLE_NAMES)[number]

/** Roles a worker can serve in this build. */
export const WORKER_ROLES: ReadonlyArray<string> = ["orchestrator", "jobs", "api", "postgres", ...AGENT_ROLE_NAMES]
