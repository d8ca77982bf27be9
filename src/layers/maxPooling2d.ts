import { poolingKind } from './common.js';

export const maxPooling2d = poolingKind(
  'maxPooling2d',
  'Maximum over each window, per channel (Keras MaxPooling2D)',
  (tf, a, ctx) =>
    tf.layers.maxPooling2d({
      poolSize: a.poolSize,
      strides: a.strides,
      padding: a.padding,
      name: ctx.name,
      inputShape: ctx.inputShape,
    }),
);
