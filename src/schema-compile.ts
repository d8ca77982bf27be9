/**
 * Build step (`npm run build`, run by `npm ci` through `prepare`): ajv's standalone code for the
 * committed schema — the full validator and the quick yes/no one — written beside the compiled
 * validate.js, so `cnnc check` skips compiling the schema at every start. They are generated from
 * the same file with the same options validate.ts would compile at run time, so they cannot disagree.
 * Each gets a V8 code cache too, warmed on the shipped configs.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import { load } from './load.js';
import { writeCodeCache } from './precompiled.js';
import { SCHEMA_FILE } from './schema.js';
import { quickSchema } from './schema-quick.js';
import { AJV_OPTIONS, PRECOMPILED, PRECOMPILED_QUICK, QUICK_AJV_OPTIONS } from './validate.js';

const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
const configsDir = fileURLToPath(new URL('../configs/', import.meta.url));
const configs = readdirSync(configsDir).filter((f) => f.endsWith('.yaml')).map((f) => {
  const loaded = load(join(configsDir, f));
  return loaded.ok ? loaded.doc : undefined;
});
// A CommonJS module seen from ESM: its default export arrives as `.default`.
const generate = (standalone as unknown as { default: (a: Ajv, v: ValidateFunction) => string }).default;
for (const [options, source, target] of [
  [AJV_OPTIONS, schema, PRECOMPILED],
  [QUICK_AJV_OPTIONS, quickSchema(schema), PRECOMPILED_QUICK],
] as const) {
  const ajv = new Ajv({ ...options, code: { source: true } });
  const file = fileURLToPath(target);
  writeFileSync(file, generate(ajv, ajv.compile(source as object)));
  // Compiled by V8 once here rather than in every `cnnc check` (see precompiled.ts).
  writeCodeCache(file, (exports) => {
    for (const config of configs) (exports as { default: (d: unknown) => boolean }).default(config);
  });
}
