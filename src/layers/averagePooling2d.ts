import { poolingKind } from './common.js';

export const averagePooling2d = poolingKind(
  'averagePooling2d',
  'Mean over each window, per channel (Keras AveragePooling2D)',
  (tf, a, ctx) =>
    tf.layers.averagePooling2d({
      poolSize: a.poolSize,
      strides: a.strides,
      padding: a.padding,
      name: ctx.name,
      inputShape: ctx.inputShape,
    }),
);
