/**
 * The reference worker against a real MariaDB server (the local stand-in for
 * Aurora MySQL). Each describe block gets its own database, migrated and
 * given the `reference_worker` user (READ_WRITE) by the bootstrap code the
 * deploy runs, and handlers on runtime Databases that log in as that user,
 * one per simulated Lambda execution environment. An admin connection (the
 * "checker") inspects the tables.
 */
import { randomBytes } from 'crypto';
import * as net from 'net';
import * as path from 'path';
import { Connection, createConnection } from 'mysql2/promise';
import { bootstrap } from '../lambda/bootstrap/bootstrap';
import {
  createOrdersHandler, InvalidOrderEventError, ORDER_EVENT_SOURCE, ORDER_PLACED, OrderConflictError, OrderNotRecordedError, OrderPlaced,
  OrderPlacedEvent, OrderResult, OrdersHandler,
} from '../lambda/reference-worker/orders';
import { Database, DatabaseSettings, DatabaseUnavailableError, settingsFromEnvironment } from '../lambda/runtime';
import { observability } from '../lambda/runtime/observability';
import { mysqlDatabase } from '../lambda/runtime/mysql';
import { readMigrations } from '../lib/bootstrap/private/migrations';
import { MariaDbServer, startMariaDb } from './support/mariadb';
import { lambdaContext } from './support/lambda';
import { captureOutput, rejection } from './support/output';

const MIGRATIONS = path.join(__dirname, '..', 'lambda', 'reference-worker', 'migrations');
const WORKER_USER = 'reference_worker';
const WORKER_PASSWORD = randomBytes(18).toString('base64url');

const tools = observability({ serviceName: 'reference-worker-test', namespace: 'ReferenceWorkerTest' });

let mariadb: MariaDbServer;
const workerDatabases: Database[] = [];
const checkers: Connection[] = [];

beforeAll(async () => {
  mariadb = await startMariaDb();
});

afterAll(async () => {
  await Promise.all(workerDatabases.map(database => database.close()));
  // Not end(): it never settles on a connection whose server was shut down.
  for (const checker of checkers) checker.destroy();
  await mariadb?.stop();
});

// ---------------------------------------------------------------------------
// Helpers

/** A new database on `server` with the worker's migrations and user, set up by the deploy-time bootstrap. */
async function bootstrappedDatabase(server: MariaDbServer): Promise<string> {
  const name = await server.createDatabase('orders');
  await bootstrap({
    engine: 'mysql', host: server.host, port: server.port, database: name, user: server.user, password: server.password, tls: false,
  }, {
    migrations: readMigrations(MIGRATIONS),
    users: [{ name: WORKER_USER, privileges: 'READ_WRITE', authentication: 'SECRET', password: WORKER_PASSWORD }],
  });
  return name;
}

function workerSettings(server: MariaDbServer, database: string): DatabaseSettings {
  return settingsFromEnvironment({
    DATABASE_HOST: server.host,
    DATABASE_PORT: String(server.port),
    DATABASE_NAME: database,
    DATABASE_USER: WORKER_USER,
    DATABASE_ENGINE: 'mysql',
    AWS_REGION: 'eu-west-1',
    DATABASE_AUTH: 'password',
    DATABASE_PASSWORD: WORKER_PASSWORD,
    DATABASE_TLS: 'disable',
    DATABASE_CONNECT_TIMEOUT_MS: '1000',
  });
}

/** One simulated execution environment: its own Database (one connection) and handler. */
function executionEnvironment(server: MariaDbServer, database: string): { database: Database; invoke(event: unknown): Promise<OrderResult> } {
  const workerDatabase = mysqlDatabase({ settings: workerSettings(server, database) });
  workerDatabases.push(workerDatabase);
  const handler: OrdersHandler = createOrdersHandler(workerDatabase, { observability: tools });
  return { database: workerDatabase, invoke: event => handler(event as OrderPlacedEvent, lambdaContext('reference-worker-test', { timeoutMillis: 30_000 })) };
}

async function checkerFor(server: MariaDbServer, database: string): Promise<Connection> {
  const checker = await createConnection({ ...server.connectionOptions(database), supportBigNumbers: true, bigNumberStrings: true });
  checkers.push(checker);
  return checker;
}

let orderCount = 0;
const newOrderId = () => `order-${process.pid}-${++orderCount}`;

function order(overrides: Partial<OrderPlaced> = {}): OrderPlaced {
  return { orderId: newOrderId(), customerId: 'customer_42', amountCents: 1999, currency: 'EUR', ...overrides };
}

/** The event an EventBridge rule delivers for `detail` (a new event id each time, as a retried delivery keeps its id). */
function orderPlaced(detail: unknown, overrides: Record<string, unknown> = {}): OrderPlacedEvent {
  return {
    'version': '0',
    'id': `0d3c8a5e-${randomBytes(2).toString('hex')}-4c1a-9f1e-5b7d2f0a9c11`,
    'detail-type': ORDER_PLACED,
    'source': ORDER_EVENT_SOURCE,
    'account': '123456789012',
    'time': '2026-11-20T10:00:00Z',
    'region': 'eu-west-1',
    'resources': [],
    'detail': detail as OrderPlaced,
    ...overrides,
  } as OrderPlacedEvent;
}



/** Resolves once `server` refuses TCP connections (a shutdown has closed its port). */
async function untilRefused(server: MariaDbServer): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const accepted = await new Promise<boolean>(resolve => {
      const socket = net.connect(server.port, server.host);
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (!accepted) return;
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  throw new Error('the server still accepts connections 30 s after SHUTDOWN');
}

async function storedOrders(checker: Connection, orderId: string): Promise<Array<Record<string, unknown>>> {
  const [rows] = await checker.query('SELECT order_id, customer_id, amount_cents, currency FROM orders WHERE order_id = ?', [orderId]);
  return rows as Array<Record<string, unknown>>;
}

// Powertools writes JSON lines to stdout/stderr: record them per test (and keep test output quiet).
const { written, logLines, clear } = captureOutput();

/** The names of the metrics published in this test, with their values. */
function metricValues(): Record<string, number> {
  const lines = written().join('').split('\n').filter(line => line.trim()).map(line => JSON.parse(line)).filter(line => line._aws);
  const values: Record<string, number> = {};
  for (const line of lines) {
    for (const { Name } of line._aws.CloudWatchMetrics[0].Metrics) values[Name] = (values[Name] ?? 0) + line[Name];
  }
  return values;
}

/** A freshly migrated database, one execution environment of the worker on it, and a connection to check its rows. */
async function freshWorker(): Promise<{ worker: ReturnType<typeof executionEnvironment>; checker: Connection }> {
  const name = await bootstrappedDatabase(mariadb);
  return { worker: executionEnvironment(mariadb, name), checker: await checkerFor(mariadb, name) };
}

// ---------------------------------------------------------------------------

describe('recording orders', () => {
  let worker: ReturnType<typeof executionEnvironment>;
  let checker: Connection;
  beforeAll(async () => {
    ({ worker, checker } = await freshWorker());
  });

  test('a valid OrderPlaced event is stored as one row and answered with status recorded', async () => {
    const detail = order();

    const result = await worker.invoke(orderPlaced(detail));

    expect(result).toEqual({ orderId: detail.orderId, status: 'recorded' });
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    expect(await storedOrders(checker, detail.orderId)).toEqual([
      { order_id: detail.orderId, customer_id: 'customer_42', amount_cents: '1999', currency: 'EUR' },
    ]);
    expect(metricValues()).toEqual(expect.objectContaining({ OrdersRecorded: 1 }));
  });

  test('the same event delivered twice is stored once; the second answer is already-recorded for the same order', async () => {
    const event = orderPlaced(order());

    const first = await worker.invoke(event);
    const second = await worker.invoke(event);

    expect(first).toEqual({ orderId: event.detail.orderId, status: 'recorded' });
    expect(second).toEqual({ orderId: event.detail.orderId, status: 'already-recorded' });
    expect(await storedOrders(checker, event.detail.orderId)).toHaveLength(1);
    expect(metricValues()).toEqual(expect.objectContaining({ OrdersRecorded: 1, DuplicateDeliveries: 1 }));
  });

  test('a second event with another event id but the same order is a duplicate delivery, not a new order', async () => {
    const detail = order();
    await worker.invoke(orderPlaced(detail));

    expect(await worker.invoke(orderPlaced({ ...detail }))).toEqual({ orderId: detail.orderId, status: 'already-recorded' });
    expect(await storedOrders(checker, detail.orderId)).toHaveLength(1);
  });

  test('accepts the limits: 64-character ids of every allowed kind and amountCents of Number.MAX_SAFE_INTEGER', async () => {
    const detail = order({
      orderId: `Az09_-${newOrderId()}`.padEnd(64, 'x'),
      customerId: 'Az09_-'.repeat(10).padEnd(64, 'Z'),
      amountCents: Number.MAX_SAFE_INTEGER,
      currency: 'JPY',
    });
    expect(detail.orderId).toHaveLength(64);

    expect(await worker.invoke(orderPlaced(detail))).toEqual({ orderId: detail.orderId, status: 'recorded' });
    expect(await storedOrders(checker, detail.orderId)).toEqual([{
      order_id: detail.orderId, customer_id: detail.customerId, amount_cents: String(Number.MAX_SAFE_INTEGER), currency: 'JPY',
    }]);
    expect(await worker.invoke(orderPlaced(detail))).toEqual({ orderId: detail.orderId, status: 'already-recorded' });
  });

  test('order ids that differ only in case are different orders', async () => {
    const lower = order({ orderId: `case-${randomBytes(4).toString('hex')}` });
    const upper = order({ orderId: lower.orderId.toUpperCase(), amountCents: 5 });

    expect(await worker.invoke(orderPlaced(lower))).toEqual({ orderId: lower.orderId, status: 'recorded' });
    expect(await worker.invoke(orderPlaced(upper))).toEqual({ orderId: upper.orderId, status: 'recorded' });
    expect(await storedOrders(checker, lower.orderId)).toEqual([expect.objectContaining({ order_id: lower.orderId, amount_cents: '1999' })]);
    expect(await storedOrders(checker, upper.orderId)).toEqual([expect.objectContaining({ order_id: upper.orderId, amount_cents: '5' })]);
  });

  test('ignores detail fields it does not know, so publishers can add fields', async () => {
    const detail = order();
    expect(await worker.invoke(orderPlaced({ ...detail, note: 'gift wrap', lines: [{ sku: 'A1' }] }))).toEqual({ orderId: detail.orderId, status: 'recorded' });
  });

  test('logs the outcome with the event id and orderId, never the customer, the amount or SQL', async () => {
    const event = orderPlaced(order({ customerId: 'very-private-customer' }));
    await worker.invoke(event);

    const lines = logLines();
    expect(lines).toEqual([expect.objectContaining({
      level: 'INFO', message: 'order recorded', eventId: event.id, orderId: event.detail.orderId, status: 'recorded', lambdaRequestId: expect.any(String),
    })]);
    const text = written().join('');
    expect(text).not.toContain('very-private-customer');
    expect(text).not.toMatch(/INSERT|SELECT/);
    expect(text).not.toContain(WORKER_PASSWORD);
  });
});

describe('the orders table (migration 0001)', () => {
  let checker: Connection;
  beforeAll(async () => {
    checker = await checkerFor(mariadb, await bootstrappedDatabase(mariadb));
  });

  test.each<[string, unknown[], string]>([
    ['an order_id with a space', ['order 1', 'c1', 100, 'EUR'], 'orders_order_id_format'],
    ['a customer_id with a quote', ['o1', "o'brien", 100, 'EUR'], 'orders_customer_id_format'],
    ['amount_cents 0', ['o1', 'c1', 0, 'EUR'], 'orders_amount_positive_safe'],
    ['amount_cents beyond Number.MAX_SAFE_INTEGER', ['o1', 'c1', '9007199254740992', 'EUR'], 'orders_amount_positive_safe'],
    ['a lowercase currency', ['o1', 'c1', 100, 'eur'], 'orders_currency_format'],
  ])('refuses %s even from code that skips the worker', async (_, values, constraint) => {
    const error = await rejection(checker.query('INSERT INTO orders (order_id, customer_id, amount_cents, currency) VALUES (?, ?, ?, ?)', values));

    // MariaDB's ER_CONSTRAINT_FAILED (mysql2 names codes after MySQL's list, where 4025 means something else).
    expect(error.errno).toBe(4025);
    expect(error.sqlMessage).toContain(`CONSTRAINT \`${constraint}\` failed`);
    const [rows] = await checker.query('SELECT COUNT(*) AS count FROM orders');
    expect(rows).toEqual([{ count: '0' }]);
  });
});

describe('deliveries in several execution environments at once', () => {
  let environments: Array<ReturnType<typeof executionEnvironment>>;
  let checker: Connection;
  beforeAll(async () => {
    const name = await bootstrappedDatabase(mariadb);
    environments = [1, 2, 3].map(() => executionEnvironment(mariadb, name));
    checker = await checkerFor(mariadb, name);
    // Open every connection first, so that the deliveries below race on the INSERT rather than on connecting.
    await Promise.all(environments.map(environment => environment.database.query('SELECT 1')));
  });

  test('the same event delivered to 3 environments concurrently ends with one row, one recorded and two already-recorded answers', async () => {
    for (let round = 0; round < 10; round++) {
      const event = orderPlaced(order());

      const results = await Promise.all(environments.map(environment => environment.invoke(event)));

      expect(results.filter(result => result.status === 'recorded')).toHaveLength(1);
      expect(results.filter(result => result.status === 'already-recorded')).toHaveLength(2);
      expect(new Set(results.map(result => result.orderId))).toEqual(new Set([event.detail.orderId]));
      expect(await storedOrders(checker, event.detail.orderId)).toHaveLength(1);
    }
  });

  test('concurrent deliveries of one orderId with different contents: one is recorded, the others are conflicts, the row is the winner', async () => {
    const orderId = newOrderId();
    const amounts = [100, 200, 300];

    const outcomes = await Promise.allSettled(environments.map((environment, index) => environment.invoke(orderPlaced(order({ orderId, amountCents: amounts[index] })))));

    const recorded = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [index] : []));
    expect(recorded).toHaveLength(1);
    expect((outcomes[recorded[0]] as PromiseFulfilledResult<OrderResult>).value).toEqual({ orderId, status: 'recorded' });
    for (const outcome of outcomes.filter(candidate => candidate.status === 'rejected')) {
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(OrderConflictError);
    }
    expect(await storedOrders(checker, orderId)).toEqual([expect.objectContaining({ amount_cents: String(amounts[recorded[0]]) })]);
  });
});

describe('conflicts', () => {
  let worker: ReturnType<typeof executionEnvironment>;
  let checker: Connection;
  beforeAll(async () => {
    ({ worker, checker } = await freshWorker());
  });

  test.each([
    ['customerId', { customerId: 'someone_else' }, 'customerId'],
    ['amountCents', { amountCents: 2000 }, 'amountCents'],
    ['currency', { currency: 'USD' }, 'currency'],
    ['all three', { customerId: 'someone_else', amountCents: 1, currency: 'GBP' }, 'customerId, amountCents, currency'],
  ])('the same orderId with a different %s throws OrderConflictError naming the fields and keeps the first order', async (_, change, fields) => {
    const original = order();
    await worker.invoke(orderPlaced(original));

    const error = await rejection(worker.invoke(orderPlaced({ ...original, ...change })));

    expect(error).toBeInstanceOf(OrderConflictError);
    expect(error.name).toBe('OrderConflictError');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`order ${original.orderId} is already recorded with a different ${fields}: an orderId names one order; publish a new orderId for another order`);
    expect(await storedOrders(checker, original.orderId)).toEqual([{
      order_id: original.orderId, customer_id: original.customerId, amount_cents: String(original.amountCents), currency: original.currency,
    }]);
  });

  test('a conflict is logged as a rejected event with the reason and counted', async () => {
    const original = order();
    await worker.invoke(orderPlaced(original));
    clear();

    await rejection(worker.invoke(orderPlaced({ ...original, amountCents: 7 })));

    expect(logLines()).toEqual([expect.objectContaining({
      level: 'ERROR', message: 'order event rejected', orderId: original.orderId, errorName: 'OrderConflictError',
      problem: expect.stringContaining('different amountCents'),
    })]);
    expect(metricValues()).toEqual(expect.objectContaining({ OrderEventsRejected: 1 }));
  });
});

describe('invalid events', () => {
  let worker: ReturnType<typeof executionEnvironment>;
  let checker: Connection;
  beforeAll(async () => {
    ({ worker, checker } = await freshWorker());
  });

  const ID_RULE = 'a string of 1 to 64 characters of A-Z, a-z, 0-9, "_" and "-"';
  const AMOUNT_RULE = 'detail.amountCents must be a whole number (JSON number) from 1 to 9007199254740991';
  const CURRENCY_RULE = 'detail.currency must be 3 uppercase letters A-Z (an ISO 4217 code such as EUR)';

  test.each<[string, Record<string, unknown>, string]>([
    ['orderId missing', { orderId: undefined }, `detail.orderId must be ${ID_RULE}`],
    ['orderId empty', { orderId: '' }, `detail.orderId must be ${ID_RULE}`],
    ['orderId of 65 characters', { orderId: 'o'.repeat(65) }, `detail.orderId must be ${ID_RULE}`],
    ['orderId with a space', { orderId: 'order 1' }, `detail.orderId must be ${ID_RULE}`],
    ['orderId with a non-ASCII letter', { orderId: 'ordér-1' }, `detail.orderId must be ${ID_RULE}`],
    ['orderId a number', { orderId: 12345 }, `detail.orderId must be ${ID_RULE}`],
    ['customerId missing', { customerId: undefined }, `detail.customerId must be ${ID_RULE}`],
    ['customerId with a quote', { customerId: "o'brien" }, `detail.customerId must be ${ID_RULE}`],
    ['customerId of 65 characters', { customerId: 'c'.repeat(65) }, `detail.customerId must be ${ID_RULE}`],
    ['amountCents missing', { amountCents: undefined }, AMOUNT_RULE],
    ['amountCents 0', { amountCents: 0 }, AMOUNT_RULE],
    ['amountCents negative', { amountCents: -5 }, AMOUNT_RULE],
    ['amountCents a fraction', { amountCents: 19.99 }, AMOUNT_RULE],
    ['amountCents beyond Number.MAX_SAFE_INTEGER', { amountCents: Number.MAX_SAFE_INTEGER + 1 }, AMOUNT_RULE],
    ['amountCents a string of digits', { amountCents: '1999' }, AMOUNT_RULE],
    ['currency missing', { currency: undefined }, CURRENCY_RULE],
    ['currency lowercase', { currency: 'eur' }, CURRENCY_RULE],
    ['currency of 4 letters', { currency: 'EURO' }, CURRENCY_RULE],
    ['currency of 2 letters', { currency: 'EU' }, CURRENCY_RULE],
  ])('%s: throws InvalidOrderEventError naming the field and its rule, and stores nothing', async (_, change, problem) => {
    const detail: Record<string, unknown> = { ...order(), ...change };

    const error = await rejection(worker.invoke(orderPlaced(detail)));

    expect(error).toBeInstanceOf(InvalidOrderEventError);
    expect(error.name).toBe('InvalidOrderEventError');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`invalid OrderPlaced event: ${problem}`);
    expect(error.problems).toEqual([problem]);
    const [rows] = await checker.query('SELECT COUNT(*) AS count FROM orders');
    expect(rows).toEqual([{ count: '0' }]);
  });

  test('lists every problem of an event at once', async () => {
    const error = await rejection(worker.invoke(orderPlaced({ orderId: '', customerId: 'ok', amountCents: 0, currency: 'eur' })));

    expect(error.problems).toEqual([`detail.orderId must be ${ID_RULE}`, AMOUNT_RULE, CURRENCY_RULE]);
    expect(error.message).toBe(`invalid OrderPlaced event: detail.orderId must be ${ID_RULE}; ${AMOUNT_RULE}; ${CURRENCY_RULE}`);
  });

  test.each<[string, unknown, string[]]>([
    ['another source', orderPlaced(order(), { source: 'someone.else' }), [`source must be '${ORDER_EVENT_SOURCE}'`]],
    ['another detail-type', orderPlaced(order(), { 'detail-type': 'OrderShipped' }), [`detail-type must be '${ORDER_PLACED}'`]],
    ['no detail', orderPlaced(undefined), ['detail must be an object with orderId, customerId, amountCents and currency']],
    ['a detail that is a string', orderPlaced('{"orderId":"x"}'), ['detail must be an object with orderId, customerId, amountCents and currency']],
    ['a detail that is an array', orderPlaced([order()]), ['detail must be an object with orderId, customerId, amountCents and currency']],
    ['null', null, ['the event must be an EventBridge event: an object with source, detail-type and detail']],
    ['an SQS event', { Records: [{ body: '{}' }] }, [
      `source must be '${ORDER_EVENT_SOURCE}'`, `detail-type must be '${ORDER_PLACED}'`, 'detail must be an object with orderId, customerId, amountCents and currency',
    ]],
  ])('an event with %s throws InvalidOrderEventError saying what an OrderPlaced event is', async (_, event, problems) => {
    const error = await rejection(worker.invoke(event));

    expect(error).toBeInstanceOf(InvalidOrderEventError);
    expect(error.problems).toEqual(problems);
  });

  test('a rejected event is logged with its problems, never with its values, and counted', async () => {
    const event = orderPlaced({ orderId: 'ok-1', customerId: 'secret customer name', amountCents: 100, currency: 'EUR' });

    await rejection(worker.invoke(event));

    expect(logLines()).toEqual([expect.objectContaining({
      level: 'ERROR', message: 'order event rejected', eventId: event.id, errorName: 'InvalidOrderEventError',
      problem: `invalid OrderPlaced event: detail.customerId must be ${ID_RULE}`,
    })]);
    expect(written().join('')).not.toContain('secret customer name');
    expect(metricValues()).toEqual(expect.objectContaining({ OrderEventsRejected: 1 }));
  });
});

describe('database failures', () => {
  test('without the migrations, throws OrderNotRecordedError with the driver code and no SQL in its message', async () => {
    const name = await mariadb.createDatabase('unmigrated');
    const admin = await checkerFor(mariadb, name);
    await admin.query(`CREATE USER IF NOT EXISTS ${WORKER_USER}@'%' IDENTIFIED BY ?`, [WORKER_PASSWORD]);
    await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${name}\`.* TO ${WORKER_USER}@'%'`);
    const worker = executionEnvironment(mariadb, name);
    const detail = order();

    const error = await rejection(worker.invoke(orderPlaced(detail)));

    expect(error).toBeInstanceOf(OrderNotRecordedError);
    expect(error.name).toBe('OrderNotRecordedError');
    expect(error.code).toBe('ER_NO_SUCH_TABLE');
    expect(error.message).toBe(`order ${detail.orderId} could not be recorded: the database failed with ER_NO_SUCH_TABLE`);
    expect(error.cause).toEqual(expect.objectContaining({ code: 'ER_NO_SUCH_TABLE' }));
    expect(logLines()).toEqual([expect.objectContaining({
      level: 'ERROR', message: 'order not recorded', orderId: detail.orderId, errorName: 'OrderNotRecordedError', errorCode: 'ER_NO_SUCH_TABLE',
    })]);
    expect(written().join('')).not.toMatch(/INSERT|orders \(/);
  });

  describe('when the database server is down', () => {
    // A server of its own: this block shuts it down.
    let server: MariaDbServer;
    let name: string;
    let worker: ReturnType<typeof executionEnvironment>;
    let checker: Connection;
    beforeAll(async () => {
      server = await startMariaDb();
      name = await bootstrappedDatabase(server);
      worker = executionEnvironment(server, name);
      checker = await checkerFor(server, name);
    });
    afterAll(async () => {
      await server?.stop();
    });

    test('throws DatabaseUnavailableError (retryable), and the retried delivery after the restart records the order once', async () => {
      expect(await worker.invoke(orderPlaced(order()))).toEqual(expect.objectContaining({ status: 'recorded' }));
      await checker.query('SHUTDOWN');
      await untilRefused(server);
      const event = orderPlaced(order());

      const error = await rejection(worker.invoke(event));

      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect(error.retryable).toBe(true);
      expect(error.message).toBe('the database connection failed');
      expect(logLines()).toEqual(expect.arrayContaining([expect.objectContaining({
        level: 'WARN', message: 'database unavailable; Lambda will retry the event', orderId: event.detail.orderId, errorName: 'DatabaseUnavailableError',
      })]));
      expect(metricValues()).toEqual(expect.objectContaining({ DatabaseUnavailable: 1 }));

      await server.restart();
      // Lambda retries the same event.
      expect(await worker.invoke(event)).toEqual({ orderId: event.detail.orderId, status: 'recorded' });
      const after = await checkerFor(server, name);
      expect(await storedOrders(after, event.detail.orderId)).toHaveLength(1);
    });
  });
});

describe('Lambda entry point (handler.ts)', () => {
  test('connects with the DATABASE_* environment variables and records an order', async () => {
    const name = await bootstrappedDatabase(mariadb);
    const checker = await checkerFor(mariadb, name);
    const environment = {
      DATABASE_HOST: mariadb.host, DATABASE_PORT: String(mariadb.port), DATABASE_NAME: name, DATABASE_USER: WORKER_USER,
      DATABASE_ENGINE: 'mysql', AWS_REGION: 'eu-west-1', DATABASE_AUTH: 'password', DATABASE_PASSWORD: WORKER_PASSWORD, DATABASE_TLS: 'disable',
    };
    Object.assign(process.env, environment);
    let handler: OrdersHandler;
    try {
      jest.isolateModules(() => {
        handler = require('../lambda/reference-worker/handler').handler;
      });
    } finally {
      for (const key of Object.keys(environment)) delete process.env[key];
    }
    const detail = order();

    expect(await handler!(orderPlaced(detail), lambdaContext('reference-worker-test', { timeoutMillis: 30_000 }))).toEqual({ orderId: detail.orderId, status: 'recorded' });
    expect(await storedOrders(checker, detail.orderId)).toHaveLength(1);
    expect(written().join('')).toMatch(/"message":"order recorded".*"service":"reference-worker"/);
  });
});
