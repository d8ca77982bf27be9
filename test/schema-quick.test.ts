/**
 * The quick validator's schema (schema-quick.ts) must accept exactly what the committed schema
 * accepts: on the configs, the benchmark sweep, every hostile fixture, and generated layer and
 * stage lists that mix valid items with near misses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sweepConfig } from '../src/bench/sweep.js';
import { loadWithYaml } from '../src/load.js';
import { SCHEMA_FILE } from '../src/schema.js';
import { quickSchema } from '../src/schema-quick.js';
import { AJV_OPTIONS, QUICK_AJV_OPTIONS } from '../src/validate.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object;
const full = new Ajv(AJV_OPTIONS).compile(schema);
const quick = new Ajv(QUICK_AJV_OPTIONS).compile(quickSchema(schema) as object);

function docOf(text: string): unknown {
  const r = loadWithYaml('q.yaml', text);
  return r.ok ? r.doc : undefined;
}

describe('the quick schema', () => {
  it('rewrites the layer and stage oneOfs, and nothing else', () => {
    const q = quickSchema(schema) as { properties: Record<string, { items: Record<string, unknown> }> };
    for (const list of ['layers', 'stages']) {
      expect(q.properties[list].items.oneOf).toBeUndefined();
      expect(q.properties[list].items.maxProperties).toBe(1);
    }
    expect(JSON.stringify(q).match(/"oneOf"/g)?.length).toBe(JSON.stringify(schema).match(/"oneOf"/g)!.length - 2);
  });

  it('agrees with the full schema on every config, sweep config and fixture', () => {
    const texts = [
      ...readdirSync(join(root, 'configs')).map((f) => readFileSync(join(root, 'configs', f), 'utf8')),
      ...Array.from({ length: 100 }, (_, i) => sweepConfig(i)),
      ...readdirSync(join(root, 'test', 'fixtures', 'bad'), { withFileTypes: true })
        .filter((e) => e.isFile()).map((e) => readFileSync(join(root, 'test', 'fixtures', 'bad', e.name), 'latin1')),
    ];
    let valid = 0;
    for (const text of texts) {
      const doc = docOf(text);
      if (doc === undefined) continue;
      expect(quick(doc), text).toBe(full(doc));
      if (full(doc)) valid++;
    }
    expect(valid).toBeGreaterThan(100);
  });

  it('agrees on generated layer and stage items', () => {
    const base = docOf(readFileSync(join(root, 'configs', 'mnist.yaml'), 'utf8')) as Record<string, unknown[]>;
    const pool = [...base.layers, ...base.stages];
    const item = fc.oneof(
      fc.constantFrom(...pool),
      fc.constantFrom(...pool).map((x) => ({ ...(x as object), dense: { units: 3 } })), // two keys
      fc.constant({}),
      fc.constant([]),
      fc.constant(null),
      fc.constantFrom('conv2d', 'flatten', 7),
      fc.record({ conv2d: fc.constantFrom({ filters: 8, kernelSize: 3 }, { filters: 0, kernelSize: 3 }, {}, null) }),
      fc.record({ flatten: fc.constantFrom({}, null, { name: 'f' }, { units: 2 }) }),
      fc.record({ Flatten: fc.constant({}) }),
      fc.record({ evaluate: fc.constantFrom({}, null, { batchSize: 0 }, { epochs: 1 }) }),
    );
    fc.assert(fc.property(fc.array(item, { maxLength: 6 }), fc.array(item, { maxLength: 4 }), (layers, stages) => {
      const doc = { ...base, layers, stages };
      expect(quick(doc)).toBe(full(doc));
    }), { numRuns: 500 });
  });
});
