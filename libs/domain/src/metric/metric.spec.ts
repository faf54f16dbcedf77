import type { MetricCreated, MetricUpdated } from '@assay/contracts';
import { deciderSpec } from '@assay/testing';
import { CreateMetric, metricDecider, UpdateMetric } from './metric';

const create = (overrides: Partial<CreateMetric>): CreateMetric => ({
  type: 'CreateMetric',
  metricId: 'm1',
  projectId: 'p1',
  name: 'answer matches',
  evalType: 'HEURISTIC',
  outputType: 'BOOLEAN',
  heuristic: { kind: 'EXACT_MATCH', outputField: 'answer', expectedField: 'answer' },
  ...overrides,
});
const update = (changes: Omit<UpdateMetric, 'type' | 'metricId'>): UpdateMetric => ({ type: 'UpdateMetric', metricId: 'm1', ...changes });
const spec = deciderSpec(metricDecider);

const defaults = { description: '', guidelines: '', promptTemplate: null, evalModelName: null, temperature: null };
const created = (data: Partial<MetricCreated['data']> = {}): MetricCreated => ({
  type: 'MetricCreated',
  data: {
    metricId: 'm1',
    projectId: 'p1',
    name: 'answer matches',
    evalType: 'HEURISTIC',
    outputType: 'BOOLEAN',
    heuristic: { kind: 'EXACT_MATCH', outputField: 'answer', expectedField: 'answer' },
    passingThreshold: 1,
    ...defaults,
    ...data,
  },
});
/** A MetricCreated written before issue 3: none of the newer fields. */
const legacyCreated: MetricCreated = {
  type: 'MetricCreated',
  data: {
    metricId: 'm1',
    projectId: 'p1',
    name: 'answer matches',
    evalType: 'HEURISTIC',
    outputType: 'BOOLEAN',
    heuristic: { kind: 'EXACT_MATCH' },
    passingThreshold: 1,
  },
};
const judgePrompt = 'Question: {{ inputs.question }}\nAnswer: {{ outputs.answer }}\n{{ guidelines }}\nReply {"score": 1-5, "reasoning": "..."}';
const aiCreated = created({ name: 'helpful', evalType: 'AI', outputType: 'INT', heuristic: null, passingThreshold: 4, promptTemplate: judgePrompt });
const updated = (version: number, data: Partial<MetricUpdated['data']>): MetricUpdated => ({
  type: 'MetricUpdated',
  data: { ...(aiCreated.data as Required<MetricCreated['data']>), version, ...data },
});

describe('metric decider: create', () => {
  it('creates a heuristic metric with the default threshold of its output type', () =>
    spec
      .given([])
      .when(create({ outputType: 'FLOAT', heuristic: { kind: 'LEVENSHTEIN' } }))
      .then([created({ outputType: 'FLOAT', heuristic: { kind: 'LEVENSHTEIN' }, passingThreshold: 0.9 })]));

  it('creates an AI metric with its prompt template, model, temperature, guidelines and description', () =>
    spec
      .given([])
      .when(
        create({
          name: ' helpful ',
          evalType: 'AI',
          outputType: 'INT',
          heuristic: null,
          promptTemplate: judgePrompt,
          evalModelName: 'gpt-4o-mini',
          temperature: 0,
          guidelines: '5: answers fully',
          description: 'How helpful the answer is',
        }),
      )
      .then([
        created({
          name: 'helpful',
          evalType: 'AI',
          outputType: 'INT',
          heuristic: null,
          passingThreshold: 4,
          promptTemplate: judgePrompt,
          evalModelName: 'gpt-4o-mini',
          temperature: 0,
          guidelines: '5: answers fully',
          description: 'How helpful the answer is',
        }),
      ]));

  it('creates a HUMAN metric with guidelines and no scorer', () =>
    spec
      .given([])
      .when(create({ evalType: 'HUMAN', outputType: 'INT', heuristic: null, guidelines: 'Rate tone 1-5' }))
      .then([created({ evalType: 'HUMAN', outputType: 'INT', heuristic: null, passingThreshold: 4, guidelines: 'Rate tone 1-5' })]));

  it('creates a CODE heuristic in any output type', () => {
    const code = 'function score({ outputs }) { return { score: outputs.n, reasoning: "n" } }';
    spec
      .given([])
      .when(create({ outputType: 'INT', heuristic: { kind: 'CODE', code } }))
      .then([created({ outputType: 'INT', heuristic: { kind: 'CODE', code }, passingThreshold: 4 })]);
  });

  it('refuses a prompt template that does not parse, with line and column', () => {
    let thrown: any;
    try {
      spec.given([]).when(create({ evalType: 'AI', heuristic: null, promptTemplate: 'Question: {{ inputs.q }}\nAnswer: {{ outputs.a }' })).result();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'TEMPLATE_INVALID', details: { field: 'promptTemplate', line: 2, column: 22 } });
    expect(thrown.message).toMatch(/does not parse: expected variable end \(line 2, column 22\)/);
  });

  it('refuses a prompt template that names a variable it never gets (a typo)', () =>
    spec.given([]).when(create({ evalType: 'AI', heuristic: null, promptTemplate: '{{ input.question }}' })).thenThrows('TEMPLATE_INVALID'));

  it('refuses an AI metric without a prompt template, or with a heuristic', () => {
    spec.given([]).when(create({ evalType: 'AI', heuristic: null })).thenThrows('METRIC_CONFIG_INVALID');
    spec.given([]).when(create({ evalType: 'AI', promptTemplate: judgePrompt })).thenThrows('METRIC_CONFIG_INVALID');
  });

  it('refuses scorer config on a HUMAN metric and judge config on a HEURISTIC one', () => {
    spec.given([]).when(create({ evalType: 'HUMAN' })).thenThrows('METRIC_CONFIG_INVALID');
    spec.given([]).when(create({ evalType: 'HUMAN', heuristic: null, promptTemplate: judgePrompt })).thenThrows('METRIC_CONFIG_INVALID');
    spec.given([]).when(create({ evalModelName: 'gpt-4o' })).thenThrows('METRIC_CONFIG_INVALID');
  });

  it('refuses a CODE heuristic without code, or with fields it does not read', () => {
    spec.given([]).when(create({ heuristic: { kind: 'CODE' } })).thenThrows('METRIC_CONFIG_INVALID');
    spec.given([]).when(create({ heuristic: { kind: 'CODE', code: 'function score(){}', outputField: 'a' } })).thenThrows('METRIC_CONFIG_INVALID');
    spec.given([]).when(create({ heuristic: { kind: 'EXACT_MATCH', code: 'function score(){}' } })).thenThrows('METRIC_CONFIG_INVALID');
  });

  it('refuses a temperature out of range', () =>
    spec.given([]).when(create({ evalType: 'AI', heuristic: null, promptTemplate: judgePrompt, temperature: 3 })).thenThrows('BAD_USER_INPUT'));

  it('refuses a regex that does not compile', () =>
    spec.given([]).when(create({ heuristic: { kind: 'REGEX', params: { pattern: '(' } } })).thenThrows('METRIC_CONFIG_INVALID'));

  it.each([
    ['a text option of the wrong type', { kind: 'EXACT_MATCH', params: { caseSensitive: 'false' } }, 'heuristic.params.caseSensitive', /caseSensitive must be true or false, not "false"/],
    ['trim as a number', { kind: 'CONTAINS', params: { trim: 1 } }, 'heuristic.params.trim', /trim must be true or false/],
    ['flags as a number', { kind: 'REGEX', params: { pattern: 'a', flags: 5 } }, 'heuristic.params.flags', /flags must be a string/],
    ['a misspelt param', { kind: 'EXACT_MATCH', params: { case_sensitive: false } }, 'heuristic.params.case_sensitive', /EXACT_MATCH has no param "case_sensitive": it takes caseSensitive, trim/],
    ['a param where the kind takes none', { kind: 'JSON_VALID', params: { strict: true } }, 'heuristic.params.strict', /JSON_VALID has no param "strict": it takes none/],
    ['a pattern RE2 cannot run', { kind: 'REGEX', params: { pattern: '(a)\\1' } }, 'heuristic.params.pattern', /without backreferences/],
    ['a param NUMERIC_CLOSE does not take', { kind: 'NUMERIC_CLOSE', params: { tolerance: null, extra: 1 } }, 'heuristic.params.extra', /NUMERIC_CLOSE has no param "extra"/],
  ] as const)('refuses %s at creation, naming the field (every record would fail at scoring)', (_name, heuristic, field, message) => {
    expect(() => spec.given([]).when(create({ heuristic: { ...heuristic } })).result()).toThrow(
      expect.objectContaining({ code: 'METRIC_CONFIG_INVALID', message: expect.stringMatching(message), details: { field } }),
    );
  });

  it('refuses an output type the heuristic cannot produce', () => spec.given([]).when(create({ outputType: 'INT' })).thenThrows('METRIC_CONFIG_INVALID'));

  it('refuses a threshold out of range, naming the range', () => {
    spec.given([]).when(create({ outputType: 'FLOAT', heuristic: { kind: 'LEVENSHTEIN' }, passingThreshold: 1.5 })).thenThrows('BAD_USER_INPUT');
    expect(() => spec.given([]).when(create({ evalType: 'HUMAN', outputType: 'INT', heuristic: null, passingThreshold: 6 })).result()).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', details: { field: 'passingThreshold', min: 1, max: 5 } }),
    );
  });

  it('refuses a heuristic metric without a heuristic', () => spec.given([]).when(create({ heuristic: null })).thenThrows('METRIC_CONFIG_INVALID'));
});

describe('metric decider: versions', () => {
  it('a change makes version n+1 carrying the whole new definition', () =>
    spec
      .given([aiCreated])
      .when(update({ guidelines: 'Be strict.', temperature: 0.2 }))
      .then([updated(2, { guidelines: 'Be strict.', temperature: 0.2 })]));

  it('counts versions on from the last one', () =>
    spec.given([aiCreated, updated(2, { guidelines: 'Be strict.' })]).when(update({ name: 'helpfulness' })).then([
      updated(3, { guidelines: 'Be strict.', name: 'helpfulness' }),
    ]));

  it('null puts a field back to its default: the threshold of the output type, no model', () =>
    spec
      .given([aiCreated, updated(2, { passingThreshold: 3, evalModelName: 'gpt-4o' })])
      .when(update({ passingThreshold: null, evalModelName: null }))
      .then([updated(3, { passingThreshold: 4, evalModelName: null })]));

  it('saving the same definition again makes no version', () => {
    spec.given([aiCreated]).when(update({ promptTemplate: judgePrompt, name: 'helpful' })).then([]);
    spec.given([aiCreated]).when(update({})).then([]);
  });

  it('updates a metric created before issue 3 (no newer fields in its event)', () =>
    spec.given([legacyCreated]).when(update({ description: 'exact answer' })).then([
      {
        type: 'MetricUpdated',
        data: {
          metricId: 'm1',
          projectId: 'p1',
          version: 2,
          name: 'answer matches',
          evalType: 'HEURISTIC',
          outputType: 'BOOLEAN',
          heuristic: { kind: 'EXACT_MATCH' },
          passingThreshold: 1,
          ...defaults,
          description: 'exact answer',
        },
      },
    ]));

  it('checks the new definition as a whole: a broken template or threshold changes nothing', () => {
    spec.given([aiCreated]).when(update({ promptTemplate: '{% if outputs.a %}unclosed' })).thenThrows('TEMPLATE_INVALID');
    spec.given([aiCreated]).when(update({ passingThreshold: 0 })).thenThrows('BAD_USER_INPUT');
    spec.given([aiCreated]).when(update({ heuristic: { kind: 'EXACT_MATCH' } })).thenThrows('METRIC_CONFIG_INVALID');
  });

  it('a missing metric is METRIC_NOT_FOUND', () => spec.given([]).when(update({ name: 'x' })).thenThrows('METRIC_NOT_FOUND'));

  it('evolves to the current version: what createRun pins', () => {
    const state = [aiCreated, updated(2, { guidelines: 'v2' })].reduce(metricDecider.evolve, metricDecider.initialState());
    expect(state).toEqual({
      exists: true,
      projectId: 'p1',
      snapshot: expect.objectContaining({ metricId: 'm1', version: 2, guidelines: 'v2', promptTemplate: judgePrompt }),
    });
  });
});
