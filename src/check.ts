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
import { type LoadResult, load, loadText } from './load.js';
import { resolve } from './resolve.js';
import { printable, validate } from './validate.js';

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

/**
 * Diagnostics per file, at most: a generated file can hold 100,000 faults, and nobody reads past
 * the first screenful. The rest are counted in one more diagnostic.
 */
export const MAX_DIAGNOSTICS = 100;
/** Messages quote the file; a quote is short, but a message must never run to megabytes. */
const MAX_MESSAGE_LENGTH = 1000;

export function checkFile(file: string): CheckResult {
  return checkLoaded(load(file));
}

/**
 * The same checks on text already in memory (an editor buffer, a test): no file is read, so no
 * size or UTF-8 check; `file` only names the diagnostics.
 */
export function checkText(file: string, text: string): CheckResult {
  return checkLoaded(loadText(file, text));
}

function checkLoaded(loaded: LoadResult): CheckResult {
  const { file } = loaded;
  if (!loaded.ok) {
    return {
      file, ok: false, diagnostics: finish(loaded.diagnostics),
      ...(loaded.usage ? { usage: true } : {}), ...(loaded.text !== undefined ? { text: loaded.text } : {}),
    };
  }
  const { text, locate } = loaded;
  // concat, not push(...more): spreading 450,000 diagnostics as arguments overflows the stack.
  let diagnostics = loaded.diagnostics;
  const done = (extra: Partial<CheckResult> = {}): CheckResult => {
    const sorted = finish(diagnostics);
    return { file, ok: !hasErrors(sorted), diagnostics: sorted, text, ...extra };
  };

  diagnostics = diagnostics.concat(validate(loaded));
  if (hasErrors(diagnostics)) return done();

  const resolved = resolve(loaded.doc, file, locate);
  diagnostics = diagnostics.concat(resolved.diagnostics);
  if (resolved.experiment === undefined || hasErrors(diagnostics)) return done();

  const inference = infer(resolved.experiment, file, locate);
  diagnostics = diagnostics.concat(inference.diagnostics);
  return done({ experiment: resolved.experiment, inference });
}

/**
 * Sorted, at most MAX_DIAGNOSTICS (then one that counts the rest), and safe to print: every
 * step quotes the file, and this is the one place all its diagnostics pass through.
 */
function finish(all: readonly Diagnostic[]): Diagnostic[] {
  const sorted = sortDiagnostics(all);
  const kept = sorted.slice(0, MAX_DIAGNOSTICS);
  if (sorted.length > MAX_DIAGNOSTICS) {
    const rest = sorted.slice(MAX_DIAGNOSTICS);
    const errors = rest.filter((d) => d.severity === 'error').length;
    const what = errors === rest.length ? 'errors' : errors === 0 ? 'warnings' : `problems (${errors} of them errors)`;
    const { file, line, column } = rest[0];
    kept.push({
      file, line, column, path: '', severity: errors > 0 ? 'error' : 'warning',
      message: `${rest.length} more ${what} not shown`, hint: 'fix the ones above first',
    });
  }
  return kept.map(({ hint, ...d }) => {
    const safeHint = hint === undefined ? undefined : clip(printable(hint));
    return { ...d, message: clip(printable(d.message)), ...(safeHint ? { hint: safeHint } : {}) };
  });
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}…` : text;
}
