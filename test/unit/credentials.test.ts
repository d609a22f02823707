/**
 * The common-password list the engine reads as data (src/analytics/commonPasswords.json) is
 * the pinned zxcvbn-ts list, lower-cased, nothing added or lost; and a password on it is a
 * listed credential whatever its case.
 */
import { describe, expect, test } from "bun:test"
import { dictionary } from "@zxcvbn-ts/language-common"
import common from "../../src/analytics/commonPasswords.json" with { type: "json" }
import { isListedCredential } from "../../src/analytics/credentials.ts"

const PACKAGE_LIST = (dictionary as Record<string, ReadonlyArray<string>>)["passwords-common"]!

describe("the common-password list", () => {
  test("equals the pinned package's passwords-common list, lower-cased and in its order", () => {
    expect(PACKAGE_LIST.length).toBeGreaterThan(40_000)
    expect(common.passwords).toEqual([...new Set(PACKAGE_LIST.map((p) => p.toLowerCase()))])
    expect(common.$comment).toContain(`language-common ${require("@zxcvbn-ts/language-common/package.json").version}`)
  })

  test("a password on it is listed for any user name and in any case; one off it is not", () => {
    // Entries from the middle and the end of the list (the head overlaps the engine's own short list).
    const picks = [PACKAGE_LIST[20_000]!, PACKAGE_LIST.at(-1)!]
    expect(picks.every((p) => p.length >= 5)).toBe(true)
    for (const password of picks) {
      expect(isListedCredential("someone", password)).toBe(true)
      expect(isListedCredential("someone", password.toUpperCase())).toBe(true)
    }
    expect(isListedCredential("someone", "Xq7#vL9!mZ2@rT")).toBe(false)
  })
})
