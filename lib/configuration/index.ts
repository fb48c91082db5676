export * from './app-parameters';
