import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerEngineKernels } from '../../src/engine/kernels/index.js';

export { tf };

/** Sets up cpu and wasm (with cnnc's kernels); leaves wasm active. */
export async function setupBackends(): Promise<void> {
  registerEngineKernels(tf);
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface Operand {
  values: Float32Array;
  shape: number[];
}

export function operand(shape: number[], seed: number, lo = -1, hi = 1): Operand {
  return { values: randomArray(size(shape), seed, lo, hi), shape };
}

/**
 * Runs `f` on `backend` with fresh tensors made from `ins`, returning f's
 * output and the gradients of Σ(f · dy) with respect to every input.
 */
export async function valueAndGradsOn(
  backend: 'cpu' | 'wasm',
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  ins: Operand[],
  dy?: Operand,
): Promise<{ value: Float32Array; grads: Float32Array[]; shape: number[] }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = ins.map((o) => tf.tensor(o.values, o.shape, 'float32'));
    const dyT = dy ? tf.tensor(dy.values, dy.shape, 'float32') : undefined;
    const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) => f(...args))(xs, dyT);
    return {
      value: value.dataSync() as Float32Array,
      grads: grads.map((g) => g.dataSync() as Float32Array),
      shape: value.shape,
    };
  });
}

/** max |a - b| divided by max |b| (the reference's magnitude; at least 1e-6). */
export function relDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let mag = 1e-6;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    mag = Math.max(mag, Math.abs(b[i]));
  }
  return diff / mag;
}

/** Compares f's value and input gradients on wasm against cpu. */
export async function compareWithCpu(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  ins: Operand[],
  dy?: Operand,
): Promise<{ value: number; grads: number[] }> {
  const ref = await valueAndGradsOn('cpu', f, ins, dy);
  const got = await valueAndGradsOn('wasm', f, ins, dy);
  if (ref.shape.join() !== got.shape.join()) throw new Error(`shape ${got.shape} vs ${ref.shape}`);
  return { value: relDiff(got.value, ref.value), grads: got.grads.map((g, i) => relDiff(g, ref.grads[i])) };
}

/** A convolution's padding as tfjs takes it: a mode, or explicit [[0,0],[top,bottom],[left,right],[0,0]]. */
export type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** One convolution to test a kernel on: input [batch, h, w, cin] and a kh×kw×cin×cout filter. */
export interface ConvCase {
  batch: number;
  hw: [number, number];
  cin: number;
  cout: number;
  kernel: [number, number];
  strides: [number, number];
  pad: Pad;
}
