import { describe, expect, it } from 'vitest';
import { activation } from '../../src/layers/activation.js';
import { activationFlops } from '../../src/layers/common.js';

describe('activation', () => {
  it('passes its input through with no weights', () => {
    const a = activation.resolve({ activation: 'relu', name: 'a' });
    expect(a).toEqual({ activation: 'relu' });
    expect(activation.outputShape([7, 7, 64], a)).toEqual({ ok: true, shape: [7, 7, 64] });
    expect(activation.params([7, 7, 64], a)).toEqual({ trainable: 0, nonTrainable: 0 });
    expect(activation.flops([10], [10], a)).toBe(10);
    expect(activation.flops([10], [10], { activation: 'softmax' })).toBe(30);
    expect(activation.spatial).toBe(false);
    expect(activation.schema.required).toEqual(['activation']);
  });

  it('counts linear as free', () => expect(activationFlops('linear', 100)).toBe(0));
});
