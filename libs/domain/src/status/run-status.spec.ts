import { runStatus } from './run-status';

describe('run status', () => {
  it.each([
    [{ numRecords: 0, numMetrics: 2, numScores: 0, numFailures: 0 }, 'PENDING'],
    [{ numRecords: 3, numMetrics: 2, numScores: 5, numFailures: 0 }, 'SCORING'],
    [{ numRecords: 3, numMetrics: 2, numScores: 6, numFailures: 0 }, 'COMPLETED'],
    // records added to a completed run: scoring again
    [{ numRecords: 4, numMetrics: 2, numScores: 6, numFailures: 0 }, 'SCORING'],
    [{ numRecords: 3, numMetrics: 2, numScores: 5, numFailures: 1 }, 'ERROR'],
  ] as const)('%o is %s', (progress, status) => expect(runStatus(progress)).toBe(status));
});
