/**
 * What RDS Proxy does with an IAM authentication token, locally: the
 * database server asks the client for its password in cleartext over TLS
 * and hands it here, and the login succeeds only if the password is a token
 * for the server's endpoint and the user, signed with the benchmark's dummy
 * credentials and not expired. The check re-signs the token with the same
 * SigV4 signer the runtime uses and compares the two, as AWS recomputes a
 * signature to check it.
 *
 * PostgreSQL hands the password over with its `ldap` method (a simple bind
 * to the LDAP server here), MariaDB with its PAM plugin, whose service runs
 * pam_exec with a small script that asks the same check over TCP.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { signAuthToken } from '../../lambda/runtime/credentials';
import { HOST, isRoot, makeServerDir } from '../../test/support/local-server';
import { bindResponse, LDAP_INVALID_CREDENTIALS, LDAP_SUCCESS, readMessage } from './ldap-bind';

/**
 * Credentials of no AWS account that the cold-start probes sign with, as a
 * function signs with its execution role's. The session token is short:
 * pam_exec hands a program at most 512 bytes of the password, and STS's
 * tokens of about 1 KB would make the token longer (the signing work is the
 * same; only the bytes sent grow).
 */
export const BENCH_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken: string } = {
  accessKeyId: 'ASIAEXAMPLEBENCH0001',
  secretAccessKey: 'benchColdStartDummySecretKeyOfNoAccount0',
  sessionToken: 'bench-cold-start-dummy-session-token',
};
export const BENCH_REGION = 'eu-west-1';

/** The longest password pam_exec passes on in full (PAM_MAX_RESP_SIZE, 512 bytes with the closing NUL). */
export const PAM_PASSWORD_LIMIT = 511;
/** Clock skew allowed for a token signed "in the future". */
const MAX_SKEW_MILLIS = 5 * 60_000;
/** PostgreSQL's simple bind names the user `cn=<user>,dc=rds-iam` (ldapprefix and ldapsuffix below). */
const LDAP_PREFIX = 'cn=';
const LDAP_SUFFIX = ',dc=rds-iam';
const PAM_SERVICE_DIR = '/etc/pam.d';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** What the verifier saw. */
export interface Logins {
  /** Accepted logins by user. */
  readonly accepted: Readonly<Record<string, number>>;
  /** Why each refused login was refused. */
  readonly refused: readonly string[];
}

export interface TokenVerifier {
  /** Accepts tokens for `user` signed for `endpoint` (the database server's, known once it runs); every other login is refused. */
  allow(endpoint: Endpoint, user: string): void;
  logins(): Logins;
  stop(): Promise<void>;
}

export interface LdapTokenVerifier extends TokenVerifier {
  /** The method and options of a pg_hba.conf line that has PostgreSQL ask this verifier. */
  readonly hbaMethod: string;
}

export interface PamTokenVerifier extends TokenVerifier {
  /** The PAM service (a file in /etc/pam.d, removed on stop) whose authentication asks this verifier. */
  readonly pamService: string;
}

/**
 * Why `token` is no valid IAM authentication token for `user` at `endpoint`
 * at `now`, signed with BENCH_CREDENTIALS; undefined when it is one.
 */
export async function tokenProblem(token: string, endpoint: Endpoint, user: string, now = Date.now()): Promise<string | undefined> {
  const query = token.indexOf('/?');
  if (query < 0) return 'not an authentication token (no "/?")';
  const signedFor = token.slice(0, query);
  if (signedFor !== `${endpoint.host}:${endpoint.port}`) return `signed for ${signedFor}, not ${endpoint.host}:${endpoint.port}`;
  const parameters = new URLSearchParams(token.slice(query + 2));
  if (parameters.get('Action') !== 'connect') return `Action is ${parameters.get('Action')}, not connect`;
  if (parameters.get('DBUser') !== user) return `signed for DBUser ${parameters.get('DBUser')}, not ${user}`;
  const signedAt = parseAmzDate(parameters.get('X-Amz-Date') ?? '');
  if (signedAt === undefined) return `X-Amz-Date ${parameters.get('X-Amz-Date')} is no date`;
  const expiresMillis = Number(parameters.get('X-Amz-Expires')) * 1000;
  if (!(now <= signedAt.getTime() + expiresMillis)) return `expired: signed ${signedAt.toISOString()}, valid for ${expiresMillis / 1000} s`;
  if (signedAt.getTime() > now + MAX_SKEW_MILLIS) return `signed in the future (${signedAt.toISOString()})`;
  const expected = await signAuthToken({ ...endpoint, user, region: BENCH_REGION }, BENCH_CREDENTIALS, signedAt);
  return expected === token ? undefined : 'the signature does not match the benchmark credentials';
}

/** A verifier PostgreSQL asks through LDAP (pg_hba.conf: `hostssl ... <hbaMethod>`). */
export async function startLdapTokenVerifier(): Promise<LdapTokenVerifier> {
  const checks = new Checks();
  const server = await listen(socket => serveLdap(socket, checks));
  const { port } = server.address() as net.AddressInfo;
  return {
    hbaMethod: `ldap ldapserver=${HOST} ldapport=${port} ldapprefix="${LDAP_PREFIX}" ldapsuffix="${LDAP_SUFFIX}"`,
    allow: (endpoint, user) => checks.allow(endpoint, user),
    logins: () => checks.logins(),
    stop: () => close(server),
  };
}

/**
 * A verifier MariaDB's PAM plugin asks: a PAM service whose pam_exec runs a
 * bash script that sends the user and password over TCP and succeeds on
 * "ok". Writing to /etc/pam.d needs root. A service file that a killed run
 * leaves behind names a script that is gone, so it lets nobody in.
 */
export async function startPamTokenVerifier(): Promise<PamTokenVerifier> {
  if (!isRoot()) throw new Error(`the PAM token verifier adds a service under ${PAM_SERVICE_DIR}, which needs root: run the benchmark as root`);
  const checks = new Checks();
  const server = await listen(socket => serveLines(socket, checks));
  const { port } = server.address() as net.AddressInfo;
  const dir = makeServerDir('token-verifier');
  // Run by pam_exec as whatever user the server's PAM runs as.
  fs.chmodSync(dir, 0o755);
  const script = path.join(dir, 'check-token.sh');
  fs.writeFileSync(script, pamScript(port), { mode: 0o755 });
  const pamService = `cdk-serverless-rds-bench-${randomBytes(4).toString('hex')}`;
  const serviceFile = path.join(PAM_SERVICE_DIR, pamService);
  fs.writeFileSync(serviceFile, [
    `auth required pam_exec.so expose_authtok quiet ${script}`,
    'account required pam_permit.so',
    '',
  ].join('\n'), { mode: 0o644 });
  return {
    pamService,
    allow: (endpoint, user) => checks.allow(endpoint, user),
    logins: () => checks.logins(),
    async stop() {
      fs.rmSync(serviceFile, { force: true });
      fs.rmSync(dir, { recursive: true, force: true });
      await close(server);
    },
  };
}

/** The allowed user and endpoint, and the tally of logins. */
class Checks {
  private allowed?: { readonly endpoint: Endpoint; readonly user: string };
  private readonly accepted: Record<string, number> = {};
  private readonly refused: string[] = [];

  allow(endpoint: Endpoint, user: string): void {
    this.allowed = { endpoint, user };
  }

  /** Checks one login; true when it may proceed. `knownProblem` refuses it outright. */
  async check(user: string, password: string, knownProblem?: string): Promise<boolean> {
    const problem = knownProblem
      ?? (!this.allowed ? 'no user is allowed yet'
        : user !== this.allowed.user ? `user ${user} is not ${this.allowed.user}`
          : await tokenProblem(password, this.allowed.endpoint, user));
    if (problem) {
      this.refused.push(`${user}: ${problem}`);
      return false;
    }
    this.accepted[user] = (this.accepted[user] ?? 0) + 1;
    return true;
  }

  logins(): Logins {
    return { accepted: { ...this.accepted }, refused: [...this.refused] };
  }
}

function serveLdap(socket: net.Socket, checks: Checks): void {
  let pending = Buffer.alloc(0);
  let busy = Promise.resolve();
  socket.on('data', chunk => {
    pending = Buffer.concat([pending, chunk]);
    busy = busy.then(async () => {
      for (let read = readMessage(pending); read; read = readMessage(pending)) {
        pending = pending.subarray(read.length);
        const { message } = read;
        if (message.kind === 'unbind') {
          socket.end();
          return;
        }
        const user = message.name.startsWith(LDAP_PREFIX) && message.name.endsWith(LDAP_SUFFIX)
          ? message.name.slice(LDAP_PREFIX.length, message.name.length - LDAP_SUFFIX.length)
          : message.name;
        const ok = await checks.check(user, message.password);
        socket.write(bindResponse(message.messageId, ok ? LDAP_SUCCESS : LDAP_INVALID_CREDENTIALS));
      }
    }).catch(() => {
      socket.destroy();
    });
  });
  socket.on('error', () => undefined);
}

/** The PAM script's protocol: "<user>\n<password>\n", answered with "ok\n" or "refused\n". */
function serveLines(socket: net.Socket, checks: Checks): void {
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
    const lines = received.split('\n');
    if (lines.length < 3) return;
    socket.removeAllListeners('data');
    const [user, password] = lines;
    const cut = password.length >= PAM_PASSWORD_LIMIT
      ? `the password reached pam_exec's limit of ${PAM_PASSWORD_LIMIT} bytes, so it may have been cut: shorten BENCH_CREDENTIALS.sessionToken`
      : undefined;
    checks.check(user, password, cut).then(ok => socket.end(ok ? 'ok\n' : 'refused\n'), () => socket.destroy());
  });
  socket.on('error', () => undefined);
}

/** pam_exec writes the password to the script's stdin; PAM_USER names the user. */
function pamScript(port: number): string {
  return [
    '#!/bin/bash',
    'IFS= read -r -d \'\' password',
    `exec 3<>/dev/tcp/${HOST}/${port} || exit 1`,
    'printf \'%s\\n%s\\n\' "$PAM_USER" "$password" >&3',
    'IFS= read -r verdict <&3',
    '[[ $verdict == ok ]]',
    '',
  ].join('\n');
}

/** 20261207T052000Z */
function parseAmzDate(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

function listen(onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer(onConnection);
    server.once('error', reject);
    server.listen(0, HOST, () => resolve(server));
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise(resolve => server.close(() => resolve()));
}
