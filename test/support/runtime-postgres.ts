/**
 * What the runtime's PostgreSQL tests share: a real server started for the
 * test file, a checker connection that counts the runtime's server
 * connections (pg_stat_activity, never the client's own view), and runtime
 * Databases opened with unique application names, all closed after the file.
 *
 *   const runtime = usePostgresRuntime();
 *   test('...', async () => {
 *     const { database, app } = runtime.open();
 *     await database.query('SELECT 1');
 *     expect(await runtime.backendPids(app)).toHaveLength(1);
 *   });
 */
import { Client } from 'pg';
import { Database, DatabaseOptions } from '../../lambda/runtime';
import { postgresDatabase } from '../../lambda/runtime/postgres';
import { PostgresServer, startPostgres } from './postgres';
import { LocalEndpoint, localSettings } from './settings';

export interface OpenOptions {
  /** @default 'postgres' */
  readonly database?: string;
  /** @default - the server's password */
  readonly password?: DatabaseOptions['password'];
  /** More environment variables for the settings, such as DATABASE_QUERY_TIMEOUT_MS. */
  readonly extra?: Record<string, string>;
  /** @default - the server itself */
  readonly target?: LocalEndpoint;
  readonly logger?: DatabaseOptions['logger'];
}

export interface TestDatabase {
  readonly database: Database;
  /** application_name of its connections. */
  readonly app: string;
}

export interface PostgresRuntime {
  readonly postgres: PostgresServer;
  readonly checker: Client;
  /** A runtime Database with password login and no TLS, as a developer would set it up locally. */
  open(options?: OpenOptions): TestDatabase;
  /** Server process ids of the connections with this application_name. */
  backendPids(app: string): Promise<number[]>;
  /** Terminates one server connection (pg_terminate_backend) and checks that it is gone. */
  terminate(pid: number): Promise<void>;
  /** Restarts the server; the checker reconnects. */
  restart(): Promise<void>;
  /** Creates a database and runs `statements` in it, in order. */
  createDatabase(prefix: string, ...statements: string[]): Promise<string>;
}

/** Starts the server before the file's tests and stops it (and closes every opened Database) after them. */
export function usePostgresRuntime(): PostgresRuntime {
  let postgres: PostgresServer | undefined;
  let checker: Client | undefined;
  const opened: Database[] = [];
  let appCount = 0;

  beforeAll(async () => {
    postgres = await startPostgres();
    checker = await connectChecker(postgres);
  });

  afterAll(async () => {
    await Promise.all(opened.map(database => database.close()));
    await checker?.end().catch(() => undefined);
    await postgres?.stop();
  });

  const server = () => postgres ?? fail('the PostgreSQL server has not started');
  const check = () => checker ?? fail('the checker connection is not open');

  return {
    get postgres() { return server(); },
    get checker() { return check(); },
    open(options = {}) {
      const app = `runtime-pg-${++appCount}`;
      const database = postgresDatabase({
        settings: localSettings('postgresql', options.target ?? server(), options.database ?? 'postgres', options.extra),
        applicationName: app,
        password: options.password,
        logger: options.logger,
      });
      opened.push(database);
      return { database, app };
    },
    async backendPids(app) {
      const { rows } = await check().query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid', [app]);
      return rows.map(row => row.pid);
    },
    async terminate(pid) {
      const { rows } = await check().query('SELECT pg_terminate_backend($1, 5000) AS terminated', [pid]);
      expect(rows).toEqual([{ terminated: true }]);
    },
    async restart() {
      await check().end();
      await server().restart();
      checker = await connectChecker(server());
    },
    async createDatabase(prefix, ...statements) {
      const name = await server().createDatabase(prefix);
      const admin = new Client(server().connectionConfig(name));
      await admin.connect();
      try {
        for (const statement of statements) await admin.query(statement);
      } finally {
        await admin.end();
      }
      return name;
    },
  };
}

async function connectChecker(postgres: PostgresServer): Promise<Client> {
  const client = new Client(postgres.connectionConfig());
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

function fail(message: string): never {
  throw new Error(message);
}

/** Resolves once `condition` holds; polls every 20 ms and throws after `timeoutMillis`. */
export async function waitFor(condition: () => Promise<boolean>, timeoutMillis = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise(resolve => setTimeout(resolve, 20));
  }
}
