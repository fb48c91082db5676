/**
 * The engine-neutral part of the runtime for database functions
 * (`cdk-serverless-rds/runtime`): settings, the Database interface and its
 * errors, IAM tokens, the invocation deadline, SQS batches and app
 * parameters from Parameter Store. Nothing here loads more than it needs: the
 * drivers live in `cdk-serverless-rds/runtime/postgres` and `.../mysql`,
 * Powertools logs and metrics in `.../observability`, and appParameters()
 * loads its SSM client from a file of its own on first use.
 */
export { currentDeadline, Deadline, deadlineFromContext, deadlineMargin, InvocationContext, remainingMillis, withDeadline, withInvocationDeadline } from './deadline';
export { CachedPassword, defaultCredentials, PasswordSource, passwordSourceFor, signAuthToken, TOKEN_MAX_AGE_MILLIS, TokenTarget } from './credentials';
export {
  Database, DatabaseOptions, DatabaseUnavailableError, describeError, LOG_MESSAGES, Queryable, RunResult, RuntimeLogger, TransactionRolledBackError,
} from './database';
export {
  appParameters, AppParametersOptions, DEFAULT_PARAMETER_STORE_TIMEOUT_MILLIS, DEFAULT_PARAMETERS_MAX_AGE_SECONDS, ParameterStoreReader, ParameterStoreUnavailableError,
} from './parameters';
export {
  DatabaseEngine, DatabaseSettings, DEFAULT_CONNECT_TIMEOUT_MILLIS, DEFAULT_QUERY_TIMEOUT_MILLIS, SettingsError, settingsFromEnvironment,
} from './settings';
export * from './batch';
