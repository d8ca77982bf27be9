/**
 * Conv2D for the wasm backend, two WebAssembly SIMD paths (simd.ts):
 * - one input channel, stride 1 (a first layer): XNNPACK's convolution is poorly suited to
 *   cin = 1 (~50 multiply-adds per ns where its wider convolutions reach ~30 GFLOP/s), so a
 *   loop over the zero-padded input keeps the kh·kw filter vectors of 4 output channels in registers (cout a multiple of
 *   4, windows of at most 12 taps);
 * - cout a multiple of 8 (convGeneral): blocks of 4 pixels × 8 output channels in registers,
 *   summed in XNNPACK's order, so with XNNPACK's bits.
 * Everything else (dilation, NCHW, other channel counts) runs on the stock kernel.
 */
import { padSingleChannel, type ConvGeometry } from './conv2d-backprop-filter.js';
import { conv1For, convNhwcFor, FILTER_GRAD1_MAX_TAPS, wasmMemoryOf } from './simd.js';
import { f32, release, wrapWasmKernel, type TensorInfo, type Tf, type WasmBackendLike } from './util.js';

export const CONV2D = 'Conv2D';

type Shape4 = [number, number, number, number];

interface Conv2DAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function ones(v: number | [number, number] | undefined): boolean {
  return v == null || (Array.isArray(v) ? v[0] === 1 && v[1] === 1 : v === 1);
}

/** What both SIMD paths need: float32 NHWC, matching channels, no dilation. */
function plainConv(x: TensorInfo, filter: TensorInfo, a: Conv2DAttrs): boolean {
  return (
    x.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    a.dataFormat !== 'NCHW' &&
    x.shape.length === 4 &&
    x.shape[3] === filter.shape[2] &&
    ones(a.dilations)
  );
}

/**
 * Conv2D with cout a multiple of 8 (NHWC, float32, no dilation, rows of at most 64 outputs): the
 * SIMD convolution of simd.ts, which leaves out the padding's (zero) terms and sums in XNNPACK's
 * order, so gives its bits, ~20% faster (a second conv layer, and the input gradient, which is
 * a convolution). Anything else goes to the stock kernel.
 */
function convGeneral(tf: Tf, be: WasmBackendLike, x: TensorInfo, filter: TensorInfo, a: Conv2DAttrs): TensorInfo | null {
  const [kh, kw, cin, cout] = filter.shape;
  if (!plainConv(x, filter, a) || cout % 8 !== 0) return null;
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  if (oh <= 0 || ow <= 0) return null;
  const [n, h, w] = x.shape;
  const fn = convNhwcFor(wasmMemoryOf(be), {
    inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow, outChannels: cout,
    filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padTop: info.padInfo.top, padLeft: info.padInfo.left,
  });
  if (fn == null) return null;
  const y = be.makeOutput([n, oh, ow, cout], 'float32');
  // Views after allocating: allocation may grow (and so replace) the heap.
  fn(f32(be, x).byteOffset, f32(be, filter).byteOffset, f32(be, y).byteOffset, n);
  return y;
}

export function registerConv2D(tf: Tf): void {
  wrapWasmKernel(tf, CONV2D, ({ inputs, backend: be, attrs }) => {
    const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as Conv2DAttrs;
    const [kh, kw, cin, cout] = filter.shape;
    const simple = plainConv(x, filter, a) && cin === 1 && cout % 4 === 0 && kh * kw <= FILTER_GRAD1_MAX_TAPS && ones(a.strides);
    if (!simple) return convGeneral(tf, be, x, filter, a);
    const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const fn = conv1For(wasmMemoryOf(be), kh, kw, info.outWidth + kw - 1);
    if (fn == null || info.outHeight <= 0 || info.outWidth <= 0) return null;
    const g: ConvGeometry = {
      batch: info.batchSize,
      inHeight: info.inHeight,
      inWidth: info.inWidth,
      inChannels: 1,
      outHeight: info.outHeight,
      outWidth: info.outWidth,
      filterHeight: kh,
      filterWidth: kw,
      strideHeight: 1,
      strideWidth: 1,
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    };
    const hp = g.outHeight + kh - 1;
    const wp = g.outWidth + kw - 1;
    const padded = padSingleChannel(be, x, g);
    const y = be.makeOutput([g.batch, g.outHeight, g.outWidth, cout], 'float32');
    fn(f32(be, padded).byteOffset, f32(be, filter).byteOffset, f32(be, y).byteOffset, g.batch, g.outHeight, g.outWidth, cout * 4, hp * wp * 4, wp * 4);
    release(be, padded);
    return y;
  });
}
