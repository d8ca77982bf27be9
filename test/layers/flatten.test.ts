import { describe, expect, it } from 'vitest';
import { flatten } from '../../src/layers/flatten.js';

describe('flatten', () => {
  it('multiplies every axis into one', () => {
    expect(flatten.outputShape([7, 7, 64], {})).toEqual({ ok: true, shape: [3136] });
    expect(flatten.outputShape([10, 3], {})).toEqual({ ok: true, shape: [30] });
    expect(flatten.params([7, 7, 64], {})).toEqual({ trainable: 0, nonTrainable: 0 });
    expect(flatten.flops([7, 7, 64], [3136], {})).toBe(0);
    expect(flatten.spatial).toBe(false);
  });

  it('refuses an already flat input, as tfjs-layers does', () => {
    const res = flatten.outputShape([128], {});
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.fault.message).toContain('got [128]');
      expect(res.fault.hint).toContain('remove this flatten');
    }
  });
});
