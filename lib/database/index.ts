export * from './capacity';
export * from './engine';
export * from './proxied-database';
export * from './proxied-database-base';
