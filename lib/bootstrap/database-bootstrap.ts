import { Annotations, CustomResource, Duration, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { ProxiedDatabase } from '../database/proxied-database';
import { DatabaseNetwork } from '../network/database-network';
import { createLibraryCustomResource, createVpcHandler, invokePermission } from '../private/custom-resource';
import { declarationsOf, declareUser } from '../private/declared-users';
import { engineName } from '../private/engine-family';
import { Migration, readMigrations, versionGaps } from './private/migrations';
import { PropValidationError, requireProps, validateDatabaseUserName, validateDuration } from '../private/validation';
import { createUserSecret, RDS_CA_BUNDLE, rotateUserSecrets } from './private/user-secrets';

/**
 * What a database user may do in the database's default schema (`public` on
 * PostgreSQL, the database itself on MySQL), on tables that exist and on
 * tables the migrations create later.
 */
export enum DatabasePrivileges {
  /** SELECT on every table. */
  READ_ONLY = 'READ_ONLY',
  /** SELECT, INSERT, UPDATE and DELETE on every table, and the sequences that identity columns use. */
  READ_WRITE = 'READ_WRITE',
}

/** An application user the bootstrap creates. */
export interface DatabaseUser {
  /**
   * The user name: lowercase letters, digits and underscores, a letter first
   * (up to 63 characters on PostgreSQL, 32 on MySQL). Functions connect as
   * this user (`DatabaseFunction.databaseUser`).
   */
  readonly name: string;

  /**
   * What the user may do.
   *
   * @default DatabasePrivileges.READ_ONLY
   */
  readonly privileges?: DatabasePrivileges;
}

/**
 * Properties of a DatabaseBootstrap.
 */
export interface DatabaseBootstrapProps {
  /**
   * The database to bootstrap: a `ProxiedDatabase` of this app, whose admin
   * secret and writer endpoint the bootstrap uses. An imported database has
   * neither: the app that owns it bootstraps it.
   */
  readonly database: ProxiedDatabase;

  /**
   * A folder of versioned SQL migrations, `NNNN_name.sql` (for example
   * `0001_create_items.sql`). Each runs exactly once, in version order, in
   * its own transaction, as the admin user; applied versions are recorded in
   * the `schema_migrations` table. Never edit a migration after it was
   * deployed (the deploy fails on a changed checksum): add a new one.
   * Migrations travel in the custom resource's properties, so together they
   * must stay under 200 KB.
   *
   * @default - no migrations
   */
  readonly migrationsPath?: string;

  /**
   * Application users to create, each with IAM authentication through the
   * proxy and only the privileges it needs. With end-to-end IAM (the
   * database's default `defaultAuthScheme`) the user is granted `rds_iam`
   * (PostgreSQL) or uses `AWSAuthenticationPlugin` (MySQL) and needs no
   * secret. With `defaultAuthScheme` NONE each user also gets a generated,
   * encrypted and rotated secret that the proxy uses to reach the database as
   * that user, kept or deleted with the database's data.
   *
   * @default - no users
   */
  readonly users?: DatabaseUser[];

  /**
   * How long one bootstrap run may take (1 to 14 minutes).
   *
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;

  /**
   * How often the users' secrets are rotated (1 to 365 days), with
   * `defaultAuthScheme` NONE. The first rotation comes one interval after the
   * deploy that created the secret.
   *
   * @default Duration.days(30)
   */
  readonly secretRotationInterval?: Duration;
}

/** The largest total of migration SQL the custom resource request carries. */
const MAX_MIGRATION_BYTES = 200_000;

/**
 * Bootstraps a `ProxiedDatabase` at deploy time: runs versioned SQL
 * migrations exactly once each and creates application users with IAM
 * authentication and least privileges, before any function that uses the
 * database is deployed.
 *
 * A custom resource runs a pre-bundled handler in the database subnets with
 * the database's `rotationSecurityGroup` (the one placement that reaches the
 * database directly). It connects to the writer as the admin user with the
 * admin secret over TLS verified against the RDS certificate authorities,
 * takes a lock, applies new migrations and (re)grants privileges. A failing
 * migration fails the deploy with the SQL error; deleting the construct
 * never drops data or users.
 */
export class DatabaseBootstrap extends Construct {
  /** Warning id for functions in isolated subnets that cannot reach Secrets Manager. */
  public static readonly SECRETS_UNREACHABLE_WARNING = 'cdk-serverless-rds:SecretsUnreachable';
  /** Warning id for migration versions missing between others. */
  public static readonly MIGRATION_VERSION_GAP_WARNING = 'cdk-serverless-rds:MigrationVersionGap';

  /** The custom resource; the proxy readiness check and connected functions come after it. */
  public readonly resource: CustomResource;
  /** The handler function that connects to the database. */
  public readonly handler: lambda.Function;
  /** Names of the migrations, in the order they run. */
  public readonly migrations: string[];
  /** The secret the proxy uses for each user, by user name (empty with end-to-end IAM). */
  public readonly userSecrets: { [userName: string]: secretsmanager.ISecret };
  /** The function that rotates `userSecrets`; undefined when there are none. */
  public readonly rotationHandler?: lambda.Function;

  constructor(scope: Construct, id: string, props: DatabaseBootstrapProps) {
    super(scope, id);
    requireProps(this, props, { database: 'the ProxiedDatabase to bootstrap' });
    const database = props.database;
    if (!(database instanceof ProxiedDatabase)) {
      throw new PropValidationError(this,
        `database (${(database as IConstruct).node.path}) is not a ProxiedDatabase of this app: a bootstrap runs as the admin user on the writer endpoint, which an imported database does not offer; `
        + 'bootstrap the database in the app that owns it, with users for the functions of every app that imports it');
    }
    const users = props.users ?? [];
    this.validateProps(props, users);
    const iamUsers = database.defaultAuthScheme === rds.DefaultAuthScheme.IAM_AUTH;
    users.forEach((user, index) => this.declareUser(database, user, index, !iamUsers));
    const migrations = props.migrationsPath === undefined ? [] : this.readMigrations(props.migrationsPath);
    this.migrations = migrations.map(migration => migration.name);

    const network = database.network;
    const target = (database.cluster ?? database.instance)!;
    target.connections.allowDefaultPortFrom(database.rotationSecurityGroup, 'Database bootstrap and secret rotation');
    const bootstrap = createVpcHandler(this, 'Bootstrap', {
      handler: 'bootstrap',
      description: `Runs migrations and creates users in ${database.node.path}`,
      timeout: props.timeout ?? Duration.minutes(5),
      logRetention: network.logRetention,
      logEncryptionKey: network.logEncryptionKey,
      placement: { vpc: network.vpc, subnets: network.databaseSubnets, securityGroup: database.rotationSecurityGroup },
      environment: { NODE_EXTRA_CA_CERTS: RDS_CA_BUNDLE },
    });
    this.handler = bootstrap.function;
    Validations.of(this.handler).acknowledge({
      id: DatabaseNetwork.ENI_SHARING_WARNING,
      reason: 'The bootstrap connects to the database itself as the admin user, which the app\'s functions must not: its own security group keeps that reach off the shared function security group, at the cost of one ENI per subnet, shared with the rotation of the users\' secrets.',
    });
    if (!network.allowServiceAccess(database.rotationSecurityGroup, ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER)) {
      Annotations.of(this).addWarningV2(DatabaseBootstrap.SECRETS_UNREACHABLE_WARNING,
        `The bootstrap (and the rotation of the users' secrets) calls Secrets Manager from the database subnets, but ${network.node.path} has no `
        + 'Secrets Manager endpoint it may use: declare the VPC\'s endpoint in the network\'s existingInterfaceEndpoints, or list '
        + 'ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER in its interfaceEndpoints to create one; acknowledge '
        + `'${DatabaseBootstrap.SECRETS_UNREACHABLE_WARNING}' if the database's rotationSecurityGroup reaches Secrets Manager another way.`);
    }
    database.adminSecret.grantRead(bootstrap.role);

    this.userSecrets = {};
    const userProperties = users.map(user => {
      const secret = iamUsers ? undefined : createUserSecret(this, user.name, database);
      if (secret) {
        this.userSecrets[user.name] = secret;
        secret.grantRead(bootstrap.role);
        database.addProxySecret(secret);
      }
      return {
        Name: user.name,
        Privileges: user.privileges ?? DatabasePrivileges.READ_ONLY,
        Authentication: iamUsers ? 'IAM' : 'SECRET',
        ...secret ? { SecretArn: secret.secretArn } : {},
      };
    });

    this.resource = createLibraryCustomResource(this, 'Resource', {
      resourceType: 'Custom::DatabaseBootstrap',
      permissions: [invokePermission(this.handler)],
      logRetention: network.logRetention,
      logEncryptionKey: network.logEncryptionKey,
      properties: {
        HandlerArn: this.handler.functionArn,
        Engine: engineName(database.engine.family),
        Host: database.writerEndpoint,
        Port: String(database.databasePort),
        DatabaseName: database.databaseName,
        AdminSecretArn: database.adminSecret.secretArn,
        Users: userProperties,
        Migrations: migrations.map(migration => ({
          Version: migration.version, Name: migration.name, Checksum: migration.checksum, Sql: migration.sql,
        })),
      },
    });
    // The writer instance must accept connections, not just the cluster resource exist.
    this.resource.node.addDependency(target);
    database.proxyReadiness?.node.addDependency(this.resource);

    if (Object.keys(this.userSecrets).length > 0) {
      this.rotationHandler = rotateUserSecrets(this, 'SecretRotation', {
        database,
        secrets: this.userSecrets,
        interval: props.secretRotationInterval ?? Duration.days(30),
        after: this.resource,
      });
    }
  }

  private readMigrations(folder: string): Migration[] {
    let migrations: Migration[];
    try {
      migrations = readMigrations(folder);
    } catch (error) {
      throw new PropValidationError(this, (error as Error).message);
    }
    const bytes = migrations.reduce((total, migration) => total + Buffer.byteLength(migration.sql, 'utf8'), 0);
    if (bytes > MAX_MIGRATION_BYTES) {
      throw new PropValidationError(this,
        `migrationsPath holds ${bytes} bytes of SQL, more than the ${MAX_MIGRATION_BYTES} bytes a deploy carries: squash old migrations into one baseline or load bulk data another way`);
    }
    const gaps = versionGaps(migrations);
    if (gaps.length > 0) {
      Annotations.of(this).addWarningV2(DatabaseBootstrap.MIGRATION_VERSION_GAP_WARNING,
        `migrationsPath has no migration with version ${gaps.join(', ')}: a migration deleted or renamed by mistake is never applied, and one added `
        + 'there later runs after the higher versions on databases that have them but before them on new databases; number the migrations without gaps, '
        + `or acknowledge '${DatabaseBootstrap.MIGRATION_VERSION_GAP_WARNING}' if the versions were deployed like this`);
    }
    return migrations;
  }

  /**
   * Record that this bootstrap creates `user`, so that functions can check
   * their user is created; throws when another bootstrap of the database
   * declares it in a way the two runs would undo each other.
   */
  private declareUser(database: ProxiedDatabase, user: DatabaseUser, index: number, secret: boolean): void {
    const privileges = user.privileges ?? DatabasePrivileges.READ_ONLY;
    for (const other of declarationsOf(database, user.name)) {
      if (other.privileges !== privileges) {
        throw new PropValidationError(this,
          `users[${index}] ('${user.name}') is declared ${privileges} here and ${other.privileges} by ${other.declaredBy.node.path}: `
          + 'each bootstrap revokes what the other grants, so the user would get the privileges of whichever ran last; declare the user in one bootstrap of the database');
      }
      if (secret || other.secret) {
        throw new PropValidationError(this,
          `users[${index}] ('${user.name}') is also declared by ${other.declaredBy.node.path}, and with defaultAuthScheme NONE each bootstrap gives the user a secret `
          + 'of its own and rotates its password, which breaks the other secret: declare the user in one bootstrap of the database');
      }
    }
    declareUser(database, user.name, { privileges, secret, declaredBy: this });
  }

  private validateProps(props: DatabaseBootstrapProps, users: DatabaseUser[]): void {
    const database = props.database;
    validateDuration(this, { prop: 'timeout', value: props.timeout, min: Duration.minutes(1), max: Duration.minutes(14) });
    validateDuration(this, { prop: 'secretRotationInterval', value: props.secretRotationInterval, min: Duration.days(1), max: Duration.days(365) });
    const seen = new Set<string>();
    users.forEach((user, index) => {
      requireProps(this, user, { name: 'the user name' }, `users[${index}]`);
      const prop = `users[${index}].name`;
      if (Token.isUnresolved(user.name)) {
        throw new PropValidationError(this, `${prop} must be a literal: it names a construct (the user's secret) and a database user`);
      }
      validateDatabaseUserName(this, prop, user.name, database.engine.family);
      if (user.privileges !== undefined && !Object.values(DatabasePrivileges).includes(user.privileges)) {
        throw new PropValidationError(this,
          `users[${index}].privileges ('${user.privileges}') is not a DatabasePrivileges value: use DatabasePrivileges.READ_ONLY or DatabasePrivileges.READ_WRITE`);
      }
      if (user.name === database.adminUsername) {
        throw new PropValidationError(this, `${prop} ('${user.name}') is the admin user of ${database.node.path}: application users need their own names`);
      }
      if (seen.has(user.name)) {
        throw new PropValidationError(this, `${prop} ('${user.name}') is listed twice: list each user once`);
      }
      seen.add(user.name);
    });
    if (props.migrationsPath === undefined && users.length === 0) {
      throw new PropValidationError(this, 'neither migrationsPath nor users is set, so there is nothing to bootstrap: set at least one or remove the construct');
    }
  }
}
