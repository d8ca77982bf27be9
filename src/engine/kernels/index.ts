/**
 * cnnc's training kernels for the tfjs wasm backend.
 *
 * `registerEngineKernels(tf)` makes the wasm backend able to train conv nets,
 * and fast at it. It registers, for backend 'wasm' only (kernels are keyed by
 * (name, backend), so other backends are untouched; no gradient is changed,
 * since gradients are global across backends):
 * - Conv2DBackpropFilter (missing from the stock backend): for 4-aligned
 *   input and 8-aligned output channels a WebAssembly SIMD kernel straight
 *   from x and dy, else a matrix product of input patches and dy on XNNPACK
 *   (conv2d-backprop-filter.ts);
 * - Conv2DBackpropInput: a convolution of (zero-inserted) dy with the
 *   rotated filter (through Conv2D below), instead of the stock scalar loop;
 * - MaxPoolGrad: TensorFlow's routing (first maximum of each window), which
 *   the stock kernel gets wrong for ties and windows of values <= 0, and
 *   faster;
 * - BatchMatMul / _FusedMatMul: 8-aligned products on a SIMD gemm that reads
 *   the operands in place, others (transposed, batched-by-unbatched) on
 *   XNNPACK instead of the scalar loop;
 * - Sum: reductions over leading axes (bias gradients) without a transpose;
 * - Identity / same-dtype Cast: zero-copy (tfjs clones every tensor it saves
 *   for backprop);
 * - Multiply, Add (equal shapes, or a per-channel bias), Relu, Step: WebAssembly
 *   SIMD loops on the heap (elementwise.ts), for the bias/relu forward and the
 *   relu gradient over whole activations;
 * - Conv2D: with one input channel and stride 1 (a first layer) a SIMD loop
 *   instead of XNNPACK's convolution, which handles cin = 1 poorly; with
 *   8-aligned output channels a SIMD convolution ~20% faster than XNNPACK's
 *   (conv2d.ts).
 * The SIMD kernels that replace XNNPACK's products sum in XNNPACK's order
 * (one f32 multiply and one f32 add per term, in order), so they give its
 * bits: results do not change with them (test/engine/*-direct tests).
 * These cover what tfjs-layers runs in training: Conv2D and FusedConv2D
 * (whose custom gradient calls the Conv2DBackprop* ops), MaxPool, Relu (its
 * gradient is Step·dy) and dense MatMul gradients.
 *
 * Idempotent; call it after importing '@tensorflow/tfjs-backend-wasm' (which
 * registers the stock kernels this replaces), before or after
 * `tf.setBackend('wasm')`. Does nothing if the wasm backend is not loaded.
 */
import { registerConv2DBackpropFilter, CONV2D_BACKPROP_FILTER } from './conv2d-backprop-filter.js';
import { registerConv2DBackpropInput, CONV2D_BACKPROP_INPUT } from './conv2d-backprop-input.js';
import { BATCH_MAT_MUL, FUSED_MAT_MUL, registerMatMul } from './matmul.js';
import { CAST, IDENTITY, registerIdentity } from './identity.js';
import { MAX_POOL_GRAD, registerMaxPoolGrad } from './max-pool-grad.js';
import { registerSum, SUM } from './sum.js';
import { ADD, MULTIPLY, RELU, STEP, registerElementwise } from './elementwise.js';
import { CONV2D, registerConv2D } from './conv2d.js';
import { restoreKernel, WASM, type Tf } from './util.js';

export type { Tf } from './util.js';

export function registerEngineKernels(tf: Tf): void {
  // The stock wasm kernels must be registered first, or importing the wasm
  // backend later would replace some of these.
  if (tf.getKernel('Conv2D', WASM) == null) return;
  registerConv2DBackpropFilter(tf);
  registerConv2DBackpropInput(tf);
  registerMaxPoolGrad(tf);
  registerMatMul(tf);
  registerSum(tf);
  registerIdentity(tf);
  registerElementwise(tf);
  registerConv2D(tf);
}

/** Undoes `registerEngineKernels` (puts the stock wasm kernels back). */
export function unregisterEngineKernels(tf: Tf): void {
  const names = [CONV2D_BACKPROP_FILTER, CONV2D_BACKPROP_INPUT, MAX_POOL_GRAD, BATCH_MAT_MUL, FUSED_MAT_MUL, SUM, IDENTITY, CAST, MULTIPLY, ADD, RELU, STEP, CONV2D];
  for (const name of names) {
    restoreKernel(tf, name, WASM);
  }
}
