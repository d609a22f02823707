/**
 * Start-up: a command loads only what it uses. Module loading dominates the start of a short
 * run, so `analyze FILE` must not load NATS, the stores, LangGraph or Elasticsearch at all
 * (they are imported on --nats / --store / --depth only). Checked on the static import graph
 * (type-only imports and dynamic import() excluded), not by timing.
 */
import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { REPO } from "./helpers.ts"

const transpiler = new Bun.Transpiler({ loader: "ts" })

/** Bare package names reachable through static imports from `entry` (repo files followed). */
const staticPackages = (entry: string, specifiers?: Set<string>): Set<string> => {
  const seen = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    for (const imp of transpiler.scanImports(readFileSync(file, "utf8"))) {
      if (imp.kind === "dynamic-import") continue
      if (imp.path.startsWith(".")) {
        const target = resolve(dirname(file), imp.path)
        if (target.endsWith(".ts")) visit(target)
      } else if (!imp.path.startsWith("node:")) {
        specifiers?.add(imp.path)
        const parts = imp.path.split("/")
        packages.add(imp.path.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!)
      }
    }
  }
  visit(entry)
  return packages
}

const HEAVY = ["nats", "@langchain/langgraph", "@langchain/langgraph-checkpoint-postgres", "@langchain/core", "@elastic/elasticsearch", "@electric-sql/pglite", "@effect/sql-pg", "ioredis", "pg"]

describe("start-up", () => {
  test("the entry point and argument parsing load no transport, store or workflow package", () => {
    const packages = staticPackages(resolve(REPO, "src/cli/main.ts"))
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([])
  })

  test("analyze FILE loads no transport, store or workflow package", () => {
    const packages = staticPackages(resolve(REPO, "src/cli/commands/analyze.ts"))
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([])
    // Nor do the Analyzer layers main.ts provides it with (each loads its own on first use).
    const layers = staticPackages(resolve(REPO, "layers/Analyzers.ts"))
    expect(HEAVY.filter((p) => layers.has(p))).toEqual([])
  })
})

describe("start-up without tracing", () => {
  test("the OTLP exporter and its HTTP client are loaded only when OTEL_* configures tracing", () => {
    // Everything every command and the transports load statically: the propagation helpers
    // (src/observability/TraceContext.ts) use Effect's core only.
    const specifiers = new Set<string>()
    for (const entry of ["src/cli/main.ts", "actors/transport/NatsTransport.ts", "actors/transport/JobQueue.ts", "actors/threads/AnalysisPool.ts", "actors/threads/analysisThread.ts", "src/pipeline/runAnalysis.ts"]) {
      staticPackages(resolve(REPO, entry), specifiers)
    }
    expect([...specifiers].filter((s) => s.startsWith("effect/observability") || s.startsWith("effect/http"))).toEqual([])
  })
})

describe("start-up of the embedded store path", () => {
  test("analyze --store and assess on PGlite load the SQL store and no transport, cache or PostgreSQL driver", () => {
    const actor = staticPackages(resolve(REPO, "actors/postgres/StoreActor.ts"))
    const pglite = staticPackages(resolve(REPO, "src/store/SqlStorePglite.ts"))
    const loaded = new Set([...actor, ...pglite])
    expect(["nats", "ioredis", "@effect/sql-pg", "pg", "@langchain/langgraph"].filter((p) => loaded.has(p))).toEqual([])
    expect(pglite.has("@electric-sql/pglite")).toBe(true)
  })
})
