/**
 * Disjoint sets over 0..n-1 with path halving and union by size, on typed arrays.
 */
export class UnionFind {
  private readonly parent: Int32Array
  private readonly size_: Int32Array

  constructor(n: number) {
    this.parent = new Int32Array(n)
    this.size_ = new Int32Array(n).fill(1)
    for (let i = 0; i < n; i++) this.parent[i] = i
  }

  find(x: number): number {
    const p = this.parent
    while (p[x]! !== x) {
      p[x] = p[p[x]!]!
      x = p[x]!
    }
    return x
  }

  /** Members in x's set. */
  size(x: number): number {
    return this.size_[this.find(x)]!
  }

  union(a: number, b: number): void {
    let ra = this.find(a)
    let rb = this.find(b)
    if (ra === rb) return
    if (this.size_[ra]! < this.size_[rb]!) {
      const t = ra
      ra = rb
      rb = t
    }
    this.parent[rb] = ra
    this.size_[ra] = this.size_[ra]! + this.size_[rb]!
  }

  /**
   * Groups of at least `minSize` members (each sorted ascending), ordered by their smallest
   * member. Sizes are counted first, so singletons — most sessions — allocate nothing.
   */
  groups(minSize = 1): Array<Array<number>> {
    const n = this.parent.length
    const root = new Int32Array(n)
    const count = new Int32Array(n)
    for (let i = 0; i < n; i++) {
      const r = this.find(i)
      root[i] = r
      count[r]!++
    }
    const slot = new Int32Array(n).fill(-1)
    const out: Array<Array<number>> = []
    for (let i = 0; i < n; i++) {
      const r = root[i]!
      if (count[r]! < minSize) continue
      if (slot[r] === -1) {
        slot[r] = out.length
        out.push([])
      }
      out[slot[r]!]!.push(i)
    }
    return out
  }
}
