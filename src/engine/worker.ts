/**
 * A gradient worker: its own tfjs instance (and wasm module), its own copy of the model. Each
 * step it reads the current weights from shared memory, computes the gradients of its share of
 * the batch, and writes them to its own shared buffer. It never updates weights itself.
 */
import { parentPort } from 'node:worker_threads';
import type { Experiment } from '../experiment.js';
import type { HostBatch } from './batches.js';
import type { BackendName } from './backend.js';
import type { LossName } from '../experiment.js';

export interface InitMessage {
  type: 'init';
  backend: BackendName;
  experiment: Experiment;
  weights: SharedArrayBuffer;
  /** The gradient memory (a shared WebAssembly.Memory's buffer); this worker's region starts at float gradsOffset. */
  grads: SharedArrayBuffer;
  gradsOffset: number;
  /** Float offset of each weight in the weights buffer and in a gradient region. */
  offsets: number[];
}

export interface StepMessage {
  type: 'step';
  batch: HostBatch;
  loss: LossName;
  denom: number;
  which: number[];
  dropoutSeed: number;
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
  let replica: InstanceType<typeof Replica>;
  let weights: Float32Array;
  let grads: Float32Array;
  let offsets: number[];

  const readWeights = () => replica.weights.forEach((w, i) => replica.write(i, weights.subarray(offsets[i], offsets[i] + w.size)));

  port.on('message', async (m: InitMessage | StepMessage | PredictMessage) => {
    try {
      if (m.type === 'init') {
        await selectBackend(m.backend);
        replica = new Replica(tf, buildModel(tf, m.experiment));
        weights = new Float32Array(m.weights);
        grads = new Float32Array(m.grads, m.gradsOffset * 4);
        offsets = m.offsets;
        port.postMessage({ type: 'ready' } satisfies WorkerReply);
        return;
      }
      // All weights, not only the trained ones: a stage that freezes layers must see their latest values.
      readWeights();
      if (m.type === 'predict') {
        const b = toTensors(tf, m.batch);
        const p = replica.predict(b, m.loss);
        b.x.dispose();
        b.y.dispose();
        port.postMessage({ type: 'predicted', ...p } satisfies WorkerReply, [p.predicted.buffer as ArrayBuffer]);
        return;
      }
      replica.setDropoutSeed(m.dropoutSeed);
      const b = toTensors(tf, m.batch);
      const r = replica.gradients(b, m.loss, m.denom, m.which);
      b.x.dispose();
      b.y.dispose();
      m.which.forEach((i, k) => grads.set(r.grads[k], offsets[i]));
      port.postMessage({ type: 'done', lossSum: r.lossSum, correct: r.correct } satisfies WorkerReply);
    } catch (e) {
      port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies WorkerReply);
    }
  });
}

void main();
