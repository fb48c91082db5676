/**
 * The local database servers that runtime tests use: PgBouncer (standing in
 * for RDS Proxy) in front of PostgreSQL, and MariaDB (standing in for MySQL),
 * including restarts that break existing connections.
 */
import { Connection, ConnectionOptions, createConnection, RowDataPacket } from 'mysql2/promise';
import { Client, ClientConfig } from 'pg';
import { MariaDbServer, startMariaDb } from './support/mariadb';
import { PgBouncerServer, startPgBouncer } from './support/pgbouncer';
import { PostgresServer, startPostgres } from './support/postgres';

/** Connects a pg client, ignoring the error event of a connection that breaks while idle (queries still reject). */
async function connectPg(config: ClientConfig): Promise<Client> {
  const client = new Client(config);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Connects with mysql2, ignoring the error event of a connection that breaks while idle. */
async function connectMariaDb(options: ConnectionOptions): Promise<Connection> {
  const connection = await createConnection(options);
  connection.on('error', () => undefined);
  return connection;
}

async function backendPid(client: Client): Promise<number> {
  return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
}

describe('PostgreSQL behind PgBouncer', () => {
  let postgres: PostgresServer;
  let database: string;
  const openClients: Client[] = [];
  const connect = async (config: ClientConfig) => {
    const client = await connectPg(config);
    openClients.push(client);
    return client;
  };

  beforeAll(async () => {
    postgres = await startPostgres();
    database = await postgres.createDatabase('bouncer');
  });
  afterEach(async () => {
    await Promise.all(openClients.splice(0).map(client => client.end().catch(() => undefined)));
  });
  afterAll(() => postgres?.stop());

  describe('in transaction pooling mode with two server connections', () => {
    let bouncer: PgBouncerServer;
    beforeEach(async () => { bouncer = await startPgBouncer({ target: postgres, defaultPoolSize: 2 }); });
    afterEach(() => bouncer?.stop());

    test('passes any database name through to PostgreSQL with the SCRAM login of the target', async () => {
      const client = await connect(bouncer.connectionConfig(database));
      const { rows } = await client.query<{ database: string; user: string; serverPort: number }>(
        'SELECT current_database() AS database, current_user AS "user", inet_server_port() AS "serverPort"',
      );
      // The client dialled PgBouncer's port; PostgreSQL saw the connection arrive on its own.
      expect(bouncer.port).not.toBe(postgres.port);
      expect(rows).toEqual([{ database, user: postgres.user, serverPort: postgres.port }]);
    });

    test('session state set with SET stays on the server connection, not with the client', async () => {
      const setter = await connect(bouncer.connectionConfig(database));
      const holder = await connect(bouncer.connectionConfig(database));
      const borrower = await connect(bouncer.connectionConfig(database));

      // setter's transaction takes server connection 1 and leaves a session setting on it.
      await setter.query('BEGIN');
      const firstPid = await backendPid(setter);
      await setter.query("SET app.marker = 'from-setter'");
      // holder's transaction must take server connection 2 meanwhile.
      await holder.query('BEGIN');
      const secondPid = await backendPid(holder);
      expect(secondPid).not.toBe(firstPid);
      await setter.query('COMMIT');

      // borrower gets the only free server connection (1) and sees setter's setting.
      await borrower.query('BEGIN');
      const borrowed = await borrower.query<{ pid: number; marker: string | null }>(
        "SELECT pg_backend_pid() AS pid, current_setting('app.marker', true) AS marker",
      );
      expect(borrowed.rows[0]).toEqual({ pid: firstPid, marker: 'from-setter' });
      await holder.query('COMMIT');

      // setter's next transaction runs on server connection 2, where its setting does not exist.
      const next = await setter.query<{ pid: number; marker: string | null }>(
        "SELECT pg_backend_pid() AS pid, current_setting('app.marker', true) AS marker",
      );
      expect(next.rows[0]).toEqual({ pid: secondPid, marker: null });
      await borrower.query('COMMIT');
    });

    test('a named prepared statement fails when the next transaction runs on another server connection', async () => {
      const preparer = await connect(bouncer.connectionConfig(database));
      const holder = await connect(bouncer.connectionConfig(database));
      const named = { name: 'double_it', text: 'SELECT $1::int * 2 AS doubled', values: [21] };

      const first = await preparer.query(named);
      expect(first.rows).toEqual([{ doubled: 42 }]);
      const preparedOnPid = await backendPid(preparer);
      // Keep the server connection that holds the prepared statement busy.
      await holder.query('BEGIN');
      expect(await backendPid(holder)).toBe(preparedOnPid);

      await expect(preparer.query(named)).rejects.toThrow('prepared statement "double_it" does not exist');
      await holder.query('COMMIT');
    });
  });

  describe('restarts', () => {
    let bouncer: PgBouncerServer;
    beforeAll(async () => { bouncer = await startPgBouncer({ target: postgres }); });
    afterAll(() => bouncer?.stop());

    test('a PgBouncer restart breaks a connected client and a new client works on the same port', async () => {
      const config = bouncer.connectionConfig(database);
      const before = await connect(config);
      expect((await before.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

      await bouncer.restart();

      await expect(before.query('SELECT 1 AS one')).rejects.toThrow();
      const after = await connect(config);
      expect((await after.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });

    test('a PostgreSQL restart breaks a direct client, keeps the data, and a new client works on the same port', async () => {
      const config = postgres.connectionConfig(database);
      const direct = await connect(config);
      await direct.query('CREATE TABLE survivors (name text)');
      await direct.query("INSERT INTO survivors VALUES ('kept')");

      await postgres.restart();

      await expect(direct.query('SELECT 1')).rejects.toThrow();
      const after = await connect(config);
      expect((await after.query('SELECT name FROM survivors')).rows).toEqual([{ name: 'kept' }]);
    });

    test('a client of PgBouncer in transaction mode keeps working across a PostgreSQL restart', async () => {
      const pooled = await connect(bouncer.connectionConfig(database));
      const pidBefore = await backendPid(pooled);

      await postgres.restart();

      expect(await backendPid(pooled)).not.toBe(pidBefore);
    });
  });

  test('PgBouncer stop ends the process, refuses new clients and may be called again', async () => {
    const bouncer = await startPgBouncer({ target: postgres, poolMode: 'session' });
    const client = await connect(bouncer.connectionConfig(database));
    expect(await backendPid(client)).toEqual(expect.any(Number));

    await bouncer.stop();
    await bouncer.stop();

    await expect(connectPg(bouncer.connectionConfig(database))).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('MariaDB', () => {
  let mariadb: MariaDbServer;
  const openConnections: Connection[] = [];
  const connect = async (options: ConnectionOptions) => {
    const connection = await connectMariaDb(options);
    openConnections.push(connection);
    return connection;
  };

  beforeAll(async () => { mariadb = await startMariaDb(); });
  afterEach(async () => {
    await Promise.all(openConnections.splice(0).map(connection => connection.end().catch(() => undefined)));
  });
  afterAll(() => mariadb?.stop());

  test('creates a database where the password user creates a table, inserts and selects over TCP', async () => {
    const database = await mariadb.createDatabase('shop');
    const connection = await connect(mariadb.connectionOptions(database));
    await connection.query('CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))');
    await connection.execute('INSERT INTO items VALUES (?, ?), (?, ?)', [1, 'tea', 2, 'café']);

    const [rows] = await connection.query<RowDataPacket[]>('SELECT id, name FROM items ORDER BY id');
    expect(rows).toEqual([{ id: 1, name: 'tea' }, { id: 2, name: 'café' }]);
    const [[session]] = await connection.query<RowDataPacket[]>('SELECT CURRENT_USER() AS user, DATABASE() AS db');
    expect(session).toEqual({ user: `${mariadb.user}@%`, db: database });
  });

  test('the test user can create users and grant them privileges', async () => {
    const database = await mariadb.createDatabase('grants');
    const admin = await connect(mariadb.connectionOptions(database));
    await admin.query('CREATE TABLE notes (body TEXT)');
    await admin.query("INSERT INTO notes VALUES ('hello')");
    await admin.query("CREATE USER 'reader'@'%' IDENTIFIED BY 'reader-password'");
    await admin.query(`GRANT SELECT ON ${admin.escapeId(database)}.* TO 'reader'@'%'`);

    const reader = await connect({ ...mariadb.connectionOptions(database), user: 'reader', password: 'reader-password' });
    const [rows] = await reader.query<RowDataPacket[]>('SELECT body FROM notes');
    expect(rows).toEqual([{ body: 'hello' }]);
    await expect(reader.query("INSERT INTO notes VALUES ('denied')")).rejects.toThrow(/INSERT command denied/);
  });

  test('a restart breaks a connected client, keeps the data, and a new client works on the same port', async () => {
    const database = await mariadb.createDatabase('restart');
    const options = mariadb.connectionOptions(database);
    const before = await connect(options);
    await before.query('CREATE TABLE survivors (name VARCHAR(10))');
    await before.query("INSERT INTO survivors VALUES ('kept')");

    await mariadb.restart();

    await expect(before.query('SELECT 1')).rejects.toThrow();
    const after = await connect(options);
    const [rows] = await after.query<RowDataPacket[]>('SELECT name FROM survivors');
    expect(rows).toEqual([{ name: 'kept' }]);
  });
});
