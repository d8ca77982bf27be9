/**
 * compile: a checked experiment → a tfjs-layers model, layer for layer as declared, with seeded
 * initializers, so the same config and seed build the same weights on any backend.
 * It refuses anything `cnnc check` refuses, with the same diagnostics.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { CheckResult } from './check.js';
import { type Diagnostic, DiagnosticError, hasErrors } from './diagnostics.js';
import { deriveSeed } from './data/rng.js';
import type { Experiment } from './experiment.js';
import { layerKind } from './layers/index.js';

type Tf = typeof tfjs;

export function compile(tf: Tf, checked: CheckResult): tfjs.Sequential {
  if (!checked.experiment || !checked.inference || hasErrors(checked.diagnostics)) {
    throw new DiagnosticError(checked.diagnostics.filter((d: Diagnostic) => d.severity === 'error'));
  }
  return buildModel(tf, checked.experiment);
}

export function buildModel(tf: Tf, exp: Experiment): tfjs.Sequential {
  const model = tf.sequential({ name: exp.name.replace(/[^A-Za-z0-9_]/g, '_') });
  exp.layers.forEach((spec, i) => {
    const kind = layerKind(spec.kind);
    if (!kind) throw new Error(`internal: layer kind '${spec.kind}' passed the checks but is not registered`);
    model.add(
      kind.build(tf, spec.args, {
        name: spec.name,
        seed: deriveSeed(exp.seed, 'layer', i),
        inputShape: i === 0 ? exp.input : undefined,
      }),
    );
  });
  return model;
}
