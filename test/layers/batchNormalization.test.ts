import { describe, expect, it } from 'vitest';
import { batchNormalization as bn } from '../../src/layers/batchNormalization.js';

describe('batchNormalization', () => {
  it('fills in the Keras defaults', () => {
    expect(bn.resolve({})).toEqual({ momentum: 0.99, epsilon: 0.001 });
    expect(bn.resolve({ momentum: 0.9, epsilon: 1e-5, name: 'b' })).toEqual({ momentum: 0.9, epsilon: 1e-5 });
  });

  it('holds 4 parameters per channel, 2 of them trainable', () => {
    const a = bn.resolve({});
    expect(bn.outputShape([28, 28, 32], a)).toEqual({ ok: true, shape: [28, 28, 32] });
    expect(bn.params([28, 28, 32], a)).toEqual({ trainable: 64, nonTrainable: 64 });
    expect(bn.params([128], a)).toEqual({ trainable: 256, nonTrainable: 256 });
    expect(bn.flops([128], [128], a)).toBe(4 * 128);
    expect(bn.spatial).toBe(false);
  });
});
