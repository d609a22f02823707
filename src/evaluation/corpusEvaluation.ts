/**
 * The evaluation of the engine on the public cowrie corpora: for each corpus, build the
 * artefact-signature labels (from a separate ingest, never from the engine's output), run the
 * engine in-process, run the TF-IDF + DBSCAN baseline, score both, and render
 * docs/evaluation.md. Used by eval/evaluate-corpora.ts and eval/label-corpora.ts.
 *
 * Corpus data and labels derived from it are written only to a directory the caller names
 * (by default the gitignored .dshield-coord/eval), never into the repository.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { Effect } from "effect"
import { type AnalysisConfig, configDigest, DEFAULT_CONFIG } from "../config/AnalysisConfig.ts"
import type { AttackSession } from "../domain/AttackSession.ts"
import type { Result } from "../domain/Result.ts"
import { ingest } from "../ingest/ingest.ts"
import { runAnalysis } from "../pipeline/runAnalysis.ts"
import { ENGINE_VERSION } from "../version.ts"
import { fmt } from "./evalCommand.ts"
import { type EvalReport, evaluate, evaluatePrediction, type PartitionReport, predictionFromKeys } from "./evaluate.ts"
import { formatLabelsTsv, type Labels, predictionFromResult } from "./labels.ts"
import { auditFamilies, type FamilyAudit } from "./sharedArtefacts.ts"
import { DEFAULT_RARE_CREDENTIAL_RULE, SIGNATURE_KINDS, signatureLabels, type SignatureStats } from "./signatureLabels.ts"
import { DEFAULT_TFIDF_DBSCAN, tfidfDbscan } from "./tfidfDbscan.ts"

export const CORPUS_SUFFIX = ".cowrie.json.gz"

/** The corpus files of a directory, in name order. */
export const listCorpora = (dir: string): Array<string> =>
  readdirSync(dir).filter((f) => f.endsWith(CORPUS_SUFFIX)).sort().map((f) => join(dir, f))

export const corpusName = (path: string): string => basename(path).replace(CORPUS_SUFFIX, "")

export interface CorpusLabels {
  readonly corpus: string
  readonly sessions: ReadonlyArray<AttackSession>
  readonly labels: Labels
  readonly stats: SignatureStats
  readonly rare: ReadonlySet<string>
  readonly tsv: string
  readonly ms: number
}

/** Ingests one corpus and labels it by artefact signatures. */
export const labelCorpus = async (path: string): Promise<CorpusLabels> => {
  const t0 = performance.now()
  const report = await ingest([path], { format: "auto" })
  const labelling = signatureLabels(report.sessions)
  const labels: Labels = { sessions: labelling.labels, columns: ["session_id", "family", "variant", "wave", "coordinated"] }
  return {
    corpus: corpusName(path),
    sessions: report.sessions,
    labels,
    stats: labelling.stats,
    rare: labelling.rareCredentials.rare,
    tsv: formatLabelsTsv(labelling.labels),
    ms: performance.now() - t0
  }
}

export interface SystemReport {
  readonly partition: PartitionReport
  readonly audit: FamilyAudit
  readonly ms: number
}

export interface EngineReport extends SystemReport {
  readonly report: EvalReport
}

export interface CorpusEvaluation {
  readonly corpus: string
  readonly sessions: number
  readonly sessionsWithCommands: number
  readonly labels: Omit<CorpusLabels, "sessions" | "labels" | "tsv" | "rare">
  /** null when the engine failed; `engineError` says why. */
  readonly engine: EngineReport | null
  readonly engineError: string | null
  readonly baseline: SystemReport & { readonly clusters: number; readonly noise: number; readonly documents: number }
}

export interface EvaluateCorpusOptions {
  readonly config?: AnalysisConfig
  /** Where to write `<corpus>.labels.tsv` and `<corpus>.result.json`; nothing is written when absent. */
  readonly outDir?: string
}

export const evaluateCorpus = async (path: string, options: EvaluateCorpusOptions = {}): Promise<CorpusEvaluation> => {
  const config = options.config ?? DEFAULT_CONFIG
  const labelled = await labelCorpus(path)
  const byId = new Map(labelled.sessions.map((s) => [s.id, s] as const))
  if (options.outDir !== undefined) {
    mkdirSync(options.outDir, { recursive: true })
    writeFileSync(join(options.outDir, `${labelled.corpus}.labels.tsv`), labelled.tsv)
  }

  let engine: EngineReport | null = null
  let engineError: string | null = null
  const t0 = performance.now()
  try {
    const run = await Effect.runPromise(runAnalysis([path], config))
    const ms = performance.now() - t0
    const result: Result = run.result
    if (options.outDir !== undefined) writeFileSync(join(options.outDir, `${labelled.corpus}.result.json`), `${JSON.stringify(result)}\n`)
    const report = evaluate(result, labelled.labels)
    const families = predictionFromResult(result).families.values()
    engine = { report, partition: report, audit: auditFamilies(families, byId, labelled.rare), ms }
  } catch (error) {
    engineError = String((error as { message?: unknown }).message ?? error).split("\n")[0]!
  }

  const t1 = performance.now()
  const base = tfidfDbscan(labelled.sessions, DEFAULT_TFIDF_DBSCAN)
  const baseMs = performance.now() - t1
  const prediction = predictionFromKeys(base.keys)
  const baseline = {
    partition: evaluatePrediction(prediction, labelled.labels),
    audit: auditFamilies(prediction.families.values(), byId, labelled.rare),
    ms: baseMs,
    clusters: base.clusters,
    noise: base.noise,
    documents: base.documents
  }
  const { sessions: _s, labels: _l, tsv: _t, rare: _r, ...labelSummary } = labelled
  return {
    corpus: labelled.corpus,
    sessions: labelled.sessions.length,
    sessionsWithCommands: labelled.sessions.filter((s) => s.commands.length > 0).length,
    labels: labelSummary,
    engine,
    engineError,
    baseline
  }
}

// ---------------------------------------------------------------------------------------
// docs/evaluation.md

const pct = (x: number | null): string => (x === null ? "n/a" : `${(100 * x).toFixed(1)}%`)

const METRICS_TEXT = `## Metrics

All clustering metrics compare two partitions of the same sessions and are computed from the
contingency table in linear time (\`src/evaluation/clusteringMetrics.ts\`); pairs are never
enumerated. With n_ij sessions in true cluster i and predicted cluster j, a_i and b_j the
row and column sums, T = Σ C(a_i,2) the true pairs, P = Σ C(b_j,2) the predicted pairs,
A = Σ C(n_ij,2) the agreeing pairs and N = C(n,2):

- pairwise precision = A / P, recall = A / T, F1 = 2PR / (P + R);
- adjusted Rand index ARI = (A − TP/N) / (½(T + P) − TP/N): 0 for chance agreement, 1 for identical partitions.

Degenerate cases: no predicted pairs (P = 0) gives precision 1; no true pairs (T = 0) gives
recall 1; precision + recall = 0 gives F1 0; ARI is 1 when its denominator is 0, which happens
exactly when both partitions are all singletons or both are one cluster (or n < 2), i.e. when
they are identical. The pair counts are reported beside the ratios (\`dshield-coord eval\`).

Scope: **pairwise metrics are computed over labelled sessions only** (true family not \`-\`).
An unclustered session (in no predicted family) or a DBSCAN noise point is a singleton. A
session's predicted family is the family campaign containing it; its predicted variant is the
variant campaign containing it, else its family. The baseline has one level, used for both.

- *unclustered*: share of labelled sessions in no predicted family.
- *false campaigns*: predicted families (2+ sessions) without any labelled session.
- *families sharing only popular credentials*: predicted families whose sessions share no
  exact command, download (sha256 or URL), planted SSH key, rare credential or client
  fingerprint, only credentials that are not rare (the false campaigns "formed only by popular
  credentials"). Beside it: families whose sessions share a client fingerprint (SSH client
  version or hassh) but none of the strong artefacts, and families sharing nothing at all.
  "Shared" means carried by two or more of the family's sessions (\`src/evaluation/sharedArtefacts.ts\`).
- *ECE*: expected calibration error of each campaign's \`confidence\` (10 equal-width bins,
  weighted by count) against "truly coordinated": at least 90% of the campaign's sessions
  share one true non-background family. Over all campaigns (every level) / families only.
`

const LABEL_RULES_TEXT = `## Signature labels

No labels ship with the corpora, so they are built from artefacts (\`src/evaluation/signatureLabels.ts\`).
The labeller is independent of the engine: it imports nothing from \`src/analytics\` or
\`src/workflow\`, does not read the engine-derived \`ssh_keys_added\` field, and has its own
extraction rules, popular-credential list and union-find. It reads the parsed session fields
(commands, downloads, uploads, credentials, source IP) from a separate ingest.

A **signature** is a value of one of these kinds carried by **two or more sessions** (a value
seen once joins nothing: per-host random names, one-off payloads):

1. **SSH key**: type and base64 body (36+ characters after \`AAAA\`) of an SSH public key in a
   command, in a session whose commands mention \`authorized_keys\`. The comment is ignored.
2. **Payload sha256**: sha256 of a downloaded or uploaded file (cowrie records files written by
   redirection the same way), except the hashes of trivial contents: the empty file
   (\`e3b0c442…b855\`), a lone \`\\n\` and a lone \`\\r\\n\` (what \`echo > file\` writes).
3. **Marker file**: the base name of a file the session creates, downloads or runs — a
   redirect target; a wget/curl/tftp/ftpget URL base name or output (\`-O\`, \`-o\`, \`-r\`,
   \`get\`); the URL base name of a download cowrie recorded; a \`chmod\`, \`touch\` or \`mkdir\` operand; a \`cp\`/\`mv\` destination; a \`tar\` archive;
   \`sh|bash|perl|python FILE\`; a program run by path (\`./x\`, \`/tmp/x\`, not \`/bin\`, \`/sbin\`,
   \`/usr/bin\`, …), after \`nohup\`/\`sudo\`/\`then\`/\`sh -c "…"\` prefixes — kept only when
   distinctive: 4+ characters with a letter, only \`[A-Za-z0-9._+-]\`; not a standard system
   file, log file, dot-file or tool name (\`passwd\`, \`wtmp\`, \`.bashrc\`, \`busybox\`, …); not a
   generic loader or architecture name (\`bins.sh\`, \`x86_64\`, \`linux\`, …); not random-looking
   (upper and lower case with digits, mixed case with 3+ capitals, or capitals with 3+ digits,
   in 8+ characters; 12+ hex digits; digits only). An architecture extension is folded
   (\`sora.x86\` and \`sora.arm7\` are both \`sora.<arch>\`).
4. **Busybox tag**: \`busybox WORD\` with an upper-case tag word of 3+ characters, and the decoded
   text of \`echo -e '\\x..\\x..'\` markers when it is 4+ printable characters and not the ELF magic.
5. **Rare credential**: a user/password pair that is
   (a) not popular by the fixed list (\`src/evaluation/popularCredentials.ts\`: device defaults,
   Mirai's compiled-in table, top leaked passwords under any user name — including the ~30,000
   passwords of the public zxcvbn-ts common-password list —, an empty user name, a
   password shorter than 5 characters, a password derived from the user name — equal, doubled,
   reversed, or with a short digit/symbol prefix or suffix — or a placeholder such as \`<Any pass>\`),
   (b) not a dictionary password of the corpus: its password is not tried under 5 or more
   distinct user names, and
   (c) tried from at least 2 and at most max(3, ⌈1% × source IPs that tried any login⌉) source IPs.
   A label is therefore never derived from popular credentials.

Sessions sharing any signature are joined (union-find). A session's **family** label is its
component id (\`sig-\` + hash of the members); sessions with no signature are unlabelled (\`-\`).
Its **variant** is the component of the same join made without rare credentials (the payload
level: key, payload, marker, tag); sessions of a family that carry only rare credentials form
the family's \`/cred\` variant. \`coordinated\` is 1 when the family spans two or more source IPs.

Caveats. The labels are partial truth: "same label" means a shared signature; "different
labels" only means no signature links them. The engine links on some of the same kinds
(SSH keys, payload hashes and, by its own rules, markers and credentials), so agreement on
those is partly by construction; it also links on kinds the labels do not use (download URLs,
normalised command sequences, client fingerprints), and its families formed on those count as
false campaigns here and lower precision and calibration even when they are real. Rare
credentials make up most labels on brute-force-heavy corpora (kareiva), where recall measures
how many of those credential links the engine makes.
`

const BASELINE_TEXT = `## Baseline: TF-IDF + DBSCAN

What analysts run today (\`src/evaluation/tfidfDbscan.ts\`), with scikit-learn's defaults:
each session's commands joined into one document (sessions without commands are noise),
lower-cased tokens of 2+ word characters, raw counts × smoothed idf ln((1+n)/(1+df)) + 1,
L2-normalised; cosine distance; DBSCAN with eps 0.5 and min_samples 3 (the point itself
included). Identical documents are collapsed with a multiplicity and neighbours are found
through the postings of shared terms, so the result equals the plain algorithm.
`

const labelCountsTable = (evals: ReadonlyArray<CorpusEvaluation>): string => {
  const head = "| corpus | sessions | labelled | label families | largest | variants | " +
    SIGNATURE_KINDS.map((k) => k.replace("_", " ")).join(" | ") + " | rare pairs / pairs tried | IP cap |"
  const sep = `|---|${"---:|".repeat(5 + SIGNATURE_KINDS.length + 2)}`
  const rows = evals.map((e) => {
    const s = e.labels.stats
    const kinds = SIGNATURE_KINDS.map((k) => `${s.byKind[k].sessions} (${s.byKind[k].sharedValues})`)
    return `| ${e.corpus} | ${s.sessions} | ${s.labelledSessions} | ${s.familiesWithPairs} | ${s.largestFamily} | ${s.variants} | ${kinds.join(" | ")} | ${
      s.byKind.rare_credential.sharedValues
    } / ${s.credentials.pairs} | ${s.credentials.maxIps} of ${s.credentials.loginIps} |`
  })
  return [head, sep, ...rows].join("\n")
}

const corpusTable = (e: CorpusEvaluation): string => {
  const en = e.engine
  const b = e.baseline
  const row = (name: string, engineCell: string, baseCell: string): string => `| ${name} | ${engineCell} | ${baseCell} |`
  const lv = (r: PartitionReport | undefined, level: "family" | "variant", key: "precision" | "recall" | "f1" | "ari"): string => {
    if (r === undefined) return "failed"
    const l = r[level]
    return l === null ? "n/a" : fmt(l[key])
  }
  const ep = en?.partition
  const lines = [
    `### ${e.corpus}`,
    "",
    `${e.sessions} sessions, ${e.sessionsWithCommands} with commands; ${e.labels.stats.labelledSessions} labelled in ${e.labels.stats.familiesWithPairs} label families.` +
      (e.engineError === null ? "" : ` **The engine failed on this corpus: ${e.engineError}**`),
    "",
    "| | engine | TF-IDF + DBSCAN |",
    "|---|---:|---:|"
  ]
  for (const level of ["family", "variant"] as const) {
    for (const [key, label] of [["precision", "precision"], ["recall", "recall"], ["f1", "F1"], ["ari", "ARI"]] as const) {
      lines.push(row(`${level} ${label}`, lv(ep, level, key), lv(b.partition, level, key)))
    }
  }
  lines.push(row("family pairs true / predicted / agreeing", ep === undefined ? "failed" : `${ep.family.truePairs} / ${ep.family.predictedPairs} / ${ep.family.agreeingPairs}`,
    `${b.partition.family.truePairs} / ${b.partition.family.predictedPairs} / ${b.partition.family.agreeingPairs}`))
  lines.push(row("unclustered (of labelled)", ep === undefined ? "failed" : pct(ep.unclusteredShare), pct(b.partition.unclusteredShare)))
  lines.push(row("labelled sessions", String(e.labels.stats.labelledSessions), String(b.partition.labelledSessions)))
  lines.push(row("predicted families", ep === undefined ? "failed" : String(ep.predictedFamilies), String(b.partition.predictedFamilies)))
  lines.push(row("false campaigns (no labelled session)", ep === undefined ? "failed" : `${ep.falseCampaigns.count} (${ep.falseCampaigns.sessions} sessions)`,
    `${b.partition.falseCampaigns.count} (${b.partition.falseCampaigns.sessions} sessions)`))
  const audit = (a: FamilyAudit): string => `${a.popularCredentialOnly} / ${a.fingerprintOnly} / ${a.nothingShared}`
  lines.push(row("families sharing only popular credentials / only a client fingerprint / nothing", en === null ? "failed" : audit(en.audit), audit(b.audit)))
  lines.push(row("ECE all campaigns / families", en === null ? "failed" : `${fmt(en.report.calibration.campaigns.ece)} / ${fmt(en.report.calibration.families.ece)}`, "n/a (no confidence)"))
  lines.push(row("campaigns truly coordinated (all levels)", en === null ? "failed" : `${en.report.calibration.campaigns.positives} of ${en.report.calibration.campaigns.count}`, "n/a"))
  return lines.join("\n")
}

/** Reliability table of every engine campaign of every corpus, pooled bin by bin. */
const pooledCalibration = (evals: ReadonlyArray<CorpusEvaluation>): string => {
  const reports = evals.flatMap((e) => (e.engine === null ? [] : [e.engine.report.calibration.campaigns]))
  if (reports.length === 0) return "No engine result to pool."
  const bins = reports[0]!.bins.length
  const rows: Array<string> = ["| confidence bin | campaigns | mean confidence | truly coordinated |", "|---|---:|---:|---:|"]
  let total = 0
  let weighted = 0
  const pooled = Array.from({ length: bins }, (_, b) => {
    let count = 0
    let sumP = 0
    let sumO = 0
    for (const r of reports) {
      const bin = r.bins[b]!
      count += bin.count
      sumP += (bin.meanPredicted ?? 0) * bin.count
      sumO += (bin.observedRate ?? 0) * bin.count
    }
    return { lower: b / bins, upper: (b + 1) / bins, count, mean: count === 0 ? null : sumP / count, rate: count === 0 ? null : sumO / count }
  })
  for (const p of pooled) {
    total += p.count
    if (p.count > 0) weighted += p.count * Math.abs(p.mean! - p.rate!)
    rows.push(`| [${p.lower.toFixed(1)}, ${p.upper.toFixed(1)}${p.upper === 1 ? "]" : ")"} | ${p.count} | ${fmt(p.mean)} | ${fmt(p.rate)} |`)
  }
  return [
    `All ${total} engine campaigns (every level) of the ${reports.length} corpora pooled; ECE ${fmt(total === 0 ? null : weighted / total)}.`,
    "\"Truly coordinated\" is judged by the signature labels, so campaigns the engine forms on kinds the labels",
    "do not use (client fingerprints, command sequences, URLs) count as not coordinated here.",
    "",
    ...rows
  ].join("\n")
}

export interface RenderMeta {
  readonly config: AnalysisConfig
}

export const renderEvaluationMarkdown = (evals: ReadonlyArray<CorpusEvaluation>, meta: RenderMeta = { config: DEFAULT_CONFIG }): string => {
  const rule = DEFAULT_RARE_CREDENTIAL_RULE
  const parts = [
    "# Evaluation",
    "",
    "Generated by `npx bun eval/evaluate-corpora.ts` (do not edit by hand): the engine and the",
    "TF-IDF + DBSCAN baseline on the public cowrie corpora in `../shared/corpora`, scored against",
    "artefact-signature labels. The corpora and the labels derived from them are never committed;",
    "the script writes them under `.dshield-coord/eval/` (gitignored). To score one result by hand:",
    "`dshield-coord eval --labels .dshield-coord/eval/<corpus>.labels.tsv .dshield-coord/eval/<corpus>.result.json`.",
    "",
    `Engine ${ENGINE_VERSION}, default configuration (seed ${meta.config.seed}, config digest \`${configDigest(meta.config).slice(0, 16)}\`).`,
    `Rare-credential rule: ${rule.minIps} ≤ IPs ≤ max(${rule.maxIpsFloor}, ⌈${rule.maxIpShare * 100}% of login IPs⌉), password under < ${rule.maxUsernamesPerPassword} user names.`,
    "",
    "## Results",
    "",
    ...evals.flatMap((e) => [corpusTable(e), ""]),
    "### Calibration, pooled",
    "",
    pooledCalibration(evals),
    "",
    METRICS_TEXT,
    LABEL_RULES_TEXT,
    "### Label counts per corpus",
    "",
    "Labelled sessions, label families (all have 2+ sessions), the largest family, variants, and per",
    "signature kind the sessions carrying one (and the distinct shared values). The IP cap is the",
    "most source IPs a rare credential may have, of the IPs that tried any login.",
    "",
    labelCountsTable(evals),
    "",
    BASELINE_TEXT
  ]
  return `${parts.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd()}\n`
}
