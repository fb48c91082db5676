/**
 * The single-user rotation handler against real servers: PostgreSQL
 * (embedded, see ./support/postgres) and MariaDB (the local stand-in for
 * MySQL, see ./support/mariadb). Users are created with the bootstrap's own
 * statements. Secrets Manager is an in-memory double of the five calls the
 * handler makes, with its version and staging-label rules (there is no AWS
 * account here); TLS is off because the local servers have none.
 */
import { randomBytes, randomUUID } from 'crypto';
import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { RowDataPacket } from 'mysql2/promise';
import { mysqlUserStatements } from '../lambda/bootstrap/mysql';
import { postgresUserStatements } from '../lambda/bootstrap/postgres';
import { DatabaseLocation } from '../lambda/secret-rotation/database';
import { createRotationHandler, locationFromEnvironment, RotationHandler } from '../lambda/secret-rotation/handler';
import { MariaDbServer, startMariaDb, withConnection } from './support/mariadb';
import { captureConsoleLog } from './support/output';
import { PostgresServer, startPostgres, withClient } from './support/postgres';

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';
const PREVIOUS = 'AWSPREVIOUS';
const EXCLUDE_CHARACTERS = ' %+~`#$&*()|[]{}:;<>?!\'/@"\\';
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

interface Version {
  value?: string;
  stages: string[];
}

function notFound(what: string): Error {
  return Object.assign(new Error(`Secrets Manager can't find ${what}`), { name: 'ResourceNotFoundException' });
}

/**
 * Secrets Manager for one process: secrets with versions and staging labels
 * (each label on at most one version; moving AWSCURRENT moves AWSPREVIOUS to
 * the version that had it), the five commands the handler sends, and
 * `rotate`, which starts a rotation like RotateSecret (a new version that
 * holds only the AWSPENDING label) and invokes the handler for each step.
 */
class FakeSecretsManager {
  readonly calls: string[] = [];
  /** Whether GetRandomPassword answers with a password. */
  answersRandomPasswords = true;
  private readonly secrets = new Map<string, Map<string, Version>>();

  /** A new secret whose AWSCURRENT holds `value`: an object as JSON, a string as it is. */
  create(value: object | string): string {
    const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:user-${randomBytes(3).toString('hex')}-AbCdEf`;
    this.secrets.set(arn, new Map([[randomUUID(), { value: typeof value === 'string' ? value : JSON.stringify(value), stages: [CURRENT] }]]));
    return arn;
  }

  /** Like RotateSecret: a new version that holds only AWSPENDING, then every step. */
  async rotate(handler: RotationHandler, arn: string, steps = STEPS): Promise<string> {
    const token = randomUUID();
    this.versions(arn).set(token, { stages: [] });
    this.label(arn, PENDING, token);
    for (const step of steps) {
      await handler({ SecretId: arn, ClientRequestToken: token, Step: step });
    }
    return token;
  }

  /** The parsed value of the version that holds `stage`. */
  value(arn: string, stage: string): Record<string, string> | undefined {
    const version = [...this.versions(arn).values()].find(v => v.stages.includes(stage));
    return version?.value === undefined ? undefined : JSON.parse(version.value);
  }

  stages(arn: string): Record<string, string[]> {
    return Object.fromEntries([...this.versions(arn)].filter(([, v]) => v.stages.length > 0).map(([id, v]) => [id, [...v.stages].sort()]));
  }

  /** Puts a value with labels directly, like an operator would. */
  put(arn: string, value: object, stages: string[]): string {
    const id = randomUUID();
    this.versions(arn).set(id, { value: JSON.stringify(value), stages: [] });
    for (const stage of stages) this.label(arn, stage, id);
    return id;
  }

  readonly send = async (command: unknown): Promise<any> => {
    if (command instanceof DescribeSecretCommand) {
      this.calls.push('DescribeSecret');
      return { VersionIdsToStages: this.stages(command.input.SecretId!) };
    }
    if (command instanceof GetSecretValueCommand) {
      const { SecretId, VersionId, VersionStage } = command.input;
      this.calls.push(`GetSecretValue ${VersionStage}`);
      const versions = this.versions(SecretId!);
      const stage = VersionStage ?? (VersionId ? undefined : CURRENT);
      const [id, version] = [...versions].find(([vid, v]) => (VersionId === undefined || vid === VersionId) && (stage === undefined || v.stages.includes(stage))) ?? [];
      if (!id || version?.value === undefined) throw notFound(`a value for ${VersionStage ?? VersionId}`);
      return { ARN: SecretId, VersionId: id, SecretString: version.value, VersionStages: version.stages };
    }
    if (command instanceof PutSecretValueCommand) {
      const { SecretId, ClientRequestToken, SecretString, VersionStages } = command.input;
      this.calls.push('PutSecretValue');
      const versions = this.versions(SecretId!);
      const version = versions.get(ClientRequestToken!) ?? { stages: [] };
      if (version.value !== undefined && version.value !== SecretString) throw new Error('ResourceExistsException: a version with this token has another value');
      version.value = SecretString;
      versions.set(ClientRequestToken!, version);
      for (const stage of VersionStages ?? [CURRENT]) this.label(SecretId!, stage, ClientRequestToken!);
      return {};
    }
    if (command instanceof UpdateSecretVersionStageCommand) {
      const { SecretId, VersionStage, MoveToVersionId, RemoveFromVersionId } = command.input;
      this.calls.push(`UpdateSecretVersionStage ${VersionStage}`);
      const holder = [...this.versions(SecretId!)].find(([, v]) => v.stages.includes(VersionStage!))?.[0];
      if (holder !== undefined && holder !== RemoveFromVersionId) throw new Error('InvalidParameterException: the label is attached to another version than RemoveFromVersionId');
      this.label(SecretId!, VersionStage!, MoveToVersionId!);
      return {};
    }
    if (command instanceof GetRandomPasswordCommand) {
      this.calls.push('GetRandomPassword');
      const { PasswordLength, ExcludeCharacters } = command.input;
      const allowed = [...Array(94)].map((_, i) => String.fromCharCode(33 + i)).filter(c => !(ExcludeCharacters ?? '').includes(c));
      if (!this.answersRandomPasswords) return {};
      return { RandomPassword: [...randomBytes(PasswordLength!)].map(byte => allowed[byte % allowed.length]).join('') };
    }
    throw new Error(`the double does not implement ${(command as object).constructor.name}`);
  };

  private versions(arn: string): Map<string, Version> {
    const versions = this.secrets.get(arn);
    if (!versions) throw notFound(arn);
    return versions;
  }

  private label(arn: string, stage: string, id: string): void {
    const versions = this.versions(arn);
    const previousHolder = [...versions].find(([, v]) => v.stages.includes(stage))?.[0];
    for (const version of versions.values()) version.stages = version.stages.filter(s => s !== stage);
    versions.get(id)!.stages.push(stage);
    if (stage === CURRENT && previousHolder !== undefined && previousHolder !== id) this.label(arn, PREVIOUS, previousHolder);
  }
}

const suffix = () => randomBytes(3).toString('hex');
const password = () => randomBytes(15).toString('base64url');

const loggedLines = captureConsoleLog();

/** The behaviour both engines share, against a user created by the bootstrap's statements. */
interface EngineSetup {
  /** A new user (READ_WRITE on the table `items`) whose secret holds `userPassword`. */
  createUser(userPassword: string): Promise<{ name: string }>;
  /** Resolves when `name` logs in with `userPassword` and may still read and write `items`. */
  canWork(name: string, userPassword: string): Promise<void>;
  readonly location: DatabaseLocation;
  readonly refusedLogin: RegExp;
}

function rotationTests(engine: string, setup: () => EngineSetup): void {
  let secrets: FakeSecretsManager;
  let handler: RotationHandler;
  let db: EngineSetup;

  beforeEach(() => {
    db = setup();
    secrets = new FakeSecretsManager();
    handler = createRotationHandler({ secretsManager: secrets, location: db.location, passwordLength: 30, excludeCharacters: EXCLUDE_CHARACTERS });
  });

  test(`${engine}: a rotation sets a new generated password in the database and the secret; the old one stops working`, async () => {
    const oldPassword = password();
    const { name } = await db.createUser(oldPassword);
    const arn = secrets.create({ username: name, password: oldPassword });

    const token = await secrets.rotate(handler, arn);

    const current = secrets.value(arn, CURRENT)!;
    expect(current.username).toBe(name);
    expect(current.password).toHaveLength(30);
    expect([...current.password].filter(c => EXCLUDE_CHARACTERS.includes(c))).toEqual([]);
    expect(secrets.value(arn, PREVIOUS)).toEqual({ username: name, password: oldPassword });
    expect(secrets.stages(arn)[token]).toEqual([CURRENT, PENDING]);
    await db.canWork(name, current.password);
    await expect(db.canWork(name, oldPassword)).rejects.toThrow(db.refusedLogin);
    expect(loggedLines().map(line => JSON.parse(line))).toEqual(STEPS.map(step => ({ handler: 'secret-rotation', event: 'step-done', step, secretId: arn })));
  });

  test(`${engine}: every step can run again after a failure and finds its work done`, async () => {
    const oldPassword = password();
    const { name } = await db.createUser(oldPassword);
    const arn = secrets.create({ username: name, password: oldPassword });

    await secrets.rotate(handler, arn, ['createSecret', 'createSecret', 'setSecret', 'setSecret', 'testSecret', 'testSecret', 'finishSecret', 'finishSecret']);

    expect(secrets.calls.filter(call => call === 'PutSecretValue' || call === 'GetRandomPassword')).toEqual(['GetRandomPassword', 'PutSecretValue']);
    expect(secrets.calls.filter(call => call.startsWith('UpdateSecretVersionStage'))).toEqual([`UpdateSecretVersionStage ${CURRENT}`]);
    await db.canWork(name, secrets.value(arn, CURRENT)!.password);
    expect(loggedLines().map(line => JSON.parse(line).event)).toEqual([...Array(7)].map(() => 'step-done').concat(['already-current']));
  });

  test(`${engine}: logs in with the previous password when an earlier change never reached AWSCURRENT`, async () => {
    const previousPassword = password();
    const { name } = await db.createUser(previousPassword);
    const arn = secrets.create({ username: name, password: previousPassword });
    // An operator put a new current version, but the database still has the previous password.
    secrets.put(arn, { username: name, password: password() }, [CURRENT]);

    await secrets.rotate(handler, arn);

    await db.canWork(name, secrets.value(arn, CURRENT)!.password);
  });

  test(`${engine}: fails without changing anything when no password of the secret works, naming the user but no password`, async () => {
    const { name } = await db.createUser(password());
    const secretPassword = password();
    const arn = secrets.create({ username: name, password: secretPassword });

    const failure = secrets.rotate(handler, arn);

    await expect(failure).rejects.toThrow(`cannot log in to the database as ${name} with the pending, current or previous password of ${arn}`);
    await expect(failure).rejects.not.toThrow(secretPassword);
    expect(secrets.value(arn, CURRENT)).toEqual({ username: name, password: secretPassword });
  });

  test(`${engine}: refuses a token that is not pending and does nothing for one that is already current`, async () => {
    const userPassword = password();
    const { name } = await db.createUser(userPassword);
    const arn = secrets.create({ username: name, password: userPassword });
    const [currentId] = Object.keys(secrets.stages(arn));
    const stray = secrets.put(arn, { username: name, password: password() }, []);

    await expect(handler({ SecretId: arn, ClientRequestToken: randomUUID(), Step: 'createSecret' })).rejects.toThrow(`has no version`);
    await handler({ SecretId: arn, ClientRequestToken: currentId, Step: 'setSecret' });
    await expect(handler({ SecretId: arn, ClientRequestToken: stray, Step: 'setSecret' })).rejects.toThrow(`secret ${arn} has no version ${stray} to rotate to`);
    await expect(handler({ SecretId: arn, ClientRequestToken: currentId, Step: 'dropTable' })).rejects.toThrow("unknown rotation step 'dropTable'");
    await db.canWork(name, userPassword);
    expect(secrets.calls.filter(call => call === 'PutSecretValue')).toEqual([]);
  });

  test(`${engine}: refuses a version that is no longer pending, a pending version for another user, and a step before its value exists`, async () => {
    const userPassword = password();
    const { name } = await db.createUser(userPassword);
    const arn = secrets.create({ username: name, password: userPassword });
    const [firstId] = Object.keys(secrets.stages(arn));
    await secrets.rotate(handler, arn);

    await expect(handler({ SecretId: arn, ClientRequestToken: firstId, Step: 'finishSecret' }))
      .rejects.toThrow(`version ${firstId} of secret ${arn} is not AWSPENDING`);
    const emptyToken = await secrets.rotate(handler, arn, []);
    await expect(handler({ SecretId: arn, ClientRequestToken: emptyToken, Step: 'setSecret' }))
      .rejects.toThrow(`secret ${arn} has no AWSPENDING version ${emptyToken}`);
    const otherToken = secrets.put(arn, { username: 'someone_else', password: password() }, [PENDING]);
    await expect(handler({ SecretId: arn, ClientRequestToken: otherToken, Step: 'setSecret' }))
      .rejects.toThrow(`the pending version of ${arn} is for user 'someone_else', not '${name}'`);
  });

  test(`${engine}: refuses a secret that does not hold JSON credentials, naming the version but not the value`, async () => {
    const arn = secrets.create('not-json-but-a-password');

    const failure = secrets.rotate(handler, arn);

    await expect(failure).rejects.toThrow(`AWSCURRENT of ${arn} must hold JSON with a non-empty username and password`);
    await expect(failure).rejects.not.toThrow('not-json-but-a-password');
  });

  test(`${engine}: fails when Secrets Manager returns no random password`, async () => {
    const userPassword = password();
    const { name } = await db.createUser(userPassword);
    const arn = secrets.create({ username: name, password: userPassword });
    secrets.answersRandomPasswords = false;

    await expect(secrets.rotate(handler, arn)).rejects.toThrow('Secrets Manager returned no random password');
  });
}

describe('PostgreSQL', () => {
  let postgres: PostgresServer;
  let database: string;

  beforeAll(async () => {
    postgres = await startPostgres();
    database = await postgres.createDatabase('rotation');
    await withClient(postgres.connectionConfig(database), async client => {
      // The bootstrap's statements keep users out of the migrations table, so it must exist.
      await client.query('CREATE TABLE schema_migrations (version text PRIMARY KEY)');
      await client.query('CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL)');
    });
  });

  afterAll(async () => {
    await postgres?.stop();
  });

  rotationTests('PostgreSQL', () => ({
    location: { engine: 'postgresql', host: postgres.host, port: postgres.port, database, tls: false },
    refusedLogin: /password authentication failed/,
    async createUser(userPassword) {
      const name = `app_${suffix()}`;
      await withClient(postgres.connectionConfig(database), async client => {
        for (const statement of postgresUserStatements({ name, privileges: 'READ_WRITE', authentication: 'SECRET', password: userPassword }, database, { exists: false, iamMember: false })) {
          await client.query(statement);
        }
      });
      return { name };
    },
    async canWork(name, userPassword) {
      await withClient({ ...postgres.connectionConfig(database), user: name, password: userPassword }, async client => {
        await client.query("INSERT INTO items (name) VALUES ('rotated')");
        await client.query('SELECT count(*) FROM items');
      });
    },
  }));

  test('a user that may not change its password fails the step with the server error, and no password in it', async () => {
    const name = `readonly_${suffix()}`;
    const userPassword = password();
    await withClient(postgres.connectionConfig(database), async client => {
      await client.query(`CREATE ROLE ${name} LOGIN PASSWORD ${client.escapeLiteral(userPassword)}`);
      // Every transaction of the role is read-only, and ALTER ROLE cannot run in one.
      await client.query(`ALTER ROLE ${name} SET default_transaction_read_only = on`);
    });
    const secrets = new FakeSecretsManager();
    const handler = createRotationHandler({
      secretsManager: secrets,
      location: { engine: 'postgresql', host: postgres.host, port: postgres.port, database, tls: false },
      passwordLength: 30,
      excludeCharacters: EXCLUDE_CHARACTERS,
    });
    const arn = secrets.create({ username: name, password: userPassword });

    const failure = secrets.rotate(handler, arn);

    await expect(failure).rejects.toThrow(`changing the password of ${name} failed: cannot execute ALTER ROLE in a read-only transaction`);
    await expect(failure).rejects.not.toThrow(userPassword);
    expect(secrets.value(arn, CURRENT)).toEqual({ username: name, password: userPassword });
  });
});

describe('MariaDB (MySQL)', () => {
  let mariadb: MariaDbServer;
  let database: string;

  beforeAll(async () => {
    mariadb = await startMariaDb();
    database = await mariadb.createDatabase('rotation');
    await withConnection(mariadb.connectionOptions(database), connection => connection.query('CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL)'));
  });

  afterAll(async () => {
    await mariadb?.stop();
  });

  rotationTests('MariaDB', () => ({
    location: { engine: 'mysql', host: mariadb.host, port: mariadb.port, database, tls: false },
    refusedLogin: /Access denied for user/,
    async createUser(userPassword) {
      const name = `app_${suffix()}`;
      await withConnection(mariadb.connectionOptions(database), async connection => {
        for (const statement of mysqlUserStatements({ name, privileges: 'READ_WRITE', authentication: 'SECRET', password: userPassword }, database)) {
          await connection.query(statement);
        }
      });
      return { name };
    },
    async canWork(name, userPassword) {
      await withConnection({ ...mariadb.connectionOptions(database), user: name, password: userPassword }, async connection => {
        await connection.query("INSERT INTO items (name) VALUES ('rotated')");
        await connection.query<RowDataPacket[]>('SELECT COUNT(*) AS count FROM items');
      });
    },
  }));
});

describe('settings from the environment', () => {
  const environment = {
    DATABASE_ENGINE: 'mysql', DATABASE_HOST: 'writer.example', DATABASE_PORT: '3307', DATABASE_NAME: 'app',
    CREDENTIAL_LENGTH: '30', CREDENTIAL_EXCLUDE_CHARACTERS: '/@"',
  };

  test('reads the database location and the password rules, with verified TLS', () => {
    expect(locationFromEnvironment(environment)).toEqual({
      location: { engine: 'mysql', host: 'writer.example', port: 3307, database: 'app', tls: true },
      passwordLength: 30,
      excludeCharacters: '/@"',
    });
  });

  test.each([
    [{ DATABASE_HOST: undefined }, 'environment variable DATABASE_HOST must be set'],
    [{ DATABASE_ENGINE: 'oracle' }, "DATABASE_ENGINE must be postgresql or mysql, not 'oracle'"],
    [{ DATABASE_PORT: '70000' }, "DATABASE_PORT must be a port number, not '70000'"],
    [{ CREDENTIAL_LENGTH: '4' }, "CREDENTIAL_LENGTH must be a whole number of at least 8, not '4'"],
  ])('refuses %p', (change, message) => {
    expect(() => locationFromEnvironment({ ...environment, ...change })).toThrow(message);
  });
});
