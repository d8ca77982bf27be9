/** The code cache of the build's validators may speed a module up, never change what it does. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requirePrecompiled, writeCodeCache } from '../src/precompiled.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnc-precompiled-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('requirePrecompiled', () => {
  it('loads a CommonJS module with and without its cache, the same either way', () => {
    const file = join(dir, 'm.cjs');
    writeFileSync(file, 'module.exports.default = (x) => x * 2; module.exports.dir = __dirname;');
    expect((requirePrecompiled(file) as { default: (x: number) => number }).default(21)).toBe(42);
    writeCodeCache(file, (m) => (m as { default: (x: number) => number }).default(1));
    const m = requirePrecompiled(file) as { default: (x: number) => number; dir: string };
    expect(m.default(21)).toBe(42);
    expect(m.dir).toBe(dir);
  });

  it('ignores a cache written for other source of the same length', () => {
    const file = join(dir, 'n.cjs');
    writeFileSync(file, 'module.exports.default = () => 1;');
    writeCodeCache(file, (m) => (m as { default: () => number }).default());
    writeFileSync(file, 'module.exports.default = () => 2;');
    expect((requirePrecompiled(file) as { default: () => number }).default()).toBe(2);
  });
});
