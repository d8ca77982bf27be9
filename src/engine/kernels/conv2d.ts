/**
 * Conv2D for the wasm backend when the input has one channel (a first layer), stride 1:
 * XNNPACK's convolution is poorly suited to cin = 1 (~50 multiply-adds per ns where its
 * wider convolutions reach ~30 GFLOP/s), so the zero-padded input goes through a WebAssembly
 * SIMD loop that keeps the kh·kw filter vectors of 4 output channels in registers (simd.ts).
 * Everything else (and cout not a multiple of 4, dilation, NCHW, windows over 12 taps) runs
 * on the stock kernel.
 */
import { padSingleChannel, type ConvGeometry } from './conv2d-backprop-filter.js';
import { conv1For, FILTER_GRAD1_MAX_TAPS, wasmMemoryOf } from './simd.js';
import { f32, overrideKernel, release, runConfig, WASM, type KernelConfig, type TensorInfo, type Tf, type WasmBackendLike } from './util.js';

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

export function registerConv2D(tf: Tf): void {
  if (tf.getKernel(CONV2D, WASM) == null) return;
  overrideKernel(tf, CONV2D, WASM, (original: KernelConfig | null) => {
    if (original == null) throw new Error('cnnc engine: no wasm Conv2D kernel to wrap');
    return {
      kernelName: CONV2D,
      backendName: WASM,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const be = backend as WasmBackendLike;
        const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
        const a = attrs as unknown as Conv2DAttrs;
        const [kh, kw, cin, cout] = filter.shape;
        const simple =
          x.dtype === 'float32' &&
          filter.dtype === 'float32' &&
          a.dataFormat !== 'NCHW' &&
          x.shape.length === 4 &&
          x.shape[3] === 1 &&
          cin === 1 &&
          cout % 4 === 0 &&
          kh * kw <= FILTER_GRAD1_MAX_TAPS &&
          ones(a.strides) &&
          ones(a.dilations);
        if (!simple) return runConfig(original, be, inputs, attrs);
        const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
        const fn = conv1For(wasmMemoryOf(be), kh, kw, info.outWidth + kw - 1);
        if (fn == null || info.outHeight <= 0 || info.outWidth <= 0) return runConfig(original, be, inputs, attrs);
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
      },
    };
  });
}
