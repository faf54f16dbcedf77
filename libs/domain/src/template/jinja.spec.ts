import { AssayError } from '@assay/contracts';
import { METRIC_TEMPLATES, SAMPLE_RECORD } from '../metric/builtin-templates';
import { normalizeMetricDefinition, JUDGE_PROMPT_VARIABLES } from '../metric/definition';
import { checkTemplate, compileTemplate, TemplateRenderError } from './jinja';

const options = { field: 'promptTemplate', variables: JUDGE_PROMPT_VARIABLES };

function refusal(source: string): AssayError {
  try {
    checkTemplate(source, options);
  } catch (error) {
    return error as AssayError;
  }
  throw new Error(`accepted: ${source}`);
}

describe('Jinja templates (nunjucks)', () => {
  it('renders variables, conditionals, loops and filters', () => {
    const template = compileTemplate(
      [
        'Q: {{ inputs.question }}',
        '{% if expected.answer %}Expected: {{ expected.answer | upper }}{% else %}No reference.{% endif %}',
        '{% for doc in inputs.docs %}[{{ loop.index }}] {{ doc }}\n{% endfor %}',
        '{% for key, value in outputs %}{{ key }}={{ value }};{% endfor %}',
        '{{ guidelines | trim }} {{ outputs | dump }}',
      ].join('\n'),
      options,
    );
    expect(
      template.render({ inputs: { question: 'Capital?', docs: ['a', 'b'] }, outputs: { answer: 'Paris' }, expected: { answer: 'paris' }, guidelines: ' be fair ' }),
    ).toBe('Q: Capital?\nExpected: PARIS\n[1] a\n[2] b\n\nanswer=Paris;\nbe fair {"answer":"Paris"}');
    expect(template.render({ inputs: { question: 'Capital?', docs: [] }, outputs: {}, expected: null, guidelines: '' })).toBe(
      'Q: Capital?\nNo reference.\n\n\n {}',
    );
  });

  it('does not escape HTML: prompts are text', () => {
    expect(compileTemplate('{{ outputs.html }}', options).render({ outputs: { html: '<b>"x" & y</b>' } })).toBe('<b>"x" & y</b>');
  });

  it('a template that does not parse is refused with line and column', () => {
    expect(refusal('Question: {{ inputs.q }}\n\nAnswer: {{ outputs.a }')).toMatchObject({
      code: 'TEMPLATE_INVALID',
      message: 'promptTemplate does not parse: expected variable end (line 3, column 22).',
      details: { field: 'promptTemplate', line: 3, column: 22 },
    });
    expect(refusal('{% endif %}')).toMatchObject({ details: { line: 1, column: 4 }, message: expect.stringContaining('unknown block tag: endif') });
    expect(refusal('a\n  {{ x + }}')).toMatchObject({ details: { line: 2, column: 10 } });
  });

  it('an unclosed block is reported at the end of the template', () => {
    expect(refusal('line 1\n{% if outputs.a %}\nyes')).toMatchObject({
      details: { line: 3, column: 4 },
      message: expect.stringMatching(/expected elif, else, or endif, got end of file \(line 3, column 4\)/),
    });
    expect(refusal('{# comment')).toMatchObject({ code: 'TEMPLATE_INVALID', details: { line: 1, column: 11 } });
  });

  it('refuses a variable the template is never given, where it is', () => {
    expect(refusal('Q: {{ inputs.q }}\n{{ output.answer }}')).toMatchObject({
      message: 'promptTemplate uses the variable "output", which it is never given: use inputs, outputs, expected, guidelines (line 2, column 4).',
      details: { line: 2, column: 4 },
    });
  });

  it('accepts names the template binds itself: loop variables, set, macros and their arguments', () => {
    expect(() =>
      checkTemplate(
        '{% set n = 1 %}{% macro show(v, indent=2) %}{{ v | dump(indent) }}{% endmacro %}{% for k, v in inputs %}{{ show(v) }}{{ n }}{{ loop.first }}{% endfor %}' +
          '{% if outputs is defined and outputs is not none %}{{ range(3) | join(",") }}{% endif %}{{ {a: 1} | dump }}',
        options,
      ),
    ).not.toThrow();
  });

  it('refuses unknown filters, other templates and the way to Function', () => {
    expect(refusal('{{ outputs | nosuch }}')).toMatchObject({ message: expect.stringContaining('unknown filter "nosuch"') });
    expect(refusal('{% include "other.txt" %}').message).toMatch(/uses include/);
    expect(refusal('{% extends "base" %}').message).toMatch(/uses extends/);
    expect(refusal('{{ range.constructor("return process")() }}')).toMatchObject({ code: 'TEMPLATE_INVALID', details: { line: 1, column: 10 } });
    expect(refusal('{{ outputs["__proto__"] }}').code).toBe('TEMPLATE_INVALID');
  });

  it('cannot reach Function with a computed name either: the runtime refuses it', () => {
    const template = compileTemplate('{% set k = "constr" + "uctor" %}{{ range[k]("return process.pid")() }}', options);
    expect(() => template.render({})).toThrow(/templates may not read "constructor"/);
  });

  it('a missing variable fails rendering with its line (throwOnUndefined), a missing optional one does not', () => {
    const template = compileTemplate('Q: {{ inputs.q }}\n{% if expected.a %}{{ expected.a }}{% endif %}A: {{ outputs.answer }}', options);
    expect(template.render({ inputs: { q: 'x' }, outputs: { answer: 'y' }, expected: null })).toBe('Q: x\nA: y');
    let thrown: unknown;
    try {
      template.render({ inputs: { q: 'x' }, outputs: {}, expected: null });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TemplateRenderError);
    expect(thrown).toMatchObject({ line: 2, message: expect.stringMatching(/missing from the record/) });
  });

  it('caps range() so that a typo cannot spin the worker', () => {
    expect(() => compileTemplate('{% for i in range(100000000) %}x{% endfor %}', options).render({})).toThrow(/range\(\) is limited/);
  });
});

describe('built-in metric templates', () => {
  it('cover correctness, faithfulness, relevance, conciseness, PII leakage and toxicity', () => {
    expect(METRIC_TEMPLATES.map((t) => t.key)).toEqual(['correctness', 'faithfulness', 'relevance', 'conciseness', 'pii-leakage', 'toxicity']);
  });

  it.each(METRIC_TEMPLATES.map((t) => [t.key, t] as const))('%s is a valid AI metric that renders against a sample record', (_key, template) => {
    const definition = normalizeMetricDefinition({ ...template });
    expect(definition).toMatchObject({ evalType: 'AI', outputType: template.outputType, passingThreshold: template.passingThreshold });
    const prompt = compileTemplate(template.promptTemplate, options).render({ ...SAMPLE_RECORD, guidelines: template.guidelines });
    expect(prompt).toContain('The capital of France is Paris.');
    expect(prompt).toContain(template.guidelines);
    expect(prompt).toMatch(/"reasoning".*"score"/);
    expect(prompt).not.toMatch(/\{\{|\{%|\[object Object\]|undefined/);
    // Records without expected values or with plain-text fields render too.
    const bare = compileTemplate(template.promptTemplate, options).render({ inputs: 'Hi', outputs: 'Hello!', expected: null, guidelines: template.guidelines });
    expect(bare).toContain('Hello!');
  });

  it('faithfulness shows the given context; correctness shows the expected output', () => {
    const render = (key: string) => {
      const t = METRIC_TEMPLATES.find((m) => m.key === key)!;
      return compileTemplate(t.promptTemplate, options).render({ ...SAMPLE_RECORD, guidelines: t.guidelines });
    };
    expect(render('faithfulness')).toContain('<context>\nParis is the capital and most populous city of France.\n</context>');
    expect(render('correctness')).toContain('<expected_output>\n{\n  "answer": "Paris"\n}\n</expected_output>');
  });
});
