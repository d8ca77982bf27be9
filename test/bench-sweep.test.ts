/** The configs `npm run bench:check` times must all pass `cnnc check`, and all differ. */
import { describe, expect, it } from 'vitest';
import { sweepConfig } from '../src/bench/sweep.js';
import { checkText } from '../src/check.js';

describe('the check benchmark sweep', () => {
  it('holds 100 different experiments that check clean', () => {
    const texts = Array.from({ length: 100 }, (_, i) => sweepConfig(i));
    expect(new Set(texts).size).toBe(100);
    for (const [i, text] of texts.entries()) {
      const r = checkText(`sweep-${i}.yaml`, text);
      expect(r.diagnostics, text).toEqual([]);
      expect(r.ok).toBe(true);
    }
    // Variety, not 100 copies of one net: several parameter counts.
    const params = new Set(texts.map((t, i) => checkText(`s${i}.yaml`, t).inference?.totalParams));
    expect(params.size).toBeGreaterThan(20);
  });
});
