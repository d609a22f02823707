/**
 * Disjoint sets (union by size, path halving) for the evaluation's own labeller. Written here
 * on purpose rather than imported from src/analytics: the labels must not share code paths
 * with the engine they judge.
 */
export class DisjointSets {
  private readonly parent: Int32Array
  private readonly size: Int32Array

  constructor(n: number) {
    this.parent = new Int32Array(n)
    this.size = new Int32Array(n).fill(1)
    for (let i = 0; i < n; i++) this.parent[i] = i
  }

  find(x: number): number {
    const p = this.parent
    while (p[x] !== x) {
      p[x] = p[p[x]!]!
      x = p[x]!
    }
    return x
  }

  union(a: number, b: number): void {
    let ra = this.find(a)
    let rb = this.find(b)
    if (ra === rb) return
    if (this.size[ra]! < this.size[rb]!) [ra, rb] = [rb, ra]
    this.parent[rb] = ra
    this.size[ra]! += this.size[rb]!
  }

  /** Members of each set, sets ordered by their smallest member, members ascending. */
  sets(): Array<Array<number>> {
    const byRoot = new Map<number, Array<number>>()
    const out: Array<Array<number>> = []
    for (let i = 0; i < this.parent.length; i++) {
      const r = this.find(i)
      let list = byRoot.get(r)
      if (list === undefined) {
        list = []
        byRoot.set(r, list)
        out.push(list)
      }
      list.push(i)
    }
    return out
  }
}
