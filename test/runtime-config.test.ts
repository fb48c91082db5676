/**
 * The runtime's configuration: settings from the environment and the driver
 * settings for RDS Proxy (TLS, IAM).
 */
import { DatabaseSettings, passwordSourceFor, SettingsError, settingsFromEnvironment } from '../lambda/runtime';
import { mysqlConnectionOptions } from '../lambda/runtime/mysql';
import { postgresClientConfig, postgresDatabase } from '../lambda/runtime/postgres';

const PROXY_HOST = 'my-proxy.proxy-abcdefghijkl.eu-west-1.rds.amazonaws.com';
const complete = {
  DATABASE_HOST: PROXY_HOST,
  DATABASE_PORT: '5432',
  DATABASE_NAME: 'app',
  DATABASE_USER: 'app_user',
  DATABASE_ENGINE: 'postgresql',
  AWS_REGION: 'eu-west-1',
};
const IN_LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: 'items' };

/** Replaces process.env variables for the enclosing describe block. */
function withEnvironment(values: Record<string, string | undefined>): void {
  let saved: Record<string, string | undefined>;
  beforeAll(() => {
    saved = Object.fromEntries(Object.keys(values).map(key => [key, process.env[key]]));
    setEnvironment(values);
  });
  afterAll(() => setEnvironment(saved));
}

function setEnvironment(values: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

describe('settingsFromEnvironment', () => {
  test('reads the settings with IAM authentication, verified TLS and default timeouts', () => {
    expect(settingsFromEnvironment({ ...complete, ...IN_LAMBDA })).toEqual({
      engine: 'postgresql',
      host: PROXY_HOST,
      port: 5432,
      database: 'app',
      user: 'app_user',
      region: 'eu-west-1',
      connectTimeoutMillis: 3000,
      queryTimeoutMillis: 6000,
      authentication: 'iam',
      tls: true,
    });
  });

  test('reads the engine, port and timeouts the construct sets', () => {
    expect(settingsFromEnvironment({
      ...complete, DATABASE_ENGINE: 'mysql', DATABASE_PORT: '3306', DATABASE_CONNECT_TIMEOUT_MS: '1500', DATABASE_QUERY_TIMEOUT_MS: '8000',
    })).toMatchObject({ engine: 'mysql', port: 3306, connectTimeoutMillis: 1500, queryTimeoutMillis: 8000 });
  });

  test('accepts password login without TLS for a local database', () => {
    expect(settingsFromEnvironment({ ...complete, DATABASE_AUTH: 'password', DATABASE_PASSWORD: 'local secret', DATABASE_TLS: 'disable' }))
      .toMatchObject({ authentication: 'password', password: 'local secret', tls: false });
  });

  test.each(Object.keys(complete))('names %s when it is missing or empty', key => {
    const { [key as keyof typeof complete]: _, ...rest } = complete;
    expect(() => settingsFromEnvironment(rest)).toThrow(new SettingsError(`missing environment variables: ${key}`));
    expect(() => settingsFromEnvironment({ ...complete, [key]: '' })).toThrow(new SettingsError(`missing environment variables: ${key}`));
  });

  test('names every missing variable at once', () => {
    expect(() => settingsFromEnvironment({})).toThrow(
      'missing environment variables: DATABASE_HOST, DATABASE_PORT, DATABASE_NAME, DATABASE_USER, DATABASE_ENGINE, AWS_REGION');
  });

  test.each(['abc', '0', '65536', '54.32', ' 5432', '5432 ', '0x10', '1e3'])('rejects DATABASE_PORT %p', port => {
    expect(() => settingsFromEnvironment({ ...complete, DATABASE_PORT: port }))
      .toThrow(new SettingsError(`DATABASE_PORT must be a port number from 1 to 65535, not '${port}'`));
  });

  test.each(['postgres', 'PostgreSQL', 'aurora-mysql', 'mariadb'])('rejects DATABASE_ENGINE %p', engine => {
    expect(() => settingsFromEnvironment({ ...complete, DATABASE_ENGINE: engine }))
      .toThrow(new SettingsError(`DATABASE_ENGINE must be 'postgresql' or 'mysql', not '${engine}'`));
  });

  test.each([
    ['DATABASE_CONNECT_TIMEOUT_MS', '0', 3000],
    ['DATABASE_CONNECT_TIMEOUT_MS', '3s', 3000],
    ['DATABASE_QUERY_TIMEOUT_MS', '-1', 6000],
    ['DATABASE_QUERY_TIMEOUT_MS', '900001', 6000],
    ['DATABASE_QUERY_TIMEOUT_MS', '6000.5', 6000],
  ])('rejects %s=%p', (key, value, fallback) => {
    expect(() => settingsFromEnvironment({ ...complete, [key]: value })).toThrow(new SettingsError(
      `${key} must be a whole number of milliseconds from 1 to 900000, not '${value}': unset it to use ${fallback}`));
  });

  test('refuses password login and disabled TLS inside Lambda, naming both', () => {
    expect(() => settingsFromEnvironment({ ...complete, ...IN_LAMBDA, DATABASE_AUTH: 'password', DATABASE_PASSWORD: 'pw', DATABASE_TLS: 'disable' }))
      .toThrow(new SettingsError(
        'DATABASE_AUTH=password is for a local database only and is refused in Lambda (AWS_LAMBDA_FUNCTION_NAME is set): remove DATABASE_AUTH and DATABASE_PASSWORD; functions authenticate with IAM tokens; '
        + 'DATABASE_TLS=disable is for a local database only and is refused in Lambda (AWS_LAMBDA_FUNCTION_NAME is set): remove DATABASE_TLS; RDS Proxy requires TLS'));
  });

  test('password login needs DATABASE_PASSWORD', () => {
    expect(() => settingsFromEnvironment({ ...complete, DATABASE_AUTH: 'password' })).toThrow(new SettingsError(
      'DATABASE_AUTH=password needs DATABASE_PASSWORD: set it, or remove DATABASE_AUTH to use IAM authentication'));
  });

  test('rejects unknown DATABASE_AUTH and DATABASE_TLS values', () => {
    expect(() => settingsFromEnvironment({ ...complete, DATABASE_AUTH: 'IAM', DATABASE_TLS: 'require' })).toThrow(new SettingsError(
      "DATABASE_AUTH must be 'iam' or 'password', not 'IAM': leave it unset to use IAM authentication; "
      + "DATABASE_TLS must be 'disable' (local databases only) or unset, not 'require'"));
  });

  test('a password never appears in an error message', () => {
    expect(() => settingsFromEnvironment({ ...complete, ...IN_LAMBDA, DATABASE_AUTH: 'password', DATABASE_PASSWORD: 'hunter2' }))
      .toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
  });

  test('postgresDatabase refuses settings for MySQL', () => {
    expect(() => postgresDatabase({ settings: settingsFromEnvironment({ ...complete, DATABASE_ENGINE: 'mysql' }) })).toThrow(new SettingsError(
      "DATABASE_ENGINE is 'mysql' but the handler uses postgresDatabase: use mysqlDatabase from cdk-serverless-rds/runtime/mysql, or connect the function to a postgresql database"));
  });

  test('postgresDatabase reads the environment when no settings are given', async () => {
    await withTemporaryEnvironment({ DATABASE_HOST: undefined }, () => {
      expect(() => postgresDatabase()).toThrow(/missing environment variables: DATABASE_HOST/);
    });
  });
});

/** Runs `body` with process.env variables replaced. */
async function withTemporaryEnvironment(values: Record<string, string | undefined>, body: () => unknown): Promise<void> {
  const saved = Object.fromEntries(Object.keys(values).map(key => [key, process.env[key]]));
  setEnvironment(values);
  try {
    await body();
  } finally {
    setEnvironment(saved);
  }
}

describe('driver settings for RDS Proxy', () => {
  withEnvironment({
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
    AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
  });
  const proxy: DatabaseSettings = settingsFromEnvironment({ ...complete, ...IN_LAMBDA });

  test('pg: TLS verified against the default CA store for the proxy host name, timeouts from the settings', () => {
    expect(postgresClientConfig(proxy, 'token', 'items')).toEqual({
      host: PROXY_HOST,
      port: 5432,
      database: 'app',
      user: 'app_user',
      password: 'token',
      ssl: { rejectUnauthorized: true, servername: PROXY_HOST },
      connectionTimeoutMillis: 3000,
      query_timeout: 6000,
      application_name: 'items',
    });
  });

  test('pg: no SNI server name for an IP address, and no TLS when it is disabled locally', () => {
    expect(postgresClientConfig({ ...proxy, host: '10.0.0.5' }, 'token').ssl).toEqual({ rejectUnauthorized: true });
    expect(postgresClientConfig({ ...proxy, tls: false }, 'token').ssl).toBe(false);
  });

  test('mysql2: TLS verified including the host name, the IAM token sent with the cleartext plugin', () => {
    const mysqlProxy: DatabaseSettings = { ...proxy, engine: 'mysql', port: 3306 };
    expect(mysqlConnectionOptions(mysqlProxy, 'token', 'items')).toEqual({
      host: PROXY_HOST,
      port: 3306,
      database: 'app',
      user: 'app_user',
      password: 'token',
      ssl: { rejectUnauthorized: true, verifyIdentity: true },
      enableCleartextPlugin: true,
      connectTimeout: 3000,
      connectAttributes: { program_name: 'items' },
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
  });

  test('mysql2: no cleartext plugin and no TLS for a local password login', () => {
    const local: DatabaseSettings = { ...proxy, engine: 'mysql', authentication: 'password', password: 'pw', tls: false };
    const options = mysqlConnectionOptions(local, 'pw');
    expect(options).not.toHaveProperty('enableCleartextPlugin');
    expect(options).not.toHaveProperty('ssl');
  });

  test('the password source for a local password login returns the password', async () => {
    const local = settingsFromEnvironment({ ...complete, DATABASE_AUTH: 'password', DATABASE_PASSWORD: 'pw' });
    expect(await passwordSourceFor(local)()).toBe('pw');
  });
});
