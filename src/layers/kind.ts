/**
 * The layer contract. A layer kind is declared once, in one file, the way Keras' `Layer` carries
 * `compute_output_shape` beside `call`: its schema fragment, its defaults, its shape rule, its
 * parameter and FLOP counts, and its tfjs constructor live together.
 *
 * This module and the kind files must never import TensorFlow.js at run time (`cnnc check` is
 * instant because it never loads it): `build` receives the tfjs namespace as an argument, and
 * kind files use `import type` only.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Shape } from '../experiment.js';

export type Tf = typeof tfjs;

/** A JSON Schema fragment (draft 2020-12 / draft-07 subset that ajv accepts). */
export type JsonSchema = Record<string, unknown>;

/** A shape rule's complaint; `arg` names the argument at fault so the diagnostic can point at it. */
export interface ShapeFault {
  message: string;
  hint?: string;
  /** Argument key inside the layer's mapping (e.g. 'kernelSize'); absent = the layer itself. */
  arg?: string;
}

export type ShapeResult = { ok: true; shape: Shape } | { ok: false; fault: ShapeFault };

export interface ParamCount {
  trainable: number;
  nonTrainable: number;
}

export interface BuildContext {
  /** The layer's resolved name (tfjs layer names must be unique; these are). */
  name: string;
  /** Seed for this layer's initializers: derived from the experiment seed and layer index. */
  seed: number;
  /** Input shape without batch axis, given for the first layer only. */
  inputShape?: Shape;
}

export interface LayerKind<A extends Record<string, unknown> = Record<string, unknown>> {
  /** The YAML key: `conv2d`, `maxPooling2d`, ... */
  kind: string;
  /** One line for `cnnc check` help and the schema description. */
  description: string;
  /** Schema of the argument mapping (without the shared `name` property, which is added). */
  schema: JsonSchema;
  /** Fill in defaults (Keras' / tfjs-layers' defaults); args are already schema-valid. */
  resolve(args: Record<string, unknown>): A;
  /** Output shape without batch axis, or why the input cannot pass through this layer. */
  outputShape(input: Shape, args: A): ShapeResult;
  /** Keras' parameter count (batch norm: 4 per channel, 2 trainable). */
  params(input: Shape, args: A): ParamCount;
  /** Floating-point operations of the forward pass per example (a multiply-add counts as 2). */
  flops(input: Shape, output: Shape, args: A): number;
  /** True when this layer changes the spatial size, so it appears in the `shapeFlow` line. */
  spatial: boolean;
  /** The tfjs-layers layer, with seeded initializers. */
  build(tf: Tf, args: A, ctx: BuildContext): tfjs.layers.Layer;
}
