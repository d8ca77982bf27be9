/**
 * Step 1 of the pipeline: bytes → YAML Document → plain JS value, plus `locate`, which maps a
 * document path back to a source position for every later diagnostic.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { Alias, CST, Document, Node, Pair, YAMLError, YAMLMap } from 'yaml';
import type { Diagnostic, Locate, PathSegment, Position } from './diagnostics.js';
import { locateInSubset, parseSubset } from './yaml-subset.js';

/**
 * yaml is loaded only for files outside the fast subset (see yaml-subset.ts): importing it cost
 * as much as checking dozens of files that never need it.
 */
let yamlModule: typeof Yaml | undefined;
const yaml = (): typeof Yaml => (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml);

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
/**
 * Aliases may add at most this many nodes to the document, counted through nested aliases: ample
 * for `*defaults` reuse, far below the billions an alias bomb expands to. cnnc measures this
 * itself, in one linear pass, instead of using yaml's `maxAliasCount`: yaml's count re-walks the
 * whole document for every nested alias (quadratic), and an alias of an empty collection never
 * counts at all, so a 10 KB file of `[*e, *e, …]` lists kept it busy for minutes.
 */
export const MAX_ALIAS_NODES = 10_000;
/**
 * yaml resolves each alias by scanning every anchor and alias before it, so toJS costs
 * aliases × (anchors + aliases); these caps keep that under a million steps. An experiment uses
 * a handful of each.
 */
export const MAX_ALIASES = 1000;
export const MAX_ANCHORS = 1000;
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
    // A regular file's size is known; a pipe or device (/dev/zero) is read up to the cap.
    bytes = readAtMost(file, st.isFile() ? st.size + 1 : MAX_FILE_BYTES + 1);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return fail('no such file', true);
    if (code === 'EISDIR') return fail('is a directory, not an experiment file', true);
    if (code === 'EACCES' || code === 'EPERM') return fail('cannot read the file: permission denied', true);
    return fail(`cannot read the file: ${(e as Error).message}`, true);
  }
  // A stat on a FIFO, a device or a growing file can lie; the cap must hold for what was read.
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

/**
 * The first `limit` bytes of a file, or all of it if shorter. readFileSync reads to the end,
 * and /dev/zero (size 0 to stat) has none: `cnnc check /dev/zero` read until memory ran out.
 * Pipes still work (`cnnc check <(generate)`), up to the limit.
 */
function readAtMost(file: string, limit: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    // allocUnsafe: only the bytes read are returned, and a fresh zeroed megabyte per file was
    // most of checking many small files.
    const buffer = Buffer.allocUnsafe(limit);
    let length = 0;
    while (length < limit) {
      const n = readSync(fd, buffer, length, limit - length, null);
      if (n === 0) break;
      length += n;
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** Parses YAML text that is already in memory; `load` is this plus reading and decoding. */
export function loadText(file: string, text: string): LoadResult {
  const at = positionsIn(text);
  const diag = diagnosticsIn(file, at);

  // Classic Mac OS line endings: yaml does not take a lone CR for a line break, so the file
  // reads as one long line and fails with errors that never mention why.
  const cr = text.indexOf('\r');
  if (cr >= 0 && !text.includes('\n') && text.indexOf('\r', cr + 1) >= 0) {
    return {
      ok: false, file, text,
      diagnostics: [diag(cr, 'error', 'the lines end in a carriage return (CR) alone, which YAML does not read as a line break', 'save the file with LF or CRLF line endings')],
    };
  }

  const simple = parseSubset(text);
  if (simple) return { ok: true, file, text, doc: simple.value, locate: locateInSubset(simple, at), diagnostics: [] };
  return loadWithYaml(file, text, at, diag);
}

/**
 * The full YAML parser, for every file outside the fast subset and for every error. Exported so
 * a test can hold the fast path to exactly what this returns.
 */
export function loadWithYaml(
  file: string,
  text: string,
  at: (offset: number) => Position = positionsIn(text),
  diag: DiagnosticAt = diagnosticsIn(file, at),
): LoadResult {
  // One lexing pass serves both the depth check and the composer (parsing was check's main cost).
  const { Parser, isScalar } = yaml();
  let tokens: CST.Token[];
  try {
    tokens = [...new Parser().parse(text)];
  } catch (e) {
    return { ok: false, file, text, diagnostics: [diag(0, 'error', unexpectedParseFailure(e))] };
  }
  const tooDeep = deepestOffset(tokens, MAX_DEPTH);
  if (tooDeep !== undefined) {
    return { ok: false, file, text, diagnostics: [diag(tooDeep, 'error', `the document nests deeper than ${MAX_DEPTH} levels`)] };
  }

  let document: Document.Parsed;
  // A megabyte of broken YAML makes 500,000 errors, and capturing a stack trace for each took most
  // of the 8 s such a file cost; their stacks are never shown. Parsing is synchronous, so the
  // global setting is restored before anything else runs.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    document = composeFirst(tokens, text.length, {
      // uniqueKeys is off because yaml compares each key with every earlier key of its mapping
      // (60,000 keys took 27 s); scanStructure finds duplicates with a Set instead. Errors are
      // not prettified: that builds a source excerpt for each, and we print our own position.
      uniqueKeys: false, strict: true, merge: true,
    });
  } catch (e) {
    // The depth pre-scan should make this unreachable; a diagnostic still beats a stack trace.
    return { ok: false, file, text, diagnostics: [diag(0, 'error', unexpectedParseFailure(e))] };
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }

  const diagnostics: Diagnostic[] = [];
  const structure = scanStructure(document);
  // Once yaml's stack gives out, every enclosing level reports a cascade; the first error says it all.
  const exhausted = document.errors.find((e) => e.code === 'RESOURCE_EXHAUSTION');
  const yamlErrors = exhausted ? [exhausted] : streamCascade(collapse(document.errors));
  // Duplicates always (yaml reported them alongside syntax errors too); the other key checks
  // only on a clean parse, where a collection key is the user's and not a broken parse's.
  const ours = exhausted ? [] : [...structure.duplicates, ...(yamlErrors.length === 0 ? structure.keyErrors : [])];
  const errors: (Problem | YAMLError)[] = [...yamlErrors, ...ours].sort((a, b) => offsetOf(a) - offsetOf(b));
  // Messages are worded only for the errors shown.
  for (const e of errors.slice(0, MAX_YAML_ERRORS)) {
    if ('offset' in e) diagnostics.push(diag(e.offset, 'error', e.message, e.hint));
    else diagnostics.push(yamlDiagnostic(e, document, diag));
  }
  if (errors.length > MAX_YAML_ERRORS) {
    const last = errors[MAX_YAML_ERRORS];
    diagnostics.push(diag(offsetOf(last), 'error', `${errors.length - MAX_YAML_ERRORS} more YAML errors not shown`));
  }
  for (const w of collapse(document.warnings)) diagnostics.push(diag(w.pos[0], 'warning', yamlMessage(w)));
  if (errors.length > 0) return { ok: false, file, text, diagnostics };

  if (document.contents === null || (isScalar(document.contents) && document.contents.value === null)) {
    diagnostics.push(diag(0, 'error', 'the file is empty; an experiment needs at least name, input, layers and stages'));
    return { ok: false, file, text, diagnostics };
  }

  // Aliases: a missing anchor makes toJS throw without a position, one inside the node it names
  // makes a cyclic value that would send every later step into endless recursion, and a bomb
  // would exhaust memory. All are refused here, before anything is expanded.
  const aliasProblem = structure.aliasProblem ?? measureAliases(document, structure);
  if (aliasProblem) {
    return { ok: false, file, text, diagnostics: [...diagnostics, diag(aliasProblem.offset, 'error', aliasProblem.message, aliasProblem.hint)] };
  }

  let doc: unknown;
  try {
    // -1: no counting by yaml (see MAX_ALIAS_NODES); measureAliases has bounded the expansion.
    doc = document.toJS({ maxAliasCount: -1 });
  } catch (e) {
    return { ok: false, file, text, diagnostics: [...diagnostics, diag(0, 'error', unexpectedParseFailure(e))] };
  }

  return { ok: true, file, text, doc, locate: makeLocate(document, at, structure.targets), diagnostics };
}

type DiagnosticAt = (offset: number, severity: Diagnostic['severity'], message: string, hint?: string) => Diagnostic;

/** Offset → line and column (UTF-16 units, 1-based). */
function positionsIn(text: string): (offset: number) => Position {
  // Line starts counted here, not by yaml's LineCounter: its lexer skips the newline inside a
  // quoted string in some broken files (found by test/property.test.ts), and every later
  // position then lands a line too high, past the end of a shorter line.
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  return (offset: number): Position => {
    const o = Math.max(0, Math.min(offset, text.length));
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: o - lineStarts[lo] + 1 };
  };
}

function diagnosticsIn(file: string, at: (offset: number) => Position): DiagnosticAt {
  return (offset, severity, message, hint) => ({ file, ...at(offset), path: '', severity, message, ...(hint ? { hint } : {}) });
}

/** A fault found by cnnc's own pass over the parsed document, at a source offset. */
interface Problem {
  offset: number;
  message: string;
  hint?: string;
}

function offsetOf(e: Problem | YAMLError): number {
  return 'offset' in e ? e.offset : e.pos[0];
}

interface Structure {
  /** Duplicate keys: reported like YAML errors. */
  duplicates: Problem[];
  /** Keys that are collections, bad merge values: reported like YAML errors on a clean parse. */
  keyErrors: Problem[];
  /** The first alias fault: an unknown or cyclic alias, too many aliases or anchors. */
  aliasProblem?: Problem;
  /** Each alias's anchored node. */
  targets: Map<Alias, Node>;
  /** Nodes as written (an alias counts 1); the baseline for the alias expansion. */
  nodes: number;
}

/** An anchor or alias name as shown in a message: a generated file can make one huge. */
function anchorName(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}…` : name;
}

/**
 * One linear pass over the parsed document, in document order, so that an alias's target is the
 * last anchor of its name before it, as in YAML (and yaml's Alias.resolve, which re-walks the
 * whole document per call: quadratic over a file of aliases).
 */
function scanStructure(document: Document.Parsed): Structure {
  const { isAlias, isMap, isPair, isScalar, isSeq, visit } = yaml();
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node>();
  const maps: YAMLMap[] = [];
  let aliasProblem: Problem | undefined;
  let nodes = 0;
  let aliases = 0;
  let anchored = 0;
  visit(document, (_key, node, ancestors) => {
    if (isPair(node) || node === null) return;
    nodes++;
    if (isAlias(node)) {
      if (aliasProblem !== undefined) return;
      const offset = node.range?.[0] ?? 0;
      const target = anchors.get(node.source);
      if (++aliases > MAX_ALIASES) {
        aliasProblem = { offset, message: `the file uses more than ${MAX_ALIASES} aliases`, hint: 'an experiment needs only a few' };
      } else if (target === undefined) {
        aliasProblem = { offset, message: `unknown alias '*${anchorName(node.source)}'`, hint: `define the anchor '&${anchorName(node.source)}' before using it` };
      } else if (ancestors.includes(target as never)) {
        aliasProblem = { offset, message: `alias '*${anchorName(node.source)}' is inside the node it refers to`, hint: 'an experiment cannot contain itself' };
      } else {
        targets.set(node, target);
      }
      return;
    }
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) {
      if (++anchored > MAX_ANCHORS && aliasProblem === undefined) {
        aliasProblem = { offset: (node as Node).range?.[0] ?? 0, message: `the file defines more than ${MAX_ANCHORS} anchors`, hint: 'an experiment needs only a few' };
      }
      anchors.set(anchor, node as Node);
    }
    if (isMap(node)) maps.push(node);
  });

  // Keys are checked once every alias has its target, since a key may itself be an alias.
  const keyErrors: Problem[] = [];
  const duplicates: Problem[] = [];
  const resolved = (n: unknown) => (isAlias(n) ? targets.get(n) : n);
  const offsetOf = (n: unknown, fallback = 0) => (n as Node | null)?.range?.[0] ?? fallback;
  for (const map of maps) {
    const seen = new Set<unknown>();
    for (const pair of map.items) {
      const { key } = pair;
      const target = resolved(key);
      // yaml would turn such a key into its YAML text and print a warning on stderr.
      if (isMap(target) || isSeq(target) || (isScalar(target) && typeof target.value === 'object' && target.value !== null)) {
        keyErrors.push({ offset: offsetOf(key), message: 'a key must be a plain value such as a name, not a list, mapping or binary value' });
        continue;
      }
      if (isScalar(key) && typeof key.value === 'symbol') {
        // A merge key `<<`: yaml throws, without a position, unless its value is a mapping or list of them.
        const value = resolved(pair.value);
        const sources: unknown[] = isSeq(value) ? value.items : [pair.value];
        // An unknown alias among them is reported as such, below.
        const dangling = [pair.value, ...sources].some((n) => isAlias(n) && !targets.has(n));
        if (!dangling && !sources.every((n) => isMap(resolved(n)))) {
          keyErrors.push({
            offset: offsetOf(pair.value, offsetOf(key)),
            message: "the merge key '<<' needs a mapping, an alias of one, or a list of those",
            hint: "e.g. '<<: *defaults', with '&defaults' on a mapping",
          });
        }
        continue; // every `<<` is a key of its own
      }
      if (isAlias(key)) continue; // yaml compares alias keys by identity: never equal
      const value = isScalar(key) ? key.value : null;
      if (seen.has(value)) duplicates.push({ offset: offsetOf(key, offsetOf(pair.value)), message: 'duplicate key: a mapping may not repeat a key' });
      else seen.add(value);
      // A number or boolean key becomes a JS key by String(value): `.inf:` turned into 'Infinity'
      // and `0x1F:` into '31' in "unknown key …" messages. Keep the text the user wrote.
      if (isScalar(key) && (typeof key.value === 'number' || typeof key.value === 'boolean') && typeof key.source === 'string' && !key.anchor) {
        key.value = key.source;
      }
    }
  }
  return { duplicates, keyErrors, aliasProblem, targets, nodes };
}

/**
 * The size and depth of the document with every alias expanded, measured without expanding:
 * one post-order walk in document order, where an alias weighs what its anchored node weighed
 * (already measured, since it comes earlier and does not contain the alias).
 */
function measureAliases(document: Document.Parsed, { targets, nodes }: Structure): Problem | undefined {
  const { isAlias, isMap, isPair, isSeq } = yaml();
  if (targets.size === 0) return undefined;
  const measured = new Map<Node, [size: number, depth: number]>();
  let biggest: [Alias, number] | undefined;
  let deepest: [Alias, number] | undefined;
  const measure = (node: unknown): [number, number] => {
    if (node === null || node === undefined) return [0, 0];
    if (isAlias(node)) {
      const m = measured.get(targets.get(node) as Node) ?? [1, 0];
      if (biggest === undefined || m[0] > biggest[1]) biggest = [node, m[0]];
      if (deepest === undefined || m[1] > deepest[1]) deepest = [node, m[1]];
      return m;
    }
    let size = 1;
    let depth = 0;
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items as unknown[]) {
        for (const child of isPair(item) ? [item.key, item.value] : [item]) {
          const [s, d] = measure(child);
          size += s;
          depth = Math.max(depth, d);
        }
      }
      depth += 1;
    }
    if ((node as { anchor?: string }).anchor) measured.set(node as Node, [size, depth]);
    return [size, depth];
  };
  const [size, depth] = measure(document.contents);
  // Infinity (a bomb whose count overflows) compares as more, as it should.
  if (biggest && !(size - nodes <= MAX_ALIAS_NODES)) {
    return {
      offset: biggest[0].range?.[0] ?? 0,
      message: `aliases expand the document by more than ${MAX_ALIAS_NODES} nodes; the file looks like an alias bomb`,
    };
  }
  if (deepest && depth > MAX_DEPTH) {
    return { offset: deepest[0].range?.[0] ?? 0, message: `with its aliases expanded, the document nests deeper than ${MAX_DEPTH} levels` };
  }
  return undefined;
}

/** The first document of the token stream, as yaml's parseDocument composes it; a second one is an error. */
function composeFirst(tokens: CST.Token[], length: number, options: ConstructorParameters<typeof Yaml.Composer>[0]): Document.Parsed {
  const { Composer, YAMLParseError } = yaml();
  let doc: Document.Parsed | undefined;
  for (const next of new Composer(options).compose(tokens, true, length)) {
    if (!doc) {
      doc = next;
    } else {
      doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents'));
      break;
    }
  }
  return doc!; // compose(…, forceDoc = true) always yields one
}

/** Offset of the first collection nested deeper than `limit`, walking the CST with an explicit stack. */
function deepestOffset(tokens: CST.Token[], limit: number): number | undefined {
  for (const top of tokens) {
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

/** yaml's "Unexpected … token in YAML stream": the document has ended and nothing after it parses. */
const STREAM_TOKEN = /^Unexpected (\S+) token in YAML stream: ("(?:[^"\\]|\\.)*")/;

/**
 * After a stray `]` or `}` yaml ends the document and reports every later token of the file,
 * 35 errors for one stray bracket; the first says it all.
 */
function streamCascade(errors: YAMLError[]): YAMLError[] {
  let seen = false;
  return errors.filter((e) => {
    if (!STREAM_TOKEN.test(e.message)) return true;
    if (seen) return false;
    seen = true;
    return true;
  });
}

/** A YAML error as a diagnostic, moved to where the fault begins when yaml reports where it ends. */
function yamlDiagnostic(
  e: YAMLError,
  document: Document.Parsed,
  diag: (offset: number, severity: 'error', message: string, hint?: string) => Diagnostic,
): Diagnostic {
  if (e.code === 'MISSING_CHAR' && /closing .?quote/.test(e.message)) {
    const { visit } = yaml();
    // yaml reports an unterminated string at the end of the file; the user needs its opening quote.
    let start: number | undefined;
    visit(document, {
      Scalar(_, node) {
        if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && node.range?.[1] === e.pos[0]) {
          start = node.range[0];
          return visit.BREAK;
        }
      },
    });
    if (start !== undefined) {
      const quote = e.message.includes('"') ? '"' : "'";
      return diag(start, 'error', `this quoted string has no closing ${quote}`, 'it runs to the end of the file');
    }
  }
  return diag(e.pos[0], 'error', yamlMessage(e));
}

/** yaml's prettified messages append " at line L, column C:" and a source excerpt; we print our own position (and parse without prettyErrors now, so this is a safeguard). */
function yamlMessage(e: YAMLError): string {
  const plain = e.message.replace(/ at line \d+, column \d+[\s\S]*$/, '');
  const stream = STREAM_TOKEN.exec(plain);
  if (stream) {
    // yaml's token names (flow-seq-end) mean nothing to a user; the character does.
    const shown = stream[2].length > 42 ? `${stream[2].slice(0, 41)}…"` : stream[2];
    return stream[1] === 'flow-seq-end' || stream[1] === 'flow-map-end'
      ? `unexpected ${shown}: it closes nothing that is open, and the rest of the file cannot be read`
      : `unexpected ${shown} after the end of the document; the rest of the file cannot be read`;
  }
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
function makeLocate(document: Document, at: (offset: number) => Position, targets: ReadonlyMap<Alias, Node>): Locate {
  const { isAlias, isMap, isPair, isScalar, isSeq } = yaml();
  // Keys by text, per mapping, built on first use: a linear search per lookup made a file with
  // 60,000 unknown keys (one diagnostic each) quadratic.
  const keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
  const findPair = (map: YAMLMap, key: string): Pair | undefined => {
    let index = keyIndex.get(map);
    if (index === undefined) {
      index = new Map();
      for (const p of map.items) if (isPair(p) && !index.has(keyText(p.key))) index.set(keyText(p.key), p);
      keyIndex.set(map, index);
    }
    return index.get(key);
  };
  return (path: readonly PathSegment[], where: 'key' | 'value' = 'key'): Position => {
    let node: unknown = document.contents;
    // Position of the deepest segment found so far: its key (maps) or the item (sequences).
    let keyPos = startOf(node);
    let valuePos = keyPos;
    let found = true;
    for (const seg of path) {
      // The targets found by scanStructure: Alias.resolve would re-walk the whole document.
      if (isAlias(node)) node = targets.get(node);
      let next: unknown;
      let here: number | undefined;
      if (isMap(node)) {
        const pair = findPair(node, String(seg));
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

function startOf(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

function keyText(key: unknown): string {
  const { isScalar } = yaml();
  // A null key becomes '' in the JS value (`: x`), so paths name it ''.
  if (key === null || (isScalar(key) && key.value === null)) return '';
  if (isScalar(key)) return String(key.value);
  return String(key);
}
