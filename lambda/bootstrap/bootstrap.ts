/**
 * The bootstrap run itself, independent of CloudFormation and Secrets
 * Manager: lock, migrations table, pending migrations in version order (each
 * exactly once), then users and their privileges (after the migrations, so
 * the grants cover new tables).
 */
import { escape as escapeMysql } from 'mysql2';
import { escapeLiteral } from 'pg';
import { connectMysql } from './mysql';
import { BootstrapPlan, pendingMigrations, validatePlan } from './plan';
import { connectPostgres } from './postgres';
import { AuthenticationError, ConnectionSettings, Session } from './session';

export interface BootstrapResult {
  /** Names of the migrations this run applied, in order. */
  readonly appliedMigrations: string[];
  /** The highest version recorded in the migrations table after the run, if any. */
  readonly schemaVersion?: string;
  /** Names of the users this run created (the others existed and were updated). */
  readonly createdUsers: string[];
}

export async function bootstrap(settings: ConnectionSettings, plan: BootstrapPlan): Promise<BootstrapResult> {
  validatePlan(plan, settings.engine, settings.user);
  const secrets = [settings.password, ...plan.users.map(user => user.password)].filter((secret): secret is string => !!secret);
  try {
    return await run(settings, plan);
  } catch (error) {
    // Engines quote statement text in some errors (MySQL syntax errors), and statements can hold passwords.
    const message = redact(error instanceof Error ? error.message : String(error), secrets);
    throw error instanceof AuthenticationError ? new AuthenticationError(message) : new Error(message);
  }
}

async function run(settings: ConnectionSettings, plan: BootstrapPlan): Promise<BootstrapResult> {
  const session = await (settings.engine === 'postgresql' ? connectPostgres : connectMysql)(settings);
  try {
    await session.lock();
    const recorded = await step(session, 'reading the migrations table', async () => {
      await session.ensureMigrationsTable();
      return session.recordedMigrations();
    });

    const appliedMigrations: string[] = [];
    for (const migration of pendingMigrations(plan, recorded)) {
      const started = Date.now();
      await step(session, `migration ${migration.name}`, () => session.applyMigration(migration));
      log({ event: 'migration-applied', migration: migration.name, millis: Date.now() - started });
      appliedMigrations.push(migration.name);
    }

    const createdUsers: string[] = [];
    for (const user of plan.users) {
      const created = await step(session, `configuring user ${user.name}`, () => session.configureUser(user));
      log({ event: created ? 'user-created' : 'user-updated', user: user.name, privileges: user.privileges, authentication: user.authentication });
      if (created) createdUsers.push(user.name);
    }

    const versions = [...recorded, ...plan.migrations].map(migration => migration.version);
    return { appliedMigrations, schemaVersion: highestVersion(versions), createdUsers };
  } finally {
    await session.close();
  }
}

/** Runs `work`, turning a database error into `<what> failed: <error with its code>`. */
async function step<T>(session: Session, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new Error(`${what} failed: ${session.describeError(error)}`);
  }
}

function highestVersion(versions: string[]): string | undefined {
  return versions.reduce<string | undefined>((highest, version) =>
    (highest === undefined || BigInt(version) > BigInt(highest) ? version : highest), undefined);
}

/** Replaces every secret, as written and as quoted in SQL by either engine, with '***'. */
export function redact(message: string, secrets: string[]): string {
  const forms = secrets.flatMap(secret => [secret, escapeLiteral(secret).replace(/^ ?E?'|'$/g, ''), escapeMysql(secret).slice(1, -1)]);
  return [...new Set(forms)]
    .sort((a, b) => b.length - a.length)
    .reduce((text, form) => text.split(form).join('***'), message);
}

function log(entry: Record<string, unknown>): void {
  console.log(JSON.stringify({ handler: 'bootstrap', ...entry }));
}
