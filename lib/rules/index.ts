export * from './rds-proxy-checks';
