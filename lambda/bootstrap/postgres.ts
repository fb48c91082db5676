import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'crypto';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import type { DatabaseUser, Migration, RecordedMigration } from './plan';
import { connectionError, ConnectionSettings, DEFAULT_CONNECT_TIMEOUT_MILLIS, DEFAULT_STATEMENT_TIMEOUT_MILLIS, Session } from './session';

/**
 * Advisory lock key of bootstrap runs (advisory locks are per database, so
 * one key serves every database). Derived from a name so it will not collide
 * with keys an application picks by hand.
 */
const LOCK_KEY = BigInt.asIntN(64, BigInt(`0x${createHash('sha256').update('cdk-serverless-rds/bootstrap').digest('hex').slice(0, 16)}`)).toString();

const SCHEMA = 'public';
const MIGRATIONS_TABLE = `${SCHEMA}.schema_migrations`;

/**
 * Dropped connections (e.g. when Lambda kills a timed-out run) would leave a
 * transaction open and block the next run; the server ends those sessions.
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MILLIS = 60_000;

/** SQLSTATE invalid_password: wrong password (or a user without one). */
const INVALID_PASSWORD = '28P01';

export interface PostgresRoleState {
  readonly exists: boolean;
  /** Member of rds_iam: then RDS accepts only IAM tokens for it. */
  readonly iamMember: boolean;
}

export async function connectPostgres(settings: ConnectionSettings): Promise<Session> {
  const statementTimeoutMillis = settings.statementTimeoutMillis ?? DEFAULT_STATEMENT_TIMEOUT_MILLIS;
  const client = await openPostgresClient(settings, 'cdk-serverless-rds-bootstrap');

  async function inTransaction(work: () => Promise<void>): Promise<void> {
    await client.query('BEGIN');
    try {
      await work();
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  return {
    async lock() {
      try {
        await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
      } catch (error) {
        throw new Error(`waiting for another bootstrap run on database ${settings.database} failed `
          + `(statement timeout ${statementTimeoutMillis} ms): ${describePostgresError(error)}`);
      }
    },
    async ensureMigrationsTable() {
      await client.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
        version text PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    },
    async recordedMigrations() {
      const { rows } = await client.query<RecordedMigration>(`SELECT version, name, checksum FROM ${MIGRATIONS_TABLE}`);
      return rows;
    },
    async applyMigration(migration: Migration) {
      await inTransaction(async () => {
        // Sent without parameters, so one migration may hold many statements.
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, checksum) VALUES ($1, $2, $3)`,
          [migration.version, migration.name, migration.checksum]);
      });
    },
    async configureUser(user: DatabaseUser) {
      const { rows: [state] } = await client.query<PostgresRoleState>(`SELECT
          EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS "exists",
          EXISTS (SELECT 1 FROM pg_auth_members m
                  JOIN pg_roles grp ON grp.oid = m.roleid
                  JOIN pg_roles member ON member.oid = m.member
                  WHERE grp.rolname = 'rds_iam' AND member.rolname = $1) AS "iamMember"`, [user.name]);
      // One transaction: a user whose privileges are re-applied never loses them in between.
      await inTransaction(async () => {
        for (const statement of postgresUserStatements(user, settings.database, state)) {
          await client.query(statement);
        }
      });
      return !state.exists;
    },
    describeError: describePostgresError,
    async close() {
      // Ending the session also releases the advisory lock.
      await client.end().catch(() => undefined);
    },
  };
}

/**
 * A client logged in as `settings.user` over verified TLS (unless turned off
 * for local tests), whose statements the server cancels after the statement
 * timeout. A refused password throws `AuthenticationError`; every error
 * names the server and the user, never the password.
 */
export async function openPostgresClient(settings: ConnectionSettings, applicationName: string): Promise<Client> {
  const client = new Client({
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    password: settings.password,
    ssl: settings.tls ? { rejectUnauthorized: true } : false,
    connectionTimeoutMillis: settings.connectTimeoutMillis ?? DEFAULT_CONNECT_TIMEOUT_MILLIS,
    statement_timeout: settings.statementTimeoutMillis ?? DEFAULT_STATEMENT_TIMEOUT_MILLIS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MILLIS,
    keepAlive: true,
    application_name: applicationName,
  });
  // A connection lost between queries is reported as an 'error' event, which
  // would crash the process without a listener; the next query fails anyway.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectionError('PostgreSQL', settings, describePostgresError(error), (error as { code?: string }).code === INVALID_PASSWORD);
  }
  return client;
}

/**
 * The statements that create or update `user` so that it has exactly the
 * privileges of its level on the tables and sequences of schema public, now
 * and for tables the admin creates later. Never revokes anything outside
 * schema public, and keeps application users out of the migrations table.
 * An existing password user whose password rotation owns (`keepPassword`)
 * keeps it.
 */
export function postgresUserStatements(user: DatabaseUser, database: string, state: PostgresRoleState): string[] {
  const role = escapeIdentifier(user.name);
  const schema = escapeIdentifier(SCHEMA);
  const password = user.authentication === 'IAM' ? 'NULL' : escapeLiteral(postgresPassword(user.password!));
  const keepsPassword = user.authentication === 'SECRET' && user.keepPassword === true && state.exists && !state.iamMember;
  const readWrite = user.privileges === 'READ_WRITE';
  const tablePrivileges = readWrite ? 'SELECT, INSERT, UPDATE, DELETE' : 'SELECT';
  return [
    `${state.exists ? 'ALTER' : 'CREATE'} ROLE ${role} WITH LOGIN${keepsPassword ? '' : ` PASSWORD ${password}`}`,
    ...(user.authentication === 'IAM' ? [`GRANT rds_iam TO ${role}`] : []),
    ...(user.authentication === 'SECRET' && state.iamMember ? [`REVOKE rds_iam FROM ${role}`] : []),
    `GRANT CONNECT ON DATABASE ${escapeIdentifier(database)} TO ${role}`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${role}`,
    `REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${role}`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${role}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE ALL ON TABLES FROM ${role}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE ALL ON SEQUENCES FROM ${role}`,
    `GRANT ${tablePrivileges} ON ALL TABLES IN SCHEMA ${schema} TO ${role}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT ${tablePrivileges} ON TABLES TO ${role}`,
    ...(readWrite ? [
      `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`,
      `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${role}`,
    ] : []),
    `REVOKE ALL ON ${MIGRATIONS_TABLE} FROM ${role}`,
  ];
}

/**
 * What goes after PASSWORD: a SCRAM-SHA-256 verifier computed here, so the
 * password itself never reaches the server's statement logs. PostgreSQL
 * applies SASLprep to non-ASCII passwords before hashing; rather than
 * reimplement it, those are sent as they are and hashed by the server.
 */
export function postgresPassword(password: string): string {
  return /^[\x00-\x7f]*$/.test(password) ? scramSha256Verifier(password) : password;
}

/** The verifier PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802/7677, PostgreSQL's format). */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const saltedPassword = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export function describePostgresError(error: unknown): string {
  const { message, code, detail, hint } = error as { message?: string; code?: string; detail?: string; hint?: string };
  const parts = [`${message ?? String(error)}${code ? ` (${/^[0-9A-Z]{5}$/.test(code) ? 'SQLSTATE ' : ''}${code})` : ''}`];
  if (detail) parts.push(`detail: ${detail}`);
  if (hint) parts.push(`hint: ${hint}`);
  return parts.join('; ');
}
