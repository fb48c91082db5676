/**
 * PostgreSQL through RDS Proxy with the `pg` driver (`cdk-serverless-rds/runtime/postgres`).
 *
 *   const database = postgresDatabase();
 *   const rows = await database.query<{ id: string }>('SELECT id FROM items WHERE name = $1', [name]);
 */
import { isIP } from 'net';
import { Client, ClientConfig } from 'pg';
import { createDatabase, Database, DatabaseOptions, defaultApplicationName, DriverConnection, FailureKind, NETWORK_ERROR_CODES } from './database';
import { DatabaseSettings } from './settings';

/** Options of postgresDatabase(); the settings default to the environment. */
export type PostgresDatabaseOptions = DatabaseOptions;

/**
 * A Database on PostgreSQL (placeholders `$1, $2, ...`). Settings come from
 * the environment unless given; nothing connects until the first statement.
 */
export function postgresDatabase(options: PostgresDatabaseOptions = {}): Database {
  return createDatabase('postgresql', 'postgresDatabase', options, (settings, applicationName) => ({
    connect: (password, onLost) => connect(postgresClientConfig(settings, password, applicationName), onLost),
    classify: classifyPostgresError,
  }));
}

/**
 * The pg client settings for one connection: TLS verified against Node's CA
 * store (RDS Proxy presents Amazon Root CA certificates; pinning the RDS CA
 * bundle would fail there), the connect timeout, and a client-side
 * statement timeout (pg `query_timeout`; a server-side statement_timeout
 * would be a session setting, which pins proxy connections).
 */
export function postgresClientConfig(settings: DatabaseSettings, password: string, applicationName = defaultApplicationName()): ClientConfig {
  return {
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    password,
    ssl: settings.tls ? { rejectUnauthorized: true, ...(isIP(settings.host) ? {} : { servername: settings.host }) } : false,
    connectionTimeoutMillis: settings.connectTimeoutMillis,
    query_timeout: settings.queryTimeoutMillis,
    application_name: applicationName,
  };
}

/** SQLSTATEs of a connection that is gone or cannot be had right now. */
const CONNECTION_SQLSTATES = new Set([
  '57P01', // admin_shutdown: terminated backend, server (fast) shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: server starting or shutting down
  '53300', // too_many_connections
]);
const AUTHENTICATION_SQLSTATES = new Set(['28P01', '28000']);
/** pg's own errors (they have no code) for a connection that closed, failed or could not open in time. */
const PG_CONNECTION_MESSAGES = /^(Connection terminated|timeout expired|Client has encountered a connection error|Client was closed)/;
/**
 * A proxy found no free server connection in time, at connect or at a
 * statement. RDS Proxy: this text, under an undocumented SQLSTATE. PgBouncer
 * (query_wait_timeout): FATAL `query_wait_timeout`, SQLSTATE 08P01, then it
 * closes the connection; checked before the codes, as 08P01 alone would mean
 * an ordinary connection failure.
 */
const BORROW_TIMEOUT_MESSAGES = /^(Timed-out waiting to acquire database connection|query_wait_timeout$)/;

export function classifyPostgresError(error: unknown): FailureKind {
  const message = error instanceof Error ? error.message : '';
  if (BORROW_TIMEOUT_MESSAGES.test(message)) return 'borrow-timeout';
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    if (AUTHENTICATION_SQLSTATES.has(code)) return 'authentication';
    // Class 08: connection exception (also what PgBouncer reports when its server connection fails).
    if (code.startsWith('08') || CONNECTION_SQLSTATES.has(code) || NETWORK_ERROR_CODES.has(code)) return 'connection';
    return 'other';
  }
  if (message === 'Query read timeout') return 'timeout';
  return PG_CONNECTION_MESSAGES.test(message) ? 'connection' : 'other';
}

async function connect(config: ClientConfig, onLost: () => void): Promise<DriverConnection> {
  const client = new Client(config);
  // pg reports one termination with up to two 'error' events (and an 'end'); without a listener,
  // an error on an idle connection would crash the process.
  client.on('error', onLost);
  client.on('end', onLost);
  await client.connect();
  // pg deprecates queueing a query while another runs on the client; statements wait their turn here.
  let previous: Promise<unknown> = Promise.resolve();
  return {
    execute(sql, params) {
      // Never a `name`: named prepared statements would pin proxy connections and break under PgBouncer.
      const result = previous.then(() => client.query({ text: sql, values: params as unknown[] | undefined }))
        .then(({ rows, rowCount }) => ({ rows, rowCount: rowCount ?? 0 }));
      previous = result.catch(() => undefined);
      return result;
    },
    close: () => client.end().catch(() => undefined),
    destroy: () => client.connection.stream.destroy(),
  };
}
