export { SCORING_TYPE_DEFS } from './schema';
export { RescoreResolver, RunCostResolver, ScoreJudgeResolver } from './scoring.resolver';
