/**
 * The resolved experiment: what `resolve` produces from a validated document, every default
 * filled in. Every later step (infer, compile, execute, record) reads only this.
 */
import type { PathSegment } from './diagnostics.js';

export type Shape = number[];

export interface LayerSpec {
  /** Position in `layers`. */
  index: number;
  /** The layer kind, i.e. the single key of the YAML mapping: `conv2d`, `dense`, ... */
  kind: string;
  /** `name:` if given, else Keras-style `${kind}_${n}` counting per kind from 1. */
  name: string;
  /** The kind's arguments with its defaults filled in (kind-specific shape; see src/layers). */
  args: Record<string, unknown>;
  /** Where the layer stands in the source document: ['layers', index]. */
  path: PathSegment[];
}

export interface DataSelection {
  dataset: 'mnist';
  /** Subset of original labels, relabelled 0..k-1 in this order; null = all classes. */
  classes: number[] | null;
  /** First N after a seeded shuffle; null = all. */
  limit: { train: number | null; test: number | null };
}

export type OptimizerSpec =
  | { name: 'sgd'; learningRate: number; momentum: number; nesterov: boolean }
  | { name: 'adam'; learningRate: number; beta1: number; beta2: number; epsilon: number }
  | { name: 'rmsprop'; learningRate: number; rho: number; momentum: number; epsilon: number };

export type LossName = 'categoricalCrossentropy' | 'sparseCategoricalCrossentropy';

export interface TrainSpec {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerSpec;
  loss: LossName;
  metrics: string[];
  /** Fraction of the (limited) training split held out for validation; 0 = none. */
  validationSplit: number;
}

export type Stage =
  | ({ kind: 'train'; data: DataSelection; path: PathSegment[] } & TrainSpec)
  | ({ kind: 'finetune'; data: DataSelection; path: PathSegment[]; freeze: number[] } & TrainSpec)
  | { kind: 'evaluate'; data: DataSelection; path: PathSegment[]; batchSize: number };

export interface Experiment {
  name: string;
  seed: number;
  data: DataSelection;
  /** [height, width, channels] */
  input: [number, number, number];
  layers: LayerSpec[];
  shapeFlow: number[] | null;
  stages: Stage[];
}
