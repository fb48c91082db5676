import type { DatabaseUser, Engine, Migration, RecordedMigration } from './plan';

/** How to reach the database as its admin user. */
export interface ConnectionSettings {
  readonly engine: Engine;
  /** The writer endpoint (a direct connection: locks and DDL do not belong behind a proxy). */
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /**
   * Verified TLS (Node's CA store, which NODE_EXTRA_CA_CERTS extends with the
   * RDS CA bundle in Lambda). Only local tests and development turn it off.
   */
  readonly tls: boolean;
  /** @default 10 s */
  readonly connectTimeoutMillis?: number;
  /**
   * Longest time any one statement (a migration, or waiting for another run's
   * lock) may take.
   * @default 10 min
   */
  readonly statementTimeoutMillis?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MILLIS = 10_000;
export const DEFAULT_STATEMENT_TIMEOUT_MILLIS = 600_000;

/**
 * The server refused the user name and password. Rotation changes passwords
 * while other runs hold the old one, so a caller may read the secret again
 * and retry; nothing ran on the server before this error.
 */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

/** One admin connection and the engine-specific SQL a bootstrap run needs. */
export interface Session {
  /** Waits until no other bootstrap run works on this database; held until close(). */
  lock(): Promise<void>;
  ensureMigrationsTable(): Promise<void>;
  recordedMigrations(): Promise<RecordedMigration[]>;
  /** Runs the migration and records it, in one transaction as far as the engine allows. */
  applyMigration(migration: Migration): Promise<void>;
  /** Creates the user if missing and sets its authentication and privileges; true if it was created. */
  configureUser(user: DatabaseUser): Promise<boolean>;
  /** The error as a one-line message with the engine's error code. */
  describeError(error: unknown): string;
  close(): Promise<void>;
}

/** A failed login, naming the server and the user but never the password; an `AuthenticationError` when the password was refused. */
export function connectionError(product: string, settings: ConnectionSettings, description: string, passwordRefused: boolean): Error {
  const message = `cannot connect to ${product} at ${settings.host}:${settings.port} (database ${settings.database}) as ${settings.user}: ${description}`;
  return passwordRefused ? new AuthenticationError(message) : new Error(message);
}
