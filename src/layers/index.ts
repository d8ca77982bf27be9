/**
 * The registry of layer kinds. Adding a kind = one file in this folder, its test, and one line here.
 */
import type { LayerKind } from './kind.js';

export const LAYER_KINDS: readonly LayerKind[] = [];

const byName = new Map(LAYER_KINDS.map((k) => [k.kind, k]));

export function layerKind(kind: string): LayerKind | undefined {
  return byName.get(kind);
}
