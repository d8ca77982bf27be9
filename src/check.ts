/**
 * The static half of the pipeline: load → validate → resolve → infer, stopping after the first
 * step that reports an error (later steps assume earlier ones passed; warnings flow on).
 *
 * Must never import TensorFlow.js, directly or through another module: `cnnc check` is instant
 * because it does not load it. test/cli-check.test.ts enforces this with a resolve hook.
 */
import { type Diagnostic, hasErrors, sortDiagnostics } from './diagnostics.js';
import type { Experiment } from './experiment.js';
import { type Inference, infer } from './infer.js';
import { load } from './load.js';
import { resolve } from './resolve.js';
import { validate } from './validate.js';

export interface CheckResult {
  file: string;
  /** No error-severity diagnostic (warnings allowed). */
  ok: boolean;
  /** Sorted by position. */
  diagnostics: Diagnostic[];
  /** The file could not be opened (missing, a directory): a usage error, exit 2. */
  usage?: boolean;
  /** Present once resolve succeeded. */
  experiment?: Experiment;
  /** Present once infer ran (it may still hold errors, e.g. a shape that does not fit). */
  inference?: Inference;
  /** The source text, when the file could be read and decoded. */
  text?: string;
}

export function checkFile(file: string): CheckResult {
  const loaded = load(file);
  if (!loaded.ok) {
    return {
      file, ok: false, diagnostics: sortDiagnostics(loaded.diagnostics),
      ...(loaded.usage ? { usage: true } : {}), ...(loaded.text !== undefined ? { text: loaded.text } : {}),
    };
  }
  const { text, locate } = loaded;
  const diagnostics = [...loaded.diagnostics];
  const done = (extra: Partial<CheckResult> = {}): CheckResult => {
    const sorted = sortDiagnostics(diagnostics);
    return { file, ok: !hasErrors(sorted), diagnostics: sorted, text, ...extra };
  };

  diagnostics.push(...validate(loaded));
  if (hasErrors(diagnostics)) return done();

  const resolved = resolve(loaded.doc, file, locate);
  diagnostics.push(...resolved.diagnostics);
  if (resolved.experiment === undefined || hasErrors(diagnostics)) return done();

  const inference = infer(resolved.experiment, file, locate);
  diagnostics.push(...inference.diagnostics);
  return done({ experiment: resolved.experiment, inference });
}
