/**
 * MySQL (and MariaDB, which the tests run) sessions for a bootstrap run.
 *
 * MySQL commits every DDL statement implicitly (CREATE, ALTER, DROP,
 * RENAME, TRUNCATE, ...), so a migration is atomic only if it holds no DDL:
 * when a migration fails, the DDL statements before the failing one stay
 * applied, while the migration is not recorded and runs again (in full) on
 * the next deployment. Write MySQL migrations as one DDL statement each, or
 * make them re-runnable (IF NOT EXISTS).
 */
import { Connection, createConnection, escape, escapeId, RowDataPacket } from 'mysql2/promise';
import { DatabaseUser, Migration, RecordedMigration, sha256 } from './plan';
import { connectionError, ConnectionSettings, DEFAULT_CONNECT_TIMEOUT_MILLIS, DEFAULT_STATEMENT_TIMEOUT_MILLIS, Session } from './session';

const MIGRATIONS_TABLE = 'schema_migrations';
/** GET_LOCK names are server-wide (at most 64 characters), so the database is part of the name. */
const lockName = (database: string) => `cdk-serverless-rds/bootstrap/${sha256(database).slice(0, 16)}`;
/** Time the client waits beyond the server's GET_LOCK timeout for its answer. */
const LOCK_ANSWER_MARGIN_MILLIS = 5_000;
/** "Access denied for user": wrong password, or no such account. */
const ER_ACCESS_DENIED_ERROR = 1045;

export async function connectMysql(settings: ConnectionSettings): Promise<Session> {
  // mysql2 enforces statement timeouts on the client side: the connection is
  // closed, and with it the transaction (rolled back) and the lock.
  const timeout = settings.statementTimeoutMillis ?? DEFAULT_STATEMENT_TIMEOUT_MILLIS;
  // Migrations are scripts of many statements. Only the template's own SQL
  // is run this way; names and passwords are always escaped.
  const client = await openMysqlConnection(settings, { multipleStatements: true });
  const run = (sql: string, values?: unknown[]) => client.query({ sql, values, timeout });

  return {
    async lock() {
      const seconds = Math.ceil(timeout / 1000);
      let acquired: unknown;
      try {
        const [rows] = await client.query<RowDataPacket[]>({
          sql: 'SELECT GET_LOCK(?, ?) AS acquired',
          values: [lockName(settings.database), seconds],
          timeout: seconds * 1000 + LOCK_ANSWER_MARGIN_MILLIS,
        });
        acquired = rows[0].acquired;
      } catch (error) {
        throw new Error(`waiting for another bootstrap run on database ${settings.database} failed: ${describeMysqlError(error)}`);
      }
      if (acquired !== 1) {
        throw new Error(`another bootstrap run on database ${settings.database} still held the lock after ${seconds} s`);
      }
    },
    async ensureMigrationsTable() {
      await run(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
        version VARCHAR(32) NOT NULL PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        checksum CHAR(64) NOT NULL,
        applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
      ) ENGINE=InnoDB`);
    },
    async recordedMigrations() {
      const [rows] = await run(`SELECT version, name, checksum FROM ${MIGRATIONS_TABLE}`);
      return rows as RecordedMigration[];
    },
    async applyMigration(migration: Migration) {
      // See the file comment: DDL inside commits on its own.
      await run('START TRANSACTION');
      try {
        await run(migration.sql);
        await run(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, checksum) VALUES (?, ?, ?)`,
          [migration.version, migration.name, migration.checksum]);
        await run('COMMIT');
      } catch (error) {
        await run('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    async configureUser(user: DatabaseUser) {
      const [rows] = await run("SELECT COUNT(*) AS count FROM mysql.user WHERE User = ? AND Host = '%'", [user.name]);
      const existed = Number((rows as RowDataPacket[])[0].count) > 0;
      for (const statement of mysqlUserStatements(user, settings.database)) {
        await run(statement);
      }
      return !existed;
    },
    describeError: describeMysqlError,
    async close() {
      // Closing the connection also releases the GET_LOCK lock.
      await client.end().catch(() => client.destroy());
    },
  };
}

/**
 * A connection logged in as `settings.user` over verified TLS (unless turned
 * off for local tests). A refused password throws `AuthenticationError`;
 * every error names the server and the user, never the password.
 */
export async function openMysqlConnection(settings: ConnectionSettings, options: { multipleStatements?: boolean } = {}): Promise<Connection> {
  let connection: Connection;
  try {
    connection = await createConnection({
      host: settings.host,
      port: settings.port,
      database: settings.database,
      user: settings.user,
      password: settings.password,
      ssl: settings.tls ? { rejectUnauthorized: true } : undefined,
      connectTimeout: settings.connectTimeoutMillis ?? DEFAULT_CONNECT_TIMEOUT_MILLIS,
      multipleStatements: options.multipleStatements ?? false,
    });
  } catch (error) {
    throw connectionError('MySQL', settings, describeMysqlError(error), (error as { errno?: number }).errno === ER_ACCESS_DENIED_ERROR);
  }
  // A connection lost between queries is reported as an 'error' event, which
  // would crash the process without a listener; the next query fails anyway.
  connection.on('error', () => undefined);
  return connection;
}

/**
 * The statements that create or update `user`@'%' with its authentication
 * and the privileges of its level on every table of `database`. Account
 * statements and grants commit on their own in MySQL; the grant comes before
 * the revoke so a user being re-applied never lacks what it keeps.
 *
 * IAM users authenticate with RDS's AWSAuthenticationPlugin (MySQL on RDS
 * and Aurora only) and must use TLS. A password user whose password rotation
 * owns (`keepPassword`) keeps it if the account exists.
 */
export function mysqlUserStatements(user: DatabaseUser, database: string): string[] {
  const account = `${escape(user.name)}@'%'`;
  const identification = user.authentication === 'IAM'
    ? "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL"
    : `IDENTIFIED BY ${escape(user.password!)} REQUIRE NONE`;
  const tables = `${escapeId(database)}.*`;
  const keepsPassword = user.authentication === 'SECRET' && user.keepPassword === true;
  return [
    `CREATE USER IF NOT EXISTS ${account} ${identification}`,
    ...(keepsPassword ? [] : [`ALTER USER ${account} ${identification}`]),
    user.privileges === 'READ_WRITE'
      ? `GRANT SELECT, INSERT, UPDATE, DELETE ON ${tables} TO ${account}`
      : `GRANT SELECT ON ${tables} TO ${account}`,
    ...(user.privileges === 'READ_ONLY' ? [`REVOKE INSERT, UPDATE, DELETE ON ${tables} FROM ${account}`] : []),
  ];
}

export function describeMysqlError(error: unknown): string {
  const { message, sqlMessage, code, errno, sqlState } = error as { message?: string; sqlMessage?: string; code?: string; errno?: number; sqlState?: string };
  const codes = [code, sqlState ? `errno ${errno}` : undefined, sqlState ? `SQLSTATE ${sqlState}` : undefined].filter(Boolean);
  const text = sqlMessage || message || String(error);
  return codes.length > 0 ? `${text} (${codes.join(', ')})` : text;
}
