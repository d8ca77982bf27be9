import type { LayerKind } from './kind.js';
import { needsImage } from './common.js';

export type GlobalAveragePooling2dArgs = Record<string, never>;

export const globalAveragePooling2d: LayerKind<GlobalAveragePooling2dArgs> = {
  kind: 'globalAveragePooling2d',
  description: 'Mean over height and width, [h, w, c] → [c] (Keras GlobalAveragePooling2D)',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  resolve: () => ({}),
  outputShape: (input) =>
    input.length === 3
      ? { ok: true, shape: [input[2]] }
      : { ok: false, fault: needsImage(input, 'global pooling replaces flatten; it cannot follow it') },
  params: () => ({ trainable: 0, nonTrainable: 0 }),
  flops: (input) => input[0] * input[1] * input[2],
  spatial: false,
  build: (tf, _a, ctx) => tf.layers.globalAveragePooling2d({ name: ctx.name, inputShape: ctx.inputShape }),
};
