/**
 * Prometheus metrics of this process, in the text exposition format (version 0.0.4) that
 * Prometheus scrapes: counters, gauges and histograms with labels, and collectors that read
 * a value at scrape time (actor mailboxes, JetStream consumer lag). One registry per process
 * (`metrics`), as a Prometheus client library keeps one: the actors, the HTTP edge, the
 * analysis runner and the job consumer record into it; `/metrics` renders it.
 *
 * Kept small on purpose (no dependency): what the engine records is a handful of families,
 * and the format is a page of text (https://prometheus.io/docs/instrumenting/exposition_formats/).
 */

type Labels = Readonly<Record<string, string>>

/** A label value as the format wants it: backslash, double quote and newline escaped. */
const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")
const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const labelText = (labels: Labels, extra?: readonly [string, string]): string => {
  const pairs = Object.keys(labels).sort().map((k) => `${k}="${escapeLabel(labels[k]!)}"`)
  if (extra !== undefined) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`)
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`
}

const keyOf = (labels: Labels): string => labelText(labels)

const number = (value: number): string => (Number.isNaN(value) ? "NaN" : value === Infinity ? "+Inf" : value === -Infinity ? "-Inf" : String(value))

interface Family {
  readonly name: string
  readonly help: string
  readonly type: "counter" | "gauge" | "histogram"
  readonly render: () => Array<string>
}

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>()
  constructor(readonly name: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = keyOf(labels)
    const entry = this.values.get(key)
    if (entry === undefined) this.values.set(key, { labels, value: by })
    else entry.value += by
  }
  /** The series of these labels, bound once: `inc` then costs no label formatting (hot paths). */
  bind(labels: Labels): { inc: (by?: number) => void } {
    const key = keyOf(labels)
    let entry = this.values.get(key)
    if (entry === undefined) {
      entry = { labels, value: 0 }
      this.values.set(key, entry)
    }
    const bound = entry
    return { inc: (by = 1) => void (bound.value += by) }
  }
  /** The current value (tests and derived figures). */
  get(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.value ?? 0
  }
  lines(): Array<string> {
    return [...this.values.values()].map((e) => `${this.name}${labelText(e.labels)} ${number(e.value)}`)
  }
}

export class Gauge {
  private readonly values = new Map<string, { labels: Labels; value: number }>()
  constructor(readonly name: string) {}
  set(labels: Labels, value: number): void {
    this.values.set(keyOf(labels), { labels, value })
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = keyOf(labels)
    const entry = this.values.get(key)
    if (entry === undefined) this.values.set(key, { labels, value: by })
    else entry.value += by
  }
  dec(labels: Labels = {}, by = 1): void {
    this.inc(labels, -by)
  }
  /** Forgets one series (an actor instance that stopped). */
  remove(labels: Labels): void {
    this.values.delete(keyOf(labels))
  }
  lines(): Array<string> {
    return [...this.values.values()].map((e) => `${this.name}${labelText(e.labels)} ${number(e.value)}`)
  }
}

/** Latency buckets in seconds: 1 ms to 10 min, for messages as short as an echo and as long as an analysis. */
export const DURATION_BUCKETS: ReadonlyArray<number> = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]

export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: Array<number>; sum: number; count: number }>()
  constructor(readonly name: string, readonly buckets: ReadonlyArray<number> = DURATION_BUCKETS) {}
  observe(labels: Labels, value: number): void {
    const key = keyOf(labels)
    let s = this.series.get(key)
    if (s === undefined) {
      s = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 }
      this.series.set(key, s)
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++
    s.sum += value
    s.count++
  }
  /** The series of these labels, bound once: `observe` then costs no label formatting (hot paths). */
  bind(labels: Labels): { observe: (value: number) => void } {
    const key = keyOf(labels)
    let s = this.series.get(key)
    if (s === undefined) {
      s = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 }
      this.series.set(key, s)
    }
    const series = s
    const buckets = this.buckets
    return {
      observe: (value) => {
        for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]!) series.counts[i]!++
        series.sum += value
        series.count++
      }
    }
  }
  count(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.count ?? 0
  }
  lines(): Array<string> {
    const out: Array<string> = []
    for (const s of this.series.values()) {
      for (let i = 0; i < this.buckets.length; i++) out.push(`${this.name}_bucket${labelText(s.labels, ["le", number(this.buckets[i]!)])} ${s.counts[i]}`)
      out.push(`${this.name}_bucket${labelText(s.labels, ["le", "+Inf"])} ${s.count}`)
      out.push(`${this.name}_sum${labelText(s.labels)} ${number(s.sum)}`)
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`)
    }
    return out
  }
}

export class Registry {
  private readonly families = new Map<string, Family>()
  private readonly collectors: Array<() => Promise<void> | void> = []

  private add<M extends { readonly name: string; lines(): Array<string> }>(metric: M, help: string, type: Family["type"]): M {
    const existing = this.families.get(metric.name)
    if (existing !== undefined) throw new Error(`metric ${metric.name} is registered twice`)
    this.families.set(metric.name, { name: metric.name, help, type, render: () => metric.lines() })
    return metric
  }

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name), help, "counter")
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name), help, "gauge")
  }
  histogram(name: string, help: string, buckets?: ReadonlyArray<number>): Histogram {
    return this.add(new Histogram(name, buckets), help, "histogram")
  }
  /** Run before each scrape: fills gauges that are read rather than recorded. Returns a remover. */
  collect(collector: () => Promise<void> | void): () => void {
    this.collectors.push(collector)
    return () => {
      const i = this.collectors.indexOf(collector)
      if (i >= 0) this.collectors.splice(i, 1)
    }
  }

  /** The exposition text: every family with HELP and TYPE, in name order. */
  async render(): Promise<string> {
    for (const c of [...this.collectors]) {
      try {
        await c()
      } catch {
        // A collector that cannot read its source leaves its gauges as they were.
      }
    }
    const out: Array<string> = []
    for (const name of [...this.families.keys()].sort()) {
      const f = this.families.get(name)!
      out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`, ...f.render())
    }
    return `${out.join("\n")}\n`
  }
}

/** The registry of this process. */
export const metrics = new Registry()

/** The content type of the exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
