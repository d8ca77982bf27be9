/**
 * Shared plumbing for cnnc's engine kernels.
 *
 * Every function takes the tfjs namespace as an argument (`tf`) so that the
 * whole program shares one tfjs instance; nothing here imports tfjs at run
 * time.
 *
 * Kernel registry facts this module relies on (tfjs-core 4.x):
 * - kernels are keyed by (kernelName, backendName); registering an existing
 *   key logs a warning and replaces it, so overrides first unregister;
 * - gradients are keyed by kernelName only (global across backends);
 * - a kernel's `setupFunc` runs once when its backend initialises, so a
 *   replacement config must carry the replaced config's setupFunc, or the
 *   replaced kernel (which we still call) would never be set up when we
 *   register before `tf.setBackend('wasm')`.
 */
import type * as TfNamespace from '@tensorflow/tfjs';

export type Tf = typeof TfNamespace;
export type TensorInfo = TfNamespace.TensorInfo;
export type KernelConfig = TfNamespace.KernelConfig;
export type NamedAttrMap = TfNamespace.NamedAttrMap;
export type NamedTensorInfoMap = TfNamespace.NamedTensorInfoMap;

/** Where a sliding window (convolution or pooling) falls on an NHWC input; channels are the caller's. */
export interface WindowGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/** Along one axis of a sliding window: the outputs o (of n) whose input o·s + t - p lies in [0, size), as [lo, hi). */
export function tapRange(t: number, size: number, n: number, s: number, p: number): [number, number] {
  const lo = Math.min(n, Math.max(0, Math.ceil((p - t) / s)));
  const hi = Math.max(lo, Math.min(n, Math.floor((size - 1 + p - t) / s) + 1));
  return [lo, hi];
}

/** The parts of the wasm backend (`BackendWasm`) the kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: TfNamespace.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

export const WASM = 'wasm';

interface EngineKernelState {
  /** Kernel configs cnnc registered (so re-registration is a no-op). */
  ours: WeakSet<KernelConfig>;
  /** The configs cnnc's kernels replaced, keyed `${backend}_${kernel}`. */
  replaced: Map<string, KernelConfig | null>;
}

const STATE_KEY = Symbol.for('cnnc.engine.kernels.state');

/** Process-wide state (shared even if this module is loaded twice). */
export function engineKernelState(): EngineKernelState {
  const g = globalThis as unknown as Record<symbol, EngineKernelState | undefined>;
  let s = g[STATE_KEY];
  if (s == null) {
    s = { ours: new WeakSet(), replaced: new Map() };
    g[STATE_KEY] = s;
  }
  return s;
}

/**
 * Registers `make(original)` for (kernelName, backendName), replacing any
 * registered kernel. `original` is the config that was registered before cnnc
 * touched the key (null if none). Idempotent: if the registered config is
 * already cnnc's, nothing happens.
 */
export function overrideKernel(
  tf: Tf,
  kernelName: string,
  backendName: string,
  make: (original: KernelConfig | null) => KernelConfig,
): void {
  const state = engineKernelState();
  const key = `${backendName}_${kernelName}`;
  const current = tf.getKernel(kernelName, backendName) ?? null;
  if (current != null && state.ours.has(current)) return;
  if (!state.replaced.has(key)) state.replaced.set(key, current);
  const original = state.replaced.get(key) ?? null;
  const made = make(original);
  const config: KernelConfig = {
    ...made,
    kernelName,
    backendName,
    // Keep the replaced kernel's setup/dispose hooks: cnnc's kernels call the
    // replaced kernel (or its siblings), which need their setup to have run.
    setupFunc: made.setupFunc ?? original?.setupFunc,
    disposeFunc: made.disposeFunc ?? original?.disposeFunc,
  };
  if (current != null) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel(config);
  state.ours.add(config);
}

/** Puts back what `overrideKernel` replaced (or removes a new kernel). */
export function restoreKernel(tf: Tf, kernelName: string, backendName: string): void {
  const state = engineKernelState();
  const key = `${backendName}_${kernelName}`;
  if (!state.replaced.has(key)) return;
  const original = state.replaced.get(key) ?? null;
  const current = tf.getKernel(kernelName, backendName);
  if (current != null && state.ours.has(current)) {
    tf.unregisterKernel(kernelName, backendName);
    if (original != null) tf.registerKernel(original);
  }
  state.replaced.delete(key);
}

/** Calls the kernel registered for (name, backend) with the given args. */
export function runKernel(
  tf: Tf,
  name: string,
  backend: WasmBackendLike,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
  backendName: string = WASM,
): TensorInfo {
  const config = tf.getKernel(name, backendName);
  if (config == null) {
    throw new Error(`cnnc engine: kernel '${name}' is not registered for backend '${backendName}'`);
  }
  const out = config.kernelFunc({ inputs, backend: backend as object, attrs });
  if (Array.isArray(out)) {
    throw new Error(`cnnc engine: kernel '${name}' returned several outputs`);
  }
  return out;
}

/** Calls a replaced (original) kernel config directly. */
export function runConfig(
  config: KernelConfig,
  backend: WasmBackendLike,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap | undefined,
): TensorInfo | TensorInfo[] {
  return config.kernelFunc({ inputs, backend: backend as object, attrs });
}

/** What a wrapping kernel is called with: tfjs' arguments, plus the kernel it replaced. */
export interface WrappedCall {
  inputs: NamedTensorInfoMap;
  backend: WasmBackendLike;
  attrs: NamedAttrMap | undefined;
  original: KernelConfig;
}

/**
 * Replaces tfjs' wasm kernel `name` with `run`, which computes the cases it is made for and
 * returns null for the rest, which the replaced kernel then computes. Nothing happens when the
 * wasm backend is not loaded.
 */
export function wrapWasmKernel(tf: Tf, name: string, run: (call: WrappedCall) => TensorInfo | TensorInfo[] | null): void {
  if (tf.getKernel(name, WASM) == null) return;
  overrideKernel(tf, name, WASM, (original) => {
    if (original == null) throw new Error(`cnnc engine: no wasm ${name} kernel to wrap`);
    return {
      kernelName: name,
      backendName: WASM,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const be = backend as WasmBackendLike;
        return run({ inputs, backend: be, attrs, original }) ?? runConfig(original, be, inputs, attrs);
      },
    };
  });
}

/** Releases intermediate kernel outputs. */
export function release(backend: WasmBackendLike, ...infos: Array<TensorInfo | null | undefined>): void {
  for (const info of infos) if (info != null) backend.disposeData(info.dataId);
}

export function transpose(tf: Tf, backend: WasmBackendLike, x: TensorInfo, perm: number[]): TensorInfo {
  return runKernel(tf, 'Transpose', backend, { x }, { perm });
}

export function reshape(tf: Tf, backend: WasmBackendLike, x: TensorInfo, shape: number[]): TensorInfo {
  return runKernel(tf, 'Reshape', backend, { x }, { shape });
}

export function f32(backend: WasmBackendLike, info: TensorInfo): Float32Array {
  const a = backend.typedArrayFromHeap(info);
  if (!(a instanceof Float32Array)) {
    throw new Error(`cnnc engine: expected a float32 tensor, got ${info.dtype}`);
  }
  return a;
}

/**
 * Copies a rank-4 tensor [n, h, w, c] into a new [n, h + top + bottom,
 * w + left + right, c] tensor, padding with zeros where an amount is positive
 * and cropping where it is negative. Optionally inserts `strideH - 1` zero
 * rows (and `strideW - 1` zero columns) between input rows (columns) first,
 * the zero-insertion of a transposed convolution: the input is then read as
 * having (h - 1) * strideH + 1 rows.
 */
export function padCropDilate4d(
  backend: WasmBackendLike,
  x: TensorInfo,
  top: number,
  bottom: number,
  left: number,
  right: number,
  strideH = 1,
  strideW = 1,
): TensorInfo {
  const [n, h, w, c] = x.shape;
  const hd = (h - 1) * strideH + 1;
  const wd = (w - 1) * strideW + 1;
  const oh = hd + top + bottom;
  const ow = wd + left + right;
  if (oh <= 0 || ow <= 0) throw new Error('cnnc engine: padCropDilate4d would produce an empty tensor');
  const out = backend.makeOutput([n, oh, ow, c], 'float32');
  // Views after allocating: allocation may grow (and so replace) the heap.
  const src = f32(backend, x);
  const dst = f32(backend, out);
  const rowIn = w * c;
  const rowOut = ow * c;
  // Every output element is written unless something is padded or inserted: zero the whole
  // output when zeros are inserted, else only the padding (rows above and below, and the
  // columns left and right of each copied row).
  if (strideH > 1 || strideW > 1) {
    dst.fill(0);
  } else if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    const lo = Math.max(0, left) * c;
    const hi = Math.max(0, right) * c;
    for (let b = 0; b < n; b++) {
      const image = b * oh * rowOut;
      const firstRow = Math.max(0, top);
      const endRow = Math.min(oh, top + h);
      if (firstRow > 0) dst.fill(0, image, image + firstRow * rowOut);
      if (endRow < oh) dst.fill(0, image + endRow * rowOut, image + oh * rowOut);
      if (lo > 0 || hi > 0) {
        for (let r = firstRow; r < endRow; r++) {
          const row = image + r * rowOut;
          if (lo > 0) dst.fill(0, row, row + lo);
          if (hi > 0) dst.fill(0, row + rowOut - hi, row + rowOut);
        }
      }
    }
  }
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      const oi = i * strideH + top;
      if (oi < 0 || oi >= oh) continue;
      const srcRow = (b * h + i) * rowIn;
      const dstRow = (b * oh + oi) * rowOut;
      if (strideW === 1) {
        // Contiguous span of columns that survive the crop.
        const j0 = Math.max(0, -left);
        const j1 = Math.min(w, ow - left);
        if (j1 > j0) {
          dst.set(src.subarray(srcRow + j0 * c, srcRow + j1 * c), dstRow + (j0 + left) * c);
        }
      } else {
        for (let j = 0; j < w; j++) {
          const oj = j * strideW + left;
          if (oj < 0 || oj >= ow) continue;
          const s = srcRow + j * c;
          if (c === 1) dst[dstRow + oj] = src[s];
          else dst.set(src.subarray(s, s + c), dstRow + oj * c);
        }
      }
    }
  }
  return out;
}

/**
 * Transposes a matrix [rows, cols] to [cols, rows] on the wasm backend.
 *
 * The stock Transpose kernel is ~4x slower on tall, narrow matrices (e.g.
 * [50176, 32]) than on cache-sized blocks, so a tall matrix is cut into
 * [p, q, cols] blocks of ~64K elements, each transposed to [p, cols, q], and
 * the blocks are then interleaved ([cols, p, q]), which moves q-long runs.
 */
export function transposeMatrix(tf: Tf, backend: WasmBackendLike, x: TensorInfo, rows: number, cols: number): TensorInfo {
  const BLOCK = 1 << 16;
  let q = 0;
  if (rows * cols > 4 * BLOCK && cols <= 256) {
    const limit = Math.max(1, Math.floor(BLOCK / cols));
    for (let d = Math.min(rows, limit); d >= 16; d--) {
      if (rows % d === 0) {
        q = d;
        break;
      }
    }
  }
  if (q === 0 || q === rows) {
    const x2 = reshape(tf, backend, x, [rows, cols]);
    const out = transpose(tf, backend, x2, [1, 0]);
    release(backend, x2);
    return out;
  }
  const p = rows / q;
  const x3 = reshape(tf, backend, x, [p, q, cols]);
  const blocks = transpose(tf, backend, x3, [0, 2, 1]);
  release(backend, x3);
  const interleaved = transpose(tf, backend, blocks, [1, 0, 2]);
  release(backend, blocks);
  const out = reshape(tf, backend, interleaved, [cols, rows]);
  release(backend, interleaved);
  return out;
}
