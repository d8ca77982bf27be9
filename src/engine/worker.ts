/**
 * A gradient worker: its own tfjs instance (and wasm module), its own copy of the model. Each
 * step it computes the gradients of its share of the batch into its region of the shared
 * memory (parallel.ts); for a shared update it then waits for the go-ahead, sums and updates
 * its part of the weights there, and once every thread is done loads the new weights, ready
 * for the next step. Otherwise it reloads the weights whenever they were published anew.
 */
import { parentPort } from 'node:worker_threads';
import type { Experiment } from '../experiment.js';
import type { HostBatch } from './batches.js';
import type { BackendName } from './backend.js';
import type { LossName } from '../experiment.js';
import type { Ranges, SharedLayout } from './parallel.js';

export interface InitMessage {
  type: 'init';
  backend: BackendName;
  experiment: Experiment;
  /** The shared memory (parallel.ts: a header, then SharedLayout's blocks). */
  memory: WebAssembly.Memory;
  layout: SharedLayout;
  /** This worker's thread number (1..), which is also its gradient region. */
  index: number;
}

export interface StepMessage {
  type: 'step';
  /** Null when this worker has no share of the batch (it may still have one of the update). */
  batch: HostBatch | null;
  loss: LossName;
  denom: number;
  which: number[];
  dropoutSeed: number;
  /** A shared update (ParallelGradients.train): this worker's part, after the go-ahead for step `seq`. */
  update?: { seq: number; threads: number; ranges: Ranges; regions: number[] } | null;
}

export interface PredictMessage {
  type: 'predict';
  batch: HostBatch;
  loss: LossName;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; lossSum: number; correct: number }
  | { type: 'predicted'; lossSum: number; predicted: Int32Array }
  | { type: 'error'; message: string };

const port = parentPort!;

async function main() {
  const tf = await import('@tensorflow/tfjs');
  const { selectBackend } = await import('./backend.js');
  const { buildModel } = await import('../compile.js');
  const { Replica } = await import('./replica.js');
  const { toTensors } = await import('./batches.js');
  const { SHARED, updateRanges } = await import('./parallel.js');
  const { sharedElementwise, sharedAdamKernel } = await import('./kernels/simd.js');
  let replica: InstanceType<typeof Replica>;
  let heap: Float32Array;
  let ctl: Int32Array;
  let layout: SharedLayout;
  let index: number;
  let memory: WebAssembly.Memory;
  let fns: ReturnType<typeof sharedElementwise>;
  let adam: ReturnType<typeof sharedAdamKernel>;
  /** The weights version this replica holds (-1: none yet). */
  let loaded = -1;

  // All weights, not only the trained ones: a stage that freezes layers must see their latest values.
  const readWeights = () => {
    loaded = Atomics.load(ctl, SHARED.VERSION);
    replica.weights.forEach((w, i) => replica.write(i, heap.subarray(layout.w + layout.offsets[i], layout.w + layout.offsets[i] + w.size)));
  };
  const ensureWeights = () => {
    if (Atomics.load(ctl, SHARED.VERSION) !== loaded) readWeights();
  };
  const waitUntil = (at: number, done: (v: number) => boolean) => {
    for (;;) {
      const v = Atomics.load(ctl, at);
      if (done(v)) return v;
      Atomics.wait(ctl, at, v);
    }
  };

  /** This worker's part of the shared update `u`, once this thread is told to go ahead. */
  const update = (u: NonNullable<StepMessage['update']>) => {
    const go = waitUntil(SHARED.GO, (v) => v === u.seq || v === -u.seq);
    if (go !== u.seq) return; // the loss was not finite: nothing changes
    try {
      if (fns == null || adam == null) throw new Error('no shared SIMD kernels');
      const blocks = { memory, offsets: layout.offsets, w: layout.w, g: layout.g, m: layout.m, v: layout.v, consts: SHARED.CONSTS, probe: SHARED.PROBES + 16 * index };
      const finite = updateRanges(fns, adam, blocks, layout, heap, u.ranges, u.regions, blocks.probe);
      ctl[SHARED.FINITE + index] = finite ? 1 : 0;
      Atomics.store(ctl, SHARED.FINISH + index, u.seq);
    } catch (e) {
      Atomics.store(ctl, SHARED.FINISH + index, -u.seq);
      throw e;
    } finally {
      Atomics.notify(ctl, SHARED.FINISH + index);
    }
    // Every thread's part done: load the new weights now, ahead of the next step.
    for (let k = 0; k < u.threads; k++) waitUntil(SHARED.FINISH + k, (v) => v === u.seq || v === -u.seq);
    readWeights();
  };

  port.on('message', async (m: InitMessage | StepMessage | PredictMessage) => {
    try {
      if (m.type === 'init') {
        await selectBackend(m.backend);
        replica = new Replica(tf, buildModel(tf, m.experiment));
        memory = m.memory;
        heap = new Float32Array(memory.buffer);
        ctl = new Int32Array(memory.buffer, 0, SHARED.HEADER);
        layout = m.layout;
        index = m.index;
        fns = sharedElementwise(memory);
        adam = sharedAdamKernel(memory);
        port.postMessage({ type: 'ready' } satisfies WorkerReply);
        return;
      }
      ensureWeights();
      if (m.type === 'predict') {
        const b = toTensors(tf, m.batch);
        const p = replica.predict(b, m.loss);
        b.x.dispose();
        b.y.dispose();
        port.postMessage({ type: 'predicted', ...p } satisfies WorkerReply, [p.predicted.buffer as ArrayBuffer]);
        return;
      }
      let lossSum = 0;
      let correct = 0;
      if (m.batch != null) {
        replica.setDropoutSeed(m.dropoutSeed);
        const b = toTensors(tf, m.batch);
        const region = layout.g + index * layout.total;
        const r = replica.gradients(b, m.loss, m.denom, m.which, (k, g) => heap.set(g, region + layout.offsets[m.which[k]]));
        b.x.dispose();
        b.y.dispose();
        lossSum = r.lossSum;
        correct = r.correct;
      }
      port.postMessage({ type: 'done', lossSum, correct } satisfies WorkerReply);
      if (m.update) update(m.update);
    } catch (e) {
      port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies WorkerReply);
    }
  });
}

void main();
