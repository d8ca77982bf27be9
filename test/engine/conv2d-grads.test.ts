import { beforeAll, describe, expect, it } from 'vitest';
import { compareWithCpu, operand, setupBackends, tf, type Pad, type ConvCase } from './helpers.js';

const TOL = 1e-4;

function outSize(n: number, k: number, s: number, pad: Pad, axis: 0 | 1): number {
  if (pad === 'same') return Math.ceil(n / s);
  if (pad === 'valid') return Math.ceil((n - k + 1) / s);
  const [lo, hi] = pad[axis + 1];
  return Math.floor((n - k + lo + hi) / s + 1);
}

const cases: ConvCase[] = [];
{
  const sizes: Array<[number, number]> = [
    [7, 7],
    [9, 5],
  ];
  const kernels: Array<[number, number]> = [
    [3, 3],
    [2, 3],
    [3, 1],
    [1, 1],
  ];
  const strides: Array<[number, number]> = [
    [1, 1],
    [2, 2],
    [2, 1],
  ];
  const pads: Pad[] = ['same', 'valid'];
  let i = 0;
  for (const hw of sizes)
    for (const kernel of kernels)
      for (const s of strides)
        for (const pad of pads) {
          const batch = i % 2 === 0 ? 1 : 3;
          const cin = [1, 3, 4][i % 3];
          const cout = [2, 1, 5][Math.floor(i / 3) % 3];
          cases.push({ batch, hw, cin, cout, kernel, strides: s, pad });
          i++;
        }
  // Narrow patches (kh·kw·cin well below cout, e.g. a first layer): the filter
  // gradient takes its im2col-by-convolution path.
  for (const kernel of kernels)
    for (const s of strides)
      for (const pad of pads) {
        cases.push({ batch: i % 2 === 0 ? 3 : 1, hw: i % 3 === 0 ? [9, 5] : [7, 7], cin: 1, cout: 16, kernel, strides: s, pad });
        i++;
      }
  cases.push({ batch: 2, hw: [6, 7], cin: 2, cout: 24, kernel: [2, 2], strides: [2, 2], pad: [[0, 0], [1, 3], [3, 0], [0, 0]] });
  // Stride 3, a filter larger than the stride, explicit and lopsided padding.
  cases.push({ batch: 2, hw: [8, 8], cin: 2, cout: 3, kernel: [3, 3], strides: [3, 3], pad: 'valid' });
  cases.push({ batch: 2, hw: [10, 7], cin: 3, cout: 2, kernel: [5, 4], strides: [3, 2], pad: 'same' });
  cases.push({ batch: 1, hw: [6, 7], cin: 2, cout: 2, kernel: [3, 3], strides: [1, 1], pad: [[0, 0], [2, 0], [0, 1], [0, 0]] });
  cases.push({ batch: 2, hw: [6, 7], cin: 2, cout: 3, kernel: [2, 2], strides: [2, 2], pad: [[0, 0], [1, 3], [3, 0], [0, 0]] });
  // Stride 1 'same' with a patch matrix larger than one chunk (4 MiB): the filter gradient sums
  // several products (here 3 + 1 images of 32x32, 3x3x32 patches).
  cases.push({ batch: 4, hw: [32, 32], cin: 32, cout: 4, kernel: [3, 3], strides: [1, 1], pad: 'same' });
  // One input channel, stride 1, cout a multiple of 4: the SIMD filter gradient, several
  // paddings (same, valid, explicit and lopsided) and window sizes.
  cases.push({ batch: 3, hw: [9, 6], cin: 1, cout: 8, kernel: [3, 3], strides: [1, 1], pad: 'same' });
  cases.push({ batch: 2, hw: [7, 8], cin: 1, cout: 12, kernel: [3, 2], strides: [1, 1], pad: 'valid' });
  cases.push({ batch: 2, hw: [6, 7], cin: 1, cout: 4, kernel: [3, 4], strides: [1, 1], pad: [[0, 0], [2, 0], [0, 3], [0, 0]] });
  // 25 taps: more than the SIMD kernel keeps in registers, so the convolution path.
  cases.push({ batch: 2, hw: [5, 5], cin: 1, cout: 32, kernel: [5, 5], strides: [1, 1], pad: 'same' });
  // cin a multiple of 4, cout of 8, wide patches: the direct SIMD filter gradient (no patch
  // matrix), with strides, paddings and, last, several chunks (3 + 1 images of 32x32).
  cases.push({ batch: 3, hw: [7, 7], cin: 4, cout: 8, kernel: [3, 3], strides: [1, 1], pad: 'same' });
  cases.push({ batch: 2, hw: [9, 5], cin: 8, cout: 8, kernel: [3, 3], strides: [2, 2], pad: 'valid' });
  cases.push({ batch: 2, hw: [6, 7], cin: 4, cout: 16, kernel: [2, 3], strides: [2, 1], pad: [[0, 0], [1, 3], [3, 0], [0, 0]] });
  cases.push({ batch: 1, hw: [5, 6], cin: 12, cout: 8, kernel: [3, 2], strides: [1, 1], pad: 'same' });
  cases.push({ batch: 4, hw: [32, 32], cin: 32, cout: 8, kernel: [3, 3], strides: [1, 1], pad: 'same' });
}

function name(c: ConvCase): string {
  return `b${c.batch} ${c.hw.join('x')}x${c.cin}->${c.cout} k${c.kernel.join('x')} s${c.strides.join('x')} ${
    typeof c.pad === 'string' ? c.pad : JSON.stringify(c.pad)
  }`;
}

function operands(c: ConvCase, seed: number) {
  const x = operand([c.batch, c.hw[0], c.hw[1], c.cin], seed);
  const w = operand([c.kernel[0], c.kernel[1], c.cin, c.cout], seed + 1);
  const oh = outSize(c.hw[0], c.kernel[0], c.strides[0], c.pad, 0);
  const ow = outSize(c.hw[1], c.kernel[1], c.strides[1], c.pad, 1);
  const dy = operand([c.batch, oh, ow, c.cout], seed + 2);
  return { x, w, dy };
}

beforeAll(setupBackends);

describe('Conv2D gradients on wasm match cpu', () => {
  it.each(cases.map((c, i) => [name(c), c, i] as const))('conv2d %s', async (_n, c, i) => {
    const { x, w, dy } = operands(c, 100 + 10 * i);
    const d = await compareWithCpu(
      (xt, wt) => tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, c.strides, c.pad),
      [x, w],
      dy,
    );
    expect(d.value).toBeLessThan(TOL);
    expect(d.grads[0]).toBeLessThan(TOL);
    expect(d.grads[1]).toBeLessThan(TOL);
  });
});

describe('FusedConv2D (bias + relu) gradients on wasm match cpu', () => {
  const fusedCases = cases.filter((c) => typeof c.pad === 'string').filter((_, i) => i % 3 === 0);
  it.each(fusedCases.map((c, i) => [name(c), c, i] as const))('fused conv2d %s', async (_n, c, i) => {
    const { x, w, dy } = operands(c, 900 + 10 * i);
    const bias = operand([c.cout], 901 + 10 * i, -0.2, 0.2);
    for (const activation of ['relu', 'linear'] as const) {
      const d = await compareWithCpu(
        (xt, wt, bt) =>
          tf.fused.conv2d({
            x: xt as tf.Tensor4D,
            filter: wt as tf.Tensor4D,
            strides: c.strides,
            pad: c.pad as 'same' | 'valid',
            bias: bt,
            activation,
          }),
        [x, w, bias],
        dy,
      );
      expect(d.value).toBeLessThan(TOL);
      for (const g of d.grads) expect(g).toBeLessThan(TOL);
    }
  });
});

describe('Conv2DBackpropInput as an op (conv2dTranspose) matches cpu', () => {
  it.each([
    [[2, 5, 5, 3], [3, 3, 4, 3], [2, 9, 9, 4], 2, 'same'],
    [[1, 4, 6, 2], [2, 3, 1, 2], [1, 8, 13, 1], 2, 'valid'],
    [[3, 7, 7, 1], [3, 3, 2, 1], [3, 7, 7, 2], 1, 'same'],
  ] as const)('conv2dTranspose %j * %j -> %j stride %d %s', async (xs, ws, out, s, pad) => {
    const x = operand([...xs], 7);
    const w = operand([...ws], 8);
    const d = await compareWithCpu(
      (xt, wt) =>
        tf.conv2dTranspose(xt as tf.Tensor4D, wt as tf.Tensor4D, [...out] as [number, number, number, number], s, pad),
      [x, w],
    );
    expect(d.value).toBeLessThan(TOL);
  });
});

describe('kernel hygiene', () => {
  it('leaks no wasm memory across a conv gradient', async () => {
    await tf.setBackend('wasm');
    const c = cases[7];
    const { x, w, dy } = operands(c, 5);
    const xt = tf.tensor(x.values, x.shape) as tf.Tensor4D;
    const wt = tf.tensor(w.values, w.shape) as tf.Tensor4D;
    const dyt = tf.tensor(dy.values, dy.shape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad));
    tf.dispose(g([xt, wt], dyt)); // warm-up
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    tf.dispose(g([xt, wt], dyt));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    tf.dispose([xt, wt, dyt]);
  });
});
