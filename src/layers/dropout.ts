import type { LayerKind } from './kind.js';

export type DropoutArgs = { rate: number };

export const dropout: LayerKind<DropoutArgs> = {
  kind: 'dropout',
  description: 'Zero a random fraction of the inputs during training (Keras Dropout)',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['rate'],
    properties: {
      rate: { description: 'Fraction of inputs to drop, 0 ≤ rate < 1', type: 'number', minimum: 0, exclusiveMaximum: 1 },
    },
  },
  resolve: (a) => ({ rate: Number(a.rate) }),
  outputShape: (input) => ({ ok: true, shape: [...input] }),
  params: () => ({ trainable: 0, nonTrainable: 0 }),
  // Counted at inference, where dropout is the identity.
  flops: () => 0,
  spatial: false,
  build: (tf, a, ctx) => tf.layers.dropout({ rate: a.rate, seed: ctx.seed, name: ctx.name, inputShape: ctx.inputShape }),
};
