/**
 * Copies one mini-batch out of the dataset into reusable Float32Arrays, so the training loop
 * allocates nothing per batch; the engine wraps `out` in a tensor.
 */

/** byte → byte/255, computed once: a table lookup beats a division per pixel. */
const SCALE = new Float32Array(256);
for (let i = 0; i < 256; i++) SCALE[i] = i / 255;

/**
 * Writes examples order[start .. start+size) of the selection into `out` (size × pixelsPerImage),
 * pixels scaled to [0, 1]. `indices` maps selection positions to split indices; `order` is the
 * epoch's permutation of positions, or null for the selection's own order (evaluation).
 * Returns the number of examples written (size clipped at the end of `order`).
 */
export function fillBatch(
  images: Uint8Array,
  pixelsPerImage: number,
  indices: Uint32Array,
  order: Uint32Array | null,
  start: number,
  size: number,
  out: Float32Array,
): number {
  const n = Math.max(0, Math.min(size, (order ?? indices).length - start));
  if (out.length < n * pixelsPerImage) throw new RangeError(`batch buffer holds ${out.length} floats, need ${n * pixelsPerImage}`);
  for (let b = 0; b < n; b++) {
    const pos = order ? order[start + b]! : start + b;
    const src = indices[pos]! * pixelsPerImage;
    const dst = b * pixelsPerImage;
    for (let p = 0; p < pixelsPerImage; p++) out[dst + p] = SCALE[images[src + p]!]!;
  }
  return n;
}

/** One-hot rows (size × numClasses) for the same examples as fillBatch. Returns the count written. */
export function oneHot(
  labels: Uint8Array,
  order: Uint32Array | null,
  start: number,
  size: number,
  numClasses: number,
  out: Float32Array,
): number {
  const n = Math.max(0, Math.min(size, (order ?? labels).length - start));
  if (out.length < n * numClasses) throw new RangeError(`label buffer holds ${out.length} floats, need ${n * numClasses}`);
  out.fill(0, 0, n * numClasses);
  for (let b = 0; b < n; b++) {
    const pos = order ? order[start + b]! : start + b;
    out[b * numClasses + labels[pos]!] = 1;
  }
  return n;
}

/** Class indices (for sparseCategoricalCrossentropy) for the same examples as fillBatch. */
export function sparseLabels(
  labels: Uint8Array,
  order: Uint32Array | null,
  start: number,
  size: number,
  out: Float32Array | Int32Array,
): number {
  const n = Math.max(0, Math.min(size, (order ?? labels).length - start));
  if (out.length < n) throw new RangeError(`label buffer holds ${out.length} values, need ${n}`);
  for (let b = 0; b < n; b++) out[b] = labels[order ? order[start + b]! : start + b]!;
  return n;
}
