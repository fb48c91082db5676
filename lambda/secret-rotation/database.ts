/**
 * What single-user rotation does in the database: log in as the user of a
 * secret, and change that user's own password. It reuses the bootstrap's
 * connections (verified TLS, errors that never show a password).
 */
import { escape as escapeMysql } from 'mysql2';
import type { RowDataPacket } from 'mysql2/promise';
import { escapeLiteral } from 'pg';
import { openMysqlConnection } from '../bootstrap/mysql';
import type { Engine } from '../bootstrap/plan';
import { openPostgresClient, postgresPassword } from '../bootstrap/postgres';
import type { ConnectionSettings } from '../bootstrap/session';

/** Where the database is; the user and password come from the secret. */
export interface DatabaseLocation {
  readonly engine: Engine;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** Verified TLS; only local tests turn it off. */
  readonly tls: boolean;
}

export interface UserCredentials {
  readonly username: string;
  readonly password: string;
}

/** One login as a user, for the statements rotation runs. */
export interface UserSession {
  /** Sets the logged-in user's own password; the session stays open. */
  changeOwnPassword(password: string): Promise<void>;
  /** Runs a query, proving the login works. */
  check(): Promise<void>;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MILLIS = 5_000;
const STATEMENT_TIMEOUT_MILLIS = 10_000;
const APPLICATION_NAME = 'cdk-serverless-rds-secret-rotation';

/** Logs in as `credentials.username`; throws `AuthenticationError` when the password is refused. */
export async function loginAs(location: DatabaseLocation, credentials: UserCredentials): Promise<UserSession> {
  const settings: ConnectionSettings = {
    ...location,
    user: credentials.username,
    password: credentials.password,
    connectTimeoutMillis: CONNECT_TIMEOUT_MILLIS,
    statementTimeoutMillis: STATEMENT_TIMEOUT_MILLIS,
  };
  if (location.engine === 'postgresql') {
    const client = await openPostgresClient(settings, APPLICATION_NAME);
    return {
      // A role may change its own password without privileges; the server gets a SCRAM verifier, never the password.
      changeOwnPassword: async password => { await client.query(`ALTER ROLE CURRENT_USER WITH PASSWORD ${escapeLiteral(postgresPassword(password))}`); },
      check: async () => { await client.query('SELECT 1'); },
      close: () => client.end().catch(() => undefined),
    };
  }
  const connection = await openMysqlConnection(settings);
  const run = (sql: string) => connection.query<RowDataPacket[]>({ sql, timeout: STATEMENT_TIMEOUT_MILLIS });
  return {
    // SET PASSWORD for the session's own account needs no privilege. MySQL 8 hashes the literal
    // itself; MariaDB (the tests' stand-in) expects a hash, which PASSWORD() computes.
    changeOwnPassword: async password => {
      const [[{ version }]] = await run('SELECT VERSION() AS version');
      await run(/mariadb/i.test(String(version)) ? `SET PASSWORD = PASSWORD(${escapeMysql(password)})` : `SET PASSWORD = ${escapeMysql(password)}`);
    },
    check: async () => { await run('SELECT 1'); },
    close: () => connection.end().catch(() => connection.destroy()),
  };
}
