/**
 * `cnnc diff A B [C ...] [--json]`: compare experiment files and run directories. Differences
 * are the output, not a failure: exit 0 whether or not they differ, 1 if a config has errors,
 * 2 if a source cannot be used at all.
 */
import { type Diagnostic, formatDiagnostic } from '../diagnostics.js';
import { compare, comparisonJson, formatComparison } from '../compare/diff.js';
import { type Source, SourceError, loadSource } from '../compare/sources.js';
import type { ArgSpec } from './args.js';

export const spec: ArgSpec = {
  // At least one, not two: the handler says what a single source lacks.
  positionals: [{ name: 'sources', describe: 'Two or more experiment files or run directories', required: true, variadic: true }],
  options: {
    json: { type: 'boolean', default: false, describe: 'Print one JSON report on stdout instead of text' },
  },
};

export async function handler(args: Record<string, unknown>): Promise<number> {
  const paths = (args.sources as unknown[]).map(String);
  if (paths.length < 2) {
    process.stderr.write(`cnnc: diff needs at least two experiment files or run directories (got ${paths.length})\n`);
    return 2;
  }
  // Every source is tried, so one invocation reports every bad path, not just the first.
  const sources: Source[] = [];
  let code = 0;
  for (const p of paths) {
    try {
      sources.push(loadSource(p));
    } catch (e) {
      if (!(e instanceof SourceError)) throw e;
      if (e.diagnostics.length > 0) printDiagnostics(e.diagnostics);
      else process.stderr.write(`cnnc: ${e.message}\n`);
      code = Math.max(code, e.exitCode);
    }
  }
  if (code !== 0) return code;

  const c = compare(sources);
  const width = process.stdout.isTTY ? process.stdout.columns : undefined;
  process.stdout.write(args.json ? `${JSON.stringify(comparisonJson(c), null, 2)}\n` : `${formatComparison(c, { width })}\n`);
  return 0;
}

function printDiagnostics(ds: readonly Diagnostic[]): void {
  for (const d of ds) process.stderr.write(`${formatDiagnostic(d)}\n`);
}
