import { Annotations, ArnFormat, Duration, Lazy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EngineFamily } from '../database/engine';
import { ProxiedDatabase } from '../database/proxied-database';
import { DatabaseNetwork } from '../network/database-network';
import { acknowledgeInlinePolicies } from '../private/acknowledgements';
import { accountConcurrencyLimit, markDerived, UNRESERVED_MINIMUM } from '../private/concurrency';
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
   * A description.
   *
   * @default - none
   */
  readonly description?: string;
}

/** Environment variables the construct owns. */
const DATABASE_ENVIRONMENT = ['DATABASE_HOST', 'DATABASE_PORT', 'DATABASE_NAME', 'DATABASE_USER', 'DATABASE_ENGINE'];
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
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${this.node.path}`,
    });
    this.grantPrincipal = this.role;
    this.addExecutionPermissions(network);

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
    this.lambdaFunction = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: props.handler ?? 'handler',
      depsLockFilePath: props.depsLockFilePath,
      runtime,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(10),
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
      },
    });
    if (reserved === undefined) {
      markDerived(this.lambdaFunction.node.defaultChild as lambda.CfnFunction);
    }
    this.connections = this.lambdaFunction.connections;

    database.connectFunction(this.lambdaFunction, props.databaseUser);
    if (!Token.isUnresolved(props.databaseUser) && props.databaseUser === database.adminUsername) {
      Annotations.of(this).addWarningV2(DatabaseFunction.ADMIN_USER_WARNING,
        `databaseUser '${props.databaseUser}' is the admin user of ${database.node.path}: the function can do anything in the database; connect as a user with only the privileges it needs`);
    }
    this.lambdaFunction.node.addValidation({ validate: () => this.validateEnvironmentValues(props.environment ?? {}) });
  }

  /**
   * Least-privilege execution permissions: logs only to its own log group,
   * and the ENI actions Lambda performs with this role to attach the
   * function to its subnets.
   */
  private addExecutionPermissions(network: DatabaseNetwork): void {
    const stack = Stack.of(this);
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
    }));
    const networkInterfaces = stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' });
    const subnets = network.vpc.selectSubnets(network.functionSubnets).subnetIds
      .map(subnetId => stack.formatArn({ service: 'ec2', resource: 'subnet', resourceName: subnetId }));
    const securityGroup = stack.formatArn({ service: 'ec2', resource: 'security-group', resourceName: network.functionSecurityGroup.securityGroupId });
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'CreateHyperplaneEnisInSharedPlacement',
      actions: ['ec2:CreateNetworkInterface'],
      resources: [networkInterfaces, ...subnets, securityGroup],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ManageHyperplaneEnis',
      actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
      resources: [networkInterfaces],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DescribeNetwork',
      actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      resources: ['*'],
    }));
    // Lambda needs these actions to manage the ENIs; the function's own code never does. Calls made
    // with the function's credentials carry lambda:SourceFunctionArn, so this denies them to the code.
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DenyEniActionsToFunctionCode',
      effect: iam.Effect.DENY,
      actions: [
        'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets',
        'ec2:DetachNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses',
      ],
      resources: ['*'],
      conditions: {
        ArnLike: { 'lambda:SourceFunctionArn': stack.formatArn({ service: 'lambda', resource: 'function', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }));
    acknowledgeInlinePolicies(this.role);
    Validations.of(this.role).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*]',
        reason: 'Lambda creates and deletes the Hyperplane ENIs with this role, and their ids do not exist before creation; the create action is also limited to the shared subnets and security group.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason: 'ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets support no resource-level permissions, and xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) none either.',
      },
    );
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
      if (DATABASE_ENVIRONMENT.includes(key)) {
        throw new PropValidationError(this, `environment variable ${key} is set by the construct from the database: remove it from environment`);
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
