/**
 * The Prometheus exposition text the registry renders, checked line by line against the
 * format's grammar (https://prometheus.io/docs/instrumenting/exposition_formats/): HELP and
 * TYPE before each family, label values escaped, histogram buckets cumulative and ending in
 * +Inf equal to _count, collectors run at scrape time.
 */
import { describe, expect, test } from "bun:test"
import { Registry } from "../../src/metrics/Registry.ts"

/** metric_name{label="value",...} value — the sample line grammar, with escaped label values. */
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$/

describe("the exposition text", () => {
  test("every line is a HELP, a TYPE or a sample; families are introduced before their samples", async () => {
    const r = new Registry()
    const c = r.counter("t_requests_total", "Requests.\nSecond line of help")
    const g = r.gauge("t_depth", "Depth.")
    const h = r.histogram("t_seconds", "Latency.", [0.1, 1])
    c.inc({ path: "/a\"b\\c\nd" }, 2)
    c.inc({ path: "/a\"b\\c\nd" })
    g.set({ actor: "x", instance: "1" }, 7)
    h.observe({ m: "ask" }, 0.05)
    h.observe({ m: "ask" }, 0.5)
    h.observe({ m: "ask" }, 5)
    const text = await r.render()
    const lines = text.trimEnd().split("\n")
    const introduced = new Set<string>()
    for (const line of lines) {
      if (line.startsWith("# HELP ")) continue
      if (line.startsWith("# TYPE ")) {
        introduced.add(line.split(" ")[2]!)
        continue
      }
      expect(line).toMatch(SAMPLE)
      const name = line.split(/[{ ]/)[0]!.replace(/_(bucket|sum|count)$/, "")
      expect(introduced.has(name) || introduced.has(line.split(/[{ ]/)[0]!)).toBe(true)
    }
    expect(text).toContain('t_requests_total{path="/a\\"b\\\\c\\nd"} 3')
    expect(text).toContain("# HELP t_requests_total Requests.\\nSecond line of help")
    expect(text).toContain("# TYPE t_seconds histogram")
    // Cumulative buckets: 1 at ≤0.1, 2 at ≤1, 3 at +Inf = _count; _sum the total.
    expect(text).toContain('t_seconds_bucket{m="ask",le="0.1"} 1')
    expect(text).toContain('t_seconds_bucket{m="ask",le="1"} 2')
    expect(text).toContain('t_seconds_bucket{m="ask",le="+Inf"} 3')
    expect(text).toContain('t_seconds_count{m="ask"} 3')
    expect(text).toContain('t_seconds_sum{m="ask"} 5.55')
  })

  test("collectors run at each scrape; a failing collector does not break the scrape", async () => {
    const r = new Registry()
    const g = r.gauge("t_lag", "Lag.")
    let n = 0
    r.collect(() => g.set({}, ++n))
    r.collect(() => {
      throw new Error("source down")
    })
    expect(await r.render()).toContain("t_lag 1")
    expect(await r.render()).toContain("t_lag 2")
  })

  test("a family registered twice is a programming error", () => {
    const r = new Registry()
    r.counter("t_x_total", "x")
    expect(() => r.gauge("t_x_total", "x")).toThrow("registered twice")
  })
})

describe("the Grafana dashboard (deploy/grafana)", () => {
  test("every metric it queries is one the engine registers (the dashboard cannot drift from the code)", async () => {
    await import("../../src/metrics/engineMetrics.ts")
    await import("../../src/metrics/MetricsServer.ts")
    const { metrics } = await import("../../src/metrics/Registry.ts")
    const registered = new Set([...(await metrics.render()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!))
    const dashboard = JSON.parse(await Bun.file(new URL("../../deploy/grafana/dshield-coord.json", import.meta.url).pathname).text()) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>
    }
    expect(dashboard.panels.length).toBeGreaterThan(10)
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const names = [...target.expr.matchAll(/\b((?:dshield|process)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ""))
        expect(names.length).toBeGreaterThan(0)
        for (const name of names) expect({ panel: panel.title, name, registered: registered.has(name) }).toEqual({ panel: panel.title, name, registered: true })
      }
    }
  })
})
