import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerEngineKernels, unregisterEngineKernels } from '../../src/engine/kernels/index.js';
import { operand, relDiff, setupBackends, tf } from './helpers.js';

const NAMES = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'MaxPoolGrad',
  'BatchMatMul',
  '_FusedMatMul',
  'Sum',
  'Identity',
  'Cast',
  'Multiply',
  'Add',
  'Relu',
  'Step',
];

beforeAll(setupBackends);
afterEach(() => vi.restoreAllMocks());

describe('registerEngineKernels', () => {
  it('is idempotent and silent', () => {
    const warn = vi.spyOn(console, 'warn');
    const before = NAMES.map((n) => tf.getKernel(n, 'wasm'));
    registerEngineKernels(tf);
    registerEngineKernels(tf);
    expect(NAMES.map((n) => tf.getKernel(n, 'wasm'))).toEqual(before);
    expect(warn).not.toHaveBeenCalled();
  });

  it('leaves other backends alone, and unregistering restores the stock wasm kernels', async () => {
    const cpuBefore = NAMES.map((n) => tf.getKernel(n, 'cpu'));
    unregisterEngineKernels(tf);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    const stock = tf.getKernel('Conv2DBackpropInput', 'wasm');
    expect(stock).toBeDefined();
    registerEngineKernels(tf);
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).not.toBe(stock);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(NAMES.map((n) => tf.getKernel(n, 'cpu'))).toEqual(cpuBefore);
    await tf.setBackend('wasm');
  });

  it('runs wasm with SIMD', async () => {
    expect(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')).toBe(true);
  });
});

async function onBoth<T>(f: () => T): Promise<{ cpu: T; wasm: T }> {
  await tf.setBackend('cpu');
  const cpu = f();
  await tf.setBackend('wasm');
  const wasm = f();
  return { cpu, wasm };
}

describe('Sum over leading axes', () => {
  const x = operand([4, 32, 32, 8], 41);
  const cases: Array<[number | number[], boolean]> = [
    [[0, 1, 2], false],
    [[0, 1, 2], true],
    [0, false],
    [[1, 0], true],
    [[-4, -3], false],
    [[1, 2], false],
    [[0, 1, 2, 3], false],
    [3, true],
  ];
  it.each(cases)('sum axis %j keepDims %s matches cpu', async (axis, keepDims) => {
    const r = await onBoth(() =>
      tf.tidy(() => {
        const y = tf.sum(tf.tensor(x.values, x.shape), axis, keepDims);
        return { shape: y.shape, values: y.dataSync() as Float32Array };
      }),
    );
    expect(r.wasm.shape).toEqual(r.cpu.shape);
    expect(relDiff(r.wasm.values, r.cpu.values)).toBeLessThan(1e-5);
  });

  it('leaves int32 sums to the stock kernel', async () => {
    const ints = Int32Array.from({ length: 4 * 32 * 32 * 8 }, (_, i) => (i % 7) - 3);
    const r = await onBoth(() => tf.tidy(() => Array.from(tf.sum(tf.tensor(ints, [4, 32, 32, 8], 'int32'), [0, 1]).dataSync())));
    expect(r.wasm).toEqual(r.cpu);
  });
});

describe('zero-copy Identity and Cast', () => {
  it('clones and same-dtype casts share data safely', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    const c = tf.cast(a, 'float32');
    const ids = tf.engine().backend.numDataIds();
    a.dispose();
    expect(tf.engine().backend.numDataIds()).toBe(ids); // still referenced
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    b.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
    c.dispose();
    expect(tf.engine().backend.numDataIds()).toBe(ids - 1);
    const d = tf.tensor1d([1.5, -2.5]);
    expect(Array.from(tf.cast(d, 'int32').dataSync())).toEqual([1, -2]);
    d.dispose();
  });

  it('variables updated by an optimizer do not disturb their clones', async () => {
    await tf.setBackend('wasm');
    const v = tf.variable(tf.tensor1d([1, 2]));
    const snapshot = tf.clone(v);
    const opt = tf.train.sgd(0.5);
    opt.minimize(() => tf.sum(tf.mul(v, v)) as tf.Scalar);
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2]);
    expect(Array.from(v.dataSync())).toEqual([0, 0]);
    tf.dispose([v, snapshot]);
    opt.dispose();
  });
});

describe('Conv2DBackpropFilter with NCHW tensors', () => {
  it('matches cpu', async () => {
    const x = operand([2, 3, 7, 6], 51);
    const dy = operand([2, 4, 4, 3], 52);
    const attrs = { strides: [2, 2], pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] };
    const r = await onBoth(() =>
      tf.tidy(() => {
        const out = tf.engine().runKernel(
          'Conv2DBackpropFilter',
          { x: tf.tensor(x.values, x.shape), dy: tf.tensor(dy.values, dy.shape) },
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
        return out.dataSync() as Float32Array;
      }),
    );
    expect(relDiff(r.wasm, r.cpu)).toBeLessThan(1e-4);
  });
});
