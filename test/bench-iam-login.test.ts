/**
 * How the cold-start benchmark's databases let the first query in: as RDS
 * Proxy does with IAM authentication, a token signed by the runtime's signer
 * sent as a cleartext password over TLS, checked by the token verifier.
 * Real PostgreSQL (ldap) and MariaDB (PAM, mysql_clear_password).
 */
import * as fs from 'fs';
import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { BenchDatabase, startDatabase } from '../bench/cold-start/databases';
import { BENCH_CREDENTIALS, BENCH_REGION, tokenProblem } from '../bench/cold-start/token-verifier';
import { signAuthToken } from '../lambda/runtime/credentials';

const endpoint = { host: 'localhost', port: 5432 };
const sign = (user: string, credentials = BENCH_CREDENTIALS, signedAt = new Date(), target = endpoint) =>
  signAuthToken({ ...target, user, region: BENCH_REGION }, credentials, signedAt);
const OTHER_CREDENTIALS = { ...BENCH_CREDENTIALS, secretAccessKey: 'another-secret-of-no-account-000000000000' };

describe('tokenProblem', () => {
  test('accepts a token the runtime signs with the benchmark credentials for the endpoint and the user', async () => {
    expect(await tokenProblem(await sign('app'), endpoint, 'app')).toBeUndefined();
  });

  test('refuses a token for another user, another endpoint, or signed with other credentials', async () => {
    expect(await tokenProblem(await sign('other'), endpoint, 'app')).toBe('signed for DBUser other, not app');
    expect(await tokenProblem(await sign('app', BENCH_CREDENTIALS, new Date(), { host: 'localhost', port: 3306 }), endpoint, 'app'))
      .toBe('signed for localhost:3306, not localhost:5432');
    expect(await tokenProblem(await sign('app', OTHER_CREDENTIALS), endpoint, 'app')).toBe('the signature does not match the benchmark credentials');
  });

  test('refuses an expired token, one signed in the future, and a password that is no token', async () => {
    const signedAt = new Date('2026-12-07T05:00:00Z');
    const token = await sign('app', BENCH_CREDENTIALS, signedAt);
    expect(await tokenProblem(token, endpoint, 'app', signedAt.getTime() + 900_000)).toBeUndefined();
    expect(await tokenProblem(token, endpoint, 'app', signedAt.getTime() + 901_000)).toBe('expired: signed 2026-12-07T05:00:00.000Z, valid for 900 s');
    expect(await tokenProblem(token, endpoint, 'app', signedAt.getTime() - 301_000)).toBe('signed in the future (2026-12-07T05:00:00.000Z)');
    expect(await tokenProblem('hunter2', endpoint, 'app')).toBe('not an authentication token (no "/?")');
  });

  test('the benchmark\'s tokens stay under the 511 bytes pam_exec passes on', async () => {
    const token = await sign('reference_worker', BENCH_CREDENTIALS, new Date(), { host: 'localhost', port: 65535 });
    expect(token).toContain('X-Amz-Security-Token=');
    expect(token.length).toBeLessThan(511);
  });
});

/** The server's endpoint, user and CA certificate as the probes get them. */
function probeSettings(database: BenchDatabase) {
  const { DATABASE_HOST: host, DATABASE_PORT: port, DATABASE_USER: user, DATABASE_NAME: name, NODE_EXTRA_CA_CERTS: caFile } = database.environment;
  return { host, port: Number(port), user, database: name, ca: fs.readFileSync(caFile, 'utf8') };
}

describe('PostgreSQL', () => {
  let database: BenchDatabase;
  beforeAll(async () => { database = await startDatabase('reference-api', () => undefined); }, 120_000);
  afterAll(() => database?.stop());

  const login = async (password: string, tls: boolean) => {
    const { host, port, user, database: name, ca } = probeSettings(database);
    const client = new Client({ host, port, user, database: name, password, ssl: tls ? { ca, rejectUnauthorized: true } : false });
    try {
      await client.connect();
      return (await client.query('SELECT current_user AS "user", ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const token = (credentials = BENCH_CREDENTIALS) => {
    const { host, port, user } = probeSettings(database);
    return sign(user, credentials, new Date(), { host, port });
  };

  test('the probe environment has IAM authentication and TLS, the runtime\'s defaults, and dummy credentials', () => {
    expect(database.environment).toMatchObject({
      DATABASE_HOST: 'localhost',
      DATABASE_ENGINE: 'postgresql',
      AWS_ACCESS_KEY_ID: BENCH_CREDENTIALS.accessKeyId,
      AWS_SESSION_TOKEN: BENCH_CREDENTIALS.sessionToken,
      AWS_LAMBDA_FUNCTION_NAME: 'cold-start-bench',
    });
    expect(Object.keys(database.environment).filter(key => ['DATABASE_AUTH', 'DATABASE_PASSWORD', 'DATABASE_TLS'].includes(key))).toEqual([]);
  });

  test('the app user logs in over verified TLS with a token signed by the runtime, which the verifier counts', async () => {
    const before = database.logins().accepted.reference_api ?? 0;
    expect(await login(await token(), true)).toEqual([{ user: 'reference_api', ssl: true }]);
    expect(database.logins().accepted.reference_api).toBe(before + 1);
  });

  test('a token signed with other credentials is refused, and the verifier says why', async () => {
    await expect(login(await token(OTHER_CREDENTIALS), true)).rejects.toThrow('LDAP authentication failed for user "reference_api"');
    expect(database.logins().refused).toContain('reference_api: the signature does not match the benchmark credentials');
  });

  test('without TLS the app user is refused before any password is asked', async () => {
    await expect(login(await token(), false)).rejects.toThrow(/pg_hba.conf rejects connection for host "127.0.0.1", user "reference_api", database "cold_start_[0-9a-f]+", no encryption/);
  });
});

describe('MariaDB', () => {
  let database: BenchDatabase;
  beforeAll(async () => { database = await startDatabase('reference-worker', () => undefined); }, 120_000);
  afterAll(() => database?.stop());

  const login = async (password: string, options: { tls: boolean; cleartext: boolean }) => {
    const { host, port, user, database: name, ca } = probeSettings(database);
    const connection = await createConnection({
      host, port, user, database: name, password, enableCleartextPlugin: options.cleartext,
      ...options.tls ? { ssl: { ca, rejectUnauthorized: true, verifyIdentity: true } } : {},
    });
    try {
      const [rows] = await connection.query("SELECT CURRENT_USER() AS user, VARIABLE_VALUE <> '' AS tls FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'");
      return rows;
    } finally {
      await connection.end().catch(() => undefined);
    }
  };
  const token = (credentials = BENCH_CREDENTIALS) => {
    const { host, port, user } = probeSettings(database);
    return sign(user, credentials, new Date(), { host, port });
  };

  test('the app user logs in with mysql_clear_password over verified TLS with a token signed by the runtime, which the verifier counts', async () => {
    const before = database.logins().accepted.reference_worker ?? 0;
    expect(await login(await token(), { tls: true, cleartext: true })).toEqual([{ user: 'reference_worker@%', tls: 1 }]);
    expect(database.logins().accepted.reference_worker).toBe(before + 1);
  });

  test('the server asks for the password with mysql_clear_password', async () => {
    await expect(login(await token(), { tls: true, cleartext: false })).rejects.toMatchObject({ code: 'MYSQL_CLEAR_PASSWORD_NOT_ENABLED' });
  });

  test('a token signed with other credentials is refused, and the verifier says why', async () => {
    await expect(login(await token(OTHER_CREDENTIALS), { tls: true, cleartext: true })).rejects.toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });
    expect(database.logins().refused).toContain('reference_worker: the signature does not match the benchmark credentials');
  });

  test('without TLS the app user is refused even with a good token', async () => {
    const refusedBefore = database.logins().refused.length;
    await expect(login(await token(), { tls: false, cleartext: true })).rejects.toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });
    expect(database.logins().refused).toHaveLength(refusedBefore);
  });
});
