/**
 * Which server errors mean a dead connection (dropped, retried once, then
 * DatabaseUnavailableError) and which are the caller's own mistake (the
 * driver's error, connection kept, never retried), as a real PostgreSQL and
 * a real MariaDB send them through pg and mysql2.
 */
import { Connection, createConnection } from 'mysql2/promise';
import { Database, DatabaseUnavailableError, LOG_MESSAGES } from '../lambda/runtime';
import { classifyMysqlError, mysqlDatabase } from '../lambda/runtime/mysql';
import { classifyPostgresError } from '../lambda/runtime/postgres';
import { MariaDbServer, startMariaDb } from './support/mariadb';
import { rejection } from './support/output';
import { usePostgresRuntime } from './support/runtime-postgres';
import { localSettings } from './support/settings';

describe('PostgreSQL', () => {
  const runtime = usePostgresRuntime();

  test('a statement with fewer values than placeholders (08P01 as an ordinary ERROR) is the driver error, unretried, and keeps the connection', async () => {
    const warn = jest.fn();
    const { database, app } = runtime.open({ logger: { warn } });
    await database.query('SELECT 1');
    const pids = await runtime.backendPids(app);

    const error = await rejection(database.query('SELECT $1::int + $2::int AS sum', [1]));

    expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: '08P01', severity: 'ERROR' });
    expect(warn).not.toHaveBeenCalled();
    expect(await database.query('SELECT $1::int + $2::int AS sum', [1, 2])).toEqual([{ sum: 3 }]);
    expect(await runtime.backendPids(app)).toEqual(pids);
  });

  test.each([
    ['08P01', 'ERROR', 'other'],
    ['08006', 'ERROR', 'other'],
    ['08P01', 'FATAL', 'connection'],
    ['08006', 'FATAL', 'connection'],
    ['57P01', 'FATAL', 'connection'],
    ['57P03', 'FATAL', 'connection'],
    ['53300', 'FATAL', 'connection'],
    ['3D000', 'FATAL', 'other'],
    ['28P01', 'FATAL', 'authentication'],
  ])('classifyPostgresError: SQLSTATE %s with severity %s is %s', (code, severity, kind) => {
    expect(classifyPostgresError(Object.assign(new Error('server message'), { code, severity }))).toBe(kind);
  });
});

describe('MySQL (MariaDB)', () => {
  let mariadb: MariaDbServer;
  let checker: Connection;
  let name: string;
  const opened: Database[] = [];

  beforeAll(async () => {
    mariadb = await startMariaDb();
    checker = await createConnection(mariadb.connectionOptions());
    name = await mariadb.createDatabase('classify');
    // MariaDB's ER_CONNECTION_KILLED, which it can send to a statement whose connection it kills (10.11
    // closes the socket without it): raised with SIGNAL, so that mysql2 parses the packet the server sends.
    await checker.query(`CREATE PROCEDURE \`${name}\`.connection_killed() SIGNAL SQLSTATE '70100' SET MYSQL_ERRNO = 1927, MESSAGE_TEXT = 'Connection was killed'`);
  });

  afterAll(async () => {
    await Promise.all(opened.map(database => database.close()));
    await checker?.end().catch(() => undefined);
    await mariadb?.stop();
  });

  function open(warn = jest.fn()): Database {
    const database = mysqlDatabase({ settings: localSettings('mysql', mariadb, name), logger: { warn } });
    opened.push(database);
    return database;
  }

  async function connectionId(database: Database): Promise<number> {
    const [{ id }] = await database.query<{ id: string }>('SELECT CONNECTION_ID() AS id');
    return Number(id);
  }

  test('a statement stopped by KILL QUERY (ER_QUERY_INTERRUPTED) is the driver error, unretried, and keeps the connection', async () => {
    const warn = jest.fn();
    const database = open(warn);
    const id = await connectionId(database);

    const pending = rejection(database.query('SELECT SLEEP(5)'));
    await new Promise(resolve => setTimeout(resolve, 200));
    await checker.query(`KILL QUERY ${id}`);
    const error = await pending;

    expect([error.code, error.message]).toEqual(['ER_QUERY_INTERRUPTED', 'Query execution was interrupted']);
    expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(warn).not.toHaveBeenCalled();
    expect(await connectionId(database)).toBe(id);
  });

  test('a statement with fewer values than placeholders is the driver error, unretried, and keeps the connection', async () => {
    const database = open();
    const id = await connectionId(database);

    const error = await rejection(database.query('SELECT ? + ? AS sum', [1]));

    expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(error.code).toBe('ER_PARSE_ERROR');
    expect(await connectionId(database)).toBe(id);
  });

  test('MariaDB\'s "Connection was killed" (errno 1927, which mysql2 has no code name for) is a dead connection: retried once, then DatabaseUnavailableError', async () => {
    const warn = jest.fn();
    const database = open(warn);
    const first = await connectionId(database);

    const error = await rejection(database.query('CALL connection_killed()'));

    expect(error.cause).toMatchObject({ errno: 1927, code: undefined, sqlState: '70100' });
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: '1927', message: 'the database connection failed' });
    expect(warn).toHaveBeenCalledWith(LOG_MESSAGES.connectionRetry, { errorName: 'Error', errorCode: '1927' });
    expect(await connectionId(database)).not.toBe(first);
  });

  test.each([
    ['ER_SERVER_SHUTDOWN', 1053, 'connection'],
    ['ER_CON_COUNT_ERROR', 1040, 'connection'],
    ['ER_CLIENT_INTERACTION_TIMEOUT', 4031, 'connection'],
    [undefined, 1927, 'connection'],
    ['ER_QUERY_INTERRUPTED', 1317, 'other'],
    ['ER_PARSE_ERROR', 1064, 'other'],
  ])('classifyMysqlError: %s (errno %d) from a server error packet is %s', (code, errno, kind) => {
    expect(classifyMysqlError(Object.assign(new Error('server message'), { code, errno, fatal: undefined }))).toBe(kind);
  });
});
