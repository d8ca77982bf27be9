/**
 * Optimizers over plain Float32Arrays, with Keras' update rules. cnnc applies updates itself
 * rather than through tf.train.*: the same arithmetic then runs on every backend and for any
 * number of gradient workers, which is what makes runs reproducible bit for bit, and frozen
 * weights are simply never touched. The state is plain data, so a checkpoint can hold it.
 */
import type { OptimizerSpec } from '../experiment.js';
import { adamKernel, sharedAdamKernel, type AdamKernels } from './kernels/simd.js';

export interface OptimizerState {
  /** Updates applied so far. */
  step: number;
  /** Per slot (Adam: m, v; RMSprop: mean square, momentum; SGD: velocity), one array per weight. */
  slots: Float32Array[][];
}

export interface StepReport {
  /** True when the update found every weight it wrote finite; absent when it did not look. */
  finite?: boolean;
}

/**
 * Every weight laid out flat in one shared WebAssembly.Memory: weight i at float offset
 * offsets[i] (a multiple of 4) of each block. Blocks are float indices into the memory.
 */
export interface SharedBlocks {
  memory: WebAssembly.Memory;
  offsets: readonly number[];
  /** Weights, summed gradients, Adam's first and second moments. */
  w: number;
  g: number;
  m: number;
  v: number;
  /** Byte address (8-aligned) of a step's six float64 constants (adamConstants). */
  consts: number;
  /** Byte address of 16 bytes where the attached optimizer's own step() keeps its probe. */
  probe: number;
}

export interface Optimizer {
  readonly state: OptimizerState;
  /** Applies one update to `weights[i]` from `grads[i]` for every i in `which`. */
  step(weights: Float32Array[], grads: Float32Array[], which: readonly number[]): StepReport;
  /**
   * Adam on WebAssembly SIMD only: moves the moments into `blocks` (the state's slots become
   * views of them), so that every thread sharing that memory can update a range of the weights
   * with the same kernel (adamRange); step() then works there too. `advance` counts a step
   * and writes its constants at blocks.consts; `detach` moves the moments back.
   */
  attach?(blocks: SharedBlocks): void;
  advance?(): void;
  detach?(): void;
}

/**
 * One thread's share of an attached Adam step: the weights [from, to) of the flat layout
 * (float indices relative to a block, multiples of 4), updated in place in `blocks` from the
 * gradients there — plus, given `second` (the float index of another gradient block), the
 * float32 sum of both, as if added first — with the constants at blocks.consts. Exactly the
 * arithmetic of Optimizer.step, element by element. Returns false if a weight it wrote is not
 * finite. `heap` is a Float32Array over the whole memory.
 */
export function adamRange(k: AdamKernels, blocks: SharedBlocks, heap: Float32Array, probe: number, from: number, to: number, second?: number): boolean {
  if (to <= from) return true;
  const { w, g, m, v } = blocks;
  if (second == null) k.adam((w + from) * 4, (g + from) * 4, (m + from) * 4, (v + from) * 4, (to - from) * 4, blocks.consts, probe);
  else k.adamSum((w + from) * 4, (g + from) * 4, (second + from) * 4, (m + from) * 4, (v + from) * 4, (to - from) * 4, blocks.consts, probe);
  const p = probe >> 2;
  return heap[p] + heap[p + 1] + heap[p + 2] + heap[p + 3] === 0;
}

/** The Adam kernels for a thread sharing `blocks.memory`, or null where WebAssembly SIMD is unavailable. */
export function adamKernelFor(blocks: SharedBlocks): AdamKernels | null {
  return sharedAdamKernel(blocks.memory);
}

const SLOTS: Record<OptimizerSpec['name'], number> = { sgd: 1, adam: 2, rmsprop: 2 };

export function createOptimizer(spec: OptimizerSpec, sizes: readonly number[], state?: OptimizerState): Optimizer {
  const s: OptimizerState = state ?? {
    step: 0,
    slots: Array.from({ length: SLOTS[spec.name] }, () => sizes.map((n) => new Float32Array(n))),
  };
  if (spec.name === 'adam') {
    const simd = adamSimd(spec, s);
    if (simd != null) {
      return {
        state: s,
        step(weights, grads, which) {
          s.step++;
          return simd.update(weights, grads, which);
        },
        attach: simd.attach,
        advance() {
          s.step++;
          simd.writeConstants();
        },
        detach: simd.detach,
      };
    }
  }
  const update = RULES[spec.name](spec as never, s);
  return {
    state: s,
    step(weights, grads, which) {
      s.step++;
      update(weights, grads, which);
      return {};
    },
  };
}

type Update = (weights: Float32Array[], grads: Float32Array[], which: readonly number[]) => void;

/** Keras' Adam constants for update number `step`: lrT (bias correction folded into the step size), b1, 1 - b1, b2, 1 - b2, eps. */
export function adamConstants({ learningRate: lr, beta1: b1, beta2: b2, epsilon: eps }: AdamSpec, step: number): number[] {
  return [(lr * Math.sqrt(1 - b2 ** step)) / (1 - b1 ** step), b1, 1 - b1, b2, 1 - b2, eps];
}

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

  adam: (spec, s) => adamJs(spec, s),

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

function adamJs(spec: AdamSpec, s: OptimizerState): Update {
  return (weights, grads, which) => {
    // Keras' form: bias correction folded into the step size, epsilon added after the sqrt.
    const [lrT, b1, , b2, , eps] = adamConstants(spec, s.step);
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
 * in the kernel's memory (the state's slot arrays become views of it) — its own, or once
 * attached a shared one where other threads update ranges too; weights and gradients are
 * copied in and the weights back out. The kernel also probes the new weights for non-finite
 * values. Null where WebAssembly SIMD is unavailable.
 */
function adamSimd(spec: AdamSpec, s: OptimizerState): {
  update(weights: Float32Array[], grads: Float32Array[], which: readonly number[]): StepReport;
  writeConstants(): void;
  attach(blocks: SharedBlocks): void;
  detach(): void;
} | null {
  const sizes = s.slots[0].map((a) => a.length);
  // Own memory: 16 floats of header (constants at byte 0, probe at byte 48), then the W, G, M
  // and V blocks, each weight at a 4-aligned (16-byte) float offset.
  const HEADER = 16;
  const offsets: number[] = [];
  let total = 0;
  for (const n of sizes) {
    offsets.push(total);
    total += (n + 3) & ~3;
  }
  const k = adamKernel(Math.max(1, Math.ceil(((HEADER + 4 * total) * 4) / 65536)));
  if (k == null) return null;
  const own: SharedBlocks = { memory: k.memory, offsets, w: HEADER, g: HEADER + total, m: HEADER + 2 * total, v: HEADER + 3 * total, consts: 0, probe: 48 };
  const ownKernels: AdamKernels = { adam: k.fn, adamSum: () => { throw new Error('unused'); } };
  let at = own;
  let fn: AdamKernels = ownKernels;
  let heap = new Float32Array(k.memory.buffer);
  const move = (to: SharedBlocks, toFn: AdamKernels) => {
    const toHeap = new Float32Array(to.memory.buffer);
    sizes.forEach((n, i) => {
      for (let slot = 0; slot < 2; slot++) {
        const from = s.slots[slot][i];
        const start = (slot === 0 ? to.m : to.v) + to.offsets[i];
        // Views of the same memory may overlap (detach from the memory attached to): copy first.
        const values = from.buffer === toHeap.buffer ? Float32Array.from(from) : from;
        toHeap.set(values, start);
        s.slots[slot][i] = toHeap.subarray(start, start + n);
      }
    });
    at = to;
    fn = toFn;
    heap = toHeap;
  };
  move(own, ownKernels);
  const writeConstants = () => new Float64Array(heap.buffer, at.consts, 6).set(adamConstants(spec, s.step));
  return {
    update(weights, grads, which) {
      writeConstants();
      let finite = true;
      for (const i of which) {
        const n = sizes[i];
        const w = at.w + at.offsets[i], g = at.g + at.offsets[i];
        heap.set(weights[i], w);
        heap.set(grads[i], g);
        // The padding (up to 3 floats past n) is updated too, harmlessly; bytes must be a multiple of 8.
        finite = adamRange(fn, { ...at, w, g, m: at.m + at.offsets[i], v: at.v + at.offsets[i] }, heap, at.probe, 0, (n + 1) & ~1) && finite;
        weights[i].set(heap.subarray(w, w + n));
      }
      return { finite };
    },
    writeConstants,
    attach(blocks) {
      const shared = sharedAdamKernel(blocks.memory);
      if (shared == null) throw new Error('cnnc engine: no shared Adam kernel for this memory');
      move(blocks, shared);
    },
    detach() {
      if (at !== own) move(own, ownKernels);
    },
  };
}
