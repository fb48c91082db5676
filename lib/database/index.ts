export * from './capacity';
export * from './engine';
export * from './proxied-database';
