/**
 * Hostile input: every file in test/fixtures/bad is wrong in one way, and cnnc must answer each
 * with the diagnostics listed in test/fixtures/bad/expected.json — never a stack trace, a hang or
 * a crash. The in-process pass checks positions and wording; two CLI passes (one process each,
 * over the whole corpus) check what a user actually sees.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkFile, checkText } from '../src/check.js';
import { formatDiagnostic } from '../src/diagnostics.js';
import { expectWellFormed } from './fixtures/diagnostics.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BAD = 'test/fixtures/bad';
const bin = join(root, 'bin', 'cnnc.js');

/** [severity, line, column, message regex, hint regex?] */
type Expected = [string, number, number, string, string?];
const spec = JSON.parse(readFileSync(join(root, BAD, 'expected.json'), 'utf8')) as {
  partial: string[];
  fixtures: Record<string, Expected[]>;
};
const fixtures = readdirSync(join(root, BAD)).filter((f) => f !== 'expected.json').sort();
/** Paths as the CLI is given them, relative to the package root. */
const paths = fixtures.map((f) => `${BAD}/${f}`);

function matches(d: { severity: string; line: number; column: number; message: string; hint?: string }, e: Expected): boolean {
  const [severity, line, column, message, hint] = e;
  return d.severity === severity && d.line === line && d.column === column && new RegExp(message).test(d.message) &&
    (hint === undefined || (d.hint !== undefined && new RegExp(hint).test(d.hint)));
}

function cnnc(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A JavaScript stack frame, as an uncaught exception prints it. */
const STACK_FRAME = /^\s+at .+[:(]/m;

describe('the bad-config corpus', () => {
  it('has an expectation for every fixture, and at least 50 of them', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(50);
    expect(Object.keys(spec.fixtures).sort()).toEqual(fixtures);
  });

  it.each(fixtures)('%s', (name) => {
    const path = join(root, BAD, name);
    const started = performance.now();
    const r = checkFile(path);
    expect(performance.now() - started, 'checked within a second').toBeLessThan(1000);
    const shown = r.diagnostics.map(formatDiagnostic).join('\n');

    expect(r.ok, shown).toBe(false);
    expect(r.diagnostics.some((d) => d.severity === 'error'), shown).toBe(true);
    expectWellFormed(r.diagnostics, path, { text: r.text, positionless: r.usage === true });

    const expected = spec.fixtures[name];
    if (spec.partial.includes(name)) {
      for (const e of expected) expect(r.diagnostics.some((d) => matches(d, e)), `${JSON.stringify(e)} in\n${shown}`).toBe(true);
    } else {
      expect(r.diagnostics.length, shown).toBe(expected.length);
      r.diagnostics.forEach((d, i) => expect(matches(d, expected[i]), `${JSON.stringify(expected[i])} vs\n${formatDiagnostic(d)}`).toBe(true));
    }
  });
});

describe('cnnc check on the corpus', () => {
  it('reports the whole corpus as one JSON document, without a stack trace', () => {
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    // The CLI validates with the build's precompiled validator, in-process checkFile (below) with
    // one compiled at run time: equal diagnostics mean the two agree.
    expect(existsSync(join(root, 'dist', 'experiment-validator.cjs'))).toBe(true);
    expect(existsSync(join(root, 'dist', 'experiment-valid.cjs'))).toBe(true);
    const r = cnnc(['check', '--json', ...paths]);
    expect(r.signal).toBeNull();
    // 2, not 1: the corpus holds a directory, which is a usage error.
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { files: { file: string; ok: boolean; diagnostics: { line: number; message: string }[] }[] };
    expect(report.files.map((f) => f.file)).toEqual(paths);
    for (const f of report.files) {
      expect(f.ok, f.file).toBe(false);
      expect(f.diagnostics.length, f.file).toBeGreaterThan(0);
      // The same answer as in process, down to the wording.
      const direct = checkFile(join(root, f.file)).diagnostics.map((d) => d.message);
      expect(f.diagnostics.map((d) => d.message), f.file).toEqual(direct);
    }
  });

  it('prints one compiler-style line per diagnostic, and no stack trace', () => {
    const r = cnnc(['check', ...paths]);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    const total = paths.reduce((n, p) => n + checkFile(join(root, p)).diagnostics.length, 0);
    expect(lines).toHaveLength(total);
    for (const line of lines) {
      expect(line).toMatch(/^test\/fixtures\/bad\/[^:]+(:\d+:\d+)?: (error|warning): \S/);
    }
    // Summaries of the models that got as far as shape inference: nothing rendered by accident.
    expect(r.stdout).not.toMatch(/undefined|NaN|Infinity|\[object Object\]/);
  });

  it('answers a directory with exit 2 and one line', () => {
    const r = cnnc(['check', `${BAD}/directory.yaml`]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${BAD}/directory.yaml: error: is a directory, not an experiment file\n`);
  });

  it('answers a missing file with exit 2 and one line', () => {
    const r = cnnc(['check', `${BAD}/no-such-file.yaml`]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${BAD}/no-such-file.yaml: error: no such file\n`);
  });
});

/**
 * Inputs too big to keep as fixtures, each of which once took seconds to minutes, crashed, or
 * printed hundreds of errors (see the comments in src/load.ts, validate.ts, resolve.ts,
 * infer.ts and check.ts): generated, checked in memory, and held to a time that is generous on
 * a loaded machine but far below what the old quadratic code needed.
 */
describe('generated inputs that used to hang or crash', () => {
  const BASE = 'name: t\ninput: [28, 28, 1]\nlayers:\n  - flatten: {}\n  - dense: {units: 10, activation: softmax}\nstages:\n  - train: {optimizer: {name: adam}}\n';

  function quick(text: string, seconds: number) {
    const started = performance.now();
    const r = checkText('gen.yaml', text);
    const elapsed = performance.now() - started;
    expect(r.ok).toBe(false);
    expectWellFormed(r.diagnostics, 'gen.yaml', { text });
    expect(elapsed, `${Math.round(elapsed)} ms`).toBeLessThan(seconds * 1000);
    return r;
  }

  it('20,000 aliases (yaml resolved each by re-walking the document: 16,000 took 24 s)', () => {
    const r = quick(`${BASE}x-a: &a 1\nx-b: [${Array(20000).fill('*a').join(', ')}]\n`, 5);
    expect(r.diagnostics.map((d) => d.message)).toEqual(['the file uses more than 1000 aliases']);
  });

  it('aliases of an empty list, which yaml never counted (300 × 300 took 5 s)', () => {
    const r = quick(`${BASE}x-e: &e []\nx-z: &z [${Array(400).fill('*e').join(', ')}]\nx-y: [${Array(400).fill('*z').join(', ')}]\n`, 5);
    expect(r.diagnostics[0].message).toMatch(/alias bomb/);
  });

  it('a big list aliased many times (two million nodes in memory)', () => {
    const r = quick(`${BASE}x-a: &a [${Array(20000).fill('0').join(',')}]\nx-b: [${Array(99).fill('*a').join(',')}]\n`, 5);
    expect(r.diagnostics[0].message).toMatch(/alias bomb/);
  });

  it('20,000 unknown keys in one mapping (yaml compared every pair of keys: 8 s)', () => {
    const r = quick(BASE + Array.from({ length: 20000 }, (_, i) => `k${i}: 1`).join('\n'), 5);
    expect(r.diagnostics).toHaveLength(101);
    expect(formatDiagnostic(r.diagnostics[100])).toBe('gen.yaml:108:1: error: 19900 more errors not shown — fix the ones above first');
  });

  it('10,000 misspelt layer kinds (every ajv error was tested against every oneOf: over 2 minutes)', () => {
    const r = quick(`name: t\ninput: [28, 28, 1]\nstages: [evaluate: {}]\nlayers:\n${'  - flaten: {}\n'.repeat(10000)}`, 10);
    expect(r.diagnostics[0].message).toBe("unknown layer kind 'flaten'");
  });

  it('150,000 wrong list items (spreading their diagnostics overflowed the stack)', () => {
    const r = quick(BASE.replace('[28, 28, 1]', `[${'a,'.repeat(150000)}1]`), 15);
    expect(r.diagnostics).toHaveLength(101);
  });

  it('a freeze string of 200,000 spaces (the slice regex backtracked quadratically: 40,000 took 1.3 s)', () => {
    const r = quick(`${BASE}  - finetune: {optimizer: {name: adam}, freeze: "${' '.repeat(200000)}x"}\n`, 5);
    expect(r.diagnostics[0].message).toBe(`freeze '${' '.repeat(40)}…' is not a slice of the layer list`);
  });

  it('3,000 layers frozen by 3,000 unknown names (a suggestion each, against every name: 24 s)', () => {
    const layers = '  - dropout: {rate: 0.1}\n'.repeat(3000);
    const names = Array.from({ length: 3000 }, (_, i) => `drop_${i}`).join(', ');
    const text = `name: t\ninput: [28, 28, 1]\nlayers:\n  - flatten: {}\n${layers}  - dense: {units: 10}\nstages:\n  - finetune: {optimizer: {name: adam}, freeze: [${names}]}\n`;
    const r = quick(text, 10);
    expect(r.diagnostics.filter((d) => d.message.startsWith('no layer named'))).toHaveLength(20);
    expect(r.diagnostics.some((d) => d.message === '2980 more freeze entries name no layer')).toBe(true);
  });

  it('a shapeFlow of 100,000 sizes (quoted in full in one message)', () => {
    const r = quick(`${BASE}shapeFlow: [${'28,'.repeat(100000)}28]\n`, 10);
    expect(r.diagnostics[0].message).toMatch(/^shapeFlow says 28 → .* → … \(100001 sizes\) but the layers give 28$/);
  });

  it('/dev/zero, which has no end (it was read until memory ran out)', () => {
    if (!existsSync('/dev/zero')) return;
    const started = performance.now();
    const r = checkFile('/dev/zero');
    expect(performance.now() - started).toBeLessThan(5000);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual(['/dev/zero: error: the file is larger than 1048576 bytes; experiment files are limited to that']);
  });

  it('300 KB of broken YAML (a stack trace captured for each of its 200,000 errors)', () => {
    const r = quick('- a\nb: c\n'.repeat(40000), 10);
    // The tokens after the end of the document are one error, not 199,997.
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'gen.yaml:2:1: error: unexpected scalar at node end',
      'gen.yaml:2:2: error: unexpected ":" after the end of the document; the rest of the file cannot be read',
    ]);
  });
});
