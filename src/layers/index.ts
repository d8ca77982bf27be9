/**
 * The registry of layer kinds. Adding a kind = one file in this folder, its test, and one line here.
 */
import type { LayerKind } from './kind.js';
import { activation } from './activation.js';
import { averagePooling2d } from './averagePooling2d.js';
import { batchNormalization } from './batchNormalization.js';
import { conv2d } from './conv2d.js';
import { dense } from './dense.js';
import { dropout } from './dropout.js';
import { flatten } from './flatten.js';
import { globalAveragePooling2d } from './globalAveragePooling2d.js';
import { maxPooling2d } from './maxPooling2d.js';

export const LAYER_KINDS: readonly LayerKind[] = [
  conv2d,
  maxPooling2d,
  averagePooling2d,
  globalAveragePooling2d,
  flatten,
  dense,
  dropout,
  batchNormalization,
  activation,
];

const byName = new Map(LAYER_KINDS.map((k) => [k.kind, k]));

export function layerKind(kind: string): LayerKind | undefined {
  return byName.get(kind);
}
