/** The SIMD Multiply / Add / Relu / Step kernels give exactly the cpu backend's values. */
import { beforeAll, describe, expect, it } from 'vitest';
import { operand, setupBackends, tf } from './helpers.js';

beforeAll(setupBackends);

async function onBoth(f: () => tf.Tensor): Promise<{ cpu: number[]; wasm: number[]; shape: number[] }> {
  await tf.setBackend('cpu');
  const c = tf.tidy(f);
  const cpu = Array.from(c.dataSync());
  c.dispose();
  await tf.setBackend('wasm');
  const w = tf.tidy(f);
  const wasm = Array.from(w.dataSync());
  const shape = w.shape;
  w.dispose();
  return { cpu, wasm, shape };
}

const SHAPE = [4, 16, 16, 32];
const x = operand(SHAPE, 7);
const y = operand(SHAPE, 8);
const bias = operand([32], 9);
// Some exact zeros, negative zeros and NaNs among the values.
x.values[3] = 0;
x.values[5] = -0;
x.values[11] = NaN;

const t = (o: { values: Float32Array; shape: number[] }) => tf.tensor(o.values, o.shape);

describe('element-wise kernels on wasm match cpu', () => {
  const cases: Array<[string, () => tf.Tensor]> = [
    ['mul', () => tf.mul(t(x), t(y))],
    ['add', () => tf.add(t(x), t(y))],
    ['add bias', () => tf.add(t(x), t(bias))],
    ['bias add (bias first)', () => tf.add(t(bias), t(x))],
    ['relu', () => tf.relu(t(x))],
    ['step', () => tf.step(t(x))],
    ['step alpha (stock kernel)', () => tf.step(t(x), 0.5)],
    ['broadcast mul (stock kernel)', () => tf.mul(t(x), t(bias))],
    ['small add (stock kernel)', () => tf.add(tf.tensor([1, 2, 3]), tf.tensor([4, 5, 6]))],
  ];
  it.each(cases)('%s', async (_, f) => {
    const r = await onBoth(f);
    expect(r.wasm.length).toBe(r.cpu.length);
    // Relu of -0 may be +0 on one and -0 on the other: compare as numbers, NaN as NaN.
    r.wasm.forEach((v, i) => {
      if (Number.isNaN(r.cpu[i])) expect(v).toBeNaN();
      else expect(v === r.cpu[i]).toBe(true);
    });
  });
});
