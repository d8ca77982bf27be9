import { describe, expect, it } from 'vitest';
import { conv2d } from '../../src/layers/conv2d.js';

const r = (a: Record<string, unknown>) => conv2d.resolve(a);
const shape = (input: number[], a: Record<string, unknown>) => conv2d.outputShape(input, r(a));

describe('conv2d', () => {
  it('fills in the Keras defaults and ignores name', () => {
    expect(r({ filters: 32, kernelSize: 3, name: 'c' })).toEqual({
      filters: 32,
      kernelSize: [3, 3],
      strides: [1, 1],
      padding: 'valid',
      activation: 'linear',
      useBias: true,
      kernelInitializer: 'glorotUniform',
      biasInitializer: 'zeros',
    });
  });

  it('resolves idempotently', () => {
    const once = r({ filters: 8, kernelSize: [3, 5], strides: 2, padding: 'same', activation: 'relu', useBias: false });
    expect(r(once)).toEqual(once);
  });

  it('follows TensorFlow window arithmetic', () => {
    expect(shape([28, 28, 1], { filters: 32, kernelSize: 3, padding: 'same' })).toEqual({ ok: true, shape: [28, 28, 32] });
    expect(shape([28, 28, 1], { filters: 32, kernelSize: 3 })).toEqual({ ok: true, shape: [26, 26, 32] });
    expect(shape([28, 28, 1], { filters: 4, kernelSize: 3, strides: 2, padding: 'same' })).toEqual({ ok: true, shape: [14, 14, 4] });
    // same: ceil(7 / 2) = 4; valid: floor((7 - 3) / 2) + 1 = 3
    expect(shape([7, 7, 3], { filters: 4, kernelSize: 3, strides: 2, padding: 'same' })).toEqual({ ok: true, shape: [4, 4, 4] });
    expect(shape([7, 7, 3], { filters: 4, kernelSize: 3, strides: 2 })).toEqual({ ok: true, shape: [3, 3, 4] });
    expect(shape([28, 28, 1], { filters: 2, kernelSize: [3, 5] })).toEqual({ ok: true, shape: [26, 24, 2] });
    expect(shape([28, 20, 1], { filters: 2, kernelSize: 3, strides: [1, 2], padding: 'same' })).toEqual({ ok: true, shape: [28, 10, 2] });
  });

  it('counts kh·kw·cin·filters weights plus a bias per filter', () => {
    expect(conv2d.params([28, 28, 1], r({ filters: 32, kernelSize: 3 }))).toEqual({ trainable: 320, nonTrainable: 0 });
    expect(conv2d.params([14, 14, 32], r({ filters: 64, kernelSize: 3 }))).toEqual({ trainable: 18_496, nonTrainable: 0 });
    expect(conv2d.params([28, 28, 3], r({ filters: 8, kernelSize: [3, 5], useBias: false }))).toEqual({ trainable: 360, nonTrainable: 0 });
  });

  it('counts a multiply-add as two FLOPs, plus bias and activation per output element', () => {
    const a = r({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' });
    const out = 28 * 28 * 32;
    expect(conv2d.flops([28, 28, 1], [28, 28, 32], a)).toBe(2 * 9 * 1 * out + out + out);
    const lin = r({ filters: 32, kernelSize: 3, padding: 'same', useBias: false });
    expect(conv2d.flops([28, 28, 1], [28, 28, 32], lin)).toBe(2 * 9 * out);
  });

  it('refuses a kernel larger than its input under valid padding, at kernelSize', () => {
    const res = shape([3, 3, 8], { filters: 4, kernelSize: 5 });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.fault.arg).toBe('kernelSize');
    expect(res.fault.message).toContain('reduces 3×3 to 0×0');
    expect(res.fault.hint).toBe('use padding: same or a smaller kernelSize');
    expect(shape([3, 3, 8], { filters: 4, kernelSize: 5, padding: 'same' })).toEqual({ ok: true, shape: [3, 3, 4] });
  });

  it('needs a rank-3 input', () => {
    const res = shape([3136], { filters: 4, kernelSize: 3 });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.fault.arg).toBeUndefined();
    expect(res.fault.message).toBe('needs a [height, width, channels] input, got [3136]');
    expect(res.fault.hint).toContain('flatten');
  });

  it('is spatial', () => expect(conv2d.spatial).toBe(true));
});
