/**
 * Zero-copy Identity and same-dtype Cast for the wasm backend.
 *
 * tfjs clones every tensor it saves for a gradient (three per conv
 * activation in a training step) through the Identity kernel, and the relu
 * gradient casts float32 to float32; the stock wasm kernels copy the data
 * each time. Tensor data is immutable (variables swap data ids on assign), so
 * these kernels share the input's data and bump its reference count, as the
 * cpu backend and wasm's own Reshape do.
 */
import { wrapWasmKernel, type TensorInfo, type Tf } from './util.js';

export const IDENTITY = 'Identity';
export const CAST = 'Cast';

interface RefCounted {
  incRef(dataId: object): void;
}

function share(backend: RefCounted, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function registerIdentity(tf: Tf): void {
  wrapWasmKernel(tf, IDENTITY, ({ inputs, backend }) => {
    const x = inputs.x as TensorInfo;
    return x.dtype === 'string' ? null : share(backend as unknown as RefCounted, x);
  });
  wrapWasmKernel(tf, CAST, ({ inputs, backend, attrs }) => {
    const x = inputs.x as TensorInfo;
    return attrs?.dtype === x.dtype && x.dtype !== 'string' ? share(backend as unknown as RefCounted, x) : null;
  });
}
