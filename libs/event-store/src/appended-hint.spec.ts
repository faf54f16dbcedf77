import { appendedTypesHint, hintConcerns, parseAppendedHint } from './appended-hint';

describe('appended-types hint', () => {
  it('names each type appended once, and round-trips through the NOTIFY payload', () => {
    const hint = appendedTypesHint(['ScoreRecorded', 'RecordAdded', 'ScoreRecorded']);
    expect(hint).toBe('RecordAdded,ScoreRecorded');
    expect([...parseAppendedHint(hint)!]).toEqual(['RecordAdded', 'ScoreRecorded']);
  });

  it('wakes a reader only for its types, and every reader when the hint names none', () => {
    const appended = parseAppendedHint('RecordAdded,ScoreRecorded');
    expect(hintConcerns(appended, ['ApiKeyCreated', 'ProjectCreated'])).toBe(false);
    expect(hintConcerns(appended, ['ProjectCreated', 'RecordAdded'])).toBe(true);
    expect(hintConcerns(appended, undefined)).toBe(true); // a reader of every type
    expect(hintConcerns(parseAppendedHint(''), ['ProjectCreated'])).toBe(true); // unknown: look
  });

  it('sends "unknown" rather than a payload NOTIFY would refuse', () => {
    const many = Array.from({ length: 500 }, (_, i) => `SomeRatherLongEventTypeName${i}`);
    expect(appendedTypesHint(many)).toBe('');
  });
});
