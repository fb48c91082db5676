export * from './database-function';
export * from './provisioned-concurrency';
