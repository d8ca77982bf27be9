// Placeholder signature, filled in by the layers/infer work (see LayerKind in src/layers/kind.ts).
import type { Diagnostic, Locate } from './diagnostics.js';
import type { Experiment, Shape } from './experiment.js';

export interface LayerReport {
  index: number;
  name: string;
  /** The kind: 'conv2d', ... */
  type: string;
  inputShape: Shape;
  /** Without the batch axis. */
  outputShape: Shape;
  params: number;
  trainableParams: number;
  flops: number;
  /** float32 bytes of this layer's output per example. */
  activationBytes: number;
}

export interface Inference {
  layers: LayerReport[];
  /** Input spatial size, then after each spatial layer: [28, 28, 14, 14, 7]. */
  shapeFlow: number[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  totalFlops: number;
  activationBytes: number;
  diagnostics: Diagnostic[];
}

export declare function infer(exp: Experiment, file: string, locate: Locate): Inference;
