import type { LayerKind } from './kind.js';
import { formatShape, product } from './common.js';

export type FlattenArgs = Record<string, never>;

export const flatten: LayerKind<FlattenArgs> = {
  kind: 'flatten',
  description: 'Reshape to one axis, [h, w, c] → [h·w·c] (Keras Flatten)',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  resolve: () => ({}),
  // tfjs-layers' Flatten demands at least two axes besides the batch, unlike Keras.
  outputShape: (input) =>
    input.length >= 2
      ? { ok: true, shape: [product(input)] }
      : {
          ok: false,
          fault: {
            message: `needs an input with at least 2 axes, got ${formatShape(input)}`,
            hint: 'the input is already flat; remove this flatten',
          },
        },
  params: () => ({ trainable: 0, nonTrainable: 0 }),
  flops: () => 0,
  spatial: false,
  build: (tf, _a, ctx) => tf.layers.flatten({ name: ctx.name, inputShape: ctx.inputShape }),
};
