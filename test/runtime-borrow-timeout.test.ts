/**
 * Proxy borrow timeouts: the proxy found no free database connection in
 * time. PostgreSQL: a real PgBouncer (one server connection, query_wait_timeout
 * 1 s, the local stand-in for RDS Proxy's ConnectionBorrowTimeout) in front
 * of a real server. MySQL: a real MariaDB raising RDS Proxy's error 9501 with
 * SIGNAL, so mysql2 parses the same error packet the proxy sends.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import * as net from 'net';
import { Connection, createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { Database, DatabaseUnavailableError } from '../lambda/runtime';
import { LOG_MESSAGES } from '../lambda/runtime/database';
import { classifyMysqlError, mysqlDatabase } from '../lambda/runtime/mysql';
import { classifyPostgresError, postgresDatabase } from '../lambda/runtime/postgres';
import { MariaDbServer, startMariaDb } from './support/mariadb';
import { captureOutput, rejection } from './support/output';
import { localSettings } from './support/settings';
import { PgBouncerServer, startPgBouncer } from './support/pgbouncer';
import { PostgresServer, startPostgres } from './support/postgres';

const QUERY_WAIT_TIMEOUT_SECONDS = 1;
/** PgBouncer checks waiting clients a few times a second, so it fails them a little after the timeout; a second wait would take twice as long. */
const ONE_WAIT_MAX_MILLIS = 2 * QUERY_WAIT_TIMEOUT_SECONDS * 1000;
const BORROW_TIMEOUT_MESSAGE = 'the database proxy had no free connection within its borrow timeout; retry later or raise the proxy pool';
const RDS_PROXY_MESSAGE = 'Timed-out waiting to acquire database connection';

const { written, logLines } = captureOutput();
const logger = new Logger({ serviceName: 'borrow-timeout-test' });
const opened: Database[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map(database => database.close()));
});

/** The one warning a borrow timeout logs: the fixed message, the error class and code, nothing of the driver's message. */
function expectOneBorrowTimeoutWarning(errorName: string, errorCode: string, driverMessage: string, password: string): void {
  expect(logLines()).toEqual([expect.objectContaining({ level: 'WARN', message: LOG_MESSAGES.proxyBorrowTimeout, errorName, errorCode })]);
  const output = written().join('');
  expect(output).not.toContain(driverMessage);
  expect(output).not.toContain(password);
}

async function elapsedMillis(operation: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await operation();
  return Date.now() - started;
}

describe('PostgreSQL through PgBouncer with one server connection', () => {
  let postgres: PostgresServer;
  let bouncer: PgBouncerServer;
  let admin: Client;
  let name: string;
  const relays: Relay[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
    bouncer = await startPgBouncer({ target: postgres, defaultPoolSize: 1, queryWaitTimeoutSeconds: QUERY_WAIT_TIMEOUT_SECONDS });
    admin = new Client(bouncer.connectionConfig('pgbouncer'));
    admin.on('error', () => undefined);
    await admin.connect();
    name = await postgres.createDatabase('borrow');
  });

  afterAll(async () => {
    await Promise.all(relays.map(relay => relay.close()));
    await admin?.end().catch(() => undefined);
    await bouncer?.stop();
    await postgres?.stop();
  });

  /** A Database that reaches PgBouncer through a relay counting its connections. */
  async function openThroughRelay(database = name): Promise<{ database: Database; connections(): number }> {
    const relay = await countingRelay(bouncer.port);
    relays.push(relay);
    const pooled = postgresDatabase({
      settings: localSettings('postgresql', { ...bouncer, port: relay.port }, database),
      logger,
    });
    opened.push(pooled);
    return { database: pooled, connections: relay.connections };
  }

  /** Takes the pool's only server connection (an open transaction) until the returned release is called. */
  async function holdServerConnection(): Promise<() => Promise<void>> {
    const holder = new Client(bouncer.connectionConfig(name));
    holder.on('error', () => undefined);
    await holder.connect();
    await holder.query('BEGIN');
    return async () => {
      await holder.query('COMMIT');
      await holder.end();
    };
  }

  test('a statement that waits past query_wait_timeout fails once with DatabaseUnavailableError, unretried, and the next call reconnects', async () => {
    const { database, connections } = await openThroughRelay();
    await database.query('SELECT 1');
    const release = await holdServerConnection();
    let error: any;
    try {
      const millis = await elapsedMillis(async () => { error = await rejection(database.query('SELECT 2')); });

      expect(millis).toBeGreaterThanOrEqual(QUERY_WAIT_TIMEOUT_SECONDS * 1000);
      expect(millis).toBeLessThan(ONE_WAIT_MAX_MILLIS);
    } finally {
      await release();
    }
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ retryable: true, code: '08P01', message: BORROW_TIMEOUT_MESSAGE });
    expect(error.cause).toMatchObject({ severity: 'FATAL', code: '08P01', message: 'query_wait_timeout' });
    expect(connections()).toBe(1);
    expectOneBorrowTimeoutWarning('DatabaseError', '08P01', 'query_wait_timeout', bouncer.password);

    expect(await database.query('SELECT 3 AS three')).toEqual([{ three: 3 }]);
    expect(connections()).toBe(2);
  });

  test('a transaction whose BEGIN waits past query_wait_timeout fails without running its work or retrying', async () => {
    const { database, connections } = await openThroughRelay();
    await database.query('SELECT 1');
    const release = await holdServerConnection();
    let runs = 0;
    let error: any;
    try {
      const millis = await elapsedMillis(async () => {
        error = await rejection(database.transaction(async tx => {
          runs++;
          return tx.query('SELECT 1');
        }));
      });

      expect(millis).toBeLessThan(ONE_WAIT_MAX_MILLIS);
    } finally {
      await release();
    }
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toBe(BORROW_TIMEOUT_MESSAGE);
    expect(runs).toBe(0);
    expect(connections()).toBe(1);
    expectOneBorrowTimeoutWarning('DatabaseError', '08P01', 'query_wait_timeout', bouncer.password);

    expect(await database.transaction(async tx => tx.query('SELECT 4 AS four'))).toEqual([{ four: 4 }]);
    expect(connections()).toBe(2);
  });

  test('a connect that PgBouncer answers with query_wait_timeout fails once, unretried, and the next call connects', async () => {
    // A pool that never had a server connection needs one to finish a login; with the user's only server
    // connection held by another pool, PgBouncer makes the login wait and fails it at query_wait_timeout.
    const fresh = await postgres.createDatabase('borrow_login');
    const { database, connections } = await openThroughRelay(fresh);
    await admin.query('SET max_user_connections = 1');
    let error: any;
    try {
      const release = await holdServerConnection();
      try {
        const millis = await elapsedMillis(async () => { error = await rejection(database.query('SELECT 1')); });

        expect(millis).toBeGreaterThanOrEqual(QUERY_WAIT_TIMEOUT_SECONDS * 1000);
        expect(millis).toBeLessThan(ONE_WAIT_MAX_MILLIS);
      } finally {
        await release();
      }
    } finally {
      await admin.query('SET max_user_connections = 0');
    }
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: '08P01', message: BORROW_TIMEOUT_MESSAGE });
    expect(connections()).toBe(1);
    expectOneBorrowTimeoutWarning('DatabaseError', '08P01', 'query_wait_timeout', bouncer.password);

    expect(await database.query('SELECT 5 AS five')).toEqual([{ five: 5 }]);
    expect(connections()).toBe(2);
  });
});

describe('classifyPostgresError', () => {
  test.each([
    ['PgBouncer query_wait_timeout (08P01)', 'query_wait_timeout', '08P01'],
    ['RDS Proxy, with any SQLSTATE', RDS_PROXY_MESSAGE, '08006'],
    ['RDS Proxy, with an SQLSTATE outside class 08', RDS_PROXY_MESSAGE, 'XX000'],
    ['RDS Proxy, without an SQLSTATE', RDS_PROXY_MESSAGE, undefined],
  ])('recognises a borrow timeout from %s', (_source, message, code) => {
    expect(classifyPostgresError(Object.assign(new Error(message), { code }))).toBe('borrow-timeout');
  });

  test('other PgBouncer errors under 08P01 (FATAL) stay connection failures', () => {
    expect(classifyPostgresError(Object.assign(new Error('server conn crashed?'), { code: '08P01', severity: 'FATAL' }))).toBe('connection');
    expect(classifyPostgresError(Object.assign(new Error('query_wait_timeout exceeded by a custom message'), { code: 'P0001' }))).toBe('other');
  });
});

describe('MySQL: RDS Proxy error 9501', () => {
  let mariadb: MariaDbServer;
  let checker: Connection;
  let name: string;

  beforeAll(async () => {
    mariadb = await startMariaDb();
    checker = await createConnection(mariadb.connectionOptions());
    name = await mariadb.createDatabase('borrow');
    // MyISAM does not roll back, so a call is counted even though its statement fails.
    await checker.query(`CREATE TABLE \`${name}\`.calls (id int AUTO_INCREMENT PRIMARY KEY) ENGINE = MyISAM`);
    await checker.query(`CREATE PROCEDURE \`${name}\`.borrow_timeout() BEGIN
      INSERT INTO calls () VALUES ();
      SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 9501, MESSAGE_TEXT = '${RDS_PROXY_MESSAGE}';
    END`);
  });

  afterAll(async () => {
    await checker?.end().catch(() => undefined);
    await mariadb?.stop();
  });

  async function connectionIds(): Promise<number[]> {
    const [rows] = await checker.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [name]);
    return (rows as Array<{ id: number }>).map(row => Number(row.id));
  }

  test('fails once with DatabaseUnavailableError, unretried, and the next call uses a new connection', async () => {
    const database = mysqlDatabase({
      settings: localSettings('mysql', mariadb, name),
      logger,
    });
    opened.push(database);
    await database.query('SELECT 1');
    const [first] = await connectionIds();

    const error = await rejection(database.query('CALL borrow_timeout()'));

    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ retryable: true, code: '9501', message: BORROW_TIMEOUT_MESSAGE });
    expect(error.cause).toMatchObject({ errno: 9501, code: undefined, sqlState: 'HY000', sqlMessage: RDS_PROXY_MESSAGE });
    expect(await database.query('SELECT count(*) AS calls FROM calls')).toEqual([{ calls: '1' }]);
    expectOneBorrowTimeoutWarning('Error', '9501', RDS_PROXY_MESSAGE, mariadb.password);
    const [{ id: second }] = await database.query<{ id: string }>('SELECT CONNECTION_ID() AS id');
    expect(Number(second)).not.toBe(first);
  });

  test('classifyMysqlError recognises 9501 as mysql2 builds it from the error packet, whether or not it is fatal', () => {
    // What mysql2's Packet.asError makes of `ERR 9501 (HY000)`: no name for the errno, so no code.
    const error = Object.assign(new Error(RDS_PROXY_MESSAGE), { code: undefined, errno: 9501, sqlState: 'HY000', sqlMessage: RDS_PROXY_MESSAGE });
    expect(classifyMysqlError(error)).toBe('borrow-timeout');
    expect(classifyMysqlError(Object.assign(error, { fatal: true }))).toBe('borrow-timeout');
  });
});

interface Relay {
  readonly port: number;
  connections(): number;
  close(): Promise<void>;
}

/** A TCP relay on 127.0.0.1 to `targetPort` that counts the connections made through it. */
async function countingRelay(targetPort: number): Promise<Relay> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer(client => {
    connections++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    // pipe() passes each side's end on to the other; an error on either side drops both.
    for (const [socket, peer] of [[client, upstream], [upstream, client]]) {
      sockets.add(socket);
      socket.pipe(peer);
      socket.on('error', () => peer.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise(resolve => server.close(resolve));
    },
  };
}
