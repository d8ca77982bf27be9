import type { LayerKind } from './kind.js';
import {
  type Activation, type BiasInitializer, type KernelInitializer, type Padding, type Pair,
  activationFlops, activationSchema, biasInitializer, biasInitializerSchema, intOrPairSchema,
  kernelInitializer, kernelInitializerSchema, pair, paddingSchema, product, useBiasSchema, windowShape,
} from './common.js';

export type Conv2dArgs = {
  filters: number;
  kernelSize: Pair;
  strides: Pair;
  padding: Padding;
  activation: Activation;
  useBias: boolean;
  kernelInitializer: KernelInitializer;
  biasInitializer: BiasInitializer;
};

export const conv2d: LayerKind<Conv2dArgs> = {
  kind: 'conv2d',
  description: '2-D convolution over [height, width, channels] (Keras Conv2D)',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['filters', 'kernelSize'],
    properties: {
      filters: { description: 'Number of output channels', type: 'integer', minimum: 1 },
      kernelSize: intOrPairSchema('Window size: an integer, or [height, width]'),
      strides: intOrPairSchema('Step between windows: an integer, or [height, width]', 1),
      padding: paddingSchema,
      activation: activationSchema('Activation applied to the output', 'linear'),
      useBias: useBiasSchema,
      kernelInitializer: kernelInitializerSchema,
      biasInitializer: biasInitializerSchema,
    },
  },
  resolve: (a) => ({
    filters: Number(a.filters),
    kernelSize: pair(a.kernelSize),
    strides: pair(a.strides ?? 1),
    padding: (a.padding ?? 'valid') as Padding,
    activation: (a.activation ?? 'linear') as Activation,
    useBias: (a.useBias ?? true) as boolean,
    kernelInitializer: (a.kernelInitializer ?? 'glorotUniform') as KernelInitializer,
    biasInitializer: (a.biasInitializer ?? 'zeros') as BiasInitializer,
  }),
  outputShape: (input, a) => windowShape(input, a.kernelSize, a.strides, a.padding, 'kernelSize', a.filters),
  params(input, a) {
    const [kh, kw] = a.kernelSize;
    const cin = input[input.length - 1];
    return { trainable: kh * kw * cin * a.filters + (a.useBias ? a.filters : 0), nonTrainable: 0 };
  },
  flops(input, output, a) {
    const [kh, kw] = a.kernelSize;
    const cin = input[input.length - 1];
    const elements = product(output);
    return 2 * kh * kw * cin * elements + (a.useBias ? elements : 0) + activationFlops(a.activation, elements);
  },
  spatial: true,
  build: (tf, a, ctx) =>
    tf.layers.conv2d({
      filters: a.filters,
      kernelSize: a.kernelSize,
      strides: a.strides,
      padding: a.padding,
      activation: a.activation,
      useBias: a.useBias,
      kernelInitializer: kernelInitializer(tf, a.kernelInitializer, ctx.seed),
      biasInitializer: biasInitializer(tf, a.biasInitializer),
      name: ctx.name,
      inputShape: ctx.inputShape,
    }),
};
