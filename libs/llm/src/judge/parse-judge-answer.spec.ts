import { parseJudgeAnswer } from './judge';

describe('parseJudgeAnswer', () => {
  it.each([
    ['{"score": true, "reasoning": "ok"}', 'BOOLEAN', 1],
    ['{"score": false, "reasoning": "no"}', 'BOOLEAN', 0],
    ['{"score": 1}', 'BOOLEAN', 1],
    ['{"score": "false"}', 'BOOLEAN', 0],
    ['{"score": 4, "reasoning": "good"}', 'INT', 4],
    ['{"score": "5"}', 'INT', 5],
    ['{"score": 0.75}', 'FLOAT', 0.75],
    ['{"score": 0}', 'FLOAT', 0],
    ['```json\n{"score": 3, "reasoning": "fenced"}\n```', 'INT', 3],
    ['Here is my verdict:\n{"score": 0.5, "reasoning": "surrounded"}\nThanks', 'FLOAT', 0.5],
  ] as const)('accepts %s as %s', (text, outputType, score) => {
    const parsed = parseJudgeAnswer(text, outputType);
    expect(parsed).toMatchObject({ ok: true, score });
  });

  it('keeps the reasoning', () => {
    expect(parseJudgeAnswer('{"score": 2, "reasoning": "too long"}', 'INT')).toEqual({ ok: true, score: 2, reasoning: 'too long' });
    expect(parseJudgeAnswer('{"score": 2}', 'INT')).toEqual({ ok: true, score: 2, reasoning: '' });
  });

  it.each([
    ['the answer is good', 'BOOLEAN', 'not a JSON object'],
    ['[1, 2]', 'INT', 'not an object'],
    ['{"reasoning": "forgot"}', 'INT', 'no "score"'],
    ['{"score": "yes"}', 'BOOLEAN', 'true or false'],
    ['{"score": 2}', 'BOOLEAN', 'true or false'],
    ['{"score": 6}', 'INT', 'from 1 to 5'],
    ['{"score": 3.5}', 'INT', 'from 1 to 5'],
    ['{"score": 0}', 'INT', 'from 1 to 5'],
    ['{"score": 1.2}', 'FLOAT', 'from 0 to 1'],
    ['{"score": "high"}', 'FLOAT', 'must be a number'],
    ['{"score": 0.5', 'FLOAT', 'not a JSON object'],
  ] as const)('refuses %s as %s', (text, outputType, reason) => {
    const parsed = parseJudgeAnswer(text, outputType);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toContain(reason);
  });
});
