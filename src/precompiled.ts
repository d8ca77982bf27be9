/**
 * Loading the build's generated validators (schema-compile.ts) with a V8 code cache. Each is one
 * function of about 200 KB that V8 would otherwise parse and compile in every `cnnc check`, the
 * largest single cost of checking a valid file after Node's own start. The build runs each once
 * and saves V8's compiled code beside it; a cache that V8 rejects (another Node version) only
 * means compiling as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

const cacheFile = (file: string) => `${file}.v8cache`;
/** V8 checks only a cache's length against the source; a hash of the source guards the rest. */
const HASH_BYTES = 32;
const digest = (source: string) => createHash('sha256').update(source).digest();

function script(file: string, source: string, cachedData?: Buffer): Script {
  // The CommonJS wrapper, so the module sees the same bindings as under require().
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  return new Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) });
}

function run(s: Script, file: string): unknown {
  const module = { exports: {} as unknown };
  (s.runInThisContext() as (...a: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

/** The module's exports, through its code cache when there is one. */
export function requirePrecompiled(file: string): unknown {
  const source = readFileSync(file, 'utf8');
  const cache = cacheFile(file);
  const saved = existsSync(cache) ? readFileSync(cache) : undefined;
  const fresh = saved !== undefined && saved.subarray(0, HASH_BYTES).equals(digest(source));
  return run(script(file, source, fresh ? saved.subarray(HASH_BYTES) : undefined), file);
}

/** Build step: load the module, let `warm` call into it so V8 compiles it, and save the cache. */
export function writeCodeCache(file: string, warm: (exports: unknown) => void): void {
  const source = readFileSync(file, 'utf8');
  const s = script(file, source);
  warm(run(s, file));
  writeFileSync(cacheFile(file), Buffer.concat([digest(source), s.createCachedData()]));
}
