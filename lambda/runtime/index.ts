/**
 * The engine-neutral part of the runtime for database functions
 * (`cdk-serverless-rds/runtime`): settings, the Database interface and its
 * errors, app parameters from SSM, and Powertools observability. The drivers
 * live in `cdk-serverless-rds/runtime/postgres` and `.../mysql`, so that a
 * handler bundles only the one it uses.
 */
export { currentDeadline, Deadline, deadlineFromContext, deadlineMargin, InvocationContext, remainingMillis, withDeadline, withInvocationDeadline } from './deadline';
export { CachedPassword, PasswordSource, passwordSourceFor, TOKEN_MAX_AGE_MILLIS } from './credentials';
export { Database, DatabaseOptions, DatabaseUnavailableError, describeError, LOG_MESSAGES, Queryable, RunResult, RuntimeLogger } from './database';
export { TransactionRolledBackError } from './database';
export { instrumentHandler, observability, Observability, ObservabilityOptions } from './observability';
export { appParameters, AppParametersOptions, DEFAULT_PARAMETERS_MAX_AGE_SECONDS } from './parameters';
export {
  DatabaseEngine, DatabaseSettings, DEFAULT_CONNECT_TIMEOUT_MILLIS, DEFAULT_QUERY_TIMEOUT_MILLIS, SettingsError, settingsFromEnvironment,
} from './settings';
export * from './batch';
