/**
 * The direct SIMD filter gradient (conv2d-backprop-filter.ts, filterGradDirect) claims the bits of
 * the patch-matrix products it replaced: each chunk of images summed from zero in (b, oy, ox)
 * order with one f32 multiply and one f32 add per term, the chunks added in order. These tests
 * hold it to that definition exactly, and check the premise that the wasm BatchMatMul (XNNPACK)
 * sums its inner dimension the same way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { patchChunk, type ConvGeometry } from '../../src/engine/kernels/conv2d-backprop-filter.js';
import { filterGradNhwcFor, wasmMemoryOf } from '../../src/engine/kernels/simd.js';
import { randomArray, setupBackends, tf, type Pad, type ConvCase } from './helpers.js';

function geometry(c: ConvCase): ConvGeometry & { outChannels: number } {
  const info = tf.backend_util.computeConv2DInfo([c.batch, c.hw[0], c.hw[1], c.cin], [c.kernel[0], c.kernel[1], c.cin, c.cout], c.strides, 1, c.pad);
  return {
    batch: c.batch, inHeight: c.hw[0], inWidth: c.hw[1], inChannels: c.cin, outHeight: info.outHeight, outWidth: info.outWidth,
    filterHeight: c.kernel[0], filterWidth: c.kernel[1], strideHeight: c.strides[0], strideWidth: c.strides[1],
    padTop: info.padInfo.top, padLeft: info.padInfo.left, outChannels: c.cout,
  };
}

/** dw by definition: chunks of `per` images, each summed in (b, oy, ox) order in f32, then added in order. */
function sequentialFilterGrad(x: Float32Array, dy: Float32Array, g: ReturnType<typeof geometry>, per: number): Float32Array {
  const { batch, inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow, outChannels: cout } = g;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padTop: pt, padLeft: pl } = g;
  const dw = new Float32Array(kh * kw * cin * cout);
  const part = new Float32Array(dw.length);
  const f = Math.fround;
  for (let b0 = 0; b0 < batch; b0 += per) {
    part.fill(0);
    for (let b = b0; b < Math.min(batch, b0 + per); b++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++)
          for (let a = 0; a < kh; a++)
            for (let c = 0; c < kw; c++) {
              const iy = oy * sh + a - pt;
              const ix = ox * sw + c - pl;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              for (let ci = 0; ci < cin; ci++) {
                const xv = x[((b * h + iy) * w + ix) * cin + ci];
                for (let co = 0; co < cout; co++) {
                  const o = ((a * kw + c) * cin + ci) * cout + co;
                  part[o] = f(part[o] + f(xv * dy[((b * oh + oy) * ow + ox) * cout + co]));
                }
              }
            }
    for (let i = 0; i < dw.length; i++) dw[i] = b0 === 0 ? part[i] : f(dw[i] + part[i]);
  }
  return dw;
}

beforeAll(setupBackends);

describe('direct SIMD filter gradient', () => {
  const cases: ConvCase[] = [
    { batch: 3, hw: [7, 7], cin: 4, cout: 8, kernel: [3, 3], strides: [1, 1], pad: 'same' },
    { batch: 2, hw: [9, 5], cin: 8, cout: 16, kernel: [3, 3], strides: [2, 2], pad: 'valid' },
    { batch: 2, hw: [6, 7], cin: 4, cout: 8, kernel: [2, 3], strides: [2, 1], pad: [[0, 0], [1, 3], [3, 0], [0, 0]] },
    // The reference net's second layer at a worker's share: chunks of 18 images.
    { batch: 20, hw: [14, 14], cin: 32, cout: 64, kernel: [3, 3], strides: [1, 1], pad: 'same' },
  ];
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('is the chunked sequential f32 sum exactly: %s', async (_n, c) => {
    await tf.setBackend('wasm');
    const g = geometry(c);
    // The geometry is one the SIMD kernel takes (not the patch-matrix fallback).
    expect(filterGradNhwcFor(wasmMemoryOf(tf.backend()), g)).not.toBeNull();
    const x = randomArray(c.batch * c.hw[0] * c.hw[1] * c.cin, 11);
    // Some exact zeros and negative values, as after a relu and in its gradient.
    for (let i = 0; i < x.length; i += 3) x[i] = 0;
    const dy = randomArray(c.batch * g.outHeight * g.outWidth * c.cout, 12);
    const got = tf.tidy(() => {
      const xt = tf.tensor4d(x, [c.batch, c.hw[0], c.hw[1], c.cin]);
      const dyt = tf.tensor4d(dy, [c.batch, g.outHeight, g.outWidth, c.cout]);
      const filterShape = [c.kernel[0], c.kernel[1], c.cin, c.cout];
      return (tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy: dyt }, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape }) as tf.Tensor).dataSync() as Float32Array;
    });
    const want = sequentialFilterGrad(x, dy, g, patchChunk(g));
    let mismatches = 0;
    for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('rests on the wasm BatchMatMul summing its inner dimension in order (f32 multiply, then add)', async () => {
    await tf.setBackend('wasm');
    const [m, k, n] = [12, 301, 16];
    const a = randomArray(m * k, 21);
    const b = randomArray(k * n, 22);
    const got = tf.tidy(() => tf.matMul(tf.tensor3d(a, [1, m, k]), tf.tensor3d(b, [1, k, n])).dataSync());
    let mismatches = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let q = 0; q < k; q++) acc = Math.fround(acc + Math.fround(a[i * k + q] * b[q * n + j]));
        if (!Object.is(got[i * n + j], acc)) mismatches++;
      }
    expect(mismatches).toBe(0);
  });
});
