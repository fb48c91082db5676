import { Annotations, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EngineFamily } from '../database/engine';
import { ProxiedDatabase } from '../database/proxied-database';
import { createExecutionRole } from '../private/execution-role';
import { accountConcurrencyLimit, markDerived, UNRESERVED_MINIMUM } from '../private/concurrency';
import { AppParameters } from '../configuration/app-parameters';
import { PropValidationError, validateDuration, validateNumber } from '../private/validation';

/**
 * Properties of a DatabaseFunction.
 */
export interface DatabaseFunctionProps {
  /** The database the function connects to, through its proxy. */
  readonly database: ProxiedDatabase;

  /**
   * The database user the function connects as. It gets `rds-db:connect`
   * for exactly this user.
   */
  readonly databaseUser: string;

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
   * connections, the function can hold, and a kill switch at 0.
   *
   * @default - a fair share of the proxy pool (after explicit reservations of
   * other functions on the same proxy), capped so that the app's
   * reservations leave the account's 100 unreserved
   */
  readonly reservedConcurrentExecutions?: number;

  /**
   * More environment variables. Names the construct sets (DATABASE_*) and
   * names that suggest a password are rejected; values may never be secret
   * values.
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
}

/** Environment variables the construct owns. */
const PROP_OF_ENVIRONMENT: { [key: string]: string } = {
  DATABASE_HOST: 'the database', DATABASE_PORT: 'the database', DATABASE_NAME: 'the database', DATABASE_ENGINE: 'the database',
  DATABASE_USER: 'databaseUser', DATABASE_CONNECT_TIMEOUT_MS: 'timeout', DATABASE_QUERY_TIMEOUT_MS: 'timeout',
  PARAMETERS_PATH: 'parameters', POWERTOOLS_SERVICE_NAME: 'serviceName', POWERTOOLS_METRICS_NAMESPACE: 'metricsNamespace',
};
/** Settings the runtime accepts for local development only; it refuses them in Lambda. */
const LOCAL_ONLY_ENVIRONMENT = ['DATABASE_AUTH', 'DATABASE_TLS'];
const SECRET_NAME = /PASSWORD|PASSWD|PWD$|SECRET_VALUE|PRIVATE_KEY/i;
const SECRET_REFERENCE = /\{\{resolve:(secretsmanager|ssm-secure):/;

/**
 * A Node.js Lambda function in the app's shared VPC placement that reaches a
 * `ProxiedDatabase` through RDS Proxy with IAM authentication.
 *
 * Secure by default: arm64 on the newest Node.js runtime, X-Ray active, JSON
 * logs in its own encrypted log group with retention, a role with inline
 * least-privilege policies only, ingress to the proxy on the engine port
 * only, `rds-db:connect` for one database user, connection settings (never a
 * password) in its environment, and reserved concurrency derived from the
 * proxy pool.
 */
export class DatabaseFunction extends Construct implements ec2.IConnectable, iam.IGrantable {
  /** Warning id for a function that connects as the database's admin user. */
  public static readonly ADMIN_USER_WARNING = 'cdk-serverless-rds:ConnectsAsAdmin';

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

  constructor(scope: Construct, id: string, props: DatabaseFunctionProps) {
    super(scope, id);
    this.validateProps(props);
    const database = props.database;
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
      externalModules: [...new Set(['pg-native', ...props.bundling?.externalModules ?? []])],
    };
    const reserved = props.reservedConcurrentExecutions;
    const timeout = props.timeout ?? Duration.seconds(10);
    this.lambdaFunction = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: props.handler ?? 'handler',
      depsLockFilePath: props.depsLockFilePath,
      runtime,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
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
      reservedConcurrentExecutions: reserved ?? Lazy.number({ produce: () => Math.max(1, database._derivedReservedConcurrency() ?? 1) }),
      bundling,
      environment: {
        ...(bundling.sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        ...props.environment,
        DATABASE_HOST: database.endpoint,
        DATABASE_PORT: String(database.port),
        DATABASE_NAME: database.databaseName,
        DATABASE_USER: props.databaseUser,
        DATABASE_ENGINE: database.engine.family === EngineFamily.POSTGRESQL ? 'postgresql' : 'mysql',
        ...clientTimeouts(timeout),
        ...(props.parameters ? { PARAMETERS_PATH: props.parameters.path } : {}),
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? id,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? Stack.of(this).stackName,
      },
    });
    if (reserved === undefined) {
      markDerived(this.lambdaFunction.node.defaultChild as lambda.CfnFunction);
    }
    this.connections = this.lambdaFunction.connections;

    database.connectFunction(this.lambdaFunction, props.databaseUser);
    props.parameters?.grantRead(this.role);
    if (!Token.isUnresolved(props.databaseUser) && props.databaseUser === database.adminUsername) {
      Annotations.of(this).addWarningV2(DatabaseFunction.ADMIN_USER_WARNING,
        `databaseUser '${props.databaseUser}' is the admin user of ${database.node.path}: the function can do anything in the database; connect as a user with only the privileges it needs`);
    }
    this.lambdaFunction.node.addValidation({ validate: () => this.validateEnvironmentValues(props.environment ?? {}) });
  }

  private validateProps(props: DatabaseFunctionProps): void {
    validateNumber(this, { prop: 'memorySize', value: props.memorySize, min: 128, max: 10240, integer: true, unit: ' MB' });
    validateDuration(this, { prop: 'timeout', value: props.timeout, min: Duration.seconds(1), max: Duration.minutes(15) });
    const reservable = accountConcurrencyLimit(this) - UNRESERVED_MINIMUM;
    validateNumber(this, { prop: 'reservedConcurrentExecutions', value: props.reservedConcurrentExecutions, min: 0, max: reservable, integer: true });
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
      if (SECRET_NAME.test(key)) {
        throw new PropValidationError(this,
          `environment variable ${key} looks like it holds a password or secret: functions authenticate with IAM tokens; keep secrets in Secrets Manager and read them at runtime`);
      }
    }
  }

  private validateEnvironmentValues(environment: { [key: string]: string }): string[] {
    const stack = Stack.of(this);
    const errors: string[] = [];
    for (const [key, value] of Object.entries(environment)) {
      if (SECRET_REFERENCE.test(JSON.stringify(stack.resolve(value)))) {
        errors.push(`environment variable ${key} holds a secret value (a Secrets Manager or SSM SecureString reference), which would be readable by anyone who can read the function configuration: pass the secret's ARN and read the value at runtime`);
      }
    }
    return errors;
  }
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
