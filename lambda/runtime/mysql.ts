/**
 * MySQL (and MariaDB) through RDS Proxy with the `mysql2` driver (`cdk-serverless-rds/runtime/mysql`).
 *
 *   const database = mysqlDatabase();
 *   const rows = await database.query<{ id: string }>('SELECT id FROM items WHERE name = ?', [name]);
 */
import { ConnectionOptions, createConnection, ResultSetHeader } from 'mysql2/promise';
import { createDatabase, Database, DatabaseOptions, defaultApplicationName, DriverConnection, FailureKind, NETWORK_ERROR_CODES } from './database';
import { DatabaseSettings } from './settings';

/** Options of mysqlDatabase(); the settings default to the environment. */
export type MysqlDatabaseOptions = DatabaseOptions;

/**
 * A Database on MySQL (placeholders `?`). Statements are sent with
 * client-side escaping (mysql2 `query`, not server-side prepared statements,
 * which would pin proxy connections). BIGINT and DECIMAL values come back as
 * strings so that no id loses precision. Nothing connects until the first
 * statement.
 */
export function mysqlDatabase(options: MysqlDatabaseOptions = {}): Database {
  return createDatabase('mysql', 'mysqlDatabase', options, (settings, applicationName) => ({
    connect: (password, timeoutMillis, onLost) => connect({ ...mysqlConnectionOptions(settings, password, applicationName), connectTimeout: timeoutMillis }, onLost),
    classify: classifyMysqlError,
    endsTransaction: error => (error as { errno?: unknown } | null)?.errno === LOCK_DEADLOCK_ERRNO,
  }));
}

/**
 * The mysql2 settings for one connection: TLS verified against Node's CA
 * store including the host name (mysql2 skips that check unless
 * `verifyIdentity` is set), and for IAM authentication the token sent with
 * the cleartext plugin, which RDS Proxy requires (safe inside TLS only,
 * which IAM authentication always has).
 */
export function mysqlConnectionOptions(settings: DatabaseSettings, password: string, applicationName = defaultApplicationName()): ConnectionOptions {
  return {
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    password,
    ...(settings.tls ? { ssl: { rejectUnauthorized: true, verifyIdentity: true } } : {}),
    ...(settings.authentication === 'iam' ? { enableCleartextPlugin: true } : {}),
    connectTimeout: settings.connectTimeoutMillis,
    connectAttributes: { program_name: applicationName },
    supportBigNumbers: true,
    bigNumberStrings: true,
  };
}

const AUTHENTICATION_CODES = new Set(['ER_ACCESS_DENIED_ERROR']);
/**
 * Errors (mysql2's code names) of a connection that is gone or cannot be had
 * right now. mysql2 marks an error fatal when the socket failed or closed,
 * not the server's error packet that comes just before the server closes it.
 */
const CONNECTION_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR', // too many connections
  'ER_SERVER_SHUTDOWN', // shutting down; also what MySQL sends a statement whose connection KILL ends
  'ER_CLIENT_INTERACTION_TIMEOUT', // MySQL 8: closed after wait_timeout
  ...NETWORK_ERROR_CODES,
]);
/**
 * MariaDB's ER_CONNECTION_KILLED (`Connection was killed`, SQLSTATE 70100),
 * which it can send to a statement whose connection it kills before it
 * closes the connection. mysql2 names MySQL's error numbers only, so this
 * error has the errno and no code.
 */
const MARIADB_CONNECTION_KILLED_ERRNO = 1927;

/**
 * ER_LOCK_DEADLOCK: InnoDB rolled back the victim's whole transaction, which
 * ends it; later statements on the connection would each commit on their own.
 * (A lock wait timeout rolls back only the statement, unless the server sets
 * innodb_rollback_on_timeout, which is off by default.)
 */
const LOCK_DEADLOCK_ERRNO = 1213;

/**
 * RDS Proxy's `ERROR 9501 (HY000): Timed-out waiting to acquire database
 * connection`: no free database connection within ConnectionBorrowTimeout.
 * mysql2 knows no name for it, so the error has this errno and no code.
 */
const PROXY_BORROW_TIMEOUT_ERRNO = 9501;

export function classifyMysqlError(error: unknown): FailureKind {
  const { code, errno, fatal } = (error ?? {}) as { code?: unknown; errno?: unknown; fatal?: unknown };
  if (errno === PROXY_BORROW_TIMEOUT_ERRNO) return 'borrow-timeout';
  if (typeof code === 'string' && AUTHENTICATION_CODES.has(code)) return 'authentication';
  if (code === 'PROTOCOL_SEQUENCE_TIMEOUT') return 'timeout';
  if (fatal === true || errno === MARIADB_CONNECTION_KILLED_ERRNO || (typeof code === 'string' && CONNECTION_CODES.has(code))) return 'connection';
  return 'other';
}

async function connect(options: ConnectionOptions, onLost: () => void): Promise<DriverConnection> {
  const connection = await createConnection(options);
  // Errors of an idle connection (killed, server gone) arrive as events; unhandled they would crash the process.
  connection.on('error', onLost);
  connection.on('end', onLost);
  return {
    async execute(sql, params, timeoutMillis) {
      const [result] = await connection.query({ sql, values: params as unknown[] | undefined, timeout: timeoutMillis });
      if (Array.isArray(result)) return { rows: result, rowCount: result.length };
      const header = result as ResultSetHeader;
      return { rows: [], rowCount: header.affectedRows, ...(header.insertId ? { insertId: String(header.insertId) } : {}) };
    },
    close: () => connection.end().catch(() => undefined),
    destroy: () => connection.destroy(),
  };
}
