/**
 * The invocation deadline: every database call answers before the
 * invocation's remaining time, minus a margin, runs out (or, without an
 * invocation, within one attempt's configured timeouts), against a real
 * PostgreSQL and MariaDB, and servers that accept connections and never
 * answer.
 */
import * as net from 'net';
import { currentDeadline, Database, DatabaseUnavailableError, deadlineFromContext, deadlineMargin, withDeadline, withInvocationDeadline } from '../lambda/runtime';
import { timeoutWithin } from '../lambda/runtime/deadline';
import { mysqlDatabase } from '../lambda/runtime/mysql';
import { postgresDatabase } from '../lambda/runtime/postgres';
import { MariaDbServer, startMariaDb } from './support/mariadb';
import { lambdaContext } from './support/lambda';
import { rejection } from './support/output';
import { usePostgresRuntime } from './support/runtime-postgres';
import { localSettings } from './support/settings';

const runtime = usePostgresRuntime();

const CONNECTION_FAILED = 'the database connection failed';
const NO_ANSWER_IN_TIME = 'the database did not answer in time; the statement may or may not have been applied';
const NO_TIME_LEFT = 'no time was left before the invocation deadline: the statement was not sent';
const NO_PASSWORD_IN_TIME = 'the database password (IAM token) was not ready in time: the statement was not sent';

/** Runs `call` as a handler invoked with `remainingMillis` left, and times it. */
async function invoke<T>(remainingMillis: number, call: () => Promise<T>): Promise<{ error: any; millis: number }> {
  const started = Date.now();
  const error = await rejection(withInvocationDeadline(call)(undefined, lambdaContext('deadline-test', { timeoutMillis: remainingMillis })));
  return { error, millis: Date.now() - started };
}

describe('the deadline', () => {
  test('keeps back 10% of the remaining time, at least 100 ms and at most 1 s', () => {
    expect([500, 5_000, 60_000].map(deadlineMargin)).toEqual([100, 500, 1_000]);
    expect(deadlineFromContext(lambdaContext('deadline-test', { timeoutMillis: 10_000 }), 1_000)).toEqual({ expiresAt: 10_000 });
    expect(deadlineFromContext(lambdaContext('deadline-test', { timeoutMillis: 50 }), 1_000)).toEqual({ expiresAt: 1_000 });
  });

  test('withInvocationDeadline sets it for everything the handler awaits, and nowhere else', async () => {
    const handler = withInvocationDeadline(async () => {
      const before = currentDeadline();
      await new Promise(resolve => setTimeout(resolve, 10));
      return [before, currentDeadline()];
    });
    const started = Date.now();

    const [before, after] = await handler(undefined, lambdaContext('deadline-test', { timeoutMillis: 2_000 }));

    expect(after).toBe(before);
    expect(before!.expiresAt).toBeGreaterThanOrEqual(started + 1_800);
    expect(before!.expiresAt).toBeLessThanOrEqual(Date.now() + 1_800);
    expect(currentDeadline()).toBeUndefined();
  });

  test('a step gets its configured timeout cut to the time left, and never 0, which drivers read as no timeout', () => {
    expect(timeoutWithin(3_000, undefined)).toBe(3_000);
    expect(timeoutWithin(3_000, { expiresAt: 1_500 }, 1_000)).toBe(500);
    expect(timeoutWithin(3_000, { expiresAt: 9_000 }, 1_000)).toBe(3_000);
    expect(timeoutWithin(3_000, { expiresAt: 900 }, 1_000)).toBe(1);
  });
});

describe('PostgreSQL', () => {
  test('a 5.5 s statement whose backend dies at 5.4 s of a 10 s invocation is not sent again: DatabaseUnavailableError well before the deadline', async () => {
    const { database, app } = runtime.open();
    await database.query('SELECT 1');
    const [victim] = await runtime.backendPids(app);
    const killer = new Promise(resolve => setTimeout(resolve, 5_400)).then(() => runtime.terminate(victim));

    const { error, millis } = await invoke(10_000, () => database.query('SELECT pg_sleep(5.5)'));
    await killer;

    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ message: CONNECTION_FAILED, code: '57P01', retryable: true });
    // The deadline is 9 s (10 s minus the 1 s margin); a retry would have needed another 5.5 s.
    expect(millis).toBeLessThan(6_000);
    expect(await runtime.backendPids(app)).toEqual([]);
  });

  test('without an invocation, one attempt\'s configured timeouts bound the call and its retry', async () => {
    // One attempt's time is 0.3 + 4 s. The backend dies at 2.4 s, 1.1 s before the statement would end, so a
    // retry would need more than the 1.9 s left: none is made.
    const { database, app } = runtime.open({ extra: { DATABASE_CONNECT_TIMEOUT_MS: '300', DATABASE_QUERY_TIMEOUT_MS: '4000' } });
    await database.query('SELECT 1');
    const [victim] = await runtime.backendPids(app);
    const started = Date.now();
    const killer = new Promise(resolve => setTimeout(resolve, 2_400)).then(() => runtime.terminate(victim));

    const error = await rejection(database.query('SELECT pg_sleep(3.5)'));
    await killer;

    expect(error).toMatchObject({ message: CONNECTION_FAILED, code: '57P01' });
    // A retry would have opened a new backend and slept another 3.5 s there (5.9 s in all).
    expect(await runtime.backendPids(app)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test('a statement whose backend dies is sent again when the retry fits before the deadline', async () => {
    const { database, app } = runtime.open();
    await database.query('SELECT 1');
    const [victim] = await runtime.backendPids(app);
    const killer = new Promise(resolve => setTimeout(resolve, 100)).then(() => runtime.terminate(victim));

    const answer = withDeadline(deadlineFromContext(lambdaContext('deadline-test', { timeoutMillis: 2_000 })), () => database.query('SELECT 1 AS one FROM pg_sleep(0.3)'));
    await killer;

    expect(await answer).toEqual([{ one: 1 }]);
    expect(await runtime.backendPids(app)).toHaveLength(1);
  });

  test('a statement is cut off at the deadline, below its configured timeout', async () => {
    const { database } = runtime.open();

    const { error, millis } = await invoke(1_000, () => database.query('SELECT pg_sleep(3)'));

    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toBe(NO_ANSWER_IN_TIME);
    expect(millis).toBeLessThan(1_000);
    expect(millis).toBeGreaterThanOrEqual(850);
  });

  test('a statement inside a transaction is cut off at the deadline, and the transaction is rolled back', async () => {
    const name = await runtime.createDatabase('deadline_tx', 'CREATE TABLE t (n int)');
    const { database } = runtime.open({ database: name });

    const { error, millis } = await invoke(1_000, () => database.transaction(async tx => {
      await tx.run('INSERT INTO t VALUES (1)');
      await tx.query('SELECT pg_sleep(3)');
    }));

    expect(error).toMatchObject({ message: NO_ANSWER_IN_TIME });
    expect(millis).toBeLessThan(1_000);
    expect(await database.query('SELECT n FROM t')).toEqual([]);
  });

  test('a call made when no time is left fails at once, without connecting', async () => {
    const { database, app } = runtime.open();

    // 50 ms left is less than the 100 ms margin: the deadline has passed.
    const { error, millis } = await invoke(50, () => database.query('SELECT 1'));

    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toBe(NO_TIME_LEFT);
    expect(millis).toBeLessThan(50);
    expect(await runtime.backendPids(app)).toEqual([]);
  });

  test('a password source that does not answer is given up at the deadline, and the next call asks it again', async () => {
    const password = jest.fn<Promise<string>, []>()
      .mockReturnValueOnce(new Promise(() => undefined))
      .mockResolvedValue(runtime.postgres.password);
    const { database } = runtime.open({ password });

    const { error, millis } = await invoke(1_000, () => database.query('SELECT 1'));

    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toBe(NO_PASSWORD_IN_TIME);
    expect(millis).toBeLessThan(1_000);
    expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(password).toHaveBeenCalledTimes(2);
  }, 10_000);

  test('a connect to a server that never answers is cut off at the deadline and not retried', async () => {
    await withSilentServer(async (port, connects) => {
      const database = postgresDatabase({ settings: localSettings('postgresql', { ...runtime.postgres, port }, 'postgres') });

      const { error, millis } = await invoke(1_000, () => database.query('SELECT 1'));

      expect(error).toMatchObject({ message: CONNECTION_FAILED });
      expect(millis).toBeLessThan(1_000);
      expect(connects()).toBe(1);
      await database.close();
    });
  }, 10_000);
});

describe('MySQL', () => {
  let mariadb: MariaDbServer;
  let database: Database;

  beforeAll(async () => {
    mariadb = await startMariaDb();
    database = mysqlDatabase({ settings: localSettings('mysql', mariadb, await mariadb.createDatabase('deadline')) });
  });

  afterAll(async () => {
    await database?.close();
    await mariadb?.stop();
  });

  test('a statement is cut off at the deadline, below its configured timeout', async () => {
    const { error, millis } = await invoke(1_000, () => database.query('SELECT SLEEP(3)'));

    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toBe(NO_ANSWER_IN_TIME);
    expect(millis).toBeLessThan(1_000);
    expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  test('a connect to a server that never answers is cut off at the deadline and not retried', async () => {
    await withSilentServer(async (port, connects) => {
      const silent = mysqlDatabase({ settings: localSettings('mysql', { ...mariadb, port }, 'deadline') });

      const { error, millis } = await invoke(1_000, () => silent.query('SELECT 1'));

      expect(error).toMatchObject({ message: CONNECTION_FAILED, code: 'ETIMEDOUT' });
      expect(millis).toBeLessThan(1_000);
      expect(connects()).toBe(1);
      await silent.close();
    });
  }, 10_000);
});

/** Runs `work` with a TCP server on 127.0.0.1 that accepts connections, counts them and never sends a byte. */
async function withSilentServer(work: (port: number, connects: () => number) => Promise<void>): Promise<void> {
  let connects = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer(socket => {
    connects++;
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  try {
    await work((server.address() as net.AddressInfo).port, () => connects);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise(resolve => server.close(resolve));
  }
}
