import { AssayError, EvalType, HeuristicDefinition, MetricSnapshot, OutputType } from '@assay/contracts';
import { checkTemplate } from '../template/jinja';
import { assertValidHeuristic } from './heuristic-config';
import { assertValidThreshold, defaultPassingThreshold } from './passing';

/** Everything that defines one version of a metric. A run pins it whole (MetricSnapshot). */
export interface MetricDefinition {
  readonly name: string;
  readonly description: string;
  readonly guidelines: string;
  readonly evalType: EvalType;
  readonly outputType: OutputType;
  readonly passingThreshold: number;
  readonly heuristic: HeuristicDefinition | null;
  readonly promptTemplate: string | null;
  readonly evalModelName: string | null;
  readonly temperature: number | null;
}

/** What a user sends: absent (or null) optional fields take their defaults. */
export interface MetricDefinitionInput {
  readonly name: string;
  readonly evalType: EvalType;
  readonly outputType: OutputType;
  readonly description?: string | null;
  readonly guidelines?: string | null;
  readonly passingThreshold?: number | null;
  readonly heuristic?: HeuristicDefinition | null;
  readonly promptTemplate?: string | null;
  readonly evalModelName?: string | null;
  readonly temperature?: number | null;
}

/** The variables a judge prompt template (an AI metric's promptTemplate) is rendered with. */
export const JUDGE_PROMPT_VARIABLES = ['inputs', 'outputs', 'expected', 'guidelines'] as const;

export const METRIC_LIMITS = {
  name: 200,
  description: 10_000,
  guidelines: 20_000,
  evalModelName: 200,
  /** CODE heuristics: characters of JavaScript source. */
  code: 100_000,
  temperature: { min: 0, max: 2 },
} as const;

function assertLength(field: keyof typeof METRIC_LIMITS, value: string): void {
  const max = METRIC_LIMITS[field] as number;
  if (value.length > max) {
    throw new AssayError('BAD_USER_INPUT', `${field} is ${value.length} characters long; the limit is ${max}.`, { field, max });
  }
}

const notFor = (field: string, evalType: EvalType, use: string) =>
  new AssayError('METRIC_CONFIG_INVALID', `${field} does not apply to ${evalType} metrics: ${use}.`, { field });

/**
 * Fills in defaults and checks a whole definition, as created or after an update. Pure: the CODE
 * heuristic's JavaScript is checked for size here and compiled by the command handler (the
 * sandbox is an engine, not a rule).
 */
export function normalizeMetricDefinition(input: MetricDefinitionInput): MetricDefinition {
  const name = (input.name ?? '').trim();
  if (!name) throw new AssayError('BAD_USER_INPUT', 'A metric needs a name.', { field: 'name' });
  assertLength('name', name);
  const description = input.description ?? '';
  assertLength('description', description);
  const guidelines = input.guidelines ?? '';
  assertLength('guidelines', guidelines);

  const { evalType, outputType } = input;
  const heuristic = input.heuristic ?? null;
  const promptTemplate = input.promptTemplate ?? null;
  const evalModelName = input.evalModelName?.trim() || null;
  const temperature = input.temperature ?? null;

  switch (evalType) {
    case 'HEURISTIC': {
      if (!heuristic) throw new AssayError('METRIC_CONFIG_INVALID', 'A HEURISTIC metric needs `heuristic: {kind, …}`.', { field: 'heuristic' });
      if (promptTemplate !== null) throw notFor('promptTemplate', evalType, 'it belongs to AI metrics');
      if (evalModelName !== null) throw notFor('evalModelName', evalType, 'it belongs to AI metrics');
      if (temperature !== null) throw notFor('temperature', evalType, 'it belongs to AI metrics');
      assertValidHeuristic(heuristic, outputType);
      if (heuristic.kind === 'CODE') assertLength('code', heuristic.code ?? '');
      break;
    }
    case 'AI': {
      if (heuristic) throw notFor('heuristic', evalType, 'an LLM judge scores them with promptTemplate');
      if (promptTemplate === null || !promptTemplate.trim()) {
        throw new AssayError(
          'METRIC_CONFIG_INVALID',
          'An AI metric needs promptTemplate, the Jinja template of the judge prompt (start from one of metricTemplates).',
          { field: 'promptTemplate' },
        );
      }
      checkTemplate(promptTemplate, { field: 'promptTemplate', variables: JUDGE_PROMPT_VARIABLES });
      if (evalModelName !== null) assertLength('evalModelName', evalModelName);
      if (temperature !== null) {
        const { min, max } = METRIC_LIMITS.temperature;
        if (!Number.isFinite(temperature) || temperature < min || temperature > max) {
          throw new AssayError('BAD_USER_INPUT', `temperature ${temperature} is out of range: use a value from ${min} to ${max}.`, {
            field: 'temperature',
            min,
            max,
          });
        }
      }
      break;
    }
    case 'HUMAN': {
      const use = 'a person scores HUMAN metrics, following guidelines';
      if (heuristic) throw notFor('heuristic', evalType, use);
      if (promptTemplate !== null) throw notFor('promptTemplate', evalType, use);
      if (evalModelName !== null) throw notFor('evalModelName', evalType, use);
      if (temperature !== null) throw notFor('temperature', evalType, use);
      break;
    }
    default:
      throw new AssayError('BAD_USER_INPUT', `Unknown evalType ${JSON.stringify(evalType)}: use HEURISTIC, AI or HUMAN.`, { field: 'evalType' });
  }

  const passingThreshold = input.passingThreshold ?? defaultPassingThreshold(outputType);
  assertValidThreshold(outputType, passingThreshold);
  return { name, description, guidelines, evalType, outputType, passingThreshold, heuristic, promptTemplate, evalModelName, temperature };
}

/** The definition a snapshot carries; snapshots pinned before issue 3 lack the newer fields. */
export function definitionOf(snapshot: MetricSnapshot): MetricDefinition {
  return {
    name: snapshot.name,
    description: snapshot.description ?? '',
    guidelines: snapshot.guidelines ?? '',
    evalType: snapshot.evalType,
    outputType: snapshot.outputType,
    passingThreshold: snapshot.passingThreshold,
    heuristic: snapshot.heuristic ?? null,
    promptTemplate: snapshot.promptTemplate ?? null,
    evalModelName: snapshot.evalModelName ?? null,
    temperature: snapshot.temperature ?? null,
  };
}
