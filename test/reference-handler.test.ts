/**
 * The reference API handler against a real PostgreSQL server (started once for
 * this file, see ./support/postgres). Each describe block gets its own
 * database, handler and `singleConnection` Database, like one Lambda
 * execution environment; a separate "checker" client inspects the database.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { Client } from 'pg';
import { ConnectionSettings, proxyClientConfig, settingsFromEnvironment, singleConnection } from '../lambda/reference-api/database';
import { createItemsHandler, Database } from '../lambda/reference-api/items';
import { PostgresServer, startPostgres } from './support/postgres';

let postgres: PostgresServer;

beforeAll(async () => {
  postgres = await startPostgres();
});

afterAll(async () => {
  await postgres?.stop();
});

// ---------------------------------------------------------------------------
// Helpers

interface RequestOptions {
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly requestId?: string;
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
    headers: { 'content-type': 'application/json', 'host': 'api.example.com' },
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

const post = (body: unknown, options: RequestOptions = {}) =>
  request('POST /items', { body: typeof body === 'string' ? body : JSON.stringify(body), ...options });
const list = (query?: Record<string, string>) => request('GET /items', { query });
const getById = (id: string) => request('GET /items/{id}', { pathParameters: { id } });

/** The parsed JSON body of a response (and a check that it is declared as JSON). */
function bodyOf(response: APIGatewayProxyStructuredResultV2): any {
  expect(response.headers).toEqual({ 'content-type': 'application/json' });
  return JSON.parse(response.body as string);
}

interface ItemJson { id: string; name: string; createdAt: string }

let environmentCount = 0;

/** One database, one handler and one checker client for the enclosing describe block. */
interface Environment {
  /** Name of the test database. */
  readonly name: string;
  /** application_name of the handler's connections. */
  readonly app: string;
  readonly database: Database;
  readonly handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  /** Records the handler's `database.client()` calls; results are the pg clients it used. */
  readonly clientCalls: jest.SpyInstance;
  readonly checker: Client;
  /** Server process ids of the handler's open connections. */
  handlerPids(): Promise<number[]>;
  /** The pg Client behind the handler's most recent `database.client()` call. */
  lastClient(): Promise<Client>;
}

function freshEnvironment(): Environment {
  const env = {} as { -readonly [K in keyof Environment]: Environment[K] };
  beforeAll(async () => {
    env.name = await postgres.createDatabase('items');
    env.app = `reference-handler-test-${++environmentCount}`;
    const config = { ...postgres.connectionConfig(env.name), application_name: env.app };
    env.database = singleConnection(() => config);
    env.clientCalls = jest.spyOn(env.database, 'client');
    env.handler = createItemsHandler(env.database);
    env.checker = new Client(postgres.connectionConfig(env.name));
    await env.checker.connect();
    env.handlerPids = async () => (await env.checker.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND pid <> pg_backend_pid() ORDER BY pid',
      [env.name, env.app])).rows.map(row => row.pid);
    env.lastClient = () => env.clientCalls.mock.results.at(-1)!.value as Promise<Client>;
  });
  afterAll(async () => {
    await env.database?.reset();
    await env.checker?.end();
  });
  return env;
}

let errorLog: jest.SpyInstance | undefined;

/** Silences and records the handler's error log for the current test. */
function captureErrorLog(): jest.SpyInstance {
  errorLog = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  return errorLog;
}

afterEach(() => {
  errorLog?.mockRestore();
  errorLog = undefined;
});

// ---------------------------------------------------------------------------

describe('POST /items', () => {
  const env = freshEnvironment();

  test('creates a row and returns it with 201', async () => {
    const before = Date.now();
    const response = await env.handler(post({ name: 'Widget' }));

    expect(response.statusCode).toBe(201);
    const item: ItemJson = bodyOf(response);
    expect(item).toEqual({ id: expect.stringMatching(/^[1-9][0-9]*$/), name: 'Widget', createdAt: expect.any(String) });
    expect(new Date(item.createdAt).toISOString()).toBe(item.createdAt);
    expect(Date.parse(item.createdAt)).toBeGreaterThanOrEqual(before - 5_000);
    expect(Date.parse(item.createdAt)).toBeLessThanOrEqual(Date.now() + 5_000);

    const { rows } = await env.checker.query('SELECT id::text AS id, name, created_at FROM items WHERE id = $1', [item.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].name).toBe('Widget');
    expect((rows[0].created_at as Date).toISOString()).toBe(item.createdAt);
  });

  test('trims the name before storing it', async () => {
    const response = await env.handler(post({ name: '  \t Spaced out \n ' }));

    expect(response.statusCode).toBe(201);
    const item: ItemJson = bodyOf(response);
    expect(item.name).toBe('Spaced out');
    const { rows } = await env.checker.query('SELECT name FROM items WHERE id = $1', [item.id]);
    expect(rows).toEqual([{ name: 'Spaced out' }]);
  });

  test('accepts a base64-encoded body', async () => {
    const body = Buffer.from(JSON.stringify({ name: 'Grüße from base64' }), 'utf8').toString('base64');
    const response = await env.handler(post(body, { isBase64Encoded: true }));

    expect(response.statusCode).toBe(201);
    const item: ItemJson = bodyOf(response);
    expect(item.name).toBe('Grüße from base64');
    const { rows } = await env.checker.query('SELECT name FROM items WHERE id = $1', [item.id]);
    expect(rows).toEqual([{ name: 'Grüße from base64' }]);
  });

  test('accepts a name of exactly 200 characters, also when they are multibyte', async () => {
    for (const name of ['n'.repeat(200), 'é'.repeat(200)]) {
      const response = await env.handler(post({ name }));
      expect(response.statusCode).toBe(201);
      const item: ItemJson = bodyOf(response);
      expect(item.name).toBe(name);
      const { rows } = await env.checker.query('SELECT char_length(name) AS length FROM items WHERE id = $1', [item.id]);
      expect(rows).toEqual([{ length: 200 }]);
    }
  });

  test('counts characters, not UTF-16 units: 200 emoji are a valid name, 201 are not', async () => {
    const response = await env.handler(post({ name: '😀'.repeat(200) }));
    expect(response.statusCode).toBe(201);
    const { rows } = await env.checker.query('SELECT char_length(name) AS length FROM items WHERE id = $1', [bodyOf(response).id]);
    expect(rows).toEqual([{ length: 200 }]);
    const tooLong = await env.handler(post({ name: '😀'.repeat(201) }));
    expect(tooLong.statusCode).toBe(400);
    expect(bodyOf(tooLong)).toEqual({ message: 'name must be 1 to 200 characters' });
  });

  test('accepts a body of exactly 10240 bytes', async () => {
    const skeleton = JSON.stringify({ name: 'Big', padding: '' });
    const body = JSON.stringify({ name: 'Big', padding: 'p'.repeat(10 * 1024 - skeleton.length) });
    expect(Buffer.byteLength(body)).toBe(10 * 1024);

    const response = await env.handler(post(body));

    expect(response.statusCode).toBe(201);
    expect(bodyOf(response).name).toBe('Big');
  });

  test('gives every item a new, increasing id', async () => {
    const first: ItemJson = bodyOf(await env.handler(post({ name: 'one' })));
    const second: ItemJson = bodyOf(await env.handler(post({ name: 'two' })));
    expect(BigInt(second.id)).toBeGreaterThan(BigInt(first.id));
  });
});

describe('GET /items', () => {
  const env = freshEnvironment();
  let created: ItemJson[];

  beforeEach(async () => {
    // The first request creates the table; then start every test from the same three items.
    await env.handler(list());
    await env.checker.query('TRUNCATE items RESTART IDENTITY');
    created = [];
    for (const name of ['first', 'second', 'third']) {
      const response = await env.handler(post({ name }));
      expect(response.statusCode).toBe(201);
      created.push(bodyOf(response));
    }
  });

  test('lists items newest first', async () => {
    const response = await env.handler(list());

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ items: [created[2], created[1], created[0]] });
    expect(created.map(item => item.id)).toEqual(['1', '2', '3']);
  });

  test('returns at most `limit` items, the newest', async () => {
    const two = await env.handler(list({ limit: '2' }));
    expect(two.statusCode).toBe(200);
    expect(bodyOf(two)).toEqual({ items: [created[2], created[1]] });

    const one = await env.handler(list({ limit: '1' }));
    expect(one.statusCode).toBe(200);
    expect(bodyOf(one)).toEqual({ items: [created[2]] });

    const hundred = await env.handler(list({ limit: '100' }));
    expect(hundred.statusCode).toBe(200);
    expect(bodyOf(hundred).items).toHaveLength(3);
  });

  test('returns 20 items when no limit is given', async () => {
    await env.checker.query("INSERT INTO items (name) SELECT 'bulk ' || n FROM generate_series(1, 22) AS n");

    const response = await env.handler(list());

    expect(response.statusCode).toBe(200);
    const ids = (bodyOf(response).items as ItemJson[]).map(item => Number(item.id));
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => 25 - i));
  });

  test('returns an empty list for an empty table', async () => {
    await env.checker.query('TRUNCATE items');

    const response = await env.handler(list());

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ items: [] });
  });
});

describe('GET /items/{id}', () => {
  const env = freshEnvironment();

  test('returns the item', async () => {
    const created: ItemJson = bodyOf(await env.handler(post({ name: 'Findable' })));

    const response = await env.handler(getById(created.id));

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual(created);
  });

  test.each(['999999', '999999999999999999'])('answers 404 for the unknown id %s', async id => {
    const response = await env.handler(getById(id));

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
  const TOO_LARGE = 'request body must be at most 10240 bytes';
  const LIMIT = 'limit must be a whole number from 1 to 100';
  const ID = 'id must be a positive whole number';

  const oversized = JSON.stringify({ name: 'x', padding: 'p'.repeat(10 * 1024) });

  const NAME_TEXT = 'name must be printable Unicode text without control characters';

  test.each<[string, number, string, APIGatewayProxyEventV2]>([
    ['missing body', 400, BODY_REQUIRED, request('POST /items')],
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
    ['a null body', 400, BODY_REQUIRED, { ...request('POST /items'), body: null } as unknown as APIGatewayProxyEventV2],
    ['a body of 10241 bytes', 413, TOO_LARGE, post(JSON.stringify({ name: 'x', padding: 'p'.repeat(10 * 1024 - 24) }))],
    ['a body over 10 KB', 413, TOO_LARGE, post(oversized)],
    ['a base64 body over 10 KB', 413, TOO_LARGE, post(Buffer.from(oversized).toString('base64'), { isBase64Encoded: true })],
    ['limit 0', 400, LIMIT, list({ limit: '0' })],
    ['limit 101', 400, LIMIT, list({ limit: '101' })],
    ['limit abc', 400, LIMIT, list({ limit: 'abc' })],
    ['limit 1.5', 400, LIMIT, list({ limit: '1.5' })],
    ['limit -1', 400, LIMIT, list({ limit: '-1' })],
    ['an empty limit', 400, LIMIT, list({ limit: '' })],
    ['a limit with spaces', 400, LIMIT, list({ limit: ' 5 ' })],
    ['a limit in exponent notation', 400, LIMIT, list({ limit: '1e1' })],
    ['a hexadecimal limit', 400, LIMIT, list({ limit: '0x10' })],
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
    const response = await env.handler(event);

    expect(response.statusCode).toBe(statusCode);
    expect(bodyOf(response)).toEqual({ message });
  });

  test('the 10241-byte case really is one byte over the limit', () => {
    expect(Buffer.byteLength(JSON.stringify({ name: 'x', padding: 'p'.repeat(10 * 1024 - 24) }))).toBe(10 * 1024 + 1);
  });

  test('an event without a routeKey gets 404', async () => {
    const event = { ...request('GET /items'), routeKey: undefined } as unknown as APIGatewayProxyEventV2;

    const response = await env.handler(event);

    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ message: 'no route for this request' });
  });

  test('rejected requests never touched the database', async () => {
    expect(env.clientCalls).not.toHaveBeenCalled();
    expect(await env.handlerPids()).toEqual([]);
    const { rows } = await env.checker.query("SELECT to_regclass('items') AS items");
    expect(rows).toEqual([{ items: null }]);
  });
});

describe('database failures', () => {
  const env = freshEnvironment();
  const GENERIC = 'internal error; try again later';

  beforeAll(async () => {
    expect((await env.handler(post({ name: 'before the failure' }))).statusCode).toBe(201);
  });

  test('a connection killed during a query gives a generic 500, then the next request reconnects', async () => {
    const errorLog = captureErrorLog();
    const [killed] = await env.handlerPids();
    expect(killed).toEqual(expect.any(Number));

    // Hold a lock so the handler's query waits; then terminate its backend mid-query.
    const locker = new Client(postgres.connectionConfig(env.name));
    await locker.connect();
    let response: APIGatewayProxyStructuredResultV2;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
      const pending = env.handler(request('GET /items', { query: { limit: '5' }, requestId: 'req-kill' }));
      pending.catch(() => undefined);
      await waitFor(async () => (await env.checker.query(
        "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", [killed])).rows.length === 1);
      const { rows } = await env.checker.query('SELECT pg_terminate_backend($1, 5000) AS terminated', [killed]);
      expect(rows).toEqual([{ terminated: true }]);
      response = await pending;
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }

    expect(response.statusCode).toBe(500);
    const body = bodyOf(response);
    expect(body).toEqual({ message: GENERIC, requestId: 'req-kill' });
    expect(response.body).not.toMatch(/terminat|administrator|57P01|SELECT|FROM items|LIMIT/i);

    // The log names the failure class and request, not the driver's message or SQL.
    expect(errorLog).toHaveBeenCalledTimes(1);
    const logged = JSON.parse(errorLog.mock.calls[0][0] as string);
    expect(logged).toEqual({ level: 'ERROR', message: 'request failed', errorName: 'error', errorCode: '57P01', requestId: 'req-kill' });

    // The broken connection was dropped; the next request opens a new one and works.
    const next = await env.handler(list());
    expect(next.statusCode).toBe(200);
    expect(bodyOf(next).items.map((item: ItemJson) => item.name)).toEqual(['before the failure']);
    const pids = await env.handlerPids();
    expect(pids).toHaveLength(1);
    expect(pids[0]).not.toBe(killed);
  });

  test('a connection closed by the server between invocations is replaced without an error', async () => {
    const errorLog = captureErrorLog();
    expect((await env.handler(list())).statusCode).toBe(200);
    const [closed] = await env.handlerPids();
    const client = await env.lastClient();
    const ended = new Promise(resolve => client.once('end', resolve));

    // As when a proxy or server drops an idle connection while the environment is frozen.
    await env.checker.query('SELECT pg_terminate_backend($1, 5000)', [closed]);
    await ended;

    for (let i = 0; i < 5; i++) {
      const response = await env.handler(list());
      expect(response.statusCode).toBe(200);
      expect(bodyOf(response).items.length).toBeGreaterThan(0);
    }
    expect(errorLog).not.toHaveBeenCalled();
    const pids = await env.handlerPids();
    expect(pids).toHaveLength(1);
    expect(pids[0]).not.toBe(closed);
  });

  test('a late error event from a dead connection does not drop the connection that replaced it', async () => {
    expect((await env.handler(list())).statusCode).toBe(200);
    const [dead] = await env.handlerPids();
    const old = await env.lastClient();
    const ended = new Promise(resolve => old.once('end', resolve));
    await env.checker.query('SELECT pg_terminate_backend($1, 5000)', [dead]);
    await ended;
    expect((await env.handler(list())).statusCode).toBe(200);
    const [replacement] = await env.handlerPids();
    // pg can report one termination twice; the second report arrives after the replacement opened.
    old.emit('error', new Error('Connection terminated unexpectedly'));
    expect((await env.handler(list())).statusCode).toBe(200);
    expect(await env.handlerPids()).toEqual([replacement]);
  });

  test('a connection killed just before the next invocations never leaves a second connection behind', async () => {
    // pg reports a terminated backend with two 'error' events; a new connection opened between
    // them must survive the second one. Repeated, because the interleaving is a race.
    captureErrorLog();
    for (let round = 0; round < 25; round++) {
      expect((await env.handler(list())).statusCode).toBe(200);
      const [victim] = await env.handlerPids();
      await env.checker.query('SELECT pg_terminate_backend($1)', [victim]);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push((await env.handler(list())).statusCode ?? 0);
      }
      // At most the first request may fail (it may still hold the dying connection).
      expect(statuses.slice(1)).toEqual([200, 200, 200, 200]);
      await waitFor(async () => (await env.handlerPids()).length === 1);
      expect(await env.handlerPids()).not.toContain(victim);
    }
  });

  test('a failed connection attempt gives a generic 500 and is retried on the next request', async () => {
    const errorLog = captureErrorLog();
    let password = 'wrong password';
    const app = `${env.app}-login`;
    const database = singleConnection(() => ({ ...postgres.connectionConfig(env.name), password, application_name: app }));
    const handler = createItemsHandler(database);
    try {
      const failed = await handler(request('GET /items', { requestId: 'login-1' }));
      expect(failed.statusCode).toBe(500);
      expect(bodyOf(failed)).toEqual({ message: GENERIC, requestId: 'login-1' });
      expect(failed.body).not.toMatch(/password|authentication|postgres|28P01/i);
      expect(JSON.parse(errorLog.mock.calls[0][0] as string)).toEqual(
        { level: 'ERROR', message: 'request failed', errorName: 'error', errorCode: '28P01', requestId: 'login-1' });

      // The config function is called again for the next connection.
      password = postgres.password;
      const ok = await handler(request('GET /items', { requestId: 'login-2' }));
      expect(ok.statusCode).toBe(200);
      expect(bodyOf(ok).items.length).toBeGreaterThan(0);
    } finally {
      await database.reset();
    }
  });
});

describe('schema', () => {
  const env = freshEnvironment();

  test('creates the items table on first use', async () => {
    const before = await env.checker.query("SELECT to_regclass('items') AS items");
    expect(before.rows).toEqual([{ items: null }]);

    const response = await env.handler(list());

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ items: [] });
    const after = await env.checker.query("SELECT to_regclass('items')::text AS items");
    expect(after.rows).toEqual([{ items: 'items' }]);
  });

  test('a second handler instance on the same database works alongside the first', async () => {
    // The first instance has created the table (CREATE TABLE IF NOT EXISTS must not fail for the second).
    expect((await env.handler(post({ name: 'from the first instance' }))).statusCode).toBe(201);
    const app = `${env.app}-second`;
    const database = singleConnection(() => ({ ...postgres.connectionConfig(env.name), application_name: app }));
    const second = createItemsHandler(database);
    try {
      const created = await second(post({ name: 'from the second instance' }));
      expect(created.statusCode).toBe(201);

      const listed = await env.handler(list({ limit: '2' }));
      expect(listed.statusCode).toBe(200);
      expect(bodyOf(listed).items.map((item: ItemJson) => item.name)).toEqual(['from the second instance', 'from the first instance']);

      const fromSecond = await second(getById(bodyOf(created).id));
      expect(fromSecond.statusCode).toBe(200);
      expect(bodyOf(fromSecond)).toEqual(bodyOf(created));

      const { rows } = await env.checker.query<{ application_name: string; count: string }>(
        `SELECT application_name, count(*) AS count FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name LIKE 'reference-handler-test-%'
         GROUP BY application_name ORDER BY application_name`, [env.name]);
      expect(rows).toEqual([{ application_name: env.app, count: '1' }, { application_name: app, count: '1' }]);
    } finally {
      await database.reset();
    }
  });
});

describe('connection reuse', () => {
  const env = freshEnvironment();

  test('warm invocations reuse one connection', async () => {
    const pidsSeen = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const response = await env.handler(i % 2 === 0 ? post({ name: `warm ${i}` }) : list());
      expect(response.statusCode).toBe(i % 2 === 0 ? 201 : 200);
      for (const pid of await env.handlerPids()) pidsSeen.add(pid);
    }
    expect(pidsSeen.size).toBe(1);
    expect(await env.handlerPids()).toEqual([...pidsSeen]);

    // The handler asked for its connection once per request and got the same pg client every time.
    expect(env.clientCalls).toHaveBeenCalledTimes(5);
    const clients = new Set(await Promise.all(env.clientCalls.mock.results.map(result => result.value)));
    expect(clients.size).toBe(1);
  });
});

describe('proxyClientConfig', () => {
  const settings: ConnectionSettings = {
    host: 'my-proxy.proxy-abcdefghijkl.eu-west-1.rds.amazonaws.com',
    port: 5432,
    database: 'app',
    user: 'app_user',
    region: 'eu-west-1',
  };
  const credentialVariables = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE'];
  let saved: Record<string, string | undefined>;

  beforeAll(() => {
    saved = Object.fromEntries(credentialVariables.map(key => [key, process.env[key]]));
    for (const key of credentialVariables) delete process.env[key];
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
  });

  afterAll(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  test('connects to the proxy with verified TLS and short timeouts', () => {
    const config = proxyClientConfig(settings);

    expect(config).toEqual({
      host: settings.host,
      port: 5432,
      database: 'app',
      user: 'app_user',
      password: expect.any(Function),
      ssl: { rejectUnauthorized: true, servername: settings.host },
      connectionTimeoutMillis: 3000,
      query_timeout: 4000,
      application_name: 'reference-api',
    });
  });

  test('signs an IAM authentication token locally as the password', async () => {
    const config = proxyClientConfig(settings);
    const password = config.password as () => Promise<string>;

    const token = await password();

    expect(typeof token).toBe('string');
    expect(token.startsWith(`${settings.host}:5432/?`)).toBe(true);
    const query = new URLSearchParams(token.slice(token.indexOf('?') + 1));
    expect(query.get('Action')).toBe('connect');
    expect(query.get('DBUser')).toBe('app_user');
    expect(query.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/);
    expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(token).toContain('Action=connect');
    expect(token).toContain('DBUser=app_user');
    expect(token).toContain('X-Amz-Signature=');
  });
});

describe('settingsFromEnvironment', () => {
  const complete = {
    DATABASE_HOST: 'proxy.example.com',
    DATABASE_PORT: '5432',
    DATABASE_NAME: 'app',
    DATABASE_USER: 'app_user',
    AWS_REGION: 'eu-west-1',
  };

  test('reads the settings and parses the port', () => {
    expect(settingsFromEnvironment({ ...complete, DATABASE_PORT: '6543' })).toEqual({
      host: 'proxy.example.com',
      port: 6543,
      database: 'app',
      user: 'app_user',
      region: 'eu-west-1',
    });
  });

  test.each(Object.keys(complete))('names %s when it is missing or empty', key => {
    const { [key as keyof typeof complete]: _, ...rest } = complete;
    expect(() => settingsFromEnvironment(rest)).toThrow(new Error(`missing environment variables: ${key}`));
    expect(() => settingsFromEnvironment({ ...complete, [key]: '' })).toThrow(new Error(`missing environment variables: ${key}`));
  });

  test.each(['abc', '0', '65536', '54.32', ' 5432'])('rejects DATABASE_PORT %p', port => {
    expect(() => settingsFromEnvironment({ ...complete, DATABASE_PORT: port }))
      .toThrow(new Error(`DATABASE_PORT must be a port number from 1 to 65535, not '${port}'`));
  });

  test('names every missing variable at once', () => {
    expect(() => settingsFromEnvironment({})).toThrow(
      new Error('missing environment variables: DATABASE_HOST, DATABASE_PORT, DATABASE_NAME, DATABASE_USER, AWS_REGION'));
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
