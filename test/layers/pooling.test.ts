import { describe, expect, it } from 'vitest';
import { averagePooling2d } from '../../src/layers/averagePooling2d.js';
import { maxPooling2d } from '../../src/layers/maxPooling2d.js';

describe.each([maxPooling2d, averagePooling2d])('$kind', (kind) => {
  const shape = (input: number[], a: Record<string, unknown>) => kind.outputShape(input, kind.resolve(a));

  it('defaults to a 2×2 window with strides equal to poolSize', () => {
    expect(kind.resolve({})).toEqual({ poolSize: [2, 2], strides: [2, 2], padding: 'valid' });
    expect(kind.resolve({ poolSize: 3 })).toEqual({ poolSize: [3, 3], strides: [3, 3], padding: 'valid' });
    expect(kind.resolve({ poolSize: [3, 2], strides: 1, name: 'p' })).toEqual({ poolSize: [3, 2], strides: [1, 1], padding: 'valid' });
    const once = kind.resolve({ poolSize: 3, strides: 2, padding: 'same' });
    expect(kind.resolve(once)).toEqual(once);
  });

  it('halves, floors under valid, ceils under same', () => {
    expect(shape([28, 28, 32], {})).toEqual({ ok: true, shape: [14, 14, 32] });
    expect(shape([7, 7, 64], {})).toEqual({ ok: true, shape: [3, 3, 64] });
    expect(shape([7, 7, 64], { padding: 'same' })).toEqual({ ok: true, shape: [4, 4, 64] });
    expect(shape([11, 11, 8], { poolSize: 3, strides: 2 })).toEqual({ ok: true, shape: [5, 5, 8] });
    expect(shape([28, 28, 1], { poolSize: [2, 1] })).toEqual({ ok: true, shape: [14, 28, 1] });
  });

  it('refuses pooling 1×1 down to 0×0, at poolSize', () => {
    const res = shape([1, 1, 64], {});
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.fault.arg).toBe('poolSize');
    expect(res.fault.message).toContain('reduces 1×1 to 0×0');
    expect(res.fault.hint).toBe('use padding: same or a smaller poolSize');
  });

  it('needs a rank-3 input', () => {
    const res = shape([128], {});
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.fault.message).toContain('got [128]');
  });

  it('has no weights and one operation per window element per output', () => {
    const a = kind.resolve({});
    expect(kind.params([28, 28, 32], a)).toEqual({ trainable: 0, nonTrainable: 0 });
    expect(kind.flops([28, 28, 32], [14, 14, 32], a)).toBe(4 * 14 * 14 * 32);
    expect(kind.spatial).toBe(true);
  });
});
