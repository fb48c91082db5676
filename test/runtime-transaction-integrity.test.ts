/**
 * What transaction() promises against a real PostgreSQL and MariaDB: it
 * reports success only for a transaction the server committed, it sends no
 * statement after the server rolled the transaction back, and a statement
 * retried outside it never runs inside it.
 */
import { Connection, createConnection } from 'mysql2/promise';
import { Database, DatabaseUnavailableError, LOG_MESSAGES, TransactionRolledBackError } from '../lambda/runtime';
import { mysqlDatabase } from '../lambda/runtime/mysql';
import { MariaDbServer, startMariaDb } from './support/mariadb';
import { rejection } from './support/output';
import { usePostgresRuntime, waitFor } from './support/runtime-postgres';
import { localSettings } from './support/settings';

const runtime = usePostgresRuntime();

const ROLLED_BACK_MESSAGE = 'the database rolled the transaction back: a statement inside it failed (the cause) and work went on, but PostgreSQL'
  + ' aborts a transaction at any failed statement (unless work rolls back to a SAVEPOINT) and MySQL at a deadlock; let work throw that error';

describe('a transaction the server rolled back at COMMIT', () => {
  let name: string;
  beforeAll(async () => {
    name = await runtime.createDatabase('outcome', 'CREATE TABLE items (id text PRIMARY KEY)');
  });

  test('throws TransactionRolledBackError with the failed statement as cause when work caught that error, and applies nothing', async () => {
    const { database, app } = runtime.open({ database: name });
    let caught: any;

    const error = await rejection(database.transaction(async tx => {
      await tx.run('INSERT INTO items (id) VALUES ($1)', ['a']);
      caught = await rejection(tx.run('INSERT INTO items (id) VALUES ($1)', ['a']));
      return 'work believes it committed';
    }));

    expect(caught.code).toBe('23505');
    expect(error).toBeInstanceOf(TransactionRolledBackError);
    expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ name: 'TransactionRolledBackError', retryable: false, message: ROLLED_BACK_MESSAGE });
    expect(error.cause).toBe(caught);
    expect(await database.query('SELECT id FROM items WHERE id = $1', ['a'])).toEqual([]);
    // The connection is healthy: the rollback ended the transaction, so it is kept.
    const pids = await runtime.backendPids(app);
    expect(pids).toHaveLength(1);
    expect(await database.query('SELECT pg_backend_pid() AS pid')).toEqual([{ pid: pids[0] }]);
  });

  test('commits when work rolled the failed statement back to a savepoint', async () => {
    const { database } = runtime.open({ database: name });

    await database.transaction(async tx => {
      await tx.run('INSERT INTO items (id) VALUES ($1)', ['b']);
      await tx.run('SAVEPOINT duplicate');
      const duplicate = await rejection(tx.run('INSERT INTO items (id) VALUES ($1)', ['b']));
      expect(duplicate.code).toBe('23505');
      await tx.run('ROLLBACK TO SAVEPOINT duplicate');
      await tx.run('INSERT INTO items (id) VALUES ($1)', ['c']);
    });

    expect(await database.query('SELECT id FROM items WHERE id IN ($1, $2) ORDER BY id', ['b', 'c'])).toEqual([{ id: 'b' }, { id: 'c' }]);
  });
});

describe('a statement retried after its connection died', () => {
  test('waits for a transaction that began before the retry, instead of running inside it and sharing its rollback', async () => {
    const name = await runtime.createDatabase('isolation', 'CREATE TABLE marks (id text PRIMARY KEY)');
    let transaction: Promise<unknown> | undefined;
    const { database, app } = runtime.open({
      database: name,
      logger: {
        // The retry's warning comes after the failure and before the retry: a transaction started here
        // begins on the connection that the retry will use.
        warn: message => {
          if (message !== LOG_MESSAGES.connectionRetry || transaction) return;
          transaction = rejection(database.transaction(async tx => {
            await tx.run('INSERT INTO marks (id) VALUES ($1)', ['in the transaction']);
            await new Promise(resolve => setTimeout(resolve, 400));
            throw new Error('the transaction gives up');
          }));
        },
      },
    });
    await database.query('SELECT 1');
    const [victim] = await runtime.backendPids(app);

    const write = database.run("INSERT INTO marks (id) SELECT 'written' FROM pg_sleep(0.5)");
    await waitFor(async () => (await runtime.checker.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'", [victim])).rows.length === 1);
    await runtime.terminate(victim);

    expect(await write).toEqual({ rowCount: 1 });
    expect(transaction).toBeDefined();
    expect((await transaction as Error).message).toBe('the transaction gives up');
    expect(await database.query('SELECT id FROM marks ORDER BY id')).toEqual([{ id: 'written' }]);
  });
});

describe('MySQL: a transaction chosen as a deadlock victim', () => {
  let mariadb: MariaDbServer;
  let other: Connection;
  let database: Database;
  let name: string;

  beforeAll(async () => {
    mariadb = await startMariaDb();
    name = await mariadb.createDatabase('deadlock');
    other = await createConnection(mariadb.connectionOptions(name));
    await other.query('CREATE TABLE accounts (id int PRIMARY KEY, n int NOT NULL) ENGINE = InnoDB');
    await other.query('CREATE TABLE entries (id int PRIMARY KEY) ENGINE = InnoDB');
    await other.query('INSERT INTO accounts VALUES (1, 0), (2, 0)');
    database = mysqlDatabase({ settings: localSettings('mysql', mariadb, name) });
  });

  afterAll(async () => {
    await database?.close();
    await other?.end().catch(() => undefined);
    await mariadb?.stop();
  });

  test('sends no statement after the rollback (MySQL would commit it on its own) and throws TransactionRolledBackError', async () => {
    // The other transaction changes more rows, so InnoDB rolls back the runtime's one.
    await other.query('START TRANSACTION');
    await other.query('UPDATE accounts SET n = n + 1 WHERE id = 2');
    await other.query('INSERT INTO entries VALUES (100), (101), (102)');
    let deadlock: any;
    let refused: any;

    const error = await rejection(database.transaction(async tx => {
      await tx.run('UPDATE accounts SET n = n + 1 WHERE id = 1');
      const blocked = rejection(tx.run('UPDATE accounts SET n = n + 1 WHERE id = 2'));
      await new Promise(resolve => setTimeout(resolve, 200));
      await other.query('UPDATE accounts SET n = n + 1 WHERE id = 1');
      deadlock = await blocked;
      refused = await rejection(tx.run('INSERT INTO entries VALUES (1)'));
    }));
    await other.query('COMMIT');

    expect(deadlock.code).toBe('ER_LOCK_DEADLOCK');
    expect(refused).toBeInstanceOf(TransactionRolledBackError);
    expect(refused.cause).toBe(deadlock);
    expect(error).toBeInstanceOf(TransactionRolledBackError);
    expect(error).toMatchObject({ message: ROLLED_BACK_MESSAGE, retryable: false });
    expect(error.cause).toBe(deadlock);
    expect(await database.query('SELECT id FROM entries ORDER BY id')).toEqual([{ id: 100 }, { id: 101 }, { id: 102 }]);
    expect(await database.query('SELECT id, n FROM accounts ORDER BY id')).toEqual([{ id: 1, n: 1 }, { id: 2, n: 1 }]);
  });
});
