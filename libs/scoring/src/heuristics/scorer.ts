import type { HeuristicDefinition } from '@assay/contracts';
import type { HeuristicRecord, HeuristicResult } from './values';

/** A heuristic with its params read (and its regex compiled) once: score many records with it. */
export type Scorer = (record: HeuristicRecord) => HeuristicResult;

/** Reads and checks a definition's params; throws METRIC_CONFIG_INVALID when they cannot work. */
export type CompileHeuristic = (definition: HeuristicDefinition) => Scorer;
