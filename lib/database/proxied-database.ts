import {
  Annotations, ArnFormat, AspectPriority, Aspects, CfnResource, CustomResource, Duration, IAspect, Lazy, RemovalPolicy, Stack, Token,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import { DatabaseCapacity } from './capacity';
import { DatabaseEngine, EngineFamily } from './engine';
import { IProxiedDatabase, ProxiedDatabaseBase } from './proxied-database-base';
import { DatabaseAlarmOptions } from '../monitoring/alarm-options';
import { DatabaseNetwork } from '../network/database-network';
import { acknowledgeInPacks, acknowledgeWildcardResource } from '../private/acknowledgements';
import { AlarmSpec, createAlarms, SUSTAINED } from '../private/alarms';
import {
  defaultDatabasePort, logExports, maxAdminNameLength, validateEngine,
} from './private/engine-rules';
import { createLibraryCustomResource } from '../private/custom-resource';
import { createKey } from '../private/keys';
import { ManagedPolicyRole } from '../private/managed-policy-role';
import { validateParameterPath } from '../private/parameter-store';
import { DEFAULT_PROXY_PERCENT, headroomMaximumPercent } from '../private/max-connections';
import {
  PropValidationError, requireProps, requireResolved, validateDatabaseUserName, validateDuration, validateIdentifier, validateNumber,
} from '../private/validation';
import { validateDatabaseAlarmOptions } from './private/alarm-options';
import { regionalBacktrackWindow } from './private/backtrack';
import { defaultMaxConnections, minimumProxyPercent } from './private/capacity-connections';
import { IMPORT_CHECK_SKIPPED_WARNING, ImportedProxiedDatabase } from './private/imported-proxied-database';
import { UNLISTED_INSTANCE_CLASS_WARNING, validateInstanceClass } from './private/instance-classes';
import { databasePhysicalName } from './private/physical-name';
import { publishAttributes, publishedAttributeReader } from './private/published-attributes';

/**
 * Properties of a ProxiedDatabase.
 */
export interface ProxiedDatabaseProps {
  /** The network that places the database, its proxy and the functions that use it. */
  readonly network: DatabaseNetwork;

  /**
   * The database engine.
   *
   * @default DatabaseEngine.auroraPostgres()
   */
  readonly engine?: DatabaseEngine;

  /**
   * Compute capacity. Serverless v2 is available for Aurora engines only.
   *
   * @default - DatabaseCapacity.serverlessV2() (0.5 to 4 ACU) for Aurora;
   * DatabaseCapacity.provisioned(db.t4g.medium) for RDS instance engines
   */
  readonly capacity?: DatabaseCapacity;

  /**
   * Aurora readers (0 to 15) in other Availability Zones, each a failover
   * target. Aurora engines only.
   *
   * @default 1
   */
  readonly readers?: number;

  /**
   * Run an RDS instance as Multi-AZ with a standby. RDS instance engines only.
   *
   * @default true
   */
  readonly multiAz?: boolean;

  /**
   * Name of the database created in the cluster or instance.
   *
   * @default 'app'
   */
  readonly databaseName?: string;

  /**
   * The admin (master) user name. The engine defaults ('postgres', 'admin')
   * and reserved names are rejected.
   *
   * @default 'dbadmin'
   */
  readonly adminUsername?: string;

  /**
   * The port of the database itself (clients use the proxy, which listens on
   * 5432 or 3306 whatever this is).
   *
   * @default - 5433 for PostgreSQL, 3307 for MySQL (not the engine default)
   */
  readonly databasePort?: number;

  /**
   * The database's `max_connections`, when it differs from the engine's
   * default for the capacity (a custom parameter group) or cannot be derived
   * (an instance class missing from this library's tables).
   *
   * @default - derived from the engine and capacity
   * @see https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Managing.html
   */
  readonly maxConnections?: number;

  /**
   * The share of `max_connections` the proxy may open (1 to 100). The rest is
   * headroom for the bootstrap and rotation functions, admin sessions and
   * failover. It may not be below the minimum AWS recommends for the instance
   * class (55 on t-class medium, 35 on large, 100 on micro and small).
   *
   * @default - 70, or the instance class minimum when that is higher (100 on
   * micro and small classes, which leaves no headroom)
   * @see https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-best-practices.configuration.html
   */
  readonly maxConnectionsPercent?: number;

  /**
   * The share of `max_connections` the proxy keeps open while idle (0 to
   * `maxConnectionsPercent`).
   *
   * @default - half of maxConnectionsPercent (left to RDS Proxy, whose default
   * is the same, when maxConnectionsPercent is a token)
   */
  readonly maxIdleConnectionsPercent?: number;

  /**
   * How long a client waits for a pooled connection before the proxy returns
   * a timeout error. It must stay below the timeout of every function that
   * connects, so the function can answer instead of being cut off.
   *
   * @default - half the shortest timeout of the connected functions, at most
   * 120 seconds (120 seconds when no function is connected); required when a
   * connected function's timeout is a token
   */
  readonly borrowTimeout?: Duration;

  /**
   * How long the proxy keeps an idle client connection (1 minute to 8
   * hours). Keep it above any client-side idle timeout.
   *
   * @default Duration.minutes(30)
   */
  readonly idleClientTimeout?: Duration;

  /**
   * How the proxy authenticates to the database. `IAM_AUTH` (the default) is
   * end-to-end IAM authentication: the proxy connects with IAM too and needs
   * no secret (each database user is granted `rds_iam` or uses
   * `AWSAuthenticationPlugin`, which `DatabaseBootstrap` does). `NONE` makes
   * the proxy log in with secrets: the admin secret and one secret per user
   * that `DatabaseBootstrap` creates and rotates.
   *
   * @default rds.DefaultAuthScheme.IAM_AUTH
   * @see https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-iam-setup.html
   */
  readonly defaultAuthScheme?: rds.DefaultAuthScheme;

  /**
   * How long automated backups are kept (1 to 35 days).
   *
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;

  /**
   * Aurora MySQL backtrack window (0 to 72 hours). Aurora MySQL only. Aurora
   * offers backtracking in some Regions only, and creating a cluster with a
   * window fails elsewhere: set it only for a stack deployed where it is
   * offered.
   *
   * @default - 24 hours for Aurora MySQL in the Regions that offer
   * backtracking (decided at deploy time for an environment-agnostic stack),
   * none elsewhere
   * @see https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraMySQL.Managing.Backtrack.html
   */
  readonly backtrackWindow?: Duration;

  /**
   * Retention of the database and proxy log groups.
   *
   * @default - the network's log retention (one year unless set there)
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the data when the database leaves the stack. `DESTROY`
   * loses it and gets a warning. The secrets of the database users
   * (`DatabaseBootstrap`) follow it: they are retained unless it is
   * `DESTROY`, so the data kept in a snapshot or a retained database keeps
   * its credentials.
   *
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Protect the database from deletion. Turning it off gets a warning.
   *
   * @default true
   */
  readonly deletionProtection?: boolean;

  /**
   * Wait during deployment until every proxy target is `AVAILABLE`, with a
   * custom resource that polls `DescribeDBProxyTargets`; connected functions
   * depend on it, so a broken proxy fails the deploy with the target's
   * reason (`AUTH_FAILURE`, `CONNECTION_FAILED`, ...) instead of deploying
   * functions that cannot connect.
   *
   * @default true
   * @see https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.troubleshooting.html
   */
  readonly waitForProxyTargets?: boolean;

  /**
   * The default alarms (database CPU and connections; the proxy's borrow
   * latency, pinned connections and availability) and the topic they notify.
   *
   * @default - every alarm with its default threshold, without actions
   */
  readonly alarms?: DatabaseAlarmOptions;
}

/**
 * What a function of this app needs to know about a database behind RDS
 * Proxy that it imports, whatever the import reads its attributes from.
 */
export interface ProxiedDatabaseImportOptions {
  /**
   * The network of this app, in the proxy's VPC, that places the functions
   * connecting to the proxy: `new DatabaseNetwork(this, 'Network', { vpc: ec2.Vpc.fromLookup(this, 'Vpc', { vpcId }) })`.
   */
  readonly network: DatabaseNetwork;

  /**
   * The engine behind the proxy. Only its family counts: what the proxy
   * speaks, its port (5432 or 3306) and the rules for database user names;
   * any version will do.
   */
  readonly engine: DatabaseEngine;

  /**
   * Add the ingress rule for this app's functions to the proxy's security
   * group (an `AWS::EC2::SecurityGroupIngress` in this app's stack). Leave it
   * off when the owning team manages the proxy's ingress itself: it then
   * allows the engine port from `network.functionSecurityGroup`. Either way
   * the functions' security group gets the egress rule to the proxy.
   *
   * @default false
   */
  readonly allowIngressFromFunctions?: boolean;

  /**
   * How many connections of the proxy pool this app's functions may hold:
   * what the owning team sized for this app, or the whole pool when this
   * app is its only client. Functions derive their reserved concurrency from
   * it, `consumeQueue` its `maxConcurrency`, and each reservation is checked
   * against it. Give either `poolSize`, or `maxConnections` with
   * `maxConnectionsPercent`.
   *
   * @default - unknown: no reservation is derived and nothing is checked
   * against the pool (a warning says so)
   */
  readonly poolSize?: number;

  /**
   * The database's `max_connections`, with `maxConnectionsPercent`, when
   * this app is the proxy's only client: the pool is
   * `floor(maxConnections * maxConnectionsPercent / 100)`.
   *
   * @default - unknown unless poolSize is given
   */
  readonly maxConnections?: number;

  /**
   * The proxy's `MaxConnectionsPercent` (1 to 100), with `maxConnections`.
   * Note that RDS Proxy's own default is 100.
   *
   * @default - unknown unless poolSize is given
   */
  readonly maxConnectionsPercent?: number;

  /**
   * The proxy's borrow timeout (`ConnectionBorrowTimeout`, 1 to 300
   * seconds): every connected function's timeout must be above it.
   *
   * @default - unknown: the timeouts are not checked against it (a warning
   * says so)
   */
  readonly borrowTimeout?: Duration;
}

/**
 * A database behind RDS Proxy created elsewhere: by this library in another
 * app, by aws-cdk-lib's `rds.DatabaseProxy`, or in the console.
 */
export interface ProxiedDatabaseAttributes extends ProxiedDatabaseImportOptions {
  /** The proxy endpoint, `<name>.proxy-<id>.<region>.rds.amazonaws.com` (or one of the proxy's extra endpoints). */
  readonly endpoint: string;

  /** The name of the proxy. */
  readonly proxyName: string;

  /**
   * The ARN of the proxy, `arn:aws:rds:<region>:<account>:db-proxy:prx-<id>`.
   * Give it or `proxyResourceId`.
   *
   * @default - built from proxyResourceId in the stack's account and Region
   */
  readonly proxyArn?: string;

  /**
   * The proxy's resource id, `prx-<id>` (the last part of its ARN), which
   * `rds-db:connect` grants name. Give it or `proxyArn`.
   *
   * @default - taken from proxyArn
   */
  readonly proxyResourceId?: string;

  /** The id of the proxy's security group. */
  readonly proxySecurityGroupId: string;

  /** The id of the proxy's VPC: it must be the VPC of `network`. */
  readonly vpcId: string;

  /** The name of the application database. */
  readonly databaseName: string;
}

/**
 * Where and how to read a database that `ProxiedDatabase.publishAttributes`
 * published to Parameter Store.
 */
export interface ProxiedDatabaseParameterStoreOptions extends ProxiedDatabaseImportOptions {
  /** The path the owning app gave `publishAttributes`, e.g. `/orders-db-prod/database`. */
  readonly path: string;
}

/**
 * A relational database behind RDS Proxy, secure by default: storage and
 * secret encrypted with a customer-managed key, IAM database authentication,
 * deletion protection, backups, log exports, an admin password that RDS
 * manages and rotates in Secrets Manager, and a proxy that requires TLS and
 * IAM authentication end to end, with a pool sized from the engine's real
 * `max_connections`.
 *
 * Functions connect with `connectFunction()` (or use `DatabaseFunction`),
 * which opens the proxy port, grants `rds-db:connect` for one database user,
 * and counts the function toward the pool.
 */
export class ProxiedDatabase extends ProxiedDatabaseBase {
  /** Warning id for a setting that is legal but risky. */
  public static readonly RISKY_SETTING_WARNING = 'cdk-serverless-rds:RiskySetting';
  /** Warning id for an instance class of a newer generation than this library's table of classes. */
  public static readonly UNLISTED_INSTANCE_CLASS_WARNING = UNLISTED_INSTANCE_CLASS_WARNING;

  /** Warning id for a check that an imported database skips because an attribute is missing or known only at deploy. */
  public static readonly IMPORT_CHECK_SKIPPED_WARNING = IMPORT_CHECK_SKIPPED_WARNING;

  /**
   * A database behind RDS Proxy created elsewhere (by this library in
   * another app, by aws-cdk-lib's `rds.DatabaseProxy`, or in the console),
   * for `DatabaseFunction` and `DatabaseDashboard` (proxy metrics only). It
   * has no admin secret or writer endpoint, so `DatabaseBootstrap` does not
   * take it: the owning app creates the users. Each check that a missing
   * attribute rules out is skipped with a warning
   * (`IMPORT_CHECK_SKIPPED_WARNING`).
   */
  public static fromProxiedDatabaseAttributes(scope: Construct, id: string, attrs: ProxiedDatabaseAttributes): IProxiedDatabase {
    return new ImportedProxiedDatabase(scope, id, () => attrs);
  }

  /**
   * A database that `publishAttributes(path)` published, read from Parameter
   * Store by CloudFormation at every deploy of this stack (stack parameters
   * of type `AWS::SSM::Parameter::Value<String>`), so no stack export ties
   * the apps together. The owning app must be deployed first, in the same
   * account and Region (a publisher in the same app is made a dependency of
   * this stack). The values are known only at deploy: the VPC is not checked
   * at synth, and the pool size and borrow timeout come from the options
   * only (warnings say what is skipped).
   */
  public static fromParameterStore(scope: Construct, id: string, options: ProxiedDatabaseParameterStoreOptions): IProxiedDatabase {
    return new ImportedProxiedDatabase(scope, id, database => {
      requireProps(database, options, { path: 'the Parameter Store path the owning app gave publishAttributes' });
      validateParameterPath(database, 'path', options.path, 'the names of the parameters CloudFormation reads');
      const read = publishedAttributeReader(database, options.path);
      return {
        ...options,
        endpoint: read('endpoint'),
        proxyName: () => read('proxy-name'),
        proxyArn: read('proxy-arn'),
        proxySecurityGroupId: read('proxy-security-group-id'),
        vpcId: { unknownBecause: `the VPC id published at ${options.path}/vpc-id is known only at deploy` },
        databaseName: read('database-name'),
      };
    });
  }

  /** The engine. */
  public readonly engine: DatabaseEngine;
  /** The capacity. */
  public readonly capacity: DatabaseCapacity;
  /** The network this database lives in. */
  public readonly network: DatabaseNetwork;
  /** The Aurora cluster (Aurora engines). */
  public readonly cluster?: rds.DatabaseCluster;
  /** The RDS instance (RDS instance engines). */
  public readonly instance?: rds.DatabaseInstance;
  /** The proxy. */
  public readonly proxy: rds.DatabaseProxy;
  /** The role the proxy uses to read secrets (and, with end-to-end IAM, to connect). */
  public readonly proxyRole: iam.Role;
  /**
   * The admin secret: managed and rotated by RDS (every 7 days unless changed
   * in Secrets Manager), encrypted with `encryptionKey`, and deleted by RDS
   * with the database.
   */
  public readonly adminSecret: secretsmanager.ISecret;
  /** The customer-managed key for storage, snapshots and the database's secrets. */
  public readonly encryptionKey: kms.Key;
  /** Security group of the database; only the proxy and the functions in `rotationSecurityGroup` reach it. */
  public readonly databaseSecurityGroup: ec2.SecurityGroup;
  /**
   * Security group of the functions that connect to the database itself, not
   * through the proxy: the `DatabaseBootstrap` handler and the rotation
   * function of the users' secrets.
   */
  public readonly rotationSecurityGroup: ec2.SecurityGroup;
  /** Connections of the proxy, on the engine port. */
  public readonly connections: ec2.Connections;
  /** The proxy endpoint clients connect to. */
  public readonly endpoint: string;
  /** The name of the proxy, the same as the database's (`physicalName`). */
  public readonly proxyName: string;
  /** The ARN of the proxy. */
  public readonly proxyArn: string;
  /** The port clients connect to (the proxy's engine port). */
  public readonly port: number;
  /** The database's own port. */
  public readonly databasePort: number;
  /** Name of the application database. */
  public readonly databaseName: string;
  /** The admin user name. */
  public readonly adminUsername: string;
  /**
   * The database's `max_connections` (given, or derived from engine and
   * capacity); undefined when it cannot be known at synth.
   */
  public readonly maxConnections?: number;
  /** The share of `max_connections` the proxy may use (a token when given as one). */
  public readonly maxConnectionsPercent: number;
  /**
   * How many database connections the proxy pool holds at most:
   * `floor(maxConnections * maxConnectionsPercent / 100)`. Undefined when
   * `maxConnections` is unknown at synth.
   */
  public readonly poolSize?: number;
  /** The borrow timeout (a token when derived from connected functions). */
  public readonly borrowTimeout: Duration;
  /** The log groups of the database's exported logs, by log type. */
  public readonly logGroups: { [logType: string]: logs.ILogGroup };
  /** The log group of the proxy. */
  public readonly proxyLogGroup: logs.ILogGroup;
  /**
   * The custom resource that waits until the proxy's targets are available;
   * connected functions depend on it. Undefined when `waitForProxyTargets`
   * is false.
   */
  public readonly proxyReadiness?: CustomResource;
  /** The writer endpoint of the database itself (not the proxy), for admin tasks such as the bootstrap. */
  public readonly writerEndpoint: string;
  /** How the proxy authenticates to the database: with secrets (`NONE`) or end to end with IAM (`IAM_AUTH`). */
  public readonly defaultAuthScheme: rds.DefaultAuthScheme;
  /** What happens to the data, and to the users' secrets, when the database leaves the stack. */
  public readonly removalPolicy: RemovalPolicy;
  /**
   * The name of the database (cluster or instance identifier) and of its
   * proxy: a prefix from the construct path and the first 8 hexadecimal
   * digits of the stack id, resolved at deploy time. It is unique per
   * deployed stack and per create, so the same stack deploys twice in one
   * account and Region, and again after `cdk destroy`. Changing the
   * construct path replaces the database.
   */
  public readonly physicalName: string;
  /** The default alarms (empty when `alarms.enabled` is false). */
  public readonly alarms: cloudwatch.Alarm[];

  private readonly givenBorrowTimeout?: Duration;
  private readonly grantedProxyUsers = new Set<string>();
  private publishedPath?: string;
  /** The DbiResourceId or DbClusterResourceId that IAM database authentication ARNs use. */
  private readonly dbResourceIdentifier: string;

  constructor(scope: Construct, id: string, props: ProxiedDatabaseProps) {
    super(scope, id);
    requireProps(this, props, { network: 'the DatabaseNetwork the database and its functions live in' });
    this.network = props.network;
    this.engine = props.engine ?? DatabaseEngine.auroraPostgres();
    this.capacity = props.capacity ?? (this.engine.isAurora
      ? DatabaseCapacity.serverlessV2()
      : DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM)));
    this.databaseName = props.databaseName ?? 'app';
    this.adminUsername = props.adminUsername ?? 'dbadmin';
    this.databasePort = props.databasePort ?? defaultDatabasePort(this.engine);
    this.port = this.engine.proxyPort;
    this.maxConnectionsPercent = props.maxConnectionsPercent ?? Math.max(DEFAULT_PROXY_PERCENT, minimumProxyPercent(this.capacity) ?? 0);
    this.defaultAuthScheme = props.defaultAuthScheme ?? rds.DefaultAuthScheme.IAM_AUTH;
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.SNAPSHOT;
    this.givenBorrowTimeout = props.borrowTimeout;
    this.maxConnections = props.maxConnections ?? defaultMaxConnections(this.engine, this.capacity);
    this.validateProps(props);

    this.poolSize = this.maxConnections === undefined || Token.isUnresolved(this.maxConnections) || Token.isUnresolved(this.maxConnectionsPercent)
      ? undefined
      : Math.floor(this.maxConnections * this.maxConnectionsPercent / 100);
    this.borrowTimeout = props.borrowTimeout ?? Duration.seconds(Lazy.number({ produce: () => this.derivedBorrowTimeoutSeconds() }));

    // Retained: snapshots kept after the database is gone are useless without their key.
    this.encryptionKey = createKey(this, 'Key', `Encrypts the storage, snapshots and secrets of ${this.node.path}`);

    const vpc = this.network.vpc;
    this.databaseSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc, description: `Database of ${this.node.path}: reachable from its proxy, bootstrap and rotation functions only`, allowAllOutbound: false,
    });
    const proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
      vpc, description: `RDS Proxy of ${this.node.path}: reachable from connected functions on the engine port`, allowAllOutbound: false,
    });
    this.rotationSecurityGroup = new ec2.SecurityGroup(this, 'RotationSecurityGroup', {
      vpc, description: `Bootstrap and secret rotation functions of ${this.node.path}`, allowAllOutbound: false,
    });

    this.physicalName = databasePhysicalName(this);
    const physicalId = this.physicalName;
    const logRetention = props.logRetention ?? this.network.logRetention;
    const logPrefix = this.engine.isAurora ? `/aws/rds/cluster/${physicalId}` : `/aws/rds/instance/${physicalId}`;
    this.logGroups = {};
    for (const logType of logExports(this.engine)) {
      this.logGroups[logType] = this.createLogGroup(`${pascal(logType)}LogGroup`, `${logPrefix}/${logType}`, logRetention);
    }

    // RDS generates, stores and rotates the admin password itself: no rotation function, no rotation schedule.
    const credentials = rds.Credentials.fromUsername(this.adminUsername, { encryptionKey: this.encryptionKey });
    const monitoringRole = this.createMonitoringRole();
    const common = {
      vpc,
      vpcSubnets: this.network.databaseSubnets,
      securityGroups: [this.databaseSecurityGroup],
      port: this.databasePort,
      credentials,
      manageMasterUserPassword: true,
      storageEncrypted: true,
      storageEncryptionKey: this.encryptionKey,
      iamAuthentication: true,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: this.removalPolicy,
      cloudwatchLogsExports: logExports(this.engine),
      monitoringInterval: Duration.seconds(60),
      monitoringRole,
      copyTagsToSnapshot: true,
    };

    let target: rds.ProxyTarget;
    let database: rds.DatabaseCluster | rds.DatabaseInstance;
    if (this.engine.isAurora) {
      database = this.cluster = this.createCluster(physicalId, common, props);
      target = rds.ProxyTarget.fromCluster(this.cluster);
      this.dbResourceIdentifier = this.cluster.clusterResourceIdentifier;
      this.adminSecret = this.cluster.secret!;
    } else {
      database = this.instance = this.createInstance(physicalId, common, props);
      target = rds.ProxyTarget.fromInstance(this.instance);
      this.dbResourceIdentifier = (this.instance.node.defaultChild as rds.CfnDBInstance).attrDbiResourceId;
      this.adminSecret = this.instance.secret!;
    }
    // Exports and Enhanced Monitoring start as soon as the instances do: their log groups and the
    // monitoring role's policy must exist first.
    for (const logGroup of Object.values(this.logGroups)) {
      database.node.addDependency(logGroup);
    }
    database.node.addDependency(monitoringRole);
    const backups = props.backupRetention ?? Duration.days(7);
    const kept = backups.isUnresolved() ? 'for the days backupRetention gives' : `for ${backups.toDays()} days`;
    acknowledgeInPacks(database, ['HIPAA.Security', 'NIST.800.53.R5'], 'RDSInBackupPlan', this.engine.isAurora
      ? `Aurora backs up the cluster, not its instances: continuous automated backups with point-in-time restore ${kept}, encrypted with the database key. The instances this rule looks at hold no data of their own.`
      : `Automated backups with point-in-time restore ${kept}, encrypted with the database key, protect the instance; an AWS Backup plan is an account-level choice on top.`);

    this.proxyRole = new ManagedPolicyRole(this, 'ProxyRole', {
      assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'),
      description: `RDS Proxy of ${this.node.path}`,
    });
    // The proxy takes the database's name, so its log group can exist before it does.
    this.proxyLogGroup = this.createLogGroup('ProxyLogGroup', `/aws/rds/proxy/${physicalId}`, logRetention);
    this.proxy = this.createProxy(physicalId, target, proxySecurityGroup, props);
    this.proxy.node.addDependency(this.proxyLogGroup, this.proxyRole);
    this.endpoint = this.proxy.endpoint;
    this.proxyName = this.proxy.dbProxyName;
    this.proxyArn = this.proxy.dbProxyArn;
    this.writerEndpoint = this.engine.isAurora ? this.cluster!.clusterEndpoint.hostname : this.instance!.dbInstanceEndpointAddress;
    if (props.waitForProxyTargets ?? true) {
      this.proxyReadiness = this.createProxyReadiness();
    }

    this.connections = new ec2.Connections({ securityGroups: [proxySecurityGroup], defaultPort: ec2.Port.tcp(this.port) });
    Aspects.of(this).add(new LiteralDatabasePort(database, this.databasePort), { priority: AspectPriority.MUTATING });

    this.alarms = props.alarms?.enabled === false ? [] : createAlarms(this, this.alarmSpecs(props.alarms ?? {}), props.alarms?.topic);
  }

  /** CPU utilization of the database in percent (Average; over the cluster's instances for Aurora). */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.databaseMetric('CPUUtilization', cloudwatch.Stats.AVERAGE, props);
  }

  /** Connections open on the database itself (Maximum): the proxy's pool and everything else. */
  public metricDatabaseConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.databaseMetric('DatabaseConnections', cloudwatch.Stats.MAXIMUM, props);
  }

  private databaseMetric(metricName: string, statistic: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return (this.cluster ?? this.instance!).metric(metricName, { statistic, ...props });
  }

  private alarmSpecs(options: DatabaseAlarmOptions): AlarmSpec[] {
    const { GREATER_THAN_OR_EQUAL_TO_THRESHOLD: AT_LEAST, LESS_THAN_THRESHOLD: BELOW } = cloudwatch.ComparisonOperator;
    const cpu = options.cpuUtilizationPercent ?? 80;
    const latency = options.borrowLatency ?? Duration.millis(100);
    const availability = options.availabilityPercent ?? 99;
    const specs: AlarmSpec[] = [
      {
        id: 'CpuUtilization',
        metric: this.metricCpuUtilization(), threshold: cpu, comparison: AT_LEAST, window: SUSTAINED,
        description: `Database CPU stayed at ${cpu}% for 15 minutes: find the expensive statements (Performance Insights, slow query log) or add capacity`,
      },
      {
        id: 'ProxyBorrowLatency',
        metric: this.metricProxyBorrowLatency(), threshold: latency.toMilliseconds() * 1000, comparison: AT_LEAST, window: SUSTAINED,
        description: `Clients waited ${latency.toMilliseconds()} ms on average for a pooled connection for 15 minutes: the pool is full; see the saved query "Proxy borrow timeouts"`,
      },
      {
        id: 'ProxyPinnedConnections',
        metric: this.metricProxyPinnedConnections({ statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: options.pinnedConnections ?? 1, comparison: AT_LEAST, window: SUSTAINED,
        description: 'Database connections stayed pinned to client sessions for 15 minutes: a session setting, temporary table, lock or prepared statement stops the proxy from sharing them; the proxy log names the cause',
      },
      {
        id: 'ProxyAvailability',
        metric: this.metricProxyAvailability({ statistic: cloudwatch.Stats.MINIMUM }),
        threshold: availability, comparison: BELOW, window: { period: Duration.minutes(1), evaluationPeriods: 3 },
        description: `The proxy's read/write target was available less than ${availability}% of the time for 3 minutes: the database is failing over, down or unreachable from the proxy`,
      },
    ];
    // The threshold is a share of max_connections, computed at synth: without the numbers the alarm is left out.
    const maxConnections = this.maxConnections;
    const percent = options.connectionsPercentOfMax
      ?? (Token.isUnresolved(this.maxConnectionsPercent) ? undefined : this.maxConnectionsPercent + Math.floor((100 - this.maxConnectionsPercent) / 2));
    if (maxConnections !== undefined && !Token.isUnresolved(maxConnections) && percent !== undefined) {
      specs.push({
        id: 'DatabaseConnections',
        metric: this.metricDatabaseConnections(), threshold: Math.ceil(maxConnections * percent / 100), comparison: AT_LEAST, window: SUSTAINED,
        description: `Database connections stayed at ${percent}% of max_connections (${maxConnections}) for 15 minutes: clients other than the proxy hold connections, or the pool is sized too large`,
      });
    }
    return specs;
  }

  /**
   * Grant `rds-db:connect` through the proxy for exactly one database user
   * (the same name rules as `DatabaseBootstrap` users). With end-to-end IAM
   * authentication, also lets the proxy connect to the database as that
   * user.
   */
  public grantConnect(grantee: iam.IGrantable, databaseUser: string): iam.Grant {
    this.allowProxyLogin(databaseUser);
    return this.proxy.grantConnect(grantee, databaseUser);
  }

  /**
   * With end-to-end IAM authentication, let the proxy connect to the
   * database as `databaseUser` (`grantConnect` does it for the functions of
   * this app). Call it for each user that functions of other apps connect as
   * through an import of this database; without it their logins fail. Does
   * nothing when the proxy logs in with secrets.
   */
  public allowProxyLogin(databaseUser: string): void {
    validateDatabaseUserName(this, 'databaseUser', databaseUser, this.engine.family);
    if (this.defaultAuthScheme !== rds.DefaultAuthScheme.IAM_AUTH || this.grantedProxyUsers.has(databaseUser)) {
      return;
    }
    this.grantedProxyUsers.add(databaseUser);
    this.proxyRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['rds-db:connect'],
      resources: [Stack.of(this).formatArn({
        service: 'rds-db', resource: 'dbuser', resourceName: `${this.dbResourceIdentifier}/${databaseUser}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })],
    }));
  }

  /**
   * Write what other apps need to import this database to String parameters
   * under `path` (`<path>/endpoint`, `proxy-name`, `proxy-arn`,
   * `proxy-security-group-id`, `vpc-id`, `database-name`), which
   * `ProxiedDatabase.fromParameterStore` reads at deploy. No CloudFormation
   * export ties the apps together, so this stack can change the proxy
   * without first updating every importer. Parameter names are unique in an
   * account and Region: a path that holds the stack's name (e.g.
   * `/${stackName}/database`) lets a second deployment of the stack publish
   * beside the first.
   *
   * @param path a Parameter Store path of at most 14 levels, e.g. `/orders-db-prod/database`
   */
  public publishAttributes(path: string): ssm.StringParameter[] {
    validateParameterPath(this, 'path', path, 'the names of the parameters that other apps read');
    if (this.publishedPath !== undefined) {
      throw new PropValidationError(this, `publishAttributes('${path}') is called, but the attributes are already published at ${this.publishedPath}: publish them once, and import every app from that path`);
    }
    this.publishedPath = path;
    return publishAttributes(this, path, {
      'endpoint': this.endpoint,
      'proxy-name': this.proxyName,
      'proxy-arn': this.proxyArn,
      'proxy-security-group-id': this.connections.securityGroups[0].securityGroupId,
      'vpc-id': this.network.vpc.vpcId,
      'database-name': this.databaseName,
    });
  }

  /**
   * Let the proxy authenticate to the database with another user's secret
   * (a JSON secret with `username` and `password`), so clients can connect
   * through the proxy as that user. Not available with end-to-end IAM
   * authentication, where the proxy needs no secrets.
   */
  public addProxySecret(secret: secretsmanager.ISecret): void {
    if (this.defaultAuthScheme === rds.DefaultAuthScheme.IAM_AUTH) {
      throw new PropValidationError(this, 'addProxySecret() needs the proxy to authenticate with secrets, but defaultAuthScheme is IAM_AUTH: create the user with IAM authentication instead');
    }
    const cfnProxy = this.proxy.node.defaultChild as rds.CfnDBProxy;
    const auth = cfnProxy.auth as rds.CfnDBProxy.AuthFormatProperty[];
    auth.push({ ...auth[0], secretArn: secret.secretArn });
    secret.grantRead(this.proxyRole);
  }

  /**
   * Connect a Lambda function through the proxy as `databaseUser`: opens the
   * engine port from the function's security groups to the proxy, grants
   * `rds-db:connect` for that user, and counts the function toward the pool
   * share and the derived borrow timeout. Throws when the function is not in
   * the VPC of the database's network, when its timeout leaves no room for a
   * borrow timeout below it (under 2 s, or not above an explicit borrow
   * timeout), when it is a token and the borrow timeout is derived, or when
   * its reserved concurrency is above the pool size.
   */
  public override connectFunction(fn: lambda.Function, databaseUser: string): iam.Grant {
    const grant = super.connectFunction(fn, databaseUser);
    if (this.proxyReadiness) {
      fn.node.addDependency(this.proxyReadiness);
    }
    return grant;
  }

  /** @internal */
  protected override _explicitBorrowTimeout(): Duration | undefined {
    return this.givenBorrowTimeout;
  }

  /** @internal */
  protected override _derivesBorrowTimeout(): boolean {
    return true;
  }

  /** Half the shortest client timeout (at least 1 s, since clients have 2 s or more), at most 120 s. */
  private derivedBorrowTimeoutSeconds(): number {
    // Only an explicit borrow timeout admits clients with a token timeout, and then nothing is derived.
    const timeouts = this._clientTimeouts();
    if (timeouts.length === 0) {
      return 120;
    }
    return Math.min(120, Math.floor(Math.min(...timeouts) / 2));
  }

  private validateProps(props: ProxiedDatabaseProps): void {
    validateEngine(this, this.engine, this.capacity);
    const capacity = this.capacity;
    const instanceClass = capacity.instanceType?.toString();
    if (instanceClass !== undefined && !Token.isUnresolved(instanceClass)) {
      const unlisted = validateInstanceClass(this, this.engine, instanceClass);
      if (unlisted) {
        Annotations.of(this).addWarningV2(ProxiedDatabase.UNLISTED_INSTANCE_CLASS_WARNING, unlisted);
      }
      if (this.maxConnections === undefined) {
        throw new PropValidationError(this,
          `capacity instance class db.${instanceClass} is not in this library's max_connections tables, so the proxy pool cannot be sized: set maxConnections to the database's max_connections`);
      }
    }
    if (capacity.isServerless) {
      validateNumber(this, { prop: 'capacity.minCapacity', value: capacity.minCapacity, min: 0, max: 256, step: 0.5, unit: ' ACU' });
      validateNumber(this, { prop: 'capacity.maxCapacity', value: capacity.maxCapacity, min: 1, max: 256, step: 0.5, unit: ' ACU' });
      if (capacity.minCapacity === 0) {
        throw new PropValidationError(this,
          'capacity.minCapacity (0 ACU) turns on auto-pause, which does not work behind RDS Proxy (the proxy keeps connections open, and a paused target is unavailable): use a minCapacity of 0.5 or more');
      }
      const [min, max] = [capacity.minCapacity!, capacity.maxCapacity!];
      if (!Token.isUnresolved(min) && !Token.isUnresolved(max) && min > max) {
        throw new PropValidationError(this,
          `capacity.minCapacity (${min} ACU) must not exceed capacity.maxCapacity (${max} ACU): lower minCapacity or raise maxCapacity`);
      }
    }
    if (this.engine.isAurora) {
      if (props.multiAz !== undefined) {
        throw new PropValidationError(this, 'multiAz applies to RDS instance engines only: for Aurora, set readers (each reader is a failover target in another zone)');
      }
      requireResolved(this, 'readers', props.readers, 'how many reader instances the cluster gets');
      validateNumber(this, { prop: 'readers', value: props.readers, min: 0, max: 15, integer: true });
    } else if (props.readers !== undefined) {
      throw new PropValidationError(this, `readers (${props.readers}) applies to Aurora engines only: for ${this.engine.displayName}, use multiAz`);
    }
    if (props.backtrackWindow !== undefined && !(this.engine.isAurora && this.engine.family === EngineFamily.MYSQL)) {
      throw new PropValidationError(this, `backtrackWindow applies to Aurora MySQL only, not ${this.engine.displayName}: remove it`);
    }
    validateDuration(this, { prop: 'backtrackWindow', value: props.backtrackWindow, min: Duration.seconds(0), max: Duration.hours(72) });
    validateIdentifier(this, { prop: 'databaseName', value: props.databaseName, maxLength: 63 });
    if (props.databaseName !== undefined && !Token.isUnresolved(props.databaseName)
      && ['postgres', 'template0', 'template1', 'rdsadmin', 'mysql', 'sys', 'information_schema', 'performance_schema'].includes(props.databaseName.toLowerCase())) {
      throw new PropValidationError(this, `databaseName ('${props.databaseName}') is a system database: choose another name, e.g. 'app'`);
    }
    validateIdentifier(this, { prop: 'adminUsername', value: props.adminUsername, maxLength: maxAdminNameLength(this.engine), rejectReserved: true });
    validateNumber(this, { prop: 'databasePort', value: props.databasePort, min: 1150, max: 65535, integer: true });
    validateNumber(this, { prop: 'maxConnections', value: props.maxConnections, min: 1, max: 100000, integer: true });
    validateNumber(this, { prop: 'maxConnectionsPercent', value: props.maxConnectionsPercent, min: 1, max: 100, integer: true });
    const percent = this.maxConnectionsPercent;
    const minimumPercent = minimumProxyPercent(capacity);
    if (minimumPercent !== undefined && !Token.isUnresolved(percent) && percent < minimumPercent) {
      throw new PropValidationError(this,
        `maxConnectionsPercent (${percent}) is below the ${minimumPercent} that AWS recommends for RDS Proxy on ${capacity.instanceType}: `
        + (minimumPercent === 100
          ? 'this class leaves no headroom; remove maxConnectionsPercent (it then defaults to 100), or use db.t4g.medium or larger for headroom'
          : `raise maxConnectionsPercent to ${minimumPercent} or use a larger instance class`));
    }
    if (!Token.isUnresolved(percent) && percent > headroomMaximumPercent(minimumPercent)) {
      this.warn(`maxConnectionsPercent (${percent}) leaves under 10% of max_connections for the bootstrap and rotation functions, admin sessions and failover: keep it at 90 or below unless every client goes through the proxy`);
    }
    validateNumber(this, { prop: 'maxIdleConnectionsPercent', value: props.maxIdleConnectionsPercent, min: 0, max: Token.isUnresolved(percent) ? 100 : percent, integer: true });
    validateDuration(this, { prop: 'borrowTimeout', value: props.borrowTimeout, min: Duration.seconds(1), max: Duration.seconds(300) });
    validateDuration(this, { prop: 'idleClientTimeout', value: props.idleClientTimeout, min: Duration.minutes(1), max: Duration.hours(8) });
    validateDuration(this, { prop: 'backupRetention', value: props.backupRetention, min: Duration.days(1), max: Duration.days(35) });
    if (props.backupRetention && !props.backupRetention.isUnresolved() && !Number.isInteger(props.backupRetention.toHours() / 24)) {
      throw new PropValidationError(this, `backupRetention (${props.backupRetention.toHumanString()}) must be whole days: use Duration.days(n)`);
    }
    this.validateAlarmOptions(props.alarms ?? {});
    if (props.removalPolicy === RemovalPolicy.DESTROY) {
      this.warn('removalPolicy is DESTROY: removing the database from the stack deletes its data without a final snapshot; use RemovalPolicy.SNAPSHOT or RETAIN for data you keep');
    }
    if (props.deletionProtection === false) {
      this.warn('deletionProtection is off: a stack deletion or replacement can delete the database; leave it on outside throwaway environments');
    }
  }

  /**
   * Alarm thresholds are computed at synth: an option that is a token, or
   * whose alarm cannot be created, fails instead of being ignored.
   */
  private validateAlarmOptions(options: DatabaseAlarmOptions): void {
    validateDatabaseAlarmOptions(this, options);
    const maxConnections = this.maxConnections;
    if (options.connectionsPercentOfMax !== undefined && (maxConnections === undefined || Token.isUnresolved(maxConnections))) {
      throw new PropValidationError(this,
        `alarms.connectionsPercentOfMax (${options.connectionsPercentOfMax}) has no effect: the DatabaseConnections alarm needs max_connections at synth, which comes from a token here (maxConnections or the capacity); `
        + 'give maxConnections as a literal, or remove connectionsPercentOfMax');
    }
  }

  private warn(message: string): void {
    Annotations.of(this).addWarningV2(ProxiedDatabase.RISKY_SETTING_WARNING, message);
  }

  private createLogGroup(id: string, logGroupName: string, retention: logs.RetentionDays): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      logGroupName,
      retention,
      encryptionKey: this.network.logEncryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  private createMonitoringRole(): iam.Role {
    const role = new ManagedPolicyRole(this, 'MonitoringRole', {
      assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com'),
      description: `Enhanced Monitoring of ${this.node.path}`,
    });
    // The statements of the AWS managed AmazonRDSEnhancedMonitoringRole, narrowed to the one log group RDS writes to.
    const stack = Stack.of(this);
    const logGroupArn = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: 'RDSOSMetrics', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'],
      resources: [logGroupArn],
    }));
    const logStreams = `${logGroupArn}:log-stream:*`;
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:GetLogEvents'],
      resources: [logStreams],
    }));
    acknowledgeWildcardResource(role, logStreams,
      'Enhanced Monitoring writes one stream per DB instance, named by the instance resource id, which exists only after the instances that use this role are created; the wildcard stays inside the RDSOSMetrics log group.');
    return role;
  }

  private createProxyReadiness(): CustomResource {
    const targetGroup = this.proxy.node.findChild('ProxyTargetGroup') as rds.CfnDBProxyTargetGroup;
    const resource = createLibraryCustomResource(this, 'ProxyTargetsAvailable', {
      resourceType: 'Custom::ProxyTargetsAvailable',
      properties: { ProxyName: this.proxy.dbProxyName, TargetGroupName: 'default' },
      permissions: [new iam.PolicyStatement({
        actions: ['rds:DescribeDBProxyTargets'],
        resources: [this.proxy.dbProxyArn, targetGroup.attrTargetGroupArn],
      })],
      logRetention: this.network.logRetention,
      logEncryptionKey: this.network.logEncryptionKey,
    });
    resource.node.addDependency(targetGroup);
    return resource;
  }

  private createProxy(dbProxyName: string, proxyTarget: rds.ProxyTarget, securityGroup: ec2.ISecurityGroup, props: ProxiedDatabaseProps): rds.DatabaseProxy {
    const endToEndIam = this.defaultAuthScheme === rds.DefaultAuthScheme.IAM_AUTH;
    return new rds.DatabaseProxy(this, 'Proxy', {
      proxyTarget,
      dbProxyName,
      vpc: this.network.vpc,
      vpcSubnets: this.network.databaseSubnets,
      securityGroups: [securityGroup],
      role: this.proxyRole,
      secrets: endToEndIam ? undefined : [this.adminSecret],
      defaultAuthScheme: endToEndIam ? rds.DefaultAuthScheme.IAM_AUTH : undefined,
      requireTLS: true,
      iamAuth: true,
      debugLogging: false,
      borrowTimeout: this.borrowTimeout,
      idleClientTimeout: props.idleClientTimeout ?? Duration.minutes(30),
      maxConnectionsPercent: this.maxConnectionsPercent,
      // RDS Proxy's own default is half of MaxConnectionsPercent too, so a token percentage leaves it to the service.
      maxIdleConnectionsPercent: props.maxIdleConnectionsPercent ?? (Token.isUnresolved(this.maxConnectionsPercent) ? undefined : Math.floor(this.maxConnectionsPercent / 2)),
    });
  }

  private createCluster(clusterIdentifier: string, common: DatabaseCommonProps, props: ProxiedDatabaseProps): rds.DatabaseCluster {
    const capacity = this.capacity;
    const instanceProps = { publiclyAccessible: false, autoMinorVersionUpgrade: true };
    const instance = (id: string, isWriter: boolean): rds.IClusterInstance => capacity.isServerless
      ? rds.ClusterInstance.serverlessV2(id, { ...instanceProps, scaleWithWriter: !isWriter ? true : undefined })
      : rds.ClusterInstance.provisioned(id, { ...instanceProps, instanceType: capacity.instanceType! });
    const readers = props.readers ?? 1;
    const isMysql = this.engine.family === EngineFamily.MYSQL;
    const engine = this.engine.clusterEngine!;
    return new rds.DatabaseCluster(this, 'Cluster', {
      ...common,
      engine,
      clusterIdentifier,
      defaultDatabaseName: this.databaseName,
      writer: instance('Writer', true),
      readers: Array.from({ length: readers }, (_, i) => instance(`Reader${i + 1}`, false)),
      serverlessV2MinCapacity: capacity.minCapacity,
      serverlessV2MaxCapacity: capacity.maxCapacity,
      backup: { retention: props.backupRetention ?? Duration.days(7) },
      backtrackWindow: isMysql ? props.backtrackWindow ?? regionalBacktrackWindow(this, DEFAULT_BACKTRACK_WINDOW) : undefined,
      parameterGroup: new rds.ParameterGroup(this, 'ClusterParameters', {
        engine,
        description: `TLS-only connections${isMysql ? ', audit and slow query logging' : ''} for ${this.node.path}`,
        parameters: isMysql ? { ...MYSQL_TLS_PARAMETERS, ...MYSQL_LOG_PARAMETERS, ...MYSQL_AUDIT_PARAMETERS } : POSTGRES_TLS_PARAMETERS,
      }),
    });
  }

  private createInstance(instanceIdentifier: string, common: DatabaseCommonProps, props: ProxiedDatabaseProps): rds.DatabaseInstance {
    const isMysql = this.engine.family === EngineFamily.MYSQL;
    return new rds.DatabaseInstance(this, 'Instance', {
      ...common,
      engine: this.engine.instanceEngine!,
      instanceIdentifier,
      instanceType: this.capacity.instanceType!,
      databaseName: this.databaseName,
      multiAz: props.multiAz ?? true,
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
      allocatedStorage: 20,
      maxAllocatedStorage: 100,
      storageType: rds.StorageType.GP3,
      backupRetention: props.backupRetention ?? Duration.days(7),
      parameterGroup: new rds.ParameterGroup(this, 'Parameters', {
        engine: this.engine.instanceEngine!,
        description: `TLS-only connections${isMysql ? ' and slow query logging' : ''} for ${this.node.path}`,
        parameters: isMysql ? { ...MYSQL_TLS_PARAMETERS, ...MYSQL_LOG_PARAMETERS } : POSTGRES_TLS_PARAMETERS,
      }),
      optionGroup: isMysql ? new rds.OptionGroup(this, 'Options', {
        engine: this.engine.instanceEngine!,
        description: `Audit logging for ${this.node.path}`,
        configurations: [{ name: 'MARIADB_AUDIT_PLUGIN', settings: { SERVER_AUDIT_EVENTS: 'CONNECT,QUERY_DDL,QUERY_DCL' } }],
      }) : undefined,
    });
  }
}

/** The backtrack window where Aurora offers backtracking and none is set. */
const DEFAULT_BACKTRACK_WINDOW = Duration.hours(24);

type DatabaseCommonProps = {
  vpc: ec2.IVpc;
  vpcSubnets: ec2.SubnetSelection;
  securityGroups: ec2.ISecurityGroup[];
  port: number;
  credentials: rds.Credentials;
  manageMasterUserPassword: boolean;
  storageEncrypted: boolean;
  storageEncryptionKey: kms.IKey;
  iamAuthentication: boolean;
  deletionProtection: boolean;
  removalPolicy: RemovalPolicy;
  cloudwatchLogsExports: string[];
  monitoringInterval: Duration;
  monitoringRole: iam.IRole;
  copyTagsToSnapshot: boolean;
};

/** Every connection to the database, the proxy's and the bootstrap's included, must use TLS. */
const POSTGRES_TLS_PARAMETERS = { 'rds.force_ssl': '1' };
const MYSQL_TLS_PARAMETERS = { require_secure_transport: 'ON' };
const MYSQL_LOG_PARAMETERS = { slow_query_log: '1', long_query_time: '2', log_output: 'FILE' };
/** Connections and schema and privilege changes, not every statement (that would log data). */
const MYSQL_AUDIT_PARAMETERS = { server_audit_logging: '1', server_audit_events: 'CONNECT,QUERY_DDL,QUERY_DCL' };

/**
 * The L2 database constructs render their default port as a GetAtt of the
 * endpoint port, so security group rules opened with it (proxy and rotation
 * function to database) carry a token instead of the port, which reviewers
 * cannot read and cdk-nag's port rules cannot evaluate. The port is fixed at
 * synth, so the rules get it as a literal.
 */
class LiteralDatabasePort implements IAspect {
  private readonly endpointPort: string;

  constructor(private readonly database: rds.DatabaseCluster | rds.DatabaseInstance, private readonly port: number) {
    const resource = database.node.defaultChild as CfnResource;
    this.endpointPort = JSON.stringify({ 'Fn::GetAtt': [Stack.of(database).getLogicalId(resource), 'Endpoint.Port'] });
  }

  public visit(node: IConstruct): void {
    if (!(node instanceof ec2.CfnSecurityGroupIngress || node instanceof ec2.CfnSecurityGroupEgress)) {
      return;
    }
    const stack = Stack.of(this.database);
    if (JSON.stringify(stack.resolve(node.fromPort)) === this.endpointPort && JSON.stringify(stack.resolve(node.toPort)) === this.endpointPort) {
      node.fromPort = this.port;
      node.toPort = this.port;
    }
  }
}

function pascal(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}
