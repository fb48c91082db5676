export * from './network';
export * from './database';
export * from './bootstrap';
export * from './configuration';
export * from './function';
export * from './layer';
export * from './monitoring';
export * from './rules';
