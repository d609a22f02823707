/**
 * UUID version 5 (RFC 9562 §5.5, formerly RFC 4122 §4.3): SHA-1 of the namespace's 16 bytes
 * followed by the name's UTF-8, with the version and variant bits set. The exports name
 * everything with it, so the same campaign keeps the same id in every re-export.
 */
import { createHash } from "node:crypto"

export const uuidV5 = (namespace: string, name: string): string => {
  const hash = createHash("sha1").update(Buffer.from(namespace.replace(/-/g, ""), "hex")).update(name, "utf8").digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
