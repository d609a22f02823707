/**
 * Splits a SQL script into statements at top-level semicolons, keeping semicolons inside
 * quoted strings, quoted identifiers, comments and dollar-quoted bodies ($$ … $$, $tag$ … $tag$).
 * PostgreSQL's extended protocol takes one statement at a time, so migrations are run
 * statement by statement (inside one transaction).
 */
export const splitStatements = (script: string): Array<string> => {
  const out: Array<string> = []
  let start = 0
  let i = 0
  const n = script.length
  const push = (end: number): void => {
    const text = script.slice(start, end).trim()
    // A chunk of only comments is not a statement.
    const code = text.replace(/--[^\n]*/g, "").replace(/\/\*[\s\S]*?\*\//g, "").trim()
    if (code.length > 0) out.push(text)
  }
  while (i < n) {
    const c = script[i]!
    if (c === "-" && script[i + 1] === "-") {
      const nl = script.indexOf("\n", i)
      i = nl < 0 ? n : nl + 1
    } else if (c === "/" && script[i + 1] === "*") {
      const end = script.indexOf("*/", i + 2)
      i = end < 0 ? n : end + 2
    } else if (c === "'" || c === "\"") {
      let j = i + 1
      while (j < n) {
        if (script[j] === c) {
          if (script[j + 1] === c) j += 2
          else break
        } else j++
      }
      i = j + 1
    } else if (c === "$") {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i, i + 64))
      if (m === null) {
        i++
        continue
      }
      const tag = m[0]
      const end = script.indexOf(tag, i + tag.length)
      i = end < 0 ? n : end + tag.length
    } else if (c === ";") {
      push(i)
      start = i + 1
      i++
    } else i++
  }
  push(n)
  return out
}
