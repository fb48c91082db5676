/**
 * The benchmark's database: migrated by the deploy-time bootstrap code with
 * the reference API's app user, seeded with items, and watched so that one
 * storm starts only when the previous one has left the server.
 */
import { randomBytes } from 'crypto';
import { REFERENCE_API_MIGRATIONS, REFERENCE_API_USER } from '../../bin/stacks/reference-api-stack';
import { readMigrations } from '../../lib/bootstrap/private/migrations';
import { bootstrap } from '../../lambda/bootstrap/bootstrap';
import { PostgresServer, withClient } from '../../test/support/postgres';
import { LocalEndpoint } from '../../test/support/settings';
import { withConsoleLogTo } from '../console';

export const SEEDED_ITEMS = 100;
const IDLE_POLL_MILLIS = 100;

export interface BenchmarkDatabase {
  readonly name: string;
  /** PostgreSQL itself, logging in as the app user. */
  readonly direct: LocalEndpoint;
  /**
   * Resolves once no session of the app user is left on the server;
   * rejects after `timeoutMillis`.
   */
  waitUntilIdle(timeoutMillis: number): Promise<void>;
}

/**
 * Creates a database on `postgres`, runs the reference API's migrations and
 * creates its app user with the bootstrap code the deploy runs, and seeds
 * `SEEDED_ITEMS` items. `log` gets the bootstrap's log lines.
 */
export async function prepareDatabase(postgres: PostgresServer, log: (line: string) => void): Promise<BenchmarkDatabase> {
  const name = await postgres.createDatabase('storm');
  const appPassword = randomBytes(18).toString('base64url');
  await withConsoleLogTo(log, () => bootstrap({
    engine: 'postgresql', host: postgres.host, port: postgres.port, database: name, user: postgres.user, password: postgres.password, tls: false,
  }, {
    migrations: readMigrations(REFERENCE_API_MIGRATIONS),
    users: [{ name: REFERENCE_API_USER, privileges: 'READ_WRITE', authentication: 'SECRET', password: appPassword }],
  }));

  await withClient(postgres.connectionConfig(name), client => client.query(`INSERT INTO items (name, idempotency_key, request_hash)
    SELECT 'item ' || i, 'seed-' || i, encode(sha256(convert_to('item ' || i, 'UTF8')), 'hex') FROM generate_series(1, $1::int) AS i`, [SEEDED_ITEMS]));

  return {
    name,
    direct: { host: postgres.host, port: postgres.port, user: REFERENCE_API_USER, password: appPassword },
    async waitUntilIdle(timeoutMillis) {
      const deadline = Date.now() + timeoutMillis;
      for (;;) {
        // A short connection each time: a superuser session held for the whole run would take one of the few slots from the app user.
        const sessions = await withClient(postgres.connectionConfig(name), async client => {
          const { rows } = await client.query<{ sessions: number }>('SELECT count(*)::int AS sessions FROM pg_stat_activity WHERE usename = $1', [REFERENCE_API_USER]);
          return rows[0].sessions;
        });
        if (sessions === 0) return;
        if (Date.now() > deadline) throw new Error(`${sessions} sessions of ${REFERENCE_API_USER} were still open ${timeoutMillis} ms after the run`);
        await new Promise(resolve => setTimeout(resolve, IDLE_POLL_MILLIS));
      }
    },
  };
}
