/**
 * The runtime's configuration: settings from the environment, the driver
 * settings for RDS Proxy (TLS, IAM), passwords, app parameters from SSM (a
 * local HTTP server speaking the SSM JSON protocol) and Powertools wiring.
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  appParameters, CachedPassword, DatabaseSettings, instrumentHandler, observability, passwordSourceFor, SettingsError, settingsFromEnvironment,
} from '../lambda/runtime';
import { mysqlConnectionOptions } from '../lambda/runtime/mysql';
import { postgresClientConfig, postgresDatabase } from '../lambda/runtime/postgres';
import { lambdaContext } from './support/lambda';

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

  test('the password source for IAM signs a token for the proxy locally with RDS Signer', async () => {
    const token = await passwordSourceFor(proxy)();

    expect(token.startsWith(`${PROXY_HOST}:5432/?`)).toBe(true);
    const query = new URLSearchParams(token.slice(token.indexOf('?') + 1));
    expect(query.get('Action')).toBe('connect');
    expect(query.get('DBUser')).toBe('app_user');
    expect(query.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/);
    expect(query.get('X-Amz-Expires')).toBe('900');
    expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  test('the password source for a local password login returns the password', async () => {
    const local = settingsFromEnvironment({ ...complete, DATABASE_AUTH: 'password', DATABASE_PASSWORD: 'pw' });
    expect(await passwordSourceFor(local)()).toBe('pw');
  });
});

describe('CachedPassword', () => {
  test('serves the cached password until it is older than the maximum age', async () => {
    let count = 0;
    const cache = new CachedPassword(async () => `token-${++count}`, 200);

    expect(await cache.current()).toBe('token-1');
    expect(await cache.current()).toBe('token-1');
    await new Promise(resolve => setTimeout(resolve, 250));
    expect(await cache.current()).toBe('token-2');
  });

  test('renew replaces the cached password', async () => {
    let count = 0;
    const cache = new CachedPassword(async () => `token-${++count}`);
    expect(await cache.current()).toBe('token-1');
    expect(await cache.renew()).toBe('token-2');
    expect(await cache.current()).toBe('token-2');
  });

  test('a failed fetch is not cached', async () => {
    const source = jest.fn<Promise<string>, []>().mockRejectedValueOnce(new Error('no credentials')).mockResolvedValue('token');
    const cache = new CachedPassword(source);
    await expect(cache.current()).rejects.toThrow('no credentials');
    expect(await cache.current()).toBe('token');
    expect(source).toHaveBeenCalledTimes(2);
  });
});

describe('appParameters', () => {
  interface Captured { target: string; body: { Path: string; Recursive: boolean; WithDecryption: boolean } }
  const requests: Captured[] = [];
  let server: http.Server;
  let provider: SSMProvider;

  beforeAll(async () => {
    // GetParametersByPath of the SSM JSON protocol, returning two pages.
    server = http.createServer((request, response) => {
      let text = '';
      request.on('data', chunk => { text += chunk; });
      request.on('end', () => {
        const body = JSON.parse(text);
        requests.push({ target: String(request.headers['x-amz-target']), body });
        const page = body.NextToken === 'page-2'
          ? { Parameters: [{ Name: `${body.Path}/nested/flag`, Type: 'String', Value: 'on', Version: 1 }] }
          : {
            Parameters: [
              { Name: `${body.Path}/default-limit`, Type: 'String', Value: '25', Version: 3 },
              { Name: `${body.Path}/max-limit`, Type: 'String', Value: '50', Version: 1 },
            ],
            NextToken: 'page-2',
          };
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(page));
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const client = new SSMClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    provider = new SSMProvider({ awsSdkV3Client: client });
  });

  beforeEach(() => {
    requests.length = 0;
  });

  afterAll(async () => {
    await new Promise(resolve => server.close(resolve));
  });

  test('returns every parameter under PARAMETERS_PATH, recursively, keyed by its relative name', async () => {
    await withTemporaryEnvironment({ PARAMETERS_PATH: '/reference-api/test/' }, async () => {
      expect(await appParameters({ provider, maxAge: 60 })).toEqual({ 'default-limit': '25', 'max-limit': '50', 'nested/flag': 'on' });
    });
    expect(requests).toEqual([
      { target: 'AmazonSSM.GetParametersByPath', body: expect.objectContaining({ Path: '/reference-api/test', Recursive: true, WithDecryption: false }) },
      { target: 'AmazonSSM.GetParametersByPath', body: expect.objectContaining({ Path: '/reference-api/test', NextToken: 'page-2' }) },
    ]);
  });

  test('a second call within maxAge is served from the cache; after maxAge it asks SSM again', async () => {
    const first = await appParameters({ provider, path: '/cached', maxAge: 1 });
    const pagesPerFetch = requests.length;
    expect(pagesPerFetch).toBe(2);

    expect(await appParameters({ provider, path: '/cached', maxAge: 1 })).toEqual(first);
    expect(requests).toHaveLength(pagesPerFetch);

    await new Promise(resolve => setTimeout(resolve, 1100));
    expect(await appParameters({ provider, path: '/cached', maxAge: 1 })).toEqual(first);
    expect(requests).toHaveLength(2 * pagesPerFetch);
  });

  test('callers cannot change the cached values', async () => {
    const values = await appParameters({ provider, path: '/immutable' });
    values['max-limit'] = 'changed';
    expect((await appParameters({ provider, path: '/immutable' }))['max-limit']).toBe('50');
  });

  test('refuses a missing or malformed path before asking SSM', async () => {
    await withTemporaryEnvironment({ PARAMETERS_PATH: undefined }, async () => {
      await expect(appParameters({ provider })).rejects.toThrow(new SettingsError(
        "PARAMETERS_PATH is not set: set it to the SSM parameter path of the app's configuration (such as /my-app/prod), or do not call appParameters()"));
    });
    await expect(appParameters({ provider, path: 'reference-api/prod' })).rejects.toThrow(new SettingsError(
      "PARAMETERS_PATH must be an SSM parameter path such as /my-app/prod (a leading '/', names of letters, digits, '_', '.' and '-'), not 'reference-api/prod'"));
    expect(requests).toEqual([]);
  });
});

describe('observability', () => {
  // Lambda sets AWS_LAMBDA_INITIALIZATION_TYPE; Powertools reports cold starts only for on-demand environments.
  withEnvironment({
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand', POWERTOOLS_DEV: undefined, POWERTOOLS_METRICS_DISABLED: undefined, POWERTOOLS_TRACE_ENABLED: undefined, AWS_LAMBDA_FUNCTION_NAME: undefined,
  });

  const context = (awsRequestId: string) => lambdaContext('items-function', { awsRequestId });

  /** JSON lines written to stdout and stderr while `body` runs. */
  async function captureOutput(body: () => Promise<void>): Promise<any[]> {
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => { lines.push(String(chunk)); return true; };
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      await body();
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    return lines.join('').split('\n').filter(line => line.trim()).map(line => JSON.parse(line));
  }

  test('the tracer switches itself off outside Lambda', () => {
    expect(observability({ serviceName: 'items' }).tracer.isTracingEnabled()).toBe(false);
  });

  test('instrumentHandler logs with the Lambda context, emits one ColdStart metric and the handler\'s metrics', async () => {
    const tools = observability({ serviceName: 'items', namespace: 'ReferenceApi' });
    const handler = instrumentHandler(tools, async (event: { n: number }) => {
      tools.logger.info('handled', { n: event.n });
      tools.metrics.addMetric('Handled', 'Count', 1);
      return event.n * 2;
    });

    const output = await captureOutput(async () => {
      expect(await handler({ n: 1 }, context('request-1'))).toBe(2);
      expect(await handler({ n: 2 }, context('request-2'))).toBe(4);
    });

    const logs = output.filter(line => line.message === 'handled');
    expect(logs).toEqual([
      expect.objectContaining({ level: 'INFO', service: 'items', function_name: 'items-function', function_request_id: 'request-1', cold_start: true, n: 1 }),
      expect.objectContaining({ level: 'INFO', service: 'items', function_name: 'items-function', function_request_id: 'request-2', cold_start: false, n: 2 }),
    ]);
    const metricNames = output.filter(line => line._aws).map(line => line._aws.CloudWatchMetrics[0].Metrics.map((metric: { Name: string }) => metric.Name));
    expect(metricNames).toEqual([['ColdStart'], ['Handled'], ['Handled']]);
    expect(output.filter(line => line._aws).every(line => line._aws.CloudWatchMetrics[0].Namespace === 'ReferenceApi')).toBe(true);
  });

  test('instrumentHandler rethrows the handler\'s error and publishes no empty metrics', async () => {
    const tools = observability({ serviceName: 'items', namespace: 'ReferenceApi' });
    const failure = new Error('handler failed');
    const handler = instrumentHandler(tools, async () => { throw failure; });

    const output = await captureOutput(async () => {
      await expect(handler({}, context('request-1'))).rejects.toBe(failure);
    });

    expect(output.filter(line => line._aws).map(line => line.ColdStart)).toEqual([1]);
    expect(output.filter(line => /No application metrics/.test(line.message ?? ''))).toEqual([]);
  });
});
