import { canonicalJson } from '@assay/domain';
import { selectField, show, textOf } from './values';

describe('selectField', () => {
  const outputs = { answer: 'Paris', choices: [{ text: 'a' }, { text: null }], nested: { deep: { value: 0 } }, flag: false, 'dotted.key': 1 };

  it.each([
    ['whole value when the path is undefined', undefined, outputs],
    ['whole value when the path is null', null, outputs],
    ['whole value when the path is empty', '', outputs],
    ['a top-level field', 'answer', 'Paris'],
    ['an array item by index', 'choices.0.text', 'a'],
    ['a deep field holding 0', 'nested.deep.value', 0],
    ['a field holding false', 'flag', false],
  ])('selects %s', (_name, path, expected) => {
    expect(selectField('output', outputs, path)).toEqual({ found: true, value: expected, label: path ? `output.${path}` : 'output' });
  });

  it.each([
    ['an absent field', 'question', "output.question is missing: output has no field 'question'"],
    ['an index past the end', 'choices.5.text', 'output.choices.5.text is missing: output.choices has 2 item(s), no index 5'],
    ['a non-numeric segment on a list', 'choices.first', "output.choices.first is missing: output.choices is a list, and 'first' is not an index"],
    ['a negative index', 'choices.-1', "output.choices.-1 is missing: output.choices is a list, and '-1' is not an index"],
    ['a field of a string', 'answer.length', 'output.answer.length is missing: output.answer is a string, not an object'],
    ['a field holding null', 'choices.1.text', 'output.choices.1.text is null'],
    ['an inherited property', 'constructor', "output.constructor is missing: output has no field 'constructor'"],
    ['__proto__', '__proto__', "output.__proto__ is missing: output has no field '__proto__'"],
    ['a key with a dot (not addressable)', 'dotted.key', "output.dotted.key is missing: output has no field 'dotted'"],
  ])('reports %s', (_name, path, why) => {
    expect(selectField('output', outputs, path)).toEqual({ found: false, label: `output.${path}`, why });
  });

  it('treats a null or absent whole value as missing', () => {
    expect(selectField('expected', null, undefined)).toEqual({ found: false, label: 'expected', why: 'expected is empty (null)' });
    expect(selectField('expected', undefined, null)).toMatchObject({ found: false });
    expect(selectField('expected', null, 'answer')).toEqual({
      found: false,
      label: 'expected.answer',
      why: 'expected.answer is missing: expected is null',
    });
  });
});

describe('canonicalJson and textOf', () => {
  it.each([
    [{ b: 1, a: [2, { d: null, c: 'x' }] }, '{"a":[2,{"c":"x","d":null}],"b":1}'],
    [[1, 'two', true, null], '[1,"two",true,null]'],
    [42, '42'],
    [-0.5, '-0.5'],
    [true, 'true'],
    [null, 'null'],
    [{ skipped: undefined, kept: 1 }, '{"kept":1}'],
    [{ 'é': 'ü', emoji: '👍' }, '{"emoji":"👍","é":"ü"}'],
  ])('canonicalJson(%j) = %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it('gives equal text for objects that differ only in key order', () => {
    expect(canonicalJson({ x: { b: 2, a: 1 }, y: 0 })).toBe(canonicalJson({ y: 0, x: { a: 1, b: 2 } }));
  });

  it('keeps strings as they are and serialises everything else', () => {
    expect(textOf('  Paris ')).toBe('  Paris ');
    expect(textOf('"quoted"')).toBe('"quoted"');
    expect(textOf(42)).toBe('42');
    expect(textOf({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });
});

describe('show', () => {
  it('quotes strings and escapes what would break the line', () => {
    expect(show('Paris')).toBe("'Paris'");
    expect(show("it's\na\ttab")).toBe("'it\\'s\\na\\ttab'");
    expect(show({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
    expect(show(3)).toBe('3');
  });

  it('cuts long values at 80 code points without splitting a surrogate pair', () => {
    expect(show('x'.repeat(100))).toBe(`'${'x'.repeat(80)}…'`);
    expect(show('👍'.repeat(200))).toBe(`'${'👍'.repeat(80)}…'`);
    expect(show('👍'.repeat(80))).toBe(`'${'👍'.repeat(80)}'`);
  });
});
