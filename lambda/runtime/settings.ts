/** Database engines the runtime has drivers for (the values of DATABASE_ENGINE). */
export type DatabaseEngine = 'postgresql' | 'mysql';

/**
 * Connection settings, normally read from the environment variables the
 * DatabaseFunction construct sets (see `settingsFromEnvironment`).
 */
export interface DatabaseSettings {
  readonly engine: DatabaseEngine;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** Region the IAM authentication token is signed for. */
  readonly region: string;
  /** How long opening a connection (TCP, TLS and login) may take. */
  readonly connectTimeoutMillis: number;
  /** How long one statement may take before its connection is given up. */
  readonly queryTimeoutMillis: number;
  /**
   * `iam`: an IAM authentication token, signed with the function's credentials (the only method in Lambda).
   * `password`: `password` below, for a local database during development.
   */
  readonly authentication: 'iam' | 'password';
  /** Only with `authentication: 'password'`. */
  readonly password?: string;
  /** False only for a local database without TLS during development. */
  readonly tls: boolean;
}

/** A configuration mistake; the message names the variable, the value and the fix. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

export const DEFAULT_CONNECT_TIMEOUT_MILLIS = 3000;
export const DEFAULT_QUERY_TIMEOUT_MILLIS = 6000;
/** The longest a Lambda invocation can run; a longer timeout is a typo. */
const MAX_TIMEOUT_MILLIS = 900_000;
const REQUIRED = ['DATABASE_HOST', 'DATABASE_PORT', 'DATABASE_NAME', 'DATABASE_USER', 'DATABASE_ENGINE', 'AWS_REGION'] as const;
const ENGINES: readonly DatabaseEngine[] = ['postgresql', 'mysql'];

/**
 * Reads and checks the connection settings from environment variables:
 * DATABASE_HOST, DATABASE_PORT, DATABASE_NAME, DATABASE_USER,
 * DATABASE_ENGINE (`postgresql` or `mysql`) and AWS_REGION (all required);
 * DATABASE_CONNECT_TIMEOUT_MS and DATABASE_QUERY_TIMEOUT_MS (default 3000 and
 * 6000). For a local database only (refused inside Lambda):
 * DATABASE_AUTH=password with DATABASE_PASSWORD, and DATABASE_TLS=disable.
 *
 * Throws one SettingsError that lists every problem found.
 */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): DatabaseSettings {
  const missing = REQUIRED.filter(key => !env[key]);
  if (missing.length > 0) {
    throw new SettingsError(`missing environment variables: ${missing.join(', ')}`);
  }
  const problems: string[] = [];
  const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);

  const port = parseWholeNumber(env.DATABASE_PORT!, 1, 65535);
  if (port === undefined) {
    problems.push(`DATABASE_PORT must be a port number from 1 to 65535, not '${env.DATABASE_PORT}'`);
  }
  const engine = env.DATABASE_ENGINE as DatabaseEngine;
  if (!ENGINES.includes(engine)) {
    problems.push(`DATABASE_ENGINE must be 'postgresql' or 'mysql', not '${env.DATABASE_ENGINE}'`);
  }
  const connectTimeoutMillis = timeout('DATABASE_CONNECT_TIMEOUT_MS', DEFAULT_CONNECT_TIMEOUT_MILLIS);
  const queryTimeoutMillis = timeout('DATABASE_QUERY_TIMEOUT_MS', DEFAULT_QUERY_TIMEOUT_MILLIS);

  const authentication = env.DATABASE_AUTH ?? 'iam';
  if (authentication !== 'iam' && authentication !== 'password') {
    problems.push(`DATABASE_AUTH must be 'iam' or 'password', not '${authentication}': leave it unset to use IAM authentication`);
  }
  if (authentication === 'password') {
    if (inLambda) {
      problems.push(`DATABASE_AUTH=password is for a local database only and is refused in Lambda (AWS_LAMBDA_FUNCTION_NAME is set): remove DATABASE_AUTH and DATABASE_PASSWORD; functions authenticate with IAM tokens`);
    } else if (!env.DATABASE_PASSWORD) {
      problems.push('DATABASE_AUTH=password needs DATABASE_PASSWORD: set it, or remove DATABASE_AUTH to use IAM authentication');
    }
  }

  const tls = env.DATABASE_TLS ?? 'verify';
  if (tls !== 'verify' && tls !== 'disable') {
    problems.push(`DATABASE_TLS must be 'disable' (local databases only) or unset, not '${tls}'`);
  } else if (tls === 'disable' && inLambda) {
    problems.push('DATABASE_TLS=disable is for a local database only and is refused in Lambda (AWS_LAMBDA_FUNCTION_NAME is set): remove DATABASE_TLS; RDS Proxy requires TLS');
  }

  if (problems.length > 0) {
    throw new SettingsError(problems.join('; '));
  }
  return {
    engine,
    host: env.DATABASE_HOST!,
    port: port!,
    database: env.DATABASE_NAME!,
    user: env.DATABASE_USER!,
    region: env.AWS_REGION!,
    connectTimeoutMillis: connectTimeoutMillis!,
    queryTimeoutMillis: queryTimeoutMillis!,
    authentication: authentication as DatabaseSettings['authentication'],
    ...(authentication === 'password' ? { password: env.DATABASE_PASSWORD } : {}),
    tls: tls === 'verify',
  };

  function timeout(key: string, fallback: number): number | undefined {
    const raw = env[key];
    if (raw === undefined || raw === '') return fallback;
    const millis = parseWholeNumber(raw, 1, MAX_TIMEOUT_MILLIS);
    if (millis === undefined) {
      problems.push(`${key} must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MILLIS}, not '${raw}': unset it to use ${fallback}`);
    }
    return millis;
  }
}

/** Checks that settings are for `engine`, so a handler never talks to the wrong kind of server. */
export function requireEngine(settings: DatabaseSettings, engine: DatabaseEngine, entryPoint: string): void {
  if (settings.engine !== engine) {
    const other = settings.engine === 'mysql' ? 'mysqlDatabase from cdk-serverless-rds/runtime/mysql' : 'postgresDatabase from cdk-serverless-rds/runtime/postgres';
    throw new SettingsError(`DATABASE_ENGINE is '${settings.engine}' but the handler uses ${entryPoint}: use ${other}, or connect the function to a ${engine} database`);
  }
}

/** The number `text` spells in plain decimal digits, if it lies within [min, max]. */
export function parseWholeNumber(text: string, min: number, max: number): number | undefined {
  if (!/^[0-9]{1,15}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}
