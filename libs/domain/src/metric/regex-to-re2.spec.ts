import { regexParams } from './heuristic-params';

/**
 * A REGEX metric runs on RE2 but must match what its author tried in JavaScript: for patterns RE2
 * can run, the verdict equals JavaScript's `new RegExp(pattern, flags).test(text)`.
 */
describe('REGEX patterns read as JavaScript reads them', () => {
  const NBSP = '\u00a0';
  it.each([
    ['\\s', '', NBSP],
    ['^\\s+$', '', `\u2028\ufeff${NBSP}`],
    ['^\\S+$', '', NBSP],
    ['[\\s\\d]+$', '', `${NBSP}1`],
    ['^[^\\s]$', '', NBSP],
    ['a.b', '', 'a\rb'],
    ['a.b', '', 'a\u2028b'],
    ['a.b', 's', 'a\rb'],
    ['a.b', '', 'a-b'],
    ['^[^]$', '', '\n'],
    ['abc', 'y', 'xabc'],
    ['abc', 'y', 'abcx'],
    ['b', 'my', 'a\nb'],
    ['\\cJ', '', '\n'],
    ['[\\b]', '', '\b'],
    ['\\bword\\b', '', 'a word here'],
    ['\\0', '', '\0'],
    ['\\u00e9', '', 'caf\u00e9'],
    ['\\u{1F44D}', 'u', 'ok \u{1F44D}'],
    ['\\\\u00e9', '', '\\u00e9'],
    ['^a$', 'm', 'x\na'],
    ['^a$', '', 'x\na'],
    ['PARIS', 'i', 'paris'],
    ['[.]', '', 'x'],
    ['\\.', '', 'x'],
    ['^\\d{3}-\\d{4}$', '', '555-1234'],
    ['(?<area>\\d{3})', '', 'tel 555'],
  ])('/%s/%s on %j: as JavaScript', (pattern, flags, text) => {
    expect(regexParams({ pattern, flags }).regex.test(text)).toBe(new RegExp(pattern, flags).test(text));
  });
});
