/**
 * The one diagnostic type that flows through every pipeline step (load → validate → resolve →
 * infer → compile → execute → record). A step never throws for a user's mistake: it returns
 * diagnostics, and the CLI decides the exit code from their severities.
 */
export type Severity = 'error' | 'warning';

export interface Diagnostic {
  file: string;
  /** 1-based; 0 when the fault has no place in the file (e.g. an unreadable file). */
  line: number;
  /** 1-based; 0 when line is 0. */
  column: number;
  /** Where in the document, as `layers[3].conv2d.filters`; '' for the whole file. */
  path: string;
  severity: Severity;
  message: string;
  hint?: string;
}

/** `file:line:col: error: message (hint)` — the form compilers and editors understand. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  const hint = d.hint ? ` — ${d.hint}` : '';
  return `${where}: ${d.severity}: ${d.message}${hint}`;
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

/** Diagnostics sorted by position, so output reads top to bottom like the file. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

/**
 * Thrown only across layers that cannot return diagnostics (e.g. deep inside a training loop);
 * the CLI catches it and prints its diagnostics without a stack trace.
 */
export class DiagnosticError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'DiagnosticError';
  }
}

/** A path as the segments YAML and JSON Schema both use, rendered the way users read it. */
export type PathSegment = string | number;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/** Source position of a document path: where the key (or, failing that, the value) stands. */
export interface Position {
  line: number;
  column: number;
}

/**
 * Finds the position of a path in the loaded document. Falls back to the nearest existing
 * ancestor, so a diagnostic about a missing key points at the mapping that lacks it.
 * `at: 'key'` (default) points at the key, `'value'` at the value.
 */
export type Locate = (path: readonly PathSegment[], at?: 'key' | 'value') => Position;

/** Builds a diagnostic at a document path. */
export function diagnosticAt(
  file: string,
  locate: Locate,
  path: readonly PathSegment[],
  severity: Severity,
  message: string,
  hint?: string,
  at: 'key' | 'value' = 'key',
): Diagnostic {
  const { line, column } = locate(path, at);
  return { file, line, column, path: formatPath(path), severity, message, ...(hint ? { hint } : {}) };
}
