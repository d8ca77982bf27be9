import { readFileSync, readdirSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { checkFile } from '../src/check.js';
import { formatDiagnostic } from '../src/diagnostics.js';
import { LAYER_KINDS } from '../src/layers/index.js';
import { loadText } from '../src/load.js';
import { resolve } from '../src/resolve.js';
import { SCHEMA_FILE, buildSchema, schemaText } from '../src/schema.js';

type Schema = Record<string, unknown>;

const configsDir = new URL('../configs/', import.meta.url);
const configs = readdirSync(configsDir).filter((f) => f.endsWith('.yaml')).map((f) => new URL(f, configsDir).pathname);

/** Every [path, schema] under a `properties` or `patternProperties` keyword. */
function properties(schema: unknown, path = '#'): [string, Schema][] {
  if (typeof schema !== 'object' || schema === null) return [];
  const out: [string, Schema][] = [];
  for (const [k, v] of Object.entries(schema)) {
    if ((k === 'properties' || k === 'patternProperties') && typeof v === 'object' && v !== null) {
      for (const [name, sub] of Object.entries(v)) out.push([`${path}/${k}/${name}`, sub as Schema]);
    }
    out.push(...properties(v, `${path}/${k}`));
  }
  return out;
}

describe('schema', () => {
  it('is committed exactly as buildSchema() makes it (run `npm run schema` after changing a layer kind)', () => {
    expect(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))).toEqual(buildSchema());
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(schemaText());
  });

  it('compiles under ajv strict mode', () => {
    const ajv = new Ajv({ strict: true, allowUnionTypes: true });
    expect(() => ajv.compile(buildSchema())).not.toThrow();
  });

  it('describes every property', () => {
    const all = properties(buildSchema());
    expect(all.length).toBeGreaterThan(50);
    expect(all.filter(([, s]) => typeof s.description !== 'string' || s.description.length === 0).map(([p]) => p)).toEqual([]);
  });

  it('offers every registered layer kind', () => {
    const items = ((buildSchema().properties as Schema).layers as Schema).items as Schema;
    const kinds = (items.oneOf as Schema[]).map((b) => (b.required as string[])[0]);
    expect(kinds).toEqual(LAYER_KINDS.map((k) => k.kind));
  });

  it('states the defaults that resolve applies', () => {
    const schema = buildSchema() as { properties: Record<string, Schema> };
    const loaded = loadText('d.yaml', 'name: d\ninput: [28, 28, 1]\nlayers: [flatten: {}]\nstages: [train: {optimizer: {name: sgd}}, evaluate: {}]\n');
    if (!loaded.ok) throw new Error('fixture');
    const exp = resolve(loaded.doc, 'd.yaml', loaded.locate).experiment!;
    expect(exp.seed).toBe(schema.properties.seed.default);
    const stages = (schema.properties.stages.items as Schema).oneOf as Schema[];
    const body = (i: number, kind: string) => ((stages[i].properties as Schema)[kind] as Schema).properties as Record<string, Schema>;
    const train = body(0, 'train');
    const [t, e] = exp.stages;
    if (t.kind !== 'train' || e.kind !== 'evaluate') throw new Error('fixture');
    for (const key of ['epochs', 'batchSize', 'loss', 'metrics', 'validationSplit'] as const) {
      expect(t[key], key).toEqual(train[key].default);
    }
    expect(e.batchSize).toBe(body(1, 'evaluate').batchSize.default);
    const sgd = ((train.optimizer.oneOf as Schema[])[0].properties) as Record<string, Schema>;
    expect(t.optimizer).toEqual({ name: 'sgd', learningRate: sgd.learningRate.default, momentum: sgd.momentum.default, nesterov: sgd.nesterov.default });
  });

  it.each(configs)('accepts the shipped config %s', (file) => {
    const r = checkFile(file);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/experiment.schema.json');
  });

  it('ships the reference configs with the documented shapes', () => {
    const byName = (n: string) => checkFile(configs.find((f) => f.endsWith(`/${n}.yaml`))!);
    expect(byName('mnist').inference).toMatchObject({ shapeFlow: [28, 28, 14, 14, 7], totalParams: 421642 });
    expect(byName('mnist-valid').inference).toMatchObject({ shapeFlow: [28, 26, 13, 11, 5], totalParams: 225034 });
    const transfer = byName('mnist-transfer').experiment!;
    expect(transfer.stages.map((s) => [s.kind, s.data.classes, s.kind === 'finetune' ? s.freeze : null])).toEqual([
      ['train', [0, 1, 2, 3, 4], null],
      ['evaluate', [0, 1, 2, 3, 4], null],
      ['finetune', [5, 6, 7, 8, 9], [0, 1, 2, 3, 4]],
      ['evaluate', [5, 6, 7, 8, 9], null],
    ]);
  });
});
