/**
 * Backend choice. `auto` prefers the native `tensorflow` backend when @tensorflow/tfjs-node
 * loads (it is an optional dependency whose install script downloads libtensorflow, which often
 * fails), and otherwise the embedded engine: tfjs' wasm backend plus the kernels cnnc registers.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';

import type { BackendName } from './backend-names.js';

export type { BackendName };

export interface BackendInfo {
  name: 'tensorflow' | 'wasm' | 'cpu';
  /** tfjs version, plus what the backend runs on (libtensorflow, SIMD, threads). */
  version: string;
  detail: string;
}

export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

const require = createRequire(import.meta.url);

async function loadNative(): Promise<string | null> {
  try {
    // A variable specifier: the optional package may be absent, so TypeScript must not resolve it.
    const native = '@tensorflow/tfjs-node';
    await import(native);
    return null;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return /Cannot find (module|package)/.test(msg)
      ? '@tensorflow/tfjs-node is not installed (it is optional; its install downloads libtensorflow)'
      : `@tensorflow/tfjs-node did not load: ${msg}`;
  }
}

async function useWasm(): Promise<void> {
  const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
  // Point the loader at the package's own .wasm files: nothing is fetched from a network.
  const dir = require.resolve('@tensorflow/tfjs-backend-wasm/package.json').replace(/package\.json$/, 'dist/');
  setWasmPaths(dir);
  const { registerEngineKernels } = await import('./kernels/index.js');
  registerEngineKernels(tf);
}

/** Selects and initialises a backend; throws BackendError naming why one cannot load. */
export async function selectBackend(requested: BackendName): Promise<BackendInfo> {
  // Production mode skips per-op debug checks and silences tfjs' "install tfjs-node" banner.
  tf.enableProdMode();
  let name: BackendInfo['name'];
  if (requested === 'auto' || requested === 'tensorflow') {
    const why = await loadNative();
    if (why === null) name = 'tensorflow';
    else if (requested === 'tensorflow') throw new BackendError(`backend 'tensorflow' is unavailable: ${why}; use --backend wasm`);
    else name = 'wasm';
  } else {
    name = requested;
  }
  if (name === 'wasm') await useWasm();
  if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  const ok = await tf.setBackend(name);
  if (!ok) throw new BackendError(`backend '${name}' failed to initialise`);
  await tf.ready();
  return { name, version: tf.version.tfjs, detail: await describe(name) };
}

async function describe(name: BackendInfo['name']): Promise<string> {
  if (name === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return `tfjs-backend-wasm ${tf.version.tfjs} (XNNPACK${simd ? ', SIMD' : ''}) + cnnc kernels`;
  }
  if (name === 'tensorflow') return `tfjs-node ${tf.version.tfjs} (libtensorflow)`;
  return `tfjs-backend-cpu ${tf.version.tfjs} (reference, slow)`;
}
