export * from './runs.module';
export { reconcilersFromEnv } from './reconcilers';
