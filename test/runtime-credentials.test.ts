/**
 * IAM authentication tokens: signed with @smithy/signature-v4, byte for byte
 * what @aws-sdk/rds-signer signs, with the credentials from the environment
 * (as in Lambda) or, without them, from the AWS SDK's credential chain.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Signer } from '@aws-sdk/rds-signer';
import { CachedPassword, defaultCredentials, passwordSourceFor, settingsFromEnvironment, signAuthToken } from '../lambda/runtime';
import { prepareTmpRoot, TMP_ROOT } from './support/local-server';

const PROXY_HOST = 'my-proxy.proxy-abcdefghijkl.eu-west-1.rds.amazonaws.com';
const TARGET = { host: PROXY_HOST, port: 5432, user: 'app_user', region: 'eu-west-1' };
const SIGNED_AT = new Date('2026-11-20T10:11:12.000Z');
const KEYS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
/** Every variable the SDK's credential chain reads, so that none from the machine leaks into a test. */
const CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_EC2_METADATA_DISABLED',
];

let savedEnvironment: Record<string, string | undefined>;
beforeEach(() => {
  savedEnvironment = Object.fromEntries(CREDENTIAL_VARIABLES.map(key => [key, process.env[key]]));
  for (const key of CREDENTIAL_VARIABLES) delete process.env[key];
});
afterEach(() => {
  jest.useRealTimers();
  for (const [key, value] of Object.entries(savedEnvironment)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

/** What @aws-sdk/rds-signer returns for `credentials` at SIGNED_AT. */
async function rdsSignerToken(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): Promise<string> {
  jest.useFakeTimers({ now: SIGNED_AT, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask'] });
  try {
    return await new Signer({ hostname: TARGET.host, port: TARGET.port, username: TARGET.user, region: TARGET.region, credentials }).getAuthToken();
  } finally {
    jest.useRealTimers();
  }
}

describe('signAuthToken', () => {
  test('signs the same token as @aws-sdk/rds-signer for the same credentials and time, without a session token', async () => {
    const token = await signAuthToken(TARGET, KEYS, SIGNED_AT);
    expect(token).toBe(await rdsSignerToken(KEYS));
    expect(token).not.toContain('X-Amz-Security-Token');
  });

  test('signs the same token as @aws-sdk/rds-signer for the same credentials and time, with a session token', async () => {
    const credentials = { ...KEYS, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE/with+characters=to/escape' };
    const token = await signAuthToken(TARGET, credentials, SIGNED_AT);
    expect(token).toBe(await rdsSignerToken(credentials));
    expect(new URLSearchParams(token.slice(token.indexOf('?') + 1)).get('X-Amz-Security-Token')).toBe(credentials.sessionToken);
  });

  test('a token is the presigned connect URL for the proxy, its user and Region, valid for 15 minutes', async () => {
    const token = await signAuthToken(TARGET, KEYS, SIGNED_AT);
    expect(token.startsWith(`${PROXY_HOST}:5432/?`)).toBe(true);
    const query = new URLSearchParams(token.slice(token.indexOf('?') + 1));
    expect(query.get('Action')).toBe('connect');
    expect(query.get('DBUser')).toBe('app_user');
    expect(query.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261120/eu-west-1/rds-db/aws4_request');
    expect(query.get('X-Amz-Date')).toBe('20261120T101112Z');
    expect(query.get('X-Amz-Expires')).toBe('900');
    expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('defaultCredentials', () => {
  test('reads the keys and session token from the environment at every call, as Lambda sets them', async () => {
    const credentials = defaultCredentials();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDFIRST', AWS_SECRET_ACCESS_KEY: 'first', AWS_SESSION_TOKEN: 'session-1' });
    expect(await credentials()).toEqual({ accessKeyId: 'AKIDFIRST', secretAccessKey: 'first', sessionToken: 'session-1' });
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDSECOND', AWS_SECRET_ACCESS_KEY: 'second' });
    delete process.env.AWS_SESSION_TOKEN;
    expect(await credentials()).toEqual({ accessKeyId: 'AKIDSECOND', secretAccessKey: 'second' });
  });

  test('without keys in the environment, falls back to the SDK credential chain (here a shared credentials file)', async () => {
    prepareTmpRoot();
    const directory = fs.mkdtempSync(path.join(TMP_ROOT, 'credentials-'));
    try {
      const file = path.join(directory, 'credentials');
      fs.writeFileSync(file, '[bench]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = from-profile\n');
      Object.assign(process.env, {
        AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: path.join(directory, 'config'), AWS_PROFILE: 'bench', AWS_EC2_METADATA_DISABLED: 'true',
      });
      expect(await defaultCredentials()()).toEqual(expect.objectContaining({ accessKeyId: 'AKIDFROMPROFILE', secretAccessKey: 'from-profile' }));
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('passwordSourceFor', () => {
  const complete = {
    DATABASE_HOST: PROXY_HOST, DATABASE_PORT: '5432', DATABASE_NAME: 'app', DATABASE_USER: 'app_user', DATABASE_ENGINE: 'postgresql', AWS_REGION: 'eu-west-1',
  };

  test('with IAM authentication, signs a token for the proxy with the credentials of the environment', async () => {
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey, AWS_SESSION_TOKEN: 'session' });
    const token = await passwordSourceFor(settingsFromEnvironment({ ...complete, AWS_LAMBDA_FUNCTION_NAME: 'items' }))();
    const query = new URLSearchParams(token.slice(token.indexOf('?') + 1));
    expect(token.startsWith(`${PROXY_HOST}:5432/?`)).toBe(true);
    expect(query.get('DBUser')).toBe('app_user');
    expect(query.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/);
    expect(query.get('X-Amz-Security-Token')).toBe('session');
  });

  test('for a local password login, returns the password', async () => {
    const local = settingsFromEnvironment({ ...complete, DATABASE_AUTH: 'password', DATABASE_PASSWORD: 'pw' });
    expect(await passwordSourceFor(local)()).toBe('pw');
  });
});

describe('CachedPassword', () => {
  test('serves the cached password until it is older than the maximum age', async () => {
    let count = 0;
    const cache = new CachedPassword(async () => `token-${++count}`, 200);

    expect(await cache.current()).toBe('token-1');
    expect(await cache.current()).toBe('token-1');
    await new Promise(resolve => setTimeout(resolve, 250));
    expect(await cache.current()).toBe('token-2');
  });

  test('renew replaces the cached password', async () => {
    let count = 0;
    const cache = new CachedPassword(async () => `token-${++count}`);
    expect(await cache.current()).toBe('token-1');
    expect(await cache.renew()).toBe('token-2');
    expect(await cache.current()).toBe('token-2');
  });

  test('a failed fetch is not cached', async () => {
    const source = jest.fn<Promise<string>, []>().mockRejectedValueOnce(new Error('no credentials')).mockResolvedValue('token');
    const cache = new CachedPassword(source);
    await expect(cache.current()).rejects.toThrow('no credentials');
    expect(await cache.current()).toBe('token');
    expect(source).toHaveBeenCalledTimes(2);
  });
});
