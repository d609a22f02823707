/**
 * Fits the confidence model and checks its calibration on data held out from the fit.
 *
 * Data (eval/calibrationSet.ts): synthetic ground truth (engine campaigns and probe groups on
 * generator seeds) and real corpora (../shared/corpora) labelled by published signatures
 * (eval/labels/signatures.json through eval/labeller, nothing from the engine).
 *
 * Held out:
 * - by corpus: for each corpus, a model is fitted on the synthetic fit seeds and the *other*
 *   corpora, and measured on that corpus (every corpus held out once);
 * - by seed: the committed model (fitted on the synthetic fit seeds and every corpus) is
 *   measured on synthetic seeds it never saw; so is each per-corpus model.
 *
 * Writes:
 * - src/analytics/model/confidence-v2.json — weights, covariance factor, data, held-out ECE;
 * - docs/calibration/training-rows.csv — the exact rows the committed weights were fitted on;
 * - docs/calibration.md — method, data, reliability tables, ECE per held-out set, and the
 *   distribution of confidence over the real corpora.
 *
 * Run: npm run calibrate   (CORPORA_DIR overrides ../shared/corpora; without corpora the
 * fit is synthetic only and the documents say so)
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { basename, resolve } from "node:path"
import { type ConfidenceModel, FEATURE_NAMES, predict } from "../src/analytics/confidenceModel.ts"
import { calibration, type Calibration } from "../src/evaluation/calibration.ts"
import { ingest } from "../src/ingest/ingest.ts"
import { generateSessions } from "../src/synthetic/generateSessions.ts"
import { type CalibrationRow, calibrationRows, COORDINATED_SHARE, type EngineCampaign, realCalibrationRows } from "./calibrationSet.ts"
import { labelFile } from "./labeller/labelCorpus.ts"
import { fitLogistic, type LogisticFit } from "./logistic.ts"

const REPO = resolve(import.meta.dir, "..")
const CORPORA_DIR = process.env["CORPORA_DIR"] ?? resolve(REPO, "../shared/corpora")
const FIT_SETS = [{ seed: 1001, sessions: 30_000 }, { seed: 1002, sessions: 30_000 }, { seed: 1003, sessions: 30_000 }, { seed: 1004, sessions: 10_000 }, { seed: 1005, sessions: 30_000 }, { seed: 1006, sessions: 30_000 }]
const HELD_OUT = [{ seed: 2002, sessions: 30_000 }, { seed: 3003, sessions: 30_000 }]
/** The analysis seed used on the real corpora (the CLI's default). */
const ANALYSIS_SEED = 42
const L2 = 1
/**
 * Weight of one real row relative to one synthetic row in the fit. Real rows are fewer (the
 * labels cover a minority of sessions); this weight gives the real corpora together about
 * the weight of the synthetic data.
 */
const realWeight = (real: number, synthetic: number): number => (real === 0 ? 1 : Math.max(1, synthetic / real))

/**
 * Inputs whose weight is held ≥ 0: each says "more shared, more surprising, from more
 * independent sources", which may only ever raise the odds of coordination. Fitted freely,
 * quirks of the synthetic generator gave several of them negative weights (a significant
 * behavioural match or more distinct networks lowered the confidence), and real campaigns
 * with strong evidence came out "coincidental".
 */
const MONOTONE_FEATURES: ReadonlySet<(typeof FEATURE_NAMES)[number]> = new Set([
  "payload_score",
  "payload_significance",
  "behavioral_score",
  "behavioral_significance",
  "temporal_score",
  "temporal_significance",
  "infrastructure_score",
  "infrastructure_significance",
  "credential_score",
  "credential_significance",
  "active_payload_score",
  "covered_share",
  "log_sources",
  "log_networks"
])
const NON_NEGATIVE = FEATURE_NAMES.map((name) => MONOTONE_FEATURES.has(name))

const t0 = performance.now()
const log = (message: string): void => console.error(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${message}`)

const syntheticRows = (spec: { seed: number; sessions: number }): Array<CalibrationRow> => {
  const rows = calibrationRows(generateSessions({ sessions: spec.sessions, seed: spec.seed }), spec.seed)
  log(`seed ${spec.seed}: ${rows.length} rows`)
  return rows
}

interface Corpus {
  readonly name: string
  readonly sessions: number
  readonly labelled: number
  readonly rows: Array<CalibrationRow>
  readonly campaigns: Array<EngineCampaign>
}

const corpusFiles = existsSync(CORPORA_DIR) ? readdirSync(CORPORA_DIR).filter((f) => f.endsWith(".cowrie.json.gz")).sort() : []
const corpora: Array<Corpus> = []
for (const file of corpusFiles) {
  const path = resolve(CORPORA_DIR, file)
  const name = basename(file, ".cowrie.json.gz")
  const report = await ingest([path], { format: "auto" })
  const labels = labelFile(path).labels
  const r = realCalibrationRows(name, report.sessions, (id) => labels.get(id)?.family, ANALYSIS_SEED)
  corpora.push({ name, sessions: r.sessions, labelled: r.labelled, rows: r.rows, campaigns: r.campaigns })
  log(`${name}: ${r.sessions} sessions, ${r.labelled} labelled, ${r.rows.length} rows`)
}

const fitRows = FIT_SETS.flatMap(syntheticRows)
const heldOutSeeds = HELD_OUT.map((spec) => ({ ...spec, rows: syntheticRows(spec) }))

const fit = (real: ReadonlyArray<CalibrationRow>): { model: ConfidenceModel; fitted: LogisticFit; rows: Array<CalibrationRow>; weights: Array<number> } => {
  const rows = [...fitRows, ...real]
  const w = realWeight(real.length, fitRows.length)
  const weights = rows.map((r) => (r.origin.startsWith("seed:") ? 1 : w))
  const fitted = fitLogistic(rows.map((r) => r.features), rows.map((r) => (r.coordinated ? 1 : 0)), L2, 200, weights, NON_NEGATIVE)
  return { model: { version: "2", features: [...FEATURE_NAMES], weights: fitted.weights, bias: fitted.bias }, fitted, rows, weights }
}

const check = (model: ConfidenceModel, rows: ReadonlyArray<CalibrationRow>, filter: (r: CalibrationRow) => boolean = () => true): Calibration => {
  const chosen = rows.filter(filter)
  return calibration(chosen.map((r) => predict(model, r.features)), chosen.map((r) => r.coordinated))
}
const round = (x: number | null, digits = 4): number | null => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits)
const isEngine = (r: CalibrationRow): boolean => r.source === "engine"

// Every corpus held out once.
const folds = corpora.map((c) => {
  const { model } = fit(corpora.filter((o) => o !== c).flatMap((o) => o.rows))
  return {
    corpus: c,
    all: check(model, c.rows),
    engine: check(model, c.rows, isEngine),
    predictions: c.rows.map((r) => predict(model, r.features)),
    seeds: heldOutSeeds.map((h) => check(model, h.rows))
  }
})
log(`${folds.length} corpus folds fitted`)
const pooledReal = calibration(folds.flatMap((f) => f.predictions), folds.flatMap((f) => f.corpus.rows.map((r) => r.coordinated)))
const pooledRealEngine = calibration(
  folds.flatMap((f) => f.corpus.rows.flatMap((r, i) => (isEngine(r) ? [f.predictions[i]!] : []))),
  folds.flatMap((f) => f.corpus.rows.filter(isEngine).map((r) => r.coordinated))
)

// The committed model: every corpus and the synthetic fit seeds.
const final = fit(corpora.flatMap((c) => c.rows))
const model = final.model
const heldOut = heldOutSeeds.map((h) => ({ ...h, all: check(model, h.rows), engine: check(model, h.rows, isEngine) }))
const training = { all: check(model, final.rows), engine: check(model, final.rows, isEngine) }

const modelFile = {
  version: "2",
  features: [...FEATURE_NAMES],
  weights: model.weights.map((w) => Math.round(w * 1e6) / 1e6),
  bias: Math.round(model.bias * 1e6) / 1e6,
  covarianceCholesky: final.fitted.covarianceCholesky.map((row) => row.map((v) => Number(v.toPrecision(6)))),
  fitted_on: {
    data: "synthetic ground truth (src/synthetic: engine campaigns plus probe groups) and real cowrie corpora labelled by published signatures (eval/labels/signatures.json); eval/calibrationSet.ts",
    generator_seeds: FIT_SETS.map((f) => f.seed),
    synthetic_sessions: FIT_SETS.reduce((a, f) => a + f.sessions, 0),
    corpora: corpora.map((c) => c.name),
    rows: final.rows.length,
    synthetic_rows: fitRows.length,
    real_rows: final.rows.length - fitRows.length,
    real_row_weight: round(realWeight(final.rows.length - fitRows.length, fitRows.length), 3),
    coordinated_rows: final.rows.filter((r) => r.coordinated).length,
    rows_file: "docs/calibration/training-rows.csv",
    l2: L2,
    non_negative_weights: [...MONOTONE_FEATURES]
  },
  held_out: {
    corpora: folds.map((f) => ({ corpus: f.corpus.name, rows: f.all.count, coordinated: f.all.positives, ece: round(f.all.ece), ece_engine_campaigns: round(f.engine.ece) })),
    corpora_pooled_ece: round(pooledReal.ece),
    generator_seeds: heldOut.map((h) => ({ seed: h.seed, sessions: h.sessions, rows: h.all.count, ece: round(h.all.ece), ece_engine_campaigns: round(h.engine.ece) }))
  }
}
writeFileSync(resolve(REPO, "src/analytics/model/confidence-v2.json"), `${JSON.stringify(modelFile, null, 2)}\n`)
mkdirSync(resolve(REPO, "docs/calibration"), { recursive: true })
writeFileSync(
  resolve(REPO, "docs/calibration/training-rows.csv"),
  [
    ["origin", "source", "level", "size", "sources", ...FEATURE_NAMES, "fit_weight", "coordinated"].join(","),
    ...final.rows.map((r, i) => [r.origin, r.source, r.level ?? "", r.size, r.sources, ...Array.from(r.features, (x) => x.toFixed(6)), final.weights[i]!.toFixed(4), r.coordinated ? 1 : 0].join(","))
  ].join("\n") + "\n"
)

// ---- the document -------------------------------------------------------------------------
const fmt = (x: number | null | undefined, d = 3): string => (x === null || x === undefined ? "n/a" : x.toFixed(d))
const table = (c: Calibration): string =>
  [
    "| bin | groups | mean confidence | observed coordinated |",
    "|---|---:|---:|---:|",
    ...c.bins.filter((b) => b.count > 0).map((b) => `| ${b.lower.toFixed(1)}–${b.upper.toFixed(1)} | ${b.count} | ${fmt(b.meanPredicted)} | ${fmt(b.observedRate)} |`)
  ].join("\n")
const composition = (rows: ReadonlyArray<CalibrationRow>): string => {
  const n = (source: string, coordinated: boolean): number => rows.filter((r) => r.source === source && r.coordinated === coordinated).length
  return ["engine", "campaign", "background", "mixture"].map((s) => `${s} ${n(s, true)}+/${n(s, false)}−`).join(", ")
}

const BANDS: ReadonlyArray<readonly [string, (c: number) => boolean]> = [
  ["≥ 0.9", (c) => c >= 0.9],
  ["0.8–0.9", (c) => c >= 0.8 && c < 0.9],
  ["0.6–0.8", (c) => c >= 0.6 && c < 0.8],
  ["0.4–0.6", (c) => c >= 0.4 && c < 0.6],
  ["0.2–0.4", (c) => c >= 0.2 && c < 0.4],
  ["< 0.2", (c) => c < 0.2]
]
const confidenceOf = (c: EngineCampaign): number => (c.sources < 2 ? 0 : predict(model, c.features))
const distributionRow = (name: string, campaigns: ReadonlyArray<EngineCampaign>): string => {
  const multi = campaigns.filter((c) => c.sources >= 2)
  const cells = BANDS.map(([, inBand]) => multi.filter((c) => inBand(confidenceOf(c))).length)
  return `| ${name} | ${campaigns.length} | ${campaigns.length - multi.length} | ${cells.join(" | ")} |`
}
const distributionTable = (level: "family" | null): string =>
  [
    `| corpus | ${level === null ? "campaigns (all levels)" : "families"} | single source (0) | ${BANDS.map(([b]) => b).join(" | ")} |`,
    `|---|---:|---:|${BANDS.map(() => "---:").join("|")}|`,
    ...corpora.map((c) => distributionRow(c.name, c.campaigns.filter((k) => level === null || k.level === level))),
    distributionRow("all corpora", corpora.flatMap((c) => c.campaigns.filter((k) => level === null || k.level === level)))
  ].join("\n")
const decidedTable = (): string => {
  const rows = corpora.flatMap((c) =>
    c.campaigns.filter((k) => k.level === "family" && k.sources >= 2).map((k) => ({ corpus: c.name, decided: k.coordinated, confidence: confidenceOf(k) }))
  )
  const line = (label: string, pick: (r: (typeof rows)[number]) => boolean): string => {
    const chosen = rows.filter(pick)
    return `| ${label} | ${chosen.length} | ${chosen.filter((r) => r.confidence >= 0.8).length} | ${chosen.filter((r) => r.confidence < 0.4).length} |`
  }
  return [
    "| multi-source families | count | confidence ≥ 0.8 | confidence < 0.4 |",
    "|---|---:|---:|---:|",
    line("labels say coordinated", (r) => r.decided === true),
    line("labels say not coordinated", (r) => r.decided === false),
    line("labels do not decide (mostly unlabelled)", (r) => r.decided === null)
  ].join("\n")
}

const realSection = corpora.length === 0
  ? `No corpora were found in \`${CORPORA_DIR}\`: this fit is synthetic only and nothing was measured on real data.\n`
  : `### Held out by corpus

Each row: a model fitted on the synthetic fit seeds and the other ${corpora.length - 1} corpora, measured on
the named corpus. Target ECE ≤ 0.05: ${(() => {
    const met = folds.filter((f) => f.all.ece !== null && f.all.ece <= 0.05)
    const missed = folds.filter((f) => !(f.all.ece !== null && f.all.ece <= 0.05))
    return `met on ${met.length} of ${folds.length} corpora${missed.length > 0 ? `, not on ${missed.map((f) => `${f.corpus.name} (${fmt(f.all.ece, 4)})`).join(", ")}` : ""}; pooled ${fmt(pooledReal.ece, 4)}`
  })()}. The held-out rows are that corpus's labelled groups (composition: + coordinated,
− not).

| held-out corpus | sessions | labelled sessions | groups | composition | ECE | ECE, engine campaigns only | ECE of the same model on held-out seeds ${HELD_OUT.map((h) => h.seed).join(" / ")} |
|---|---:|---:|---:|---|---:|---:|---|
${folds.map((f) => `| ${f.corpus.name} | ${f.corpus.sessions} | ${f.corpus.labelled} | ${f.all.count} | ${composition(f.corpus.rows)} | ${fmt(f.all.ece, 4)} | ${fmt(f.engine.ece, 4)} (${f.engine.count}) | ${f.seeds.map((s) => fmt(s.ece, 4)).join(" / ")} |`).join("\n")}
| **pooled** (each corpus predicted by the model that did not see it) | | | ${pooledReal.count} | | ${fmt(pooledReal.ece, 4)} | ${fmt(pooledRealEngine.ece, 4)} (${pooledRealEngine.count}) | |

Reliability, all held-out real groups pooled (each predicted by the model that did not see its corpus):

${table(pooledReal)}

${folds.map((f) => `Reliability, held-out corpus ${f.corpus.name}:\n\n${table(f.all)}`).join("\n\n")}
`

const doc = `# Calibration of the confidence model

Generated by \`npm run calibrate\` (= \`bun eval/calibrate.ts\`; data from
\`eval/calibrationSet.ts\`, fitter \`eval/logistic.ts\`); do not edit by hand. It reads the
corpora in \`../shared/corpora\` (\`CORPORA_DIR\` overrides). Deterministic: the same code and
corpora give the same numbers.

## Method

The confidence of a campaign (and of \`assess\`) is a logistic regression
(\`src/analytics/confidenceModel.ts\`) over ${FEATURE_NAMES.length} inputs:

- the four kinds of evidence, each as its score and its significance (−log10 of the
  unadjusted p-value, scaled to 0..1): payload (share carrying the dominant artefact,
  hypergeometric rarity), behaviour (mean command-token Jaccard), time (interquartile range of
  starts), infrastructure (distinct /24 per session) — each against the null of uniform random
  sets of the same size from the same input;
- the shared credential: the share of members that tried the group's most common credential
  pair, and the hypergeometric rarity of that count against the pair's carriers in the input
  (a popular pair is shared by random sets too; a botnet's check login such as
  \`nproc/nproc\` is not, though it looks like a dictionary pair and is no artefact);
- the covered share: the share of members carrying at least one item — artefact or
  credential pair — over-represented in the group (carried by ≥ 5% of members, hypergeometric
  tail ≤ 1e-4 against its carriers in the input): what members have in common beyond chance
  even when it is not one item (a botnet logging in with one of two check credentials, part
  of it planting a key). Both credential statistics are measured on at most 1,000 evenly
  spaced members of a large group, like the evidence;
- the share of members that ran commands or carry an artefact ("active"), and the share of
  those carrying the dominant artefact: same-source attachment adds login-only sessions,
  which dilute the payload share of a campaign without making it less of one;
- the group's shape: log size, log number of source addresses, log number of distinct /24
  (IPv6 /48) networks (independent sources);
- the kind of its dominant artefact (payload/key/URL, kit marker or file name, credential,
  command sequence, client);
- what formed it (engine campaigns, \`formed_by\`): the share of its links of each kind —
  strong artefact (SSH key, payload, download URL), behaviour (same or similar command
  sequences), kit name (marker, dropped file), credential marker, shared wordlist, same
  source (sessions without commands from a member's address within the window) — or, for a
  given set (\`assess\`), \`not_formed_by_linkage\` = 1.

The shared-credential, covered-share and active-share inputs are model inputs, not reported evidence kinds
(Result v1's evidence keys are unchanged).

What is measured of an engine campaign: its members except those that joined only as further
logins of sources already in it (\`same_source\` attachment; \`scored\` in
\`src/analytics/hierarchy.ts\`), unless fewer than two would remain. Those logins bring no
new source and no shared artefact; measured, they buried a key planted from 411 addresses
under 9,700 logins of the same addresses (istec: confidence 0.0007, "coincidental"). The
campaign keeps them as members, and each evidence detail says how many were left out.

Fitted by Newton's method with an L2 penalty of ${L2} on the weights (\`eval/logistic.ts\`),
projected so that the weights of inputs that can only speak for coordination stay ≥ 0:
${[...MONOTONE_FEATURES].map((f) => `\`${f}\``).join(", ")}. Fitted freely, quirks of the
synthetic data gave some of them negative weights (a significant behavioural match, more
distinct networks or a more surprising shared credential lowered the confidence). A
group is **coordinated** when at least ${Math.round(COORDINATED_SHARE * 100)}% of its sessions belong to one true campaign
(for an engine campaign: of the sessions measured).
Groups from one source address are left out of fitting and checking: the engine reports them as
\`single_source\` with confidence 0, whatever the model says.

Expected calibration error (ECE): 10 equal-width bins of confidence, |mean confidence −
observed rate| weighted by the bin's share of groups.

### The interval

\`confidence_interval\` is a 2.5–97.5% percentile interval over 100 seeded draws, each
combining (1) a half-sample of the group's sessions without replacement, whose four scores are
re-measured against null medians of the half size (p-values and shape kept), and (2) the
model's parameters drawn from the normal approximation of the fit (the inverse penalised
Hessian, committed as its Cholesky factor in the model file). Before (2) was added, a group of
two sessions had one possible half-sample (itself) and an interval of zero width; a group of
three had three. The interval is rounded outwards to six digits, so it contains the (rounded)
estimate and a narrow interval near 0 or 1 does not round to a point.

## Data

**Synthetic ground truth** (\`src/synthetic\`): generator seeds ${FIT_SETS.map((f) => f.seed).join(", ")} (${FIT_SETS.reduce((a, f) => a + f.sessions, 0)} sessions) for
fitting, ${HELD_OUT.map((h) => `${h.seed}`).join(" and ")} (${HELD_OUT.map((h) => h.sessions).join(" and ")} sessions) held out. Rows: every campaign the
engine forms (all levels, with their \`formed_by\`), and probe groups — random sets of
background sessions, random subsets of one true campaign, half-and-half mixtures — with sizes
drawn from the engine's campaign sizes. The data is augmented with command-less campaigns
(background sessions turned in place into campaign sessions sharing one payload, one SSH key,
or one credential pair — random and rare, or name-derived like \`nproc/nproc\` — and nothing
else), because real campaigns come without commands and the generator's do not. (An earlier
version added *copies* of background sessions; each copy's original stayed in the background
at the same address and instant, the engine rightly attached it, and the ground truth called
the result a false campaign — teaching the model that same-source attachment is wrong.)

**Real corpora** (\`${CORPORA_DIR.startsWith(REPO) ? CORPORA_DIR.slice(REPO.length + 1) : "../shared/corpora"}\`, ${corpora.length} cowrie logs), labelled by the published
signatures of \`eval/labels/signatures.json\` through \`eval/labeller/labelCorpus.ts\` (exact
artefacts cited to public reports; nothing shared with the engine). The labels cover a
minority of sessions, so a group's truth is used only where the labels decide it:

- an engine campaign is coordinated when ≥ 90% of its sessions carry one family's label, not
  coordinated when it stays below 90% even if every unlabelled member belonged to its largest
  labelled family, and left out otherwise (most large families: their login-only sessions
  are unlabelled — see the distribution below for how the model rates them);
- probes: random subsets of one labelled family spanning ≥ 2 addresses (coordinated; at most
  ⌈family size / 2⌉ per family, so a family of four labelled sessions is not counted sixty
  times); as many uniform random draws from the whole log (not coordinated, unless ≥ 90%
  carry one label — a random draw of the log is the null model itself); as many
  half-and-half mixtures of one labelled family with sessions from addresses that never
  carry that family's label (not coordinated).

Analysis seed ${ANALYSIS_SEED} (the CLI default), 199 permutations. In the fit, each real row weighs
${fmt(realWeight(final.rows.length - fitRows.length, fitRows.length), 2)} synthetic rows, so the real corpora together weigh about as much as the synthetic data.
The committed model is fitted on all of it: ${final.rows.length} rows (${fitRows.length} synthetic, ${final.rows.length - fitRows.length} real;
${final.rows.filter((r) => r.coordinated).length} coordinated), in \`docs/calibration/training-rows.csv\` (features only, no session data).

## Calibration on held-out data

### Held out by generator seed (the committed model)

| held-out set | groups | composition | ECE, all groups | ECE, engine campaigns only |
|---|---:|---|---:|---:|
${heldOut.map((h) => `| seed ${h.seed} (${h.sessions} sessions) | ${h.all.count} | ${composition(h.rows)} | ${fmt(h.all.ece, 4)} | ${fmt(h.engine.ece, 4)} (${h.engine.count}) |`).join("\n")}
| training rows (not held out, for comparison) | ${training.all.count} | | ${fmt(training.all.ece, 4)} | ${fmt(training.engine.ece, 4)} |

${heldOut.map((h) => `Reliability, held-out seed ${h.seed}, all groups:\n\n${table(h.all)}\n\nReliability, held-out seed ${h.seed}, engine campaigns only:\n\n${table(h.engine)}`).join("\n\n")}

${realSection}
## Confidence over the real corpora

Every campaign \`dshield-coord analyze\` forms on each corpus (seed ${ANALYSIS_SEED}), rated by the committed model.
Single-source groups get confidence 0 (\`single_source\`); the bands count the others.

Families:

${corpora.length === 0 ? "(no corpora)" : distributionTable("family")}

All levels (families, variants, waves):

${corpora.length === 0 ? "(no corpora)" : distributionTable(null)}

Families against the labels (the committed model has seen the decided ones; the per-corpus
ECE above is the held-out measure):

${corpora.length === 0 ? "(no corpora)" : decidedTable()}

## Caveats

- Synthetic ground truth is only as realistic as the generator; real labels cover a minority
  of sessions and a handful of families per corpus, so the held-out real sets are small (a
  few hundred groups, mostly probes) and their ECE is noisy. The engine campaigns the labels
  cannot decide — typically large families whose login-only members carry no signature —
  are in no ECE here.
- Real probe truth assumes that a uniform random draw of a log is not one campaign and that
  sessions from addresses never labelled with a family are not that family.
- Rows are not independent (a family, its variants and its waves share sessions), so the
  model's parameter covariance — and the interval built on it — is a lower bound. At the
  extremes the interval is narrow: a confidence of 0.99999 has an interval of width ~1e-5,
  which rounds to a point at six digits.
- Families formed mostly by same-source attachment (login-only sessions of a member's
  address within the hour) have no counterpart in the synthetic data: the generator's
  campaigns never have most of their members attached that way. Their confidence is an
  extrapolation from their cores and from labelled variants whose family was formed that
  way (for instance radec73's SSH-key family of 1,180 sessions from 78 addresses, and the
  istec family that holds most of that corpus). A high value there says the core is a
  campaign and the attachment is trusted; it does not measure how often attachment is wrong.
- Identical command sequences from many addresses spread over days: the generator's
  independent background actors draw their recon from a small catalogue, so identical
  sequences among unrelated actors are common in the synthetic data and the model rates such
  families lower than real kits deserve (the held-out ECE of engine campaigns on istec).
- \`docs/evaluation.md\` is generated by the evaluation (\`npm run eval\`, owned separately),
  so the distribution of confidence over the real corpora is reported here.
`
writeFileSync(resolve(REPO, "docs/calibration.md"), doc)
console.log(
  `fitted on ${final.rows.length} rows; held-out ECE: ${folds.map((f) => `${f.corpus.name} ${fmt(f.all.ece, 4)}`).join(", ")}; pooled real ${fmt(pooledReal.ece, 4)}; ${heldOut.map((h) => `seed ${h.seed} ${fmt(h.all.ece, 4)} (engine ${fmt(h.engine.ece, 4)})`).join(", ")} (${((performance.now() - t0) / 1000).toFixed(1)} s)`
)
