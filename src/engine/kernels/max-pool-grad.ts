/**
 * MaxPoolGrad for the wasm backend.
 *
 * The stock wasm kernel is slow and does not follow TensorFlow's routing: it
 * sends a window's gradient to the *last* maximum and initialises its running
 * maximum with FLT_MIN (the smallest positive float), so windows whose
 * values are all <= 0 lose their gradient (it lands on element 0, at most
 * once). TensorFlow (and tfjs' cpu backend) sends each window's
 * gradient to exactly one position: the first maximum in row-major window
 * order (NaN never wins; padding is never a candidate). Overlapping windows
 * accumulate.
 *
 * This kernel does that in one pass over the wasm heap: per output pixel it
 * scans its window channel by channel, keeping the running maximum and its
 * position, then writes (or, for overlapping windows, adds) dy there.
 * The usual pool 2 / stride 2 runs as a WebAssembly SIMD kernel on the heap
 * (simd.ts; 4 channels per step, lane masks instead of branches) when the
 * channel count is a multiple of 4, else as an unrolled JS loop.
 */
import { maxPool2x2GradFor, wasmMemoryOf, type MaxPool2x2GradFn } from './simd.js';
import { f32, overrideKernel, WASM, type TensorInfo, type Tf, type WasmBackendLike, type WindowGeometry } from './util.js';

export const MAX_POOL_GRAD = 'MaxPoolGrad';

export interface Pool2DGeometry extends WindowGeometry {
  channels: number;
}

/**
 * Writes the max-pool input gradient into `dx` (NHWC; fully overwritten) for
 * input `x` and output gradient `dy`.
 */
export function maxPoolGradInto(x: Float32Array, dy: Float32Array, dx: Float32Array, g: Pool2DGeometry): void {
  dx.fill(0);
  if (isPool2x2(g)) {
    // Full windows on the unrolled path; windows clipped by 'same' padding
    // (odd sizes) on the generic one.
    const fullH = Math.min(g.outHeight, g.inHeight >> 1);
    const fullW = Math.min(g.outWidth, g.inWidth >> 1);
    pool2x2Grad(x, dy, dx, g, fullH, fullW);
    if (fullH < g.outHeight || fullW < g.outWidth) accumulateGrad(x, dy, dx, g, fullH, fullW);
  } else {
    accumulateGrad(x, dy, dx, g, 0, 0);
  }
}

function isPool2x2(g: Pool2DGeometry): boolean {
  return (
    g.filterHeight === 2 &&
    g.filterWidth === 2 &&
    g.strideHeight === 2 &&
    g.strideWidth === 2 &&
    g.padTop === 0 &&
    g.padLeft === 0
  );
}

/**
 * The pool 2 / stride 2 gradient with the WebAssembly SIMD kernel (channels a
 * multiple of 4); x, dy and dx must be views of the heap `simd` runs on.
 */
export function maxPool2x2GradSimd(
  simd: MaxPool2x2GradFn,
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  g: Pool2DGeometry,
): void {
  const { batch, inHeight: h, inWidth: w, channels: ch, outHeight: oh, outWidth: ow } = g;
  const fullH = Math.min(oh, h >> 1);
  const fullW = Math.min(ow, w >> 1);
  // Rows/columns that no full window covers: uncovered, or in windows clipped
  // by 'same' padding (done below in JS).
  if (2 * fullH < h || 2 * fullW < w) dx.fill(0);
  const cBytes = ch * 4;
  if (h === 2 * oh && w === 2 * ow) {
    simd(x.byteOffset, dy.byteOffset, dx.byteOffset, batch * oh, ow, cBytes, w * cBytes, ow * cBytes);
  } else {
    for (let b = 0; b < batch; b++) {
      const image = b * h * w * cBytes;
      simd(x.byteOffset + image, dy.byteOffset + b * oh * ow * cBytes, dx.byteOffset + image, fullH, fullW, cBytes, w * cBytes, ow * cBytes);
    }
  }
  if (fullH < oh || fullW < ow) accumulateGrad(x, dy, dx, g, fullH, fullW);
}

/** 2x2 windows, stride 2, output pixels [0, fullH) x [0, fullW); dx zeroed. */
function pool2x2Grad(
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  g: Pool2DGeometry,
  fullH: number,
  fullW: number,
): void {
  const { batch, inHeight: h, inWidth: w, channels: ch, outHeight: oh, outWidth: ow } = g;
  const rowStride = w * ch;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < fullH; oy++) {
      let p0 = (b * h + 2 * oy) * rowStride;
      let d = (b * oh + oy) * ow * ch;
      for (let ox = 0; ox < fullW; ox++, p0 += 2 * ch, d += ch) {
        const p1 = p0 + ch;
        const p2 = p0 + rowStride;
        const p3 = p2 + ch;
        for (let k = 0; k < ch; k++) {
          const v0 = x[p0 + k];
          const v1 = x[p1 + k];
          const v2 = x[p2 + k];
          const v3 = x[p3 + k];
          // First maximum in row-major order; NaN never wins.
          let m = -Infinity;
          let at = -1;
          if (v0 > m) {
            m = v0;
            at = p0;
          }
          if (v1 > m) {
            m = v1;
            at = p1;
          }
          if (v2 > m) {
            m = v2;
            at = p2;
          }
          if (v3 > m) at = p3;
          if (at >= 0) dx[at + k] = dy[d + k];
        }
      }
    }
  }
}

/**
 * Any geometry: adds each window's dy at its first maximum (dx zeroed by the
 * caller), skipping output pixels in [0, skipH) x [0, skipW).
 */
function accumulateGrad(
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  g: Pool2DGeometry,
  skipH: number,
  skipW: number,
): void {
  const { batch, inHeight: h, inWidth: w, channels: ch, outHeight: oh, outWidth: ow } = g;
  const best = new Float64Array(ch);
  const where = new Int32Array(ch);
  let d = 0;
  for (let b = 0; b < batch; b++) {
    const image = b * h * w * ch;
    for (let oy = 0; oy < oh; oy++) {
      const rowStart = oy * g.strideHeight - g.padTop;
      const r0 = Math.max(rowStart, 0);
      const r1 = Math.min(rowStart + g.filterHeight, h);
      for (let ox = 0; ox < ow; ox++, d += ch) {
        if (oy < skipH && ox < skipW) continue;
        const colStart = ox * g.strideWidth - g.padLeft;
        const c0 = Math.max(colStart, 0);
        const c1 = Math.min(colStart + g.filterWidth, w);
        best.fill(-Infinity);
        where.fill(-1);
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) {
            const base = image + (r * w + c) * ch;
            for (let k = 0; k < ch; k++) {
              const v = x[base + k];
              if (v > best[k]) {
                best[k] = v;
                where[k] = base + k;
              }
            }
          }
        }
        for (let k = 0; k < ch; k++) {
          const p = where[k];
          if (p >= 0) dx[p] += dy[d + k];
        }
      }
    }
  }
}

export function registerMaxPoolGrad(tf: Tf): void {
  overrideKernel(tf, MAX_POOL_GRAD, WASM, () => ({
    kernelName: MAX_POOL_GRAD,
    backendName: WASM,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const be = backend as WasmBackendLike;
      const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
      const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
        filterSize: number | [number, number];
        strides: number | [number, number];
        pad: 'valid' | 'same' | number;
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
      };
      if (input.dtype !== 'float32' || dy.dtype !== 'float32') {
        throw new Error('cnnc MaxPoolGrad: float32 tensors only');
      }
      const info = tf.backend_util.computePool2DInfo(
        input.shape as [number, number, number, number],
        filterSize,
        strides,
        1,
        pad,
        dimRoundingMode,
      );
      const dx = be.makeOutput(input.shape, 'float32');
      const g: Pool2DGeometry = {
        batch: info.batchSize,
        inHeight: info.inHeight,
        inWidth: info.inWidth,
        channels: info.inChannels,
        outHeight: info.outHeight,
        outWidth: info.outWidth,
        filterHeight: info.effectiveFilterHeight,
        filterWidth: info.effectiveFilterWidth,
        strideHeight: info.strideHeight,
        strideWidth: info.strideWidth,
        padTop: info.padInfo.top,
        padLeft: info.padInfo.left,
      };
      const simd = isPool2x2(g) && g.channels % 4 === 0 ? maxPool2x2GradFor(wasmMemoryOf(be)) : null;
      // Heap views only after allocating (allocation can replace the heap).
      const [xv, dyv, dxv] = [f32(be, input), f32(be, dy), f32(be, dx)];
      if (simd != null) maxPool2x2GradSimd(simd, xv, dyv, dxv, g);
      else maxPoolGradInto(xv, dyv, dxv, g);
      return dx;
    },
  }));
}
