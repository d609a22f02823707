/**
 * Writes small MaxMind DB files for the tests (the format of
 * https://maxmind.github.io/MaxMind-DB/, version 2.0): an IPv6 search tree with IPv4 networks
 * under ::/96, 32-bit records, and a data section of maps, strings, unsigned integers and
 * booleans. Enough to give the engine's reader GeoLite2-shaped Country and ASN files without
 * shipping MaxMind's own (licensed) test databases.
 */
import { isIPv4 } from "node:net"

export type MmdbValue = string | number | boolean | ReadonlyArray<MmdbValue> | { readonly [key: string]: MmdbValue }

interface TreeNode {
  left: TreeNode | number | undefined
  right: TreeNode | number | undefined
}

const sizeBytes = (size: number): Array<number> => {
  if (size < 29) return [size]
  if (size < 285) return [29, size - 29]
  if (size < 65821) return [30, (size - 285) >> 8, (size - 285) & 0xff]
  const s = size - 65821
  return [31, (s >> 16) & 0xff, (s >> 8) & 0xff, s & 0xff]
}

/** A control byte (and size bytes) for a type: extended types (> 7) take a second byte. */
const control = (type: number, size: number): Buffer => {
  const [first, ...rest] = sizeBytes(size)
  return type <= 7 ? Buffer.from([(type << 5) | first!, ...rest]) : Buffer.from([first!, type - 7, ...rest])
}

const unsigned = (type: number, value: number | bigint): Buffer => {
  const bytes: Array<number> = []
  for (let v = BigInt(value); v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn))
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)])
}

export const encodeValue = (value: MmdbValue | bigint): Buffer => {
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8")
    return Buffer.concat([control(2, bytes.length), bytes])
  }
  if (typeof value === "boolean") return control(14, value ? 1 : 0)
  if (typeof value === "bigint") return unsigned(9, value)
  if (typeof value === "number") return unsigned(value < 65536 ? 5 : 6, value)
  if (Array.isArray(value)) return Buffer.concat([control(11, value.length), ...value.map(encodeValue)])
  const entries = Object.entries(value as Record<string, MmdbValue>)
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, v]) => [encodeValue(k), encodeValue(v)])])
}

/** The 128 bits of a CIDR's network, IPv4 under ::/96, and its prefix length in that space. */
const networkBits = (cidr: string): { bits: bigint; length: number } => {
  const [address = "", prefix = ""] = cidr.split("/")
  if (isIPv4(address)) {
    const v4 = address.split(".").reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n)
    return { bits: v4, length: 96 + Number(prefix) }
  }
  const [head = "", tail = ""] = address.split("::")
  const groups = (s: string): Array<string> => (s === "" ? [] : s.split(":"))
  const h = groups(head)
  const t = groups(tail)
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t]
  return { bits: all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n), length: Number(prefix) }
}

/** An MMDB file holding `networks` (CIDR → record), with the given database_type. */
export const writeMmdb = (databaseType: string, networks: ReadonlyArray<readonly [string, MmdbValue]>): Buffer => {
  const dataParts: Array<Buffer> = []
  let dataSize = 0
  const root: TreeNode = { left: undefined, right: undefined }
  for (const [cidr, record] of networks) {
    const offset = dataSize
    const encoded = encodeValue(record)
    dataParts.push(encoded)
    dataSize += encoded.length
    const { bits, length } = networkBits(cidr)
    let node = root
    for (let depth = 0; depth < length; depth++) {
      const right = ((bits >> BigInt(127 - depth)) & 1n) === 1n
      const last = depth === length - 1
      const next = right ? node.right : node.left
      if (last) {
        if (right) node.right = offset
        else node.left = offset
        break
      }
      let child: TreeNode
      if (typeof next === "object") child = next
      else {
        child = { left: undefined, right: undefined }
        if (right) node.right = child
        else node.left = child
      }
      node = child
    }
  }
  // Number the nodes breadth first; a record is a node number, node_count (nothing there) or
  // node_count + 16 + the data offset.
  const order: Array<TreeNode> = [root]
  for (let k = 0; k < order.length; k++) {
    for (const child of [order[k]!.left, order[k]!.right]) if (typeof child === "object") order.push(child)
  }
  const numbers = new Map(order.map((n, k) => [n, k]))
  const count = order.length
  const tree = Buffer.alloc(count * 8)
  const recordOf = (child: TreeNode | number | undefined): number =>
    child === undefined ? count : typeof child === "number" ? count + 16 + child : numbers.get(child)!
  order.forEach((n, k) => {
    tree.writeUInt32BE(recordOf(n.left), k * 8)
    tree.writeUInt32BE(recordOf(n.right), k * 8 + 4)
  })
  const metadata = encodeValue({
    node_count: count,
    record_size: 32,
    ip_version: 6,
    database_type: databaseType,
    languages: [],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: 1767225600,
    description: { en: `${databaseType} test database` }
  })
  return Buffer.concat([tree, Buffer.alloc(16), ...dataParts, Buffer.from("abcdef4d61784d696e642e636f6d", "hex"), metadata])
}
