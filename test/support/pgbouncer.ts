/**
 * A throwaway PgBouncer for tests, the local stand-in for RDS Proxy: it pools
 * connections to a PostgreSQL server (usually one from startPostgres()).
 *
 *   const bouncer = await startPgBouncer({ target: postgres });
 *   const client = new Client(bouncer.connectionConfig(database));
 *   afterAll(() => bouncer?.stop());
 *
 * Clients log in as the target's user with its password (SCRAM, or the
 * cleartext password, optionally over TLS); any database name passes through
 * to the target. PgBouncer refuses to run as root, so as
 * root it runs as the `postgres` user. Its config, log, pid file and unix
 * socket live in a fresh folder under the project's `.tmp/`, removed on stop.
 * Server output is kept quiet (and quoted in start errors) unless
 * DEBUG_PGBOUNCER is set, in which case it goes to stderr.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Client, ClientConfig } from 'pg';
import { requireBinary } from './apt';
import { copyPrivateFile, GuardedProcess, HOST, isRoot, makeServerDir, startOnFreePort, stopOnce, systemUser, writePrivateFile } from './local-server';

export interface PgBouncerOptions {
  /** The PostgreSQL server to pool connections to, and the login clients use. */
  readonly target: { host: string; port: number; user: string; password: string };
  /**
   * `transaction` hands a server connection to a client for one transaction
   * only (what RDS Proxy does when nothing pins); `session` for as long as
   * the client stays connected.
   * @default 'transaction'
   */
  readonly poolMode?: 'transaction' | 'session';
  /**
   * Server connections per database and user pair.
   * @default 20
   */
  readonly defaultPoolSize?: number;
  /**
   * Seconds a client may wait for a free server connection (a query, or a
   * login to a pool that has none yet) before PgBouncer closes it with FATAL
   * `query_wait_timeout` (RDS Proxy's ConnectionBorrowTimeout); 0 waits forever.
   * @default 120
   */
  readonly queryWaitTimeoutSeconds?: number;
  /**
   * Client connections PgBouncer accepts at once; more are refused.
   * @default 1000
   */
  readonly maxClientConnections?: number;
  /**
   * How clients log in: `scram-sha-256`, or `plain`, the password in
   * cleartext (as RDS Proxy takes IAM tokens; give `tls` with it).
   * @default 'scram-sha-256'
   */
  readonly authType?: 'scram-sha-256' | 'plain';
  /**
   * TLS for client connections, required when given: PEM files of the
   * server certificate and its private key.
   * @default - no TLS
   */
  readonly tls?: { readonly certificateFile: string; readonly keyFile: string };
}

/** A running PgBouncer; connect over TCP with the target's user and password. */
export interface PgBouncerServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Settings for a pg client connected through PgBouncer to `database` (default `postgres`). */
  connectionConfig(database?: string): ClientConfig;
  /** PgBouncer's process id (one process does all its work), for reading its CPU time from /proc. */
  serverPid(): number;
  /** Stops PgBouncer (breaking every client connection) and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops PgBouncer and deletes its files. Safe to call more than once. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MILLIS = 30_000;
const STOP_TIMEOUT_MILLIS = 10_000;
/** Something else may hold the port and never answer. */
const PROBE_TIMEOUT_MILLIS = 2_000;
/** PgBouncer's virtual database that answers SHOW commands; connecting to it proves it listens. */
const ADMIN_DATABASE = 'pgbouncer';
/** PgBouncer keeps running (on its unix socket only) when its TCP port is taken. */
const CANNOT_LISTEN = /cannot listen on .*Address already in use/;

/** Starts PgBouncer on a free port of 127.0.0.1 and resolves once it accepts connections. */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncerServer> {
  const binary = requireBinary('pgbouncer', 'pgbouncer');
  const runAs = isRoot() ? systemUser('postgres') : undefined;
  const dir = makeServerDir('pgbouncer', runAs);
  const { user, password } = options.target;
  writePrivateFile(path.join(dir, 'userlist.txt'), `${quote(user)} ${quote(password)}\n`, runAs);
  // Copied into PgBouncer's folder: as root it runs as the postgres user, who must read the key.
  const tls = options.tls && {
    certificateFile: copyPrivateFile(options.tls.certificateFile, path.join(dir, 'client-tls.crt'), runAs),
    keyFile: copyPrivateFile(options.tls.keyFile, path.join(dir, 'client-tls.key'), runAs),
  };

  let port = 0;
  let server: GuardedProcess | undefined;
  const configFile = path.join(dir, 'pgbouncer.ini');
  const ssl = options.tls ? { ca: fs.readFileSync(options.tls.certificateFile, 'utf8'), rejectUnauthorized: true } : undefined;
  const connectionConfig = (database = 'postgres'): ClientConfig => ({ host: HOST, port, user, password, database, ...ssl ? { ssl } : {} });

  const run = async () => {
    server = new GuardedProcess({
      // The usual soft limit of 1,024 open files is below what max_client_conn allows.
      command: '/bin/sh',
      args: ['-c', 'ulimit -n "$(ulimit -H -n)" 2>/dev/null; exec "$0" "$@"', binary, configFile],
      user: runAs,
      cleanupDir: dir,
      debugVariable: 'DEBUG_PGBOUNCER',
      stopTimeoutMillis: STOP_TIMEOUT_MILLIS,
    });
    const probeConfig = { ...connectionConfig(ADMIN_DATABASE), connectionTimeoutMillis: PROBE_TIMEOUT_MILLIS };
    await server.waitUntilReady(() => probe(probeConfig), START_TIMEOUT_MILLIS, 'PgBouncer', CANNOT_LISTEN);
  };

  const { stop, stopped } = stopOnce(() => server, dir);

  try {
    port = await startOnFreePort(async chosen => {
      port = chosen;
      writePrivateFile(configFile, config(options, dir, port, tls), runAs);
      await run();
    }, () => server, CANNOT_LISTEN);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    host: HOST,
    port,
    user,
    password,
    connectionConfig,
    serverPid: () => Number(fs.readFileSync(path.join(dir, 'pgbouncer.pid'), 'utf8').trim()),
    async restart() {
      if (stopped()) throw new Error('PgBouncer was stopped; it cannot restart');
      // SIGTERM is PgBouncer's immediate shutdown: client connections drop, as in a crash or a redeploy.
      await server!.terminate('SIGTERM');
      await run();
    },
    stop,
  };
}

function config(options: PgBouncerOptions, dir: string, port: number, tls: PgBouncerOptions['tls']): string {
  const { host, port: targetPort } = options.target;
  return [
    '[databases]',
    `* = host=${host} port=${targetPort}`,
    '',
    '[pgbouncer]',
    `listen_addr = ${HOST}`,
    `listen_port = ${port}`,
    `unix_socket_dir = ${dir}`,
    `logfile = ${path.join(dir, 'pgbouncer.log')}`,
    `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
    // The userlist holds the plaintext password, so PgBouncer can answer PostgreSQL's SCRAM challenge itself.
    `auth_type = ${options.authType ?? 'scram-sha-256'}`,
    ...tls ? ['client_tls_sslmode = require', `client_tls_cert_file = ${tls.certificateFile}`, `client_tls_key_file = ${tls.keyFile}`] : [],
    `auth_file = ${path.join(dir, 'userlist.txt')}`,
    `admin_users = ${options.target.user}`,
    `pool_mode = ${options.poolMode ?? 'transaction'}`,
    `default_pool_size = ${options.defaultPoolSize ?? 20}`,
    `query_wait_timeout = ${options.queryWaitTimeoutSeconds ?? 120}`,
    // Room for connection storms from many concurrent Lambda-like clients, also in the kernel's queue of new connections.
    `max_client_conn = ${options.maxClientConnections ?? 1000}`,
    'listen_backlog = 4096',
    // Retry a failed server login after 1 s (default 15 s) so a restarted PostgreSQL is used at once.
    'server_login_retry = 1',
    // JDBC-style clients send it; PgBouncer would refuse the connection otherwise.
    'ignore_startup_parameters = extra_float_digits',
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ].join('\n');
}

/** A userlist.txt field: double quotes, with inner ones doubled. */
function quote(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

async function probe(config: ClientConfig): Promise<void> {
  const client = new Client(config);
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SHOW VERSION');
  } finally {
    await client.end().catch(() => undefined);
  }
}
