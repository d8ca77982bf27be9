import { describe, expect, it } from 'vitest';
import { globalAveragePooling2d as gap } from '../../src/layers/globalAveragePooling2d.js';

describe('globalAveragePooling2d', () => {
  it('reduces [h, w, c] to [c]', () => {
    expect(gap.resolve({ name: 'g' })).toEqual({});
    expect(gap.outputShape([7, 7, 64], {})).toEqual({ ok: true, shape: [64] });
    expect(gap.outputShape([5, 3, 2], {})).toEqual({ ok: true, shape: [2] });
    expect(gap.params([7, 7, 64], {})).toEqual({ trainable: 0, nonTrainable: 0 });
    expect(gap.flops([7, 7, 64], [64], {})).toBe(7 * 7 * 64);
    expect(gap.spatial).toBe(false);
  });

  it('cannot follow flatten', () => {
    const res = gap.outputShape([3136], {});
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.fault.message).toBe('needs a [height, width, channels] input, got [3136]');
      expect(res.fault.hint).toContain('flatten');
    }
  });
});
