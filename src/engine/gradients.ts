/**
 * Where a training step's gradients (and an evaluation's predictions) come from. `LocalGradients` computes them on this thread;
 * `ParallelGradients` (parallel.ts) splits each batch across worker threads. The trainer sees
 * one interface, so the optimizer arithmetic is identical whichever is used.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { LossName } from '../experiment.js';
import { type Batcher, type HostBatch, toTensors } from './batches.js';
import type { Optimizer } from './optimizers.js';
import type { GradientResult, Prediction, Replica } from './replica.js';

type Tf = typeof tfjs;

export interface StepInput {
  batcher: Batcher;
  order: Uint32Array;
  start: number;
  size: number;
  /** Indices (into replica.weights) of the weights being trained. */
  which: readonly number[];
  dropoutSeed: number;
  /** The loss is summed over this share and divided by denom (the whole batch's size). */
  denom?: number;
}

/** What a whole training step (GradientSource.train) did. */
export interface StepOutcome {
  lossSum: number;
  correct: number;
  /** False when the loss was not finite: then nothing was updated. */
  applied: boolean;
  /** True when every updated weight was found finite; absent when not checked. */
  finite?: boolean;
}

export interface GradientSource {
  readonly workers: number;
  /** Loss sum, correct count, and d(mean loss over the batch)/d(weight) for each of `which`. */
  compute(step: StepInput): Promise<GradientResult>;
  /**
   * Optional: a whole training step — the gradients, `optimizer`'s update of `weights` (in
   * place) and the new weights made visible to every replica — with the update shared out
   * among the threads. The same arithmetic, bit for bit, as compute, optimizer.step, push.
   * Null when it cannot (that optimizer, no SIMD): the caller then does those three.
   * `next`, when the step after this one is known, lets workers start on it early; it is a
   * hint (a different next call is fine, at the cost of the work started).
   */
  train?(step: StepInput, optimizer: Optimizer, weights: Float32Array[], next?: StepInput): Promise<StepOutcome | null>;
  /** Inference on a batch (every weight as this thread's replica holds it). */
  predict(batch: HostBatch, loss: LossName): Promise<Prediction>;
  /** Makes new weight values (indices `which`) visible to every replica. */
  push(weights: Float32Array[], which: readonly number[]): void;
  close(): Promise<void>;
}

export class LocalGradients implements GradientSource {
  readonly workers = 1;

  constructor(
    private readonly tf: Tf,
    private readonly replica: Replica,
  ) {}

  async compute(s: StepInput): Promise<GradientResult> {
    return this.computeInto(s);
  }

  /** compute, handing each gradient to `into` (see Replica.gradients) when given. */
  computeInto(s: StepInput, into?: (k: number, values: Float32Array) => void): GradientResult {
    this.replica.setDropoutSeed(s.dropoutSeed);
    const b = toTensors(this.tf, s.batcher.host(s.order, s.start, s.size));
    try {
      return this.replica.gradients(b, s.batcher.loss, s.denom ?? s.size, s.which, into);
    } finally {
      b.x.dispose();
      b.y.dispose();
    }
  }

  async predict(batch: HostBatch, loss: LossName): Promise<Prediction> {
    const b = toTensors(this.tf, batch);
    try {
      return this.replica.predict(b, loss);
    } finally {
      b.x.dispose();
      b.y.dispose();
    }
  }

  push(weights: Float32Array[], which: readonly number[]): void {
    for (const i of which) this.replica.write(i, weights[i]);
  }

  async close(): Promise<void> {}
}
