/**
 * Build step (`npm run build`, run by `npm ci` through `prepare`): ajv's standalone code for the
 * committed schema, written beside the compiled validate.js, so `cnnc check` skips compiling the
 * schema at every start. It is generated from the same file with the same options that
 * validate.ts would compile at run time, so the two cannot disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import { SCHEMA_FILE } from './schema.js';
import { AJV_OPTIONS, PRECOMPILED } from './validate.js';

const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')));
// A CommonJS module seen from ESM: its default export arrives as `.default`.
const generate = (standalone as unknown as { default: (a: Ajv, v: typeof validate) => string }).default;
writeFileSync(fileURLToPath(PRECOMPILED), generate(ajv, validate));
