/**
 * The local database each handler's first query goes to, created the way a
 * deploy does it: the reference handler's migrations and its app user, applied
 * by the real bootstrap code.
 */
import { randomBytes } from 'crypto';
import * as path from 'path';
import { bootstrap } from '../../lambda/bootstrap/bootstrap';
import { readMigrations } from '../../lib/private/migrations';
import { startMariaDb } from '../../test/support/mariadb';
import { startPostgres } from '../../test/support/postgres';
import { PROJECT_ROOT } from '../../test/support/app';
import { withConsoleLogTo } from '../console';
import { DATABASE_USERS, HandlerName } from './bundles';

/** A running server with the handler's schema and user. */
export interface BenchDatabase {
  /**
   * The connection settings every variant runs with: the DATABASE_* variables
   * DatabaseFunction sets, pointed at the local server, plus the local-only
   * password login without TLS (the runtime refuses both inside Lambda).
   */
  readonly environment: Readonly<Record<string, string>>;
  /** Stops the server and deletes its files. */
  stop(): Promise<void>;
}

interface Server {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  createDatabase(prefix?: string): Promise<string>;
  stop(): Promise<void>;
}

const ENGINES = { 'reference-api': 'postgresql', 'reference-worker': 'mysql' } as const;
const STARTERS: Record<HandlerName, () => Promise<Server>> = { 'reference-api': startPostgres, 'reference-worker': startMariaDb };
/** Signing Region of IAM tokens; required by the runtime even with password login. */
const REGION = 'eu-west-1';

/** Starts the server `handler` talks to (PostgreSQL or MariaDB) and bootstraps its database; `log` gets the bootstrap's log lines. */
export async function startDatabase(handler: HandlerName, log: (line: string) => void): Promise<BenchDatabase> {
  const server = await STARTERS[handler]();
  try {
    const engine = ENGINES[handler];
    const database = await server.createDatabase('cold_start');
    const user = DATABASE_USERS[handler];
    const password = randomBytes(18).toString('base64url');
    await withConsoleLogTo(log, () => bootstrap({ engine, host: server.host, port: server.port, database, user: server.user, password: server.password, tls: false }, {
      migrations: readMigrations(path.join(PROJECT_ROOT, 'lambda', handler, 'migrations')),
      users: [{ name: user, privileges: 'READ_WRITE', authentication: 'SECRET', password }],
    }));
    return {
      environment: {
        DATABASE_HOST: server.host,
        DATABASE_PORT: String(server.port),
        DATABASE_NAME: database,
        DATABASE_USER: user,
        DATABASE_ENGINE: engine,
        DATABASE_AUTH: 'password',
        DATABASE_PASSWORD: password,
        DATABASE_TLS: 'disable',
        AWS_REGION: REGION,
      },
      stop: () => server.stop(),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
