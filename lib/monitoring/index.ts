export * from './alarm-options';
export * from './alarm-topic';
export * from './database-dashboard';
