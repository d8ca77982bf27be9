/**
 * Step 1 of the pipeline: bytes → YAML Document → plain JS value, plus `locate`, which maps a
 * document path back to a source position for every later diagnostic.
 */
import { readFileSync, statSync } from 'node:fs';
import {
  type CST, Document, LineCounter, Parser, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, visit,
  type Node, type YAMLError,
} from 'yaml';
import type { Diagnostic, Locate, PathSegment, Position } from './diagnostics.js';

export type LoadResult =
  | {
      ok: true;
      file: string;
      text: string;
      /** The parsed value (plain objects, arrays, scalars). */
      doc: unknown;
      locate: Locate;
      /** Warnings only (e.g. an unknown tag); they do not stop the pipeline. */
      diagnostics: Diagnostic[];
    }
  | {
      ok: false;
      file: string;
      diagnostics: Diagnostic[];
      /** The file could not be opened at all (missing, a directory): the CLI exits 2, not 1. */
      usage?: boolean;
      /** Present when the file was read, so callers can still show source context. */
      text?: string;
    };

/** Experiments are a page of YAML; anything this large is a mistake or an attack. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Enough for `*defaults` reuse, far below what an exponential alias bomb needs. */
export const MAX_ALIAS_COUNT = 100;
/**
 * Experiments nest about 5 deep. yaml's composer recurses per level, and when it overflows the
 * stack V8 can abort the whole process (seen in practice: a fatal RegExpCompiler OOM), so depth
 * is measured first on the CST, which yaml builds without recursion.
 */
export const MAX_DEPTH = 64;
/** A broken file can produce hundreds of cascading YAML errors; the first few are the useful ones. */
const MAX_YAML_ERRORS = 20;

export function load(file: string): LoadResult {
  const fail = (message: string, usage = false, hint?: string): LoadResult => ({
    ok: false,
    file,
    usage,
    diagnostics: [{ file, line: 0, column: 0, path: '', severity: 'error', message, ...(hint ? { hint } : {}) }],
  });

  let bytes: Buffer;
  try {
    const st = statSync(file);
    if (st.isDirectory()) return fail('is a directory, not an experiment file', true);
    if (st.size > MAX_FILE_BYTES) {
      return fail(`the file is ${st.size} bytes; experiment files are limited to ${MAX_FILE_BYTES} bytes`);
    }
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return fail('no such file', true);
    if (code === 'EISDIR') return fail('is a directory, not an experiment file', true);
    if (code === 'EACCES' || code === 'EPERM') return fail('cannot read the file: permission denied', true);
    return fail(`cannot read the file: ${(e as Error).message}`, true);
  }
  // A stat on a FIFO or a growing file can lie; the cap must hold for what was actually read.
  if (bytes.length > MAX_FILE_BYTES) {
    return fail(`the file is larger than ${MAX_FILE_BYTES} bytes; experiment files are limited to that`);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    // The prefix before the first bad byte is valid UTF-8 by construction, so it decodes.
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, bad));
    const lines = before.split('\n');
    const line = lines.length;
    // UTF-16 units, like the columns yaml reports for every other diagnostic.
    const column = lines[lines.length - 1].length + 1;
    const hex = bytes[bad].toString(16).padStart(2, '0');
    return {
      ok: false,
      file,
      diagnostics: [{
        file, line, column, path: '', severity: 'error',
        message: `the file is not valid UTF-8 (byte 0x${hex} at offset ${bad})`,
        hint: 'save the file as UTF-8',
      }],
    };
  }
  return loadText(file, text);
}

/** Parses YAML text that is already in memory; `load` is this plus reading and decoding. */
export function loadText(file: string, text: string): LoadResult {
  const lineCounter = new LineCounter();
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));
    return { line, column: col };
  };
  const diag = (offset: number, severity: Diagnostic['severity'], message: string, hint?: string): Diagnostic => ({
    file, ...at(offset), path: '', severity, message, ...(hint ? { hint } : {}),
  });

  const tooDeep = deepestOffset(text, MAX_DEPTH, lineCounter);
  if (tooDeep !== undefined) {
    return { ok: false, file, text, diagnostics: [diag(tooDeep, 'error', `the document nests deeper than ${MAX_DEPTH} levels`)] };
  }

  let document: Document.Parsed;
  try {
    document = parseDocument(text, {
      // The pre-scan filled lineCounter already; a second one keeps yaml from adding every line twice.
      prettyErrors: true, uniqueKeys: true, strict: true, merge: true, lineCounter: new LineCounter(),
    });
  } catch (e) {
    // The depth pre-scan should make this unreachable; a diagnostic still beats a stack trace.
    return { ok: false, file, text, diagnostics: [diag(0, 'error', unexpectedParseFailure(e))] };
  }

  const diagnostics: Diagnostic[] = [];
  // Once yaml's stack gives out, every enclosing level reports a cascade; the first error says it all.
  const exhausted = document.errors.find((e) => e.code === 'RESOURCE_EXHAUSTION');
  const errors = exhausted ? [exhausted] : collapse(document.errors);
  for (const e of errors.slice(0, MAX_YAML_ERRORS)) diagnostics.push(diag(e.pos[0], 'error', yamlMessage(e)));
  if (errors.length > MAX_YAML_ERRORS) {
    const last = errors[MAX_YAML_ERRORS];
    diagnostics.push(diag(last.pos[0], 'error', `${errors.length - MAX_YAML_ERRORS} more YAML errors not shown`));
  }
  for (const w of collapse(document.warnings)) diagnostics.push(diag(w.pos[0], 'warning', yamlMessage(w)));
  if (errors.length > 0) return { ok: false, file, text, diagnostics };

  if (document.contents === null || (isScalar(document.contents) && document.contents.value === null)) {
    diagnostics.push(diag(0, 'error', 'the file is empty; an experiment needs at least name, input, layers and stages'));
    return { ok: false, file, text, diagnostics };
  }

  // An alias whose anchor is missing makes toJS throw without a position; one inside the node it
  // names makes a cyclic value that would send every later step into endless recursion.
  let unresolved: Diagnostic | undefined;
  visit(document, {
    Alias(_, node, ancestors) {
      if (unresolved !== undefined) return visit.BREAK;
      const target = node.resolve(document);
      if (target === undefined) {
        unresolved = diag(node.range?.[0] ?? 0, 'error', `unknown alias '*${node.source}'`,
          `define the anchor '&${node.source}' before using it`);
      } else if (ancestors.includes(target as never)) {
        unresolved = diag(node.range?.[0] ?? 0, 'error', `alias '*${node.source}' is inside the node it refers to`,
          'an experiment cannot contain itself');
      }
    },
  });
  if (unresolved) return { ok: false, file, text, diagnostics: [...diagnostics, unresolved] };

  let doc: unknown;
  try {
    doc = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const message = /alias count/i.test((e as Error).message)
      ? `aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} per alias); the file looks like an alias bomb`
      : unexpectedParseFailure(e);
    return { ok: false, file, text, diagnostics: [...diagnostics, diag(firstAliasOffset(document), 'error', message)] };
  }

  return { ok: true, file, text, doc, locate: makeLocate(document, at), diagnostics };
}

/** Offset of the first collection nested deeper than `limit`, walking the CST with an explicit stack. */
function deepestOffset(text: string, limit: number, lines: LineCounter): number | undefined {
  for (const top of new Parser(lines.addNewLine).parse(text)) {
    const stack: [CST.Token | undefined, number][] = [[top, 0]];
    while (stack.length > 0) {
      const [token, depth] = stack.pop()!;
      if (token === undefined) continue;
      if ('items' in token && Array.isArray(token.items)) {
        if (depth + 1 > limit) return token.offset;
        for (const item of token.items as CST.CollectionItem[]) {
          stack.push([item.key ?? undefined, depth + 1], [item.value ?? undefined, depth + 1]);
        }
      } else if ('value' in token && typeof token.value === 'object' && token.value !== null) {
        stack.push([token.value as CST.Token, depth]);
      }
    }
  }
  return undefined;
}

function unexpectedParseFailure(e: unknown): string {
  if (e instanceof RangeError) return 'the document is nested too deeply to parse';
  return `cannot parse the file: ${(e as Error).message}`;
}

/** One error per code and position: yaml can report the same fault from two levels. */
function collapse<E extends YAMLError>(errors: readonly E[]): E[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.code}:${e.pos[0]}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** yaml's prettified messages append " at line L, column C:" and a source excerpt; we print our own position. */
function yamlMessage(e: YAMLError): string {
  const plain = e.message.replace(/ at line \d+, column \d+[\s\S]*$/, '');
  switch (e.code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key: a mapping may not repeat a key';
    case 'TAB_AS_INDENT':
      return 'tabs are not allowed as indentation; indent with spaces';
    case 'RESOURCE_EXHAUSTION':
      return 'the document is nested too deeply to parse';
    case 'MULTIPLE_DOCS':
      return 'the file holds more than one YAML document (---); an experiment is one document';
    default:
      return plain.charAt(0).toLowerCase() + plain.slice(1);
  }
}

function firstAliasOffset(document: Document): number {
  let offset = 0;
  visit(document, {
    Alias(_, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/** Offset of the first byte that does not begin or continue a well-formed UTF-8 sequence. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n: number;
    let min: number;
    if (c < 0x80) { i++; continue; }
    else if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; }
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid too.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += n + 1;
  }
  return b.length;
}

/**
 * Walks the Document by path segments. Positions come from nodes, not from the JS value, so a
 * diagnostic about `layers[2].conv2d.filters` lands on the characters the user typed.
 */
function makeLocate(document: Document, at: (offset: number) => Position): Locate {
  return (path: readonly PathSegment[], where: 'key' | 'value' = 'key'): Position => {
    let node: unknown = document.contents;
    // Position of the deepest segment found so far: its key (maps) or the item (sequences).
    let keyPos = startOf(node);
    let valuePos = keyPos;
    let found = true;
    for (const seg of path) {
      node = deref(node, document);
      let next: unknown;
      let here: number | undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
        if (pair === undefined) { found = false; break; }
        here = startOf(pair.key) ?? startOf(pair.value);
        next = pair.value;
        // A key with no value (`flatten:`) has a null scalar placed after the key; point at the key.
        valuePos = (isScalar(next) && next.value === null) ? here : startOf(next) ?? here;
      } else if (isSeq(node)) {
        const i = typeof seg === 'number' ? seg : /^\d+$/.test(seg) ? Number(seg) : -1;
        if (i < 0 || i >= node.items.length) { found = false; break; }
        next = node.items[i];
        here = startOf(next);
        valuePos = here;
      } else {
        found = false;
        break;
      }
      keyPos = here ?? keyPos;
      node = next;
    }
    const offset = where === 'value' && found ? valuePos : keyPos;
    return at(offset ?? 0);
  };
}

function deref(node: unknown, document: Document): unknown {
  return isAlias(node) ? node.resolve(document) : node;
}

function startOf(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}
