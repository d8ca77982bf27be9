/**
 * The training loop of a train or fine-tune stage: seeded order each epoch, gradients from the
 * replica, updates by cnnc's optimizers on host weights, then the new weights pushed back.
 * Stops only at batch boundaries, so an interrupted run can be resumed from a whole epoch.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { TrainSpec } from '../experiment.js';
import { epochOrder } from '../data/select.js';
import type { Batcher } from './batches.js';
import { evaluate } from './evaluate.js';
import { createOptimizer, type Optimizer } from './optimizers.js';
import type { Replica } from './replica.js';
import { type GradientSource, LocalGradients, type StepInput, type StepOutcome } from './gradients.js';

type Tf = typeof tfjs;

export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  seconds: number;
}

export interface EpochResult {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface TrainHooks {
  onBatch?(p: BatchProgress): void;
  onEpoch?(r: EpochResult): void;
  /** Polled between batches; true stops the stage after the current batch. */
  shouldStop?(): boolean;
}

/** Training diverged: the loss, or (where a backend's clamps hide it) the weights, stopped being finite. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly epoch: number,
    readonly batch: number,
    readonly learningRate: number,
    readonly value: number,
    readonly what: 'loss' | 'weights' = 'loss',
  ) {
    super(`the ${what === 'loss' ? 'loss' : 'weights'} became ${value} at epoch ${epoch}, batch ${batch} (learning rate ${learningRate})`);
    this.name = 'NonFiniteLossError';
  }
}

function firstNonFinite(weights: Float32Array[], which: readonly number[]): number | null {
  for (const i of which) {
    const w = weights[i];
    // x - x is 0 for every finite x and NaN otherwise: a branch-free scan, searched only on a hit.
    let probe = 0;
    for (let k = 0; k < w.length; k++) probe += w[k] - w[k];
    if (probe === 0) continue;
    for (let k = 0; k < w.length; k++) if (!Number.isFinite(w[k])) return w[k];
  }
  return null;
}

export interface TrainStageInput {
  tf: Tf;
  replica: Replica;
  spec: TrainSpec;
  train: Batcher;
  validation?: { batcher: Batcher; numClasses: number };
  /** Layers whose weights stay fixed (fine-tune). */
  frozen: ReadonlySet<number>;
  /** Seed of this stage's epoch orders. */
  seed: number;
  /** Host copy of every weight, updated in place. */
  weights: Float32Array[];
  hooks?: TrainHooks;
  /** Epochs already done (resume). */
  startEpoch?: number;
  optimizer?: Optimizer;
  /** Where gradients come from; defaults to this thread. */
  gradients?: GradientSource;
}

export interface TrainStageOutput {
  epochs: EpochResult[];
  /** Completed epochs; less than spec.epochs when stopped. */
  completed: number;
  stopped: boolean;
  optimizer: Optimizer;
}

/**
 * One training step: the gradients of a batch, the optimizer's update of `weights` (in place),
 * and the new weights made visible to every replica — in one go where the source shares the
 * update out among its threads (ParallelGradients.train), else compute, step, push. Nothing is
 * updated when the loss is not finite.
 */
export async function trainStep(source: GradientSource, optimizer: Optimizer, weights: Float32Array[], step: StepInput, next?: StepInput): Promise<StepOutcome> {
  const shared = source.train ? await source.train(step, optimizer, weights, next) : null;
  if (shared) return shared;
  const r = await source.compute(step);
  if (!Number.isFinite(r.lossSum)) return { lossSum: r.lossSum, correct: r.correct, applied: false };
  const grads: Float32Array[] = new Array(weights.length);
  step.which.forEach((wi, k) => (grads[wi] = r.grads[k]));
  const report = optimizer.step(weights, grads, step.which);
  source.push(weights, step.which);
  return { lossSum: r.lossSum, correct: r.correct, applied: true, finite: report.finite };
}

export async function trainStage(input: TrainStageInput): Promise<TrainStageOutput> {
  const { tf, replica, spec, train, frozen, weights, hooks = {} } = input;
  replica.setFrozen(frozen);
  const which = replica.weights.flatMap((w, i) => (w.trainable && !frozen.has(w.layer) ? [i] : []));
  const optimizer = input.optimizer ?? createOptimizer(spec.optimizer, replica.weights.map((w) => w.size));
  const source = input.gradients ?? new LocalGradients(tf, replica);
  const n = train.count;
  const batches = Math.ceil(n / spec.batchSize);
  const results: EpochResult[] = [];
  let stopped = false;
  let epoch = input.startEpoch ?? 0;

  for (; epoch < spec.epochs && !stopped; epoch++) {
    const order = epochOrder(n, input.seed, epoch);
    const t0 = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const stepInput = (b: number): StepInput => {
      const start = b * spec.batchSize;
      const size = Math.min(spec.batchSize, n - start);
      const dropoutSeed = (input.seed + epoch * 1_000_003 + b * 7919) >>> 0;
      return { batcher: train, order, start, size, which, dropoutSeed };
    };
    for (let b = 0; b < batches; b++) {
      const { size } = stepInput(b);
      const r = await trainStep(source, optimizer, weights, stepInput(b), b + 1 < batches ? stepInput(b + 1) : undefined);
      if (!r.applied) {
        throw new NonFiniteLossError(epoch + 1, b + 1, spec.optimizer.learningRate, r.lossSum);
      }
      // wasm's clamp turns NaN probabilities into finite losses, so the weights are checked too
      // (by the update itself where it can, else here).
      const bad = r.finite === true ? null : firstNonFinite(weights, which);
      if (bad !== null) throw new NonFiniteLossError(epoch + 1, b + 1, spec.optimizer.learningRate, bad, 'weights');
      lossSum += r.lossSum;
      correct += r.correct;
      seen += size;
      const seconds = (performance.now() - t0) / 1000;
      hooks.onBatch?.({
        epoch: epoch + 1, epochs: spec.epochs, batch: b + 1, batches,
        loss: lossSum / seen, accuracy: correct / seen, imagesPerSecond: seen / seconds, seconds,
      });
      // Yield to the event loop so signal handlers (Ctrl-C) can run between batches.
      await new Promise<void>((r) => setImmediate(r));
      if (b + 1 < batches && hooks.shouldStop?.()) {
        stopped = true;
        break;
      }
    }
    if (stopped) break;
    const seconds = (performance.now() - t0) / 1000;
    const result: EpochResult = { epoch: epoch + 1, loss: lossSum / seen, accuracy: correct / seen, seconds, imagesPerSecond: seen / seconds };
    if (input.validation) {
      const v = await evaluate(source, input.validation.batcher, 256, input.validation.numClasses);
      result.valLoss = v.loss;
      result.valAccuracy = v.accuracy;
    }
    results.push(result);
    hooks.onEpoch?.(result);
    if (hooks.shouldStop?.()) {
      epoch++;
      stopped = true;
      break;
    }
  }
  return { epochs: results, completed: epoch, stopped, optimizer };
}
