/**
 * A throwaway MariaDB server for tests (the local stand-in for MySQL; Debian
 * ships MariaDB 10.11).
 *
 *   let mariadb: MariaDbServer;
 *   beforeAll(async () => { mariadb = await startMariaDb(); });
 *   afterAll(() => mariadb?.stop());
 *
 * Each server gets a fresh data folder under the project's `.tmp/`, removed on
 * stop, and listens on a free TCP port of 127.0.0.1. Clients log in as a
 * password user with every privilege, including GRANT OPTION and CREATE
 * USER. As root the server runs as the `mysql` user. Server output is kept
 * quiet (and quoted in start errors) unless DEBUG_MARIADB is set, in which
 * case it goes to stderr.
 */
import { execFile } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import { Connection, ConnectionOptions, createConnection } from 'mysql2/promise';
import * as path from 'path';
import { promisify } from 'util';
import { requireBinary } from './apt';
import { copyPrivateFile, GuardedProcess, HOST, isRoot, makeServerDir, startOnFreePort, stopOnce, systemUser } from './local-server';

export interface MariaDbOptions {
  /**
   * TLS for client connections (PEM files of the server certificate and its
   * key); users created with REQUIRE SSL must use it.
   * @default - no TLS
   */
  readonly tls?: { readonly certificateFile: string; readonly keyFile: string };
  /**
   * Loads the PAM authentication plugin and has it ask clients for the
   * password with mysql_clear_password (as RDS Proxy asks for IAM tokens),
   * for users created `IDENTIFIED VIA pam USING '<service>'`.
   * @default false
   */
  readonly cleartextPam?: boolean;
}

/** A running server; connect over TCP with password authentication. */
export interface MariaDbServer {
  readonly host: string;
  readonly port: number;
  /** A password user with all privileges, including GRANT OPTION and CREATE USER. */
  readonly user: string;
  readonly password: string;
  /** Settings for a mysql2 connection to `database` (default: none selected). */
  connectionOptions(database?: string): ConnectionOptions;
  /** Creates an empty database with a unique name (built from `prefix`) and returns the name. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server (ending every client connection) and starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** Stops the server and deletes its files. Safe to call more than once. */
  stop(): Promise<void>;
}

const USER = 'test_admin';
const START_TIMEOUT_MILLIS = 60_000;
const STOP_TIMEOUT_MILLIS = 30_000;
/** Something else may hold the port and never answer. */
const PROBE_TIMEOUT_MILLIS = 2_000;
/** Settings for both the bootstrap and the server, keeping every file in the server's folder. */
const serverFlags = (dir: string) => [
  // Not TMPDIR: the tests' TMPDIR is the project's `.tmp/`, which the mysql user cannot write.
  `--tmpdir=${dir}`,
  // Small InnoDB files and no durability: each server starts fast and costs little disk.
  '--innodb-log-file-size=8M',
  '--innodb-buffer-pool-size=32M',
  '--innodb-flush-log-at-trx-commit=0',
  '--innodb-doublewrite=0',
  '--skip-name-resolve',
  // What MySQL 8 (and RDS) default to; without a config file MariaDB would use latin1.
  '--character-set-server=utf8mb4',
  '--collation-server=utf8mb4_general_ci',
];

const execFileAsync = promisify(execFile);

/** Starts a MariaDB server on a free port of 127.0.0.1 and resolves once it accepts connections. */
export async function startMariaDb(options: MariaDbOptions = {}): Promise<MariaDbServer> {
  const mariadbd = requireBinary('mariadbd', 'mariadb-server');
  const installDb = requireBinary('mariadb-install-db', 'mariadb-server');
  const runAs = isRoot() ? systemUser('mysql') : undefined;
  const dir = makeServerDir('mariadb', runAs);
  const dataDir = path.join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  // Copied into the server's folder: as root it runs as the mysql user, who must read the key.
  const tlsFlags = options.tls ? [
    `--ssl-cert=${copyPrivateFile(options.tls.certificateFile, path.join(dir, 'server.crt'), runAs)}`,
    `--ssl-key=${copyPrivateFile(options.tls.keyFile, path.join(dir, 'server.key'), runAs)}`,
  ] : [];
  const pamFlags = options.cleartextPam ? ['--plugin-load-add=auth_pam', '--pam-use-cleartext-plugin=ON'] : [];

  let port = 0;
  let server: GuardedProcess | undefined;
  const connectionOptions = (database?: string): ConnectionOptions => ({ host: HOST, port, user: USER, password, database });

  const run = async () => {
    server = new GuardedProcess({
      command: mariadbd,
      args: [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--bind-address=${HOST}`,
        `--port=${port}`,
        `--socket=${path.join(dir, 'mariadb.sock')}`,
        `--pid-file=${path.join(dir, 'mariadb.pid')}`,
        ...(runAs ? [`--user=${runAs.name}`] : []),
        ...serverFlags(dir),
        ...tlsFlags,
        ...pamFlags,
      ],
      cleanupDir: dir,
      debugVariable: 'DEBUG_MARIADB',
      stopTimeoutMillis: STOP_TIMEOUT_MILLIS,
    });
    await server.waitUntilReady(() => probe({ ...connectionOptions(), connectTimeout: PROBE_TIMEOUT_MILLIS }), START_TIMEOUT_MILLIS, 'MariaDB');
  };

  const { stop, stopped } = stopOnce(() => server, dir);

  try {
    await initialise(installDb, dir, dataDir, password, runAs?.name);
    port = await startOnFreePort(async chosen => {
      port = chosen;
      await run();
    }, () => server, /Address already in use/i);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    host: HOST,
    port,
    user: USER,
    password,
    connectionOptions,
    async createDatabase(prefix = 'test') {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      const connection = await createConnection(connectionOptions());
      try {
        await connection.query(`CREATE DATABASE ${connection.escapeId(name)}`);
      } finally {
        await connection.end();
      }
      return name;
    },
    async restart() {
      if (stopped()) throw new Error('MariaDB was stopped; it cannot restart');
      // SIGTERM is a normal shutdown: it ends client connections at once, then stops.
      await server!.terminate('SIGTERM');
      await run();
    },
    stop,
  };
}

/** Creates the system tables and the test user (whose password goes in a file that is deleted right after). */
async function initialise(installDb: string, dir: string, dataDir: string, password: string, runAs: string | undefined): Promise<void> {
  const userFile = path.join(dir, 'create-user.sql');
  fs.writeFileSync(userFile, [
    // The bootstrap runs without grant tables; loading them makes CREATE USER and GRANT work.
    'FLUSH PRIVILEGES;',
    `CREATE USER '${USER}'@'%' IDENTIFIED BY ${sqlString(password)};`,
    `GRANT ALL PRIVILEGES ON *.* TO '${USER}'@'%' WITH GRANT OPTION;`,
    '',
  ].join('\n'), { mode: 0o600 });
  try {
    await execFileAsync(installDb, [
      '--no-defaults',
      `--datadir=${dataDir}`,
      ...(runAs ? [`--user=${runAs}`] : []),
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
      `--extra-file=${userFile}`,
      ...serverFlags(dir),
    ], { encoding: 'utf8' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`mariadb-install-db failed:\n${`${stdout ?? ''}${stderr ?? ''}`.slice(-4_000)}`);
  } finally {
    fs.rmSync(userFile, { force: true });
  }
}

function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

async function probe(options: ConnectionOptions): Promise<void> {
  const connection = await createConnection(options);
  try {
    await connection.query('SELECT 1');
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** Runs `work` with a connection made with `options`, closing it afterwards. */
export async function withConnection<T>(options: ConnectionOptions, work: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await createConnection(options);
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}
