import type { Type } from '@nestjs/common';
import { RootResolver, RunResolver } from './resolvers';
import { CsvExportController } from './csv-export';
import { GATEWAY_TYPE_DEFS } from './schema';
import { ACCESS_TYPE_DEFS } from './access/schema';
import { ApiKeysResolver } from './access/api-keys.resolver';
import { TESTSETS_TYPE_DEFS } from './testsets/schema';
import { TestsetsResolver } from './testsets/testsets.resolver';
import { TestsetFilesController } from './testsets/testset-files.controller';
import { SYSTEMS_TYPE_DEFS } from './systems/schema';
import { SystemsResolver, SystemVersionResolver } from './systems/systems.resolver';
import { RUN_CATALOG_TYPE_DEFS, RunCatalogResolver } from './catalog/run-catalog';
import { METRICS_TYPE_DEFS } from './metrics/schema';
import { MetricsResolver, MetricVersionsResolver, RunMetricVersionsResolver } from './metrics/metrics.resolver';
import { HISTORY_TYPE_DEFS, HistoryResolver, MetricComparisonResolver } from './history';
import { RecordRunResolver, REVIEW_TYPE_DEFS, ReviewResolver, RunHumanReviewResolver, ScoreSourceResolver } from './review';
import { EXECUTION_TYPE_DEFS } from './execution/schema';
import { ExecutionResolver, RunExecutionResolver } from './execution/execution.resolver';
import { RescoreResolver, RunCostResolver, SCORING_TYPE_DEFS, ScoreJudgeResolver } from './scoring';

/**
 * One entry per capability of the public API: its SDL (extend `Query`/`Mutation` with
 * `extend type Query { … }`), its resolvers and its HTTP controllers. A new capability adds a
 * folder (e.g. `src/testsets/`) and one line here; nothing else in the gateway changes.
 */
export interface ApiModule {
  readonly name: string;
  readonly typeDefs: string;
  readonly resolvers: readonly Type<unknown>[];
  readonly controllers?: readonly Type<unknown>[];
}

export const API_MODULES: readonly ApiModule[] = [
  { name: 'runs', typeDefs: GATEWAY_TYPE_DEFS, resolvers: [RootResolver, RunResolver], controllers: [CsvExportController] },
  { name: 'access', typeDefs: ACCESS_TYPE_DEFS, resolvers: [ApiKeysResolver] },
  { name: 'testsets', typeDefs: TESTSETS_TYPE_DEFS, resolvers: [TestsetsResolver], controllers: [TestsetFilesController] },
  { name: 'systems', typeDefs: SYSTEMS_TYPE_DEFS, resolvers: [SystemsResolver, SystemVersionResolver] },
  { name: 'run-catalog', typeDefs: RUN_CATALOG_TYPE_DEFS, resolvers: [RunCatalogResolver] },
  { name: 'metrics', typeDefs: METRICS_TYPE_DEFS, resolvers: [MetricsResolver, MetricVersionsResolver, RunMetricVersionsResolver] },
  { name: 'history', typeDefs: HISTORY_TYPE_DEFS, resolvers: [HistoryResolver, MetricComparisonResolver] },
  { name: 'review', typeDefs: REVIEW_TYPE_DEFS, resolvers: [ReviewResolver, ScoreSourceResolver, RecordRunResolver, RunHumanReviewResolver] },
  { name: 'execution', typeDefs: EXECUTION_TYPE_DEFS, resolvers: [ExecutionResolver, RunExecutionResolver] },
  { name: 'scoring', typeDefs: SCORING_TYPE_DEFS, resolvers: [RescoreResolver, RunCostResolver, ScoreJudgeResolver] },
];
