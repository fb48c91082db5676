export * from './database-function';
