/** The SIMD Adam (float64 lanes) must match the plain JS rule bit for bit. */
import { describe, expect, it } from 'vitest';
import { adamKernelFor, adamRange, createOptimizer, type SharedBlocks } from '../../src/engine/optimizers.js';

function reference(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, step: number, lr: number, b1: number, b2: number, eps: number) {
  const lrT = (lr * Math.sqrt(1 - b2 ** step)) / (1 - b1 ** step);
  for (let k = 0; k < w.length; k++) {
    const gk = g[k];
    const mk = b1 * m[k] + (1 - b1) * gk;
    const vk = b2 * v[k] + (1 - b2) * gk * gk;
    m[k] = mk;
    v[k] = vk;
    w[k] -= (lrT * mk) / (Math.sqrt(vk) + eps);
  }
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

type AdamSpec = { name: 'adam'; learningRate: number; beta1: number; beta2: number; epsilon: number };

/** Random weights, the optimizer under test, and a copy of everything the reference updates. */
function adamCase(spec: AdamSpec, sizes: number[], seed: number) {
  const r = rng(seed);
  const w = sizes.map((n) => Float32Array.from({ length: n }, () => r()));
  const ref = { w: w.map((a) => Float32Array.from(a)), m: sizes.map((n) => new Float32Array(n)), v: sizes.map((n) => new Float32Array(n)) };
  const refStep = (i: number, g: Float32Array, step: number) => reference(ref.w[i], g, ref.m[i], ref.v[i], step, spec.learningRate, spec.beta1, spec.beta2, spec.epsilon);
  return { r, w, ref, refStep, opt: createOptimizer(spec, sizes) };
}

function expectReference(c: ReturnType<typeof adamCase>) {
  c.w.forEach((wi, i) => {
    expect(Array.from(wi)).toEqual(Array.from(c.ref.w[i]));
    expect(Array.from(c.opt.state.slots[0][i])).toEqual(Array.from(c.ref.m[i]));
    expect(Array.from(c.opt.state.slots[1][i])).toEqual(Array.from(c.ref.v[i]));
  });
}

describe('adam', () => {
  it('matches the scalar rule bit for bit, odd sizes and a subset of weights included', () => {
    const sizes = [7, 1, 32, 301, 4, 1];
    const spec = { name: 'adam' as const, learningRate: 0.003, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    const c = adamCase(spec, sizes, 3);
    const { r, w, opt } = c;
    for (let step = 1; step <= 6; step++) {
      const which = step === 3 ? [0, 2, 5] : sizes.map((_, i) => i);
      const g = sizes.map((n) => Float32Array.from({ length: n }, () => r() * (step === 4 ? 1e-20 : 1)));
      opt.step(w, g, which);
      for (const i of which) c.refStep(i, g[i], step);
    }
    expect(opt.state.step).toBe(6);
    // The SIMD path keeps the moments in its own memory.
    expect(opt.state.slots[0][0].buffer.byteLength).toBeGreaterThanOrEqual(65536);
    expectReference(c);
  });

  it('resumes from a given state', () => {
    const spec = { name: 'adam' as const, learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    const m = Float32Array.from([0.1, -0.2, 0.3]);
    const v = Float32Array.from([0.01, 0.02, 0.03]);
    const opt = createOptimizer(spec, [3], { step: 5, slots: [[Float32Array.from(m)], [Float32Array.from(v)]] });
    const w = [Float32Array.from([1, 2, 3])];
    const g = [Float32Array.from([0.5, -0.5, 0.25])];
    const refW = Float32Array.from(w[0]);
    opt.step(w, g, [0]);
    reference(refW, g[0], m, v, 6, spec.learningRate, spec.beta1, spec.beta2, spec.epsilon);
    expect(Array.from(w[0])).toEqual(Array.from(refW));
    expect(Array.from(opt.state.slots[0][0])).toEqual(Array.from(m));
  });
});

describe('adam attached to shared memory', () => {
  const spec = { name: 'adam' as const, learningRate: 0.002, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
  const sizes = [7, 1, 32, 301, 4, 10];

  function layout(): { blocks: SharedBlocks; heap: Float32Array } {
    const offsets: number[] = [];
    let total = 0;
    for (const n of sizes) {
      offsets.push(total);
      total += (n + 3) & ~3;
    }
    const HEADER = 64;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const blocks: SharedBlocks = { memory, offsets, w: HEADER, g: HEADER + total, m: HEADER + 2 * total, v: HEADER + 3 * total, consts: 0, probe: 64 };
    return { blocks, heap: new Float32Array(memory.buffer) };
  }

  it('updates ranges from other threads with the bits of step(), then detaches', () => {
    const c = adamCase(spec, sizes, 9);
    const { r, w, opt } = c;
    const { blocks, heap } = layout();
    const g1 = sizes.map((n) => Float32Array.from({ length: n }, () => r()));
    // Step 1 on this thread's own memory, then attached.
    opt.step(w, g1, sizes.map((_, i) => i));
    sizes.forEach((_, i) => c.refStep(i, g1[i], 1));
    opt.attach!(blocks);
    expect(opt.state.slots[0][3].buffer).toBe(blocks.memory.buffer);
    const kernels = adamKernelFor(blocks)!;
    for (let step = 2; step <= 4; step++) {
      // Two gradient regions summed (the second inside the kernel), in two threads' ranges that cut a weight.
      const ga = sizes.map((n) => Float32Array.from({ length: n }, () => r()));
      const gb = sizes.map((n) => Float32Array.from({ length: n }, () => r()));
      const second = blocks.g + 4096;
      sizes.forEach((_, i) => {
        heap.set(w[i], blocks.w + blocks.offsets[i]);
        heap.set(ga[i], blocks.g + blocks.offsets[i]);
        heap.set(gb[i], second + blocks.offsets[i]);
      });
      opt.advance!();
      const end = blocks.offsets[sizes.length - 1] + 12;
      const cut = blocks.offsets[3] + 100;
      expect(adamRange(kernels, blocks, heap, blocks.probe, 0, cut, second)).toBe(true);
      expect(adamRange(kernels, blocks, heap, blocks.probe + 16, cut, end, second)).toBe(true);
      sizes.forEach((n, i) => {
        w[i].set(heap.subarray(blocks.w + blocks.offsets[i], blocks.w + blocks.offsets[i] + n));
        const g = ga[i].map((x, k) => Math.fround(x + gb[i][k]));
        c.refStep(i, g, step);
      });
    }
    opt.detach!();
    expect(opt.state.slots[0][3].buffer).not.toBe(blocks.memory.buffer);
    const g5 = sizes.map((n) => Float32Array.from({ length: n }, () => r()));
    expect(opt.step(w, g5, sizes.map((_, i) => i)).finite).toBe(true);
    sizes.forEach((_, i) => c.refStep(i, g5[i], 5));
    expect(opt.state.step).toBe(5);
    expectReference(c);
  });

  it('reports weights that stopped being finite', () => {
    const opt = createOptimizer(spec, [5, 3]);
    const w = [Float32Array.from([1, 2, 3, 4, 5]), Float32Array.from([1, 2, 3])];
    expect(opt.step(w, [new Float32Array(5), new Float32Array(3)], [0, 1]).finite).toBe(true);
    w[1][2] = Infinity;
    expect(opt.step(w, [new Float32Array(5), new Float32Array(3)], [0, 1]).finite).toBe(false);
    expect(opt.step(w, [new Float32Array(5), Float32Array.from([0, 0, 1])], [0]).finite).toBe(true);
  });
});
