/**
 * Help texts: one per command, printed by `--help` and on usage errors.
 */

/** The connection options of every command that talks to NATS (actors/transport/NatsConnection.ts). */
const NATS_AUTH_OPTIONS = `  --nats-token T        token authentication (default $NATS_TOKEN); a user and password
                        go in the URL: nats://user:password@host:4222 (also $NATS_URL)
  --nats-creds FILE     NKey/JWT .creds file (default $NATS_CREDS)
  --nats-tls-ca FILE    CA of the server's TLS certificate (default $NATS_TLS_CA); a
                        tls:// URL asks for TLS with the system CAs
  --nats-tls-cert FILE  client certificate for mutual TLS (default $NATS_TLS_CERT)
  --nats-tls-key FILE   its key (default $NATS_TLS_KEY)`

export const MAIN_HELP = `dshield-coord — find coordinated campaigns in honeypot attack logs

Usage:
  dshield-coord <command> [options]

Commands:
  analyze FILE|DIR|- …   group attack sessions into campaigns and score them (Result v1)
  assess FILE|DIR|- …    are these sessions coordinated? one assessment of the set
  generate --out DIR     write synthetic ground truth (cowrie JSON + labels.tsv)
  eval --labels L.tsv R  score a Result v1 against labels (pairwise P/R/F1, ARI, ECE)
  techniques FILE|DIR|- …  each command line with its ATT&CK techniques and rules
  export --stix F --misp D R  a Result v1 (or --campaign ID from the store) as STIX 2.1 and MISP
  import --misp URL --tag T   pull MISP indicators into the threat-intel feed of deep analyses
  report R --html FILE   a Result v1 as one self-contained HTML report (opens offline)
  campaigns list|show|timeline  campaigns stored across runs (analyze --store)
  maintenance            retention and partitions of the store
  ops status             which stores are in use and whether they answer
  migrate                apply the database migrations (PostgreSQL or embedded PGlite)
  config                 print the effective configuration (secrets redacted)
  replay MANIFEST        re-execute a recorded analysis and verify its result digest
  worker                 serve a pool of actors over NATS (--roles, --pool, --nats)
  ingest --from nats     live mode: campaigns updated as sensor events arrive on JetStream
  tail FILE --to nats    publish a log to a JetStream stream at a given rate (testing)
  serve                  serve the HTTP API (keys, tokens, analyses, campaigns; /docs)
  mcp                    serve the engine to assistants (Model Context Protocol; stdio or --http)
  keys                   create, list or revoke API keys (keys create --role R --tenant T)
  audit tail             print the newest audit log entries (-n N, --follow)
  schema                 print the JSON Schema of Result v1
  version                print the engine version

Run "dshield-coord <command> --help" for a command's options.

Exit codes: 0 ok, 1 analysis error, 2 usage or input error.

Tracing: with OTEL_EXPORTER_OTLP_ENDPOINT set, every command exports OpenTelemetry traces
(OTLP/HTTP), carried across NATS, HTTP and analysis threads (docs/operations.md, Tracing).
`

export const ANALYZE_HELP = `dshield-coord analyze — group honeypot attack sessions into coordinated campaigns

Usage:
  dshield-coord analyze [options] FILE|DIR|- …
  dshield-coord analyze [options] --es URL --index PATTERN --since T [--until T] [--query Q]

Inputs are files (plain or .gz), directories (read recursively, in name order; files whose
format is not recognised are skipped with a warning) or "-" for stdin. The format of each
file is detected from its first lines unless --format is given.

Options:
  --format auto|cowrie|ecs|firewall|webhoneypot|sessions
                        input format (default: auto, detected per file)
  --asn-db FILE         country and ASN of source addresses from your iptoasn.com ip2asn TSV
                        (plain or .gz) instead of the shipped databases (also DSHIELD_ASN_DB)
  --geoip-db FILE       a MaxMind database (.mmdb), asked first; repeat for several:
                        GeoLite2/GeoIP2 Country or City (country), ASN or ISP (autonomous
                        system), Connection-Type, Anonymous-IP or Enterprise (hosting or
                        residential network); what they lack comes from --asn-db or the
                        shipped databases (also DSHIELD_GEOIP_DB, comma-separated)
  --es URL              read the input from Elasticsearch (DShield-SIEM indices) instead
                        of files: --index PATTERN (e.g. 'cowrie-*'), --since T and --until T
                        (ISO times, or a time ago: 24h, 7d), --query 'LUCENE', --es-ca FILE;
                        credentials in ES_API_KEY, or ES_USERNAME and ES_PASSWORD
  --out FILE|-          write the Result v1 JSON to FILE, or to stdout with "-"
                        (the campaign table then goes to stderr)
  --seed N              seed of every random draw (default: 42); same input + options +
                        seed give a byte-identical result apart from run id and times
  --strict              exit with code 2 when any input line was rejected
  --quiet               print nothing but errors (no table, summary or progress)
  --limit N             campaigns shown in the table (default: 40; the JSON has all)
  --syslog-year YYYY    year for firewall lines with classic syslog timestamps
                        ("Nov 28 12:00:01" carries no year)
  --stix FILE           also write the Result as a STIX 2.1 bundle (deterministic ids: a
                        re-export replaces, never duplicates)
  --misp DIR            write one MISP event (core format) per campaign family, <uuid>.json
  --misp-url URL        push those events to a MISP server (key in MISP_KEY): created the
                        first time, updated after (https, or http on loopback only)
  --tlp clear|green|amber|red   TLP of the MISP events (default amber)
  --html FILE           also write the HTML report: one self-contained file that opens
                        offline (campaign table, timelines of every session's start,
                        evidence, indicators, ATT&CK with the command lines no rule maps)
  --store               keep the analysis: analyse the input together with the stored
                        history, then write sessions, campaigns (stable ids across runs)
                        and the result in one transaction
  --database-url URL    PostgreSQL for --store (default: $DATABASE_URL; unset → embedded
                        PGlite in --data-dir, default ./.dshield-coord/db)
  --data-dir DIR        embedded store directory
  --nats URL            run the analysis on the NATS worker pool (dshield-coord worker
                        --roles api) instead of in process: the inputs are uploaded to
                        the JetStream object store (bucket coord-inputs), so the workers
                        need no shared disk; URL may carry user:password@. On a
                        terminal the worker's progress shows; Ctrl-C cancels the
                        analysis on the worker
  --timeout D           with --nats: how long to wait, sent as the request's deadline
                        (default 30m; e.g. 90s, 2h; the workers cap it at their
                        --max-timeout); with --durable: the job's deadline (default
                        none: the workers' --max-timeout) and the wait (default 60m)
${NATS_AUTH_OPTIONS}
  --durable             with --nats: submit a durable JetStream job (survives worker
                        crashes: redelivered to another "jobs" worker, one result)
  --depth minimal|standard|deep
                        run as the LangGraph workflow over the agent actors: minimal =
                        fast triage (49 permutations, no interval), standard = the full
                        analysis, deep = standard + enrichment tools, narrative, index;
                        with --nats the pool's agent actors (worker --roles
                        pattern-analyzer,confidence-scorer,…) do the work
  --inference-config FILE
                        the Ollama endpoints that write a deep analysis's narrative (else
                        DSHIELD_INFERENCE_CONFIG or OLLAMA_ENDPOINTS; none: the template);
                        docs/inference.md
  --thread ID           workflow thread; with DATABASE_URL its checkpoints are in
                        PostgreSQL and rerunning with the same --thread resumes it
  --manifest FILE       write a replay manifest (inputs and their digests, options, seed,
                        engine version, result digest) for dshield-coord replay
  --dormant-days N      with --store: a campaign silent N days (on the data's own clock)
                        becomes dormant (default 14)
  --tenant T            with --store: the tenant whose history the run joins and whose
                        campaigns it updates (default "default"; the API's keys name theirs)
  -h, --help            show this help

Examples:
  dshield-coord analyze cowrie.json.gz
  dshield-coord analyze --out result.json /var/log/cowrie/
  zcat cowrie.json.*.gz | dshield-coord analyze --out - - > result.json
`

export const SCHEMA_HELP = `dshield-coord schema — print the JSON Schema (draft 2020-12) of Result v1

Usage:
  dshield-coord schema [--out FILE]
`

export const VERSION_HELP = `dshield-coord version — print the engine version

Usage:
  dshield-coord version
`

export const EXPORT_HELP = `dshield-coord export — a Result v1 as STIX 2.1 and MISP

Usage:
  dshield-coord export [--stix FILE] [--misp DIR] [--misp-url URL] [--tlp T] RESULT.json
  dshield-coord export --campaign ID [--tenant T] [--database-url URL | --data-dir DIR | --nats URL]
                       [--stix FILE] [--misp DIR] [--misp-url URL] [--tlp T]

Per run one STIX 2.1 bundle: a campaign per campaign (variants and waves related to their
family), indicators with STIX patterns for addresses, hashes, URLs and domains, attack
patterns for the ATT&CK techniques, observed data and a sighting per campaign. Per campaign
family one MISP event: ip-src, sha256, url, domain, ssh-fingerprint, hassh-md5, user-agent
and text attributes, TLP, likelihood and ATT&CK galaxy tags, and an event report with the
evidence and its p-values. analyze takes the same options and exports what it analysed.

With --campaign ID the family of that stored campaign (a family, variant or wave id; see
campaigns list) is exported from the store as it stands after its latest analysis: the same
event uuid, attributes and STIX ids as the export of the Result of analyze --store, so a push
updates the event an earlier push of that Result created.

Options:
  --campaign ID         export this stored campaign's family instead of a Result file
  --tenant T            the tenant the campaign is stored under (default: default)
  --database-url URL    PostgreSQL (else DATABASE_URL, else the embedded store)
  --data-dir DIR        the embedded store's directory
  --nats URL            read it through a worker pool's postgres role instead
${NATS_AUTH_OPTIONS}
  --stix FILE           write the Result as a STIX 2.1 bundle (deterministic ids: a
                        re-export replaces, never duplicates)
  --misp DIR            write one MISP event (core format) per campaign family, <uuid>.json
  --misp-url URL        push those events to a MISP server (key in MISP_KEY): created the
                        first time, updated after (https, or http on loopback only)
  --tlp clear|green|amber|red   TLP of the MISP events (default amber)
  --quiet               print nothing but errors
  -h, --help            show this help
`

export const REPORT_HELP = `dshield-coord report — a Result v1 as an HTML report

Usage:
  dshield-coord report --html FILE [--logs FILE|DIR …] RESULT.json

Writes one self-contained HTML file (scripts, styles and data inlined; its
Content-Security-Policy lets it load nothing) that an analyst opens offline in a browser:
an overview (counts, share of sessions clustered, families over time, top indicators), the
campaigns in a table with sort and filters, each campaign's timeline, evidence with its
p-values explained, indicators with copy buttons, techniques, variants and waves and a graph
of how it formed, and the ATT&CK techniques. The same Result gives the same bytes.

A Result has each campaign's first and last sighting but not each session's time: the
timelines then show the spans of the campaign and its variants and waves. analyze --html
adds every session's start time and the command lines no ATT&CK rule maps; so does --logs
here, reading the analysed logs again.

Options:
  --html FILE           where to write the report
  --logs FILE|DIR       the logs the Result was made from (repeatable): adds the sessions'
                        start times and the command lines no rule maps; logs holding none
                        of the campaigns' sessions are refused, part of them a warning
  --format auto|cowrie|ecs|firewall|webhoneypot|sessions   format of --logs (default auto)
  --quiet               print nothing but errors
  -h, --help            show this help
`

export const TECHNIQUES_HELP = `dshield-coord techniques — the ATT&CK techniques of each command line

Usage:
  dshield-coord techniques [options] FILE|DIR|- …

Reads the input like analyze and lists every distinct command line with the sessions that
ran it and the techniques it shows, each with the rule that showed it (rules and technique
names are data: src/analytics/attackRules.json, with their ATT&CK version). The campaigns of
a Result carry the same techniques with counts, plus those of the session rules (logins,
transfers, forwards, the shell itself).

Options:
  --format auto|cowrie|ecs|firewall|webhoneypot|sessions   input format (default auto)
  --unmapped            only the command lines no command rule maps (where a rule may be missing)
  --limit N             lines shown (default 50)
  --json FILE           write every command line with its techniques as JSON
  -h, --help            show this help
`

export const EVAL_HELP = `dshield-coord eval — score a Result v1 against labels

Usage:
  dshield-coord eval --labels LABELS.tsv [--json REPORT.json] RESULT.json

LABELS.tsv has the header "session_id family variant [wave coordinated]" (tab-separated);
"-" marks background or unlabelled sessions. Pairwise precision, recall, F1 and the adjusted
Rand index are computed at family and variant level over labelled sessions only, from the
contingency table (linear time); the expected calibration error compares each campaign's
confidence with whether it is truly coordinated (90% of its sessions from one true family).

Options:
  --labels FILE   the labels (required)
  --json FILE     also write the report as JSON
  -h, --help      show this help
`

export const ASSESS_HELP = `dshield-coord assess — are these sessions coordinated?

Usage:
  dshield-coord assess [options] FILE|DIR|- …

Treats every session of the input as one set and returns one assessment (confidence,
interval, label, evidence) — the earlier engine's question. The evidence compares the set
with a null population from your own traffic: --reference sessions (your sensor's other
traffic), else the stored history when a store is configured, and only when neither exists a
synthetic background of independent attackers (flagged in the result and on stderr). A set
from one source address is single_source with confidence 0.

Options:
  --reference FILE|DIR   sessions to compare with (repeatable)
  --format auto|cowrie|ecs|firewall|webhoneypot|sessions
  --out FILE|-           write the assessment JSON (dshield-coordination/assessment@1)
  --seed N               seed of every random draw (default: 42)
  --quiet                print nothing but errors
  -h, --help             show this help
`

export const GENERATE_HELP = `dshield-coord generate — synthetic ground truth

Usage:
  dshield-coord generate --sessions N --out DIR [--seed S] [--gzip]

Writes DIR/cowrie.json (or cowrie.json.gz) and DIR/labels.tsv: campaigns that rotate IPs over
many /24s, randomise per-host passwords and file names, share artefacts, come in waves and
nest variants in families, among independent background attackers. Streamed: 10M sessions
need no more memory than 10k. Same seed, same bytes.

Options:
  --sessions N   number of sessions (default 10000)
  --out DIR      output directory (created when missing)
  --seed S       seed (default 42)
  --gzip         write cowrie.json.gz
  --quiet        no progress or summary
  -h, --help     show this help
`

const STORE_OPTIONS = `  --database-url URL   PostgreSQL to use (default: $DATABASE_URL; unset → embedded PGlite)
  --data-dir DIR       embedded store directory (default: $DSHIELD_DATA_DIR or ./.dshield-coord/db)`

/** Only the commands that use Redis (or report on it) take it. */
const REDIS_OPTION = `  --redis-url URL      Redis to use (default: $REDIS_URL; unset → in-memory)`

export const MIGRATE_HELP = `dshield-coord migrate — apply the database migrations

Usage:
  dshield-coord migrate [--database-url URL | --data-dir DIR] [--quiet]

Applies migrations/NNNN_*.sql in order, each in one transaction, recorded in
schema_migrations; safe to run twice (applied ones are skipped, changed ones refused). Also
creates the monthly attack_sessions partitions ahead of time.

Options:
${STORE_OPTIONS}
  --quiet              print nothing but errors
  -h, --help           show this help
`

export const CONFIG_HELP = `dshield-coord config — print the effective configuration

Usage:
  dshield-coord config [--database-url URL] [--redis-url URL] [--data-dir DIR]

Passwords in URLs are shown as ***.

Options:
${STORE_OPTIONS}
${REDIS_OPTION}
  --quiet              print nothing but the configuration and errors
  -h, --help           show this help
`

export const CAMPAIGNS_HELP = `dshield-coord campaigns — campaigns stored across runs

Usage:
  dshield-coord campaigns list [--all] [--database-url URL | --data-dir DIR | --nats URL]
  dshield-coord campaigns show ID [--database-url URL | --data-dir DIR | --nats URL]
  dshield-coord campaigns timeline ID [--database-url URL | --data-dir DIR | --nats URL]

list shows active and dormant campaigns (--all adds concluded ones, merged into others);
show prints one campaign with its sessions as JSON; timeline its sessions and source IPs
per day.

Options:
${STORE_OPTIONS}
  --nats URL           read the pool's database through its postgres role (a worker
                       started with --roles postgres --database-url …), with no
                       database connection of this process
${NATS_AUTH_OPTIONS}
  --all                include concluded campaigns
  --tenant T           the tenant whose campaigns to show (default "default")
  -h, --help           show this help
`

export const MAINTENANCE_HELP = `dshield-coord maintenance — retention and partitions

Usage:
  dshield-coord maintenance [--analyses-days 90] [--usage-days 30] [--audit-days 365]
                            [--partitions-ahead 3] [--database-url URL | --data-dir DIR]

Deletes finished analyses (with their results and campaign memberships), API usage logs and
audit rows older than their retention, in one transaction, and creates monthly
attack_sessions partitions ahead. Safe to run from cron.

Options:
${STORE_OPTIONS}
  --analyses-days N    keep finished analyses N days (default 90)
  --usage-days N       keep API usage logs N days (default 30)
  --audit-days N       keep audit rows N days (default 365)
  --partitions-ahead N months of partitions to keep ready (default 3)
  --quiet              print nothing but errors
  -h, --help           show this help
`

export const OPS_HELP = `dshield-coord ops — operations

Usage:
  dshield-coord ops status [--database-url URL | --data-dir DIR] [--redis-url URL] [--nats URL]
                           [--nats-token T | --nats-creds FILE] [--nats-tls-ca FILE …]

Prints, as JSON, the SQL store in use and whether it answers (with the migrations applied),
and the cache: Redis, in-memory, or degraded (Redis configured but not answering: the engine
keeps working from the SQL store and memory), and with --nats (or $NATS_URL) every actor
instance on NATS with its requests, errors and average processing time ($SRV.STATS).

Options:
${STORE_OPTIONS}
${REDIS_OPTION}
  --nats URL           list the actor instances on this NATS server (default $NATS_URL)
${NATS_AUTH_OPTIONS}
  -h, --help           show this help
`

export const REPLAY_HELP = `dshield-coord replay — re-execute a recorded analysis

Usage:
  dshield-coord replay MANIFEST [--out FILE]

Reads a manifest written by "analyze --manifest", checks that every input still has its
recorded sha256, runs the analysis again with the recorded options and seed, and compares
the result digest (everything but run.id, started_at and finished_at).

Exit codes: 0 identical, 1 the result differs, 2 the run cannot be replayed (an input changed,
the manifest is unusable, or the pool did not answer).

Options:
  --out FILE   also write the replayed Result v1
  --nats URL   replay on the NATS worker pool instead of in process (the inputs are
               uploaded; the digest must still match: results do not depend on the
               transport or the pool size)
  --timeout D  with --nats: the request's deadline (default 30m)
  --asn-db FILE, --geoip-db FILE
               the geography databases the run was recorded with, when it was not the
               shipped ones (the manifest names them with their digests)
${NATS_AUTH_OPTIONS}
  -h, --help   show this help
`

export const WORKER_HELP = `dshield-coord worker — serve actors over NATS

Usage:
  dshield-coord worker [--roles api] [--pool N] [--grace 60s] [--nats URL] [--allow-paths ROOT,…]
                       [--default-timeout 30m] [--max-timeout 6h] [--redis-url URL] [--nats-creds FILE …]
                       [--require-keys [--database-url URL | --data-dir DIR]] [--quiet]

Starts N instances of each role as NATS micro services (service name = role; instances of
a role share the default queue group, so pools on several machines form one pool;
discovery and stats through $SRV.PING|INFO|STATS, which report each instance's state,
restarts and last error). Analyses run on N worker threads, so N run at once.

SIGTERM or SIGINT stops taking work, finishes what is in flight within the grace period
(a durable job still running after it goes back to the queue), drains and exits 0. A role
that keeps crashing past its restart budget makes the worker exit 1, for systemd or
Kubernetes to restart it. A lost NATS connection is retried forever; the worker reports
itself not ready meanwhile. Long-lived workers analyse faster with
MIMALLOC_PURGE_DELAY=-1 in their environment (docs/benchmarks.md).

Options:
  --roles LIST   comma-separated roles (default api): api (coord.v1.analyze|result|status
                 for clients and analyze --nats, docs/nats-api.md), orchestrator (the
                 internal coord.actor.orchestrator service), jobs (durable JetStream work
                 queue), postgres (the store actor: one database for the pool's
                 clients, e.g. campaigns --nats), and the workflow's agent actors
  --pool N       instances per role and analysis threads (default: one per core)
  --grace D      how long SIGTERM waits for work in flight (default 60s; e.g. 90s, 5m)
  --nats URL     NATS server (default $NATS_URL or nats://127.0.0.1:4222); may carry
                 user:password@ (deploy/nats has one user per role)
  --metrics-port N
                 serve Prometheus metrics at http://HOST:N/metrics (actors, jobs and
                 consumer lag, cache); --metrics-host HOST (default 127.0.0.1)
  --inference-config FILE
                 the Ollama endpoints of the inference role (else DSHIELD_INFERENCE_CONFIG
                 or OLLAMA_ENDPOINTS; none: the template narrates); docs/inference.md
  --gpu G        the inference role serves only the endpoints pinned to GPU G
  --require-keys the api role asks every request for an API key or access token
                 (Coord-Api-Key header; keys from --database-url / --data-dir, tokens
                 signed by DSHIELD_JWT_KEYS or --jwt-keys FILE); clients send DSHIELD_API_KEY
  --allow-paths ROOT[,ROOT…]
                 let requests name files by path under these directories (real paths:
                 no .., no symlink escapes, no devices or FIFOs, no stdin); default:
                 off, inputs arrive only as uploads (claim-check)
  --default-timeout D
                 deadline of a request that names none (default 30m)
  --max-timeout D
                 longest deadline a request may name (default 6h); durable jobs run
                 to their own deadline or this one
  --database-url URL, --data-dir DIR
                 the database the postgres role serves (default $DATABASE_URL, else
                 the embedded store in --data-dir, served by one instance)
  --redis-url URL
                 Redis for the result cache shared by the pool (default $REDIS_URL;
                 unset → each worker's memory): the same uploaded inputs and config
                 are answered with the stored Result at once
${NATS_AUTH_OPTIONS}
  --quiet        no start-up line
  -h, --help     show this help
`

export const SERVE_HELP = `dshield-coord serve — the HTTP API

Usage: dshield-coord serve [options]

Serves POST /analyze/coordination, GET /analyze/{id}, POST /analyze/bulk, /uploads,
GET /campaigns, /auth/token, /keys and /health/*; the OpenAPI document at /openapi.json and docs at /docs.
Every request but /health/* and /openapi.json needs an API key (X-API-Key) or an access
token (Authorization: Bearer). Create the first key with \`dshield-coord keys create\`.

Options:
  --host HOST                 address to listen on (default 127.0.0.1)
  --port N                    port (default 8080; 0 picks a free one, printed on stdout)
  --threads N                 analyses that run at once: analysis threads here, or requests
                              in flight to the pool with --nats (default: one per core)
  --max-queued N              analyses that may wait before submissions get 503 (default 1000)
  --min-sessions N            fewest sessions per analysis (default 2)
  --max-sessions N            most sessions per analysis (default 10000)
  --max-body-mb N             request body cap in MiB (default 64; 413 beyond)
  --upload-ttl-hours N        how long POST /uploads objects are kept (default 24)
  --metrics-port N            serve Prometheus metrics at http://HOST:N/metrics (0: a free
                              port, printed at start); --metrics-host HOST (default 127.0.0.1)
  --cors-origins A,B          browser origins allowed to call the API (default none)
  --trust-proxy               take the client address from X-Forwarded-For
  --jwt-keys FILE             access-token key ring {"active": kid, "keys": {kid: base64}}
                              (or DSHIELD_JWT_KEYS=kid=base64,...; default: one kept beside
                              the embedded store)
  --allow-private-webhooks    let callback_url reach private and loopback addresses
  --allow-webhook-targets H:P,...  exact host:port callback targets allowed even if private
  --database-url URL          PostgreSQL (or DATABASE_URL); default the embedded store
  --redis-url URL             Redis for shared rate limits (or REDIS_URL); default memory
  --data-dir DIR              embedded store directory (default ./.dshield-coord/db)
  --nats URL                  run analyses on the NATS worker pool (\`worker\`) instead of
                              this process's threads; the pool's key goes in DSHIELD_API_KEY
${NATS_AUTH_OPTIONS}
  --quiet                     no start-up line on stderr
  -h, --help                  show this help

Analyses run through the same Analyzer service as \`analyze\`: minimal and standard on the
threads (or the pool), deep as the workflow over the agent actors (here, or the pool's).

Rate limits: DSHIELD_RATE_LIMIT_PRINCIPAL, _IP, _SUBMIT, _READ (e.g. 600/1m) and
DSHIELD_DAILY_ANALYSES; webhook signing secret: DSHIELD_WEBHOOK_SECRET. See docs/api.md.
`

export const MCP_HELP = `dshield-coord mcp — the engine as an MCP server, for assistants

Usage:
  dshield-coord mcp [--allow-paths ROOT,…] [--tenant T] [--database-url URL | --data-dir DIR]
  dshield-coord mcp --http PORT [--host 127.0.0.1] [--allow-paths ROOT,…] [--database-url URL | --data-dir DIR]

Serves five tools over the Model Context Protocol: analyze_coordination (files or inline
attack_sessions → a run summary; the whole Result v1 is written to a file of the server),
assess_sessions (one set of sessions → assessment, confidence, evidence with p-values),
list_campaigns and get_campaign (the store's campaigns), export_campaign (a campaign family
of a run as STIX 2.1 or MISP). Answers are compact JSON, a few kilobytes each.

Over stdio (the default) the assistant starts this command and the caller is the local user.
With --http every request to POST /mcp needs an engine API key (X-API-Key, or
Authorization: Bearer KEY; an access token of serve works too): viewer keys may list, get
and export, analyst keys may also analyse and assess; the key's tenant scopes the stored
campaigns and the server's runs. The endpoint's URL is printed on stdout.

Options:
  --http PORT           serve streamable HTTP on PORT (0 picks a free one) instead of stdio
  --host HOST           address to listen on with --http (default 127.0.0.1)
  --allow-paths ROOT[,ROOT…]
                        directories whose files tool calls may name (real paths: no ..,
                        no symlink escapes, no devices or FIFOs); default: none, sessions
                        are sent inline
  --tenant T            over stdio, whose stored campaigns and runs (default "default")
  --database-url URL    the store (default $DATABASE_URL; unset → embedded PGlite in
  --data-dir DIR        --data-dir, default ./.dshield-coord/db). Over stdio it is opened
                        for each store call only, so other commands can use it meanwhile
  --state-dir DIR       where Results, inline inputs and exports are kept (default: mcp/
                        beside the embedded store, or ./.dshield-coord/mcp)
  --quiet               no start-up line on stderr
  -h, --help            show this help
`

export const KEYS_HELP = `dshield-coord keys — API keys of the HTTP API

Usage: dshield-coord keys create --role viewer|analyst|admin --tenant T [--name N] [--expires 90d] [--quota N]
       dshield-coord keys list
       dshield-coord keys revoke ID
       dshield-coord keys webhook-secret --tenant T

create prints the key once on stdout (only its salted hash is stored). Roles: viewer reads,
analyst also submits analyses, admin also manages its tenant's keys over the API.
webhook-secret prints the secret that signs tenant T's webhook deliveries (derived from the
server's DSHIELD_WEBHOOK_SECRET or its kept secret; GET /webhooks/secret gives it over HTTP).

Options:
  --database-url URL   PostgreSQL (or DATABASE_URL); default the embedded store
  --data-dir DIR       embedded store directory (default ./.dshield-coord/db)
  -h, --help           show this help
`

export const AUDIT_HELP = `dshield-coord audit — the audit log

Usage: dshield-coord audit tail [-n N] [--follow]

Prints the newest N (default 20) audit entries as JSON lines: row changes of analyses,
campaigns, keys and API analyses, and API events (authentication failures, keys created or
revoked, tokens issued, analyses submitted). --follow keeps printing new entries.

Options:
  --database-url URL   PostgreSQL (or DATABASE_URL); default the embedded store
  --data-dir DIR       embedded store directory (default ./.dshield-coord/db)
  -h, --help           show this help
`

export const INGEST_HELP = `dshield-coord ingest --from nats — live mode: campaigns from a JetStream stream

Usage:
  dshield-coord ingest --from nats [--stream SENSORS] [--subject 'dshield.events.>'] [options]

Consumes sensor events (one cowrie JSON line or ECS document per message) from the stream
with a durable pull consumer. Sessions stay open until they close or go quiet; finished ones
are committed every --commit-every: analysed with the tenant's stored history and written
with the consumer's checkpoint in one transaction (campaign ids and lifecycle as analyze
--store gives them), and only then acknowledged. Killed and restarted, it resumes from the
store's checkpoint: no event is lost or counted twice. New and re-activated campaign families
raise alerts. Firewall and web honeypot events carry no session id and are refused.
SIGTERM / Ctrl-C commits what is finished and exits 0.

Options:
  --from nats           required: where events come from
  --stream NAME         JetStream stream (default SENSORS)
  --subject FILTER      subject filter, wildcards allowed (default dshield.events.>)
  --consumer NAME       durable consumer name (default coord-live-<tenant>); one process each
  --format auto|cowrie|ecs   message format (default auto: each message on its own)
  --tenant T            whose stored history and campaigns (default "default")
  --commit-every D      how often finished sessions are committed (default 10s)
  --session-timeout D   a session silent this long (wall clock) is finished, and a stream
                        quiet this long is flushed (default 5m)
  --alert-subject S     where alerts are published (default coord.alerts.campaign; none: off)
  --alert-webhook URL   POST each alert, signed like the API's webhooks (secret from
                        DSHIELD_WEBHOOK_SECRET; receivers verify with keys webhook-secret)
  --allow-webhook-targets H:P,…  private receivers the SSRF guard lets through
  --allow-private-webhooks       no address check at all (internal deployments)
  --status-subject S    progress every 250 ms (default coord.live.status.<consumer>)
  --dormant-days N      silence after which a campaign is dormant (default 14)
  --seed N              seed of the analyses' random draws (default 42)
  --nats URL            NATS server(s) (default $NATS_URL or nats://127.0.0.1:4222)
${NATS_AUTH_OPTIONS}
  --database-url URL    PostgreSQL (or DATABASE_URL); default the embedded store
  --data-dir DIR        embedded store directory (default ./.dshield-coord/db)
  --quiet               print nothing but errors
  -h, --help            show this help

Durations: 500ms, 90s, 30m, 2h. Exit codes: 0 stopped, 1 store or NATS failure, 2 usage
(missing stream, refused webhook target, unreachable NATS).
`

export const TAIL_HELP = `dshield-coord tail — publish a log to a JetStream stream, for testing live mode

Usage:
  dshield-coord tail FILE --to nats [--stream SENSORS] [--subject dshield.events.cowrie] [--rate N]

Reads FILE (plain or gzip) and publishes each line as one message at N lines per second,
waiting for JetStream's acknowledgements (a window in flight). Creates the stream when it is
missing (file storage; subjects dshield.events.> when --subject is one of them, else the
--subject given). Prints what it sent.

Options:
  --to nats             required: where lines go
  --stream NAME         JetStream stream (default SENSORS)
  --subject S           subject of every message (default dshield.events.cowrie)
  --rate N              lines per second (default 1000; 0 = as fast as acknowledged)
  --nats URL            NATS server(s) (default $NATS_URL or nats://127.0.0.1:4222)
${NATS_AUTH_OPTIONS}
  --quiet               print nothing but errors
  -h, --help            show this help
`

export const IMPORT_HELP = `dshield-coord import — MISP indicators into the threat-intel feed

Usage:
  MISP_KEY=… dshield-coord import --misp URL --tag TAG [--tag TAG…] [--since 30d] [--feed FILE]
  dshield-coord import --misp-feed DIR [--tag TAG…] [--since 30d] [--feed FILE]
  dshield-coord import --list FILE [--list FILE…] [--tag TAG…] [--feed FILE]

Pulls every attribute carrying one of the tags (on the attribute or its event) from a MISP
server (POST /attributes/restSearch, page by page) and merges the addresses, domains, URLs
and SHA-256 hashes into the threat-intel feed, a JSON file. The threat-intel tool of a deep
analysis (analyze --depth deep, and the pool's tool-coordinator role) reports which source
addresses of the analysis the feed knows, with their MISP events and tags. Importing again
adds new attributes and refreshes changed ones; nothing is duplicated.

--misp-feed reads a MISP feed folder instead (manifest.json and one <uuid>.json per event,
as MISP's feed export and public feeds such as CIRCL OSINT publish it): every attribute of
its events and their objects, or only those carrying a --tag (on the attribute or its
event); an event file that cannot be read is reported by name and the others are kept.

--list reads plain lists instead: one IP address, CIDR network, sha256, URL or domain per
line, # comments; an address of an analysis matches a listed network that holds it.

Options:
  --misp URL            the MISP base URL (https, or http on loopback only); key in MISP_KEY
  --misp-feed DIR       a MISP feed folder (no server, no key)
  --list FILE           a plain list (repeat for several); its lines are tagged with --tag
  --tag TAG             a MISP tag to pull (repeat for several: any of them matches);
                        required with --misp, a filter with --misp-feed
  --since T             only attributes changed in the last T (30d, 12h, 90m) or since unix
                        seconds T (default: all time)
  --feed FILE           the feed file (default: DSHIELD_THREAT_INTEL, else
                        ./.dshield-coord/threat-intel.json); workers read DSHIELD_THREAT_INTEL
  --quiet               print nothing but errors
  -h, --help            show this help
`
