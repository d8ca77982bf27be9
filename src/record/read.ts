/**
 * Reading a run's appended and rewritten records back, tolerating what a crash can leave.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EpochRecord, type EvalResult, RUN_FILES } from './recorder.js';

/**
 * A line at a time, skipping lines that do not parse: a crash can leave a torn last line, and
 * the epochs before it are still worth comparing.
 */
export function readEpochs(file: string): EpochRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: EpochRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as EpochRecord;
      if (typeof r?.stageIndex === 'number' && typeof r.epoch === 'number') out.push(r);
    } catch {
      // torn or foreign line
    }
  }
  return out;
}

/** results.json, or [] when absent or unreadable (a run that never reached an evaluate stage). */
export function readResults(dir: string): EvalResult[] {
  try {
    const v = JSON.parse(readFileSync(join(dir, RUN_FILES.results), 'utf8')) as unknown;
    return Array.isArray(v) ? (v.filter((r) => typeof r?.stageIndex === 'number') as EvalResult[]) : [];
  } catch {
    return [];
  }
}
