/**
 * Help texts: one per command, printed by `--help` and on usage errors.
 */

export const MAIN_HELP = `dshield-coord — find coordinated campaigns in honeypot attack logs

Usage:
  dshield-coord <command> [options]

Commands:
  analyze FILE|DIR|- …   group attack sessions into campaigns and score them (Result v1)
  eval --labels L.tsv R  score a Result v1 against labels (pairwise P/R/F1, ARI, ECE)
  schema                 print the JSON Schema of Result v1
  version                print the engine version

Run "dshield-coord <command> --help" for a command's options.

Exit codes: 0 ok, 1 analysis error, 2 usage or input error.
`

export const ANALYZE_HELP = `dshield-coord analyze — group honeypot attack sessions into coordinated campaigns

Usage:
  dshield-coord analyze [options] FILE|DIR|- …

Inputs are files (plain or .gz), directories (read recursively, in name order; files whose
format is not recognised are skipped with a warning) or "-" for stdin. The format of each
file is detected from its first lines unless --format is given.

Options:
  --format auto|cowrie|ecs|firewall|webhoneypot|sessions
                        input format (default: auto, detected per file)
  --out FILE|-          write the Result v1 JSON to FILE, or to stdout with "-"
                        (the campaign table then goes to stderr)
  --seed N              seed of every random draw (default: 42); same input + options +
                        seed give a byte-identical result apart from run id and times
  --strict              exit with code 2 when any input line was rejected
  --quiet               print nothing but errors (no table, summary or progress)
  --limit N             campaigns shown in the table (default: 40; the JSON has all)
  --syslog-year YYYY    year for firewall lines with classic syslog timestamps
                        ("Nov 28 12:00:01" carries no year)
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
