import type { LayerKind } from './kind.js';
import { product } from './common.js';

export type BatchNormalizationArgs = { momentum: number; epsilon: number };

export const batchNormalization: LayerKind<BatchNormalizationArgs> = {
  kind: 'batchNormalization',
  description: 'Normalise each channel (the last axis) over the batch (Keras BatchNormalization)',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      momentum: { description: 'Momentum of the moving mean and variance', type: 'number', minimum: 0, maximum: 1, default: 0.99 },
      epsilon: { description: 'Added to the variance to avoid dividing by zero', type: 'number', exclusiveMinimum: 0, default: 0.001 },
    },
  },
  resolve: (a) => ({ momentum: Number(a.momentum ?? 0.99), epsilon: Number(a.epsilon ?? 0.001) }),
  outputShape: (input) => ({ ok: true, shape: [...input] }),
  // gamma and beta learn; the moving mean and variance are updated, not trained.
  params: (input) => {
    const c = input[input.length - 1];
    return { trainable: 2 * c, nonTrainable: 2 * c };
  },
  // Subtract the mean, divide by the deviation, scale, shift.
  flops: (_input, output) => 4 * product(output),
  spatial: false,
  build: (tf, a, ctx) =>
    tf.layers.batchNormalization({
      axis: -1,
      momentum: a.momentum,
      epsilon: a.epsilon,
      name: ctx.name,
      inputShape: ctx.inputShape,
    }),
};
