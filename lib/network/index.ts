export * from './database-network';
