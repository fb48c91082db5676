/**
 * The reference API handler against a real PostgreSQL server (and PgBouncer
 * for the pooler-restart run). Each describe block gets its own database,
 * migrated with the files in lambda/reference-api/migrations the way the
 * deploy-time runner does it, and its own handler on a runtime Database that
 * logs in as the app user `reference_api` (DML only), like one Lambda
 * execution environment; a separate "checker" client inspects the database.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { Client } from 'pg';
import { Database, DatabaseSettings, settingsFromEnvironment } from '../lambda/runtime';
import { observability } from '../lambda/runtime/observability';
import { postgresDatabase } from '../lambda/runtime/postgres';
import { createItemsHandler, ItemsHandlerOptions } from '../lambda/reference-api/items';
import { startPgBouncer } from './support/pgbouncer';
import { freePort, PostgresServer, startPostgres, withClient } from './support/postgres';
import { lambdaContext } from './support/lambda';
import { captureOutput } from './support/output';

const MIGRATIONS = path.join(__dirname, '..', 'lambda', 'reference-api', 'migrations');
const APP_USER = 'reference_api';
const APP_PASSWORD = 'app-user-password-for-tests';

let postgres: PostgresServer;

beforeAll(async () => {
  postgres = await startPostgres();
  await withClient(postgres.connectionConfig(), client => client.query(`CREATE ROLE ${APP_USER} LOGIN PASSWORD '${APP_PASSWORD}'`));
});

afterAll(async () => {
  await postgres?.stop();
});

// ---------------------------------------------------------------------------
// Helpers


/** What the deploy-time runner does: every NNNN_name.sql in order, each in a transaction, as admin; then the app user's grants. */
async function migrate(database: string): Promise<void> {
  const files = fs.readdirSync(MIGRATIONS).filter(file => /^\d{4}_[a-z0-9_]+\.sql$/.test(file)).sort();
  expect(files.length).toBeGreaterThan(0);
  await withClient(postgres.connectionConfig(database), async client => {
    for (const file of files) {
      await client.query('BEGIN');
      await client.query(fs.readFileSync(path.join(MIGRATIONS, file), 'utf8'));
      await client.query('COMMIT');
    }
    await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${APP_USER}`);
    await client.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${APP_USER}`);
  });
}

function localSettings(target: { host: string; port: number }, database: string, user = APP_USER, password = APP_PASSWORD): DatabaseSettings {
  return settingsFromEnvironment({
    DATABASE_HOST: target.host,
    DATABASE_PORT: String(target.port),
    DATABASE_NAME: database,
    DATABASE_USER: user,
    DATABASE_ENGINE: 'postgresql',
    AWS_REGION: 'eu-west-1',
    DATABASE_AUTH: 'password',
    DATABASE_PASSWORD: password,
    DATABASE_TLS: 'disable',
  });
}

const tools = observability({ serviceName: 'reference-api-test', namespace: 'ReferenceApiTest' });

interface RequestOptions {
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly requestId?: string;
  readonly headers?: Record<string, string>;
}

let requestCount = 0;

/** An API Gateway HTTP API (payload format 2.0) event for `routeKey`, e.g. 'GET /items/{id}'. */
function request(routeKey: string, options: RequestOptions = {}): APIGatewayProxyEventV2 {
  const [method, template = '/'] = routeKey.split(' ');
  const rawPath = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(options.pathParameters?.[name] ?? ''));
  const requestId = options.requestId ?? `req-${++requestCount}`;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: new URLSearchParams(options.query).toString(),
    // HTTP APIs deliver header names in lower case.
    headers: { 'content-type': 'application/json', 'host': 'api.example.com', ...options.headers },
    queryStringParameters: options.query,
    pathParameters: options.pathParameters,
    body: options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api123',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'jest' },
      requestId,
      routeKey,
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1767225600000,
    },
  };
}

let keyCount = 0;
const newKey = () => `test-key-${process.pid}-${++keyCount}`;

/** POST /items with a fresh Idempotency-Key unless one is given (`key: null` sends none). */
function post(body: unknown, options: RequestOptions & { key?: string | null } = {}): APIGatewayProxyEventV2 {
  const { key = newKey(), ...rest } = options;
  return request('POST /items', {
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...rest,
    headers: { ...(key === null ? {} : { 'idempotency-key': key }), ...rest.headers },
  });
}
const list = (query?: Record<string, string>) => request('GET /items', { query });
const getById = (id: string) => request('GET /items/{id}', { pathParameters: { id } });


/** The parsed JSON body of a response (and a check that it is declared as JSON). */
function bodyOf(response: APIGatewayProxyStructuredResultV2): any {
  expect(response.headers).toEqual(expect.objectContaining({ 'content-type': 'application/json' }));
  return JSON.parse(response.body as string);
}

interface ItemJson { id: string; name: string; createdAt: string }

// Powertools writes JSON lines to stdout/stderr: record them per test (and keep test output quiet).
const { written, logLines } = captureOutput();

let environmentCount = 0;

/** One database, one handler and one checker client for the enclosing describe block. */
interface Environment {
  readonly name: string;
  /** application_name of the handler's connections. */
  readonly app: string;
  readonly database: Database;
  invoke(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2>;
  readonly checker: Client;
  /** Server process ids of the handler's open connections. */
  handlerPids(): Promise<number[]>;
}

function freshEnvironment(options: Omit<ItemsHandlerOptions, 'observability'> = {}): Environment {
  const env = {} as { -readonly [K in keyof Environment]: Environment[K] };
  beforeAll(async () => {
    env.name = await postgres.createDatabase('items');
    await migrate(env.name);
    env.app = `reference-handler-test-${++environmentCount}`;
    env.database = postgresDatabase({ settings: localSettings(postgres, env.name), applicationName: env.app });
    const handler = createItemsHandler(env.database, { ...options, observability: tools });
    env.invoke = event => handler(event, lambdaContext('reference-api-test'));
    env.checker = new Client(postgres.connectionConfig(env.name));
    await env.checker.connect();
    env.handlerPids = async () => (await env.checker.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 ORDER BY pid',
      [env.name, env.app])).rows.map(row => row.pid);
  });
  afterAll(async () => {
    await env.database?.close();
    await env.checker?.end();
  });
  return env;
}

// ---------------------------------------------------------------------------

describe('POST /items', () => {
  const env = freshEnvironment();

  test('creates a row and returns it with 201', async () => {
    const before = Date.now();
    const response = await env.invoke(post({ name: 'Widget' }, { key: 'order-1:widget' }));

    expect(response.statusCode).toBe(201);
    expect(response.headers).toEqual({ 'content-type': 'application/json' });
    const item: ItemJson = bodyOf(response);
    expect(item).toEqual({ id: expect.stringMatching(/^[1-9][0-9]*$/), name: 'Widget', createdAt: expect.any(String) });
    expect(new Date(item.createdAt).toISOString()).toBe(item.createdAt);
    expect(Date.parse(item.createdAt)).toBeGreaterThanOrEqual(before - 5_000);
    expect(Date.parse(item.createdAt)).toBeLessThanOrEqual(Date.now() + 5_000);

    const { rows } = await env.checker.query('SELECT id::text AS id, name, created_at, idempotency_key FROM items WHERE id = $1', [item.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'Widget', idempotency_key: 'order-1:widget' });
    expect((rows[0].created_at as Date).toISOString()).toBe(item.createdAt);
  });

  test('trims the name before storing it', async () => {
    const response = await env.invoke(post({ name: '  \t Spaced out \n ' }));

    expect(response.statusCode).toBe(201);
    const item: ItemJson = bodyOf(response);
    expect(item.name).toBe('Spaced out');
    const { rows } = await env.checker.query('SELECT name FROM items WHERE id = $1', [item.id]);
    expect(rows).toEqual([{ name: 'Spaced out' }]);
  });

  test('accepts a base64-encoded body', async () => {
    const body = Buffer.from(JSON.stringify({ name: 'Grüße from base64' }), 'utf8').toString('base64');
    const response = await env.invoke(post(body, { isBase64Encoded: true }));

    expect(response.statusCode).toBe(201);
    const item: ItemJson = bodyOf(response);
    expect(item.name).toBe('Grüße from base64');
    const { rows } = await env.checker.query('SELECT name FROM items WHERE id = $1', [item.id]);
    expect(rows).toEqual([{ name: 'Grüße from base64' }]);
  });

  test('accepts a name of exactly 200 characters, also when they are multibyte', async () => {
    for (const name of ['n'.repeat(200), 'é'.repeat(200)]) {
      const response = await env.invoke(post({ name }));
      expect(response.statusCode).toBe(201);
      const item: ItemJson = bodyOf(response);
      expect(item.name).toBe(name);
      const { rows } = await env.checker.query('SELECT char_length(name) AS length FROM items WHERE id = $1', [item.id]);
      expect(rows).toEqual([{ length: 200 }]);
    }
  });

  test('counts characters, not UTF-16 units: 200 emoji are a valid name, 201 are not', async () => {
    const response = await env.invoke(post({ name: '😀'.repeat(200) }));
    expect(response.statusCode).toBe(201);
    const { rows } = await env.checker.query('SELECT char_length(name) AS length FROM items WHERE id = $1', [bodyOf(response).id]);
    expect(rows).toEqual([{ length: 200 }]);
    const tooLong = await env.invoke(post({ name: '😀'.repeat(201) }));
    expect(tooLong.statusCode).toBe(400);
    expect(bodyOf(tooLong)).toEqual({ message: 'name must be 1 to 200 characters' });
  });

  test('accepts a body of exactly 10240 bytes', async () => {
    const skeleton = JSON.stringify({ name: 'Big', padding: '' });
    const body = JSON.stringify({ name: 'Big', padding: 'p'.repeat(10 * 1024 - skeleton.length) });
    expect(Buffer.byteLength(body)).toBe(10 * 1024);

    const response = await env.invoke(post(body));

    expect(response.statusCode).toBe(201);
    expect(bodyOf(response).name).toBe('Big');
  });

  test('accepts an Idempotency-Key of 128 characters of every allowed kind', async () => {
    const key = 'Az09._:-'.repeat(16);
    expect(key).toHaveLength(128);
    const response = await env.invoke(post({ name: 'long key' }, { key }));
    expect(response.statusCode).toBe(201);
    const { rows } = await env.checker.query('SELECT name FROM items WHERE idempotency_key = $1', [key]);
    expect(rows).toEqual([{ name: 'long key' }]);
  });

  test('gives every item a new, increasing id', async () => {
    const first: ItemJson = bodyOf(await env.invoke(post({ name: 'one' })));
    const second: ItemJson = bodyOf(await env.invoke(post({ name: 'two' })));
    expect(BigInt(second.id)).toBeGreaterThan(BigInt(first.id));
  });
});

describe('idempotency', () => {
  const env = freshEnvironment();

  test('a repeat with the same key and body returns the original item with 201, marked as replayed, and stores nothing new', async () => {
    const key = newKey();
    const first = await env.invoke(post({ name: 'Once' }, { key }));
    expect(first.statusCode).toBe(201);

    const again = await env.invoke(post({ name: 'Once' }, { key }));

    expect(again.statusCode).toBe(201);
    expect(again.headers).toEqual({ 'content-type': 'application/json', 'idempotent-replayed': 'true' });
    expect(bodyOf(again)).toEqual(bodyOf(first));
    const { rows } = await env.checker.query('SELECT count(*)::int AS count FROM items WHERE idempotency_key = $1', [key]);
    expect(rows).toEqual([{ count: 1 }]);
  });

  test('the same request written differently (whitespace in the name or the JSON, base64) is the same request', async () => {
    const key = newKey();
    const original: ItemJson = bodyOf(await env.invoke(post({ name: 'Same thing' }, { key })));

    for (const event of [
      post('{ "name" : "  Same thing  " }', { key }),
      post(Buffer.from(JSON.stringify({ name: 'Same thing' })).toString('base64'), { key, isBase64Encoded: true }),
    ]) {
      const response = await env.invoke(event);
      expect(response.statusCode).toBe(201);
      expect(bodyOf(response)).toEqual(original);
    }
  });

  test('the same key with a different body gets 422 and changes nothing', async () => {
    const key = newKey();
    const original: ItemJson = bodyOf(await env.invoke(post({ name: 'First' }, { key })));

    const conflicting = await env.invoke(post({ name: 'Second' }, { key }));

    expect(conflicting.statusCode).toBe(422);
    expect(bodyOf(conflicting)).toEqual({
      message: 'this Idempotency-Key was already used for a different request: send a new key to create another item, or repeat the original request exactly',
    });
    const { rows } = await env.checker.query('SELECT id::text AS id, name FROM items WHERE idempotency_key = $1', [key]);
    expect(rows).toEqual([{ id: original.id, name: 'First' }]);
  });

  test('concurrent requests with one key from separate execution environments create one item and all get it', async () => {
    const key = newKey();
    const environments = Array.from({ length: 8 }, (_, i) => postgresDatabase({ settings: localSettings(postgres, env.name), applicationName: `${env.app}-race-${i}` }));
    try {
      const handlers = environments.map(database => createItemsHandler(database, { observability: tools }));
      // Warm them up first, so that the inserts (not the connects) race.
      await Promise.all(handlers.map(handler => handler(list({ limit: '1' }), lambdaContext('reference-api-test'))));

      const responses = await Promise.all(handlers.map(handler => handler(post({ name: 'Raced' }, { key }), lambdaContext('reference-api-test'))));

      expect(responses.map(response => response.statusCode)).toEqual(Array(8).fill(201));
      const ids = new Set(responses.map(response => bodyOf(response).id));
      expect(ids.size).toBe(1);
      expect(responses.filter(response => response.headers?.['idempotent-replayed'] === undefined)).toHaveLength(1);
      const { rows } = await env.checker.query('SELECT id::text AS id FROM items WHERE idempotency_key = $1', [key]);
      expect(rows).toEqual([{ id: [...ids][0] }]);
    } finally {
      await Promise.all(environments.map(database => database.close()));
    }
  });
});

describe('GET /items', () => {
  const env = freshEnvironment();
  let created: ItemJson[];

  beforeEach(async () => {
    await env.checker.query('TRUNCATE items RESTART IDENTITY');
    created = [];
    for (const name of ['first', 'second', 'third']) {
      const response = await env.invoke(post({ name }));
      expect(response.statusCode).toBe(201);
      created.push(bodyOf(response));
    }
  });

  test('lists items newest first', async () => {
    const response = await env.invoke(list());

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ items: [created[2], created[1], created[0]] });
    expect(created.map(item => item.id)).toEqual(['1', '2', '3']);
  });

  test('returns at most `limit` items, the newest', async () => {
    const two = await env.invoke(list({ limit: '2' }));
    expect(two.statusCode).toBe(200);
    expect(bodyOf(two)).toEqual({ items: [created[2], created[1]] });

    const one = await env.invoke(list({ limit: '1' }));
    expect(one.statusCode).toBe(200);
    expect(bodyOf(one)).toEqual({ items: [created[2]] });

    const hundred = await env.invoke(list({ limit: '100' }));
    expect(hundred.statusCode).toBe(200);
    expect(bodyOf(hundred).items).toHaveLength(3);
  });

  test('returns 20 items when no limit is given', async () => {
    await env.checker.query("INSERT INTO items (name, idempotency_key, request_hash) SELECT 'bulk ' || n, 'bulk-' || n, repeat('0', 64) FROM generate_series(1, 22) AS n");

    const response = await env.invoke(list());

    expect(response.statusCode).toBe(200);
    const ids = (bodyOf(response).items as ItemJson[]).map(item => Number(item.id));
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => 25 - i));
  });

  test('returns an empty list for an empty table', async () => {
    await env.checker.query('TRUNCATE items');

    const response = await env.invoke(list());

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ items: [] });
  });
});

describe('paging limits from app parameters', () => {
  let parameters: Record<string, string> = {};
  let reads = 0;
  const env = freshEnvironment({ parameters: async () => { reads++; return parameters; } });

  beforeAll(async () => {
    for (let i = 1; i <= 5; i++) {
      expect((await env.invoke(post({ name: `item ${i}` }))).statusCode).toBe(201);
    }
  });

  test('default-limit and max-limit replace 20 and 100', async () => {
    parameters = { 'default-limit': '2', 'max-limit': '3' };

    expect(bodyOf(await env.invoke(list())).items).toHaveLength(2);
    expect(bodyOf(await env.invoke(list({ limit: '3' }))).items).toHaveLength(3);
    const tooMany = await env.invoke(list({ limit: '4' }));
    expect(tooMany.statusCode).toBe(400);
    expect(bodyOf(tooMany)).toEqual({ message: 'limit must be a whole number from 1 to 3' });
  });

  test('a max-limit up to 1000 is accepted', async () => {
    parameters = { 'max-limit': '1000' };
    expect((await env.invoke(list({ limit: '1000' }))).statusCode).toBe(200);
    expect(bodyOf(await env.invoke(list({ limit: '1001' })))).toEqual({ message: 'limit must be a whole number from 1 to 1000' });
  });

  test('absent parameters keep their defaults', async () => {
    parameters = { 'unrelated': 'x' };
    expect(bodyOf(await env.invoke(list({ limit: '100' }))).items).toHaveLength(5);
    expect(bodyOf(await env.invoke(list({ limit: '101' })))).toEqual({ message: 'limit must be a whole number from 1 to 100' });
  });

  test.each([
    [{ 'default-limit': 'ten' }, "app parameter default-limit must be a whole number from 1 to 1000, not 'ten': fix the SSM parameter or delete it to use 20"],
    [{ 'max-limit': '0' }, "app parameter max-limit must be a whole number from 1 to 1000, not '0': fix the SSM parameter or delete it to use 100"],
    [{ 'max-limit': '5000' }, "app parameter max-limit must be a whole number from 1 to 1000, not '5000': fix the SSM parameter or delete it to use 100"],
    [{ 'default-limit': '50', 'max-limit': '10' }, 'app parameter default-limit (50) must not exceed max-limit (10): lower default-limit or raise max-limit'],
  ])('invalid parameters %p fail GET /items with 500 and log the problem', async (values, problem) => {
    parameters = values;

    const response = await env.invoke(request('GET /items', { requestId: 'bad-config' }));

    expect(response.statusCode).toBe(500);
    expect(bodyOf(response)).toEqual({ message: 'internal error; try again later', requestId: 'bad-config' });
    expect(logLines()).toEqual([expect.objectContaining({
      level: 'ERROR', message: 'request failed', errorName: 'ConfigurationError', problem, requestId: 'bad-config',
    })]);
  });

  test('invalid parameters do not affect the other routes', async () => {
    parameters = { 'max-limit': 'none' };
    expect((await env.invoke(post({ name: 'still works' }))).statusCode).toBe(201);
    expect((await env.invoke(getById('1'))).statusCode).toBe(200);
  });

  test('the parameters are read for each listing (the reader caches them), never for other routes', async () => {
    parameters = {};
    const before = reads;
    await env.invoke(list());
    await env.invoke(getById('1'));
    await env.invoke(post({ name: 'no parameters needed' }));
    expect(reads - before).toBe(1);
  });
});

describe('GET /items/{id}', () => {
  const env = freshEnvironment();

  test('returns the item', async () => {
    const created: ItemJson = bodyOf(await env.invoke(post({ name: 'Findable' })));

    const response = await env.invoke(getById(created.id));

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual(created);
  });

  test.each(['999999', '999999999999999999'])('answers 404 for the unknown id %s', async id => {
    const response = await env.invoke(getById(id));

    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ message: `item ${id} does not exist` });
  });
});

describe('bad input', () => {
  const env = freshEnvironment();

  const BODY_REQUIRED = 'request body is required: send a JSON object such as {"name": "..."}';
  const NOT_JSON = 'request body is not valid JSON';
  const NOT_OBJECT = 'request body must be a JSON object';
  const NAME_TYPE = 'name is required and must be a string';
  const NAME_LENGTH = 'name must be 1 to 200 characters';
  const NAME_TEXT = 'name must be printable Unicode text without control characters';
  const TOO_LARGE = 'request body must be at most 10240 bytes';
  const LIMIT = 'limit must be a whole number from 1 to 100';
  const ID = 'id must be a positive whole number';
  const KEY_REQUIRED = 'Idempotency-Key header is required: send a unique key (1 to 128 characters of A-Z, a-z, 0-9, ".", "_", ":" and "-") and reuse it when you retry the same request';
  const KEY_FORMAT = 'Idempotency-Key must be 1 to 128 characters of A-Z, a-z, 0-9, ".", "_", ":" and "-"';

  const oversized = JSON.stringify({ name: 'x', padding: 'p'.repeat(10 * 1024) });

  test.each<[string, number, string, APIGatewayProxyEventV2]>([
    ['missing body', 400, BODY_REQUIRED, post(undefined)],
    ['empty body', 400, BODY_REQUIRED, post('')],
    ['malformed JSON', 400, NOT_JSON, post('{"name": "unterminated')],
    ['plain text', 400, NOT_JSON, post('name=Widget')],
    ['base64 of malformed JSON', 400, NOT_JSON, post(Buffer.from('{name: Widget}').toString('base64'), { isBase64Encoded: true })],
    ['a JSON array', 400, NOT_OBJECT, post('[{"name": "Widget"}]')],
    ['JSON null', 400, NOT_OBJECT, post('null')],
    ['a JSON number', 400, NOT_OBJECT, post('42')],
    ['a JSON string', 400, NOT_OBJECT, post('"Widget"')],
    ['a JSON boolean', 400, NOT_OBJECT, post('true')],
    ['no name', 400, NAME_TYPE, post({})],
    ['a misspelt name', 400, NAME_TYPE, post({ Name: 'Widget' })],
    ['a numeric name', 400, NAME_TYPE, post({ name: 42 })],
    ['a null name', 400, NAME_TYPE, post({ name: null })],
    ['an array name', 400, NAME_TYPE, post({ name: ['Widget'] })],
    ['an object name', 400, NAME_TYPE, post({ name: { text: 'Widget' } })],
    ['a boolean name', 400, NAME_TYPE, post({ name: true })],
    ['an empty name', 400, NAME_LENGTH, post({ name: '' })],
    ['a whitespace name', 400, NAME_LENGTH, post({ name: ' \t\n ' })],
    ['a name of 201 characters', 400, NAME_LENGTH, post({ name: 'n'.repeat(201) })],
    ['a name of 201 characters after trimming', 400, NAME_LENGTH, post({ name: ` ${'n'.repeat(201)} ` })],
    ['a name with a NUL character (PostgreSQL text cannot hold it)', 400, NAME_TEXT, post('{"name": "a\\u0000b"}')],
    ['a name with a control character', 400, NAME_TEXT, post('{"name": "bell\\u0007"}')],
    ['a name with half a surrogate pair', 400, NAME_TEXT, post('{"name": "broken \\ud83d text"}')],
    ['a null body', 400, BODY_REQUIRED, { ...post(undefined), body: null } as unknown as APIGatewayProxyEventV2],
    ['a body of 10241 bytes', 413, TOO_LARGE, post(JSON.stringify({ name: 'x', padding: 'p'.repeat(10 * 1024 - 24) }))],
    ['a body over 10 KB', 413, TOO_LARGE, post(oversized)],
    ['a base64 body over 10 KB', 413, TOO_LARGE, post(Buffer.from(oversized).toString('base64'), { isBase64Encoded: true })],
    ['no Idempotency-Key', 400, KEY_REQUIRED, post({ name: 'Widget' }, { key: null })],
    ['no Idempotency-Key and no body', 400, KEY_REQUIRED, post(undefined, { key: null })],
    ['an Idempotency-Key in a header named differently', 400, KEY_REQUIRED, post({ name: 'Widget' }, { key: null, headers: { 'idempotency_key': 'abc' } })],
    ['an empty Idempotency-Key', 400, KEY_FORMAT, post({ name: 'Widget' }, { key: '' })],
    ['an Idempotency-Key of 129 characters', 400, KEY_FORMAT, post({ name: 'Widget' }, { key: 'k'.repeat(129) })],
    ['an Idempotency-Key with a space', 400, KEY_FORMAT, post({ name: 'Widget' }, { key: 'order 1' })],
    ['an Idempotency-Key with a slash', 400, KEY_FORMAT, post({ name: 'Widget' }, { key: 'order/1' })],
    ['two Idempotency-Keys (joined with a comma)', 400, KEY_FORMAT, post({ name: 'Widget' }, { key: 'a,b' })],
    ['an Idempotency-Key with non-ASCII letters', 400, KEY_FORMAT, post({ name: 'Widget' }, { key: 'schlüssel' })],
    ['limit 0', 400, LIMIT, list({ limit: '0' })],
    ['limit 101', 400, LIMIT, list({ limit: '101' })],
    ['limit abc', 400, LIMIT, list({ limit: 'abc' })],
    ['limit 1.5', 400, LIMIT, list({ limit: '1.5' })],
    ['limit -1', 400, LIMIT, list({ limit: '-1' })],
    ['an empty limit', 400, LIMIT, list({ limit: '' })],
    ['a limit with spaces', 400, LIMIT, list({ limit: ' 5 ' })],
    ['a limit in exponent notation', 400, LIMIT, list({ limit: '1e1' })],
    ['a hexadecimal limit', 400, LIMIT, list({ limit: '0x10' })],
    ['a limit of many digits', 400, LIMIT, list({ limit: '0000000000000000000005' })],
    ['id abc', 400, ID, getById('abc')],
    ['id 0', 400, ID, getById('0')],
    ['id -1', 400, ID, getById('-1')],
    ['id 01', 400, ID, getById('01')],
    ['id 1.5', 400, ID, getById('1.5')],
    ['an id of 19 digits', 400, ID, getById('1234567890123456789')],
    ['an empty id', 400, ID, getById('')],
    ['no path parameters', 400, ID, request('GET /items/{id}')],
    ['an unknown route', 404, 'no route for DELETE /items/{id}', request('DELETE /items/{id}', { pathParameters: { id: '1' } })],
    ['the default route', 404, 'no route for $default', request('$default')],
    ['a lower-case method', 404, 'no route for get /items', request('get /items')],
  ])('%s gets %d', async (_, statusCode, message, event) => {
    const response = await env.invoke(event);

    expect(response.statusCode).toBe(statusCode);
    expect(bodyOf(response)).toEqual({ message });
    expect(logLines()).toEqual([]);
  });

  test('the 10241-byte case really is one byte over the limit', () => {
    expect(Buffer.byteLength(JSON.stringify({ name: 'x', padding: 'p'.repeat(10 * 1024 - 24) }))).toBe(10 * 1024 + 1);
  });

  test('an event without a routeKey gets 404', async () => {
    const event = { ...request('GET /items'), routeKey: undefined } as unknown as APIGatewayProxyEventV2;

    const response = await env.invoke(event);

    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ message: 'no route for this request' });
  });

  test('rejected requests never touched the database', async () => {
    expect(await env.handlerPids()).toEqual([]);
    const { rows } = await env.checker.query('SELECT count(*)::int AS count FROM items');
    expect(rows).toEqual([{ count: 0 }]);
  });
});

describe('database failures', () => {
  const env = freshEnvironment();
  const GENERIC = 'internal error; try again later';
  const UNAVAILABLE = 'the database is unavailable right now; retry shortly (for POST, with the same Idempotency-Key)';

  /** A handler on its own Database with these settings (closed after the test). */
  async function withHandler(settings: DatabaseSettings, body: (invoke: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>) => Promise<void>) {
    const database = postgresDatabase({ settings, applicationName: `${env.app}-failing` });
    const handler = createItemsHandler(database, { observability: tools });
    try {
      await body(event => handler(event, lambdaContext('reference-api-test')));
    } finally {
      await database.close();
    }
  }

  /** Nothing in the response or the logs quotes SQL, the name sent, or a password. */
  function expectNoLeaks(response: APIGatewayProxyStructuredResultV2, secrets: string[]) {
    const everything = [response.body, ...written()].join('\n');
    for (const text of ['INSERT', 'SELECT', 'items (', ...secrets]) {
      expect(everything).not.toContain(text);
    }
  }

  test('an unreachable database gives 503 with retry advice, logged as a warning with class and code', async () => {
    await withHandler(localSettings({ host: '127.0.0.1', port: await freePort() }, env.name), async invoke => {
      const response = await invoke(post({ name: 'Secret name' }, { requestId: 'unreachable' }));

      expect(response.statusCode).toBe(503);
      expect(response.headers).toEqual({ 'content-type': 'application/json', 'retry-after': '1' });
      expect(bodyOf(response)).toEqual({ message: UNAVAILABLE, requestId: 'unreachable' });
      expect(logLines()).toEqual([expect.objectContaining({
        level: 'WARN', message: 'database unavailable', errorName: 'DatabaseUnavailableError', errorCode: 'ECONNREFUSED', requestId: 'unreachable',
        function_request_id: expect.stringMatching(/^lambda-/),
      })]);
      expectNoLeaks(response, ['Secret name', APP_PASSWORD]);
    });
  });

  test('a refused login gives a generic 500 (not retryable) and logs the SQLSTATE only', async () => {
    await withHandler(localSettings(postgres, env.name, APP_USER, 'wrong password'), async invoke => {
      const response = await invoke(request('GET /items', { requestId: 'login' }));

      expect(response.statusCode).toBe(500);
      expect(bodyOf(response)).toEqual({ message: GENERIC, requestId: 'login' });
      expect(logLines()).toEqual([expect.objectContaining({ level: 'ERROR', message: 'request failed', errorName: 'DatabaseError', errorCode: '28P01', requestId: 'login' })]);
      expectNoLeaks(response, ['wrong password', APP_PASSWORD, 'authentication']);
    });
  });

  test('an SQL error (schema not migrated) gives a generic 500 without SQL or values', async () => {
    const unmigrated = await postgres.createDatabase('unmigrated');
    await withHandler(localSettings(postgres, unmigrated, postgres.user, postgres.password), async invoke => {
      const response = await invoke(post({ name: 'Secret name' }, { requestId: 'no-table' }));

      expect(response.statusCode).toBe(500);
      expect(bodyOf(response)).toEqual({ message: GENERIC, requestId: 'no-table' });
      expect(logLines()).toEqual([expect.objectContaining({ level: 'ERROR', errorName: 'DatabaseError', errorCode: '42P01', requestId: 'no-table' })]);
      expectNoLeaks(response, ['Secret name', postgres.password, 'relation']);
    });
  });

  test('a connection killed during a query is replaced and the request still succeeds', async () => {
    expect((await env.invoke(post({ name: 'before the failure' }))).statusCode).toBe(201);
    const [killed] = await env.handlerPids();
    const locker = new Client(postgres.connectionConfig(env.name));
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
      const pending = env.invoke(list({ limit: '5' }));
      await waitFor(async () => (await env.checker.query(
        "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", [killed])).rows.length === 1);
      await env.checker.query('SELECT pg_terminate_backend($1, 5000)', [killed]);
      await locker.query('ROLLBACK');

      const response = await pending;
      expect(response.statusCode).toBe(200);
      expect(bodyOf(response).items.map((item: ItemJson) => item.name)).toEqual(['before the failure']);
    } finally {
      await locker.end();
    }
    const pids = await env.handlerPids();
    expect(pids).toHaveLength(1);
    expect(pids[0]).not.toBe(killed);
  });
});

describe('connection reuse', () => {
  const env = freshEnvironment();

  test('warm invocations reuse one connection; a cold start (new Database) opens exactly one more', async () => {
    const pidsSeen = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const response = await env.invoke(i % 2 === 0 ? post({ name: `warm ${i}` }) : list());
      expect(response.statusCode).toBe(i % 2 === 0 ? 201 : 200);
      for (const pid of await env.handlerPids()) pidsSeen.add(pid);
    }
    expect(pidsSeen.size).toBe(1);
    expect(await env.handlerPids()).toEqual([...pidsSeen]);

    const coldApp = `${env.app}-cold`;
    const cold = postgresDatabase({ settings: localSettings(postgres, env.name), applicationName: coldApp });
    try {
      const coldHandler = createItemsHandler(cold, { observability: tools });
      expect((await coldHandler(list(), lambdaContext('reference-api-test'))).statusCode).toBe(200);
      expect((await coldHandler(post({ name: 'cold' }), lambdaContext('reference-api-test'))).statusCode).toBe(201);
      const { rows } = await env.checker.query<{ application_name: string; count: number }>(
        `SELECT application_name, count(*)::int AS count FROM pg_stat_activity
         WHERE datname = $1 AND application_name LIKE 'reference-handler-test-%' GROUP BY application_name ORDER BY application_name`, [env.name]);
      expect(rows).toEqual([{ application_name: env.app, count: 1 }, { application_name: coldApp, count: 1 }]);
    } finally {
      await cold.close();
    }
  });
});

describe('no committed write is lost or duplicated while connections fail', () => {
  const ENVIRONMENTS = 3;
  const PER_ENVIRONMENT = 25;

  /**
   * Three execution environments post 25 items each, one after another, like
   * a client that retries a 503 with the same Idempotency-Key; `disrupt` runs
   * meanwhile, paced by `confirmed()` (items the clients got a 201 for). Every
   * response must be 201 or 503, and in the end every key has exactly one
   * row: the one its client was given.
   */
  async function postThroughFailures(
    target: { host: string; port: number }, user: string, password: string,
    disrupt: (confirmed: () => number) => Promise<void>,
  ): Promise<void> {
    const name = await postgres.createDatabase('chaos');
    await migrate(name);
    const statuses: number[] = [];
    const confirmed = new Map<string, ItemJson>();
    const environments = Array.from({ length: ENVIRONMENTS }, (_, i) =>
      postgresDatabase({ settings: localSettings(target, name, user, password), applicationName: `chaos-${i}` }));
    try {
      const clients = environments.map(async (database, environment) => {
        const handler = createItemsHandler(database, { observability: tools });
        for (let i = 0; i < PER_ENVIRONMENT; i++) {
          const key = `chaos-${environment}-${i}`;
          for (let attempt = 1; ; attempt++) {
            const response = await handler(post({ name: `item ${environment}/${i}` }, { key }), lambdaContext('reference-api-test'));
            statuses.push(response.statusCode!);
            if (response.statusCode === 201) {
              confirmed.set(key, bodyOf(response));
              break;
            }
            expect(response.statusCode).toBe(503);
            expect(attempt).toBeLessThan(50);
            await pause(100);
          }
        }
      });
      await Promise.all([...clients, disrupt(() => confirmed.size)]);
    } finally {
      await Promise.all(environments.map(database => database.close()));
    }

    expect(statuses.filter(status => status !== 201 && status !== 503)).toEqual([]);
    const rows = await withClient(postgres.connectionConfig(name), async client =>
      (await client.query<{ idempotency_key: string; id: string; name: string }>('SELECT idempotency_key, id::text AS id, name FROM items ORDER BY id')).rows);
    expect(rows).toHaveLength(ENVIRONMENTS * PER_ENVIRONMENT);
    expect(new Set(rows.map(row => row.idempotency_key)).size).toBe(ENVIRONMENTS * PER_ENVIRONMENT);
    for (const row of rows) {
      expect(confirmed.get(row.idempotency_key)).toEqual(expect.objectContaining({ id: row.id, name: row.name }));
    }
  }

  const pause = (millis: number) => new Promise(resolve => setTimeout(resolve, millis));
  const TOTAL = ENVIRONMENTS * PER_ENVIRONMENT;

  /** Resolves once `confirmed()` reaches `count` (or all items are confirmed). */
  async function reached(confirmed: () => number, count: number): Promise<void> {
    while (confirmed() < Math.min(count, TOTAL)) await pause(5);
  }

  test('when the backends are terminated after every few items', async () => {
    let terminated = 0;
    await postThroughFailures(postgres, APP_USER, APP_PASSWORD, async confirmed => {
      await withClient(postgres.connectionConfig(), async admin => {
        for (let next = 3; confirmed() < TOTAL; next += 3) {
          await reached(confirmed, next);
          const { rows } = await admin.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'chaos-%') AS t");
          terminated += rows[0].n;
        }
      });
    });
    expect(terminated).toBeGreaterThanOrEqual(10);
  });

  test('when PostgreSQL restarts twice', async () => {
    let restarts = 0;
    await postThroughFailures(postgres, APP_USER, APP_PASSWORD, async confirmed => {
      for (const at of [20, 45]) {
        await reached(confirmed, at);
        await postgres.restart();
        restarts++;
      }
    });
    expect(restarts).toBe(2);
  });

  test('when PgBouncer (in transaction pooling) restarts twice', async () => {
    // PgBouncer's user list holds the server's admin user only, so these environments log in as that user.
    const bouncer = await startPgBouncer({ target: postgres, poolMode: 'transaction', defaultPoolSize: 3 });
    let restarts = 0;
    try {
      await postThroughFailures(bouncer, bouncer.user, bouncer.password, async confirmed => {
        for (const at of [20, 45]) {
          await reached(confirmed, at);
          await bouncer.restart();
          restarts++;
        }
      });
    } finally {
      await bouncer.stop();
    }
    expect(restarts).toBe(2);
  });
});

/** Polls `condition` until it holds (or fails after 10 s). */
async function waitFor(condition: () => Promise<boolean>, timeoutMillis = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise(resolve => setTimeout(resolve, 20));
  }
}
