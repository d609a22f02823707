// The environment the launcher (dshield-coord.js) starts Bun with; its own file so that it can
// be tested without starting anything.

/** Commands that run until stopped: their operators choose the allocator's behaviour (the deployments set it). */
export const LONG_RUNNING = new Set(["worker", "serve", "mcp", "ingest", "tail"])

/**
 * The environment Bun starts with. A command that runs once and exits keeps the memory it has
 * freed instead of handing it back to the system and faulting it in again
 * (MIMALLOC_PURGE_DELAY=-1, mimalloc's own option, ignored by anything else): on the
 * 1,000,000-session set `analyze` took 38–48 s instead of 58–63 s (system time 6–10 s instead
 * of 21–28 s) for a peak of 1.43 GiB instead of 1.25 GiB, and the 20k set 2.27 s instead of 2.93 s
 * (+64 MiB), on the 2-core reference machine (docs/benchmarks.md). A value the user set wins.
 */
export function runtimeEnv(command, env) {
  if (env.MIMALLOC_PURGE_DELAY !== undefined || LONG_RUNNING.has(command)) return env
  return { ...env, MIMALLOC_PURGE_DELAY: "-1" }
}
