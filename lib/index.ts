export * from './network';
export * from './database';
export * from './function';
