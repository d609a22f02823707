/**
 * Supervision as data (Erlang/OTP style): how often an actor may restart before it
 * escalates, how long it waits between restarts, how much it queues, how many messages it
 * handles at once, and when it passivates. Budgets multiply across supervision levels, so
 * they are kept small and deliberate.
 *
 * @since 0.1.0
 */

export interface SupervisionPolicy {
  /** Restarts allowed within `withinMs`; one more and the actor escalates. */
  readonly maxRestarts: number
  readonly withinMs: number
  /** Exponential backoff between restarts: initial, factor, cap. */
  readonly backoffInitialMs: number
  readonly backoffFactor: number
  readonly backoffMaxMs: number
  /** Messages waiting at most; senders beyond it wait (backpressure). */
  readonly mailboxCapacity: number
  /** Messages handled at once. */
  readonly concurrency: number
  /** Idle time after which the behaviour (and its state) is released; 0 = never. */
  readonly passivateAfterMs: number
  /** How long a client waits for a reply. */
  readonly askTimeoutMs: number
}

export const DEFAULT_SUPERVISION: SupervisionPolicy = {
  maxRestarts: 3,
  withinMs: 10_000,
  backoffInitialMs: 50,
  backoffFactor: 2,
  backoffMaxMs: 2_000,
  mailboxCapacity: 256,
  concurrency: 1,
  passivateAfterMs: 0,
  askTimeoutMs: 30_000
}

/** The delay before restart number `n` (1-based). */
export const backoffDelay = (policy: SupervisionPolicy, n: number): number =>
  Math.min(policy.backoffMaxMs, policy.backoffInitialMs * policy.backoffFactor ** Math.max(0, n - 1))

/** Whether one more restart at `nowMs` stays within the budget, given earlier restart times. */
export const withinBudget = (policy: SupervisionPolicy, restarts: ReadonlyArray<number>, nowMs: number): boolean =>
  restarts.filter((t) => t > nowMs - policy.withinMs).length < policy.maxRestarts
