/**
 * The fast YAML path must read whatever it accepts exactly as the yaml package does: the same
 * value and the same source position for every path, key and value alike. Anything it is unsure
 * of it must decline (and load.ts then uses yaml, which reports every error).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PathSegment } from '../src/diagnostics.js';
import { toCanonicalYaml } from '../src/canonical.js';
import { checkText } from '../src/check.js';
import { loadText, loadWithYaml } from '../src/load.js';
import { parseSubset } from '../src/yaml-subset.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const FUZZ = Math.max(1, Number(process.env.CNNC_FUZZ) || 1);
const configs = readdirSync(join(root, 'configs')).filter((f) => f.endsWith('.yaml')).map((f) => join(root, 'configs', f));
const fixtureDir = join(root, 'test', 'fixtures', 'bad');
const fixtures = readdirSync(fixtureDir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(fixtureDir, e.name));

/** Every path into a value, plus one past each leaf and one absent key per mapping. */
function paths(value: unknown, base: PathSegment[] = []): PathSegment[][] {
  const out: PathSegment[][] = [base, [...base, 'absent'], [...base, 7]];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...base, i]), [...base, String(i)]));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...base, k]));
  }
  return out;
}

/** When the fast path accepts `text`, it must agree with yaml; returns whether it accepted. */
function agrees(text: string): boolean {
  if (parseSubset(text) === undefined) return false;
  const fast = loadText('f.yaml', text);
  const full = loadWithYaml('f.yaml', text);
  expect(full.ok, text).toBe(true);
  expect(fast.ok).toBe(true);
  if (!fast.ok || !full.ok) return true;
  expect(full.diagnostics, text).toEqual([]);
  expect(fast.doc, text).toStrictEqual(full.doc);
  for (const path of paths(full.doc)) {
    for (const where of ['key', 'value'] as const) {
      expect(fast.locate(path, where), `${JSON.stringify(path)} ${where} in\n${text}`).toEqual(full.locate(path, where));
    }
  }
  return true;
}

describe('the fast YAML subset', () => {
  it('reads every shipped config (so checking them never loads yaml) exactly as yaml does', () => {
    for (const file of configs) expect(agrees(readFileSync(file, 'utf8')), file).toBe(true);
  });

  it('reads the canonical YAML that runs record', () => {
    for (const file of configs) {
      const r = checkText(file, readFileSync(file, 'utf8'));
      expect(agrees(toCanonicalYaml(r.experiment!)), file).toBe(true);
    }
  });

  it('agrees with yaml on every hostile fixture it accepts', () => {
    let accepted = 0;
    for (const file of fixtures) if (agrees(readFileSync(file, 'latin1'))) accepted++;
    // Most fixtures are broken YAML and must be declined; the semantic ones are accepted.
    expect(accepted).toBeGreaterThan(10);
    expect(accepted).toBeLessThan(fixtures.length);
  });

  it.each([
    ['a list at its key\'s indent', 'a:\n- 1\n- 2\nb: x\n', true],
    ['a compact mapping in a list', 'l:\n  - conv: {f: 3}\n    name: x\n  - flatten:\n', true],
    ['a list under a compact mapping', 'l:\n- a:\n  - 1\n  b: 2\n', true],
    ['comments everywhere', '# top\na: 1 # one\n\n  # indented\nb:   # none\n  - [1, 2]   # flow\n', true],
    ['core-schema words', 'a: [null, Null, NULL, true, True, TRUE, false, False, FALSE, nULL, tRUE, yes, off, 007, -3, 1.5, .5, 1e3, -2.5E-2, 1.]\n', true],
    ['quoted strings', 'a: "x: #y"\nb: \'it\'\nc: ["", \'\']\n', true],
    ['a root that is indented', '  a: 1\n  b: 2\n', true],
    ['no final newline', 'a: {b: [1]}', true],
    ['an empty value at the end', 'a: 1\nb:', true],
    ['nested flow', 'a: {b: {c: [[1], []]}, d: {}}\n', true],
    ['an anchor', 'a: &x 1\nb: *x\n', false],
    ['a tag', 'a: !!str 1\n', false],
    ['a block scalar', 'a: |\n  x\n', false],
    ['a multi-line plain scalar', 'a: x\n  y\n', false],
    ['a multi-line flow', 'a: [1,\n  2]\n', false],
    ['a trailing comma', 'a: [1, 2,]\n', false],
    ['a duplicate key', 'a: 1\na: 2\n', false],
    ['a merge key', 'a: {x: 1}\nb:\n  <<: {y: 2}\n', false],
    ['a tab', 'a:\t1\n', false],
    ['CRLF line ends', 'a: 1\r\nb: 2\r\n', false],
    ['a document marker', '---\na: 1\n', false],
    ['an escape', 'a: "x\\ty"\n', false],
    ['a doubled single quote', "a: 'it''s'\n", false],
    ['.inf', 'a: .inf\n', false],
    ['hex', 'a: 0x1F\n', false],
    ['a huge integer', 'a: 12345678901234567890\n', false],
    ['a key that is a word of the schema', 'true: 1\n', false],
    ['__proto__', '__proto__: 1\n', false],
    ['a value with a space', 'a: b c\n', false],
    ['a comment without a space', 'a: b#c\n', false],
    ['an empty list item', 'a:\n  -\n  - 1\n', false],
    ['a flow key without a space', 'a: {b:1}\n', false],
    ['a less indented key', 'a:\n    b: 1\n  c: 2\n', false],
    ['a scalar document', 'hello\n', false],
    ['comments only', '# nothing\n', false],
  ])('%s', (_name, text, accepted) => {
    expect(agrees(text)).toBe(accepted);
  });

  it('agrees with yaml on generated documents and on mutations of them', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,6}$/).filter((n) => !RESERVED.test(n) && n !== '__proto__');
    const scalar = fc.oneof(
      fc.integer({ min: -1e6, max: 1e6 }),
      fc.double({ min: -1e3, max: 1e3, noNaN: true }).map((d) => Number(d.toPrecision(4))),
      name,
      fc.constantFrom(null, true, false, 'null', 'True', '1e3', 'x: y', ' a', ''),
    );
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('list'), tie('map')),
      list: fc.array(tie('value'), { maxLength: 4 }),
      map: fc.dictionary(name, tie('value'), { maxKeys: 4 }),
    }));
    const doc = fc.dictionary(name, value, { minKeys: 1, maxKeys: 5 });
    const style = fc.record({ indent: fc.integer({ min: 1, max: 4 }), flowDepth: fc.integer({ min: 0, max: 3 }), seqAtKey: fc.boolean(), comments: fc.boolean() });
    const mutation = fc.option(fc.record({
      at: fc.nat(),
      remove: fc.integer({ min: 0, max: 2 }),
      insert: fc.constantFrom('', ' ', '  ', '\n', ':', ': ', '-', '- ', '#', ' #', '"', "'", '[', ']', '{', '}', ',', 'a', '1', '.', '\n  '),
    }), { nil: undefined });
    let accepted = 0;
    fc.assert(fc.property(doc, style, mutation, (d, s, m) => {
      let text = render(d, s);
      if (m) {
        const at = m.at % (text.length + 1);
        text = text.slice(0, at) + m.insert + text.slice(at + m.remove);
      } else {
        expect(parseSubset(text), text).toBeDefined();
      }
      if (agrees(text)) accepted++;
    }), { numRuns: 400 * FUZZ });
    expect(accepted).toBeGreaterThan(100);
  });
});

/** The core schema's null and boolean words: never plain strings. */
const RESERVED = /^(null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;

interface Style { indent: number; flowDepth: number; seqAtKey: boolean; comments: boolean }

/** YAML in the subset's styles: block down to `flowDepth` levels from the bottom, flow below. */
function render(doc: Record<string, unknown>, s: Style): string {
  const pad = (n: number) => ' '.repeat(n);
  const comment = (i: number) => (s.comments && i % 2 === 0 ? '  # c' : '');
  const height = (v: unknown): number =>
    v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(height)) : 0;
  const scalar = (v: unknown): string => {
    if (typeof v !== 'string') return String(v);
    return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(v) && !RESERVED.test(v) ? v : `"${v}"`;
  };
  const flow = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
    if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${flow(x)}`).join(', ')}}`;
    return scalar(v);
  };
  const isBlock = (v: unknown) => v !== null && typeof v === 'object' && height(v) > s.flowDepth && Object.keys(v).length > 0;
  const lines: string[] = [];
  const block = (v: unknown, col: number, first?: string): void => {
    const entries: [string | null, unknown][] = Array.isArray(v) ? v.map((x) => [null, x]) : Object.entries(v as object);
    entries.forEach(([k, x], i) => {
      const lead = i === 0 && first !== undefined ? first : pad(col);
      const head = k === null ? `${lead}- ` : `${lead}${k}:`;
      if (k === null && Array.isArray(x)) {
        lines.push(`${head}${flow(x)}${comment(i)}`); // `- - x` is outside the subset
      } else if (k === null && isBlock(x)) {
        block(x, col + 2, head); // `- key: …` with its other keys under the first
      } else if (isBlock(x)) {
        lines.push(head.trimEnd() + comment(i));
        block(x, Array.isArray(x) && s.seqAtKey && k !== null ? col : col + s.indent);
      } else {
        lines.push(`${head}${k === null ? '' : ' '}${flow(x)}${comment(i)}`);
      }
    });
  };
  block(doc, 0);
  return `${lines.join('\n')}\n`;
}
