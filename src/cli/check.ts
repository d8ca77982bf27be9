/**
 * `cnnc check <files...> [--json] [--quiet]`: the static checks and the model summary.
 * Diagnostics go to stderr, summaries to stdout (so `2>/dev/null` leaves the tables, and an
 * editor's problem matcher reads stderr alone); --json puts one report on stdout instead.
 */
import { type CheckResult, checkFile } from '../check.js';
import { formatDiagnostic } from '../diagnostics.js';
import { formatSummary } from '../summary.js';
import type { ArgSpec } from './args.js';

export const spec: ArgSpec = {
  positionals: [{ name: 'files', describe: 'Experiment YAML files', required: true, variadic: true }],
  options: {
    json: { type: 'boolean', default: false, describe: 'Print one JSON report on stdout instead of text' },
    quiet: { type: 'boolean', short: 'q', default: false, describe: 'Print diagnostics only, no summary' },
  },
};

export async function handler(args: Record<string, unknown>): Promise<number> {
  const files = (args.files as unknown[]).map(String);
  const results = files.map(checkFile);
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ files: results.map(fileReport) }, null, 2)}\n`);
  } else {
    results.forEach((r, i) => {
      for (const d of r.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
      if (!args.quiet && r.inference) {
        const gap = i > 0 ? '\n' : '';
        process.stdout.write(`${gap}${formatSummary(r.inference, r.experiment?.name ?? r.file)}\n`);
      }
    });
  }
  return exitCode(results);
}

/** 2 if a file could not be opened at all, else 1 if any has an error, else 0. */
export function exitCode(results: readonly CheckResult[]): number {
  if (results.some((r) => r.usage)) return 2;
  return results.some((r) => !r.ok) ? 1 : 0;
}

/** One file's entry in the `--json` report. */
export function fileReport(r: CheckResult) {
  return {
    file: r.file,
    ok: r.ok,
    diagnostics: r.diagnostics.map((d) => ({
      severity: d.severity,
      line: d.line,
      column: d.column,
      path: d.path,
      message: d.message,
      ...(d.hint ? { hint: d.hint } : {}),
    })),
    layers: (r.inference?.layers ?? []).map((l) => ({
      index: l.index,
      name: l.name,
      type: l.type,
      outputShape: l.outputShape,
      params: l.params,
      trainableParams: l.trainableParams,
      flops: l.flops,
    })),
    totalParams: r.inference ? r.inference.totalParams : null,
    shapeFlow: r.inference ? r.inference.shapeFlow : null,
  };
}
