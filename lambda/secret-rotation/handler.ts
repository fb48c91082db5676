/**
 * Single-user rotation of a database user's secret, invoked by Secrets
 * Manager once per step of its rotation protocol: createSecret (a new
 * password as version AWSPENDING), setSecret (the user changes its own
 * password to it), testSecret (a login with it) and finishSecret (AWSPENDING
 * becomes AWSCURRENT). Each step can run again after a failure and finds its
 * work done.
 *
 * The secret holds only `username` and `password` (what RDS Proxy reads);
 * where the database is comes from the environment: DATABASE_ENGINE
 * ('postgresql' | 'mysql'), DATABASE_HOST, DATABASE_PORT and DATABASE_NAME.
 * New passwords have CREDENTIAL_LENGTH characters without
 * CREDENTIAL_EXCLUDE_CHARACTERS, like the ones the secret was generated with.
 *
 * @see https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html
 */
import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { redact } from '../bootstrap/bootstrap';
import type { Engine } from '../bootstrap/plan';
import { AuthenticationError } from '../bootstrap/session';
import { DatabaseLocation, loginAs, UserCredentials, UserSession } from './database';

/** What Secrets Manager sends. */
export interface RotationEvent {
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly Step: string;
}

/** The five Secrets Manager calls rotation makes; a `SecretsManagerClient` satisfies it. */
export interface SecretsManagerApi {
  send(command: DescribeSecretCommand): Promise<{ VersionIdsToStages?: Record<string, string[]> }>;
  send(command: GetSecretValueCommand): Promise<{ SecretString?: string }>;
  send(command: PutSecretValueCommand): Promise<unknown>;
  send(command: UpdateSecretVersionStageCommand): Promise<unknown>;
  send(command: GetRandomPasswordCommand): Promise<{ RandomPassword?: string }>;
}

export interface RotationOptions {
  readonly secretsManager: SecretsManagerApi;
  readonly location: DatabaseLocation;
  readonly passwordLength: number;
  readonly excludeCharacters: string;
}

export type RotationHandler = (event: RotationEvent) => Promise<void>;

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';
const PREVIOUS = 'AWSPREVIOUS';

export function createRotationHandler(options: RotationOptions): RotationHandler {
  const { secretsManager: client, location } = options;

  async function stagesById(secretId: string): Promise<Record<string, string[]>> {
    const { VersionIdsToStages } = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
    return VersionIdsToStages ?? {};
  }

  /** The credentials of one version; undefined when it does not exist (no AWSPREVIOUS yet, no AWSPENDING value yet). */
  async function credentials(secretId: string, stage: string, versionId?: string): Promise<UserCredentials | undefined> {
    let secretString: string | undefined;
    try {
      ({ SecretString: secretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage, VersionId: versionId })));
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
    return parseCredentials(secretString, `${stage} of ${secretId}`);
  }

  async function required(secretId: string, stage: string, versionId?: string): Promise<UserCredentials> {
    const found = await credentials(secretId, stage, versionId);
    if (!found) throw new Error(`secret ${secretId} has no ${stage} version${versionId ? ` ${versionId}` : ''}`);
    return found;
  }

  /** A session as `user`, or undefined when the database refuses that password. */
  async function tryLogin(user: UserCredentials): Promise<UserSession | undefined> {
    try {
      return await loginAs(location, user);
    } catch (error) {
      if (error instanceof AuthenticationError) return undefined;
      throw error;
    }
  }

  const steps: Record<string, (secretId: string, token: string) => Promise<void>> = {
    async createSecret(secretId, token) {
      const current = await required(secretId, CURRENT);
      if (await credentials(secretId, PENDING, token)) return;
      const { RandomPassword } = await client.send(new GetRandomPasswordCommand({
        PasswordLength: options.passwordLength,
        ExcludeCharacters: options.excludeCharacters,
      }));
      if (!RandomPassword) throw new Error('Secrets Manager returned no random password');
      await client.send(new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: token,
        SecretString: JSON.stringify({ ...current, password: RandomPassword }),
        VersionStages: [PENDING],
      }));
    },

    async setSecret(secretId, token) {
      const pending = await required(secretId, PENDING, token);
      const current = await required(secretId, CURRENT);
      if (pending.username !== current.username) {
        throw new Error(`the pending version of ${secretId} is for user '${pending.username}', not '${current.username}'`);
      }
      const alreadySet = await tryLogin(pending);
      if (alreadySet) {
        await alreadySet.close();
        return;
      }
      // The previous password still works when an earlier rotation changed it in the database but failed before finishing.
      const previous = await credentials(secretId, PREVIOUS);
      const session = await tryLogin(current) ?? (previous?.username === current.username ? await tryLogin(previous) : undefined);
      if (!session) {
        throw new Error(`cannot log in to the database as ${current.username} with the pending, current or previous password of ${secretId}`);
      }
      try {
        await session.changeOwnPassword(pending.password);
      } catch (error) {
        const secrets = [pending.password, current.password, previous?.password].filter((value): value is string => !!value);
        throw new Error(`changing the password of ${current.username} failed: ${redact(error instanceof Error ? error.message : String(error), secrets)}`);
      } finally {
        await session.close();
      }
    },

    async testSecret(secretId, token) {
      const pending = await required(secretId, PENDING, token);
      const session = await loginAs(location, pending);
      try {
        await session.check();
      } finally {
        await session.close();
      }
    },

    async finishSecret(secretId, token) {
      const current = Object.entries(await stagesById(secretId)).find(([, stages]) => stages.includes(CURRENT))?.[0];
      if (current === token) return;
      await client.send(new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: CURRENT,
        MoveToVersionId: token,
        RemoveFromVersionId: current,
      }));
    },
  };

  return async ({ SecretId: secretId, ClientRequestToken: token, Step: step }) => {
    const run = Object.prototype.hasOwnProperty.call(steps, step) ? steps[step] : undefined;
    if (!run) throw new Error(`unknown rotation step '${step}'`);
    const stages = (await stagesById(secretId))[token];
    if (!stages) throw new Error(`secret ${secretId} has no version ${token} to rotate to`);
    if (stages.includes(CURRENT)) {
      log({ event: 'already-current', step, secretId });
      return;
    }
    if (!stages.includes(PENDING)) throw new Error(`version ${token} of secret ${secretId} is not AWSPENDING`);
    await run(secretId, token);
    log({ event: 'step-done', step, secretId });
  };
}

function parseCredentials(secretString: string | undefined, what: string): UserCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString ?? '');
  } catch {
    parsed = undefined;
  }
  const { username, password } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (typeof username !== 'string' || username === '' || typeof password !== 'string' || password === '') {
    throw new Error(`${what} must hold JSON with a non-empty username and password`);
  }
  return { ...(parsed as object), username, password };
}

/** The settings from the environment, checked strictly. */
export function locationFromEnvironment(environment: NodeJS.ProcessEnv): Omit<RotationOptions, 'secretsManager'> {
  const text = (name: string): string => {
    const value = environment[name];
    if (!value) throw new Error(`environment variable ${name} must be set`);
    return value;
  };
  const engine = text('DATABASE_ENGINE');
  if (engine !== 'postgresql' && engine !== 'mysql') throw new Error(`DATABASE_ENGINE must be postgresql or mysql, not '${engine}'`);
  const port = Number(text('DATABASE_PORT'));
  const passwordLength = Number(text('CREDENTIAL_LENGTH'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`DATABASE_PORT must be a port number, not '${environment.DATABASE_PORT}'`);
  if (!Number.isInteger(passwordLength) || passwordLength < 8) throw new Error(`CREDENTIAL_LENGTH must be a whole number of at least 8, not '${environment.CREDENTIAL_LENGTH}'`);
  return {
    location: { engine: engine as Engine, host: text('DATABASE_HOST'), port, database: text('DATABASE_NAME'), tls: true },
    passwordLength,
    excludeCharacters: environment.CREDENTIAL_EXCLUDE_CHARACTERS ?? '',
  };
}

function log(entry: Record<string, unknown>): void {
  console.log(JSON.stringify({ handler: 'secret-rotation', ...entry }));
}

let configured: RotationHandler | undefined;

export const handler: RotationHandler = event => {
  configured ??= createRotationHandler({ secretsManager: new SecretsManagerClient({}), ...locationFromEnvironment(process.env) });
  return configured(event);
};
