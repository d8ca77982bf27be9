/**
 * A fast path for the YAML experiments are written in: block mappings and sequences, one-line
 * flow collections, plain names and numbers, one-line quoted strings without escapes, comments.
 * Anything else — anchors, tags, multi-line or escaped scalars, tabs, CR line ends, duplicate
 * keys, and every error — returns undefined, and load.ts takes the full `yaml` parser, which owns
 * all diagnostics. What this accepts it reads exactly as yaml does, value and source positions
 * alike (test/yaml-subset.test.ts compares the two on every fixture and on generated documents).
 *
 * Why it exists: checking a directory of configs spent most of its time in yaml's lexer and
 * composer running cold (not yet optimised by V8), and in importing yaml at all.
 */
import type { Locate, PathSegment, Position } from './diagnostics.js';

/** A node where it starts in the text, with its plain JS value (as yaml's toJS gives it). */
export type SubsetNode =
  | { kind: 'map'; start: number; value: Record<string, unknown>; entries: Map<string, { keyStart: number; node: SubsetNode }> }
  | { kind: 'seq'; start: number; value: unknown[]; items: SubsetNode[] }
  | { kind: 'scalar'; start: number; value: string | number | boolean | null };

/** Nesting beyond this is left to yaml (which measures and refuses MAX_DEPTH itself). */
const MAX_SUBSET_DEPTH = 32;

/**
 * Characters the fast path never decides about: tabs (indentation errors), CR, other controls,
 * a BOM, C1 controls and lone surrogates. Their presence anywhere sends the file to yaml.
 */
const UNSUPPORTED_CHAR = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\ufeff\ud800-\udfff]/;
/** A key, or a plain string value: a name as experiments use them. */
const NAME = /[A-Za-z_][A-Za-z0-9_.-]*/y;
const WHOLE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Where a plain scalar ends, in a block and in a flow collection. */
const BLOCK_PLAIN = /[^ #\n]*/y;
const FLOW_PLAIN = /[^ #\n,\]}]*/y;
/** yaml's core schema (YAML 1.2): the words that are not strings. */
const NULL_WORDS = new Set(['null', 'Null', 'NULL']);
const BOOL_WORDS = new Map([['true', true], ['True', true], ['TRUE', true], ['false', false], ['False', false], ['FALSE', false]]);
/** Core-schema integers short enough that parseInt is exact; longer ones go to yaml. */
const INT = /^-?[0-9]{1,15}$/;
/** Core-schema floats with a fraction, an exponent or both (never .inf or .nan). */
const FLOAT = /^-?(?:(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)$/;

/** yaml's toJS defines __proto__ as an own property, and a core-schema word is not a string key. */
const plainKey = (key: string) => key !== '__proto__' && !NULL_WORDS.has(key) && !BOOL_WORDS.has(key);

class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported();

/** The document if it lies within the subset, else undefined. */
export function parseSubset(text: string): SubsetNode | undefined {
  if (UNSUPPORTED_CHAR.test(text)) return undefined;
  try {
    return new SubsetParser(text).document();
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

class SubsetParser {
  /** Start of the next line not yet consumed that holds content (or text.length). */
  private pos = 0;
  /** Just past the flow collection or scalar that `inline` last read. */
  private end = 0;

  constructor(private readonly text: string) {}

  document(): SubsetNode {
    this.skipBlankLines();
    if (this.pos >= this.text.length) throw UNSUPPORTED; // empty: yaml words that error
    const indent = this.indentAt(this.pos);
    const root = this.block(indent, this.pos + indent, 0);
    if (this.pos < this.text.length) throw UNSUPPORTED; // e.g. a less indented line after it
    return root;
  }

  /** A block collection whose first item begins at `p`, in column `col`. */
  private block(col: number, p: number, depth: number): SubsetNode {
    if (depth > MAX_SUBSET_DEPTH) throw UNSUPPORTED;
    if (this.isSeqItem(p)) return this.sequence(col, p, depth);
    if (this.keyEnd(p) !== undefined) return this.mapping(col, p, depth);
    throw UNSUPPORTED;
  }

  private mapping(col: number, p: number, depth: number): SubsetNode {
    const value: Record<string, unknown> = {};
    const entries = new Map<string, { keyStart: number; node: SubsetNode }>();
    const start = p;
    for (;;) {
      const keyEnd = this.keyEnd(p);
      if (keyEnd === undefined) throw UNSUPPORTED;
      const key = this.text.slice(p, keyEnd);
      if (entries.has(key) || !plainKey(key)) throw UNSUPPORTED;
      const q = this.skipSpaces(keyEnd + 1);
      let entry: SubsetNode;
      if (this.atLineEnd(q)) {
        this.pos = this.nextLine(q);
        this.skipBlankLines();
        const indent = this.indentAt(this.pos);
        const c = this.pos + indent;
        if (this.pos < this.text.length && indent > col) entry = this.block(indent, c, depth + 1);
        // `key:` with its list on the next lines at the key's own indent is legal YAML.
        else if (this.pos < this.text.length && indent === col && this.isSeqItem(c)) entry = this.sequence(indent, c, depth + 1);
        else entry = { kind: 'scalar', start: q, value: null };
      } else {
        entry = this.inlineToLineEnd(q, depth + 1);
      }
      value[key] = entry.value;
      entries.set(key, { keyStart: p, node: entry });

      if (this.pos >= this.text.length) break;
      const indent = this.indentAt(this.pos);
      if (indent < col) break;
      if (indent > col) throw UNSUPPORTED;
      p = this.pos + indent;
    }
    return { kind: 'map', start, value, entries };
  }

  private sequence(col: number, p: number, depth: number): SubsetNode {
    const value: unknown[] = [];
    const items: SubsetNode[] = [];
    const start = p;
    for (;;) {
      const q = this.skipSpaces(p + 1);
      // An empty item, or one whose content starts on the next line, or `- - x`: left to yaml.
      if (this.atLineEnd(q) || this.isSeqItem(q)) throw UNSUPPORTED;
      const item = this.keyEnd(q) !== undefined
        ? this.mapping(q - this.lineStart(q), q, depth + 1) // `- conv2d: {…}` and the keys below it
        : this.inlineToLineEnd(q, depth + 1);
      value.push(item.value);
      items.push(item);

      if (this.pos >= this.text.length) break;
      const indent = this.indentAt(this.pos);
      if (indent < col) break;
      if (indent > col) throw UNSUPPORTED;
      p = this.pos + indent;
      // A key at the list's indent: the list was a mapping's value, and that mapping goes on.
      if (!this.isSeqItem(p)) break;
    }
    return { kind: 'seq', start, value, items };
  }

  /** A flow collection or scalar that must end its line (but for a comment). */
  private inlineToLineEnd(q: number, depth: number): SubsetNode {
    const node = this.inline(q, depth, false);
    const end = this.end;
    const after = this.skipSpaces(end);
    // `#` starts a comment only after a space; `[1]#x` is something else.
    if (!this.atLineEnd(after) || (this.text.charCodeAt(after) === 0x23 && after === end)) throw UNSUPPORTED;
    this.pos = this.nextLine(after);
    this.skipBlankLines();
    return node;
  }

  private inline(q: number, depth: number, inFlow: boolean): SubsetNode {
    if (depth > MAX_SUBSET_DEPTH) throw UNSUPPORTED;
    const c = this.text.charCodeAt(q);
    if (c === 0x7b /* { */) return this.flowMap(q, depth);
    if (c === 0x5b /* [ */) return this.flowSeq(q, depth);
    if (c === 0x22 /* " */ || c === 0x27 /* ' */) return this.quoted(q);
    return this.plain(q, inFlow);
  }

  private flowMap(q: number, depth: number): SubsetNode {
    const node: SubsetNode = { kind: 'map', start: q, value: {}, entries: new Map() };
    let p = this.skipSpaces(q + 1);
    if (this.text.charCodeAt(p) === 0x7d /* } */) return this.ends(node, p + 1);
    for (;;) {
      const keyEnd = this.keyEnd(p);
      // `{a: 1}` only: `{a:1}`, `{a}` and `{a: }` mean other things in flow context.
      if (keyEnd === undefined || this.text.charCodeAt(keyEnd + 1) !== 0x20) throw UNSUPPORTED;
      const key = this.text.slice(p, keyEnd);
      if (node.entries.has(key) || !plainKey(key)) throw UNSUPPORTED;
      const child = this.inline(this.skipSpaces(keyEnd + 1), depth + 1, true);
      node.value[key] = child.value;
      node.entries.set(key, { keyStart: p, node: child });
      p = this.skipSpaces(this.end);
      const c = this.text.charCodeAt(p);
      if (c === 0x7d /* } */) return this.ends(node, p + 1);
      if (c !== 0x2c /* , */) throw UNSUPPORTED;
      p = this.skipSpaces(p + 1);
    }
  }

  private flowSeq(q: number, depth: number): SubsetNode {
    const node: SubsetNode = { kind: 'seq', start: q, value: [], items: [] };
    let p = this.skipSpaces(q + 1);
    if (this.text.charCodeAt(p) === 0x5d /* ] */) return this.ends(node, p + 1);
    for (;;) {
      const child = this.inline(p, depth + 1, true);
      node.value.push(child.value);
      node.items.push(child);
      p = this.skipSpaces(this.end);
      const c = this.text.charCodeAt(p);
      if (c === 0x5d /* ] */) return this.ends(node, p + 1);
      if (c !== 0x2c /* , */) throw UNSUPPORTED;
      p = this.skipSpaces(p + 1);
    }
  }

  /** 'text' or "text" on one line, with no escapes (no \ in double, no '' in single quotes). */
  private quoted(q: number): SubsetNode {
    const quote = this.text[q];
    const close = this.text.indexOf(quote, q + 1);
    const eol = this.lineEndAt(q);
    if (close < 0 || close > eol) throw UNSUPPORTED;
    const value = this.text.slice(q + 1, close);
    if (quote === '"' ? value.includes('\\') : this.text.charCodeAt(close + 1) === 0x27) throw UNSUPPORTED;
    return this.ends({ kind: 'scalar', start: q, value }, close + 1);
  }

  /** A plain scalar: a name, null, a boolean or a number; anything else is left to yaml. */
  private plain(q: number, inFlow: boolean): SubsetNode {
    // One regex scan to the end of the scalar: a loop per character ran cold (interpreted).
    const scan = inFlow ? FLOW_PLAIN : BLOCK_PLAIN;
    scan.lastIndex = q;
    scan.test(this.text);
    const end = scan.lastIndex;
    const raw = this.text.slice(q, end);
    let value: string | number | boolean | null;
    const c = raw.charCodeAt(0);
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f) { // a letter or _
      if (NULL_WORDS.has(raw)) value = null;
      else if (BOOL_WORDS.has(raw)) value = BOOL_WORDS.get(raw)!;
      else if (WHOLE_NAME.test(raw)) value = raw;
      else throw UNSUPPORTED;
    } else if (INT.test(raw)) value = parseInt(raw, 10);
    else if (FLOAT.test(raw)) value = parseFloat(raw);
    else throw UNSUPPORTED;
    // Spaces then more text (`a b`) would be one scalar to yaml: refuse rather than split.
    const after = this.skipSpaces(end);
    if (after > end && !this.atLineEnd(after)) {
      const d = this.text.charCodeAt(after);
      if (!(inFlow && (d === 0x2c || d === 0x5d || d === 0x7d))) throw UNSUPPORTED;
    }
    return this.ends({ kind: 'scalar', start: q, value }, end);
  }

  private ends(node: SubsetNode, end: number): SubsetNode {
    this.end = end;
    return node;
  }

  /** End of the key at p if p starts `name:` followed by a space or the end of the line. */
  private keyEnd(p: number): number | undefined {
    NAME.lastIndex = p;
    if (!NAME.test(this.text)) return undefined;
    const end = NAME.lastIndex;
    if (this.text.charCodeAt(end) !== 0x3a /* : */) return undefined;
    const next = this.text.charCodeAt(end + 1);
    return next === 0x20 || next === 0x0a || Number.isNaN(next) ? end : undefined;
  }

  private isSeqItem(p: number): boolean {
    if (this.text.charCodeAt(p) !== 0x2d /* - */) return false;
    const next = this.text.charCodeAt(p + 1);
    return next === 0x20 || next === 0x0a || Number.isNaN(next);
  }

  /** Only spaces, then the end of the line or a comment. */
  private atLineEnd(p: number): boolean {
    const c = this.text.charCodeAt(p);
    return Number.isNaN(c) || c === 0x0a || c === 0x23;
  }

  private skipSpaces(p: number): number {
    while (this.text.charCodeAt(p) === 0x20) p++;
    return p;
  }

  private indentAt(lineStart: number): number {
    return this.skipSpaces(lineStart) - lineStart;
  }

  private lineStart(p: number): number {
    return this.text.lastIndexOf('\n', p - 1) + 1;
  }

  private lineEndAt(p: number): number {
    const eol = this.text.indexOf('\n', p);
    return eol < 0 ? this.text.length : eol;
  }

  private nextLine(p: number): number {
    return Math.min(this.lineEndAt(p) + 1, this.text.length);
  }

  /** Moves pos past lines that hold only spaces or a comment. */
  private skipBlankLines(): void {
    while (this.pos < this.text.length) {
      const c = this.skipSpaces(this.pos);
      if (!this.atLineEnd(c)) return;
      this.pos = this.nextLine(c);
    }
  }
}

/**
 * Source positions by document path, with the same rules as load.ts' locate over yaml's nodes:
 * a mapping entry stands at its key (its value at the value, unless that is null), a list item
 * at the item; a path that runs out stops at the last segment found.
 */
export function locateInSubset(root: SubsetNode, at: (offset: number) => Position): Locate {
  return (path: readonly PathSegment[], where: 'key' | 'value' = 'key'): Position => {
    let node = root;
    let keyPos = root.start;
    let valuePos = keyPos;
    let found = true;
    for (const seg of path) {
      let next: SubsetNode;
      if (node.kind === 'map') {
        const entry = node.entries.get(String(seg));
        if (entry === undefined) { found = false; break; }
        next = entry.node;
        valuePos = next.kind === 'scalar' && next.value === null ? entry.keyStart : next.start;
        keyPos = entry.keyStart;
      } else if (node.kind === 'seq') {
        const i = typeof seg === 'number' ? seg : /^\d+$/.test(seg) ? Number(seg) : -1;
        if (i < 0 || i >= node.items.length) { found = false; break; }
        next = node.items[i];
        valuePos = keyPos = next.start;
      } else {
        found = false;
        break;
      }
      node = next;
    }
    return at(where === 'value' && found ? valuePos : keyPos);
  };
}
