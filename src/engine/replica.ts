/**
 * One copy of the model on the current backend, seen as a flat list of weights. The trainer
 * keeps the authoritative weight values on the host (see optimizers.ts) and pushes them here;
 * the replica computes losses and gradients.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { LossName } from '../experiment.js';
import type { Batch } from './batches.js';
import { lossPerExample } from './loss.js';

type Tf = typeof tfjs;
type LayerVariable = tfjs.layers.Layer['weights'][number];

export interface WeightInfo {
  /** tfjs' weight name, e.g. `conv2d_1/kernel`. */
  name: string;
  layer: number;
  shape: number[];
  size: number;
  /** Trainable when its layer is not frozen (batch norm's moving statistics never are). */
  trainable: boolean;
}

export interface GradientResult {
  lossSum: number;
  correct: number;
  /** Gradient of (sum of per-example losses / denom), aligned with the `which` argument. */
  grads: Float32Array[];
}

export interface Prediction {
  lossSum: number;
  predicted: Int32Array;
}

export class Replica {
  readonly weights: WeightInfo[] = [];
  private readonly vars: LayerVariable[] = [];

  constructor(
    private readonly tf: Tf,
    readonly model: tfjs.LayersModel,
  ) {
    model.layers.forEach((layer, li) => {
      const trainable = new Set(layer.trainableWeights.map((w) => w.name));
      for (const w of layer.weights) {
        const shape = w.shape.map((d) => d ?? 1);
        const size = shape.reduce((a, b) => a * b, 1);
        this.weights.push({ name: w.name, layer: li, shape, size, trainable: trainable.has(w.name) });
        this.vars.push(w);
      }
    });
  }

  read(i: number): Float32Array {
    return this.vars[i].read().dataSync() as Float32Array;
  }

  readAll(): Float32Array[] {
    return this.vars.map((_, i) => Float32Array.from(this.read(i)));
  }

  write(i: number, values: Float32Array): void {
    const t = this.tf.tensor(values, this.weights[i].shape);
    this.vars[i].write(t);
    t.dispose();
  }

  /**
   * tfjs' seeded dropout draws the same mask at every call; setting a fresh seed per step keeps
   * masks varied and the run reproducible.
   */
  setDropoutSeed(seed: number): void {
    this.model.layers.forEach((l, k) => {
      if (l.getClassName() === 'Dropout') (l as unknown as { seed: number }).seed = (seed + k * 7919) >>> 0;
    });
  }

  /** Marks layers trainable or not, so the saved topology says what a fine-tune froze. */
  setFrozen(frozen: ReadonlySet<number>): void {
    this.model.layers.forEach((layer, li) => {
      layer.trainable = !frozen.has(li);
    });
  }

  /**
   * With `into`, each gradient is handed to it (k indexing `which`) instead of returned: a view
   * of the backend's memory where it can be (wasm), valid only during the call, which saves a
   * copy when the caller copies it somewhere anyway.
   */
  gradients(batch: Batch, loss: LossName, denom: number, which: readonly number[], into?: (k: number, values: Float32Array) => void): GradientResult {
    const { tf } = this;
    const vars = which.map((i) => this.vars[i].read() as tfjs.Variable);
    let lossSumT: tfjs.Tensor | undefined;
    let correctT: tfjs.Tensor | undefined;
    const { grads } = tf.tidy(() => {
      const out = tf.variableGrads(() => {
        const p = this.model.apply(batch.x, { training: true }) as tfjs.Tensor;
        const perExample = lossPerExample(tf, loss, batch.y, p);
        const sum = tf.sum(perExample);
        lossSumT = tf.keep(sum.clone());
        correctT = tf.keep(countCorrect(tf, p, batch.labels));
        return tf.div(sum, denom) as tfjs.Scalar;
      }, vars);
      return { grads: out.grads };
    });
    const result: GradientResult = {
      lossSum: lossSumT!.dataSync()[0],
      correct: correctT!.dataSync()[0],
      grads: into ? [] : vars.map((v) => grads[v.name].dataSync() as Float32Array),
    };
    if (into) vars.forEach((v, k) => into(k, this.view(grads[v.name])));
    lossSumT!.dispose();
    correctT!.dispose();
    for (const g of Object.values(grads)) g.dispose();
    return result;
  }

  /** A tensor's values: a view of the wasm backend's memory (no copy), elsewhere a copy. */
  private view(t: tfjs.Tensor): Float32Array {
    const backend = this.tf.backend() as unknown as { typedArrayFromHeap?: (t: tfjs.Tensor) => Float32Array };
    if (this.tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function') return backend.typedArrayFromHeap(t);
    return t.dataSync() as Float32Array;
  }

  /** Inference mode (dropout off, batch norm on moving statistics): summed loss and predicted classes. */
  predict(batch: Batch, loss: LossName): Prediction {
    const { tf } = this;
    return tf.tidy(() => {
      const p = this.model.predict(batch.x) as tfjs.Tensor;
      return {
        lossSum: tf.sum(lossPerExample(tf, loss, batch.y, p)).dataSync()[0],
        predicted: tf.argMax(p, -1).dataSync() as Int32Array,
      };
    });
  }
}

export function countCorrect(tf: Tf, p: tfjs.Tensor, labels: Int32Array): tfjs.Tensor {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(p, -1), tf.tensor1d(labels, 'int32')), 'int32')));
}
