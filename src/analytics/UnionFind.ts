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
    if (this.size_[ra]! < this.size_[rb]!) [ra, rb] = [rb, ra]
    this.parent[rb] = ra
    this.size_[ra] = this.size_[ra]! + this.size_[rb]!
  }

  /** Groups of members (each sorted ascending), ordered by their smallest member. */
  groups(): Array<Array<number>> {
    const byRoot = new Map<number, Array<number>>()
    const out: Array<Array<number>> = []
    for (let i = 0; i < this.parent.length; i++) {
      const r = this.find(i)
      let g = byRoot.get(r)
      if (g === undefined) {
        g = []
        byRoot.set(r, g)
        out.push(g)
      }
      g.push(i)
    }
    return out
  }
}
