/**
 * The runtime's MySQL client (mysql2) against a real MariaDB server.
 * Connections are counted on the server (information_schema.PROCESSLIST).
 */
import { Connection, createConnection } from 'mysql2/promise';
import { Database, DatabaseUnavailableError, settingsFromEnvironment } from '../lambda/runtime';
import { mysqlDatabase } from '../lambda/runtime/mysql';
import { MariaDbServer, startMariaDb } from './support/mariadb';
import { rejection } from './support/output';
import { localSettings } from './support/settings';

let mariadb: MariaDbServer;
let checker: Connection;
const opened: Database[] = [];

beforeAll(async () => {
  mariadb = await startMariaDb();
  checker = await createConnection(mariadb.connectionOptions());
});

afterAll(async () => {
  await Promise.all(opened.map(database => database.close()));
  await checker?.end().catch(() => undefined);
  await mariadb?.stop();
});

/** A Database on a fresh database with one table, set up the way a developer would for a local server. */
async function freshDatabase(password?: () => Promise<string>): Promise<{ database: Database; name: string }> {
  const name = await mariadb.createDatabase('runtime');
  await checker.query(`CREATE TABLE \`${name}\`.notes (id bigint AUTO_INCREMENT PRIMARY KEY, body varchar(100) NOT NULL UNIQUE)`);
  const database = mysqlDatabase({
    settings: localSettings('mysql', mariadb, name),
    password,
  });
  opened.push(database);
  return { database, name };
}

/** Server thread ids of the connections using database `name`. */
async function connectionIds(name: string): Promise<number[]> {
  const [rows] = await checker.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID() ORDER BY ID', [name]);
  return (rows as Array<{ id: number }>).map(row => Number(row.id));
}


test('runs statements with ? parameters; run reports affected rows and the AUTO_INCREMENT id', async () => {
  const { database } = await freshDatabase();

  expect(await database.query('SELECT ? + ? AS sum, ? AS text', [2, 3, "it's"])).toEqual([{ sum: 5, text: "it's" }]);
  const first = await database.run('INSERT INTO notes (body) VALUES (?)', ['a']);
  expect(first).toEqual({ rowCount: 1, insertId: expect.stringMatching(/^[1-9][0-9]*$/) });
  expect(await database.query('SELECT id, body FROM notes')).toEqual([{ id: first.insertId, body: 'a' }]);
  expect(await database.run('UPDATE notes SET body = ? WHERE body = ?', ['b', 'missing'])).toEqual({ rowCount: 0 });
});

test('commits a transaction, and rolls it back when the work throws', async () => {
  const { database } = await freshDatabase();

  await database.transaction(async tx => {
    await tx.run('INSERT INTO notes (body) VALUES (?)', ['committed']);
  });
  const failure = new Error('work failed');
  await expect(database.transaction(async tx => {
    await tx.run('INSERT INTO notes (body) VALUES (?)', ['rolled back']);
    expect(await tx.query('SELECT body FROM notes WHERE body = ?', ['rolled back'])).toEqual([{ body: 'rolled back' }]);
    throw failure;
  })).rejects.toBe(failure);

  expect(await database.query('SELECT body FROM notes ORDER BY id')).toEqual([{ body: 'committed' }]);
});

test('an SQL error is the driver error, not retried, and keeps the connection', async () => {
  const { database, name } = await freshDatabase();
  await database.run('INSERT INTO notes (body) VALUES (?)', ['a']);
  const ids = await connectionIds(name);

  const error = await rejection(database.run('INSERT INTO notes (body) VALUES (?)', ['a']));

  expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
  expect(error.code).toBe('ER_DUP_ENTRY');
  expect(await connectionIds(name)).toEqual(ids);
});

test('warm calls reuse one connection; a connection killed with KILL is replaced on the next call without an error', async () => {
  const { database, name } = await freshDatabase();
  expect(await connectionIds(name)).toEqual([]);
  for (let i = 0; i < 3; i++) await database.query('SELECT 1');
  const [killed] = await connectionIds(name);
  expect(await connectionIds(name)).toEqual([killed]);

  await checker.query(`KILL ${killed}`);

  expect(await database.query('SELECT CONNECTION_ID() AS id')).toEqual([{ id: expect.anything() }]);
  const ids = await connectionIds(name);
  expect(ids).toHaveLength(1);
  expect(ids[0]).not.toBe(killed);
});

test('a statement whose connection is killed while it runs is sent again once on a new connection', async () => {
  const { database, name } = await freshDatabase();
  await database.query('SELECT 1');
  const [victim] = await connectionIds(name);

  const pending = database.query<{ done: number }>('SELECT SLEEP(2) AS slept, 1 AS done');
  await new Promise(resolve => setTimeout(resolve, 200));
  await checker.query(`KILL ${victim}`);

  // The retry runs the whole statement again (another 2 s sleep) on a new connection.
  expect(await pending).toEqual([{ slept: 0, done: 1 }]);
  expect(await connectionIds(name)).not.toContain(victim);
});

test('a refused password is renewed exactly once, and the reconnect succeeds', async () => {
  const password = jest.fn<Promise<string>, []>()
    .mockResolvedValueOnce('an expired token')
    .mockResolvedValue(mariadb.password);
  const { database, name } = await freshDatabase(password);

  expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  expect(password).toHaveBeenCalledTimes(2);
  expect(await connectionIds(name)).toHaveLength(1);
});

test('a password refused twice surfaces ER_ACCESS_DENIED_ERROR after one renewal', async () => {
  const password = jest.fn<Promise<string>, []>().mockResolvedValue('always wrong');
  const { database } = await freshDatabase(password);

  const error = await rejection(database.query('SELECT 1'));

  expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
  expect(error.code).toBe('ER_ACCESS_DENIED_ERROR');
  expect(password).toHaveBeenCalledTimes(2);
});

test('survives a MariaDB restart: the next statement reconnects', async () => {
  const { database, name } = await freshDatabase();
  await database.run('INSERT INTO notes (body) VALUES (?)', ['before']);
  await checker.end();
  await mariadb.restart();
  checker = await createConnection(mariadb.connectionOptions());

  expect(await database.query('SELECT body FROM notes')).toEqual([{ body: 'before' }]);
  expect(await connectionIds(name)).toHaveLength(1);
});

test('refuses settings for another engine', () => {
  const settings = settingsFromEnvironment({
    DATABASE_HOST: 'localhost', DATABASE_PORT: '5432', DATABASE_NAME: 'app', DATABASE_USER: 'app',
    DATABASE_ENGINE: 'postgresql', AWS_REGION: 'eu-west-1',
  });
  expect(() => mysqlDatabase({ settings })).toThrow(
    "DATABASE_ENGINE is 'postgresql' but the handler uses mysqlDatabase: use postgresDatabase from cdk-serverless-rds/runtime/postgres, or connect the function to a mysql database");
});
