/**
 * Helpers shared by the layer kinds: window arithmetic, int-or-pair arguments, the activation and
 * initializer vocabularies, and the FLOP conventions.
 *
 * Fault messages are predicates ("needs a [height, width, channels] input, got [3136]"): infer
 * prefixes them with the layer's kind and name, which the shape rules do not know.
 *
 * FLOPs are those of one example's inference forward pass: a multiply-add counts 2, a bias add,
 * pooling comparison or elementwise activation 1 per element, softmax 3 (exp, sum, divide), batch
 * norm 4; dropout and flatten are free. Estimates for comparing layers, not kernel timings.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Shape } from '../experiment.js';
import type { BuildContext, JsonSchema, LayerKind, ShapeFault, ShapeResult, Tf } from './kind.js';

export type Pair = [number, number];
export type Padding = 'valid' | 'same';

/** Exactly tfjs-layers' `ActivationIdentifier` (4.22); a name outside it throws at build time. */
export const ACTIVATIONS = [
  'linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'tanh', 'softmax',
  'softplus', 'softsign', 'swish', 'mish', 'gelu', 'gelu_new',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const KERNEL_INITIALIZERS = [
  'glorotUniform', 'glorotNormal', 'heNormal', 'heUniform', 'leCunNormal', 'leCunUniform',
] as const;
export type KernelInitializer = (typeof KERNEL_INITIALIZERS)[number];
export const BIAS_INITIALIZERS = ['zeros', 'ones'] as const;
export type BiasInitializer = (typeof BIAS_INITIALIZERS)[number];

export function pair(v: unknown): Pair {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1])];
  return [Number(v), Number(v)];
}

export function intOrPairSchema(description: string, dflt?: number): JsonSchema {
  return {
    description,
    anyOf: [
      { type: 'integer', minimum: 1 },
      { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 2, maxItems: 2 },
    ],
    ...(dflt === undefined ? {} : { default: dflt }),
  };
}

export function enumSchema(values: readonly string[], description: string, dflt?: string): JsonSchema {
  return { description, type: 'string', enum: [...values], ...(dflt === undefined ? {} : { default: dflt }) };
}

export const paddingSchema = enumSchema(
  ['valid', 'same'],
  "'valid': no padding, the window stays inside the input; 'same': zero-pad so that out = ceil(in / stride)",
  'valid',
);

export function activationSchema(description: string, dflt?: Activation): JsonSchema {
  return enumSchema(ACTIVATIONS, description, dflt);
}

/** The product of a shape's sizes (1 for the empty shape). */
export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** TensorFlow's window rule, the same as tfjs-layers' convOutputLength without dilation. */
export function windowLength(size: number, k: number, stride: number, padding: Padding): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - k) / stride) + 1;
}

export function needsImage(input: Shape, hint?: string): ShapeFault {
  return {
    message: `needs a [height, width, channels] input, got ${formatShape(input)}`,
    hint: hint ?? (input.length < 3 ? 'place flatten after the last convolution or pooling layer' : undefined),
  };
}

/** Output shape of a conv or pooling window over [h, w, c]; `channels` replaces c (conv filters). */
export function windowShape(
  input: Shape,
  window: Pair,
  strides: Pair,
  padding: Padding,
  windowArg: string,
  channels?: number,
): ShapeResult {
  if (input.length !== 3) return { ok: false, fault: needsImage(input) };
  const [h, w, c] = input;
  const oh = windowLength(h, window[0], strides[0], padding);
  const ow = windowLength(w, window[1], strides[1], padding);
  if (oh < 1 || ow < 1) {
    return {
      ok: false,
      fault: {
        message:
          `reduces ${h}×${w} to ${Math.max(0, oh)}×${Math.max(0, ow)}: its ${windowArg} ` +
          `${window[0]}×${window[1]} is larger than its input under padding 'valid'`,
        hint: `use padding: same or a smaller ${windowArg}`,
        arg: windowArg,
      },
    };
  }
  return { ok: true, shape: [oh, ow, channels ?? c] };
}

/**
 * FLOPs of an activation per output element, rough by design: the table only has to rank layers
 * against each other, and the multiply-adds of conv and dense dominate every real model.
 */
export function activationFlops(activation: Activation, elements: number): number {
  if (activation === 'linear') return 0;
  if (activation === 'softmax') return 3 * elements; // exp, sum, divide
  return elements;
}

type Initializer = ReturnType<Tf['initializers']['glorotUniform']>;

export function kernelInitializer(tf: Tf, name: KernelInitializer, seed: number): Initializer {
  return tf.initializers[name]({ seed });
}

export function biasInitializer(tf: Tf, name: BiasInitializer): Initializer {
  return name === 'ones' ? tf.initializers.ones() : tf.initializers.zeros();
}


export const useBiasSchema: JsonSchema = {
  description: 'Add a learned bias per output channel',
  type: 'boolean',
  default: true,
};

export const kernelInitializerSchema = enumSchema(
  KERNEL_INITIALIZERS,
  'How the kernel is initialised (seeded from the experiment seed); heNormal suits relu',
  'glorotUniform',
);

export const biasInitializerSchema = enumSchema(BIAS_INITIALIZERS, 'How the bias is initialised', 'zeros');

export type PoolingArgs = { poolSize: Pair; strides: Pair; padding: Padding };

/** Max and average pooling share everything but the reduction and the tfjs constructor. */
export function poolingKind(
  kind: string,
  description: string,
  build: (tf: Tf, args: PoolingArgs, ctx: BuildContext) => tfjs.layers.Layer,
): LayerKind<PoolingArgs> {
  return {
    kind,
    description,
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        poolSize: intOrPairSchema('Window size: an integer, or [height, width]', 2),
        strides: intOrPairSchema('Step between windows: an integer, or [height, width]; defaults to poolSize'),
        padding: paddingSchema,
      },
    },
    resolve(a) {
      const poolSize = pair(a.poolSize ?? 2);
      return { poolSize, strides: pair(a.strides ?? poolSize), padding: (a.padding ?? 'valid') as Padding };
    },
    outputShape: (input, a) => windowShape(input, a.poolSize, a.strides, a.padding, 'poolSize'),
    params: () => ({ trainable: 0, nonTrainable: 0 }),
    // One comparison or addition per window element per output element.
    flops: (_input, output, a) => a.poolSize[0] * a.poolSize[1] * product(output),
    spatial: true,
    build,
  };
}
