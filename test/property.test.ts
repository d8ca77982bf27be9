/**
 * Whatever text or bytes arrive, the static pipeline answers with well-formed diagnostics: it
 * never throws, never hangs, and never renders a value by accident. Runs through `checkText`
 * (load → validate → resolve → infer in memory), and through `checkFile` for raw bytes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { type CheckResult, checkFile, checkText } from '../src/check.js';
import { MAX_PARAMS } from '../src/infer.js';
import { formatSummary } from '../src/summary.js';
import { expectWellFormed } from './fixtures/diagnostics.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** CNNC_FUZZ=50 runs every property fifty times as long, to hunt for rarer failures. */
const FUZZ = Math.max(1, Number(process.env.CNNC_FUZZ) || 1);
const runs = (n: number) => ({ numRuns: n * FUZZ });
const MNIST = readFileSync(join(root, 'configs', 'mnist.yaml'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'cnnc-property-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The invariants every answer keeps, whatever the input. */
function expectAnswer(r: CheckResult, file: string, elapsed: number, text?: string): void {
  expect(elapsed, `${Math.round(elapsed)} ms`).toBeLessThan(1000);
  expectWellFormed(r.diagnostics, file, { text });
  expect(r.ok).toBe(!r.diagnostics.some((d) => d.severity === 'error'));
  if (r.ok) {
    // Anything accepted has been through every check, and fits the limits.
    expect(r.experiment).toBeDefined();
    expect(r.inference?.complete).toBe(true);
    expect(r.inference!.totalParams).toBeLessThanOrEqual(MAX_PARAMS);
  }
}

function checkedText(text: string): CheckResult {
  const started = performance.now();
  const r = checkText('p.yaml', text);
  expectAnswer(r, 'p.yaml', performance.now() - started, text);
  return r;
}

let counter = 0;
function checkedBytes(bytes: Uint8Array): CheckResult {
  const file = join(dir, `b${counter++}.yaml`);
  writeFileSync(file, bytes);
  const started = performance.now();
  const r = checkFile(file);
  expectAnswer(r, file, performance.now() - started, r.text);
  return r;
}

/** Characters that make YAML interesting, and a few that make terminals and decoders interesting. */
const yamlish = fc.string({
  unit: fc.constantFrom(
    'a', 'name', ':', ': ', ' ', '  ', '\n', '\t', '-', '- ', '[', ']', '{', '}', ',', '"', "'", '#', '&a', '*a', '<<',
    '!', '!!', '%', '@', '`', '|', '>', '?', '---', '...', '\\', '\r', '\u0000', '\u001b', '\u202e', '\ufeff', '\ud800',
    '1', '-1', '0.5', '1e400', '.nan', '.inf', 'null', 'true', 'conv2d', 'dense', 'layers', 'stages',
  ),
  maxLength: 60,
});

describe('any text', () => {
  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => { checkedText(text); }), runs(300));
  });

  it('arbitrary UTF-16, lone surrogates included', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (text) => { checkedText(text); }), runs(200));
  });

  it('strings of YAML punctuation and keywords', () => {
    fc.assert(fc.property(yamlish, (text) => { checkedText(text); }), runs(800));
  });

  it('arbitrary bytes, read from a file', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => { checkedBytes(bytes); }), runs(150));
  });

  it('the reference config with random bytes spliced in', () => {
    const base = Buffer.from(MNIST);
    fc.assert(
      fc.property(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (at, bytes) => {
        const i = at % (base.length + 1);
        checkedBytes(Buffer.concat([base.subarray(0, i), bytes, base.subarray(i)]));
      }),
      runs(100),
    );
  });
});

/** Keys cnnc knows, so generated documents get past the first checks some of the time. */
const KEYS = [
  'name', 'seed', 'data', 'input', 'layers', 'shapeFlow', 'stages', 'dataset', 'classes', 'limit', 'train', 'test',
  'conv2d', 'maxPooling2d', 'flatten', 'dense', 'dropout', 'filters', 'kernelSize', 'strides', 'padding', 'poolSize',
  'units', 'rate', 'activation', 'evaluate', 'finetune', 'freeze', 'optimizer', 'learningRate', 'batchSize', 'epochs',
  'loss', 'x-a', '<<', '__proto__', 'constructor',
];

const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.double(), // NaN and ±Infinity included: YAML writes them .nan and .inf
    fc.integer({ min: -3, max: 70 }),
    fc.constantFrom(0, -0, 1e300, 2 ** 53 + 1, 4294967296, 1e9, 28),
    fc.string({ maxLength: 12 }),
    fc.constantFrom('mnist', 'adam', 'sgd', 'same', 'valid', 'relu', 'softmax', ':4', '-2:', 'conv2d_1', 'dense_1'),
    fc.boolean(),
    fc.constant(null),
  ),
  node: fc.oneof({ depthSize: 'small', maxDepth: 5 }, tie('leaf'), tie('list'), tie('map')),
  list: fc.array(tie('node'), { maxLength: 5 }),
  map: fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), tie('node'), { maxKeys: 5 }),
}));

describe('any data, written as YAML', () => {
  it('arbitrary values', () => {
    fc.assert(fc.property(value.node, (v) => { checkedText(stringify(v)); }), runs(300));
  });

  it('experiments with arbitrary parts', () => {
    const layer = fc.dictionary(fc.constantFrom('conv2d', 'maxPooling2d', 'averagePooling2d', 'globalAveragePooling2d', 'flatten', 'dense', 'dropout', 'batchNormalization', 'activation'), value.map, { minKeys: 1, maxKeys: 1 });
    const experiment = fc.record({
      name: fc.oneof(fc.constant('t'), value.leaf),
      input: fc.oneof(fc.constant([28, 28, 1]), value.node),
      layers: fc.oneof(fc.array(layer, { maxLength: 6 }), value.node),
      stages: fc.oneof(fc.constant([{ train: { optimizer: { name: 'adam' } } }]), value.node),
      data: value.map,
    }, { requiredKeys: ['name', 'input', 'layers', 'stages'] });
    fc.assert(fc.property(experiment, (e) => { checkedText(stringify(e)); }), runs(300));
  });
});

/** Sizes from the everyday to the absurd: shape inference and the resource limits meet them all. */
const size = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom(1, 2, 3, 27, 28, 29, 1000, 65536, 2 ** 31, 1e9, 2 ** 53 + 1, 1e15, 1e300) },
);
const window = fc.oneof(size, fc.tuple(size, size));
const activation = fc.constantFrom('relu', 'softmax', 'linear', 'tanh');
const padding = fc.constantFrom('valid', 'same');
const layer = fc.oneof(
  fc.record({ conv2d: fc.record({ filters: size, kernelSize: window, strides: window, padding, activation }, { requiredKeys: ['filters', 'kernelSize'] }) }),
  fc.record({ maxPooling2d: fc.record({ poolSize: window, strides: window, padding }, { requiredKeys: [] }) }),
  fc.record({ averagePooling2d: fc.record({ poolSize: window, padding }, { requiredKeys: [] }) }),
  fc.constant({ globalAveragePooling2d: {} }),
  fc.constant({ flatten: {} }),
  fc.record({ dense: fc.record({ units: size, activation }, { requiredKeys: ['units'] }) }),
  fc.record({ dropout: fc.record({ rate: fc.constantFrom(0, 0.5, 0.99) }) }),
  fc.constant({ batchNormalization: {} }),
  fc.record({ activation: fc.record({ activation }) }),
);
const freeze = fc.oneof(
  fc.constantFrom(':', ':2', '-1:', '1:3', '0:0', ':-1', '5:'),
  fc.array(fc.oneof(fc.integer({ min: -12, max: 12 }), fc.constantFrom('dense_1', 'conv2d_1', 'flatten_1', 'nope')), { maxLength: 4 }),
);
const stage = fc.oneof(
  fc.record({ train: fc.record({ optimizer: fc.constant({ name: 'adam' }), batchSize: size, epochs: fc.integer({ min: 1, max: 3 }) }, { requiredKeys: ['optimizer'] }) }),
  fc.record({ evaluate: fc.record({ batchSize: size, data: fc.record({ classes: fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 10 }) }) }, { requiredKeys: [] }) }),
  fc.record({ finetune: fc.record({ freeze, optimizer: fc.constant({ name: 'sgd' }) }) }),
);

describe('well-typed experiments with sizes from 1 to 1e300', () => {
  it('infers, or refuses with a diagnostic; anything accepted fits the limits and summarises cleanly', () => {
    const experiment = fc.record({
      name: fc.constant('sizes'),
      input: fc.oneof(fc.constant([28, 28, 1]), fc.tuple(size, size, size)),
      data: fc.record({ dataset: fc.constant('mnist'), classes: fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 10 }) }, { requiredKeys: ['dataset'] }),
      // Half of them end in a classifier head, so some get through every check.
      layers: fc.tuple(fc.array(layer, { maxLength: 6 }), fc.boolean()).map(([ls, head]) => (head ? [...ls, { flatten: {} }, { dense: { units: 10, activation: 'softmax' } }] : ls.length ? ls : [{ flatten: {} }])),
      stages: fc.array(stage, { minLength: 1, maxLength: 3 }),
    }, { requiredKeys: ['name', 'input', 'layers', 'stages'] }).map((e) => {
      // A head sized to the classes chosen, or too few of them get through (≈3.6 in 300 runs, so
      // the count below was 0 about one run in 40).
      const last = e.layers[e.layers.length - 1] as { dense?: { units: number } };
      if (last.dense) last.dense = { ...last.dense, units: e.data?.classes?.length ?? 10 };
      return e;
    });
    let accepted = 0;
    fc.assert(
      fc.property(experiment, (e) => {
        const r = checkedText(stringify(e));
        if (r.inference) {
          const summary = formatSummary(r.inference, 'sizes');
          expect(summary).not.toMatch(/undefined|NaN|\[object Object\]/);
          if (r.ok) {
            accepted++;
            expect(summary).not.toMatch(/Infinity/);
          }
        }
      }),
      runs(300),
    );
    // The generator is only useful if it reaches the end of the pipeline some of the time.
    expect(accepted).toBeGreaterThan(0);
  });
});

/** One edit of a text, given as lines; positions are taken modulo the length, so any nat works. */
type Mutation = (lines: string[]) => string[];

const NUMBERS = ['0', '-1', '-0', '1.5', '1e400', '-1e400', '.nan', '.inf', '-.inf', '99999999999999999999', '4294967296', '1e9', '2000000000', '0x1F', '1e-300', '3'];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((i): Mutation => (ls) => ls.filter((_, j) => j !== i % ls.length)), // delete a line
  fc.nat().map((i): Mutation => (ls) => { const k = i % ls.length; return [...ls.slice(0, k + 1), ls[k], ...ls.slice(k + 1)]; }), // duplicate
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Mutation => (ls) => { // swap two lines
    const out = [...ls];
    const [i, j] = [a % ls.length, b % ls.length];
    [out[i], out[j]] = [out[j], out[i]];
    return out;
  }),
  fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...NUMBERS), fc.double().map(String), fc.integer().map(String))).map( // change a number
    ([n, replacement]): Mutation => (ls) => {
      const text = ls.join('\n');
      const numbers = [...text.matchAll(/\d+(\.\d+)?/g)];
      if (numbers.length === 0) return ls;
      const m = numbers[n % numbers.length];
      return (text.slice(0, m.index) + replacement + text.slice(m.index! + m[0].length)).split('\n');
    },
  ),
  fc.tuple(fc.nat(), fc.nat(), yamlish).map(([l, c, chars]): Mutation => (ls) => { // insert characters
    const out = [...ls];
    const i = l % ls.length;
    const at = c % (ls[i].length + 1);
    out[i] = ls[i].slice(0, at) + chars + ls[i].slice(at);
    return out;
  }),
  fc.tuple(fc.nat(), fc.constantFrom('', ' ', '  ', '    ', '\t', ' \t')).map(([l, indent]): Mutation => (ls) => { // re-indent
    const out = [...ls];
    const i = l % ls.length;
    out[i] = indent + ls[i].trimStart();
    return out;
  }),
);

describe('mutations of configs/mnist.yaml', () => {
  it('is valid to begin with', () => {
    expect(checkText('mnist.yaml', MNIST).ok).toBe(true);
  });

  it('one to three edits: deleted, duplicated, swapped and re-indented lines, changed numbers, inserted characters', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (edits) => {
        const lines = edits.reduce((ls, edit) => (ls.length === 0 ? ls : edit(ls)), MNIST.split('\n'));
        checkedText(lines.join('\n'));
      }),
      runs(600),
    );
  });
});
