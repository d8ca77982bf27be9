import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../src/diagnostics.js';
import { MAX_DEPTH, MAX_FILE_BYTES, firstInvalidUtf8, load, loadText } from '../src/load.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnc-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Diagnostics as the CLI prints them, with the temp dir stripped. */
function lines(result: ReturnType<typeof load>): string[] {
  return result.diagnostics.map((d) => formatDiagnostic({ ...d, file: d.file.replace(`${dir}/`, '') }));
}

const SAMPLE = `name: demo
input: [28, 28, 1]
layers:
  - conv2d: {filters: 32, kernelSize: 3}
  - flatten:
  - dense:
      units: 10
stages:
  - evaluate: {}
`;

describe('load', () => {
  it('parses a file and locates keys, values and sequence items', () => {
    const r = load(file('sample.yaml', SAMPLE));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.doc).toEqual({
      name: 'demo',
      input: [28, 28, 1],
      layers: [{ conv2d: { filters: 32, kernelSize: 3 } }, { flatten: null }, { dense: { units: 10 } }],
      stages: [{ evaluate: {} }],
    });
    expect(r.text).toBe(SAMPLE);
    expect(r.locate(['name'])).toEqual({ line: 1, column: 1 });
    expect(r.locate(['name'], 'value')).toEqual({ line: 1, column: 7 });
    expect(r.locate(['input', 2])).toEqual({ line: 2, column: 17 });
    expect(r.locate(['layers', 0])).toEqual({ line: 4, column: 5 });
    expect(r.locate(['layers', 0, 'conv2d', 'kernelSize'])).toEqual({ line: 4, column: 27 });
    expect(r.locate(['layers', 0, 'conv2d', 'kernelSize'], 'value')).toEqual({ line: 4, column: 39 });
    expect(r.locate(['layers', 2, 'dense', 'units'], 'value')).toEqual({ line: 7, column: 14 });
    // A key without a value: the value position is the key's.
    expect(r.locate(['layers', 1, 'flatten'], 'value')).toEqual({ line: 5, column: 5 });
    // Missing paths fall back to the nearest ancestor that exists.
    expect(r.locate(['layers', 0, 'conv2d', 'padding'])).toEqual({ line: 4, column: 5 });
    expect(r.locate(['layers', 0, 'conv2d', 'padding'], 'value')).toEqual({ line: 4, column: 5 });
    expect(r.locate(['layers', 9, 'dense'])).toEqual({ line: 3, column: 1 });
    expect(r.locate(['seed'])).toEqual({ line: 1, column: 1 });
    expect(r.locate([])).toEqual({ line: 1, column: 1 });
  });

  it('follows aliases and merge keys', () => {
    const r = loadText('a.yaml', 'x-opt: &opt {name: adam}\nopt: {<<: *opt, learningRate: 0.1}\nother: *opt\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.doc).toMatchObject({ opt: { name: 'adam', learningRate: 0.1 }, other: { name: 'adam' } });
    expect(r.locate(['other', 'name'], 'value')).toEqual({ line: 1, column: 20 });
  });

  it('reports a missing file and a directory as usage errors at line 0', () => {
    const missing = load(join(dir, 'nope.yaml'));
    expect(missing).toMatchObject({ ok: false, usage: true });
    expect(lines(missing)).toEqual(['nope.yaml: error: no such file']);
    const directory = load(dir);
    expect(directory).toMatchObject({ ok: false, usage: true });
    expect(directory.diagnostics[0]).toMatchObject({ line: 0, column: 0, message: 'is a directory, not an experiment file' });
  });

  it.each([
    ['empty.yaml', ''],
    ['comments.yaml', '# nothing here\n\n'],
    ['marker.yaml', '---\n'],
  ])('rejects an empty document (%s)', (name, text) => {
    expect(lines(load(file(name, text)))).toEqual([
      `${name}:1:1: error: the file is empty; an experiment needs at least name, input, layers and stages`,
    ]);
  });

  it('reports YAML errors at their position, in our words', () => {
    expect(lines(load(file('dup.yaml', 'name: a\nseed: 1\nname: b\n')))).toEqual([
      'dup.yaml:3:1: error: duplicate key: a mapping may not repeat a key',
    ]);
    expect(lines(load(file('tab.yaml', 'layers:\n\t- flatten: {}\n')))).toEqual([
      'tab.yaml:2:1: error: tabs are not allowed as indentation; indent with spaces',
    ]);
    expect(lines(load(file('indent.yaml', 'data:\n  dataset: mnist\n classes: [1]\n')))).toEqual([
      'indent.yaml:3:1: error: all mapping items must start at the same column',
    ]);
    expect(lines(load(file('docs.yaml', 'name: a\n---\nname: b\n')))).toEqual([
      'docs.yaml:2:1: error: the file holds more than one YAML document (---); an experiment is one document',
    ]);
    const unclosed = lines(load(file('flow.yaml', 'input: [28, 28\nname: x\n')));
    expect(unclosed.length).toBeGreaterThan(0);
    expect(unclosed.every((l) => /^flow\.yaml:\d+:\d+: error: [a-z]/.test(l) && !l.includes('\n'))).toBe(true);
  });

  it('keeps YAML warnings without failing', () => {
    const r = loadText('w.yaml', 'name: !custom x\n');
    expect(r.ok).toBe(true);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual(['w.yaml:1:7: warning: unresolved tag: !custom']);
  });

  it('reports an alias without its anchor', () => {
    expect(lines(load(file('alias.yaml', 'name: x\nseed: *s\n')))).toEqual([
      "alias.yaml:2:7: error: unknown alias '*s' — define the anchor '&s' before using it",
    ]);
  });

  it('refuses an alias inside the node it names (a cyclic value)', () => {
    expect(lines(load(file('cycle.yaml', 'name: x\ninput: &i {a: [*i]}\n')))).toEqual([
      "cycle.yaml:2:16: error: alias '*i' is inside the node it refers to — an experiment cannot contain itself",
    ]);
  });

  it('stops an alias bomb with a diagnostic', () => {
    let text = 'a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n';
    let prev = 'a';
    for (const n of 'bcdefghij') {
      text += `${n}: &${n} [${Array(10).fill(`*${prev}`).join(', ')}]\n`;
      prev = n;
    }
    const r = load(file('bomb.yaml', text));
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0].message).toMatch(/alias bomb/);
    expect(r.diagnostics[0].line).toBeGreaterThan(0);
  });

  it('survives very deep nesting', () => {
    for (const text of ['['.repeat(100_000), '- '.repeat(50_000) + 'x\n', '{a: '.repeat(20_000)]) {
      const r = loadText('deep.yaml', text);
      expect(r.ok).toBe(false);
      expect(r.diagnostics.length).toBeLessThanOrEqual(21);
    }
  });

  it('measures nesting before composing: 64 levels pass, 65 do not', () => {
    expect(loadText('ok.yaml', `${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}\n`).ok).toBe(true);
    const deep = loadText('deep.yaml', `a:\n  b: ${'['.repeat(MAX_DEPTH - 1)}${']'.repeat(MAX_DEPTH - 1)}\n`);
    expect(deep.diagnostics.map(formatDiagnostic)).toEqual([`deep.yaml:2:${6 + MAX_DEPTH - 2}: error: the document nests deeper than ${MAX_DEPTH} levels`]);
  });

  it('refuses files over the size limit before parsing', () => {
    const r = load(file('big.yaml', 'a'.repeat(MAX_FILE_BYTES + 1)));
    expect(lines(r)).toEqual([`big.yaml: error: the file is ${MAX_FILE_BYTES + 1} bytes; experiment files are limited to ${MAX_FILE_BYTES} bytes`]);
  });

  it('rejects bytes that are not UTF-8, at the first bad byte', () => {
    const bytes = Buffer.concat([Buffer.from('name: café\nseed: 4'), Buffer.from([0xff]), Buffer.from('2\n')]);
    expect(lines(load(file('latin.yaml', bytes)))).toEqual([
      'latin.yaml:2:8: error: the file is not valid UTF-8 (byte 0xff at offset 19) — save the file as UTF-8',
    ]);
  });

  it('accepts a UTF-8 byte order mark', () => {
    const r = load(file('bom.yaml', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('name: x\n')])));
    expect(r.ok && r.doc).toEqual({ name: 'x' });
  });

  it('finds the first invalid UTF-8 byte like a strict decoder', () => {
    expect(firstInvalidUtf8(Buffer.from('plain ascii'))).toBe(11);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0x80]))).toBe(1); // overlong NUL
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xed, 0xa0, 0x80]))).toBe(1); // UTF-16 surrogate
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xe2, 0x82]))).toBe(2); // truncated at the end
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // past U+10FFFF
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const bad = firstInvalidUtf8(bytes);
        let strictOk = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          strictOk = false;
        }
        expect(bad === bytes.length).toBe(strictOk);
      }),
    );
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', '&a', '*a', ',', '"', '\t', '#', '<<') , maxLength: 80 }), (text) => {
        const r = loadText('f.yaml', text);
        for (const d of r.diagnostics) {
          expect(d.line).toBeGreaterThanOrEqual(1);
          expect(d.message).not.toMatch(/\n/);
        }
        if (r.ok) {
          r.locate(['a', 0, 'b']);
          r.locate(['a'], 'value');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('treats a path through a file as a missing file', () => {
    expect(load(join(file('plain.yaml', 'x: 1\n'), 'x.yaml'))).toMatchObject({ ok: false, usage: true });
  });
});
