import { Annotations, ArnFormat, Aspects, Aws, CfnCondition, CfnParameter, Duration, Fn, Lazy, RemovalPolicy, Size, Stack, Token, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as eventsources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, IConstruct } from 'constructs';
import { validateFunctionAlarmOptions } from './private/alarm-options';
import { withParameterStoreReader } from './private/parameter-store-reader';
import { ProvisionedConcurrencyOptions } from './provisioned-concurrency';
import { AppParameters } from '../configuration/app-parameters';
import { ProxiedDatabase } from '../database/proxied-database';
import { IProxiedDatabase, ProxiedDatabaseBase } from '../database/proxied-database-base';
import { DependencyLayer } from '../layer/dependency-layer';
import { FunctionAlarmOptions } from '../monitoring/alarm-options';
import { acknowledgeInPacks } from '../private/acknowledgements';
import { AlarmSpec, createAlarms, PROMPT, SUSTAINED } from '../private/alarms';
import {
  ACCOUNT_CONCURRENCY_CONTEXT, accountConcurrencyLimit, declareReservation, hasReservation, reservableConcurrency, reservationKnownAtSynth,
  reservedConcurrency, validateAppReservations,
} from '../private/concurrency';
import { declarationsOf } from '../private/declared-users';
import { createExecutionRole } from '../private/execution-role';
import { engineName } from '../private/engine-family';
import { createKey } from '../private/keys';
import { validateFunctionLayers } from './private/layer-limits';
import { addLogQueries } from './private/log-queries';
import { addProvisionedConcurrency, KillSwitch } from './private/provisioned-concurrency';
import { isSecretLikeName, SECRET_DYNAMIC_REFERENCE } from '../private/secret-environment';
import { PropValidationError, requireProps, validateDatabaseUserName, validateDuration, validateNumber } from '../private/validation';

/**
 * Properties of a DatabaseFunction.
 */
export interface DatabaseFunctionProps {
  /**
   * The database the function connects to, through its proxy: a
   * `ProxiedDatabase` of this app, or one imported with
   * `ProxiedDatabase.fromProxiedDatabaseAttributes` or
   * `ProxiedDatabase.fromParameterStore`.
   */
  readonly database: IProxiedDatabase;

  /**
   * The database user the function connects as: lowercase letters, digits
   * and underscores, a letter first, not a name the engine or RDS reserves.
   * It gets `rds-db:connect` for exactly this user. A `DatabaseBootstrap` of
   * the database must declare the user, unless
   * `externallyManagedDatabaseUser` says it is created another way.
   */
  readonly databaseUser: string;

  /**
   * Whether `databaseUser` is created, and given IAM authentication, outside
   * the app's `DatabaseBootstrap`s: by hand, by another tool or app, or (the
   * admin user) by RDS. Without it, the synth fails unless a
   * `DatabaseBootstrap` of the database declares the user, because a user
   * that nothing creates fails every connection at runtime; with it, a
   * bootstrap that declares the user is an error.
   * For an imported database the owning app creates the users, so
   * nothing is checked.
   *
   * @default false
   */
  readonly externallyManagedDatabaseUser?: boolean;

  /** Path to the handler's entry file (TypeScript or JavaScript), bundled with esbuild. */
  readonly entry: string;

  /**
   * The exported handler function.
   *
   * @default 'handler'
   */
  readonly handler?: string;

  /**
   * The Node.js runtime.
   *
   * @default lambda.Runtime.NODEJS_24_X
   */
  readonly runtime?: lambda.Runtime;

  /**
   * The instruction set architecture. arm64 costs 20% less per GB-second;
   * choose x86_64 for dependencies with native code built for x86_64 only.
   * `layers` must be built for the same architecture, and
   * `provisionedMonthlyCostUsd` uses its price.
   *
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;

  /**
   * The size of the function's `/tmp` (512 MB to 10,240 MB, whole MB).
   * Above 512 MB it is billed per GB-second.
   *
   * @default Size.mebibytes(512)
   */
  readonly ephemeralStorageSize?: Size;

  /**
   * Memory in MB (128 to 10,240). CPU grows with memory; 1,024 MB keeps a
   * TLS handshake and a token signature out of the cold-start budget.
   *
   * @default 1024
   */
  readonly memorySize?: number;

  /**
   * Function timeout (1 second to 15 minutes). It must stay above the proxy's
   * borrow timeout.
   *
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;

  /**
   * Reserved concurrency: a cap on how many environments, and so database
   * connections, the function can hold (0 stops it). It may not exceed the
   * proxy pool, nor, when context `cdk-serverless-rds:accountConcurrencyLimit`
   * gives the account's limit, what the limit leaves to reserve (Lambda keeps
   * 100 unreserved).
   *
   * @default - with the account's limit in context, a fair share of the proxy
   * pool (after explicit reservations of other functions on the same proxy),
   * capped so that the app's reservations leave the account's 100
   * unreserved; without it, no reservation: new accounts (limit 10) and
   * shared ones may have nothing to reserve, and a reservation would fail
   * the deploy
   * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
   */
  readonly reservedConcurrentExecutions?: number;

  /**
   * More environment variables. Names the construct sets (DATABASE_*) and
   * names that suggest a password are rejected; values may never be secret
   * values. Lambda allows 4 KB for all of a function's variables, names
   * included, as JSON; the synth fails above it (values known only at deploy
   * count as empty).
   *
   * @default - only the database connection settings
   */
  readonly environment?: { [key: string]: string };

  /**
   * Bundling options, merged over the construct's defaults (minified, source
   * maps). `pg-native` always stays external.
   *
   * @default - the construct's defaults
   */
  readonly bundling?: nodejs.BundlingOptions;

  /**
   * The lockfile that marks the project root for bundling.
   *
   * @default - the nearest lockfile above the entry
   */
  readonly depsLockFilePath?: string;

  /**
   * Retention of the function's log group.
   *
   * @default - the network's log retention (one year unless set there)
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The lowest application log level Lambda keeps (JSON logs).
   *
   * @default lambda.ApplicationLogLevel.INFO
   */
  readonly applicationLogLevel?: lambda.ApplicationLogLevel;

  /**
   * Shared, non-secret settings of the app in Parameter Store. The function
   * gets read access to exactly that path and its name in `PARAMETERS_PATH`;
   * the runtime's `appParameters()` reads them with caching.
   *
   * @default - no shared settings
   */
  readonly parameters?: AppParameters;

  /**
   * The service name in logs, traces and metrics (`POWERTOOLS_SERVICE_NAME`).
   *
   * @default - the construct id
   */
  readonly serviceName?: string;

  /**
   * The CloudWatch namespace of the function's metrics (`POWERTOOLS_METRICS_NAMESPACE`).
   *
   * @default - the stack name
   */
  readonly metricsNamespace?: string;

  /**
   * A description.
   *
   * @default - none
   */
  readonly description?: string;

  /**
   * Shared dependency layers. Their packages become esbuild externals of the
   * function, so nothing is bundled twice; list in `bundledPackages` what
   * should be bundled anyway. At most 5 layers, built for the function's
   * runtime and architecture, and function plus layers under 250 MB unzipped.
   *
   * @default - no layers; every dependency is bundled
   */
  readonly layers?: DependencyLayer[];

  /**
   * Packages of the `layers` to bundle into the function anyway. Bundling
   * tree-shakes and cold-starts faster; a layer is shared, deployed once and
   * keeps the function's own zip small.
   *
   * @default - none: every package of the layers is loaded from the layers
   */
  readonly bundledPackages?: string[];

  /**
   * Provisioned concurrency on a stable alias, with optional auto scaling.
   * Versions are published only when code or configuration change; callers
   * invoke `invokeTarget` (the alias).
   *
   * @default - no alias and no provisioned concurrency
   * @see https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html
   */
  readonly provisionedConcurrency?: ProvisionedConcurrencyOptions;

  /**
   * Where successful asynchronous invocations are recorded (SQS, SNS,
   * EventBridge or Lambda, from `aws-cdk-lib/aws-lambda-destinations`).
   *
   * @default - no success destination
   * @see https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
   */
  readonly onSuccess?: lambda.IDestination;

  /**
   * Where asynchronous invocations go after their last retry or when they
   * are too old. The function's role gets the permissions to send there,
   * including the KMS permissions of a customer-managed key.
   *
   * @default - a failure queue the construct creates (`failureQueue`): SQS
   * encrypted with its own KMS key, SSL enforced, 14-day retention, with a
   * dead-letter queue of its own
   */
  readonly onFailure?: lambda.IDestination;

  /**
   * How often Lambda retries a failed asynchronous invocation (0 to 2).
   *
   * @default 2
   */
  readonly retryAttempts?: number;

  /**
   * How long Lambda keeps an asynchronous event for processing (60 seconds
   * to 6 hours).
   *
   * @default Duration.hours(6)
   */
  readonly maxEventAge?: Duration;

  /**
   * A dead-letter queue for asynchronous invocations that failed (the
   * function's `DeadLetterConfig`). The role gets `sqs:SendMessage` and,
   * for a queue encrypted with a customer-managed key, the KMS permissions.
   * Prefer `onFailure`, which records the error and the response too.
   *
   * @default - none; failures go to `onFailure`
   */
  readonly deadLetterQueue?: sqs.IQueue;

  /**
   * A stack parameter that sets the function's reserved concurrency to 0
   * (every invocation throttled, provisioned concurrency released first) when
   * it is `on`: `cdk deploy <stack> --parameters <KillSwitchParameter>=on`,
   * and `=off` to resume (the reservation, or none, comes back before any
   * provisioned concurrency). The CLI keeps the value on later deploys until
   * changed.
   *
   * @default true
   */
  readonly killSwitch?: boolean;

  /**
   * The default alarms (errors, throttles, p99 duration, concurrency against
   * the reservation, provisioned concurrency, asynchronous failures, the
   * failure queue) and the topic they notify.
   *
   * @default - every alarm with its default threshold, without actions
   */
  readonly alarms?: FunctionAlarmOptions;
}

/**
 * Options for a queue the function consumes.
 */
export interface QueueConsumerOptions {
  /**
   * Messages per batch (1 to 10,000; above 10 needs `maxBatchingWindow`).
   *
   * @default 10
   */
  readonly batchSize?: number;

  /**
   * How long to gather messages before invoking.
   *
   * @default - no batching window
   */
  readonly maxBatchingWindow?: Duration;

  /**
   * How many environments the queue may use at once (2 to 1,000). Above the
   * reserved concurrency, the poller is throttled and messages count receives
   * without being processed, and end in the dead-letter queue.
   *
   * @default - the function's reserved concurrency; without one, its share
   * of the proxy pool (the pool left by explicit reservations, split among
   * the functions without one), so that the queue cannot take more
   * connections than the proxy can serve; 2 to 1,000
   */
  readonly maxConcurrency?: number;

  /**
   * Consume the queue in provisioned mode: Lambda keeps dedicated event
   * pollers ready, which scale up faster than the default mode and are
   * billed while provisioned. Cannot be combined with `maxConcurrency`: the
   * maximum number of pollers caps the queue instead.
   *
   * @see https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
   * @default - the default mode, capped by `maxConcurrency`
   */
  readonly provisionedPollers?: ProvisionedPollerOptions;
}

/**
 * Event pollers of a queue consumed in provisioned mode. Each poller invokes
 * the function up to 10 times at once, and each invocation holds one database
 * connection.
 */
export interface ProvisionedPollerOptions {
  /**
   * Pollers kept ready even while the queue is empty (2 to 200, at most
   * `maximumPollers`). They are billed whether or not messages arrive.
   *
   * @default 2
   */
  readonly minimumPollers?: number;

  /**
   * Pollers Lambda may scale up to (2 to 2,000). Up to 10 times this many
   * invocations run at once, which must fit what the proxy can serve.
   *
   * @default - the function's reserved concurrency divided by 10; without
   * one, its share of the proxy pool divided by 10; at least 2
   */
  readonly maximumPollers?: number;
}

/** Environment variables the construct owns. */
const PROP_OF_ENVIRONMENT: { [key: string]: string } = {
  DATABASE_HOST: 'the database', DATABASE_PORT: 'the database', DATABASE_NAME: 'the database', DATABASE_ENGINE: 'the database',
  DATABASE_USER: 'databaseUser', DATABASE_CONNECT_TIMEOUT_MS: 'timeout', DATABASE_QUERY_TIMEOUT_MS: 'timeout',
  PARAMETERS_PATH: 'parameters', POWERTOOLS_SERVICE_NAME: 'serviceName', POWERTOOLS_METRICS_NAMESPACE: 'metricsNamespace',
};
/** Settings the runtime accepts for local development only; it refuses them in Lambda. */
const LOCAL_ONLY_ENVIRONMENT = ['DATABASE_AUTH', 'DATABASE_TLS'];
/** What a producer of a KMS-encrypted queue needs on the key. */
const QUEUE_PRODUCER_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];
/**
 * Provisioned mode of an SQS event source mapping: 2 to 200 minimum and 2 to
 * 2,000 maximum event pollers (newer API references allow SQS up to 10,000,
 * but the CloudFormation schema and aws-cdk-lib stop at 2,000), each handling
 * up to 1 MB/s, 10 concurrent invocations or 10 polling calls a second.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
 * @see https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html#invocation-eventsourcemapping-provisioned-mode
 */
const QUEUE_POLLERS = { min: 2, maxOfMinimum: 200, maxOfMaximum: 2000, invocationsEach: 10 };
/** A setting that caps how many invocations a consumed queue runs at once. */
interface QueueLimit {
  /** The prop as the caller writes it. */
  readonly prop: string;
  readonly value: number;
  /** Concurrent invocations that one unit of the setting allows. */
  readonly invocationsEach: number;
  /** The lowest value a fix may suggest: the service's minimum, or the minimum of pollers set next to it. */
  readonly min: number;
}
/** Lambda's limit on a function's environment variables, measured as JSON of names and values. */
const MAX_ENVIRONMENT_BYTES = 4096;
/** The architectures Lambda runs. */
const ARCHITECTURES = [lambda.Architecture.ARM_64.name, lambda.Architecture.X86_64.name];

/**
 * A Node.js Lambda function in the app's shared VPC placement that reaches a
 * `ProxiedDatabase` through RDS Proxy with IAM authentication.
 *
 * Secure by default: arm64 on the newest Node.js runtime, X-Ray active, JSON
 * logs in its own encrypted log group with retention, a role with inline
 * least-privilege policies only, ingress to the proxy on the engine port
 * only, `rds-db:connect` for one database user, connection settings (never a
 * password) in its environment, a kill switch, and asynchronous failures
 * kept in an encrypted failure queue. Reserved concurrency is derived from
 * the proxy pool when the context gives the account's concurrency limit,
 * and left out otherwise, so the app deploys in any account. Optional:
 * shared dependency layers, provisioned concurrency on an alias with auto
 * scaling, destinations and SQS consumers.
 */
export class DatabaseFunction extends Construct implements ec2.IConnectable, iam.IGrantable {
  /** Warning id for a function that connects as the database's admin user. */
  public static readonly ADMIN_USER_WARNING = 'cdk-serverless-rds:ConnectsAsAdmin';
  /** Warning id for a queue whose `maxConcurrency` is above the function's reserved concurrency. */
  public static readonly QUEUE_ABOVE_RESERVATION_WARNING = 'cdk-serverless-rds:QueueConcurrencyAboveReservation';

  /**
   * Context key for the account's Lambda concurrency limit in the Region
   * (Service Quotas, "Concurrent executions"). With it, functions derive a
   * reservation and synth checks that the app's reservations fit.
   */
  public static readonly ACCOUNT_CONCURRENCY_LIMIT_CONTEXT = ACCOUNT_CONCURRENCY_CONTEXT;

  /**
   * What the account's concurrency limit in context leaves to reserve, for
   * reservations and for the provisioned concurrency of functions without
   * one: the limit less the 100 that Lambda keeps unreserved, 0 for a limit
   * of 100 or less. Undefined when the context does not give the limit.
   *
   * @param scope any construct of the app
   */
  public static reservableConcurrency(scope: Construct): number | undefined {
    const limit = accountConcurrencyLimit(scope);
    return limit === undefined ? undefined : reservableConcurrency(limit);
  }

  /** The Lambda function. */
  public readonly lambdaFunction: nodejs.NodejsFunction;
  /** The execution role. */
  public readonly role: iam.Role;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The shared security group the function uses. */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** Network connections of the function (its shared security group). */
  public readonly connections: ec2.Connections;
  /** The principal to grant permissions to (the execution role). */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The database user the function connects as. */
  public readonly databaseUser: string;
  /** What callers invoke: the alias when provisioned concurrency is on, otherwise the function. */
  public readonly invokeTarget: lambda.IFunction;
  /** The alias with provisioned concurrency, when configured. */
  public readonly alias?: lambda.Alias;
  /** The alias's auto scaling target, when auto scaling is configured. */
  public readonly scalableTarget?: appscaling.ScalableTarget;
  /**
   * Estimated monthly cost in USD of the provisioned concurrency kept all
   * month (memory x minCapacity x 730 hours at the us-east-1 price of the
   * architecture); undefined without provisioned concurrency or when a
   * value is a token.
   */
  public readonly provisionedMonthlyCostUsd?: number;
  /** The failure queue the construct created, when no `onFailure` was given. */
  public readonly failureQueue?: sqs.Queue;
  /** The stack parameter that turns the kill switch on and off, unless `killSwitch` is false. */
  public readonly killSwitchParameter?: CfnParameter;
  /** The default alarms (empty when `alarms.enabled` is false). */
  public readonly alarms: cloudwatch.Alarm[];
  /**
   * Logs Insights queries saved with the stack, over the function's log
   * group: cold starts and init duration, errors with request ids, slowest
   * invocations, database connection retries, proxy borrow timeouts.
   */
  public readonly queryDefinitions: logs.QueryDefinition[];

  private readonly proxiedDatabase: ProxiedDatabaseBase;
  /** Rules whose undeliverable events the failure queue's key admits. */
  private readonly deadLetterRules: events.IRule[] = [];

  constructor(scope: Construct, id: string, props: DatabaseFunctionProps) {
    super(scope, id);
    requireProps(this, props, {
      database: 'the ProxiedDatabase the function connects to, or an import of one', databaseUser: 'the database user it connects as', entry: 'the path of its handler file',
    });
    this.proxiedDatabase = proxiedDatabaseBase(this, props.database);
    this.validateProps(props);
    const database = this.proxiedDatabase;
    const network = database.network;
    this.databaseUser = props.databaseUser;
    this.securityGroup = network.functionSecurityGroup;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? network.logRetention,
      encryptionKey: network.logEncryptionKey,
    });
    this.role = createExecutionRole(this, 'Role', this.logGroup, {
      vpc: network.vpc, subnets: network.functionSubnets, securityGroup: network.functionSecurityGroup,
    });
    this.grantPrincipal = this.role;

    const runtime = props.runtime ?? lambda.Runtime.NODEJS_24_X;
    const bundling: nodejs.BundlingOptions = {
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      target: runtime.name.replace(/^nodejs(\d+)\.x$/, 'node$1'),
      mainFields: ['module', 'main'],
      ...props.bundling,
      // pg requires its optional native binding lazily; it is never installed, so esbuild must not resolve it.
      externalModules: [...new Set(['pg-native', ...props.bundling?.externalModules ?? [], ...layerExternals(props)])],
      ...(props.parameters ? { commandHooks: withParameterStoreReader(this, props.bundling?.commandHooks) } : {}),
    };
    const timeout = props.timeout ?? Duration.seconds(10);
    const architecture = props.architecture ?? lambda.Architecture.ARM_64;
    this.lambdaFunction = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: props.handler ?? 'handler',
      depsLockFilePath: props.depsLockFilePath,
      runtime,
      architecture,
      memorySize: props.memorySize ?? 1024,
      ephemeralStorageSize: props.ephemeralStorageSize,
      timeout,
      description: props.description,
      role: this.role,
      vpc: network.vpc,
      vpcSubnets: network.functionSubnets,
      securityGroups: [network.functionSecurityGroup],
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.applicationLogLevel ?? lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
      logGroup: this.logGroup,
      deadLetterQueue: props.deadLetterQueue,
      bundling,
      environment: {
        ...(bundling.sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        ...props.environment,
        DATABASE_HOST: database.endpoint,
        DATABASE_PORT: String(database.port),
        DATABASE_NAME: database.databaseName,
        DATABASE_USER: props.databaseUser,
        DATABASE_ENGINE: engineName(database.engine.family),
        ...clientTimeouts(timeout),
        ...(props.parameters ? { PARAMETERS_PATH: props.parameters.path } : {}),
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? id,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? Stack.of(this).stackName,
      },
    });
    const cfnFunction = this.lambdaFunction.node.defaultChild as lambda.CfnFunction;
    const explicit = props.reservedConcurrentExecutions;
    const limit = accountConcurrencyLimit(this);
    // Derived only when the account's limit is known and leaves room (a reservation the account cannot grant fails the deploy),
    // and from a proxy pool known at synth.
    const derive = explicit === undefined && limit !== undefined && reservableConcurrency(limit) > 0 && database.poolSize !== undefined
      ? () => Math.max(1, database._derivedReservedConcurrency()!)
      : undefined;
    declareReservation(cfnFunction, { explicit, derive });
    const configuredReservation = explicit ?? (derive ? Lazy.number({ produce: derive }) : undefined);
    validateAppReservations(this);
    this.connections = this.lambdaFunction.connections;

    const layers = props.layers ?? [];
    validateFunctionLayers(this.lambdaFunction, layers, runtime, architecture);
    this.lambdaFunction.addLayers(...layers.map(layer => layer.layerVersionFor(this)));
    for (const layer of layers.filter(l => Stack.of(l) !== Stack.of(this))) {
      // The imported ARN is a token, so the version hash would not see a new layer version.
      this.lambdaFunction.invalidateVersionBasedOn(layer.lockfileHash);
    }
    // aws-cdk-lib grants sqs:SendMessage for a dead-letter queue but not the KMS permissions of its key (aws-cdk #33153).
    props.deadLetterQueue?.encryptionMasterKey?.grant(this.role, ...QUEUE_PRODUCER_KEY_ACTIONS);

    const killSwitch = props.killSwitch === false ? undefined : this.addKillSwitch();
    this.killSwitchParameter = killSwitch?.parameter;

    if (props.provisionedConcurrency) {
      const provisioned = addProvisionedConcurrency(this, this.lambdaFunction, props.provisionedConcurrency, {
        memorySize: props.memorySize ?? 1024,
        architecture,
        reservedConcurrency: () => reservedConcurrency(cfnFunction),
        configuredReservation,
        killSwitch,
        logRetention: network.logRetention,
        logEncryptionKey: network.logEncryptionKey,
      });
      this.alias = provisioned.alias;
      this.scalableTarget = provisioned.scalableTarget;
      this.provisionedMonthlyCostUsd = provisioned.monthlyCostUsd;
      this.acknowledgeReservation(configuredReservation, limit,
        `ReservedConcurrentExecutions stays unset here: the custom resource ${provisioned.concurrency.node.path} sets the reservation, in order with the alias's `
        + 'provisioned concurrency, because Lambda refuses a reservation below it and the function updates before its alias');
    } else {
      this.setReservation(cfnFunction, explicit, configuredReservation, limit, killSwitch);
    }
    this.invokeTarget = this.alias ?? this.lambdaFunction;

    if (!props.onFailure) {
      this.failureQueue = this.createFailureQueue();
    }
    // Asynchronous settings belong to the qualifier callers invoke: an alias has its own.
    const asyncConfig = this.alias ?? this.lambdaFunction;
    asyncConfig.configureAsyncInvoke({
      onSuccess: props.onSuccess,
      onFailure: props.onFailure ?? this.failureDestination(this.failureQueue!),
      retryAttempts: props.retryAttempts ?? 2,
      maxEventAge: props.maxEventAge ?? Duration.hours(6),
    });
    if (!props.deadLetterQueue) {
      acknowledgeInPacks(this.lambdaFunction, ['Serverless', 'HIPAA.Security', 'NIST.800.53.R5'], 'LambdaDLQ',
        'Failed asynchronous invocations go to the function\'s on-failure destination, which records the event, the error and the '
        + 'response, more than a dead-letter queue (DeadLetterConfig) holds; Lambda would send the same failures to both.');
    }

    database.connectFunction(this.lambdaFunction, props.databaseUser);
    props.parameters?.grantRead(this.role);
    if (!Token.isUnresolved(props.databaseUser) && props.databaseUser === adminUsernameOf(database)) {
      Annotations.of(this).addWarningV2(DatabaseFunction.ADMIN_USER_WARNING,
        `databaseUser '${props.databaseUser}' is the admin user of ${database.node.path}: the function can do anything in the database; connect as a user with only the privileges it needs`);
    }
    this.lambdaFunction.node.addValidation({ validate: () => [...this.validateEnvironmentValues(props.environment ?? {}), ...this.environmentSizeErrors()] });
    this.node.addValidation({ validate: () => this.databaseUserErrors(props.externallyManagedDatabaseUser ?? false) });
    if (this.failureQueue) {
      this.node.addValidation({ validate: () => this.unadmittedDeadLetterRules() });
    }

    this.queryDefinitions = addLogQueries(this, this.logGroup, this.node.path);
    this.alarms = props.alarms?.enabled === false ? [] : createAlarms(this, this.alarmSpecs(props, timeout), props.alarms?.topic);
  }

  /** Invocations (Sum), of every version and alias. */
  public metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.lambdaFunction.metricInvocations(props);
  }

  /** Invocations that ended in an error (Sum), of every version and alias. */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.lambdaFunction.metricErrors(props);
  }

  /** Invocations turned away because the reserved concurrency was in use (Sum). */
  public metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.lambdaFunction.metricThrottles(props);
  }

  /** Duration in milliseconds, p99 unless `props.statistic` says otherwise. */
  public metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.lambdaFunction.metricDuration({ statistic: 'p99', ...props });
  }

  /**
   * Environments processing events at once (Maximum), to compare with the
   * reserved concurrency, which caps it.
   */
  public metricConcurrentExecutions(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.lambdaFunction.metric('ConcurrentExecutions', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Share of the alias's provisioned concurrency in use (0 to 1, Maximum).
   * Throws without provisioned concurrency.
   */
  public metricProvisionedConcurrencyUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.provisionedAlias('metricProvisionedConcurrencyUtilization')
      .metric('ProvisionedConcurrencyUtilization', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Invocations of the alias served by on-demand environments because the
   * provisioned ones were busy (Sum): each may be a cold start. Throws
   * without provisioned concurrency.
   */
  public metricProvisionedConcurrencySpilloverInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.provisionedAlias('metricProvisionedConcurrencySpilloverInvocations')
      .metric('ProvisionedConcurrencySpilloverInvocations', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /**
   * Asynchronous events dropped without reaching the function or a failure
   * destination (Sum): expired by `maxEventAge`, out of retries, or
   * throttled (the kill switch) with no destination able to take them.
   */
  public metricAsyncEventsDropped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.lambdaFunction.metric('AsyncEventsDropped', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /** Records Lambda failed to deliver to the success or failure destination (Sum). */
  public metricDestinationDeliveryFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.lambdaFunction.metric('DestinationDeliveryFailures', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /** Events Lambda failed to send to the dead-letter queue (`deadLetterQueue`) (Sum). */
  public metricDeadLetterErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.lambdaFunction.metric('DeadLetterErrors', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  private provisionedAlias(method: string): lambda.Alias {
    if (!this.alias) {
      throw new PropValidationError(this, `${method}() needs provisioned concurrency, which this function does not have: set provisionedConcurrency, or drop the metric`);
    }
    return this.alias;
  }

  private alarmSpecs(props: DatabaseFunctionProps, timeout: Duration): AlarmSpec[] {
    const options = props.alarms ?? {};
    const { GREATER_THAN_OR_EQUAL_TO_THRESHOLD: AT_LEAST } = cloudwatch.ComparisonOperator;
    const errorRate = options.errorRatePercent ?? 1;
    const specs: AlarmSpec[] = [
      {
        id: 'ErrorRate',
        metric: new cloudwatch.MathExpression({
          expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
          usingMetrics: { errors: this.metricErrors(), invocations: this.metricInvocations() },
          label: 'Error rate (%)',
        }),
        threshold: errorRate, comparison: AT_LEAST, window: PROMPT,
        description: `Errors reached ${errorRate}% of invocations in 5 minutes: see the saved query "Errors with request ids"`,
      },
      {
        id: 'Throttles',
        metric: this.metricThrottles(), threshold: options.throttles ?? 1, comparison: AT_LEAST, window: PROMPT,
        description: 'Invocations were throttled: the reserved concurrency is in use (or the kill switch is on); raise it only if the database pool can serve more',
      },
    ];
    if (!timeout.isUnresolved()) {
      const percent = options.durationPercentOfTimeout ?? 80;
      specs.push({
        id: 'Duration',
        metric: this.metricDuration(), threshold: Math.round(timeout.toMilliseconds() * percent / 100), comparison: AT_LEAST, window: SUSTAINED,
        description: `p99 duration stayed at ${percent}% of the ${timeout.toSeconds()} s timeout for 15 minutes: see the saved query "Slowest invocations"`,
      });
    }
    const cfnFunction = this.lambdaFunction.node.defaultChild as lambda.CfnFunction;
    // Derived reservations are known only once every function of the app exists; a token or no reservation gets no alarm.
    if (reservationKnownAtSynth(cfnFunction)) {
      const percent = options.concurrencyPercentOfReserved ?? 80;
      specs.push({
        id: 'Concurrency',
        metric: this.metricConcurrentExecutions(),
        threshold: Lazy.number({ produce: () => Math.max(1, Math.ceil((reservedConcurrency(cfnFunction) ?? 1) * percent / 100)) }),
        comparison: AT_LEAST, window: SUSTAINED,
        description: `Concurrent executions stayed at ${percent}% of the reserved concurrency for 15 minutes: throttling is near`,
      });
    }
    if (this.alias) {
      const utilization = options.provisionedUtilization ?? 0.9;
      const spillover = options.provisionedSpilloverPercent ?? 10;
      specs.push({
        id: 'ProvisionedUtilization',
        metric: this.metricProvisionedConcurrencyUtilization(), threshold: utilization, comparison: AT_LEAST, window: SUSTAINED,
        description: `Provisioned concurrency utilization stayed at ${utilization} for 15 minutes: auto scaling does not keep up; raise maxCapacity or minCapacity`,
      }, {
        id: 'ProvisionedSpillover',
        metric: new cloudwatch.MathExpression({
          expression: 'IF(invocations > 0, 100 * spillover / invocations, 0)',
          usingMetrics: {
            spillover: this.metricProvisionedConcurrencySpilloverInvocations(),
            invocations: this.alias.metricInvocations(),
          },
          label: 'Spillover (% of alias invocations)',
        }),
        threshold: spillover, comparison: AT_LEAST, window: SUSTAINED,
        description: `Invocations beyond the provisioned concurrency stayed at ${spillover}% of the alias's invocations for 15 minutes: they may start cold`,
      });
    }
    const asyncFailures = options.asyncFailures ?? 1;
    specs.push({
      id: 'AsyncEventsDropped',
      metric: this.metricAsyncEventsDropped(), threshold: asyncFailures, comparison: AT_LEAST, window: PROMPT,
      description: 'Asynchronous events were dropped without reaching the failure destination: they are lost',
    }, {
      id: 'DestinationDeliveryFailures',
      metric: this.metricDestinationDeliveryFailures(), threshold: asyncFailures, comparison: AT_LEAST, window: PROMPT,
      description: 'Lambda could not deliver records to a destination: check the destination\'s permissions and key policy',
    });
    if (props.deadLetterQueue) {
      specs.push({
        id: 'DeadLetterErrors',
        metric: this.metricDeadLetterErrors(), threshold: asyncFailures, comparison: AT_LEAST, window: PROMPT,
        description: 'Lambda could not send failed events to the dead-letter queue: check its permissions and key policy',
      });
    }
    if (this.failureQueue) {
      specs.push({
        id: 'FailureQueueMessages',
        metric: this.failureQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: options.failureQueueMessages ?? 1, comparison: AT_LEAST, window: PROMPT,
        description: 'The failure queue holds records of invocations that failed for good: inspect them, fix the cause and replay the events',
      });
    }
    return specs;
  }

  /**
   * Consume an SQS queue through an event source mapping on `invokeTarget`,
   * reporting partial batch failures (the runtime's `processQueueBatch`
   * returns them). The queue must have a dead-letter queue, so messages that
   * keep failing end there, and a visibility timeout of at least 6 times the
   * function timeout, so a message is not received again while in flight.
   */
  public consumeQueue(queue: sqs.IQueue, options: QueueConsumerOptions = {}): eventsources.SqsEventSource {
    this.validateQueue(queue, options);
    const pollers = options.provisionedPollers;
    const source = new eventsources.SqsEventSource(queue, {
      batchSize: options.batchSize,
      maxBatchingWindow: options.maxBatchingWindow,
      maxConcurrency: options.maxConcurrency,
      provisionedPollerConfig: pollers && {
        minimumPollers: pollers.minimumPollers,
        maximumPollers: pollers.maximumPollers ?? Lazy.number({ produce: () => this.derivedMaximumPollers() ?? QUEUE_POLLERS.min }),
      },
      reportBatchItemFailures: true,
    });
    this.invokeTarget.addEventSource(source);
    const stack = Stack.of(this);
    const mappingRef = JSON.stringify(stack.resolve(source.eventSourceMappingId));
    const cfnMapping = this.invokeTarget.node.findAll()
      .filter((c): c is lambda.CfnEventSourceMapping => c instanceof lambda.CfnEventSourceMapping)
      .find(m => JSON.stringify(stack.resolve(m.ref)) === mappingRef)!;
    const call = `consumeQueue(${queue.node.path})`;
    if (pollers) {
      cfnMapping.node.addValidation({ validate: () => this.pollerProblems(call, pollers) });
    } else if (options.maxConcurrency === undefined) {
      cfnMapping.addPropertyOverride('ScalingConfig.MaximumConcurrency', Lazy.number({
        produce: () => Math.min(1000, Math.max(2, this.queueConcurrency() ?? 2)),
      }));
      cfnMapping.node.addValidation({ validate: () => (this.queueConcurrency() === undefined
        ? [`${call} cannot derive maxConcurrency: the function's reserved concurrency is a token, or it has none and the proxy pool size is unknown at synth; set maxConcurrency`]
        : []) });
    }
    // A derived reservation, and so a derived maximum of pollers, is known only once every function of the app exists.
    Aspects.of(this).add({ visit: node => node === this && this.warnOnQueueAboveReservation(call, this.queueLimit(options)) });
    Validations.of(cfnMapping).acknowledge({
      id: 'Serverless::Serverless-LambdaEventSourceMappingDestination',
      reason: 'SQS event source mappings take no on-failure destination; the source queue\'s redrive policy is the dead-letter path, and consumeQueue requires the queue to have one.',
    });
    return source;
  }

  /** Permit `grantee` to invoke the function through `invokeTarget`. */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.invokeTarget.grantInvoke(grantee);
  }

  /**
   * Let EventBridge put the events that `rule` fails to deliver into
   * `failureQueue`, for a target of the rule whose `deadLetterQueue` is that
   * queue. aws-cdk-lib's targets add the queue policy but not what the
   * queue's key needs: this adds a statement to the key policy that lets
   * `events.amazonaws.com` encrypt for this rule only (`aws:SourceArn`) in
   * this account (`aws:SourceAccount`). The rule needs a `ruleName`: the key
   * policy cannot reference the rule, which references the queue, which
   * references the key. The synth fails when a rule of the function's stack
   * uses the failure queue as a dead-letter queue without this. Throws when
   * the function has no failure queue (`onFailure` is set).
   */
  public allowEventBridgeDeadLetters(rule: events.IRule): void {
    const call = `allowEventBridgeDeadLetters(${rule.node.path})`;
    if (!this.failureQueue) {
      throw new PropValidationError(this,
        `${call} needs the function's failure queue, which it does not have because onFailure is set: `
        + 'give the rule target a dead-letter queue of your own whose key admits events.amazonaws.com');
    }
    if (this.deadLetterRules.includes(rule)) {
      return;
    }
    this.deadLetterRules.push(rule);
    this.failureQueue.encryptionMasterKey!.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: QUEUE_PRODUCER_KEY_ACTIONS,
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        ArnEquals: { 'aws:SourceArn': this.ruleArnWithoutReference(rule, call) },
      },
    }));
  }

  /**
   * The queue concurrency that the reservation allows, or without one the
   * function's share of the proxy pool; undefined when neither is known.
   */
  private queueConcurrency(): number | undefined {
    const cfnFunction = this.lambdaFunction.node.defaultChild as lambda.CfnFunction;
    return hasReservation(cfnFunction) ? reservedConcurrency(cfnFunction) : this.proxiedDatabase._poolShare();
  }

  /**
   * Enough pollers for the queue concurrency (see queueConcurrency) and no
   * more, but at least the service's minimum; undefined when that
   * concurrency is unknown.
   */
  private derivedMaximumPollers(): number | undefined {
    const concurrency = this.queueConcurrency();
    return concurrency === undefined ? undefined : Math.min(QUEUE_POLLERS.maxOfMaximum,
      Math.max(QUEUE_POLLERS.min, Math.floor(concurrency / QUEUE_POLLERS.invocationsEach)));
  }

  /**
   * Errors of provisioned mode known only once every function of the app is
   * connected: a maximum that cannot be derived or is below the minimum, and,
   * without a reservation to cap the function, a maximum that lets the queue
   * hold more connections than the function's share of the proxy pool.
   */
  private pollerProblems(call: string, pollers: ProvisionedPollerOptions): string[] {
    const maximum = pollers.maximumPollers ?? this.derivedMaximumPollers();
    if (maximum === undefined) {
      return [`${call} cannot derive provisionedPollers.maximumPollers: the function's reserved concurrency is a token, or it has none and the proxy pool size is unknown at synth; set provisionedPollers.maximumPollers`];
    }
    const reserved = hasReservation(this.lambdaFunction.node.defaultChild as lambda.CfnFunction);
    const minimum = pollers.minimumPollers;
    if (pollers.maximumPollers === undefined && minimum !== undefined && !Token.isUnresolved(minimum) && minimum > maximum) {
      return [`${call} provisionedPollers.minimumPollers (${minimum}) is above the maximumPollers (${maximum}) derived from the function's `
        + `${reserved ? 'reserved concurrency' : 'share of the proxy pool'} (${this.queueConcurrency()}) at ${QUEUE_POLLERS.invocationsEach} invocations a poller: `
        + `lower minimumPollers to ${maximum} or less`];
    }
    const share = this.proxiedDatabase._poolShare();
    if (reserved || share === undefined || Token.isUnresolved(maximum) || maximum * QUEUE_POLLERS.invocationsEach <= share) {
      return [];
    }
    const fitting = Math.floor(share / QUEUE_POLLERS.invocationsEach);
    const minimumAbove = minimum !== undefined && !Token.isUnresolved(minimum) && minimum > fitting;
    const fix = fitting >= QUEUE_POLLERS.min
      ? `lower maximumPollers to ${fitting}${minimumAbove ? ` and minimumPollers to ${fitting} or less` : ''}, or give the function a reservedConcurrentExecutions to cap it`
      : 'consume the queue without provisionedPollers (maxConcurrency then follows the share), or raise the database capacity';
    return [`${call} provisionedPollers.maximumPollers (${maximum}) lets the queue run up to ${maximum * QUEUE_POLLERS.invocationsEach} invocations at once, `
      + `each holding a database connection, above the function's share of the proxy pool (${share} connections): ${fix}`];
  }

  /** What caps the queue's concurrency when it is known at synth: explicit or derived maximum pollers, or an explicit maxConcurrency. */
  private queueLimit(options: QueueConsumerOptions): QueueLimit | undefined {
    if (options.provisionedPollers) {
      const { minimumPollers: minimum, maximumPollers: maximum } = options.provisionedPollers;
      const pollers = maximum ?? this.derivedMaximumPollers();
      // The maximum cannot be lowered below the minimum, so a literal minimum is the lowest fix to offer.
      const lowest = minimum === undefined || Token.isUnresolved(minimum) ? QUEUE_POLLERS.min : minimum;
      return pollers === undefined || Token.isUnresolved(pollers) ? undefined
        : { prop: 'provisionedPollers.maximumPollers', value: pollers, invocationsEach: QUEUE_POLLERS.invocationsEach, min: lowest };
    }
    const maxConcurrency = options.maxConcurrency;
    return maxConcurrency === undefined || Token.isUnresolved(maxConcurrency) ? undefined
      : { prop: 'maxConcurrency', value: maxConcurrency, invocationsEach: 1, min: 2 };
  }

  private warnOnQueueAboveReservation(call: string, limit: QueueLimit | undefined): void {
    const reserved = reservedConcurrency(this.lambdaFunction.node.defaultChild as lambda.CfnFunction);
    // A reservation of 0 is the function stopped on purpose, which KillSwitchOn reports.
    if (!limit || reserved === undefined || reserved === 0) {
      return;
    }
    const invocations = limit.value * limit.invocationsEach;
    if (invocations <= reserved) {
      return;
    }
    const fitting = Math.floor(reserved / limit.invocationsEach);
    const fix = fitting >= limit.min
      ? `lower ${limit.prop} to ${fitting} or raise reservedConcurrentExecutions to ${invocations}`
      : `raise reservedConcurrentExecutions to at least ${invocations}`;
    const setting = limit.invocationsEach === 1 ? `${limit.prop} (${limit.value})` : `${limit.prop} (${limit.value}, up to ${invocations} concurrent invocations)`;
    Annotations.of(this).addWarningV2(DatabaseFunction.QUEUE_ABOVE_RESERVATION_WARNING,
      `${call} ${setting} is above the function's reserved concurrency (${reserved}): Lambda throttles the poller above it, `
      + `and messages received but not processed use up their receives and end in the dead-letter queue; ${fix}`);
  }

  private validateQueue(queue: sqs.IQueue, options: QueueConsumerOptions): void {
    validateNumber(this, { prop: 'batchSize', value: options.batchSize, min: 1, max: 10000, integer: true });
    validateNumber(this, { prop: 'maxConcurrency', value: options.maxConcurrency, min: 2, max: 1000, integer: true });
    const pollers = options.provisionedPollers;
    if (pollers) {
      if (options.maxConcurrency !== undefined) {
        throw new PropValidationError(this,
          `maxConcurrency cannot be combined with provisionedPollers for queue ${queue.node.path}: in provisioned mode provisionedPollers.maximumPollers caps the queue `
          + `(up to ${QUEUE_POLLERS.invocationsEach} concurrent invocations a poller); remove maxConcurrency, or remove provisionedPollers to keep the default mode`);
      }
      const { minimumPollers: minimum, maximumPollers: maximum } = pollers;
      validateNumber(this, { prop: 'provisionedPollers.minimumPollers', value: minimum, min: QUEUE_POLLERS.min, max: QUEUE_POLLERS.maxOfMinimum, integer: true });
      validateNumber(this, { prop: 'provisionedPollers.maximumPollers', value: maximum, min: QUEUE_POLLERS.min, max: QUEUE_POLLERS.maxOfMaximum, integer: true });
      if (minimum !== undefined && maximum !== undefined && !Token.isUnresolved(minimum) && !Token.isUnresolved(maximum) && minimum > maximum) {
        throw new PropValidationError(this,
          `provisionedPollers.minimumPollers (${minimum}) must not exceed provisionedPollers.maximumPollers (${maximum}): lower minimumPollers or raise maximumPollers`);
      }
    }
    if (!(queue instanceof sqs.Queue)) {
      return;
    }
    if (!queue.deadLetterQueue) {
      throw new PropValidationError(this,
        `queue ${queue.node.path} has no dead-letter queue: a message that keeps failing would be received again until its retention ends; give the queue a deadLetterQueue (e.g. maxReceiveCount 5)`);
    }
    const visibility = (queue.node.defaultChild as sqs.CfnQueue).visibilityTimeout;
    const timeout = this.lambdaFunction.timeout;
    if (timeout && !timeout.isUnresolved() && !Token.isUnresolved(visibility)) {
      const seconds = visibility ?? 30;
      if (seconds < 6 * timeout.toSeconds()) {
        throw new PropValidationError(this,
          `queue ${queue.node.path} has a visibility timeout of ${seconds} s, below 6 times the function timeout (${6 * timeout.toSeconds()} s): a message could be received again while it is still processed; set visibilityTimeout to Duration.seconds(${6 * timeout.toSeconds()}) or more`);
      }
    }
  }

  /**
   * A stack parameter that turns the function off, and the condition that is
   * true while the function is on (the switch is `off`).
   */
  private addKillSwitch(): KillSwitch {
    const stack = Stack.of(this);
    const pathInStack = this.node.scopes.slice(stack.node.scopes.length).map(scope => scope.node.id).join('');
    const name = `${pathInStack.replace(/[^A-Za-z0-9]/g, '')}KillSwitch`;
    const parameter = new CfnParameter(stack, name, {
      type: 'String',
      allowedValues: ['off', 'on'],
      default: 'off',
      description: `Kill switch of ${this.node.path}: 'on' sets its reserved concurrency to 0, so every invocation is throttled; 'off' restores it`,
    });
    const functionOn = new CfnCondition(stack, `${name}Off`, { expression: Fn.conditionEquals(parameter.valueAsString, 'off') });
    return { parameter, functionOn };
  }

  /**
   * The function's own reservation, when no provisioned concurrency needs a
   * custom resource to order it: the configured one (or none) while the
   * kill switch is off, 0 while it is on. The property holds exactly what
   * the template deploys, so rule packs read the real value.
   */
  private setReservation(
    cfnFunction: lambda.CfnFunction, explicit: number | undefined, configured: number | undefined, limit: number | undefined, killSwitch: KillSwitch | undefined,
  ): void {
    if (!killSwitch || explicit === 0) {
      cfnFunction.reservedConcurrentExecutions = configured;
      if (configured === undefined) {
        this.acknowledgeReservation(configured, limit, 'ReservedConcurrentExecutions is unset');
      }
      return;
    }
    cfnFunction.reservedConcurrentExecutions = Token.asNumber(Fn.conditionIf(killSwitch.functionOn.logicalId, configured ?? Aws.NO_VALUE, 0));
    this.acknowledgeReservation(configured, limit,
      `ReservedConcurrentExecutions is Fn::If on the kill switch parameter ${killSwitch.parameter.node.id}: `
      + `${configured === undefined ? 'no reservation' : 'the reservation'} while it is off, 0 (the function stopped on purpose) while it is on; the rule cannot evaluate a condition`);
  }

  /**
   * Acknowledge the compliance packs' reserved concurrency rule where the
   * function's template property cannot satisfy it, with what the property
   * holds and, without a reservation, why there is none.
   */
  private acknowledgeReservation(configured: number | undefined, limit: number | undefined, what: string): void {
    const none = configured !== undefined ? '' : limit === undefined
      ? `; there is no reservation because context ${ACCOUNT_CONCURRENCY_CONTEXT} does not give the account's concurrency limit: a reservation would fail the deploy `
        + 'in an account whose limit leaves nothing to reserve (new accounts start at 10, Lambda keeps 100 unreserved) or that other apps have reserved, '
        + 'so RDS Proxy\'s pool and borrow timeout bound the database load instead; set the context or reservedConcurrentExecutions to cap the function'
      : reservableConcurrency(limit) === 0
        ? `; there is no reservation because the account limit in context ${ACCOUNT_CONCURRENCY_CONTEXT} (${limit}) leaves nothing to reserve `
          + '(Lambda keeps 100 unreserved, all of a limit of 100 or less)'
        : `; there is no reservation because the proxy pool of ${this.proxiedDatabase.node.path} is unknown at synth (${this.proxiedDatabase._poolUnknownReason()}), `
          + 'so there is no share of it to reserve: RDS Proxy\'s pool and borrow timeout bound the database load instead; '
          + 'set reservedConcurrentExecutions to cap the function';
    acknowledgeInPacks(this.lambdaFunction, ['HIPAA.Security', 'NIST.800.53.R5'], 'LambdaConcurrency', `${what}${none}.`);
  }

  /**
   * The failure queue and its own dead-letter queue, kept when the stack is
   * deleted (they may hold the only copy of failed events), encrypted with a
   * key of their own.
   */
  private createFailureQueue(): sqs.Queue {
    const queueProps: sqs.QueueProps = {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: createKey(this, 'FailureQueueKey', `Encrypts the failure queues of ${this.node.path}`),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    };
    const deadLetters = new sqs.Queue(this, 'FailureDeadLetterQueue', {
      ...queueProps,
      // The same as SQS's default, stated so that the queue shows it is a dead-letter queue; naming the source queue would be a cycle.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    acknowledgeInPacks(deadLetters, ['Serverless'], 'SQSRedrivePolicy',
      'This is the last queue of the failure path: the dead-letter queue of the failure queue. A redrive policy on it would need yet another queue; its 14 days of retention are the limit.');
    return new sqs.Queue(this, 'FailureQueue', { ...queueProps, deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 } });
  }

  /**
   * The failure queue as an on-failure destination, granting exactly what a
   * producer of a KMS-encrypted queue needs (aws-cdk-lib's queue grant adds
   * `kms:Encrypt` and `kms:ReEncrypt*`, which sending never uses).
   */
  private failureDestination(queue: sqs.Queue): lambda.IDestination {
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
    queue.encryptionMasterKey!.grant(this.role, ...QUEUE_PRODUCER_KEY_ACTIONS);
    return { bind: () => ({ destination: queue.queueArn }) };
  }

  private validateProps(props: DatabaseFunctionProps): void {
    validateDatabaseUserName(this, 'databaseUser', props.databaseUser, props.database.engine.family);
    if (props.architecture && !ARCHITECTURES.includes(props.architecture.name)) {
      throw new PropValidationError(this, `architecture (${props.architecture.name}) is not a Lambda architecture: use lambda.Architecture.ARM_64 or X86_64`);
    }
    const storage = props.ephemeralStorageSize;
    if (storage && !storage.isUnresolved()) {
      validateNumber(this, { prop: 'ephemeralStorageSize', value: storage.toKibibytes() / 1024, min: 512, max: 10240, integer: true, unit: ' MB' });
    }
    validateNumber(this, { prop: 'memorySize', value: props.memorySize, min: 128, max: 10240, integer: true, unit: ' MB' });
    validateDuration(this, { prop: 'timeout', value: props.timeout, min: Duration.seconds(1), max: Duration.minutes(15) });
    this.validateReservation(props.reservedConcurrentExecutions);
    const limit = accountConcurrencyLimit(this);
    if (props.provisionedConcurrency && props.reservedConcurrentExecutions === undefined && limit !== undefined && reservableConcurrency(limit) > 0
      && props.database.poolSize === undefined) {
      throw new PropValidationError(this,
        `provisionedConcurrency needs a reservation that holds it when the account limit is in context ${ACCOUNT_CONCURRENCY_CONTEXT} (${limit}), but the proxy pool of `
        + `${props.database.node.path} is unknown at synth (${this.proxiedDatabase._poolUnknownReason()}), so no reservation is derived: set reservedConcurrentExecutions`);
    }
    validateNumber(this, { prop: 'retryAttempts', value: props.retryAttempts, min: 0, max: 2, integer: true });
    validateDuration(this, { prop: 'maxEventAge', value: props.maxEventAge, min: Duration.seconds(60), max: Duration.hours(6) });
    validateFunctionAlarmOptions(this, props.alarms ?? {});
    const alarms = props.alarms ?? {};
    if (alarms.durationPercentOfTimeout !== undefined && props.timeout?.isUnresolved()) {
      throw new PropValidationError(this, `alarms.durationPercentOfTimeout (${alarms.durationPercentOfTimeout}) has no effect: the Duration alarm needs the timeout at synth, `
        + 'which is a token here; give timeout as a literal, or remove durationPercentOfTimeout');
    }
    if (alarms.concurrencyPercentOfReserved !== undefined && Token.isUnresolved(props.reservedConcurrentExecutions)) {
      throw new PropValidationError(this, `alarms.concurrencyPercentOfReserved (${alarms.concurrencyPercentOfReserved}) has no effect: the Concurrency alarm needs the `
        + 'reserved concurrency at synth, which is a token here; give reservedConcurrentExecutions as a literal, or remove concurrencyPercentOfReserved');
    }
    const layerPackages = new Set((props.layers ?? []).flatMap(layer => layer.packages));
    for (const pkg of props.bundledPackages ?? []) {
      if (!layerPackages.has(pkg)) {
        throw new PropValidationError(this, `bundledPackages lists '${pkg}', which none of the layers provides (${[...layerPackages].join(', ') || 'no layers'}): remove it; packages outside the layers are bundled anyway`);
      }
    }
    if (props.reservedConcurrentExecutions === 0) {
      Annotations.of(this).addWarningV2('cdk-serverless-rds:KillSwitchOn',
        'reservedConcurrentExecutions is 0: every invocation is throttled (the kill switch is on)');
    }
    const runtime = props.runtime;
    if (runtime && runtime.family !== lambda.RuntimeFamily.NODEJS) {
      throw new PropValidationError(this, `runtime (${runtime.name}) is not a Node.js runtime: use lambda.Runtime.NODEJS_24_X`);
    }
    for (const key of Object.keys(props.environment ?? {})) {
      const ownerProp = PROP_OF_ENVIRONMENT[key];
      if (ownerProp) {
        throw new PropValidationError(this, `environment variable ${key} is set by the construct from ${ownerProp}: remove it from environment${ownerProp === 'the database' ? '' : ` and set ${ownerProp} instead`}`);
      }
      if (LOCAL_ONLY_ENVIRONMENT.includes(key)) {
        throw new PropValidationError(this, `environment variable ${key} is a local-development setting that the runtime refuses in Lambda: remove it; deployed functions always use IAM authentication over TLS`);
      }
      if (isSecretLikeName(key)) {
        throw new PropValidationError(this,
          `environment variable ${key} looks like it holds a password or secret: functions authenticate with IAM tokens; keep secrets in Secrets Manager and read them at runtime`);
      }
    }
  }

  private validateReservation(reserved: number | undefined): void {
    const limit = accountConcurrencyLimit(this);
    const reservable = limit === undefined ? undefined : reservableConcurrency(limit);
    if (reservable === 0 && reserved !== undefined && !Token.isUnresolved(reserved) && reserved > 0) {
      throw new PropValidationError(this,
        `reservedConcurrentExecutions (${reserved}) cannot be reserved: the account limit in context ${ACCOUNT_CONCURRENCY_CONTEXT} (${limit}) leaves nothing to reserve, `
        + 'because Lambda keeps 100 unreserved (all of a limit of 100 or less); remove reservedConcurrentExecutions, or raise the account\'s limit (Service Quotas) and the context with it');
    }
    validateNumber(this, { prop: 'reservedConcurrentExecutions', value: reserved, min: 0, max: reservable, integer: true });
  }

  /**
   * The ARN of `rule`, written from its name and event bus rather than as a
   * reference to it: a reference from the failure queue's key would close
   * the circle rule, queue, key. Imported rules have no resource here.
   */
  private ruleArnWithoutReference(rule: events.IRule, call: string): string {
    const cfnRule = rule.node.defaultChild;
    if (!(cfnRule instanceof events.CfnRule)) {
      return rule.ruleArn;
    }
    // The L2 rule's name is a token that resolves to nothing when no ruleName was given.
    if (Stack.of(cfnRule).resolve(cfnRule.name) === undefined) {
      throw new PropValidationError(this,
        `${call} needs the rule's name: its ARN goes into the policy of the failure queue's key, which cannot reference the rule (the rule references `
        + `the queue, and the queue the key); give the rule a ruleName that varies with the stack, e.g. Fn.join('-', [Aws.STACK_NAME, '${rule.node.id}'])`);
    }
    const bus = cfnRule.eventBusName;
    const busName = bus !== undefined && !Token.isUnresolved(bus) && bus.startsWith('arn:') ? bus.slice(bus.indexOf(':event-bus/') + ':event-bus/'.length) : bus;
    return Stack.of(this).formatArn({
      service: 'events', resource: 'rule', arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      resourceName: busName === undefined || busName === 'default' ? cfnRule.name : `${busName}/${cfnRule.name}`,
    });
  }

  /**
   * The function's user must exist when it connects: a bootstrap of its
   * database declares it, or the props say something else creates it (and
   * then no bootstrap may declare it too).
   */
  private databaseUserErrors(externallyManaged: boolean): string[] {
    const user = this.databaseUser;
    const database = this.proxiedDatabase;
    if (externallyManaged) {
      const declaredBy = Token.isUnresolved(user) ? [] : declarationsOf(database, user).map(declaration => declaration.declaredBy.node.path);
      return declaredBy.length === 0 ? [] : [
        `externallyManagedDatabaseUser is true, but ${declaredBy.join(' and ')} declares databaseUser '${user}': `
        + 'remove externallyManagedDatabaseUser, or remove the user from the bootstrap'];
    }
    if (!(database instanceof ProxiedDatabase)) {
      // No DatabaseBootstrap takes an imported database: the owning app creates its users.
      return [];
    }
    if (Token.isUnresolved(user)) {
      return ['databaseUser is a token, so no DatabaseBootstrap can declare it (bootstrap user names are literals): '
        + 'pass the name as a literal, or set externallyManagedDatabaseUser to true if the user is created another way'];
    }
    if (user === database.adminUsername) {
      return [`databaseUser '${user}' is the admin user of ${database.node.path}, which RDS creates, not a DatabaseBootstrap: `
        + 'connect as a user that a bootstrap declares, or set externallyManagedDatabaseUser to true to connect as the admin'];
    }
    if (declarationsOf(database, user).length === 0) {
      return [`databaseUser '${user}' is not declared by any DatabaseBootstrap of ${database.node.path}, so no deploy creates it and every connection would fail: `
        + `add { name: '${user}' } to the users of a DatabaseBootstrap of ${database.node.path}, or set externallyManagedDatabaseUser to true if the user is created another way`];
    }
    return [];
  }

  /**
   * Lambda refuses a function whose environment variables, as the JSON of
   * their names and values, exceed 4 KB. Values known only at deploy count
   * as empty.
   */
  private environmentSizeErrors(): string[] {
    const cfnFunction = this.lambdaFunction.node.defaultChild as lambda.CfnFunction;
    const environment = Stack.of(this).resolve(cfnFunction.environment) as { variables?: { [key: string]: unknown } } | undefined;
    const known: { [key: string]: string } = {};
    const atDeploy: string[] = [];
    for (const [key, value] of Object.entries(environment?.variables ?? {})) {
      known[key] = typeof value === 'string' ? value : '';
      if (typeof value !== 'string') {
        atDeploy.push(key);
      }
    }
    const bytes = Buffer.byteLength(JSON.stringify(known), 'utf8');
    if (bytes <= MAX_ENVIRONMENT_BYTES) {
      return [];
    }
    const largest = Object.entries(known)
      .map(([key, value]) => ({ key, bytes: Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8') }))
      .sort((a, b) => b.bytes - a.bytes).slice(0, 3)
      .map(variable => `${variable.key} (${variable.bytes} bytes)`).join(', ');
    const uncounted = atDeploy.length === 0 ? '' : `, not counting the values of ${atDeploy.join(', ')}, which are known only at deploy`;
    return [`the function's environment variables take ${bytes} bytes as Lambda measures them (names and values as JSON)${uncounted}, `
      + `above Lambda's limit of 4 KB (${MAX_ENVIRONMENT_BYTES} bytes); the largest are ${largest}: keep large or shared settings in Parameter Store (the parameters prop) instead`];
  }

  /**
   * Rules of the function's stack with a target whose dead-letter queue is
   * the failure queue, but whose events the queue's key does not admit: the
   * events they fail to deliver would be lost.
   */
  private unadmittedDeadLetterRules(): string[] {
    const stack = Stack.of(this);
    const resolved = (value: unknown) => JSON.stringify(stack.resolve(value));
    const queueArn = resolved(this.failureQueue!.queueArn);
    const admitted = new Set(this.deadLetterRules.map(rule => rule.node.defaultChild));
    return stack.node.findAll()
      .filter((construct): construct is events.CfnRule => construct instanceof events.CfnRule)
      .filter(rule => !admitted.has(rule))
      .filter(rule => ((stack.resolve(rule.targets) ?? []) as Array<{ deadLetterConfig?: { arn?: string } }>)
        .some(target => target.deadLetterConfig?.arn !== undefined && resolved(target.deadLetterConfig.arn) === queueArn))
      .map(rule => `the failure queue is the dead-letter queue of a target of rule ${rule.node.path}, but its key does not admit EventBridge for that rule, `
        + `so the events the rule fails to deliver would be lost: call allowEventBridgeDeadLetters(rule) on ${this.node.path}`);
  }

  private validateEnvironmentValues(environment: { [key: string]: string }): string[] {
    const stack = Stack.of(this);
    const errors: string[] = [];
    for (const [key, value] of Object.entries(environment)) {
      if (SECRET_DYNAMIC_REFERENCE.test(JSON.stringify(stack.resolve(value)))) {
        errors.push(`environment variable ${key} holds a secret value (a Secrets Manager or SSM SecureString reference), which would be readable by anyone who can read the function configuration: pass the secret's ARN and read the value at runtime`);
      }
    }
    return errors;
  }
}

/** The layers' packages that esbuild must leave out, with their subpaths. */
function layerExternals(props: DatabaseFunctionProps): string[] {
  const bundled = new Set(props.bundledPackages ?? []);
  return (props.layers ?? []).flatMap(layer => layer.packages)
    .filter(pkg => !bundled.has(pkg))
    .flatMap(pkg => [pkg, `${pkg}/*`]);
}

/**
 * Connect and query timeouts for the runtime client, inside the function's
 * timeout with room to answer: connect 30% (at most 5 s, below the proxy's
 * default borrow timeout of half the function timeout), queries the rest but
 * a margin of 10% (at most 1 s). Left to the runtime's defaults when the
 * timeout is a token.
 */
function clientTimeouts(timeout: Duration): { [key: string]: string } {
  if (timeout.isUnresolved()) {
    return {};
  }
  const total = timeout.toMilliseconds();
  const connect = Math.min(5000, Math.floor(total * 0.3));
  const query = total - connect - Math.min(1000, Math.floor(total * 0.1));
  return { DATABASE_CONNECT_TIMEOUT_MS: String(connect), DATABASE_QUERY_TIMEOUT_MS: String(query) };
}

/**
 * The database as this library's base class, which keeps the pool
 * accounting and timeout checks that a function joins when it connects.
 */
function proxiedDatabaseBase(fn: IConstruct, database: IProxiedDatabase): ProxiedDatabaseBase {
  if (!(database instanceof ProxiedDatabaseBase)) {
    throw new PropValidationError(fn,
      `database (${database.node.path}) implements IProxiedDatabase outside this library, so the function cannot join its pool accounting: `
      + 'pass a ProxiedDatabase, or import the database with ProxiedDatabase.fromProxiedDatabaseAttributes or ProxiedDatabase.fromParameterStore');
  }
  return database;
}

/** The admin user of a database this app created; undefined for an import, whose admin this app does not know. */
function adminUsernameOf(database: IProxiedDatabase): string | undefined {
  return database instanceof ProxiedDatabase ? database.adminUsername : undefined;
}
