/**
 * Custom resource handler (Custom::DatabaseBootstrap) that migrates a
 * database and sets up its application users on Create and Update, and
 * leaves the database alone on Delete (data and users outlive the stack
 * resource). It runs in the VPC, where CloudFormation's response URL is out
 * of reach: the stack's custom resource function invokes it synchronously
 * and answers with its result or error (see ../custom-resource/relay).
 *
 * ResourceProperties (see BootstrapProperties in ./plan):
 *   { ServiceToken, HandlerArn, Engine: 'postgresql' | 'mysql', Host, Port, DatabaseName, AdminSecretArn,
 *     Users: [{ Name, Privileges: 'READ_ONLY' | 'READ_WRITE', Authentication: 'IAM' | 'SECRET', SecretArn? }],
 *     Migrations: [{ Version, Name, Checksum, Sql }] }
 *
 * Connects directly to the writer endpoint (not the proxy) with the admin
 * credentials of AdminSecretArn, over verified TLS. RDS rotates that secret
 * on its own schedule: when the database refuses the password, the handler
 * reads the secret again and retries, so a rotation that completes while the
 * handler runs costs a few seconds instead of the deployment.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { bootstrap, BootstrapResult } from './bootstrap';
import { BootstrapPlan, BootstrapProperties, DatabaseUser, parseProperties } from './plan';
import { AuthenticationError, ConnectionSettings } from './session';
import { CustomResourceResult, polling, RemainingTime } from '../custom-resource/polling';

export interface BootstrapHandlerOptions {
  /** Returns the SecretString of a secret (JSON with username and password). */
  readonly readSecret: (secretArn: string) => Promise<string>;
  /**
   * Verified TLS to the database. Turn off only for local tests and development.
   * @default true
   */
  readonly tls?: boolean;
  /**
   * Time kept back from the Lambda deadline when setting the statement
   * timeout: a statement the server cancels rolls back cleanly, while one cut
   * off by the Lambda timeout leaves a session behind that holds the lock.
   * @default 30 s
   */
  readonly deadlineMarginMillis?: number;
  /**
   * How long to wait before each new login when the database refuses the
   * admin password; the secret is read again before each. Managed rotation
   * usually completes within a minute.
   * @default 2, 5, 10, 20 and 30 s (67 s in all)
   */
  readonly loginRetryDelaysMillis?: readonly number[];
  /** @default a setTimeout-based sleep */
  readonly sleep?: (millis: number) => Promise<void>;
}

export type BootstrapHandler = (event: CloudFormationCustomResourceEvent, context?: RemainingTime) => Promise<CustomResourceResult>;

const MIN_STATEMENT_TIMEOUT_MILLIS = 1_000;
const LOGIN_RETRY_DELAYS_MILLIS = [2_000, 5_000, 10_000, 20_000, 30_000];

export function createHandler(options: BootstrapHandlerOptions): BootstrapHandler {
  const deadlineMarginMillis = options.deadlineMarginMillis ?? 30_000;
  const retryDelays = options.loginRetryDelaysMillis ?? LOGIN_RETRY_DELAYS_MILLIS;
  const clock = polling({ sleep: options.sleep, deadlineMarginMillis });

  return async (event, context) => {
    if (event.RequestType === 'Delete') {
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const properties = parseProperties(event.ResourceProperties);
    const passwordsSetBefore = event.RequestType === 'Update' ? secretsOfLastRun(event.OldResourceProperties) : new Map<string, string>();
    const users = await Promise.all(properties.Users.map(async (user): Promise<DatabaseUser> => ({
      name: user.Name,
      privileges: user.Privileges,
      authentication: user.Authentication,
      password: user.SecretArn ? await userPassword(options.readSecret, user.SecretArn, user.Name) : undefined,
      keepPassword: user.SecretArn !== undefined && passwordsSetBefore.get(user.Name) === user.SecretArn,
    })));
    const plan: BootstrapPlan = {
      migrations: properties.Migrations.map(migration => ({
        version: migration.Version,
        name: migration.Name,
        checksum: migration.Checksum,
        sql: migration.Sql,
      })),
      users,
    };
    const settings = (admin: Required<Credentials>): ConnectionSettings => ({
      engine: properties.Engine,
      host: properties.Host,
      port: Number(properties.Port),
      database: properties.DatabaseName,
      user: admin.username,
      password: admin.password,
      tls: options.tls ?? true,
      statementTimeoutMillis: context
        ? Math.max(MIN_STATEMENT_TIMEOUT_MILLIS, context.getRemainingTimeInMillis() - deadlineMarginMillis)
        : undefined,
    });

    let result: BootstrapResult | undefined;
    for (let attempt = 0; result === undefined; attempt++) {
      const admin = await adminCredentials(options.readSecret, properties.AdminSecretArn);
      try {
        result = await bootstrap(settings(admin), plan);
      } catch (error) {
        const outOfTime = clock.now() + retryDelays[attempt] > clock.deadline(context);
        if (!(error instanceof AuthenticationError) || attempt >= retryDelays.length || outOfTime) throw error;
        console.log(JSON.stringify({ handler: 'bootstrap', event: 'admin-login-refused', attempt: attempt + 1, retryInMillis: retryDelays[attempt] }));
        await clock.sleep(retryDelays[attempt]);
      }
    }

    return {
      PhysicalResourceId: physicalResourceId(properties),
      Data: { AppliedMigrations: result.appliedMigrations.join(','), SchemaVersion: result.schemaVersion ?? '' },
    };
  };
}

export const handler: BootstrapHandler = createHandler({ readSecret: secretsManagerReader(new SecretsManagerClient({})) });

/**
 * The secret of each SECRET user of the last run, by user name. Their
 * passwords were set from these secrets then; since then their rotation owns
 * them, and a run that set them again from the secret could undo a rotation
 * in progress (the database already has the new password, the secret's
 * AWSCURRENT still the old one).
 */
function secretsOfLastRun(oldProperties: Record<string, unknown>): Map<string, string> {
  const users = Array.isArray(oldProperties.Users) ? oldProperties.Users as Array<Record<string, unknown>> : [];
  return new Map(users
    .filter(user => user?.Authentication === 'SECRET' && typeof user.Name === 'string' && typeof user.SecretArn === 'string')
    .map(user => [user.Name as string, user.SecretArn as string]));
}

/** Stable for a database, whatever its migrations and users: an Update never replaces the resource. */
function physicalResourceId(properties: BootstrapProperties): string {
  return `bootstrap:${properties.Host}:${properties.DatabaseName}`;
}

interface Credentials {
  readonly username?: string;
  readonly password: string;
}

/** Reads { username?, password } from a secret; errors name the secret, never its content. */
async function readCredentials(readSecret: BootstrapHandlerOptions['readSecret'], secretArn: string, what: string): Promise<Credentials> {
  const secretString = await readSecret(secretArn).catch((error: unknown) => {
    throw new Error(`cannot read ${what} ${secretArn}: ${error instanceof Error ? error.message : String(error)}`);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    parsed = undefined;
  }
  const { username, password } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value !== '';
  if (!nonEmpty(password) || (username !== undefined && !nonEmpty(username))) {
    throw new Error(`${what} ${secretArn} must hold JSON with a non-empty string password (and username)`);
  }
  return { username, password };
}

async function adminCredentials(readSecret: BootstrapHandlerOptions['readSecret'], secretArn: string): Promise<Required<Credentials>> {
  const { username, password } = await readCredentials(readSecret, secretArn, 'the admin secret');
  if (username === undefined) throw new Error(`the admin secret ${secretArn} has no username`);
  return { username, password };
}

/** A SECRET user's password; the secret's username, if it has one, must be the user's name (RDS Proxy logs in with it). */
async function userPassword(readSecret: BootstrapHandlerOptions['readSecret'], secretArn: string, name: string): Promise<string> {
  const credentials = await readCredentials(readSecret, secretArn, `the secret of user ${name}`);
  if (credentials.username !== undefined && credentials.username !== name) {
    throw new Error(`the secret of user ${name} (${secretArn}) is for user '${credentials.username}'; its username must be ${name}`);
  }
  return credentials.password;
}

function secretsManagerReader(client: SecretsManagerClient): BootstrapHandlerOptions['readSecret'] {
  return async secretArn => {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (SecretString === undefined) throw new Error('the secret has no SecretString (binary secrets are not supported)');
    return SecretString;
  };
}
