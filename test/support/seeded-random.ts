/**
 * Test support: a small seeded PRNG (mulberry32, its seed scrambled first so that neighbouring
 * seeds give unrelated sequences) for the seeded random differential tests against Alertmanager
 * (routing-amtool.test.ts, inhibit-alertmanager.test.ts): a failure prints its seed, which replays it.
 */
export function mulberry32(seed: number): () => number {
  // one splitmix-style scramble first, so that neighbouring seeds give unrelated sequences
  let a = Math.imul(seed ^ (seed >>> 16), 0x7feb352d);
  a = Math.imul(a ^ (a >>> 15), 0x846ca68b);
  a = (a ^ (a >>> 16)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  private next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}
