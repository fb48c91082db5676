export * from './dependency-layer';
