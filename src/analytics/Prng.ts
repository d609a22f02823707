/**
 * A small seeded pseudo-random generator (SplitMix32). Every random choice in the analytics
 * (permutation tests, bootstrap resamples) draws from one of these, seeded from the run seed
 * and a stable label, so the same input and seed give the same numbers on every machine.
 */

const hashLabel = (label: string): number => {
  // FNV-1a over UTF-16 code units: stable, fast, good enough to decorrelate streams.
  let h = 0x811c9dc5
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export class Prng {
  private state: number

  constructor(seed: number, label = "") {
    this.state = (seed ^ hashLabel(label)) >>> 0
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0
    let z = this.state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
}
