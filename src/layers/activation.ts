import type { LayerKind } from './kind.js';
import { type Activation, activationFlops, activationSchema, product } from './common.js';

export type ActivationArgs = { activation: Activation };

export const activation: LayerKind<ActivationArgs> = {
  kind: 'activation',
  description: 'Apply an activation function element-wise (Keras Activation)',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['activation'],
    properties: { activation: activationSchema('The activation function') },
  },
  resolve: (a) => ({ activation: a.activation as Activation }),
  outputShape: (input) => ({ ok: true, shape: [...input] }),
  params: () => ({ trainable: 0, nonTrainable: 0 }),
  flops: (_input, output, a) => activationFlops(a.activation, product(output)),
  spatial: false,
  build: (tf, a, ctx) => tf.layers.activation({ activation: a.activation, name: ctx.name, inputShape: ctx.inputShape }),
};
