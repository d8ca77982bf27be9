/** Building resolved layers by hand, for engine tests that bypass the YAML front end. */
import type { LayerSpec } from '../../src/experiment.js';
import { layerKind } from '../../src/layers/index.js';

export function layer(index: number, kind: string, args: Record<string, unknown>): LayerSpec {
  return { index, kind, name: `${kind}_${index}`, args: layerKind(kind)!.resolve(args), path: ['layers', index] };
}
