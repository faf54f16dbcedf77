/**
 * Aligning the records of two runs: a record of the base run and one of the current run are a
 * pair when they evaluate the same testcase in the same trial.
 *
 * - A record without a testcase id cannot be paired: it is unpaired.
 * - A record without a trial is trial 0 (runs made before trials existed, or with one trial).
 * - Should one run hold the same (testcase, trial) more than once (records sent twice), its first
 *   record (in the order given: the order records were added) is paired and the others are unpaired.
 *
 * Pairs come out ordered by testcase id (code-unit order, not locale) and then trial, so whatever
 * consumes them in order (a seeded bootstrap) is reproducible.
 */
export interface AlignableRecord {
  readonly testcaseId: string | null | undefined;
  readonly trial?: number | null;
}

export interface PairKey {
  readonly testcaseId: string;
  readonly trial: number;
}

export interface RecordPair<T> extends PairKey {
  readonly base: T;
  readonly current: T;
}

export interface Alignment<T> {
  readonly pairs: RecordPair<T>[];
  /** Base records with no partner: no testcase id, a testcase (and trial) the current run lacks, or a repeat. */
  readonly unpairedBase: T[];
  /** Current records with no partner, likewise. */
  readonly unpairedCurrent: T[];
}

export function trialOf(record: AlignableRecord): number {
  return record.trial ?? 0;
}

export function alignRecords<T extends AlignableRecord>(base: readonly T[], current: readonly T[]): Alignment<T> {
  const baseIndex = indexByKey(base);
  const currentIndex = indexByKey(current);
  const pairs: RecordPair<T>[] = [];
  for (const [key, entry] of baseIndex.first) {
    const partner = currentIndex.first.get(key);
    if (partner) pairs.push({ testcaseId: entry.testcaseId, trial: entry.trial, base: entry.record, current: partner.record });
  }
  pairs.sort(comparePairKeys);
  const paired = new Set<string>(pairs.map((p) => keyOf(p.testcaseId, p.trial)));
  const unpaired = (index: ReturnType<typeof indexByKey<T>>) => [
    ...index.unkeyed,
    ...[...index.first].filter(([key]) => !paired.has(key)).map(([, entry]) => entry.record),
    ...index.repeats,
  ];
  return { pairs, unpairedBase: unpaired(baseIndex), unpairedCurrent: unpaired(currentIndex) };
}

/** Testcase id (code-unit order), then trial. */
export function comparePairKeys(x: PairKey, y: PairKey): number {
  if (x.testcaseId !== y.testcaseId) return x.testcaseId < y.testcaseId ? -1 : 1;
  return x.trial - y.trial;
}

function indexByKey<T extends AlignableRecord>(records: readonly T[]) {
  const first = new Map<string, { testcaseId: string; trial: number; record: T }>();
  const unkeyed: T[] = [];
  const repeats: T[] = [];
  for (const record of records) {
    if (record.testcaseId === null || record.testcaseId === undefined) {
      unkeyed.push(record);
      continue;
    }
    const trial = trialOf(record);
    const key = keyOf(record.testcaseId, trial);
    if (first.has(key)) repeats.push(record);
    else first.set(key, { testcaseId: record.testcaseId, trial, record });
  }
  return { first, unkeyed, repeats };
}

// JSON of a tuple: no separator a testcase id could contain can make two keys collide.
function keyOf(testcaseId: string, trial: number): string {
  return JSON.stringify([testcaseId, trial]);
}
