import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithCpu, operand, rng, setupBackends, size, tf, valueAndGradsOn, type Operand } from './helpers.js';

const TOL = 1e-4;

interface Case {
  shape: [number, number, number, number];
  pool: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid';
}

const cases: Case[] = [
  { shape: [1, 7, 7, 1], pool: 2, strides: 2, pad: 'valid' },
  { shape: [3, 9, 5, 4], pool: 2, strides: 2, pad: 'valid' },
  { shape: [3, 9, 5, 4], pool: 2, strides: 2, pad: 'same' },
  { shape: [2, 7, 7, 3], pool: 3, strides: 2, pad: 'valid' },
  { shape: [2, 7, 7, 3], pool: 3, strides: 2, pad: 'same' },
  { shape: [1, 9, 5, 2], pool: 3, strides: 1, pad: 'same' },
  { shape: [3, 8, 9, 2], pool: [2, 3], strides: [1, 2], pad: 'valid' },
  { shape: [2, 6, 6, 5], pool: [3, 1], strides: [2, 1], pad: 'same' },
  { shape: [2, 10, 10, 3], pool: 2, strides: 3, pad: 'valid' },
];

function name(c: Case): string {
  return `${c.shape.join('x')} pool ${c.pool} strides ${c.strides} ${c.pad}`;
}

function pooled(c: Case): number[] {
  const [b, h, w, ch] = c.shape;
  const [ph, pw] = typeof c.pool === 'number' ? [c.pool, c.pool] : c.pool;
  const [sh, sw] = typeof c.strides === 'number' ? [c.strides, c.strides] : c.strides;
  const o = (n: number, k: number, s: number) => (c.pad === 'same' ? Math.ceil(n / s) : Math.ceil((n - k + 1) / s));
  return [b, o(h, ph, sh), o(w, pw, sw), ch];
}

const pool = (c: Case) => (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, c.pool, c.strides, c.pad);

/** Values drawn from a small integer set, so windows often tie. */
function tiedOperand(shape: number[], seed: number, levels: number): Operand {
  const r = rng(seed);
  const values = new Float32Array(size(shape));
  for (let i = 0; i < values.length; i++) values[i] = Math.floor(r() * levels) - 1;
  return { values, shape };
}

beforeAll(setupBackends);

describe('MaxPool gradient on wasm matches cpu', () => {
  it.each(cases.map((c, i) => [name(c), c, i] as const))('random %s', async (_n, c, i) => {
    const x = operand(c.shape, 300 + i);
    const dy = operand(pooled(c), 400 + i);
    const d = await compareWithCpu(pool(c), [x], dy);
    expect(d.value).toBe(0);
    expect(d.grads[0]).toBeLessThan(TOL);
  });

  it.each(cases.map((c, i) => [name(c), c, i] as const))('all-equal input routes to one position: %s', async (_n, c) => {
    const x: Operand = { values: new Float32Array(size(c.shape)).fill(0.5), shape: c.shape };
    const ref = await valueAndGradsOn('cpu', pool(c), [x]);
    const got = await valueAndGradsOn('wasm', pool(c), [x]);
    // dy = ones: every window sends exactly 1 to its first position.
    expect(Array.from(got.grads[0])).toEqual(Array.from(ref.grads[0]));
    const total = got.grads[0].reduce((a, b) => a + b, 0);
    expect(total).toBe(size(pooled(c)));
  });

  it.each(cases.map((c, i) => [name(c), c, i] as const))('ties and non-positive windows: %s', async (_n, c, i) => {
    // Values in {-1, 0, 1}: many ties, and windows that are all <= 0.
    const x = tiedOperand(c.shape, 500 + i, 3);
    const ref = await valueAndGradsOn('cpu', pool(c), [x]);
    const got = await valueAndGradsOn('wasm', pool(c), [x]);
    expect(Array.from(got.grads[0])).toEqual(Array.from(ref.grads[0]));
    const allNegative: Operand = { values: x.values.map((v) => v - 5), shape: c.shape };
    const dy = operand(pooled(c), 600 + i);
    const d = await compareWithCpu(pool(c), [allNegative], dy);
    expect(d.grads[0]).toBeLessThan(TOL);
  });

  it.each([[[2, 4, 6, 4]], [[2, 4, 6, 1]], [[1, 5, 7, 8]]] as const)(
    'NaN never wins and -Infinity-only windows route nowhere: %j',
    async (shape) => {
      const c: Case = { shape: [...shape] as Case['shape'], pool: 2, strides: 2, pad: 'same' };
      const x = operand(c.shape, 700);
      const r = rng(701);
      for (let i = 0; i < x.values.length; i++) {
        const u = r();
        if (u < 0.15) x.values[i] = NaN;
        else if (u < 0.35) x.values[i] = -Infinity;
      }
      // The first window entirely -Infinity; the second NaN first, then finite.
      const [, , w, ch] = shape;
      x.values.fill(-Infinity, 0, 2 * ch);
      x.values.fill(-Infinity, w * ch, (w + 2) * ch);
      x.values.fill(NaN, 2 * ch, 3 * ch);
      x.values.fill(0.25, 3 * ch, 4 * ch);
      const dy = operand(pooled(c), 702);
      const ref = await valueAndGradsOn('cpu', pool(c), [x], dy);
      const got = await valueAndGradsOn('wasm', pool(c), [x], dy);
      expect(Array.from(got.grads[0])).toEqual(Array.from(ref.grads[0]));
    },
  );

  it('reference-net shape (64x28x28x32, pool 2)', async () => {
    const c: Case = { shape: [4, 28, 28, 32], pool: 2, strides: 2, pad: 'valid' };
    const x = operand(c.shape, 11);
    const dy = operand(pooled(c), 12);
    const d = await compareWithCpu(pool(c), [x], dy);
    expect(d.grads[0]).toBeLessThan(TOL);
  });
});
