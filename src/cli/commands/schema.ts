/**
 * `dshield-coord schema`: the JSON Schema of Result v1, generated from the domain Schema so the
 * document and the code cannot drift apart.
 */
import { writeFile } from "node:fs/promises"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../domain/errors.ts"
import { Result, RESULT_SCHEMA_ID } from "../../domain/Result.ts"

export const resultJsonSchema = (): Record<string, unknown> => {
  const document = Schema.toJsonSchemaDocument(Result)
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: `https://dshield-coordination.invalid/schemas/${RESULT_SCHEMA_ID}`,
    ...document.schema,
    ...(Object.keys(document.definitions).length > 0 ? { $defs: document.definitions } : {})
  }
}

export const schemaCommand = Effect.fn("Cli.schema")(function*(out: string | undefined) {
  const text = `${JSON.stringify(resultJsonSchema(), null, 2)}\n`
  if (out === undefined || out === "-") {
    yield* Effect.sync(() => process.stdout.write(text))
    return
  }
  yield* Effect.tryPromise({
    try: () => writeFile(out, text),
    catch: (error) => new InputError({ message: `Cannot write ${out} (${String(error)}); choose a writable path for --out.`, path: out })
  })
})
