export * from './runs.module';
