/**
 * Did-you-mean: the closest known word to a typo. Shared by the schema diagnostics ('filtres')
 * and the command line ('--jsno', 'chek'), and kept apart from both so that neither loads the other.
 */

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions ('filtres'). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest candidate if it is a plausible typo: a case slip, or within a third of its length. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const caseSlip = candidates.find((c) => c.toLowerCase() === lower);
  if (caseSlip !== undefined) return caseSlip;
  const budget = (c: string) => Math.max(1, Math.floor(c.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    // The length difference bounds the distance from below; it also keeps a huge value cheap.
    if (Math.abs(lower.length - c.length) > budget(c)) continue;
    const dist = editDistance(lower, c.toLowerCase());
    if (dist < bestDistance) [best, bestDistance] = [c, dist];
  }
  return best !== undefined && bestDistance <= budget(best) ? best : undefined;
}
