/**
 * Data-parallel gradients over worker threads (tfjs-wasm's own threads do not work under Node).
 * The calling thread computes the first share of every batch itself, each worker one more;
 * gradients are summed in worker order, so a given worker count is reproducible bit for bit.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Experiment } from '../experiment.js';
import type { BackendName } from './backend.js';
import { type GradientSource, LocalGradients, type StepInput } from './gradients.js';
import type { GradientResult, Prediction, Replica } from './replica.js';
import type { InitMessage, PredictMessage, StepMessage, WorkerReply } from './worker.js';
import type { LossName } from '../experiment.js';
import { type HostBatch, sliceHost } from './batches.js';
import { sharedElementwise, type ElementwiseFns } from './kernels/simd.js';

type Tf = typeof tfjs;

/** The compiled worker script; under vitest this module runs from src/, the worker from dist/. */
function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/engine/worker.js', import.meta.url);
}

class WorkerHandle {
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | null = null;

  constructor(readonly worker: Worker) {
    worker.on('message', (r: WorkerReply) => {
      const p = this.pending;
      this.pending = null;
      if (!p) return;
      if (r.type === 'error') p.reject(new Error(`gradient worker: ${r.message}`));
      else p.resolve(r);
    });
    worker.on('error', (e) => {
      this.pending?.reject(e);
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

/**
 * Gradients live in one shared WebAssembly.Memory: region 0 receives this thread's gradients
 * and then the sum, region k (k ≥ 1) is worker k's. Each weight starts at a multiple of 4
 * floats, so the regions are summed with a SIMD kernel (simd.ts) in place; f32 additions in
 * worker order, the same values as a scalar loop.
 */
interface GradientMemory {
  memory: WebAssembly.Memory;
  heap: Float32Array;
  /** Floats per region. */
  total: number;
  fns: ElementwiseFns | null;
}

export class ParallelGradients implements GradientSource {
  private readonly local: LocalGradients;
  private readonly shared: Float32Array;
  private readonly offsets: number[];

  private constructor(
    private readonly replica: Replica,
    local: LocalGradients,
    private readonly handles: WorkerHandle[],
    weightsBuffer: SharedArrayBuffer,
    private readonly gm: GradientMemory,
    offsets: number[],
  ) {
    this.local = local;
    this.shared = new Float32Array(weightsBuffer);
    this.offsets = offsets;
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
    const weightsBuffer = new SharedArrayBuffer(total * 4);
    const shared = new Float32Array(weightsBuffer);
    replica.weights.forEach((_, i) => shared.set(replica.read(i), offsets[i]));
    const pages = Math.max(1, Math.ceil((workers * total * 4) / 65536));
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const gm: GradientMemory = { memory, heap: new Float32Array(memory.buffer), total, fns: sharedElementwise(memory) };
    const handles: WorkerHandle[] = [];
    try {
      for (let k = 1; k < workers; k++) {
        const h = new WorkerHandle(new Worker(workerUrl()));
        handles.push(h);
        await h.request({ type: 'init', backend, experiment, weights: weightsBuffer, grads: memory.buffer as unknown as SharedArrayBuffer, gradsOffset: k * total, offsets });
      }
    } catch (e) {
      await Promise.all(handles.map((h) => h.worker.terminate()));
      throw e;
    }
    return new ParallelGradients(replica, new LocalGradients(tf, replica), handles, weightsBuffer, gm, offsets);
  }

  /** Contiguous shares of `size` rows, the first ones one larger when it does not divide evenly. */
  private shares(size: number): { shares: number[]; starts: number[] } {
    const n = this.workers;
    const shares = Array.from({ length: n }, (_, k) => Math.floor(size / n) + (k < size % n ? 1 : 0));
    const starts = shares.map((_, k) => shares.slice(0, k).reduce((a, b) => a + b, 0));
    return { shares, starts };
  }

  async predict(batch: HostBatch, loss: LossName): Promise<Prediction> {
    // Workers read every weight from shared memory; batch norm's statistics live in this
    // thread's model, so publish everything first.
    this.replica.weights.forEach((_, i) => this.shared.set(this.replica.read(i), this.offsets[i]));
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

  async compute(s: StepInput): Promise<GradientResult> {
    const { shares, starts: offsets } = this.shares(s.size);
    const starts = offsets.map((o) => s.start + o);
    const replies = this.handles.map((h, j) => {
      const k = j + 1;
      if (shares[k] === 0) return Promise.resolve({ type: 'done', lossSum: 0, correct: 0 } as WorkerReply);
      const batch = s.batcher.host(s.order, starts[k], shares[k]);
      const msg: StepMessage = { type: 'step', batch, loss: s.batcher.loss, denom: s.size, which: [...s.which], dropoutSeed: s.dropoutSeed + k * 104729 };
      return h.request(msg, [batch.x.buffer as ArrayBuffer, batch.y.buffer as ArrayBuffer, batch.labels.buffer as ArrayBuffer]);
    });
    const mine = shares[0] > 0
      ? await this.local.compute({ ...s, start: starts[0], size: shares[0], denom: s.size })
      : { lossSum: 0, correct: 0, grads: s.which.map((i) => new Float32Array(this.replica.weights[i].size)) };
    const { heap, total, fns } = this.gm;
    s.which.forEach((wi, k) => heap.set(mine.grads[k], this.offsets[wi]));
    let { lossSum, correct } = mine;
    const done = await Promise.all(replies);
    done.forEach((r, j) => {
      if (r.type !== 'done' || shares[j + 1] === 0) return;
      lossSum += r.lossSum;
      correct += r.correct;
      const region = (j + 1) * total;
      for (const wi of s.which) {
        const off = this.offsets[wi];
        const n = this.replica.weights[wi].size;
        if (fns != null) {
          fns.add(off * 4, (region + off) * 4, off * 4, ((n + 3) & ~3) * 4);
        } else {
          for (let q = off; q < off + n; q++) heap[q] += heap[region + q];
        }
      }
    });
    // Views of region 0: valid until the next compute (the trainer applies them at once).
    const grads = s.which.map((wi) => heap.subarray(this.offsets[wi], this.offsets[wi] + this.replica.weights[wi].size));
    return { lossSum, correct, grads };
  }

  /** Workers read every weight at each step, so after a stage change they hold what this thread holds. */
  push(weights: Float32Array[], which: readonly number[]): void {
    this.local.push(weights, which);
    for (const i of which) this.shared.set(weights[i], this.offsets[i]);
  }

  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}
