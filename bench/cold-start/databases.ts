/**
 * The local database each handler's first query goes to, created the way a
 * deploy does it (the reference handler's migrations and its app user,
 * applied by the real bootstrap code), and logged in to the way a function
 * logs in to RDS Proxy: the runtime signs an IAM authentication token with
 * the credentials in its environment and sends it as a cleartext password
 * over verified TLS, and the server accepts it only after the token
 * verifier (token-verifier.ts) has checked its signature.
 *
 * - PostgreSQL (Debian's build, which has the `ldap` method): the app user
 *   is an IAM user as the bootstrap makes one on RDS, a member of rds_iam
 *   without a password; pg_hba.conf sends members of rds_iam to the
 *   verifier over TLS and refuses them without TLS.
 * - MariaDB: the app user authenticates through the PAM plugin, which asks
 *   for the password with mysql_clear_password (as RDS Proxy asks MySQL
 *   clients for the token), and requires TLS. The bootstrap's IAM users use
 *   RDS's AWSAuthenticationPlugin, which MariaDB lacks, so the bootstrap
 *   creates a password user and the benchmark switches it to PAM.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { bootstrap } from '../../lambda/bootstrap/bootstrap';
import type { DatabaseUser } from '../../lambda/bootstrap/plan';
import { readMigrations } from '../../lib/bootstrap/private/migrations';
import { PROJECT_ROOT } from '../../test/support/app';
import { HOST, makeServerDir } from '../../test/support/local-server';
import { startMariaDb, withConnection } from '../../test/support/mariadb';
import { withClient } from '../../test/support/postgres';
import { startSystemPostgres } from '../../test/support/system-postgres';
import { withConsoleLogTo } from '../console';
import { createLoopbackCertificate, TlsFiles } from '../tls';
import { DATABASE_USERS, HandlerName } from './bundles';
import { BENCH_CREDENTIALS, BENCH_REGION, Logins, startLdapTokenVerifier, startPamTokenVerifier, TokenVerifier } from './token-verifier';

/** AWS_LAMBDA_FUNCTION_NAME of the probes: the function name of the Lambda context probe.js passes. */
export const PROBE_FUNCTION_NAME = 'cold-start-bench';
/**
 * The host name the probes connect to, resolved as a proxy endpoint's is:
 * mysql2 checks a certificate's name only for a host name, never for an IP
 * address.
 */
const SERVER_NAME = 'localhost';

/** A running server with the handler's schema and user. */
export interface BenchDatabase {
  /**
   * The environment every variant runs with besides its own: the DATABASE_*
   * variables DatabaseFunction sets, pointed at the local server (IAM
   * authentication and TLS, the runtime's defaults), AWS_REGION and the
   * dummy credentials Lambda would set for the execution role,
   * AWS_LAMBDA_FUNCTION_NAME (with which the runtime refuses any local-only
   * password or plaintext setting), and NODE_EXTRA_CA_CERTS with the
   * server's self-signed certificate.
   */
  readonly environment: Readonly<Record<string, string>>;
  /** The logins the token verifier checked so far. */
  logins(): Logins;
  /** Stops the server and the verifier and deletes their files. */
  stop(): Promise<void>;
}

/** A server logged in to as its admin, for the bootstrap. */
interface AdminEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** A started verifier and server with the handler's database. */
interface Started {
  readonly verifier: TokenVerifier;
  readonly server: AdminEndpoint;
  readonly database: string;
  stop(): Promise<void>;
}

const ENGINES = { 'reference-api': 'postgresql', 'reference-worker': 'mysql' } as const;

/**
 * Starts the verifier and the server `handler` talks to (PostgreSQL or
 * MariaDB) with a certificate of its own, and bootstraps its database; `log`
 * gets the bootstrap's log lines.
 */
export async function startDatabase(handler: HandlerName, log: (line: string) => void): Promise<BenchDatabase> {
  const tlsDirectory = makeServerDir('cold-start-tls');
  try {
    return await startWithCertificate(handler, createLoopbackCertificate(tlsDirectory), log, () => fs.rmSync(tlsDirectory, { recursive: true, force: true }));
  } catch (error) {
    fs.rmSync(tlsDirectory, { recursive: true, force: true });
    throw error;
  }
}

async function startWithCertificate(handler: HandlerName, tls: TlsFiles, log: (line: string) => void, removeCertificate: () => void): Promise<BenchDatabase> {
  const user = DATABASE_USERS[handler];
  const runBootstrap = (server: AdminEndpoint, database: string, appUser: DatabaseUser) => withConsoleLogTo(log, () => bootstrap({
    engine: ENGINES[handler], host: server.host, port: server.port, database, user: server.user, password: server.password, tls: false,
  }, { migrations: readMigrations(path.join(PROJECT_ROOT, 'lambda', handler, 'migrations')), users: [appUser] }));
  const { verifier, server, database, stop } = handler === 'reference-api'
    ? await startPostgresWithIam(tls, user, runBootstrap)
    : await startMariaDbWithIam(tls, user, runBootstrap);
  verifier.allow({ host: SERVER_NAME, port: server.port }, user);
  return {
    environment: {
      DATABASE_HOST: SERVER_NAME,
      DATABASE_PORT: String(server.port),
      DATABASE_NAME: database,
      DATABASE_USER: user,
      DATABASE_ENGINE: ENGINES[handler],
      AWS_REGION: BENCH_REGION,
      AWS_ACCESS_KEY_ID: BENCH_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: BENCH_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: BENCH_CREDENTIALS.sessionToken,
      AWS_LAMBDA_FUNCTION_NAME: PROBE_FUNCTION_NAME,
      NODE_EXTRA_CA_CERTS: tls.certificateFile,
    },
    logins: () => verifier.logins(),
    async stop() {
      await stop();
      removeCertificate();
    },
  };
}

type Bootstrap = (server: AdminEndpoint, database: string, appUser: DatabaseUser) => Promise<unknown>;

function startPostgresWithIam(tls: TlsFiles, user: string, runBootstrap: Bootstrap): Promise<Started> {
  return startWithVerifier(startLdapTokenVerifier, verifier => startSystemPostgres({
    tls,
    hba: [`hostssl all +rds_iam ${HOST}/32 ${verifier.hbaMethod}`, `host all +rds_iam ${HOST}/32 reject`],
  }), async postgres => {
    // What RDS has: the role whose members log in with IAM tokens, which the bootstrap grants an IAM user.
    await withClient(postgres.connectionConfig(), client => client.query('CREATE ROLE rds_iam'));
    const database = await postgres.createDatabase('cold_start');
    await runBootstrap(postgres, database, { name: user, privileges: 'READ_WRITE', authentication: 'IAM' });
    return database;
  });
}

function startMariaDbWithIam(tls: TlsFiles, user: string, runBootstrap: Bootstrap): Promise<Started> {
  return startWithVerifier(startPamTokenVerifier, () => startMariaDb({ tls, cleartextPam: true }), async (mariadb, verifier) => {
    const database = await mariadb.createDatabase('cold_start');
    await runBootstrap(mariadb, database, { name: user, privileges: 'READ_WRITE', authentication: 'SECRET', password: randomBytes(18).toString('base64url') });
    await withConnection(mariadb.connectionOptions(), connection => connection.query(
      'ALTER USER ?@\'%\' IDENTIFIED VIA pam USING ? REQUIRE SSL', [user, verifier.pamService]));
    return database;
  });
}

/**
 * Starts a verifier, then the server that asks it, then has `prepare` create
 * and bootstrap the database (returning its name); stops whatever started
 * when a step fails.
 */
async function startWithVerifier<V extends TokenVerifier, S extends AdminEndpoint & { stop(): Promise<void> }>(
  startVerifier: () => Promise<V>, startServer: (verifier: V) => Promise<S>, prepare: (server: S, verifier: V) => Promise<string>,
): Promise<Started> {
  const verifier = await startVerifier();
  let server: S | undefined;
  const stop = async () => {
    await server?.stop();
    await verifier.stop();
  };
  try {
    server = await startServer(verifier);
    return { verifier, server, database: await prepare(server, verifier), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
