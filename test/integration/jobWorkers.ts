/**
 * Helpers for the durable-job integration tests: a worker process whose stderr is kept (to
 * read its readiness and shutdown lines), and a job-queue namespace per test run so the
 * tests' streams and buckets never meet another suite's.
 */
import { resolve } from "node:path"
import type { NatsConnection } from "nats"
import { jobNames } from "../../actors/transport/JobQueue.ts"
import { REPO } from "../cli/helpers.ts"

export const NATS = "nats://127.0.0.1:4222"

/** A namespace unique to this test run (pid + a counter + a label). */
let counter = 0
export const uniqueNamespace = (label: string): string => `${label}${process.pid}x${++counter}`

/** The worker environment for a namespace: short ack wait so redelivery is quick. */
export const jobEnv = (namespace: string, extra: Record<string, string> = {}): Record<string, string | undefined> => ({
  ...process.env,
  DSHIELD_JOBS_NAMESPACE: namespace,
  DSHIELD_JOB_ACK_WAIT_MS: "3000",
  ...extra
})

export interface WorkerProcess {
  readonly proc: ReturnType<typeof Bun.spawn>
  /** Everything the worker wrote to stderr so far. */
  readonly stderr: () => string
  /** Resolves when stderr contains `text` (rejects when the worker exits first or after `timeoutMs`). */
  readonly waitFor: (text: string, timeoutMs?: number) => Promise<void>
}

const started: Array<ReturnType<typeof Bun.spawn>> = []

/** Kills (9) every worker these helpers started that is still running (for afterAll). */
export const killLeftoverWorkers = async (): Promise<void> => {
  for (const proc of started) {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill(9)
      await proc.exited
    }
  }
}

/** Starts `dshield-coord worker ARGS` and waits for its "worker ready" line. */
export const startJobsWorker = async (args: ReadonlyArray<string>, env: Record<string, string | undefined>, nats: string = NATS): Promise<WorkerProcess> => {
  const proc = Bun.spawn([process.execPath, resolve(REPO, "src/cli/main.ts"), "worker", "--nats", nats, ...args], {
    cwd: REPO,
    env,
    stdout: "ignore",
    stderr: "pipe"
  })
  started.push(proc)
  let text = ""
  let ended = false
  void (async () => {
    const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    while (true) {
      const { value, done } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
    ended = true
  })()
  const waitFor = async (needle: string, timeoutMs = 30_000): Promise<void> => {
    const started = Date.now()
    while (!text.includes(needle)) {
      if (ended) throw new Error(`the worker ended before writing "${needle}": ${text}`)
      if (Date.now() - started > timeoutMs) throw new Error(`the worker did not write "${needle}" within ${timeoutMs} ms: ${text}`)
      await Bun.sleep(25)
    }
  }
  try {
    await waitFor("worker ready", 90_000)
  } catch (error) {
    // Never leave a worker behind when the test gives up on it.
    proc.kill(9)
    throw error
  }
  return { proc, stderr: () => text, waitFor }
}

/** Removes a namespace's streams and buckets. */
export const dropNamespace = async (nc: NatsConnection, namespace: string): Promise<void> => {
  const names = jobNames({ namespace })
  const jsm = await nc.jetstreamManager()
  for (const stream of [names.stream, names.dlqStream, `KV_${names.claimsBucket}`, `OBJ_${names.resultsBucket}`]) {
    await jsm.streams.delete(stream).catch(() => false)
  }
}

/** Waits until `check` holds (polling), or throws after `timeoutMs`. */
export const eventually = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> => {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} did not happen within ${timeoutMs} ms`)
    await Bun.sleep(50)
  }
}
