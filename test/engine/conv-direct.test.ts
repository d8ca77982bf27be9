/**
 * The SIMD convolution (conv2d.ts, convGeneral) claims XNNPACK's bits: each output the f32 sum,
 * from +0, of one multiply and one add per term in (a, c, ci) order. Compared exactly with the
 * stock wasm kernel it replaces, on geometries that take the SIMD path (and through the input
 * gradient, which is a convolution).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { engineKernelState, runConfig, type TensorInfo, type WasmBackendLike } from '../../src/engine/kernels/util.js';
import { randomArray, setupBackends, tf, type Pad } from './helpers.js';

beforeAll(setupBackends);

function mismatches(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

describe('SIMD Conv2D is bit-identical to the stock XNNPACK kernel', () => {
  const cases: Array<[number[], number[], [number, number], Pad]> = [
    [[3, 14, 14, 32], [3, 3, 32, 64], [1, 1], 'same'],
    [[2, 14, 14, 64], [3, 3, 64, 32], [1, 1], 'same'],
    [[2, 7, 9, 5], [3, 3, 5, 8], [1, 1], 'valid'],
    [[2, 9, 10, 4], [3, 2, 4, 16], [2, 2], 'same'],
    [[1, 11, 6, 3], [2, 3, 3, 8], [2, 1], [[0, 0], [1, 3], [3, 0], [0, 0]]],
    [[2, 5, 3, 8], [1, 1, 8, 24], [1, 1], 'valid'],
    [[1, 6, 7, 1], [5, 5, 1, 8], [1, 1], 'same'],
    [[2, 3, 2, 4], [3, 3, 4, 8], [1, 1], 'same'],
  ];
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_n, [xs, ws, strides, pad]) => {
    await tf.setBackend('wasm');
    const x = randomArray(xs.reduce((p, q) => p * q), 31);
    for (let i = 0; i < x.length; i += 4) x[i] = 0;
    const w = randomArray(ws.reduce((p, q) => p * q), 32);
    const stock = engineKernelState().replaced.get('wasm_Conv2D');
    expect(stock).toBeTruthy();
    const attrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1] };
    const [got, want] = tf.tidy(() => {
      const xt = tf.tensor4d(x, xs as [number, number, number, number]);
      const wt = tf.tensor4d(w, ws as [number, number, number, number]);
      const ours = (tf.engine().runKernel('Conv2D', { x: xt, filter: wt }, attrs as never) as tf.Tensor).dataSync() as Float32Array;
      const be = tf.backend() as unknown as WasmBackendLike;
      const info = runConfig(stock!, be, { x: xt, filter: wt }, attrs as never) as TensorInfo;
      const theirs = tf.engine().makeTensorFromTensorInfo(info).dataSync() as Float32Array;
      return [ours, theirs];
    });
    expect(mismatches(got, want)).toBe(0);
  });
});
