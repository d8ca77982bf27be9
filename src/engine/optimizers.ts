/**
 * Optimizers over plain Float32Arrays, with Keras' update rules. cnnc applies updates itself
 * rather than through tf.train.*: the same arithmetic then runs on every backend and for any
 * number of gradient workers, which is what makes runs reproducible bit for bit, and frozen
 * weights are simply never touched. The state is plain data, so a checkpoint can hold it.
 */
import type { OptimizerSpec } from '../experiment.js';
import { adamKernel } from './kernels/simd.js';

export interface OptimizerState {
  /** Updates applied so far. */
  step: number;
  /** Per slot (Adam: m, v; RMSprop: mean square, momentum; SGD: velocity), one array per weight. */
  slots: Float32Array[][];
}

export interface Optimizer {
  readonly state: OptimizerState;
  /** Applies one update to `weights[i]` from `grads[i]` for every i in `which`. */
  step(weights: Float32Array[], grads: Float32Array[], which: readonly number[]): void;
}

const SLOTS: Record<OptimizerSpec['name'], number> = { sgd: 1, adam: 2, rmsprop: 2 };

export function createOptimizer(spec: OptimizerSpec, sizes: readonly number[], state?: OptimizerState): Optimizer {
  const s: OptimizerState = state ?? {
    step: 0,
    slots: Array.from({ length: SLOTS[spec.name] }, () => sizes.map((n) => new Float32Array(n))),
  };
  const update = RULES[spec.name](spec as never, s);
  return {
    state: s,
    step(weights, grads, which) {
      s.step++;
      update(weights, grads, which);
    },
  };
}

type Update = (weights: Float32Array[], grads: Float32Array[], which: readonly number[]) => void;

const RULES: { [K in OptimizerSpec['name']]: (spec: Extract<OptimizerSpec, { name: K }>, s: OptimizerState) => Update } = {
  sgd: ({ learningRate: lr, momentum: mu, nesterov }, s) => (weights, grads, which) => {
    for (const i of which) {
      const w = weights[i], g = grads[i], v = s.slots[0][i];
      for (let k = 0; k < w.length; k++) {
        const vk = mu * v[k] - lr * g[k];
        v[k] = vk;
        w[k] += nesterov ? mu * vk - lr * g[k] : vk;
      }
    }
  },

  adam: (spec, s) => adamSimd(spec, s) ?? adamJs(spec, s),

  rmsprop: ({ learningRate: lr, rho, momentum: mu, epsilon: eps }, s) => (weights, grads, which) => {
    for (const i of which) {
      const w = weights[i], g = grads[i], a = s.slots[0][i], b = s.slots[1][i];
      for (let k = 0; k < w.length; k++) {
        const gk = g[k];
        const ak = rho * a[k] + (1 - rho) * gk * gk;
        a[k] = ak;
        const delta = (lr * gk) / (Math.sqrt(ak) + eps);
        if (mu > 0) {
          b[k] = mu * b[k] + delta;
          w[k] -= b[k];
        } else {
          w[k] -= delta;
        }
      }
    }
  },
};

type AdamSpec = Extract<OptimizerSpec, { name: 'adam' }>;

function adamJs({ learningRate: lr, beta1: b1, beta2: b2, epsilon: eps }: AdamSpec, s: OptimizerState): Update {
  return (weights, grads, which) => {
    // Keras' form: bias correction folded into the step size, epsilon added after the sqrt.
    const lrT = (lr * Math.sqrt(1 - b2 ** s.step)) / (1 - b1 ** s.step);
    for (const i of which) {
      const w = weights[i], g = grads[i], m = s.slots[0][i], v = s.slots[1][i];
      for (let k = 0; k < w.length; k++) {
        const gk = g[k];
        const mk = b1 * m[k] + (1 - b1) * gk;
        const vk = b2 * v[k] + (1 - b2) * gk * gk;
        m[k] = mk;
        v[k] = vk;
        w[k] -= (lrT * mk) / (Math.sqrt(vk) + eps);
      }
    }
  };
}

/**
 * Adam as a WebAssembly SIMD loop (simd.ts) over float64 lanes with the same operations in
 * the same order as adamJs, so the results are bit-identical and ~4x faster. The moments live
 * in the kernel's memory (the state's slot arrays become views of it); weights and gradients
 * are copied in and the weights back out. Null where WebAssembly SIMD is unavailable.
 */
function adamSimd({ learningRate: lr, beta1: b1, beta2: b2, epsilon: eps }: AdamSpec, s: OptimizerState): Update | null {
  const sizes = s.slots[0].map((a) => a.length);
  // Float offsets of each weight's region in the W, G, M and V blocks, 4-aligned (16 bytes).
  const HEADER = 16;
  const offsets: number[] = [];
  let total = 0;
  for (const n of sizes) {
    offsets.push(total);
    total += (n + 3) & ~3;
  }
  const k = adamKernel(Math.max(1, Math.ceil(((HEADER + 4 * total) * 4) / 65536)));
  if (k == null) return null;
  const heap = new Float32Array(k.memory.buffer);
  const consts = new Float64Array(k.memory.buffer, 0, 6);
  const block = (b: number) => HEADER + b * total;
  sizes.forEach((n, i) => {
    for (let slot = 0; slot < 2; slot++) {
      const at = block(2 + slot) + offsets[i];
      heap.set(s.slots[slot][i], at);
      s.slots[slot][i] = heap.subarray(at, at + n);
    }
  });
  return (weights, grads, which) => {
    // Keras' form: bias correction folded into the step size, epsilon added after the sqrt.
    consts[0] = (lr * Math.sqrt(1 - b2 ** s.step)) / (1 - b1 ** s.step);
    consts[1] = b1;
    consts[2] = 1 - b1;
    consts[3] = b2;
    consts[4] = 1 - b2;
    consts[5] = eps;
    for (const i of which) {
      const n = sizes[i];
      const w = block(0) + offsets[i], g = block(1) + offsets[i];
      heap.set(weights[i], w);
      heap.set(grads[i], g);
      // The padding (up to 3 floats past n) is updated too, harmlessly; bytes must be a multiple of 8.
      k.fn(w * 4, g * 4, (block(2) + offsets[i]) * 4, (block(3) + offsets[i]) * 4, ((n + 1) & ~1) * 4);
      weights[i].set(heap.subarray(w, w + n));
    }
  };
}
