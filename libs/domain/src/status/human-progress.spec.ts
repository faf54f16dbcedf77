import { automaticScoringDone, numAwaitingHuman, runStatus } from './run-status';

describe('run status with HUMAN metrics', () => {
  // 3 records, 2 metrics of which 1 is HUMAN.
  const progress = (numScores: number, numHumanScores: number, numRecords = 3, numFailures = 0) => ({
    numRecords,
    numMetrics: 2,
    numScores,
    numFailures,
    numHumanMetrics: 1,
    numHumanScores,
  });

  it.each([
    [progress(0, 0), 'SCORING', 3, false],
    // automatic metric done, no human score yet: waiting for a person
    [progress(3, 0), 'SCORING', 3, true],
    [progress(5, 2), 'SCORING', 1, true],
    // the last human score completes it
    [progress(6, 3), 'COMPLETED', 0, true],
    // every human score but the automatic metric still running
    [progress(5, 3), 'SCORING', 0, false],
    // records added to a completed run: scoring again, and waiting for a person again
    [progress(6, 3, 4), 'SCORING', 1, false],
    [progress(5, 2, 3, 1), 'ERROR', 1, true],
  ] as const)('%o is %s, %i awaiting a person, automatic done: %s', (p, status, awaiting, automaticDone) => {
    expect(runStatus(p)).toBe(status);
    expect(numAwaitingHuman(p)).toBe(awaiting);
    expect(automaticScoringDone(p)).toBe(automaticDone);
  });

  it('is what it always was for runs without HUMAN metrics', () => {
    const plain = { numRecords: 3, numMetrics: 2, numScores: 6, numFailures: 0 };
    expect(runStatus(plain)).toBe('COMPLETED');
    expect(numAwaitingHuman(plain)).toBe(0);
    expect(runStatus({ ...plain, numScores: 5 })).toBe('SCORING');
  });
});
