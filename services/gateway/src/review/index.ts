export { REVIEW_TYPE_DEFS } from './schema';
export { RecordRunResolver, ReviewResolver, RunHumanReviewResolver, ScoreSourceResolver, recordNotFound } from './review.resolver';
