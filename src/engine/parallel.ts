/**
 * Data-parallel gradients over worker threads (tfjs-wasm's own threads do not work under Node).
 * The calling thread computes the first share of every batch itself, each worker one more;
 * gradients are summed in worker order, so a given worker count is reproducible bit for bit.
 *
 * With Adam on WebAssembly SIMD (train()), the update is shared out too: once every thread's
 * gradients are in, each thread sums the gradients and applies Adam over its own part of the
 * flat weight range in shared memory (summing in worker order, with the optimizer's own kernel,
 * so the bits are those of one thread doing it all), then the workers load the new weights for
 * the next step while this thread copies them to the host and its replica. Only the waits
 * remain serial.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Experiment } from '../experiment.js';
import type { BackendName } from './backend.js';
import { type GradientSource, LocalGradients, type StepInput, type StepOutcome } from './gradients.js';
import type { GradientResult, Prediction, Replica } from './replica.js';
import type { InitMessage, PredictMessage, StepMessage, WorkerReply } from './worker.js';
import type { LossName } from '../experiment.js';
import { type HostBatch, sliceHost } from './batches.js';
import { sharedElementwise, type AdamKernels, type ElementwiseFns } from './kernels/simd.js';
import { adamKernelFor, adamRange, type Optimizer, type SharedBlocks } from './optimizers.js';

type Tf = typeof tfjs;

/** The compiled worker script; under vitest this module runs from src/, the worker from dist/. */
function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/engine/worker.js', import.meta.url);
}

/**
 * The shared memory's header: Int32 control words, then the Adam constants and one probe per
 * thread. Threads (0 = this one) number at most MAX_THREADS for train(); compute() has no limit.
 */
export const SHARED = {
  /** Int32 index: FINISH + k holds the step number once thread k has updated its part (-step: it failed). */
  FINISH: 0,
  /** Int32 index: the step number when the update goes ahead, minus it when the loss was not finite. */
  GO: 32,
  /** Int32 index: bumped whenever the weights change other than by a shared update. */
  VERSION: 33,
  /** Int32 index: FINITE + k is 1 when thread k's updated weights were all finite. */
  FINITE: 64,
  /** Byte address of the six float64 Adam constants. */
  CONSTS: 512,
  /** Byte address of thread k's 16-byte probe: PROBES + 16k. */
  PROBES: 576,
  /** Header size in floats. */
  HEADER: 256,
  MAX_THREADS: 24,
} as const;

/** Layout of the shared memory after the header (float indices), as sent to workers. */
export interface SharedLayout {
  /** Float offset of each weight within every block (multiples of 4). */
  offsets: number[];
  /** Floats per block (every weight, each padded to a multiple of 4). */
  total: number;
  /** Published weights, Adam's moments, then one gradient region per thread. */
  w: number;
  m: number;
  v: number;
  g: number;
}

/** Atomics.waitAsync (Node 16+; typed from ES2024 on). */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeout: number): { async: boolean; value: Promise<string> | string };
}).waitAsync.bind(Atomics);

/** One thread's part of a shared update: [from, to) float ranges relative to a block. */
export type Ranges = Array<[number, number]>;

/**
 * Applies the attached Adam step over `ranges` from the sum of the gradient regions — region 0
 * plus each of `regions`, in order, in float32 (the last addition inside the Adam kernel) —
 * and returns whether every new weight is finite.
 */
export function updateRanges(
  fns: ElementwiseFns,
  adam: AdamKernels,
  blocks: SharedBlocks,
  layout: SharedLayout,
  heap: Float32Array,
  ranges: Ranges,
  regions: readonly number[],
  probe: number,
): boolean {
  let finite = true;
  // All but the last region are added into region 0 first; the Adam kernel adds the last.
  const last = regions.length > 0 ? layout.g + regions[regions.length - 1] * layout.total : undefined;
  for (const [from, to] of ranges) {
    const bytes = (to - from) * 4;
    const at = (layout.g + from) * 4;
    for (const r of regions.slice(0, -1)) fns.add(at, at + r * layout.total * 4, at, bytes);
    finite = adamRange(adam, blocks, heap, probe, from, to, last) && finite;
  }
  return finite;
}

class WorkerHandle {
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | null = null;
  failure: Error | null = null;

  constructor(readonly worker: Worker) {
    worker.on('message', (r: WorkerReply) => {
      const p = this.pending;
      this.pending = null;
      if (!p) return;
      if (r.type === 'error') p.reject(new Error(`gradient worker: ${r.message}`));
      else p.resolve(r);
    });
    worker.on('error', (e) => {
      this.failure = e;
      this.pending?.reject(e);
      this.pending = null;
    });
    worker.on('exit', (code) => {
      this.failure ??= new Error(`gradient worker exited (code ${code})`);
      this.pending?.reject(this.failure);
      this.pending = null;
    });
  }

  request(m: InitMessage | StepMessage | PredictMessage, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(m, transfer);
    });
  }
}

/** Steps posted to the workers: what for, and their replies. */
interface Posted {
  input: StepInput;
  seq: number;
  parts: Ranges[];
  regions: number[];
  shares: number[];
  starts: number[];
  replies: Promise<WorkerReply>[];
}

function sameStep(a: StepInput, b: StepInput): boolean {
  return (
    a.batcher === b.batcher && a.order === b.order && a.start === b.start && a.size === b.size &&
    a.dropoutSeed === b.dropoutSeed && a.denom === b.denom && a.which.length === b.which.length && a.which.every((w, i) => w === b.which[i])
  );
}

/**
 * Everything threads share lives in one shared WebAssembly.Memory (SharedLayout): the weights
 * workers read, Adam's moments, and gradient region k for thread k, region 0 receiving the
 * sum. Each weight starts at a multiple of 4 floats, so the regions are summed with a SIMD
 * kernel (simd.ts) in place; f32 additions in worker order, the same values as a scalar loop.
 */
interface SharedMemory {
  memory: WebAssembly.Memory;
  heap: Float32Array;
  ctl: Int32Array;
  layout: SharedLayout;
  blocks: SharedBlocks;
  fns: ElementwiseFns | null;
}

export class ParallelGradients implements GradientSource {
  private readonly local: LocalGradients;
  private seq = 0;
  private attached: Optimizer | null = null;
  private adam: AdamKernels | null | undefined;
  /** Workers' shares of the next step of train(), posted during the update of the one before. */
  private early: Posted | null = null;

  private constructor(
    private readonly replica: Replica,
    local: LocalGradients,
    private readonly handles: WorkerHandle[],
    private readonly sm: SharedMemory,
  ) {
    this.local = local;
  }

  get workers(): number {
    return this.handles.length + 1;
  }

  static async start(tf: Tf, replica: Replica, experiment: Experiment, backend: BackendName, workers: number): Promise<ParallelGradients> {
    const offsets: number[] = [];
    let total = 0;
    for (const w of replica.weights) {
      offsets.push(total);
      total += (w.size + 3) & ~3;
    }
    const H = SHARED.HEADER;
    const layout: SharedLayout = { offsets, total, w: H, m: H + total, v: H + 2 * total, g: H + 3 * total };
    const pages = Math.max(1, Math.ceil(((layout.g + workers * total) * 4) / 65536));
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const heap = new Float32Array(memory.buffer);
    replica.weights.forEach((_, i) => heap.set(replica.read(i), layout.w + offsets[i]));
    const blocks: SharedBlocks = { memory, offsets, w: layout.w, g: layout.g, m: layout.m, v: layout.v, consts: SHARED.CONSTS, probe: SHARED.PROBES };
    const sm: SharedMemory = { memory, heap, ctl: new Int32Array(memory.buffer, 0, SHARED.HEADER), layout, blocks, fns: sharedElementwise(memory) };
    const handles: WorkerHandle[] = [];
    try {
      for (let k = 1; k < workers; k++) {
        const h = new WorkerHandle(new Worker(workerUrl()));
        handles.push(h);
        await h.request({ type: 'init', backend, experiment, memory, layout, index: k });
      }
    } catch (e) {
      await Promise.all(handles.map((h) => h.worker.terminate()));
      throw e;
    }
    return new ParallelGradients(replica, new LocalGradients(tf, replica), handles, sm);
  }

  /** Contiguous shares of `size` rows, the first ones one larger when it does not divide evenly. */
  private shares(size: number): { shares: number[]; starts: number[] } {
    const n = this.workers;
    const shares = Array.from({ length: n }, (_, k) => Math.floor(size / n) + (k < size % n ? 1 : 0));
    const starts = shares.map((_, k) => shares.slice(0, k).reduce((a, b) => a + b, 0));
    return { shares, starts };
  }

  /** Makes every weight of this thread's replica the one workers read. */
  private publish(): void {
    const { heap, layout, ctl } = this.sm;
    this.replica.weights.forEach((_, i) => heap.set(this.replica.read(i), layout.w + layout.offsets[i]));
    Atomics.add(ctl, SHARED.VERSION, 1);
  }

  async predict(batch: HostBatch, loss: LossName): Promise<Prediction> {
    await this.cancelEarly();
    // Workers read every weight from shared memory; batch norm's statistics live in this
    // thread's model, so publish everything first.
    this.publish();
    const { shares, starts } = this.shares(batch.size);
    const replies = this.handles.map((h, j) => {
      const k = j + 1;
      if (shares[k] === 0) return Promise.resolve(null);
      const part = sliceHost(batch, starts[k], starts[k] + shares[k]);
      return h.request({ type: 'predict', batch: part, loss }, [part.x.buffer as ArrayBuffer, part.y.buffer as ArrayBuffer, part.labels.buffer as ArrayBuffer]);
    });
    const mine = await this.local.predict(sliceHost(batch, 0, shares[0]), loss);
    const predicted = new Int32Array(batch.size);
    predicted.set(mine.predicted, 0);
    let { lossSum } = mine;
    (await Promise.all(replies)).forEach((r, j) => {
      if (r?.type !== 'predicted') return;
      lossSum += r.lossSum;
      predicted.set(r.predicted, starts[j + 1]);
    });
    return { lossSum, predicted };
  }

  /** Posts each worker its share of the batch (and of the update, for train()). */
  private post(s: StepInput, update: ((k: number) => StepMessage['update']) | null): { replies: Promise<WorkerReply>[]; shares: number[]; starts: number[] } {
    const { shares, starts: offsets } = this.shares(s.size);
    const starts = offsets.map((o) => s.start + o);
    const replies = this.handles.map((h, j) => {
      const k = j + 1;
      const u = update?.(k);
      if (shares[k] === 0 && u == null) return Promise.resolve({ type: 'done', lossSum: 0, correct: 0 } as WorkerReply);
      const batch = shares[k] > 0 ? s.batcher.host(s.order, starts[k], shares[k]) : null;
      const msg: StepMessage = { type: 'step', batch, loss: s.batcher.loss, denom: s.size, which: [...s.which], dropoutSeed: s.dropoutSeed + k * 104729, update: u };
      return h.request(msg, batch ? [batch.x.buffer as ArrayBuffer, batch.y.buffer as ArrayBuffer, batch.labels.buffer as ArrayBuffer] : []);
    });
    return { replies, shares, starts };
  }

  /** This thread's share, its gradients written straight into region 0. */
  private computeMine(s: StepInput, shares: number[], starts: number[]): { lossSum: number; correct: number } {
    const { heap, layout } = this.sm;
    const at = (k: number) => layout.g + layout.offsets[s.which[k]];
    return this.local.computeInto({ ...s, start: starts[0], size: shares[0], denom: s.size }, (k, g) => heap.set(g, at(k)));
  }

  async compute(s: StepInput): Promise<GradientResult> {
    await this.cancelEarly();
    const { replies, shares, starts } = this.post(s, null);
    const mine = this.computeMine(s, shares, starts);
    const { heap, layout, fns } = this.sm;
    const { total } = layout;
    let { lossSum, correct } = mine;
    const done = await Promise.all(replies);
    done.forEach((r, j) => {
      if (r.type !== 'done' || shares[j + 1] === 0) return;
      lossSum += r.lossSum;
      correct += r.correct;
      for (const wi of s.which) {
        const off = layout.g + layout.offsets[wi];
        const n = this.replica.weights[wi].size;
        const region = (j + 1) * total;
        if (fns != null) {
          fns.add(off * 4, (region + off) * 4, off * 4, ((n + 3) & ~3) * 4);
        } else {
          for (let q = off; q < off + n; q++) heap[q] += heap[region + q];
        }
      }
    });
    // Views of region 0: valid until the next compute (the trainer applies them at once).
    const grads = s.which.map((wi) => {
      const off = layout.g + layout.offsets[wi];
      return heap.subarray(off, off + this.replica.weights[wi].size);
    });
    return { lossSum, correct, grads };
  }

  /**
   * Each thread's part of the trained weights: the concatenated (padded) ranges of `which`,
   * cut into `threads` pieces at multiples of 4 floats.
   */
  private parts(which: readonly number[]): Ranges[] {
    const { offsets } = this.sm.layout;
    const segments = which.map((i): [number, number] => [offsets[i], offsets[i] + ((this.replica.weights[i].size + 3) & ~3)]);
    const total = segments.reduce((n, [a, b]) => n + b - a, 0);
    const n = this.workers;
    const cuts = Array.from({ length: n + 1 }, (_, k) => Math.round((k * total) / n / 4) * 4);
    return cuts.slice(0, n).map((lo, k) => {
      const hi = cuts[k + 1];
      const out: Ranges = [];
      let pos = 0;
      for (const [a, b] of segments) {
        const from = Math.max(lo, pos), to = Math.min(hi, pos + b - a);
        if (to > from) out.push([a + from - pos, a + to - pos]);
        pos += b - a;
      }
      return out;
    });
  }

  /** Posts the workers' shares of train() step `s` (their part of the update after the go-ahead). */
  private postTrain(s: StepInput): Posted {
    const seq = ++this.seq;
    const parts = this.parts(s.which);
    const { shares } = this.shares(s.size);
    // Regions summed into region 0: the workers that had a share of the batch, in order.
    const regions = shares.flatMap((n, k) => (k > 0 && n > 0 ? [k] : []));
    const { replies, starts } = this.post(s, (k) => ({ seq, threads: this.workers, ranges: parts[k], regions }));
    // Awaited later (or on cancelling); a failure must not go unhandled meanwhile.
    for (const r of replies) r.catch(() => {});
    return { input: s, seq, parts, regions, shares, starts, replies };
  }

  /** Tells workers to drop a step posted early (once they have computed it): nothing changes. */
  private async cancelEarly(): Promise<void> {
    const early = this.early;
    if (early == null) return;
    this.early = null;
    try {
      await Promise.all(early.replies);
    } finally {
      this.release(early.seq);
    }
  }

  private release(seq: number): void {
    Atomics.store(this.sm.ctl, SHARED.GO, -seq);
    Atomics.notify(this.sm.ctl, SHARED.GO);
  }

  async train(s: StepInput, optimizer: Optimizer, weights: Float32Array[], next?: StepInput): Promise<StepOutcome | null> {
    const { heap, ctl, layout, blocks, fns } = this.sm;
    if (fns == null || optimizer.attach == null || optimizer.advance == null || this.workers > SHARED.MAX_THREADS) return null;
    if (this.adam === undefined) this.adam = adamKernelFor(blocks);
    const adam = this.adam;
    if (adam == null) return null;
    if (this.attached !== optimizer) {
      await this.cancelEarly();
      this.attached?.detach?.();
      this.attached = null;
      optimizer.attach(blocks);
      this.attached = optimizer;
    }
    let posted = this.early;
    this.early = null;
    if (posted != null && !sameStep(posted.input, s)) {
      this.early = posted;
      await this.cancelEarly();
      posted = null;
    }
    let lossSum = 0;
    let correct = 0;
    let p: Posted | null = null;
    try {
      p = posted ?? this.postTrain(s);
      ({ lossSum, correct } = this.computeMine(s, p.shares, p.starts));
      const done = await Promise.all(p.replies);
      done.forEach((r, j) => {
        if (r.type !== 'done' || p!.shares[j + 1] === 0) return;
        lossSum += r.lossSum;
        correct += r.correct;
      });
    } catch (e) {
      // Workers waiting for the go-ahead must not wait forever.
      if (p != null) this.release(p.seq);
      throw e;
    }
    if (!Number.isFinite(lossSum)) {
      this.release(p.seq);
      return { lossSum, correct, applied: false };
    }
    optimizer.advance();
    Atomics.store(ctl, SHARED.GO, p.seq);
    Atomics.notify(ctl, SHARED.GO);
    let finite = updateRanges(fns, adam, blocks, layout, heap, p.parts[0], p.regions, SHARED.PROBES);
    Atomics.store(ctl, SHARED.FINISH, p.seq);
    Atomics.notify(ctl, SHARED.FINISH);
    // Workers take the next step as soon as they have loaded these weights (posted while they
    // still update theirs, so it is there when they are done).
    if (next != null) this.early = this.postTrain(next);
    for (let k = 1; k < this.workers; k++) {
      await this.waitFor(k, p.seq);
      finite = ctl[SHARED.FINITE + k] === 1 && finite;
    }
    for (const i of s.which) weights[i].set(heap.subarray(layout.w + layout.offsets[i], layout.w + layout.offsets[i] + weights[i].length));
    this.local.push(weights, s.which);
    return { lossSum, correct, applied: true, finite };
  }

  /** Until worker k has done its part of update `seq` (without blocking this thread's event loop, so a worker's failure is seen). */
  private async waitFor(k: number, seq: number): Promise<void> {
    const { ctl } = this.sm;
    const at = SHARED.FINISH + k;
    for (;;) {
      const v = Atomics.load(ctl, at);
      if (v === seq) return;
      if (v === -seq) throw new Error('gradient worker: its share of the update failed');
      const failure = this.handles[k - 1].failure;
      if (failure) throw failure;
      const w = waitAsync(ctl, at, v, 200);
      if (w.async) await w.value;
    }
  }

  /** Workers read every weight at each step, so after a stage change they hold what this thread holds. */
  push(weights: Float32Array[], which: readonly number[]): void {
    if (this.early != null) throw new Error('cnnc engine: push() while a step is posted early (await a compute or predict first)');
    const { heap, layout, ctl } = this.sm;
    this.local.push(weights, which);
    for (const i of which) heap.set(weights[i], layout.w + layout.offsets[i]);
    Atomics.add(ctl, SHARED.VERSION, 1);
  }

  async close(): Promise<void> {
    await this.cancelEarly().catch(() => {});
    this.attached?.detach?.();
    this.attached = null;
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}
