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
import { overrideKernel, runConfig, WASM, type TensorInfo, type Tf } from './util.js';

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
  if (tf.getKernel(IDENTITY, WASM) != null) {
    overrideKernel(tf, IDENTITY, WASM, (original) => ({
      kernelName: IDENTITY,
      backendName: WASM,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const x = inputs.x as TensorInfo;
        if (x.dtype === 'string' && original != null) return runConfig(original, backend as never, inputs, attrs);
        return share(backend as RefCounted, x);
      },
    }));
  }
  if (tf.getKernel(CAST, WASM) != null) {
    overrideKernel(tf, CAST, WASM, (original) => {
      if (original == null) throw new Error('cnnc engine: no wasm Cast kernel to wrap');
      return {
        kernelName: CAST,
        backendName: WASM,
        kernelFunc: ({ inputs, backend, attrs }) => {
          const x = inputs.x as TensorInfo;
          if (attrs?.dtype === x.dtype && x.dtype !== 'string') return share(backend as RefCounted, x);
          return runConfig(original, backend as never, inputs, attrs);
        },
      };
    });
  }
}
