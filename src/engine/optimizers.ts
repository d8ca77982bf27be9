/**
 * Optimizers over plain Float32Arrays, with Keras' update rules. cnnc applies updates itself
 * rather than through tf.train.*: the same arithmetic then runs on every backend and for any
 * number of gradient workers, which is what makes runs reproducible bit for bit, and frozen
 * weights are simply never touched. The state is plain data, so a checkpoint can hold it.
 */
import type { OptimizerSpec } from '../experiment.js';

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

  adam: ({ learningRate: lr, beta1: b1, beta2: b2, epsilon: eps }, s) => (weights, grads, which) => {
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
  },

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
