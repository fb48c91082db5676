/**
 * PostgreSQL through RDS Proxy with the `pg` driver (`cdk-serverless-rds/runtime/postgres`).
 *
 *   const database = postgresDatabase();
 *   const rows = await database.query<{ id: string }>('SELECT id FROM items WHERE name = $1', [name]);
 */
import { isIP } from 'net';
import { Client, ClientConfig, QueryConfig } from 'pg';
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
    connect: (password, timeoutMillis, onLost) => connect({ ...postgresClientConfig(settings, password, applicationName), connectionTimeoutMillis: timeoutMillis }, onLost),
    classify: classifyPostgresError,
    // PostgreSQL keeps a failed transaction open (aborted) until its end, and answers COMMIT with ROLLBACK.
    endsTransaction: () => false,
  }));
}

/**
 * The pg client settings for one connection: TLS verified against Node's CA
 * store (RDS Proxy presents Amazon Root CA certificates; pinning the RDS CA
 * bundle would fail there), the connect timeout, and a client-side
 * statement timeout (pg `query_timeout`; a server-side statement_timeout
 * would be a session setting, which pins proxy connections). The runtime
 * cuts both to the time left before the invocation's deadline.
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

/** SQLSTATEs (besides class 08, connection exception) of a connection that is gone or cannot be had right now, when FATAL. */
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

/** Severities after which the server closes the connection. */
const FATAL_SEVERITIES = new Set(['FATAL', 'PANIC']);

export function classifyPostgresError(error: unknown): FailureKind {
  const message = error instanceof Error ? error.message : '';
  if (BORROW_TIMEOUT_MESSAGES.test(message)) return 'borrow-timeout';
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  if (typeof code === 'string') {
    if (AUTHENTICATION_SQLSTATES.has(code)) return 'authentication';
    if (NETWORK_ERROR_CODES.has(code)) return 'connection';
    // Only a FATAL ends the connection (PgBouncer's class 08 errors are FATAL too). PostgreSQL also
    // sends class 08 as an ordinary ERROR on a connection that stays usable, such as 08P01 for a
    // statement given fewer values than it has placeholders: that is the caller's mistake. pg gives
    // the severity in the server's lc_messages language; a server that translates it has its FATALs
    // reach the caller unchanged, and the closed connection is replaced on the next call.
    const dead = typeof severity === 'string' && FATAL_SEVERITIES.has(severity) && (code.startsWith('08') || CONNECTION_SQLSTATES.has(code));
    return dead ? 'connection' : 'other';
  }
  if (message === 'Query read timeout') return 'timeout';
  return PG_CONNECTION_MESSAGES.test(message) ? 'connection' : 'other';
}

async function connect(config: ClientConfig, onLost: () => void): Promise<DriverConnection> {
  const client = new Client(config);
  // pg reports one termination with up to two 'error' events (and an 'end'). Listening from the start:
  // without a listener an error would crash the process, and one can come in the same read as the end
  // of the login, before connect() resolves. The listeners report nothing until the login is done: a
  // client whose connect failed still emits 'end' later, which is not this connection's end.
  let opened = false;
  client.once('connect', () => { opened = true; });
  const lost = () => {
    if (opened) onLost();
  };
  client.on('error', lost);
  client.on('end', lost);
  await client.connect();
  return {
    async execute(sql, params, timeoutMillis) {
      // Never a `name`: named prepared statements would pin proxy connections and break under PgBouncer.
      // pg reads a query's own query_timeout, which @types/pg leaves out of QueryConfig.
      const query: QueryConfig & { query_timeout: number } = { text: sql, values: params as unknown[] | undefined, query_timeout: timeoutMillis };
      const { rows, rowCount, command } = await client.query(query);
      return { rows, rowCount: rowCount ?? 0, command };
    },
    close: () => client.end().catch(() => undefined),
    destroy: () => client.connection.stream.destroy(),
  };
}
