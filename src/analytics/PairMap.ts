/**
 * A hash map from pairs of non-negative 32-bit integers to non-negative integers, with open
 * addressing over typed arrays: exact for any ids (no packing of two ids into one number that
 * could collide), and one object however many pairs it holds.
 */
export class PairMap {
  private a: Int32Array
  private b: Int32Array
  private values: Int32Array
  private mask: number
  private used = 0

  constructor(initialCapacity = 1 << 12) {
    const capacity = 1 << Math.ceil(Math.log2(Math.max(16, initialCapacity)))
    this.a = new Int32Array(capacity).fill(-1)
    this.b = new Int32Array(capacity)
    this.values = new Int32Array(capacity)
    this.mask = capacity - 1
  }

  get size(): number {
    return this.used
  }

  private slot(x: number, y: number): number {
    let h = Math.imul(x ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(y + 0x632be5ab, 0xc2b2ae35)
    h ^= h >>> 15
    h = Math.imul(h, 0x2c1b3c6d)
    h ^= h >>> 12
    let i = h & this.mask
    while (this.a[i] !== -1 && (this.a[i] !== x || this.b[i] !== y)) i = (i + 1) & this.mask
    return i
  }

  /** The value of (x, y), or -1 when absent. */
  get(x: number, y: number): number {
    const i = this.slot(x, y)
    return this.a[i] === -1 ? -1 : this.values[i]!
  }

  /** Sets (x, y) → value; returns false when the pair was already present (value unchanged). */
  setIfAbsent(x: number, y: number, value: number): boolean {
    let i = this.slot(x, y)
    if (this.a[i] !== -1) return false
    if ((this.used + 1) * 2 > this.a.length) {
      this.grow()
      i = this.slot(x, y)
    }
    this.a[i] = x
    this.b[i] = y
    this.values[i] = value
    this.used++
    return true
  }

  private grow(): void {
    const oldA = this.a
    const oldB = this.b
    const oldV = this.values
    const capacity = oldA.length * 2
    this.a = new Int32Array(capacity).fill(-1)
    this.b = new Int32Array(capacity)
    this.values = new Int32Array(capacity)
    this.mask = capacity - 1
    for (let k = 0; k < oldA.length; k++) {
      if (oldA[k] === -1) continue
      const i = this.slot(oldA[k]!, oldB[k]!)
      this.a[i] = oldA[k]!
      this.b[i] = oldB[k]!
      this.values[i] = oldV[k]!
    }
  }
}
