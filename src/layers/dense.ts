import type { LayerKind } from './kind.js';
import {
  type Activation, type BiasInitializer, type KernelInitializer,
  activationFlops, activationSchema, biasInitializer, biasInitializerSchema, kernelInitializer,
  kernelInitializerSchema, product, useBiasSchema,
} from './common.js';

export type DenseArgs = {
  units: number;
  activation: Activation;
  useBias: boolean;
  kernelInitializer: KernelInitializer;
  biasInitializer: BiasInitializer;
};

// On a rank-3 input the same kernel applies at every position along the last axis (Keras).
export const dense: LayerKind<DenseArgs> = {
  kind: 'dense',
  description: 'Fully connected layer on the last axis (Keras Dense)',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['units'],
    properties: {
      units: { description: 'Number of outputs', type: 'integer', minimum: 1 },
      activation: activationSchema('Activation applied to the output', 'linear'),
      useBias: useBiasSchema,
      kernelInitializer: kernelInitializerSchema,
      biasInitializer: biasInitializerSchema,
    },
  },
  resolve: (a) => ({
    units: Number(a.units),
    activation: (a.activation ?? 'linear') as Activation,
    useBias: (a.useBias ?? true) as boolean,
    kernelInitializer: (a.kernelInitializer ?? 'glorotUniform') as KernelInitializer,
    biasInitializer: (a.biasInitializer ?? 'zeros') as BiasInitializer,
  }),
  outputShape: (input, a) => ({ ok: true, shape: [...input.slice(0, -1), a.units] }),
  params: (input, a) => ({
    trainable: input[input.length - 1] * a.units + (a.useBias ? a.units : 0),
    nonTrainable: 0,
  }),
  flops(input, output, a) {
    const elements = product(output);
    return 2 * input[input.length - 1] * elements + (a.useBias ? elements : 0) + activationFlops(a.activation, elements);
  },
  spatial: false,
  build: (tf, a, ctx) =>
    tf.layers.dense({
      units: a.units,
      activation: a.activation,
      useBias: a.useBias,
      kernelInitializer: kernelInitializer(tf, a.kernelInitializer, ctx.seed),
      biasInitializer: biasInitializer(tf, a.biasInitializer),
      name: ctx.name,
      inputShape: ctx.inputShape,
    }),
};
