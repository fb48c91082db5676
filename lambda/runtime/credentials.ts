import { Sha256 } from '@smithy/core/checksum';
import { buildQueryString, HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { DatabaseSettings, SettingsError } from './settings';

/** Where connection passwords come from: an IAM token signer, or anything a test or tool supplies. */
export type PasswordSource = () => Promise<string>;

/** What an IAM authentication token is signed for. */
export type TokenTarget = Pick<DatabaseSettings, 'host' | 'port' | 'user' | 'region'>;

/**
 * IAM tokens are valid for 15 minutes and checked only at connect; renewing
 * after 10 leaves a margin for clock skew and a slow connect.
 */
export const TOKEN_MAX_AGE_MILLIS = 10 * 60_000;

/** How long RDS and RDS Proxy accept a token after signing (the most they allow). */
const TOKEN_EXPIRES_IN_SECONDS = 900;

/**
 * The AWS SDK's default credential chain (profiles, SSO, web identity,
 * container and instance roles). Loaded by name at run time, so that bundlers
 * leave it out: in Lambda the credentials are always in the environment, and
 * the chain with the SDK core under it would cost every cold start tens of
 * milliseconds of loading for nothing.
 */
const CREDENTIAL_CHAIN_PACKAGE = '@aws-sdk/credential-provider-node';

/**
 * The password source `settings` call for: IAM authentication tokens signed
 * locally with the function's credentials, or the configured password of a
 * local development database.
 */
export function passwordSourceFor(settings: DatabaseSettings): PasswordSource {
  if (settings.authentication === 'password') {
    const password = settings.password ?? '';
    return async () => password;
  }
  const credentials = defaultCredentials();
  return async () => signAuthToken(settings, await credentials());
}

/**
 * An IAM authentication token for RDS Proxy (or RDS): the URL
 * `host:port/?Action=connect&DBUser=...` presigned with Signature Version 4
 * for the `rds-db` service, valid for 15 minutes. Byte for byte what
 * `@aws-sdk/rds-signer` returns for the same credentials and time, signed
 * with the same SigV4 implementation but without loading the SDK's
 * credential chain.
 */
export async function signAuthToken(target: TokenTarget, credentials: AwsCredentialIdentity, signingDate: Date = new Date()): Promise<string> {
  const signer = new SignatureV4({ service: 'rds-db', region: target.region, credentials, sha256: Sha256 });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname: target.host,
    port: target.port,
    query: { Action: 'connect', DBUser: target.user },
    headers: { host: `${target.host}:${target.port}` },
  });
  const presigned = await signer.presign(request, { expiresIn: TOKEN_EXPIRES_IN_SECONDS, signingDate });
  return `${presigned.hostname}:${presigned.port}${presigned.path}?${buildQueryString(presigned.query ?? {})}`;
}

/**
 * The credentials tokens are signed with: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN when the environment has them
 * (Lambda sets them for the execution role), read at every call; otherwise
 * the AWS SDK's default credential chain, loaded on first use from
 * `@aws-sdk/credential-provider-node`.
 */
export function defaultCredentials(env: NodeJS.ProcessEnv = process.env): AwsCredentialIdentityProvider {
  let chain: AwsCredentialIdentityProvider | undefined;
  return async () => {
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
    if (accessKeyId && secretAccessKey) return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
    chain ??= loadCredentialChain();
    return chain();
  };
}

function loadCredentialChain(): AwsCredentialIdentityProvider {
  let chain: typeof import('@aws-sdk/credential-provider-node');
  try {
    chain = require(CREDENTIAL_CHAIN_PACKAGE);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
    throw new SettingsError(`AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, so the IAM authentication token needs the AWS SDK's `
      + `credential chain, and ${CREDENTIAL_CHAIN_PACKAGE} is not installed: install it next to cdk-serverless-rds, or set the variables `
      + '(Lambda sets them for the execution role)');
  }
  return chain.defaultProvider();
}

/**
 * Caches the latest password from a source, so warm reconnects skip signing,
 * and renews it on demand after the server refused it.
 */
export class CachedPassword {
  private value?: { readonly password: Promise<string>; readonly fetchedAt: number };

  constructor(private readonly source: PasswordSource, private readonly maxAgeMillis = TOKEN_MAX_AGE_MILLIS) {}

  /** The cached password while it is younger than the maximum age, otherwise a new one. */
  current(): Promise<string> {
    if (this.value && Date.now() - this.value.fetchedAt < this.maxAgeMillis) return this.value.password;
    return this.renew();
  }

  /** A new password from the source, replacing the cached one. */
  renew(): Promise<string> {
    const password = this.source();
    const entry = { password, fetchedAt: Date.now() };
    this.value = entry;
    // A failed fetch is not cached: the next call asks the source again.
    password.catch(() => {
      if (this.value === entry) this.value = undefined;
    });
    return password;
  }
}
