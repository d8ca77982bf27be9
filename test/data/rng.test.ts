import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed, permutation, shuffle } from '../../src/data/rng.js';

describe('rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const take = (seed: number) => {
      const r = createRng(seed);
      return Array.from({ length: 8 }, () => r.nextUint32());
    };
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
    expect(take(2 ** 40)).not.toEqual(take(0)); // high bits of large seeds count
  });

  it('nextUint32 is a uint32 and nextFloat is in [0, 1) with a sane mean', () => {
    const r = createRng(7);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const u = r.nextUint32();
      expect(Number.isInteger(u) && u >= 0 && u < 2 ** 32).toBe(true);
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      sum += f;
    }
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.02);
  });

  it('nextInt is roughly uniform', () => {
    const r = createRng(1);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[r.nextInt(6)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
  });

  it('deriveSeed separates streams and labels', () => {
    const seeds = new Set([
      deriveSeed(1),
      deriveSeed(1, 'limit'),
      deriveSeed(1, 'epoch', 0),
      deriveSeed(1, 'epoch', 1),
      deriveSeed(1, 'epoch', '1'),
      deriveSeed(1, 'ab', 'c'),
      deriveSeed(1, 'a', 'bc'),
      deriveSeed(2, 'limit'),
    ]);
    expect(seeds.size).toBe(8);
    expect(deriveSeed(1, 'epoch', 3)).toBe(deriveSeed(1, 'epoch', 3));
  });

  it('shuffle is a permutation, in place, for arrays and Uint32Arrays', () => {
    const a = Array.from({ length: 100 }, (_, i) => i);
    expect(shuffle(a, createRng(3))).toBe(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    const p = permutation(1000, createRng(3));
    expect(new Set(p).size).toBe(1000);
    expect(Math.max(...p)).toBe(999);
    expect(permutation(0, createRng(3)).length).toBe(0);
  });
});
