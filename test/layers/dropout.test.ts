import { describe, expect, it } from 'vitest';
import { dropout } from '../../src/layers/dropout.js';

describe('dropout', () => {
  it('passes its input through with no weights', () => {
    const a = dropout.resolve({ rate: 0.5, name: 'd' });
    expect(a).toEqual({ rate: 0.5 });
    expect(dropout.outputShape([128], a)).toEqual({ ok: true, shape: [128] });
    expect(dropout.outputShape([7, 7, 64], a)).toEqual({ ok: true, shape: [7, 7, 64] });
    expect(dropout.params([128], a)).toEqual({ trainable: 0, nonTrainable: 0 });
    expect(dropout.flops([128], [128], a)).toBe(0);
    expect(dropout.spatial).toBe(false);
  });

  it('requires rate', () => {
    expect(dropout.schema.required).toEqual(['rate']);
  });
});
