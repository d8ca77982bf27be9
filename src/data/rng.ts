/**
 * Seeded randomness for data order. xoshiro128** (fast, 2^128 period, passes BigCrush) seeded
 * through splitmix32 so that nearby seeds (0, 1, 2 …) still give unrelated streams. Everything is
 * 32-bit integer math via Math.imul and >>> 0, so results are identical on every platform.
 */

/** splitmix32 step: a strong 32-bit mixer, used both for seeding and for deriveSeed. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** Folds an arbitrary integer-valued seed (up to 2^53, or negative) into 32 bits without dropping high bits. */
function fold(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const s = Math.trunc(seed);
  const lo = s >>> 0;
  const hi = Math.floor(s / 0x1_0000_0000) >>> 0;
  return mix32(lo ^ mix32(hi));
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = fold(seed);
    const next = (): number => (s = mix32(s));
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    // xoshiro must not start from all zeros; splitmix makes that astronomically unlikely, but be exact.
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1;
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, n), n ≤ 2^32, without modulo bias (rejection sampling). */
  nextInt(n: number): number {
    if (!(n >= 1 && n <= 0x1_0000_0000) || !Number.isInteger(n)) throw new RangeError(`nextInt: bad bound ${n}`);
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export function createRng(seed: number): Rng {
  return new Rng(seed);
}

/**
 * A seed for an independent stream, e.g. deriveSeed(seed, 'epoch', 3). Each label is hashed with
 * its type and length, so ('ab', 'c') and ('a', 'bc'), or 1 and '1', give different seeds.
 */
export function deriveSeed(seed: number, ...labels: (string | number)[]): number {
  let h = fold(seed);
  for (const label of labels) {
    const text = typeof label === 'number' ? `n${label}` : `s${label}`;
    h = mix32(h ^ text.length);
    for (let i = 0; i < text.length; i++) h = mix32(h ^ text.charCodeAt(i));
  }
  return h;
}

/** Fisher–Yates shuffle in place; returns the same array. */
export function shuffle<T extends Uint32Array | number[]>(indices: T, rng: Rng): T {
  for (let i = indices.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = indices[i]!;
    indices[i] = indices[j]!;
    indices[j] = t;
  }
  return indices;
}

/** 0..n-1 in a seeded random order. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return shuffle(out, rng);
}
