export * from './detailed-nag-pack';
export * from './deploy-readiness-checks';
export * from './rds-proxy-checks';
export * from './synth-checks';
