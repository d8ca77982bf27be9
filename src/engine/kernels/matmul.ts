/**
 * BatchMatMul / _FusedMatMul for the wasm backend without the slow path.
 *
 * Unfused products with 8-aligned widths (every matmul of a dense layer's training step but
 * a 10-class output's) run on cnnc's SIMD gemm (matMulSimd), which reads the operands in
 * place: XNNPACK packs its right operand on every call (a fresh tensor each step) and the
 * paths below transpose operands, which cost more than the product. The gemm sums in
 * XNNPACK's order, so the results are the same bits. Everything else:
 *
 * The stock wasm kernels use XNNPACK only when neither operand is transposed
 * and both batch sizes are 1; anything else (every matmul in a dense layer's
 * gradient: dy·Wᵀ and xᵀ·dy) goes through a scalar blocked loop, ~10x slower.
 * These wrappers transpose the flagged operands explicitly (one cheap
 * Transpose kernel each) and fold a batched `a` against an unbatched `b` into
 * one tall matrix, then call the stock kernel on its XNNPACK path; when the
 * right operand dwarfs the rest they compute the transposed product so that
 * XNNPACK repacks the small operand instead.
 */
import { gemmFor, wasmMemoryOf } from './simd.js';
import {
  f32,
  release,
  reshape,
  runConfig,
  transpose,
  transposeMatrix,
  wrapWasmKernel,
  type KernelConfig,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
  type Tf,
  type WasmBackendLike,
} from './util.js';

export const BATCH_MAT_MUL = 'BatchMatMul';
export const FUSED_MAT_MUL = '_FusedMatMul';

function product(xs: number[]): number {
  let p = 1;
  for (const v of xs) p *= v;
  return p;
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/** Whether a fused operand broadcasts as one value per output column. */
function perColumn(t: TensorInfo | undefined, n: number): boolean {
  return t == null || (product(t.shape) === n && t.shape[t.shape.length - 1] === n);
}

/**
 * The product on the SIMD gemm of simd.ts (no packing, no transposes of large operands), or
 * null where it does not apply. gemm sums the inner dimension in order with one f32 multiply
 * and one f32 add per term, as XNNPACK does, so the bits are those of the paths below.
 * - b as stored ([k, n]) with n a multiple of 8: a as stored, [batch·m, k] or (transposed,
 *   batch 1) [k, m];
 * - b transposed ([n, k]), batch 1, m a multiple of 8: the transposed product cᵀ = b·aᵀ with
 *   aᵀ as [k, m] (a as stored when transposed, else a transposed copy — small in a dense
 *   layer's dy·Wᵀ), then cᵀ transposed.
 */
function matMulSimd(
  tf: Tf,
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  batchA: number,
  m: number,
  k: number,
  n: number,
): TensorInfo | null {
  const memory = wasmMemoryOf(backend);
  if (m * n * k === 0) return null;
  if (!transposeB && (!transposeA || batchA === 1)) {
    const fn = gemmFor(memory, k, n, transposeA);
    if (fn == null) return null;
    const rows = batchA * m;
    const out = backend.makeOutput([rows, n], 'float32');
    // Views after allocating: allocation may grow (and so replace) the heap.
    fn(f32(backend, a).byteOffset, f32(backend, b).byteOffset, f32(backend, out).byteOffset, rows);
    return out;
  }
  if (transposeB && batchA === 1) {
    const fn = gemmFor(memory, k, m, false);
    if (fn == null) return null;
    const aT = transposeA ? a : transposeMatrix(tf, backend, a, m, k);
    const outT = backend.makeOutput([n, m], 'float32');
    fn(f32(backend, b).byteOffset, f32(backend, aT).byteOffset, f32(backend, outT).byteOffset, n);
    if (aT !== a) release(backend, aT);
    const out = transposeMatrix(tf, backend, outT, n, m);
    release(backend, outT);
    return out;
  }
  return null;
}

function matMulViaXnn(
  tf: Tf,
  original: KernelConfig,
  backend: WasmBackendLike,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
  fused: boolean,
): TensorInfo | TensorInfo[] {
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  const transposeA = attrs.transposeA === true;
  const transposeB = attrs.transposeB === true;
  const batchA = product(a.shape.slice(0, -2));
  const batchB = product(b.shape.slice(0, -2));
  const cols = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const fusedOk = !fused || (perColumn(inputs.bias, cols) && perColumn(inputs.preluActivationWeights, cols));
  const eligible =
    a.dtype === 'float32' &&
    b.dtype === 'float32' &&
    a.shape.length >= 2 &&
    b.shape.length >= 2 &&
    batchB === 1 &&
    fusedOk &&
    (transposeA || transposeB || batchA > 1 || !fused);
  if (!eligible) return runConfig(original, backend, inputs, attrs);

  const m = transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
  const k = transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  const n = cols;
  const outShape = tf.broadcast_util
    .assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))
    .concat([m, n]);
  const plainAttrs = { ...attrs, transposeA: false, transposeB: false };

  if (!fused) {
    const out = matMulSimd(tf, backend, a, b, transposeA, transposeB, batchA, m, k, n);
    if (out != null) {
      const shaped = reshape(tf, backend, out, outShape);
      release(backend, out);
      return shaped;
    }
  }

  // XNNPACK packs the right operand on every call (it is a fresh tensor), at
  // roughly twice the cost of a transpose per element. For a product whose
  // right operand is much larger than its left and output (dy·Wᵀ in a dense
  // layer's gradient), compute the transposed product (bᵀ·aᵀ)ᵀ instead, so
  // the small operand is the packed one. Fused bias/activation need the
  // direct form.
  const T = 1.5;
  const P = 3.3;
  const direct = (transposeA ? m * k * T : 0) + (transposeB ? k * n * T : 0) + k * n * P;
  const swapped = (transposeB ? 0 : k * n * T) + (transposeA ? 0 : m * k * T) + m * k * P + m * n * T;
  if (!fused && batchA === 1 && swapped < direct) {
    // left = bᵀ as stored [n, k]; right = aᵀ as stored [k, m]
    const left = transposeB ? b : transposeMatrix(tf, backend, b, k, n);
    const right = transposeA ? a : transposeMatrix(tf, backend, a, m, k);
    const left3 = reshape(tf, backend, left, [1, n, k]);
    const right3 = reshape(tf, backend, right, [1, k, m]);
    const outT = runConfig(original, backend, { a: left3, b: right3 }, plainAttrs) as TensorInfo;
    release(backend, left3, right3);
    if (left !== b) release(backend, left);
    if (right !== a) release(backend, right);
    const out = transposeMatrix(tf, backend, outT, n, m);
    release(backend, outT);
    const shaped = reshape(tf, backend, out, outShape);
    release(backend, out);
    return shaped;
  }

  // Stored shapes: a [.., k, m] if transposeA, b [n, k] if transposeB.
  const a2 = !transposeA
    ? a
    : batchA === 1
      ? transposeMatrix(tf, backend, a, k, m)
      : transpose(tf, backend, a, swapLastTwo(a.shape.length));
  const b2 = transposeB ? transposeMatrix(tf, backend, b, n, k) : b;
  const a3 = reshape(tf, backend, a2, [1, batchA * m, k]);
  const b3 = reshape(tf, backend, b2, [1, k, n]);
  const out = runConfig(original, backend, { ...inputs, a: a3, b: b3 }, plainAttrs) as TensorInfo;
  release(backend, a3, b3);
  if (a2 !== a) release(backend, a2);
  if (b2 !== b) release(backend, b2);
  const shaped = reshape(tf, backend, out, outShape);
  release(backend, out);
  return shaped;
}

function register(tf: Tf, name: string, fused: boolean): void {
  wrapWasmKernel(tf, name, ({ inputs, backend, attrs, original }) => matMulViaXnn(tf, original, backend, inputs, attrs ?? {}, fused));
}

export function registerMatMul(tf: Tf): void {
  register(tf, BATCH_MAT_MUL, false);
  register(tf, FUSED_MAT_MUL, true);
}
