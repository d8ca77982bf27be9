/**
 * Conv2DBackpropFilter for the wasm backend (the stock backend has none).
 *
 *   dw[a, c, ci, co] = Σ_{b, oy, ox} x[b, oy·sh + a - pt, ox·sw + c - pl, ci] · dy[b, oy, ox, co]
 *
 * is one matrix product over the N = batch·oh·ow output pixels, between the
 * input patches P [N, kh·kw·cin] and dy [N, cout]. It runs on the XNNPACK
 * fully-connected path of the wasm BatchMatMul kernel, which packs its right
 * operand on every call (a fresh tensor each step), so the kernel picks the
 * narrower of P and dy to be that operand:
 *
 * - one input channel, stride 1, cout a multiple of 4 (a first layer): no
 *   product at all, but a WebAssembly SIMD pass over dy that keeps a window's
 *   kh·kw accumulators in registers (simd.ts), ~5x faster than the products;
 * - wide patches (K = kh·kw·cin > cout·3/4) with cin a multiple of 4 and cout
 *   of 8 (e.g. a second conv layer): no patch matrix and no packing either,
 *   but a WebAssembly SIMD kernel specialised to the geometry that reads x and
 *   dy where they are, keeping 4×8 blocks of dw in registers over the pixels
 *   (simd.ts); it sums in the order of the products below, so the bits are
 *   theirs (filterGradDirect), at about twice their speed — the packing of dy
 *   cost as much as the product;
 * - other wide patches: dw = Pᵀ · dy, with Pᵀ [K, N]
 *   gathered in JS from x transposed to [cin, batch, h, w] (for stride 1
 *   'same', one native copy per tap and channel, a few images at a time so
 *   that each chunk's Pᵀ is still in cache when its product reads it);
 * - narrow patches (e.g. a first layer, cin = 1): dwᵀ = dyᵀ · P, with P
 *   [N, K] computed by XNNPACK as the forward convolution of x with a one-hot
 *   filter (im2col as a convolution: N·K² multiply-adds, exact).
 *
 * A convolution over transposed tensors (x as a batch of cin images with the
 * batch as channels, dy as the filter) computes the same thing, but XNNPACK's
 * convolution repacks its oh×ow×batch×cout "filter" on every call at 2-3x the
 * cost of the fully-connected packing, which made it ~30% slower here.
 */
import {
  f32,
  overrideKernel,
  release,
  reshape,
  runKernel,
  transpose,
  transposeMatrix,
  WASM,
  type NamedAttrMap,
  type TensorInfo,
  type Tf,
  type WasmBackendLike,
  tapRange,
  type WindowGeometry,
} from './util.js';
import { filterGrad1For, filterGradNhwcFor, wasmMemoryOf, type FilterGrad1Fn, type FilterGradNhwcFn } from './simd.js';

export const CONV2D_BACKPROP_FILTER = 'Conv2DBackpropFilter';

type Shape4 = [number, number, number, number];

export interface Conv2DBackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: Shape4;
}

/** Geometry of the forward convolution, NHWC. */
export interface ConvGeometry extends WindowGeometry {
  inChannels: number;
}

/**
 * Writes Pᵀ [kh·kw·cin, batch·oh·ow] (row (a, c, ci), column (b, oy, ox)),
 * reading x transposed to [cin, batch, h, w].
 */
export function gatherPatchesT(xT: Float32Array, out: Float32Array, g: ConvGeometry): void {
  const { batch, inHeight: h, inWidth: w, inChannels: cin, outHeight: oh, outWidth: ow } = g;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padTop: pt, padLeft: pl } = g;
  let o = 0;
  for (let a = 0; a < kh; a++) {
    for (let c = 0; c < kw; c++) {
      const [ox0, ox1] = tapRange(c, w, ow, sw, pl);
      for (let ci = 0; ci < cin; ci++) {
        for (let b = 0; b < batch; b++) {
          const image = (ci * batch + b) * h * w;
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * sh + a - pt;
            if (iy < 0 || iy >= h) {
              out.fill(0, o, o + ow);
              o += ow;
              continue;
            }
            const row = image + iy * w + c - pl;
            let ox = 0;
            for (; ox < ox0; ox++) out[o++] = 0;
            if (sw === 1) {
              for (; ox < ox1; ox++) out[o++] = xT[row + ox];
            } else {
              for (; ox < ox1; ox++) out[o++] = xT[row + ox * sw];
            }
            for (; ox < ow; ox++) out[o++] = 0;
          }
        }
      }
    }
  }
}

/**
 * gatherPatchesT for stride 1 when the output is as large as the input
 * ('same' padding): each (tap, channel) block of Pᵀ is that channel's images
 * (contiguous in xT) shifted by (a - pt)·w + (c - pl) elements, so it is one
 * native copy (copyWithin on the heap, which holds both tensors) plus zeroing
 * of the rows and columns the shift pulled in from outside each image.
 */
export function gatherPatchesTSame(
  heap: Float32Array,
  xTStart: number,
  outStart: number,
  g: ConvGeometry,
  firstImage = 0,
  endImage = g.batch,
): void {
  const { batch, inHeight: h, inWidth: w, inChannels: cin } = g;
  const hw = h * w;
  // This call writes images [firstImage, endImage) of every row of Pᵀ (a block of columns);
  // positions are global within a channel of xT ([0, all)), so sources that fall in a
  // neighbouring image are read (and zeroed below) and those outside xT are zero-filled.
  const all = batch * hw;
  const base = firstImage * hw;
  const len = (endImage - firstImage) * hw;
  let o = outStart;
  for (let a = 0; a < g.filterHeight; a++) {
    const dr = a - g.padTop;
    // Rows of each image whose source row lies above (dr < 0) or below (dr > 0) the image.
    const zeroRows0 = dr < 0 ? Math.min(h, -dr) : 0;
    const zeroRows1 = dr > 0 ? Math.max(0, h - dr) : h;
    for (let c = 0; c < g.filterWidth; c++) {
      const dc = c - g.padLeft;
      const shift = dr * w + dc;
      const j0 = Math.min(len, Math.max(0, -shift - base));
      const j1 = Math.max(j0, Math.min(len, all - shift - base));
      // Columns whose source lies left (dc < 0) or right (dc > 0) of the image.
      const badLo = dc < 0 ? Math.min(w, -dc) : 0;
      const badHi = dc > 0 ? Math.max(0, w - dc) : w;
      for (let ci = 0; ci < cin; ci++, o += len) {
        const src = xTStart + ci * all + base + shift;
        if (j0 > 0) heap.fill(0, o, o + j0);
        if (j1 > j0) heap.copyWithin(o + j0, src + j0, src + j1);
        if (j1 < len) heap.fill(0, o + j1, o + len);
        if (zeroRows0 > 0 || zeroRows1 < h) {
          for (let b = 0; b < endImage - firstImage; b++) {
            const image = o + b * hw;
            if (zeroRows0 > 0) heap.fill(0, image, image + zeroRows0 * w);
            if (zeroRows1 < h) heap.fill(0, image + zeroRows1 * w, image + hw);
          }
        }
        if (badLo > 0) {
          for (let r = o; r < o + len; r += w) for (let q = 0; q < badLo; q++) heap[r + q] = 0;
        } else if (badHi < w) {
          for (let r = o; r < o + len; r += w) for (let q = badHi; q < w; q++) heap[r + q] = 0;
        }
      }
    }
  }
}

/**
 * dw for one input channel and stride 1 (a first layer): the input zero-padded so that every
 * tap of every output pixel is in bounds, then one SIMD pass over dy (simd.ts) that keeps the
 * kh·kw accumulators of 4 output channels in registers. The patch-matrix products above spend
 * most of their time packing a 1-wide operand for a K = batch·h·w product.
 */
function filterGradSingleChannel(
  backend: WasmBackendLike,
  fn: FilterGrad1Fn,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
  cout: number,
  filterShape: Shape4,
): TensorInfo {
  const { batch, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = g;
  const hp = oh + kh - 1;
  const wp = ow + kw - 1;
  const padded = padSingleChannel(backend, x, g);
  const dw = backend.makeOutput(filterShape, 'float32');
  // Views after allocating: allocation may grow (and so replace) the heap.
  const out = f32(backend, dw);
  out.fill(0);
  fn(f32(backend, padded).byteOffset, f32(backend, dy).byteOffset, out.byteOffset, batch, oh, ow, cout * 4, hp * wp * 4, wp * 4);
  release(backend, padded);
  return dw;
}

/**
 * A single-channel input [batch, h, w, 1] zero-padded to [batch, oh + kh - 1, ow + kw - 1, 1]
 * for stride 1, so that output pixel (y, x) reads tap (a, c) at (y + a, x + c).
 */
export function padSingleChannel(backend: WasmBackendLike, x: TensorInfo, g: ConvGeometry): TensorInfo {
  const { batch, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = g;
  const hp = oh + kh - 1;
  const wp = ow + kw - 1;
  const padded = backend.makeOutput([batch, hp, wp, 1], 'float32');
  // Views after allocating: allocation may grow (and so replace) the heap.
  const src = f32(backend, x);
  const xp = f32(backend, padded);
  xp.fill(0);
  // Rows i and columns j of the padded image hold input row i - padTop, column j - padLeft.
  const j0 = Math.max(0, g.padLeft);
  const j1 = Math.min(wp, w + g.padLeft);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < hp; i++) {
      const iy = i - g.padTop;
      if (iy < 0 || iy >= h || j1 <= j0) continue;
      const from = (b * h + iy) * w + (j0 - g.padLeft);
      xp.set(src.subarray(from, from + (j1 - j0)), (b * hp + i) * wp + j0);
    }
  }
  return padded;
}

/** Bytes of Pᵀ per product in chunkedPatchProduct: small enough to stay in cache. */
const CHUNK_BYTES = 4 << 20;

function isSame1(g: ConvGeometry): boolean {
  return g.strideHeight === 1 && g.strideWidth === 1 && g.outHeight === g.inHeight && g.outWidth === g.inWidth;
}

/**
 * Images per partial product of the wide-patch filter gradient: for stride 1 'same', as many as
 * keep a chunk's Pᵀ within CHUNK_BYTES (chunkedPatchProduct), otherwise the whole batch. The
 * partial sums are added in order, so this fixes the summation order of dw; filterGradDirect
 * keeps it, which makes both routes give the same bits.
 */
export function patchChunk(g: ConvGeometry): number {
  if (!isSame1(g)) return g.batch;
  const k = g.filterHeight * g.filterWidth * g.inChannels;
  const hw = g.outHeight * g.outWidth;
  return Math.max(1, Math.min(g.batch, Math.floor(CHUNK_BYTES / (k * hw * 4))));
}

/**
 * dw straight from NHWC x and dy with the SIMD kernel of simd.ts (no patch matrix, no packing of
 * dy): each chunk of `per` images is summed from zero in (b, oy, ox) order, and the chunks'
 * sums are added in order — the arithmetic of the patch-matrix products (XNNPACK sums the
 * inner dimension in order with separate multiply and add), so the results are bit-identical
 * to them, ~2x faster.
 */
function filterGradDirect(
  backend: WasmBackendLike,
  fn: FilterGradNhwcFn,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
  cout: number,
  filterShape: Shape4,
  per: number,
): TensorInfo {
  const xImage = g.inHeight * g.inWidth * g.inChannels * 4;
  const dyImage = g.outHeight * g.outWidth * cout * 4;
  const dw = backend.makeOutput(filterShape, 'float32');
  const partial = per < g.batch ? backend.makeOutput(filterShape, 'float32') : null;
  for (let b0 = 0; b0 < g.batch; b0 += per) {
    const b1 = Math.min(g.batch, b0 + per);
    const target = b0 === 0 ? dw : partial!;
    // Views after allocating: allocation may grow (and so replace) the heap.
    const t = f32(backend, target);
    t.fill(0);
    fn(f32(backend, x).byteOffset + b0 * xImage, f32(backend, dy).byteOffset + b0 * dyImage, t.byteOffset, b1 - b0);
    if (b0 > 0) {
      const out = f32(backend, dw);
      for (let i = 0; i < out.length; i++) out[i] += t[i];
    }
  }
  release(backend, partial);
  return dw;
}

/**
 * dw = Pᵀ · dy for stride 1 'same', a few images at a time: each chunk's Pᵀ (gathered from
 * xT [cin, batch·h·w]) is written and then read by the product while it is still in cache,
 * instead of one batch-sized Pᵀ streamed through memory twice. The chunks' products are
 * summed in order.
 */
function chunkedPatchProduct(
  tf: Tf,
  backend: WasmBackendLike,
  xT: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
  cout: number,
  filterShape: Shape4,
): TensorInfo {
  const k = g.filterHeight * g.filterWidth * g.inChannels;
  const hw = g.outHeight * g.outWidth;
  const per = patchChunk(g);
  const dw = backend.makeOutput(filterShape, 'float32');
  for (let b0 = 0; b0 < g.batch; b0 += per) {
    const b1 = Math.min(g.batch, b0 + per);
    const nc = (b1 - b0) * hw;
    const patchesT = backend.makeOutput([1, k, nc], 'float32');
    const dyc = backend.makeOutput([1, nc, cout], 'float32');
    // Views after allocating: allocation may grow (and so replace) the heap.
    const xTView = f32(backend, xT);
    const heap = new Float32Array(xTView.buffer);
    gatherPatchesTSame(heap, xTView.byteOffset >> 2, f32(backend, patchesT).byteOffset >> 2, g, b0, b1);
    f32(backend, dyc).set(f32(backend, dy).subarray(b0 * hw * cout, b1 * hw * cout));
    const prod = matMul(tf, backend, patchesT, dyc);
    release(backend, patchesT, dyc);
    const p = f32(backend, prod);
    const out = f32(backend, dw);
    if (b0 === 0) out.set(p);
    else for (let i = 0; i < out.length; i++) out[i] += p[i];
    release(backend, prod);
  }
  return dw;
}

function matMul(tf: Tf, backend: WasmBackendLike, a: TensorInfo, b: TensorInfo): TensorInfo {
  return runKernel(tf, 'BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
}

/** dw [kh, kw, cin, cout] for x and dy (NHWC or NCHW) on the wasm backend. */
export function conv2DBackpropFilterWasm(
  tf: Tf,
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: Conv2DBackpropFilterAttrs,
): TensorInfo {
  const channelsLast = attrs.dataFormat !== 'NCHW';
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Shape4,
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    channelsLast ? 'channelsLast' : 'channelsFirst',
  );
  const g: ConvGeometry = {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
  const cout = info.outChannels;
  const dyH = channelsLast ? dy.shape[1] : dy.shape[2];
  const dyW = channelsLast ? dy.shape[2] : dy.shape[3];
  if (dyH !== g.outHeight || dyW !== g.outWidth || dy.shape[0] !== g.batch) {
    throw new Error(
      `cnnc Conv2DBackpropFilter: dy shape ${JSON.stringify(dy.shape)} does not match the ` +
        `forward output size ${g.batch}x${g.outHeight}x${g.outWidth}`,
    );
  }
  const k = g.filterHeight * g.filterWidth * g.inChannels;
  const n = g.batch * g.outHeight * g.outWidth;

  // NCHW (which wasm's forward Conv2D does not even run) goes through NHWC.
  const xh = channelsLast ? x : transpose(tf, backend, x, [0, 2, 3, 1]);
  const dyh = channelsLast ? dy : transpose(tf, backend, dy, [0, 2, 3, 1]);
  let dw: TensorInfo;
  const fg1 =
    g.inChannels === 1 && g.strideHeight === 1 && g.strideWidth === 1 && cout % 4 === 0
      ? filterGrad1For(wasmMemoryOf(backend), g.filterHeight, g.filterWidth, g.outWidth + g.filterWidth - 1)
      : null;
  const direct = fg1 == null ? filterGradNhwcFor(wasmMemoryOf(backend), { ...g, outChannels: cout }) : null;
  if (fg1 != null) {
    dw = filterGradSingleChannel(backend, fg1, xh, dyh, g, cout, attrs.filterShape);
  } else if (4 * k > 3 * cout && direct != null) {
    dw = filterGradDirect(backend, direct, xh, dyh, g, cout, attrs.filterShape, patchChunk(g));
  } else if (4 * k > 3 * cout) {
    // dw [K, cout] = Pᵀ [K, N] · dy [N, cout]
    // [b, h, w, cin] -> [cin, b·h·w]
    const xT = transposeMatrix(tf, backend, xh, g.batch * g.inHeight * g.inWidth, g.inChannels);
    if (isSame1(g)) {
      dw = chunkedPatchProduct(tf, backend, xT, dyh, g, cout, attrs.filterShape);
      release(backend, xT);
      if (xh !== x) release(backend, xh);
      if (dyh !== dy) release(backend, dyh);
      return dw;
    }
    const patchesT = backend.makeOutput([1, k, n], 'float32');
    gatherPatchesT(f32(backend, xT), f32(backend, patchesT), g);
    release(backend, xT);
    const dy3 = reshape(tf, backend, dyh, [1, n, cout]);
    const prod = matMul(tf, backend, patchesT, dy3);
    release(backend, patchesT, dy3);
    dw = reshape(tf, backend, prod, attrs.filterShape);
    release(backend, prod);
  } else {
    // dwᵀ [cout, K] = dyᵀ [cout, N] · P [N, K]; P is the forward convolution
    // of x with a one-hot [kh, kw, cin, K] filter (N·K² multiply-adds, cheap
    // for narrow patches, and exact).
    const picker = backend.makeOutput([g.filterHeight, g.filterWidth, g.inChannels, k], 'float32');
    const pick = f32(backend, picker);
    pick.fill(0);
    for (let i = 0; i < k; i++) pick[i * k + i] = 1;
    // The forward geometry: the caller's padding as given (NHWC), or as
    // explicit amounts (NCHW, whose explicit paddings are laid out NCHW).
    const pad = channelsLast
      ? attrs.pad
      : [[0, 0], [info.padInfo.top, info.padInfo.bottom], [info.padInfo.left, info.padInfo.right], [0, 0]];
    const patches4 = runKernel(tf, 'Conv2D', backend, { x: xh, filter: picker }, {
      strides: [g.strideHeight, g.strideWidth],
      pad,
      dataFormat: 'NHWC',
      dilations: [1, 1],
      ...(channelsLast && attrs.dimRoundingMode != null ? { dimRoundingMode: attrs.dimRoundingMode } : {}),
    } as unknown as NamedAttrMap);
    release(backend, picker);
    if (patches4.shape[1] !== g.outHeight || patches4.shape[2] !== g.outWidth) {
      release(backend, patches4);
      throw new Error('cnnc Conv2DBackpropFilter: patch geometry does not match dy');
    }
    const patches = reshape(tf, backend, patches4, [1, n, k]);
    release(backend, patches4);
    const dyT = transposeMatrix(tf, backend, dyh, n, cout);
    const dyT3 = reshape(tf, backend, dyT, [1, cout, n]);
    release(backend, dyT);
    const prod = matMul(tf, backend, dyT3, patches);
    release(backend, dyT3, patches);
    const prod2 = reshape(tf, backend, prod, [cout, k]);
    release(backend, prod);
    const dwT = transpose(tf, backend, prod2, [1, 0]);
    release(backend, prod2);
    dw = reshape(tf, backend, dwT, attrs.filterShape);
    release(backend, dwT);
  }
  if (xh !== x) release(backend, xh);
  if (dyh !== dy) release(backend, dyh);
  return dw;
}

export function registerConv2DBackpropFilter(tf: Tf): void {
  overrideKernel(tf, CONV2D_BACKPROP_FILTER, WASM, () => ({
    kernelName: CONV2D_BACKPROP_FILTER,
    backendName: WASM,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
      if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
        throw new Error('cnnc Conv2DBackpropFilter: float32 tensors only');
      }
      return conv2DBackpropFilterWasm(
        tf,
        backend as WasmBackendLike,
        x,
        dy,
        attrs as unknown as Conv2DBackpropFilterAttrs,
      );
    },
  }));
}
