/**
 * Conv2DBackpropInput for the wasm backend, as one XNNPACK convolution.
 *
 * The stock wasm kernel is a scalar C++ loop (about 10x slower than the
 * forward convolution). The input gradient of a convolution is itself a
 * convolution: correlate dy — zero-inserted by the stride and padded by
 * (filter - 1 - forward padding) — with the filter rotated by 180° and with
 * its in/out channels swapped. That runs through the wasm `Conv2D` kernel
 * (XNNPACK, SIMD).
 *
 *   dx[b, i, j, ci] = Σ_{a, c, co} D[b, i + a, j + c, co] · w[kh-1-a, kw-1-c, ci, co]
 *
 * where D is dy with (stride - 1) zeros between rows/columns, padded by
 * (kh - 1 - padTop) above and enough rows below to give `inputShape`'s height
 * (likewise for columns; negative amounts crop rows whose windows lie wholly
 * in the forward padding).
 */
import {
  f32,
  padCropDilate4d,
  release,
  runKernel,
  wrapWasmKernel,
  type NamedAttrMap,
  type TensorInfo,
  type Tf,
  type WasmBackendLike,
} from './util.js';

export const CONV2D_BACKPROP_INPUT = 'Conv2DBackpropInput';

type Shape4 = [number, number, number, number];

export interface Conv2DBackpropInputAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: Shape4;
}

/** rotated[a, c, co, ci] = filter[kh - 1 - a, kw - 1 - c, ci, co]. */
export function rotateFilter(backend: WasmBackendLike, filter: TensorInfo): TensorInfo {
  const [kh, kw, cin, cout] = filter.shape;
  const out = backend.makeOutput([kh, kw, cout, cin], 'float32');
  // Views after allocating: allocation may grow (and so replace) the heap.
  const src = f32(backend, filter);
  const dst = f32(backend, out);
  for (let a = 0; a < kh; a++) {
    for (let c = 0; c < kw; c++) {
      const from = ((kh - 1 - a) * kw + (kw - 1 - c)) * cin * cout;
      const to = (a * kw + c) * cout * cin;
      for (let ci = 0; ci < cin; ci++) {
        for (let co = 0; co < cout; co++) dst[to + co * cin + ci] = src[from + ci * cout + co];
      }
    }
  }
  return out;
}

/** dx for dy [b, oh, ow, cout] and filter [kh, kw, cin, cout] on the wasm backend (NHWC). */
export function conv2DBackpropInputWasm(
  tf: Tf,
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: Conv2DBackpropInputAttrs,
): TensorInfo {
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as Shape4,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, padInfo } = info;
  if (dy.shape[1] !== oh || dy.shape[2] !== ow) {
    throw new Error(
      `cnnc Conv2DBackpropInput: dy shape ${JSON.stringify(dy.shape)} does not match the ` +
        `forward output [${info.batchSize},${oh},${ow},${info.outChannels}]`,
    );
  }

  // Filter rotated by 180° with in/out channels swapped: [kh, kw, cout, cin]. A plain copy
  // loop (the stock Reverse and Transpose kernels took ~0.7 ms for a 3x3x32x64 filter).
  const rotated = rotateFilter(backend, filter);

  const dilatedH = (oh - 1) * sh + 1;
  const dilatedW = (ow - 1) * sw + 1;
  const top = kh - 1 - padInfo.top;
  const left = kw - 1 - padInfo.left;
  const bottom = h + kh - 1 - dilatedH - top;
  const right = w + kw - 1 - dilatedW - left;

  let input = dy;
  let pad: unknown = [[0, 0], [top, bottom], [left, right], [0, 0]];
  const direct = sh === 1 && sw === 1 && top >= 0 && bottom >= 0 && left >= 0 && right >= 0;
  if (!direct) {
    input = padCropDilate4d(backend, dy, top, bottom, left, right, sh, sw);
    pad = 'valid';
  }
  const dx = runKernel(
    tf,
    'Conv2D',
    backend,
    { x: input, filter: rotated },
    { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] } as unknown as NamedAttrMap,
  );
  release(backend, rotated);
  if (input !== dy) release(backend, input);
  return dx;
}

export function registerConv2DBackpropInput(tf: Tf): void {
  wrapWasmKernel(tf, CONV2D_BACKPROP_INPUT, ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as Conv2DBackpropInputAttrs;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    if (a.dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') return null;
    return conv2DBackpropInputWasm(tf, backend, dy, filter, a);
  });
}
