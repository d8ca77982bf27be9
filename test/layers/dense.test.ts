import { describe, expect, it } from 'vitest';
import { dense } from '../../src/layers/dense.js';

const r = (a: Record<string, unknown>) => dense.resolve(a);

describe('dense', () => {
  it('fills in the Keras defaults', () => {
    expect(r({ units: 10, name: 'head' })).toEqual({
      units: 10,
      activation: 'linear',
      useBias: true,
      kernelInitializer: 'glorotUniform',
      biasInitializer: 'zeros',
    });
    const once = r({ units: 3, activation: 'softmax', useBias: false, kernelInitializer: 'heNormal' });
    expect(r(once)).toEqual(once);
  });

  it('maps [n] to [units] with n·units + units parameters', () => {
    expect(dense.outputShape([3136], r({ units: 128 }))).toEqual({ ok: true, shape: [128] });
    expect(dense.params([3136], r({ units: 128 }))).toEqual({ trainable: 401_536, nonTrainable: 0 });
    expect(dense.params([128], r({ units: 10 }))).toEqual({ trainable: 1_290, nonTrainable: 0 });
    expect(dense.params([128], r({ units: 10, useBias: false }))).toEqual({ trainable: 1_280, nonTrainable: 0 });
  });

  it('applies to the last axis of a rank-3 input', () => {
    expect(dense.outputShape([14, 14, 32], r({ units: 10 }))).toEqual({ ok: true, shape: [14, 14, 10] });
    expect(dense.params([14, 14, 32], r({ units: 10 }))).toEqual({ trainable: 330, nonTrainable: 0 });
    expect(dense.flops([14, 14, 32], [14, 14, 10], r({ units: 10 }))).toBe(14 * 14 * (2 * 32 * 10 + 10));
  });

  it('counts multiply-adds, bias and activation', () => {
    expect(dense.flops([128], [10], r({ units: 10, activation: 'softmax' }))).toBe(2 * 128 * 10 + 10 + 30);
    expect(dense.flops([128], [10], r({ units: 10, useBias: false }))).toBe(2 * 128 * 10);
    expect(dense.spatial).toBe(false);
  });
});
