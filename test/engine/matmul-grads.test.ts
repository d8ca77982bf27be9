import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithCpu, operand, setupBackends, tf } from './helpers.js';

const TOL = 1e-4;

beforeAll(setupBackends);

describe('MatMul on wasm matches cpu', () => {
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[1, 9], [9, 1], false, false],
    [[1, 4, 6], [1, 5, 6], false, true],
    [[3, 4, 6], [3, 6, 5], false, false],
    [[3, 6, 4], [3, 5, 6], true, true],
    // Widths that are multiples of 8: cnnc's SIMD gemm (directly, or as the transposed product).
    [[12, 24], [24, 16], false, false],
    [[24, 12], [24, 16], true, false],
    [[16, 24], [8, 24], false, true],
    [[24, 16], [8, 24], true, true],
    [[13, 40], [40, 8], false, false],
  ];
  it.each(cases)('matMul %j x %j transposeA=%s transposeB=%s (value and grads)', async (as, bs, ta, tb) => {
    const a = operand(as, 21);
    const b = operand(bs, 22);
    const d = await compareWithCpu((x, y) => tf.matMul(x, y, ta, tb), [a, b]);
    expect(d.value).toBeLessThan(TOL);
    expect(d.grads[0]).toBeLessThan(TOL);
    expect(d.grads[1]).toBeLessThan(TOL);
  });

  // Batched a against an unbatched b (tfjs has no gradient for broadcast
  // matmul batches, so forward only).
  const broadcastCases: Array<[number[], number[], boolean, boolean]> = [
    [[3, 4, 6], [6, 5], false, false],
    [[3, 6, 4], [6, 5], true, false],
    [[2, 3, 4, 6], [1, 5, 6], false, true],
    [[4, 6], [2, 6, 5], false, false],
    [[3, 5, 6], [6, 16], false, false],
  ];
  it.each(broadcastCases)('matMul %j x %j transposeA=%s transposeB=%s (value)', async (as, bs, ta, tb) => {
    const a = operand(as, 23);
    const b = operand(bs, 24);
    const run = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const y = tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape), ta, tb);
        return { shape: y.shape, values: y.dataSync() as Float32Array };
      });
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    expect(got.shape).toEqual(ref.shape);
    for (let i = 0; i < ref.values.length; i++) expect(Math.abs(got.values[i] - ref.values[i])).toBeLessThan(TOL);
  });

  it.each([
    ['relu', false, true],
    ['linear', true, false],
    ['relu', true, true],
  ] as const)('fused matMul with bias, activation %s, transposeA=%s transposeB=%s', async (activation, ta, tb) => {
    const a = operand(ta ? [6, 4] : [4, 6], 31);
    const b = operand(tb ? [5, 6] : [6, 5], 32);
    const bias = operand([5], 33);
    const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
      tf.fused.matMul({ a: x, b: y, transposeA: ta, transposeB: tb, bias: z, activation });
    // Forward through the fused kernel (outside gradient mode) ...
    for (const backend of ['cpu', 'wasm'] as const) await tf.setBackend(backend);
    const fwd = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      return tf.tidy(() =>
        f(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape), tf.tensor(bias.values, bias.shape)).dataSync(),
      );
    };
    const ref = await fwd('cpu');
    const got = await fwd('wasm');
    for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThan(TOL);
    // ... and its gradients.
    const d = await compareWithCpu(f, [a, b, bias]);
    for (const g of d.grads) expect(g).toBeLessThan(TOL);
  });
});

describe('SIMD gemm', () => {
  // The dense layers' products and their shapes in a training step (x·W, xᵀ·dy, dy·Wᵀ), odd row counts.
  it.each([
    [[9, 40], [40, 16], false, false],
    [[40, 9], [40, 16], true, false],
    [[16, 40], [24, 40], false, true],
    [[40, 16], [24, 40], true, true],
    [[32, 3136], [3136, 128], false, false],
    [[32, 3136], [32, 128], true, false],
    [[32, 128], [3136, 128], false, true],
  ] as const)('%j x %j transposeA=%s transposeB=%s is the sequential f32 sum exactly', async (as, bs, ta, tb) => {
    await tf.setBackend('wasm');
    const a = operand([...as], 41);
    const b = operand([...bs], 42);
    const got = tf.tidy(() => tf.matMul(tf.tensor(a.values, [...as]), tf.tensor(b.values, [...bs]), ta, tb).dataSync());
    const [m, k] = ta ? [as[1], as[0]] : [as[0], as[1]];
    const n = tb ? bs[0] : bs[1];
    const A = (i: number, q: number) => (ta ? a.values[q * m + i] : a.values[i * k + q]);
    const B = (q: number, j: number) => (tb ? b.values[j * k + q] : b.values[q * n + j]);
    let mismatches = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let q = 0; q < k; q++) acc = Math.fround(acc + Math.fround(A(i, q) * B(q, j)));
        if (!Object.is(got[i * n + j], acc)) mismatches++;
      }
    expect(mismatches).toBe(0);
  });
});
