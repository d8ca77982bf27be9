/**
 * Sum over leading axes for the wasm backend (bias gradients).
 *
 * The stock wasm Sum only reduces innermost axes, so reducing [N, C] over N
 * (the gradient of a bias broadcast over a conv or dense output) first
 * transposes the whole tensor (~5 ms for 64x28x28x32). Here the tensor is
 * read as an image [1, N, 1, C] and averaged with one N x 1 window by the
 * wasm AvgPool kernel (XNNPACK, SIMD; ~0.3 ms), then scaled by N. Small
 * tensors and every other reduction go to the stock kernel.
 */
import { f32, release, runKernel, reshape, WASM, wrapWasmKernel, type TensorInfo, type Tf } from './util.js';

export const SUM = 'Sum';

/** Below this many elements the stock kernel's transpose costs nothing. */
const MIN_SIZE = 1 << 14;

/** If `axes` are exactly the leading `k` axes of a rank-`rank` tensor (0 < k < rank), returns k. */
export function leadingPrefix(axes: number[], rank: number): number {
  const sorted = [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
  if (sorted.length === 0 || sorted.length >= rank) return 0;
  for (let i = 0; i < sorted.length; i++) if (sorted[i] !== i) return 0;
  return sorted.length;
}

export function registerSum(tf: Tf): void {
  // The sum is computed as an average pool, so both must be there.
  if (tf.getKernel('AvgPool', WASM) == null) return;
  wrapWasmKernel(tf, SUM, ({ inputs, backend: be, attrs }) => {
    const x = inputs.x as TensorInfo;
    const axisAttr = (attrs ?? {}).axis as number | number[] | undefined;
    const keepDims = (attrs ?? {}).keepDims === true;
    const rank = x.shape.length;
    const axes = axisAttr == null ? [] : Array.isArray(axisAttr) ? axisAttr : [axisAttr];
    const size = x.shape.reduce((p, q) => p * q, 1);
    const k = x.dtype === 'float32' && size >= MIN_SIZE ? leadingPrefix(axes, rank) : 0;
    if (k === 0) return null;
    const rows = x.shape.slice(0, k).reduce((p, q) => p * q, 1);
    const kept = x.shape.slice(k);
    const cols = kept.reduce((p, q) => p * q, 1);
    const image = reshape(tf, be, x, [1, rows, 1, cols]);
    const mean = runKernel(tf, 'AvgPool', be, { x: image }, {
      filterSize: [rows, 1],
      strides: [rows, 1],
      pad: 'valid',
    });
    release(be, image);
    const values = f32(be, mean);
    for (let c = 0; c < cols; c++) values[c] *= rows;
    const outShape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...kept] : kept;
    const out = reshape(tf, be, mean, outShape);
    release(be, mean);
    return out;
  });
}
