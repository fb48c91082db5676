/**
 * What a bootstrap run must do (migrations, users), how it arrives from
 * CloudFormation, and the checks it must pass before anything touches the
 * database. No database access here.
 */
import { createHash } from 'crypto';
import { userNameProblem } from './database-user-names';

export type Engine = 'postgresql' | 'mysql';
export type Privileges = 'READ_ONLY' | 'READ_WRITE';
export type Authentication = 'IAM' | 'SECRET';

export interface Migration {
  /** Digits, e.g. '0001'; migrations run in numeric version order. */
  readonly version: string;
  /** File name, e.g. '0001_create_items.sql'. */
  readonly name: string;
  /** SHA-256 (hex) of `sql`. */
  readonly checksum: string;
  readonly sql: string;
}

export interface DatabaseUser {
  readonly name: string;
  readonly privileges: Privileges;
  readonly authentication: Authentication;
  /** The password to set, for SECRET authentication only. */
  readonly password?: string;
  /**
   * SECRET authentication only: the last run already set the password from
   * the same secret, whose rotation now owns it. An existing user keeps its
   * password, so a run during a rotation never puts back the one the
   * rotation is replacing; a missing user is created with `password`.
   */
  readonly keepPassword?: boolean;
}

export interface BootstrapPlan {
  readonly migrations: readonly Migration[];
  readonly users: readonly DatabaseUser[];
}

/** The custom resource's ResourceProperties (every leaf a string, as CloudFormation passes them). */
export interface BootstrapProperties {
  readonly Engine: Engine;
  readonly Host: string;
  readonly Port: string;
  readonly DatabaseName: string;
  readonly AdminSecretArn: string;
  readonly Users: readonly UserProperties[];
  readonly Migrations: readonly MigrationProperties[];
}

export interface UserProperties {
  readonly Name: string;
  readonly Privileges: Privileges;
  readonly Authentication: Authentication;
  /** Required for SECRET authentication: a secret whose SecretString is JSON { username?, password }. */
  readonly SecretArn?: string;
}

export interface MigrationProperties {
  readonly Version: string;
  readonly Name: string;
  readonly Checksum: string;
  readonly Sql: string;
}

const ENGINES: readonly Engine[] = ['postgresql', 'mysql'];
const PRIVILEGES: readonly Privileges[] = ['READ_ONLY', 'READ_WRITE'];
const AUTHENTICATIONS: readonly Authentication[] = ['IAM', 'SECRET'];

const MIGRATION_NAME = /^\d+_[A-Za-z0-9_-]+\.sql$/;
const MIGRATION_VERSION = /^\d+$/;

/** Reads and type-checks the resource properties; content rules are checked by validatePlan. */
export function parseProperties(properties: Record<string, unknown>): BootstrapProperties {
  const text = (value: unknown, what: string): string => {
    if (typeof value !== 'string' || value === '') throw new Error(`bootstrap: ${what} must be a non-empty string`);
    return value;
  };
  const oneOf = <T extends string>(value: unknown, allowed: readonly T[], what: string): T => {
    if (!allowed.includes(value as T)) throw new Error(`bootstrap: ${what} must be one of ${allowed.join(', ')}, not '${String(value)}'`);
    return value as T;
  };
  // CloudFormation leaves out empty lists.
  const list = (value: unknown, what: string): Record<string, unknown>[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some(item => typeof item !== 'object' || item === null)) {
      throw new Error(`bootstrap: ${what} must be a list of objects`);
    }
    return value;
  };
  const port = text(properties.Port, 'Port');
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new Error(`bootstrap: Port must be a port number from 1 to 65535, not '${port}'`);
  }
  return {
    Engine: oneOf(properties.Engine, ENGINES, 'Engine'),
    Host: text(properties.Host, 'Host'),
    Port: port,
    DatabaseName: text(properties.DatabaseName, 'DatabaseName'),
    AdminSecretArn: text(properties.AdminSecretArn, 'AdminSecretArn'),
    Users: list(properties.Users, 'Users').map((user, index) => {
      const authentication = oneOf(user.Authentication, AUTHENTICATIONS, `Users[${index}].Authentication`);
      return {
        Name: text(user.Name, `Users[${index}].Name`),
        Privileges: oneOf(user.Privileges, PRIVILEGES, `Users[${index}].Privileges`),
        Authentication: authentication,
        SecretArn: authentication === 'SECRET' ? text(user.SecretArn, `Users[${index}].SecretArn (required for SECRET authentication)`) : undefined,
      };
    }),
    Migrations: list(properties.Migrations, 'Migrations').map((migration, index) => ({
      Version: text(migration.Version, `Migrations[${index}].Version`),
      Name: text(migration.Name, `Migrations[${index}].Name`),
      Checksum: text(migration.Checksum, `Migrations[${index}].Checksum`),
      Sql: sqlText(migration.Sql, `Migrations[${index}].Sql`),
    })),
  };
}

function sqlText(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`bootstrap: ${what} must be a string`);
  return value;
}

/**
 * Throws on the first problem with the plan: names, unique versions,
 * checksums that match their SQL, user names that are neither reserved nor
 * the admin's, passwords for SECRET users.
 */
export function validatePlan(plan: BootstrapPlan, engine: Engine, adminUser: string): void {
  const versions = new Map<bigint, string>();
  for (const migration of plan.migrations) {
    if (!MIGRATION_NAME.test(migration.name)) {
      throw new Error(`migration name '${migration.name}' must look like 0001_create_items.sql (digits, '_', letters, digits, '_' or '-', '.sql')`);
    }
    if (!MIGRATION_VERSION.test(migration.version) || !migration.name.startsWith(`${migration.version}_`)) {
      throw new Error(`migration ${migration.name} has version '${migration.version}'; the version must be the digits its name starts with`);
    }
    const sameVersion = versions.get(BigInt(migration.version));
    if (sameVersion !== undefined) {
      throw new Error(`migrations ${sameVersion} and ${migration.name} have the same version; give each migration its own number`);
    }
    versions.set(BigInt(migration.version), migration.name);
    if (migration.checksum !== sha256(migration.sql)) {
      throw new Error(`migration ${migration.name}: its checksum does not match its SQL (the resource properties are inconsistent)`);
    }
  }

  const names = new Set<string>();
  for (const user of plan.users) {
    const name = user.name;
    const problem = userNameProblem(name, engine);
    if (problem) {
      throw new Error(`user name '${name}' ${problem}`);
    }
    if (name === adminUser) {
      throw new Error(`user name '${name}' is the admin user's; application users must be separate accounts`);
    }
    if (names.has(name)) {
      throw new Error(`user '${name}' is listed twice; list each user once`);
    }
    names.add(name);
    if (user.authentication === 'SECRET' && !user.password) {
      throw new Error(`user '${name}' uses SECRET authentication but has no password`);
    }
  }
}

/** A row of the migrations table. */
export interface RecordedMigration {
  readonly version: string;
  readonly name: string;
  readonly checksum: string;
}

/** The migrations not recorded yet, in version order; throws if a recorded one was changed since. */
export function pendingMigrations(plan: BootstrapPlan, recorded: readonly RecordedMigration[]): Migration[] {
  const recordedByVersion = new Map(recorded.map(migration => [migration.version, migration]));
  for (const migration of plan.migrations) {
    const applied = recordedByVersion.get(migration.version);
    if (applied && (applied.checksum !== migration.checksum || applied.name !== migration.name)) {
      const what = applied.name === migration.name ? `migration ${migration.name}` : `migration ${migration.name} (applied as ${applied.name})`;
      throw new Error(`${what} was changed after it was applied; add a new migration instead`);
    }
  }
  return plan.migrations
    .filter(migration => !recordedByVersion.has(migration.version))
    .sort((a, b) => (BigInt(a.version) < BigInt(b.version) ? -1 : 1));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
