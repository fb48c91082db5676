/**
 * The runtime's PostgreSQL client against a real server (and a real PgBouncer
 * in transaction pooling, the local stand-in for RDS Proxy). Connections are
 * counted on the server (pg_stat_activity), never inside the client.
 */
import * as net from 'net';
import { Client } from 'pg';
import { Database, DatabaseUnavailableError } from '../lambda/runtime';
import { rejection } from './support/output';
import { PgBouncerServer, startPgBouncer } from './support/pgbouncer';
import { freePort } from './support/postgres';
import { usePostgresRuntime, waitFor } from './support/runtime-postgres';

const runtime = usePostgresRuntime();
const { open, backendPids, terminate } = runtime;

describe('queries', () => {
  let name: string;
  beforeAll(async () => {
    name = await runtime.createDatabase('queries', 'CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL UNIQUE)');
  });

  test('runs statements with $n parameters and returns the rows', async () => {
    const { database } = open({ database: name });
    const rows = await database.query<{ sum: number; text: string }>('SELECT $1::int + $2::int AS sum, $3::text AS text', [2, 3, "it's"]);
    expect(rows).toEqual([{ sum: 5, text: "it's" }]);
    expect(await database.run('INSERT INTO notes (body) VALUES ($1), ($2)', ['a', 'b'])).toEqual({ rowCount: 2 });
    expect(await database.query('SELECT body FROM notes ORDER BY id')).toEqual([{ body: 'a' }, { body: 'b' }]);
  });

  test('an SQL error is the driver error, not retried, and keeps the connection', async () => {
    const { database, app } = open({ database: name });
    await database.query('SELECT 1');
    const [pid] = await backendPids(app);

    const error = await rejection(database.run('INSERT INTO notes (body) VALUES ($1)', ['a']));

    expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(error.code).toBe('23505');
    expect(await backendPids(app)).toEqual([pid]);
  });

  test('commits a transaction, and rolls it back when the work throws', async () => {
    const { database } = open({ database: name });
    const result = await database.transaction(async tx => {
      await tx.run('INSERT INTO notes (body) VALUES ($1)', ['committed']);
      return (await tx.query<{ n: string }>('SELECT count(*) AS n FROM notes WHERE body = $1', ['committed']))[0].n;
    });
    expect(result).toBe('1');

    const failure = new Error('work failed');
    await expect(database.transaction(async tx => {
      await tx.run('INSERT INTO notes (body) VALUES ($1)', ['rolled back']);
      throw failure;
    })).rejects.toBe(failure);

    expect(await database.query('SELECT body FROM notes WHERE body IN ($1, $2)', ['committed', 'rolled back'])).toEqual([{ body: 'committed' }]);
  });

  test('statements on the Database wait for a running transaction, and are refused inside it', async () => {
    const { database } = open({ database: name });
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>(resolve => { release = resolve; });
    const transaction = database.transaction(async tx => {
      await tx.run('INSERT INTO notes (body) VALUES ($1)', ['inside']);
      await expect(database.query('SELECT 1')).rejects.toThrow(/run statements on the tx argument/);
      await held;
      order.push('transaction');
    });
    const outside = database.query('SELECT count(*) AS n FROM notes WHERE body = $1', ['inside']).then(rows => {
      order.push('query');
      return rows;
    });
    await new Promise(resolve => setTimeout(resolve, 100));
    expect(order).toEqual([]);
    release();
    await transaction;
    // The query ran after COMMIT, so it saw the row.
    expect(await outside).toEqual([{ n: '1' }]);
    expect(order).toEqual(['transaction', 'query']);
  });

  test('a tx used after its transaction ended is refused', async () => {
    const { database } = open({ database: name });
    let leaked!: Parameters<Parameters<Database['transaction']>[0]>[0];
    await database.transaction(async tx => { leaked = tx; });
    await expect(leaked.query('SELECT 1')).rejects.toThrow('the transaction has ended');
  });
});

describe('connections', () => {
  test('opens nothing until the first statement, then one connection that warm calls reuse', async () => {
    const { database, app } = open();
    expect(await backendPids(app)).toEqual([]);

    await database.query('SELECT 1');
    const pids = await backendPids(app);
    expect(pids).toHaveLength(1);

    for (let i = 0; i < 5; i++) {
      expect(await database.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).toEqual([{ pid: pids[0] }]);
    }
    await database.transaction(async tx => tx.query('SELECT 1'));
    expect(await backendPids(app)).toEqual(pids);
  });

  test('a cold start (a new Database) opens exactly one connection of its own', async () => {
    const warm = open();
    await warm.database.query('SELECT 1');
    const warmPids = await backendPids(warm.app);

    const cold = open();
    await Promise.all([cold.database.query('SELECT 1'), cold.database.query('SELECT 2'), cold.database.query('SELECT 3')]);

    expect(await backendPids(cold.app)).toHaveLength(1);
    expect(await backendPids(warm.app)).toEqual(warmPids);
  });

  test('a connection the server closed while idle is replaced without an error', async () => {
    const { database, app } = open();
    await database.query('SELECT 1');
    const [closed] = await backendPids(app);
    await terminate(closed);

    for (let i = 0; i < 3; i++) {
      expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    }
    const pids = await backendPids(app);
    expect(pids).toHaveLength(1);
    expect(pids[0]).not.toBe(closed);
  });

  test('a statement whose backend is terminated while it runs is sent again once on a new connection', async () => {
    const name = await runtime.createDatabase('killed', 'CREATE TABLE t (n int)', 'INSERT INTO t VALUES (1)');
    const admin = new Client(runtime.postgres.connectionConfig(name));
    await admin.connect();
    const { database, app } = open({ database: name });
    await database.query('SELECT 1');
    const [victim] = await backendPids(app);
    try {
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
      const pending = database.query<{ n: number }>('SELECT n FROM t');
      await waitFor(async () => (await runtime.checker.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", [victim])).rows.length === 1);
      await terminate(victim);
      await admin.query('ROLLBACK');

      expect(await pending).toEqual([{ n: 1 }]);
    } finally {
      await admin.end();
    }
    const pids = await backendPids(app);
    expect(pids).toHaveLength(1);
    expect(pids[0]).not.toBe(victim);
  });

  test('connections killed just before the next calls never fail a call or leave a second connection behind', async () => {
    // pg reports a terminated backend with up to two 'error' events; a connection opened between
    // them must survive the second one. Repeated, because the interleaving is a race.
    const { database, app } = open();
    for (let round = 0; round < 25; round++) {
      await database.query('SELECT 1');
      const [victim] = await backendPids(app);
      await runtime.checker.query('SELECT pg_terminate_backend($1)', [victim]);
      for (let i = 0; i < 5; i++) {
        expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      }
      await waitFor(async () => (await backendPids(app)).length === 1);
      expect(await backendPids(app)).not.toContain(victim);
    }
  });

  test('once a transaction has started, a dead connection fails it without running the work again', async () => {
    const name = await runtime.createDatabase('tx', 'CREATE TABLE t (n int)');
    const { database, app } = open({ database: name });
    let runs = 0;

    const error = await rejection(database.transaction(async tx => {
      runs++;
      await tx.run('INSERT INTO t VALUES (1)');
      await terminate((await backendPids(app))[0]);
      await tx.run('INSERT INTO t VALUES (2)');
    }));

    expect(runs).toBe(1);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.retryable).toBe(true);
    expect(await database.query('SELECT n FROM t')).toEqual([]);
    expect(await backendPids(app)).toHaveLength(1);
  });

  test('a server that accepts and drops every connection is tried exactly twice, then DatabaseUnavailableError', async () => {
    let connects = 0;
    const dropper = net.createServer(socket => {
      connects++;
      socket.destroy();
    });
    await new Promise<void>(resolve => dropper.listen(0, '127.0.0.1', resolve));
    const port = (dropper.address() as net.AddressInfo).port;
    try {
      const { database } = open({ target: { ...runtime.postgres, port } });
      const started = Date.now();

      const error = await rejection(database.query('SELECT 1'));

      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect(error).toMatchObject({ retryable: true, message: 'the database connection failed' });
      expect(connects).toBe(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    } finally {
      await new Promise(resolve => dropper.close(resolve));
    }
  });

  test('a refused connection surfaces as DatabaseUnavailableError with the socket error code', async () => {
    const { database } = open({ target: { ...runtime.postgres, port: await freePort() } });

    const error = await rejection(database.query('SELECT 1'));

    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.code).toBe('ECONNREFUSED');
  });

  test('a statement over the query timeout fails with DatabaseUnavailableError, unretried, and its connection is replaced', async () => {
    const { database, app } = open({ extra: { DATABASE_QUERY_TIMEOUT_MS: '300' } });
    await database.query('SELECT 1');
    const [slow] = await backendPids(app);
    const started = Date.now();

    const error = await rejection(database.query('SELECT pg_sleep(2)'));

    expect(Date.now() - started).toBeLessThan(1500);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toBe('the database did not answer in time; the statement may or may not have been applied');
    expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await waitFor(async () => !(await backendPids(app)).includes(slow));
    expect(await backendPids(app)).toHaveLength(1);
  });

  test('survives a PostgreSQL restart: the next statement reconnects', async () => {
    const { database, app } = open();
    await database.query('SELECT 1');
    const [before] = await backendPids(app);
    await runtime.restart();

    expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    const after = await backendPids(app);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
  });
});

describe('passwords', () => {
  test('a refused password is renewed exactly once, and the reconnect succeeds', async () => {
    const password = jest.fn<Promise<string>, []>()
      .mockResolvedValueOnce('an expired token')
      .mockResolvedValue(runtime.postgres.password);
    const { database, app } = open({ password });

    expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);

    expect(password).toHaveBeenCalledTimes(2);
    expect(await backendPids(app)).toHaveLength(1);
  });

  test('a password refused twice surfaces the authentication error (28P01) after one renewal', async () => {
    const password = jest.fn<Promise<string>, []>().mockResolvedValue('always wrong');
    const { database } = open({ password });

    const error = await rejection(database.query('SELECT 1'));

    expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(error.code).toBe('28P01');
    expect(password).toHaveBeenCalledTimes(2);
  });

  test('reconnects reuse the cached password', async () => {
    const password = jest.fn<Promise<string>, []>().mockResolvedValue(runtime.postgres.password);
    const { database, app } = open({ password });
    await database.query('SELECT 1');
    await terminate((await backendPids(app))[0]);

    expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(password).toHaveBeenCalledTimes(1);
  });
});

describe('through PgBouncer in transaction pooling', () => {
  let bouncer: PgBouncerServer;
  let name: string;

  beforeAll(async () => {
    bouncer = await startPgBouncer({ target: runtime.postgres, poolMode: 'transaction', defaultPoolSize: 3 });
    name = await runtime.createDatabase('pooled',
      'CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)',
      'INSERT INTO counters VALUES (1, 0)',
      'CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, worker int NOT NULL)');
  });

  afterAll(async () => {
    await bouncer?.stop();
  });

  test('runs statements with parameters, many times, on pooled server connections', async () => {
    const { database } = open({ database: name, target: bouncer });
    for (let i = 0; i < 20; i++) {
      expect(await database.query('SELECT $1::int * 2 AS doubled, $2::text AS label', [i, `n${i}`])).toEqual([{ doubled: i * 2, label: `n${i}` }]);
    }
  });

  test('transactions from concurrent Databases commit and roll back correctly over 3 server connections', async () => {
    const workers = Array.from({ length: 10 }, (_, worker) => ({ worker, ...open({ database: name, target: bouncer }) }));
    await Promise.all(workers.map(async ({ worker, database }) => {
      for (let i = 0; i < 5; i++) {
        await database.transaction(async tx => {
          await tx.run('INSERT INTO events (worker) VALUES ($1)', [worker]);
          await tx.run('UPDATE counters SET n = n + 1 WHERE id = 1');
        });
        await expect(database.transaction(async tx => {
          await tx.run('INSERT INTO events (worker) VALUES ($1)', [worker]);
          throw new Error('abandon');
        })).rejects.toThrow('abandon');
      }
    }));

    const counters = await workers[0].database.query('SELECT n FROM counters WHERE id = 1');
    expect(counters).toEqual([{ n: 50 }]);
    const perWorker = await workers[0].database.query<{ worker: number; count: string }>(
      'SELECT worker, count(*) AS count FROM events GROUP BY worker ORDER BY worker');
    expect(perWorker).toEqual(workers.map(({ worker }) => ({ worker, count: '5' })));
    const { rows } = await runtime.checker.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'", [name]);
    expect(Number(rows[0].n)).toBeLessThanOrEqual(3);
  });

  test('survives a PgBouncer restart: the next statement reconnects', async () => {
    const { database } = open({ database: name, target: bouncer });
    expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await bouncer.restart();
    expect(await database.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
  });
});
