/**
 * The database bootstrap handler against real servers: PostgreSQL (embedded,
 * see ./support/postgres) and MariaDB (the local stand-in for MySQL, see
 * ./support/mariadb). Each test gets its own database; user names carry a
 * random suffix because users are server-wide. Secrets Manager is a fake
 * (no AWS account here); TLS is off because the local servers have none.
 */
import { randomBytes } from 'crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Connection, RowDataPacket } from 'mysql2/promise';
import { Client, ClientConfig } from 'pg';
import { createHandler } from '../lambda/bootstrap/handler';
import { mysqlUserStatements } from '../lambda/bootstrap/mysql';
import { MigrationProperties, sha256, UserProperties } from '../lambda/bootstrap/plan';
import { postgresUserStatements } from '../lambda/bootstrap/postgres';
import { MariaDbServer, startMariaDb, withConnection } from './support/mariadb';
import { captureConsoleLog } from './support/output';
import { PostgresServer, startPostgres, withClient } from './support/postgres';

// ---------------------------------------------------------------------------
// Helpers shared by both engines

/** A fake Secrets Manager: secrets by ARN, and the ARNs that were read. */
class FakeSecrets {
  readonly reads: string[] = [];
  private readonly values = new Map<string, string>();
  private count = 0;

  readonly readSecret = async (arn: string): Promise<string> => {
    this.reads.push(arn);
    const value = this.values.get(arn);
    if (value === undefined) throw new Error(`ResourceNotFoundException: Secrets Manager can't find the specified secret.`);
    const next = this.afterFirstRead.get(arn);
    if (next !== undefined) {
      this.values.set(arn, next);
      this.afterFirstRead.delete(arn);
    }
    return value;
  };

  private readonly afterFirstRead = new Map<string, string>();

  /** Stores a secret that answers `first` once and `then` afterwards: a rotation that completes after the first read. */
  putRotating(first: object, then: object): string {
    const arn = this.put(first);
    this.afterFirstRead.set(arn, JSON.stringify(then));
    return arn;
  }

  /** Stores a secret: an object as JSON, a string as it is. */
  put(value: object | string): string {
    const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:test-${++this.count}-AbCdEf`;
    this.replace(arn, value);
    return arn;
  }

  replace(arn: string, value: object | string): void {
    this.values.set(arn, typeof value === 'string' ? value : JSON.stringify(value));
  }
}

interface Target {
  readonly engine: 'postgresql' | 'mysql';
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly adminSecretArn: string;
}

interface Plan {
  readonly migrations?: MigrationProperties[];
  readonly users?: UserProperties[];
}

function migration(name: string, sql: string): MigrationProperties {
  return { Version: name.split('_')[0], Name: name, Checksum: sha256(sql), Sql: sql };
}

function resourceProperties(target: Target, plan: Plan): Record<string, unknown> {
  return {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    Engine: target.engine,
    Host: target.host,
    Port: String(target.port),
    DatabaseName: target.database,
    AdminSecretArn: target.adminSecretArn,
    Users: plan.users ?? [],
    Migrations: plan.migrations ?? [],
  };
}

const eventCommon = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  ResponseURL: 'https://cloudformation-custom-resource-response.example.com/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/app/1',
  RequestId: 'request',
  LogicalResourceId: 'DatabaseBootstrap',
  ResourceType: 'Custom::DatabaseBootstrap',
};

function createEvent(target: Target, plan: Plan): CloudFormationCustomResourceEvent {
  return { ...eventCommon, RequestType: 'Create', ResourceProperties: resourceProperties(target, plan) as any };
}

/** An Update from `oldPlan` (the same plan unless given) to `plan`. */
function updateEvent(target: Target, plan: Plan, physicalResourceId: string, oldPlan: Plan = plan): CloudFormationCustomResourceEvent {
  return {
    ...eventCommon,
    RequestType: 'Update',
    PhysicalResourceId: physicalResourceId,
    ResourceProperties: resourceProperties(target, plan) as any,
    OldResourceProperties: resourceProperties(target, oldPlan) as any,
  };
}

function deleteEvent(target: Target, plan: Plan, physicalResourceId: string): CloudFormationCustomResourceEvent {
  return { ...eventCommon, RequestType: 'Delete', PhysicalResourceId: physicalResourceId, ResourceProperties: resourceProperties(target, plan) as any };
}

const suffix = () => randomBytes(3).toString('hex');
const password = () => randomBytes(15).toString('base64url');

const loggedLines = captureConsoleLog();

// ---------------------------------------------------------------------------

describe('PostgreSQL', () => {
  let postgres: PostgresServer;
  const adminUser = 'bootstrap_admin';
  const adminPassword = password();

  beforeAll(async () => {
    postgres = await startPostgres();
    await withClient(postgres.connectionConfig(), async client => {
      // What RDS has: the rds_iam role, and an admin that is not a superuser
      // but may create roles and hand out rds_iam.
      await client.query('CREATE ROLE rds_iam');
      await client.query(`CREATE ROLE ${adminUser} LOGIN CREATEROLE PASSWORD ${client.escapeLiteral(adminPassword)}`);
      await client.query(`GRANT rds_iam TO ${adminUser} WITH ADMIN OPTION`);
    });
  });

  afterAll(async () => {
    await postgres?.stop();
  });

  interface Setup {
    readonly target: Target;
    readonly secrets: FakeSecrets;
    readonly handler: ReturnType<typeof createHandler>;
    /** Runs `work` with a superuser connection to the test database. */
    readonly check: <T>(work: (client: Client) => Promise<T>) => Promise<T>;
  }

  /** A fresh database owned by the admin, like the one RDS creates. */
  async function setup(): Promise<Setup> {
    const database = await postgres.createDatabase('bootstrap');
    await withClient(postgres.connectionConfig(), client => client.query(`ALTER DATABASE ${client.escapeIdentifier(database)} OWNER TO ${adminUser}`));
    const secrets = new FakeSecrets();
    const adminSecretArn = secrets.put({ username: adminUser, password: adminPassword, engine: 'postgres', host: postgres.host });
    return {
      target: { engine: 'postgresql', host: postgres.host, port: postgres.port, database, adminSecretArn },
      secrets,
      handler: createHandler({ readSecret: secrets.readSecret, tls: false }),
      check: work => withClient(postgres.connectionConfig(database), work),
    };
  }

  const userConfig = (database: string, user: string, userPassword: string): ClientConfig =>
    ({ ...postgres.connectionConfig(database), user, password: userPassword });

  async function recordedMigrations(check: Setup['check']): Promise<{ version: string; name: string; checksum: string; applied_at: Date }[]> {
    return check(async client => (await client.query('SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version')).rows);
  }

  const createItems = migration('0001_create_items.sql', `
    CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
    CREATE TABLE tags (id serial PRIMARY KEY, label text NOT NULL);
  `);
  const seedItems = migration('0002_seed_items.sql', `INSERT INTO items (name) VALUES ('first'), ('second');`);

  test('applies the migrations once, in version order, each recorded with its checksum', async () => {
    const { target, handler, check } = await setup();

    // Listed out of order: 0002 needs the table 0001 creates.
    const result = await handler(createEvent(target, { migrations: [seedItems, createItems] }));

    expect(result).toEqual({
      PhysicalResourceId: `bootstrap:${postgres.host}:${target.database}`,
      Data: { AppliedMigrations: '0001_create_items.sql,0002_seed_items.sql', SchemaVersion: '0002' },
    });
    expect((await recordedMigrations(check)).map(({ version, name, checksum }) => ({ version, name, checksum }))).toEqual([
      { version: '0001', name: '0001_create_items.sql', checksum: createItems.Checksum },
      { version: '0002', name: '0002_seed_items.sql', checksum: seedItems.Checksum },
    ]);
    expect(await check(async client => (await client.query('SELECT name FROM items ORDER BY id')).rows)).toEqual([{ name: 'first' }, { name: 'second' }]);
    expect(loggedLines().map(line => JSON.parse(line))).toEqual([
      { handler: 'bootstrap', event: 'migration-applied', migration: '0001_create_items.sql', millis: expect.any(Number) },
      { handler: 'bootstrap', event: 'migration-applied', migration: '0002_seed_items.sql', millis: expect.any(Number) },
    ]);
  });

  test('an Update with the same migrations runs none of them again and keeps the physical id', async () => {
    const { target, handler, check } = await setup();
    const created = await handler(createEvent(target, { migrations: [createItems, seedItems] }));
    const before = await recordedMigrations(check);

    // Running 0001 again would fail (the tables exist); 0002 would add rows.
    const updated = await handler(updateEvent(target, { migrations: [createItems, seedItems] }, created.PhysicalResourceId));

    expect(updated).toEqual({ PhysicalResourceId: created.PhysicalResourceId, Data: { AppliedMigrations: '', SchemaVersion: '0002' } });
    expect(await recordedMigrations(check)).toEqual(before);
    expect(await check(async client => (await client.query('SELECT count(*)::int AS count FROM items')).rows[0].count)).toBe(2);
  });

  test('an Update with a new migration applies only that one', async () => {
    const { target, handler, check } = await setup();
    const created = await handler(createEvent(target, { migrations: [createItems] }));
    const addColumn = migration('0002_add_price.sql', 'ALTER TABLE items ADD COLUMN price numeric(10, 2) NOT NULL DEFAULT 0;');

    const updated = await handler(updateEvent(target, { migrations: [createItems, addColumn] }, created.PhysicalResourceId));

    expect(updated.Data).toEqual({ AppliedMigrations: '0002_add_price.sql', SchemaVersion: '0002' });
    expect((await recordedMigrations(check)).map(row => row.name)).toEqual(['0001_create_items.sql', '0002_add_price.sql']);
    expect(await check(async client => (await client.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'price'")).rows))
      .toEqual([{ data_type: 'numeric' }]);
  });

  test('a failing migration rolls back completely, is not recorded, and fails with the SQL error', async () => {
    const { target, handler, check } = await setup();
    const failing = migration('0002_add_column.sql', `
      CREATE TABLE audit (id int);
      INSERT INTO items (name) VALUES ('from the failed migration');
      SELECT x FROM items;
    `);

    await expect(handler(createEvent(target, { migrations: [createItems, failing] })))
      .rejects.toThrow(new Error('migration 0002_add_column.sql failed: column "x" does not exist (SQLSTATE 42703)'));

    expect((await recordedMigrations(check)).map(row => row.name)).toEqual(['0001_create_items.sql']);
    expect(await check(async client => (await client.query("SELECT to_regclass('public.audit') AS audit")).rows[0].audit)).toBeNull();
    expect(await check(async client => (await client.query('SELECT count(*)::int AS count FROM items')).rows[0].count)).toBe(0);
  });

  test('fails when an applied migration was changed, naming the migration', async () => {
    const { target, handler } = await setup();
    const created = await handler(createEvent(target, { migrations: [createItems] }));
    const edited = migration('0001_create_items.sql', `${createItems.Sql}\nCREATE INDEX items_name ON items (name);`);

    await expect(handler(updateEvent(target, { migrations: [edited] }, created.PhysicalResourceId)))
      .rejects.toThrow(new Error('migration 0001_create_items.sql was changed after it was applied; add a new migration instead'));
  });

  test('fails when an applied version now carries another migration name', async () => {
    const { target, handler } = await setup();
    const created = await handler(createEvent(target, { migrations: [createItems] }));

    await expect(handler(updateEvent(target, { migrations: [migration('0001_items.sql', createItems.Sql)] }, created.PhysicalResourceId)))
      .rejects.toThrow(new Error('migration 0001_items.sql (applied as 0001_create_items.sql) was changed after it was applied; add a new migration instead'));
  });

  test('creates an IAM user as a member of rds_iam without a password, with read-only privileges', async () => {
    const { target, handler, check } = await setup();
    const reader = `reader_${suffix()}`;

    await handler(createEvent(target, { migrations: [createItems, seedItems], users: [{ Name: reader, Privileges: 'READ_ONLY', Authentication: 'IAM' }] }));

    expect(await check(async client => (await client.query(
      "SELECT rolcanlogin, rolpassword IS NULL AS no_password, pg_has_role($1, 'rds_iam', 'MEMBER') AS iam FROM pg_authid WHERE rolname = $1", [reader])).rows))
      .toEqual([{ rolcanlogin: true, no_password: true, iam: true }]);
    await check(async client => {
      await client.query(`SET ROLE ${reader}`);
      expect((await client.query('SELECT name FROM items ORDER BY id')).rows).toEqual([{ name: 'first' }, { name: 'second' }]);
      await expect(client.query("INSERT INTO items (name) VALUES ('not allowed')")).rejects.toThrow('permission denied for table items');
      await expect(client.query("UPDATE items SET name = 'changed'")).rejects.toThrow('permission denied for table items');
      await expect(client.query('SELECT * FROM schema_migrations')).rejects.toThrow('permission denied for table schema_migrations');
    });
    expect(loggedLines().map(line => JSON.parse(line))).toContainEqual(
      { handler: 'bootstrap', event: 'user-created', user: reader, privileges: 'READ_ONLY', authentication: 'IAM' });
  });

  test('creates a SECRET user that logs in with its password and can write to identity and serial tables, but not the migrations table', async () => {
    const { target, handler, secrets } = await setup();
    const writer = `writer_${suffix()}`;
    const writerPassword = password();
    const secretArn = secrets.put({ username: writer, password: writerPassword });

    await handler(createEvent(target, { migrations: [createItems], users: [{ Name: writer, Privileges: 'READ_WRITE', Authentication: 'SECRET', SecretArn: secretArn }] }));

    await withClient(userConfig(target.database, writer, writerPassword), async client => {
      expect((await client.query("INSERT INTO items (name) VALUES ('written') RETURNING id")).rows).toEqual([{ id: '1' }]);
      expect((await client.query("INSERT INTO tags (label) VALUES ('new') RETURNING id")).rows).toEqual([{ id: 1 }]);
      await client.query("UPDATE items SET name = 'rewritten'");
      await client.query('DELETE FROM tags');
      await expect(client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ('9', '9_x.sql', 'x')"))
        .rejects.toThrow('permission denied for table schema_migrations');
      await expect(client.query('DROP TABLE items')).rejects.toThrow('must be owner of table items');
    });
    expect(loggedLines().join('\n')).not.toContain(writerPassword);
    expect(loggedLines().join('\n')).not.toContain(adminPassword);
  });

  test('sets non-ASCII passwords too (hashed by the server)', async () => {
    const { target, handler, secrets } = await setup();
    const user = `unicode_${suffix()}`;
    const unicodePassword = `pässwörd-${password()}-ｆｕｌｌ`;

    await handler(createEvent(target, { users: [{ Name: user, Privileges: 'READ_ONLY', Authentication: 'SECRET', SecretArn: secrets.put({ password: unicodePassword }) }] }));

    await withClient(userConfig(target.database, user, unicodePassword), async client => {
      expect((await client.query('SELECT current_user AS name')).rows).toEqual([{ name: user }]);
    });
  });

  test('grants cover tables from later migrations and tables the admin creates outside migrations', async () => {
    const { target, handler, secrets, check } = await setup();
    const writer = `writer_${suffix()}`;
    const reader = `reader_${suffix()}`;
    const writerPassword = password();
    const users: UserProperties[] = [
      { Name: writer, Privileges: 'READ_WRITE', Authentication: 'SECRET', SecretArn: secrets.put({ username: writer, password: writerPassword }) },
      { Name: reader, Privileges: 'READ_ONLY', Authentication: 'IAM' },
    ];
    const created = await handler(createEvent(target, { migrations: [createItems], users }));
    const orders = migration('0002_create_orders.sql', 'CREATE TABLE orders (id bigserial PRIMARY KEY, item bigint NOT NULL REFERENCES items (id));');

    await handler(updateEvent(target, { migrations: [createItems, orders], users }, created.PhysicalResourceId));
    // Created by the admin, not by a migration: covered by the default privileges alone.
    await withClient(userConfig(target.database, adminUser, adminPassword), client => client.query('CREATE TABLE notes (id serial PRIMARY KEY, body text)'));

    await withClient(userConfig(target.database, writer, writerPassword), async client => {
      await client.query("INSERT INTO items (name) VALUES ('one')");
      await client.query('INSERT INTO orders (item) SELECT id FROM items');
      await client.query("INSERT INTO notes (body) VALUES ('note')");
    });
    await check(async client => {
      await client.query(`SET ROLE ${reader}`);
      expect((await client.query('SELECT count(*)::int AS count FROM orders')).rows).toEqual([{ count: 1 }]);
      expect((await client.query('SELECT body FROM notes')).rows).toEqual([{ body: 'note' }]);
      await expect(client.query("INSERT INTO notes (body) VALUES ('no')")).rejects.toThrow('permission denied for table notes');
    });
  });

  test('an Update re-applies users exactly: privileges lowered, authentication switched, the password of a replaced secret set', async () => {
    const { target, handler, secrets, check } = await setup();
    const first = `first_${suffix()}`;
    const second = `second_${suffix()}`;
    const firstPassword = password();
    const secondPassword = password();
    const createPlan: Plan = {
      migrations: [createItems],
      users: [
        { Name: first, Privileges: 'READ_WRITE', Authentication: 'SECRET', SecretArn: secrets.put({ username: first, password: firstPassword }) },
        { Name: second, Privileges: 'READ_WRITE', Authentication: 'IAM' },
      ],
    };
    const created = await handler(createEvent(target, createPlan));
    const replacedPassword = password();

    await handler(updateEvent(target, {
      migrations: [createItems],
      users: [
        { Name: first, Privileges: 'READ_ONLY', Authentication: 'SECRET', SecretArn: secrets.put({ username: first, password: replacedPassword }) },
        { Name: second, Privileges: 'READ_ONLY', Authentication: 'SECRET', SecretArn: secrets.put({ username: second, password: secondPassword }) },
      ],
    }, created.PhysicalResourceId, createPlan));

    await expect(withClient(userConfig(target.database, first, firstPassword), () => Promise.resolve()))
      .rejects.toThrow(`password authentication failed for user "${first}"`);
    for (const [user, userPassword] of [[first, replacedPassword], [second, secondPassword]]) {
      await withClient(userConfig(target.database, user, userPassword), async client => {
        expect((await client.query('SELECT count(*)::int AS count FROM items')).rows).toEqual([{ count: 0 }]);
        await expect(client.query("INSERT INTO items (name) VALUES ('no longer allowed')")).rejects.toThrow('permission denied for table items');
      });
    }
    expect(await check(async client => (await client.query("SELECT pg_has_role($1, 'rds_iam', 'MEMBER') AS iam", [second])).rows)).toEqual([{ iam: false }]);
    expect(loggedLines().map(line => JSON.parse(line).event)).toEqual(['migration-applied', 'user-created', 'user-created', 'user-updated', 'user-updated']);
  });

  test('an Update leaves the password of a user whose secret is unchanged to its rotation, even while the secret still holds the old one', async () => {
    const { target, handler, secrets, check } = await setup();
    const user = `kept_${suffix()}`;
    const oldPassword = password();
    const plan = (privileges: 'READ_ONLY' | 'READ_WRITE'): Plan => ({
      migrations: [createItems],
      users: [{ Name: user, Privileges: privileges, Authentication: 'SECRET', SecretArn: secretArn }],
    });
    const secretArn = secrets.put({ username: user, password: oldPassword });
    const created = await handler(createEvent(target, plan('READ_WRITE')));
    // A rotation is between setSecret and finishSecret: the database has the new password, AWSCURRENT the old one.
    const rotatingPassword = password();
    await check(client => client.query(`ALTER ROLE ${client.escapeIdentifier(user)} PASSWORD ${client.escapeLiteral(rotatingPassword)}`));

    await handler(updateEvent(target, plan('READ_ONLY'), created.PhysicalResourceId, plan('READ_WRITE')));

    await expect(withClient(userConfig(target.database, user, oldPassword), () => Promise.resolve()))
      .rejects.toThrow(`password authentication failed for user "${user}"`);
    await withClient(userConfig(target.database, user, rotatingPassword), async client => {
      await expect(client.query("INSERT INTO items (name) VALUES ('no longer allowed')")).rejects.toThrow('permission denied for table items');
    });
  });

  test('generates the statements that keep the password of an existing user whose rotation owns it', () => {
    expect(postgresUserStatements({ name: 'app', privileges: 'READ_ONLY', authentication: 'SECRET', password: 'secret', keepPassword: true }, 'orders', { exists: true, iamMember: false })[0])
      .toBe('ALTER ROLE "app" WITH LOGIN');
    expect(postgresUserStatements({ name: 'app', privileges: 'READ_ONLY', authentication: 'SECRET', password: 'secret', keepPassword: true }, 'orders', { exists: false, iamMember: false })[0])
      .toMatch(/^CREATE ROLE "app" WITH LOGIN PASSWORD 'SCRAM-SHA-256\$4096:/);
    expect(mysqlUserStatements({ name: 'app', privileges: 'READ_ONLY', authentication: 'SECRET', password: 'secret', keepPassword: true }, 'orders').slice(0, 2))
      .toEqual(["CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'secret' REQUIRE NONE", "GRANT SELECT ON `orders`.* TO 'app'@'%'"]);
  });

  test('generates the statements for a new read-write IAM user', () => {
    expect(postgresUserStatements({ name: 'app_writer', privileges: 'READ_WRITE', authentication: 'IAM' }, 'orders', { exists: false, iamMember: false })).toEqual([
      'CREATE ROLE "app_writer" WITH LOGIN PASSWORD NULL',
      'GRANT rds_iam TO "app_writer"',
      'GRANT CONNECT ON DATABASE "orders" TO "app_writer"',
      'GRANT USAGE ON SCHEMA "public" TO "app_writer"',
      'REVOKE ALL ON ALL TABLES IN SCHEMA "public" FROM "app_writer"',
      'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "public" FROM "app_writer"',
      'ALTER DEFAULT PRIVILEGES IN SCHEMA "public" REVOKE ALL ON TABLES FROM "app_writer"',
      'ALTER DEFAULT PRIVILEGES IN SCHEMA "public" REVOKE ALL ON SEQUENCES FROM "app_writer"',
      'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "app_writer"',
      'ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "app_writer"',
      'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "app_writer"',
      'ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT USAGE, SELECT ON SEQUENCES TO "app_writer"',
      'REVOKE ALL ON public.schema_migrations FROM "app_writer"',
    ]);
  });

  test('Delete leaves tables, rows, users and recorded migrations alone and reads no secret', async () => {
    const { target, handler, secrets, check } = await setup();
    const reader = `reader_${suffix()}`;
    const plan: Plan = { migrations: [createItems, seedItems], users: [{ Name: reader, Privileges: 'READ_ONLY', Authentication: 'IAM' }] };
    const created = await handler(createEvent(target, plan));
    const readsBefore = secrets.reads.length;

    const deleted = await handler(deleteEvent(target, plan, created.PhysicalResourceId));

    expect(deleted).toEqual({ PhysicalResourceId: created.PhysicalResourceId });
    expect(secrets.reads).toHaveLength(readsBefore);
    expect(await check(async client => (await client.query('SELECT count(*)::int AS count FROM items')).rows[0].count)).toBe(2);
    expect(await recordedMigrations(check)).toHaveLength(2);
    expect(await check(async client => (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [reader])).rowCount)).toBe(1);
  });

  test('concurrent runs take turns: the migration runs once and both succeed', async () => {
    const { target, handler, check } = await setup();
    // Without the lock both runs would see no recorded migrations and the second CREATE TABLE would fail.
    const slow = migration('0001_slow.sql', 'CREATE TABLE slow (id int); SELECT pg_sleep(1);');

    const results = await Promise.all([handler(createEvent(target, { migrations: [slow] })), handler(createEvent(target, { migrations: [slow] }))]);

    expect(results.map(result => result.Data!.AppliedMigrations).sort()).toEqual(['', '0001_slow.sql']);
    expect(await recordedMigrations(check)).toHaveLength(1);
  });

  test('cancels a statement before the Lambda deadline, so the migration rolls back instead of being cut off', async () => {
    const { target, handler, check } = await setup();
    const slow = migration('0001_slow.sql', 'CREATE TABLE slow (id int); SELECT pg_sleep(5);');
    // 31 s left minus the 30 s margin: statements get 1 s.
    const context = { getRemainingTimeInMillis: () => 31_000 };
    const started = Date.now();

    await expect(handler(createEvent(target, { migrations: [slow] }), context))
      .rejects.toThrow(new Error('migration 0001_slow.sql failed: canceling statement due to statement timeout (SQLSTATE 57014)'));

    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await recordedMigrations(check)).toEqual([]);
    expect(await check(async client => (await client.query("SELECT to_regclass('public.slow') AS slow")).rows[0].slow)).toBeNull();
  });

  test('requires TLS unless it is turned off', async () => {
    const { target, secrets } = await setup();

    await expect(createHandler({ readSecret: secrets.readSecret })(createEvent(target, { migrations: [createItems] })))
      .rejects.toThrow(`cannot connect to PostgreSQL at ${postgres.host}:${postgres.port} (database ${target.database}) as ${adminUser}: The server does not support SSL connections`);
  });

  test('a wrong admin password fails with the server error and without the password, after reading the secret again before each retry', async () => {
    const { target, secrets } = await setup();
    const wrongPassword = password();
    const waits: number[] = [];
    const handler = createHandler({ readSecret: secrets.readSecret, tls: false, loginRetryDelaysMillis: [10, 20], sleep: async millis => { waits.push(millis); } });
    const adminSecretArn = secrets.put({ username: adminUser, password: wrongPassword });

    const failure = handler(createEvent({ ...target, adminSecretArn }, { migrations: [createItems] }));

    await expect(failure).rejects.toThrow(`password authentication failed for user "${adminUser}" (SQLSTATE 28P01)`);
    await expect(failure).rejects.not.toThrow(wrongPassword);
    expect(waits).toEqual([10, 20]);
    expect(secrets.reads.filter(arn => arn === adminSecretArn)).toHaveLength(3);
    expect(loggedLines().map(line => JSON.parse(line))).toEqual([
      { handler: 'bootstrap', event: 'admin-login-refused', attempt: 1, retryInMillis: 10 },
      { handler: 'bootstrap', event: 'admin-login-refused', attempt: 2, retryInMillis: 20 },
    ]);
  });

  test('when the admin password changes during the run (a rotation), reads the secret again and succeeds', async () => {
    const { target, secrets, check } = await setup();
    const oldPassword = password();
    const newPassword = password();
    const rotated = await postgres.createDatabase('rotated');
    const rotatingAdmin = `admin_${suffix()}`;
    await withClient(postgres.connectionConfig(), async client => {
      await client.query(`CREATE ROLE ${rotatingAdmin} LOGIN CREATEROLE PASSWORD ${client.escapeLiteral(newPassword)}`);
      await client.query(`ALTER DATABASE ${client.escapeIdentifier(rotated)} OWNER TO ${rotatingAdmin}`);
    });
    // The database already has the new password; the secret answers the old one once, then the new one.
    const adminSecretArn = secrets.putRotating({ username: rotatingAdmin, password: oldPassword }, { username: rotatingAdmin, password: newPassword });
    const waits: number[] = [];
    const handler = createHandler({ readSecret: secrets.readSecret, tls: false, sleep: async millis => { waits.push(millis); } });

    const result = await handler(createEvent({ ...target, database: rotated, adminSecretArn }, { migrations: [createItems] }));

    expect(result.Data).toEqual({ AppliedMigrations: '0001_create_items.sql', SchemaVersion: '0001' });
    expect(waits).toEqual([2_000]);
    expect(secrets.reads.filter(arn => arn === adminSecretArn)).toHaveLength(2);
    expect(await withClient(postgres.connectionConfig(rotated), async client => (await client.query('SELECT count(*)::int AS count FROM schema_migrations')).rows[0].count)).toBe(1);
    expect(await check(async client => (await client.query("SELECT to_regclass('public.schema_migrations') AS t")).rows[0].t)).toBeNull();
  });

  test('does not retry errors other than a refused password', async () => {
    const { target, secrets } = await setup();
    const waits: number[] = [];
    const handler = createHandler({ readSecret: secrets.readSecret, tls: false, sleep: async millis => { waits.push(millis); } });

    await expect(handler(createEvent({ ...target, database: 'no_such_database' }, { migrations: [createItems] })))
      .rejects.toThrow('database "no_such_database" does not exist');
    expect(waits).toEqual([]);
  });

  test('stops retrying when the next wait would reach into the time kept back from the Lambda deadline', async () => {
    const { target, secrets } = await setup();
    const waits: number[] = [];
    const handler = createHandler({ readSecret: secrets.readSecret, tls: false, sleep: async millis => { waits.push(millis); } });
    const adminSecretArn = secrets.put({ username: adminUser, password: password() });
    // 33 s left: a 2 s wait leaves 31 s, above the 30 s margin; a 5 s wait would not.
    const context = { getRemainingTimeInMillis: () => 33_000 };

    await expect(handler(createEvent({ ...target, adminSecretArn }, { migrations: [createItems] }), context)).rejects.toThrow('(SQLSTATE 28P01)');
    expect(waits).toEqual([2_000]);
  });

  test('rejects invalid plans before connecting', async () => {
    const { target, handler, secrets, check } = await setup();
    const fails = (plan: Plan) => handler(createEvent(target, plan));

    await expect(fails({ migrations: [createItems, migration('1_again.sql', 'SELECT 1')] }))
      .rejects.toThrow('migrations 0001_create_items.sql and 1_again.sql have the same version; give each migration its own number');
    await expect(fails({ migrations: [migration('0003 add index.sql', 'SELECT 1')] })).rejects.toThrow("migration name '0003 add index.sql' must look like 0001_create_items.sql");
    await expect(fails({ migrations: [{ ...createItems, Checksum: sha256('other') }] }))
      .rejects.toThrow('migration 0001_create_items.sql: its checksum does not match its SQL');
    const reserved = 'is a name that the engine or RDS reserves or uses as its default: choose another name';
    await expect(fails({ users: [{ Name: 'postgres', Privileges: 'READ_ONLY', Authentication: 'IAM' }] })).rejects.toThrow(`user name 'postgres' ${reserved}, e.g. 'app_postgres'`);
    await expect(fails({ users: [{ Name: 'pg_monitor', Privileges: 'READ_ONLY', Authentication: 'IAM' }] })).rejects.toThrow(`user name 'pg_monitor' ${reserved}, e.g. 'app_monitor'`);
    await expect(fails({ users: [{ Name: 'rdsproxyadmin', Privileges: 'READ_ONLY', Authentication: 'IAM' }] })).rejects.toThrow(`user name 'rdsproxyadmin' ${reserved}`);
    await expect(fails({ users: [{ Name: adminUser, Privileges: 'READ_ONLY', Authentication: 'IAM' }] })).rejects.toThrow(`user name '${adminUser}' is the admin user's`);
    await expect(fails({ users: [{ Name: 'App"; DROP', Privileges: 'READ_ONLY', Authentication: 'IAM' }] })).rejects.toThrow(
      `user name 'App"; DROP' is not a valid database user name: use 1 to 63 characters, a lowercase letter first, then lowercase letters, digits or underscores (e.g. 'app_user')`);
    await expect(fails({ users: [{ Name: 'App_User', Privileges: 'READ_ONLY', Authentication: 'IAM' }] })).rejects.toThrow(
      "user name 'App_User' must be lowercase: the IAM token, the rds-db:connect grant and the database must spell the user the same way; use 'app_user'");
    await expect(fails({ users: [{ Name: '_app', Privileges: 'READ_ONLY', Authentication: 'IAM' }] })).rejects.toThrow("user name '_app' is not a valid database user name");
    await expect(fails({ users: [{ Name: 'app', Privileges: 'READ_ONLY', Authentication: 'SECRET' }] })).rejects.toThrow('Users[0].SecretArn (required for SECRET authentication) must be a non-empty string');
    await expect(fails({ users: [{ Name: 'app', Privileges: 'READ_ONLY', Authentication: 'SECRET', SecretArn: secrets.put({ username: 'other', password: 'x' }) }] }))
      .rejects.toThrow("is for user 'other'; its username must be app");
    await expect(fails({ users: [{ Name: 'app', Privileges: 'ADMIN' as any, Authentication: 'IAM' }] }))
      .rejects.toThrow("Users[0].Privileges must be one of READ_ONLY, READ_WRITE, not 'ADMIN'");
    // Nothing was created, not even the migrations table.
    expect(await check(async client => (await client.query("SELECT to_regclass('public.schema_migrations') AS t")).rows[0].t)).toBeNull();
  });

  test('fails with the secret named but not shown when a secret is unreadable or not JSON credentials', async () => {
    const { target, handler, secrets } = await setup();
    const notJson = secrets.put('top-secret-value');

    await expect(handler(createEvent({ ...target, adminSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing' }, {})))
      .rejects.toThrow("cannot read the admin secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing: ResourceNotFoundException: Secrets Manager can't find the specified secret.");
    const failure = handler(createEvent({ ...target, adminSecretArn: notJson }, {}));
    await expect(failure).rejects.toThrow(`the admin secret ${notJson} must hold JSON with a non-empty string password (and username)`);
    await expect(failure).rejects.not.toThrow('top-secret-value');
  });
});

// ---------------------------------------------------------------------------

describe('MariaDB (MySQL)', () => {
  let mariadb: MariaDbServer;

  beforeAll(async () => {
    mariadb = await startMariaDb();
  });

  afterAll(async () => {
    await mariadb?.stop();
  });

  interface Setup {
    readonly target: Target;
    readonly secrets: FakeSecrets;
    readonly handler: ReturnType<typeof createHandler>;
    readonly check: <T>(work: (connection: Connection) => Promise<T>) => Promise<T>;
  }

  async function setup(): Promise<Setup> {
    const database = await mariadb.createDatabase('bootstrap');
    const secrets = new FakeSecrets();
    const adminSecretArn = secrets.put({ username: mariadb.user, password: mariadb.password });
    return {
      target: { engine: 'mysql', host: mariadb.host, port: mariadb.port, database, adminSecretArn },
      secrets,
      handler: createHandler({ readSecret: secrets.readSecret, tls: false }),
      check: work => withConnection({ ...mariadb.connectionOptions(database) }, work),
    };
  }

  async function recordedNames(check: Setup['check']): Promise<string[]> {
    return check(async connection => (await connection.query<RowDataPacket[]>('SELECT name FROM schema_migrations ORDER BY version'))[0].map(row => row.name));
  }

  const createItems = migration('0001_create_items.sql', 'CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL);');
  const seedItems = migration('0002_seed_items.sql', "INSERT INTO items (name) VALUES ('first'); INSERT INTO items (name) VALUES ('second');");

  test('applies the migrations once in version order; an Update with the same ones is a no-op, a new one is applied', async () => {
    const { target, handler, check } = await setup();

    const created = await handler(createEvent(target, { migrations: [seedItems, createItems] }));
    // 0001 would fail and 0002 would add rows if they ran again.
    const unchanged = await handler(updateEvent(target, { migrations: [createItems, seedItems] }, created.PhysicalResourceId));
    const addColumn = migration('0003_add_price.sql', 'ALTER TABLE items ADD COLUMN price DECIMAL(10, 2) NOT NULL DEFAULT 0;');
    const extended = await handler(updateEvent(target, { migrations: [createItems, seedItems, addColumn] }, created.PhysicalResourceId));

    expect(created).toEqual({
      PhysicalResourceId: `bootstrap:${mariadb.host}:${target.database}`,
      Data: { AppliedMigrations: '0001_create_items.sql,0002_seed_items.sql', SchemaVersion: '0002' },
    });
    expect(unchanged).toEqual({ PhysicalResourceId: created.PhysicalResourceId, Data: { AppliedMigrations: '', SchemaVersion: '0002' } });
    expect(extended.Data).toEqual({ AppliedMigrations: '0003_add_price.sql', SchemaVersion: '0003' });
    expect(await recordedNames(check)).toEqual(['0001_create_items.sql', '0002_seed_items.sql', '0003_add_price.sql']);
    expect(await check(async connection => (await connection.query<RowDataPacket[]>('SELECT name, price FROM items ORDER BY id'))[0]))
      .toEqual([{ name: 'first', price: '0.00' }, { name: 'second', price: '0.00' }]);
  });

  test('a failing migration is not recorded and fails with the SQL error; its data changes roll back, its DDL (auto-committed by MySQL) stays', async () => {
    const { target, handler, check } = await setup();
    const failing = migration('0002_add_column.sql', `
      INSERT INTO items (name) VALUES ('from the failed migration');
      UPDATE items SET x = 1;
    `);
    const failingDdl = migration('0002_add_column.sql', 'CREATE TABLE audit (id INT); UPDATE items SET x = 1;');

    await expect(handler(createEvent(target, { migrations: [createItems, failing] })))
      .rejects.toThrow(new Error("migration 0002_add_column.sql failed: Unknown column 'x' in 'SET' (ER_BAD_FIELD_ERROR, errno 1054, SQLSTATE 42S22)"));
    expect(await recordedNames(check)).toEqual(['0001_create_items.sql']);
    expect(await check(async connection => (await connection.query<RowDataPacket[]>('SELECT COUNT(*) AS count FROM items'))[0])).toEqual([{ count: 0 }]);

    await expect(handler(createEvent(target, { migrations: [createItems, failingDdl] }))).rejects.toThrow('migration 0002_add_column.sql failed');
    expect(await recordedNames(check)).toEqual(['0001_create_items.sql']);
    expect(await check(async connection => (await connection.query<RowDataPacket[]>("SHOW TABLES LIKE 'audit'"))[0])).toHaveLength(1);
  });

  test('fails when an applied migration was changed', async () => {
    const { target, handler } = await setup();
    const created = await handler(createEvent(target, { migrations: [createItems] }));

    await expect(handler(updateEvent(target, { migrations: [migration('0001_create_items.sql', `${createItems.Sql} -- edited`)] }, created.PhysicalResourceId)))
      .rejects.toThrow(new Error('migration 0001_create_items.sql was changed after it was applied; add a new migration instead'));
  });

  test('creates SECRET users that log in with their passwords and have exactly their privileges on the database', async () => {
    const { target, handler, secrets } = await setup();
    const reader = `reader_${suffix()}`;
    const writer = `writer_${suffix()}`;
    const readerPassword = password();
    const writerPassword = `it's "quoted" \\ ${password()}`;

    await handler(createEvent(target, {
      migrations: [createItems, seedItems],
      users: [
        { Name: reader, Privileges: 'READ_ONLY', Authentication: 'SECRET', SecretArn: secrets.put({ username: reader, password: readerPassword }) },
        { Name: writer, Privileges: 'READ_WRITE', Authentication: 'SECRET', SecretArn: secrets.put({ username: writer, password: writerPassword }) },
      ],
    }));

    await withConnection({ ...mariadb.connectionOptions(target.database), user: writer, password: writerPassword }, async connection => {
      const [inserted] = await connection.query<any>("INSERT INTO items (name) VALUES ('written')");
      expect(inserted.insertId).toBe(3);
      await connection.query("UPDATE items SET name = 'rewritten' WHERE id = 3");
      await connection.query('DELETE FROM items WHERE id = 1');
      await expect(connection.query('DROP TABLE items')).rejects.toThrow(`DROP command denied to user '${writer}'`);
      expect((await connection.query<RowDataPacket[]>('SHOW GRANTS'))[0].map(row => Object.values(row)[0])).toEqual([
        expect.stringMatching(new RegExp(`^GRANT USAGE ON \\*\\.\\* TO \`${writer}\`@\`%\` IDENTIFIED BY PASSWORD '\\*[0-9A-F]{40}'$`)),
        `GRANT SELECT, INSERT, UPDATE, DELETE ON \`${target.database}\`.* TO \`${writer}\`@\`%\``,
      ]);
    });
    await withConnection({ ...mariadb.connectionOptions(target.database), user: reader, password: readerPassword }, async connection => {
      expect((await connection.query<RowDataPacket[]>('SELECT name FROM items ORDER BY id'))[0]).toEqual([{ name: 'second' }, { name: 'rewritten' }]);
      await expect(connection.query("INSERT INTO items (name) VALUES ('not allowed')")).rejects.toThrow(`INSERT command denied to user '${reader}'`);
    });
  });

  test('an Update lowers a read-write user to read-only and sets the password of its replaced secret', async () => {
    const { target, handler, secrets } = await setup();
    const user = `app_${suffix()}`;
    const plan = (privileges: 'READ_ONLY' | 'READ_WRITE', secretArn: string): Plan => ({
      migrations: [createItems],
      users: [{ Name: user, Privileges: privileges, Authentication: 'SECRET', SecretArn: secretArn }],
    });
    const createPlan = plan('READ_WRITE', secrets.put({ username: user, password: password() }));
    const created = await handler(createEvent(target, createPlan));
    const replacedPassword = password();

    await handler(updateEvent(target, plan('READ_ONLY', secrets.put({ username: user, password: replacedPassword })), created.PhysicalResourceId, createPlan));

    await withConnection({ ...mariadb.connectionOptions(target.database), user, password: replacedPassword }, async connection => {
      await expect(connection.query("INSERT INTO items (name) VALUES ('not any more')")).rejects.toThrow(`INSERT command denied to user '${user}'`);
      expect((await connection.query<RowDataPacket[]>('SELECT COUNT(*) AS count FROM items'))[0]).toEqual([{ count: 0 }]);
    });
  });

  test('an Update leaves the password of a user whose secret is unchanged to its rotation', async () => {
    const { target, handler, secrets } = await setup();
    const user = `kept_${suffix()}`;
    const oldPassword = password();
    const secretArn = secrets.put({ username: user, password: oldPassword });
    const plan: Plan = { migrations: [createItems], users: [{ Name: user, Privileges: 'READ_WRITE', Authentication: 'SECRET', SecretArn: secretArn }] };
    const created = await handler(createEvent(target, plan));
    const rotatingPassword = password();
    await withConnection(mariadb.connectionOptions(), connection => connection.query(`ALTER USER '${user}'@'%' IDENTIFIED BY '${rotatingPassword}'`));

    await handler(updateEvent(target, plan, created.PhysicalResourceId));

    await expect(withConnection({ ...mariadb.connectionOptions(target.database), user, password: oldPassword }, async () => undefined)).rejects.toThrow('Access denied');
    await withConnection({ ...mariadb.connectionOptions(target.database), user, password: rotatingPassword }, async connection => {
      await connection.query("INSERT INTO items (name) VALUES ('still allowed')");
    });
  });

  test('generates the RDS IAM statements for an IAM user', () => {
    expect(mysqlUserStatements({ name: 'app_reader', privileges: 'READ_ONLY', authentication: 'IAM' }, 'orders')).toEqual([
      "CREATE USER IF NOT EXISTS 'app_reader'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL",
      "ALTER USER 'app_reader'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL",
      "GRANT SELECT ON `orders`.* TO 'app_reader'@'%'",
      "REVOKE INSERT, UPDATE, DELETE ON `orders`.* FROM 'app_reader'@'%'",
    ]);
  });

  test('an IAM user fails on MariaDB (no AWSAuthenticationPlugin) with an error naming the user', async () => {
    const { target, handler } = await setup();
    const user = `iam_${suffix()}`;

    await expect(handler(createEvent(target, { migrations: [createItems], users: [{ Name: user, Privileges: 'READ_WRITE', Authentication: 'IAM' }] })))
      .rejects.toThrow(new RegExp(`^configuring user ${user} failed: Plugin 'AWSAuthenticationPlugin' is not (loaded|found) \\(ER_PLUGIN_IS_NOT_LOADED, errno 1524, SQLSTATE HY000\\)$`));
  });

  test('concurrent runs take turns: the migration runs once and both succeed', async () => {
    const { target, handler, check } = await setup();
    const slow = migration('0001_slow.sql', 'CREATE TABLE slow (id INT); DO SLEEP(1);');

    const results = await Promise.all([handler(createEvent(target, { migrations: [slow] })), handler(createEvent(target, { migrations: [slow] }))]);

    expect(results.map(result => result.Data!.AppliedMigrations).sort()).toEqual(['', '0001_slow.sql']);
    expect(await recordedNames(check)).toEqual(['0001_slow.sql']);
  });

  test('when the admin password changes during the run (a rotation), reads the secret again and succeeds', async () => {
    const { target, secrets, check } = await setup();
    const rotatingAdmin = `admin_${suffix()}`;
    const oldPassword = password();
    const newPassword = password();
    await withConnection(mariadb.connectionOptions(), async connection => {
      await connection.query(`CREATE USER '${rotatingAdmin}'@'%' IDENTIFIED BY '${newPassword}'`);
      await connection.query(`GRANT ALL ON \`${target.database}\`.* TO '${rotatingAdmin}'@'%'`);
    });
    const adminSecretArn = secrets.putRotating({ username: rotatingAdmin, password: oldPassword }, { username: rotatingAdmin, password: newPassword });
    const waits: number[] = [];
    const handler = createHandler({ readSecret: secrets.readSecret, tls: false, sleep: async millis => { waits.push(millis); } });

    const result = await handler(createEvent({ ...target, adminSecretArn }, { migrations: [createItems] }));

    expect(result.Data).toEqual({ AppliedMigrations: '0001_create_items.sql', SchemaVersion: '0001' });
    expect(waits).toEqual([2_000]);
    expect(await recordedNames(check)).toEqual(['0001_create_items.sql']);
  });

  test('never shows a password in an error, even where MySQL quotes the failing statement', async () => {
    const { target, handler } = await setup();
    const quotesPassword = migration('0001_bad_syntax.sql', `SELEC '${mariadb.password}'`);

    const failure = handler(createEvent(target, { migrations: [quotesPassword] }));

    await expect(failure).rejects.toThrow("migration 0001_bad_syntax.sql failed: You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'SELEC '***'' at line 1 (ER_PARSE_ERROR, errno 1064, SQLSTATE 42000)");
  });
});
