/**
 * Multiply, Add, Relu and Step for the wasm backend as WebAssembly SIMD loops (simd.ts).
 *
 * A conv layer's training step runs its bias add and relu forward, and relu's gradient
 * (dy · Step(x)) backward, over the whole activation; the stock kernels take ~1 ns per element
 * (the broadcasting add more), about a tenth of a first layer's step. These do 4 lanes per
 * instruction straight on the heap. Only float32 tensors of at least MIN_SIZE elements, a
 * multiple of 4, are handled: equal shapes for Multiply and Add, or Add of a per-channel
 * bias (rank 1, the other operand's last axis, a multiple of 4); everything else goes to the
 * stock kernel. Results are exact (one rounding per element, as the stock kernels), and NaN
 * stays NaN.
 */
import { elementwiseFor, wasmMemoryOf, type ElementwiseFns } from './simd.js';
import { f32, wrapWasmKernel, type TensorInfo, type Tf, type WasmBackendLike } from './util.js';

export const MULTIPLY = 'Multiply';
export const ADD = 'Add';
export const RELU = 'Relu';
export const STEP = 'Step';

const MIN_SIZE = 1 << 12;

function size(t: TensorInfo): number {
  let n = 1;
  for (const d of t.shape) n *= d;
  return n;
}

function sameShape(a: TensorInfo, b: TensorInfo): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

function eligible(...ts: TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32');
}

function fnsOf(backend: WasmBackendLike): ElementwiseFns | null {
  return elementwiseFor(wasmMemoryOf(backend));
}

function binary(tf: Tf, name: string, which: 'mul' | 'add'): void {
  wrapWasmKernel(tf, name, ({ inputs, backend: be }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const fns = eligible(a, b) ? fnsOf(be) : null;
    if (fns == null) return null;
    const n = size(a);
    if (sameShape(a, b) && n >= MIN_SIZE && n % 4 === 0) {
      const out = be.makeOutput(a.shape, 'float32');
      fns[which](f32(be, a).byteOffset, f32(be, b).byteOffset, f32(be, out).byteOffset, n * 4);
      return out;
    }
    if (which !== 'add') return null;
    // x + bias or bias + x, the bias along the last axis.
    const [x, bias] = b.shape.length === 1 && a.shape.length > 1 ? [a, b] : [b, a];
    const c = bias.shape[0];
    const nx = size(x);
    if (!(bias.shape.length === 1 && x.shape.length > 1 && x.shape[x.shape.length - 1] === c && c % 4 === 0 && nx >= MIN_SIZE)) return null;
    const out = be.makeOutput(x.shape, 'float32');
    fns.addBias(f32(be, x).byteOffset, f32(be, bias).byteOffset, f32(be, out).byteOffset, nx / c, c * 4);
    return out;
  });
}

function unary(tf: Tf, name: string, which: 'relu' | 'step'): void {
  wrapWasmKernel(tf, name, ({ inputs, backend: be, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const n = size(x);
    const alpha = (attrs as { alpha?: number } | undefined)?.alpha ?? 0;
    const fns = eligible(x) && n >= MIN_SIZE && n % 4 === 0 && alpha === 0 ? fnsOf(be) : null;
    if (fns == null) return null;
    const out = be.makeOutput(x.shape, 'float32');
    fns[which](f32(be, x).byteOffset, f32(be, out).byteOffset, n * 4);
    return out;
  });
}

export function registerElementwise(tf: Tf): void {
  binary(tf, MULTIPLY, 'mul');
  binary(tf, ADD, 'add');
  unary(tf, RELU, 'relu');
  unary(tf, STEP, 'step');
}
