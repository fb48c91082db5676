import { CfnParameter, CfnResource, Duration, Lazy, SecretValue, Size, Stack, Token, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  AppParameters, DatabaseBootstrap, DatabaseCapacity, DatabaseEngine, DatabaseFunction, DatabaseFunctionProps, DatabaseNetwork, ProxiedDatabase, ProxiedDatabaseProps,
} from '../lib';
import { HANDLER_ENTRY, inlineFunction, LOCK_FILE, template, TestAppOptions, testStack } from './support/app';

type FunctionOptions = Omit<DatabaseFunctionProps, 'database' | 'entry' | 'databaseUser'> & { databaseUser?: string };

function setup(databaseOptions: Omit<ProxiedDatabaseProps, 'network'> = {}, appOptions: TestAppOptions = {}) {
  const stack = testStack(appOptions);
  const network = new DatabaseNetwork(stack, 'Network');
  const database = new ProxiedDatabase(stack, 'Database', { network, ...databaseOptions });
  const add = (id: string, options: FunctionOptions = {}) => new DatabaseFunction(stack, id, {
    database,
    databaseUser: 'app_user',
    externallyManagedDatabaseUser: true,
    entry: HANDLER_ENTRY,
    depsLockFilePath: LOCK_FILE,
    ...options,
  });
  return { stack, network, database, add };
}

/** The reserved concurrency as rendered: the value (or none) while the function's kill switch is off, 0 while it is on. */
function reservedWhileOn(value: number | undefined): unknown {
  return { 'Fn::If': [expect.stringMatching(/KillSwitchOff$/), value ?? { Ref: 'AWS::NoValue' }, 0] };
}

/** An app whose context gives the account's Lambda concurrency limit. */
function accountLimit(limit: unknown): TestAppOptions {
  return { context: { 'cdk-serverless-rds:accountConcurrencyLimit': limit } };
}

const reportOnly = { context: { '@aws-cdk/core:failSynthOnValidationErrors': false } };

function functionResource(stack: Stack, fn: DatabaseFunction): { [key: string]: any } {
  const logicalId = stack.getLogicalId(fn.lambdaFunction.node.defaultChild as lambda.CfnFunction);
  return template(stack).toJSON().Resources[logicalId];
}

describe('DatabaseFunction defaults', () => {
  const { stack, network, database, add } = setup();
  const fn = add('Items');
  const t = template(stack);

  test('runs Node.js 24 on arm64 with explicit memory and timeout, active tracing and JSON logs', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 10,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'INFO', LogGroup: { Ref: Match.stringLikeRegexp('ItemsLogGroup') } },
    });
  });

  test('sits in the shared security group and subnets', () => {
    const subnets = network.vpc.isolatedSubnets.map(subnet => stack.resolve(subnet.subnetId));
    t.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('NetworkFunctionSecurityGroup'), 'GroupId'] }],
        SubnetIds: subnets,
      },
    });
    expect(fn.securityGroup).toBe(network.functionSecurityGroup);
    // The shared function group and the database's three; no endpoint group: neither the function nor the database calls an AWS API.
    t.resourceCountIs('AWS::EC2::SecurityGroup', 4);
  });

  test('gets the proxy connection settings and no secret in its environment', () => {
    const variables = functionResource(stack, fn).Properties.Environment.Variables;
    expect(variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      DATABASE_HOST: stack.resolve(database.endpoint),
      DATABASE_PORT: '5432',
      DATABASE_NAME: 'app',
      DATABASE_USER: 'app_user',
      DATABASE_ENGINE: 'postgresql',
      DATABASE_CONNECT_TIMEOUT_MS: '3000',
      DATABASE_QUERY_TIMEOUT_MS: '6000',
      POWERTOOLS_SERVICE_NAME: 'Items',
      POWERTOOLS_METRICS_NAMESPACE: 'Test',
    });
    expect(JSON.stringify(variables)).not.toMatch(/secret|password/i);
  });

  test('logs to its own encrypted log group kept one year', () => {
    t.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('NetworkLogKey'), 'Arn'] }, LogGroupName: Match.absent() },
      DeletionPolicy: 'Retain',
    });
    expect(fn.logGroup).toBeDefined();
  });

  test('keeps least-privilege permissions in a managed policy of its own and the stack\'s shared ENI and X-Ray policies, none AWS managed', () => {
    t.resourceCountIs('AWS::IAM::Policy', 0);
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
      Description: 'Execution role of Test/Items',
      ManagedPolicyArns: [{ Ref: Match.stringLikeRegexp('^CdkServerlessRdsFunctionPoliciesHyperplaneEni') }, { Ref: Match.stringLikeRegexp('^CdkServerlessRdsFunctionPoliciesXrayTracing') }],
    });
    const resources = t.toJSON().Resources;
    const roleId = stack.getLogicalId(fn.role.node.defaultChild as iam.CfnRole);
    const attached = (resources[roleId].Properties.ManagedPolicyArns as Array<{ Ref: string }>).map(arn => resources[arn.Ref]);
    const own = Object.values(t.findResources('AWS::IAM::ManagedPolicy', { Properties: { Roles: [{ Ref: roleId }] } }));
    expect(own).toHaveLength(1);
    const statements = [...own, ...attached].flatMap(policy => policy.Properties.PolicyDocument.Statement) as Array<{ [key: string]: any }>;
    const byAction = (action: string) => statements.filter(s => [s.Action].flat().includes(action));
    const logStatements = byAction('logs:PutLogEvents');
    expect(logStatements).toHaveLength(1);
    expect(logStatements[0].Action).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(logStatements[0].Resource).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(fn.logGroup.node.defaultChild as logs.CfnLogGroup), 'Arn'] });
    const create = byAction('ec2:CreateNetworkInterface').find(s => s.Effect === 'Allow')!;
    expect(create.Resource).toHaveLength(4);
    expect(JSON.stringify(create.Resource)).toMatch(/network-interface\/\*.*security-group\/.*NetworkFunctionSecurityGroup.*subnet\/.*subnet\//);
    expect(byAction('ec2:DeleteNetworkInterface').find(s => s.Effect === 'Allow')!.Resource).toEqual(create.Resource[0]);
    expect(byAction('ec2:DescribeNetworkInterfaces').find(s => s.Effect === 'Allow')!.Resource).toBe('*');
    const deny = statements.find(s => s.Sid === 'DenyEniActionsToFunctionCode')!;
    expect(deny.Effect).toBe('Deny');
    expect(deny.Condition).toEqual({ ArnLike: { 'lambda:SourceFunctionArn': expect.anything() } });
    expect(byAction('xray:PutTraceSegments')).toHaveLength(1);
    const connect = byAction('rds-db:connect');
    expect(connect).toHaveLength(1);
    expect(JSON.stringify(connect[0].Resource)).toMatch(/:dbuser:.*\/app_user"/);
    expect(statements.filter(s => s.Effect === 'Allow').map(s => s.Action).flat().sort()).toEqual([
      'ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets', 'ec2:UnassignPrivateIpAddresses',
      'kms:Decrypt', 'kms:GenerateDataKey',
      'logs:CreateLogStream', 'logs:PutLogEvents', 'rds-db:connect',
      'sqs:SendMessage',
      'xray:PutTelemetryRecords', 'xray:PutTraceSegments',
    ]);
    // The queue and KMS actions are the failure destination's, on exactly its queue and key.
    const failureQueueArn = { 'Fn::GetAtt': [stack.getLogicalId(fn.failureQueue!.node.defaultChild as any), 'Arn'] };
    expect(byAction('sqs:SendMessage').map(s => s.Resource)).toEqual([failureQueueArn]);
    const failureKeyArn = { 'Fn::GetAtt': [stack.getLogicalId(fn.failureQueue!.encryptionMasterKey!.node.defaultChild as any), 'Arn'] };
    expect(byAction('kms:GenerateDataKey').map(s => s.Resource)).toEqual([failureKeyArn]);
  });

  test('opens only the engine port to the proxy', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      FromPort: 5432, ToPort: 5432,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('NetworkFunctionSecurityGroup'), 'GroupId'] },
      DestinationSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseProxySecurityGroup'), 'GroupId'] },
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5432, ToPort: 5432,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseProxySecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('NetworkFunctionSecurityGroup'), 'GroupId'] },
    });
  });

  test('reserves nothing: the kill switch alone can set a reservation, 0, which any account accepts', () => {
    expect(functionResource(stack, fn).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(undefined));
  });

  test('no other function of the stack reserves concurrency, the custom resource handlers included', () => {
    const reserving = Object.entries(t.findResources('AWS::Lambda::Function'))
      .filter(([, resource]) => resource.Properties.ReservedConcurrentExecutions !== undefined)
      .map(([id]) => id);
    expect(reserving).toEqual([stack.getLogicalId(fn.lambdaFunction.node.defaultChild as lambda.CfnFunction)]);
    expect(reserving.length).toBeLessThan(Object.keys(t.findResources('AWS::Lambda::Function')).length);
  });

  test('is IConnectable and IGrantable and exposes its parts', () => {
    expect(fn.connections).toBe(fn.lambdaFunction.connections);
    expect(fn.grantPrincipal).toBe(fn.role);
    expect(fn.databaseUser).toBe('app_user');
    expect(fn.lambdaFunction.runtime).toBe(lambda.Runtime.NODEJS_24_X);
  });

  test('the borrow timeout follows its timeout', () => {
    t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', { ConnectionPoolConfigurationInfo: Match.objectLike({ ConnectionBorrowTimeout: 5 }) });
  });
});

describe('DatabaseFunction options', () => {
  test('memory, timeout, runtime, log level, retention and description are configurable', () => {
    const { stack, add } = setup();
    add('Fn', {
      memorySize: 512,
      timeout: Duration.seconds(20),
      runtime: lambda.Runtime.NODEJS_22_X,
      applicationLogLevel: lambda.ApplicationLogLevel.WARN,
      logRetention: logs.RetentionDays.THREE_MONTHS,
      description: 'Orders',
      handler: 'main',
    });
    const t = template(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 512, Timeout: 20, Runtime: 'nodejs22.x', Description: 'Orders', Handler: 'index.main',
      LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'WARN' }),
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', { ConnectionPoolConfigurationInfo: Match.objectLike({ ConnectionBorrowTimeout: 10 }) });
  });

  test('extra environment variables are merged; the database ones win nothing they should not', () => {
    const { stack, add } = setup();
    const fn = add('Fn', { environment: { STAGE: 'prod', NODE_OPTIONS: '--max-old-space-size=900' } });
    const variables = functionResource(stack, fn).Properties.Environment.Variables;
    expect(variables.STAGE).toBe('prod');
    expect(variables.NODE_OPTIONS).toBe('--max-old-space-size=900');
    expect(variables.DATABASE_USER).toBe('app_user');
  });

  test('a MySQL database sets the MySQL engine and port', () => {
    const { stack, add } = setup({ engine: DatabaseEngine.auroraMysql() });
    const fn = add('Fn');
    const variables = functionResource(stack, fn).Properties.Environment.Variables;
    expect(variables.DATABASE_ENGINE).toBe('mysql');
    expect(variables.DATABASE_PORT).toBe('3306');
  });

  test('an explicit reserved concurrency is used as given', () => {
    const { stack, add } = setup();
    const fn = add('Fn', { reservedConcurrentExecutions: 25 });
    expect(functionResource(stack, fn).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(25));
  });

  test('with the account limit in context, an only function reserves the whole proxy pool', () => {
    const { stack, add } = setup({}, accountLimit(1000));
    const fn = add('Fn');
    expect(functionResource(stack, fn).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(576));
  });

  test('derived reservations share the pool left by explicit ones', () => {
    const { stack, add } = setup({}, accountLimit(1000));
    const a = add('A');
    const b = add('B');
    const c = add('C', { reservedConcurrentExecutions: 100 });
    expect(functionResource(stack, a).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(238));
    expect(functionResource(stack, b).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(238));
    expect(functionResource(stack, c).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(100));
  });

  test('derived reservations leave the account its 100 unreserved', () => {
    const { stack, add } = setup({}, accountLimit(300));
    const fn = add('Fn');
    expect(functionResource(stack, fn).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(200));
  });

  test('derived reservations count other reserved functions of the app', () => {
    const { stack, network, add } = setup({}, accountLimit(500));
    inlineFunction(stack, 'Other', {
      reservedConcurrentExecutions: 250, vpc: network.vpc, securityGroups: [network.functionSecurityGroup], vpcSubnets: network.functionSubnets,
    });
    const fn = add('Fn');
    expect(functionResource(stack, fn).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(150));
  });

  test('a new account\'s limit of 10 is accepted: nothing is left to reserve, so nothing is derived', () => {
    const { stack, add } = setup({}, accountLimit(10));
    const fn = add('Fn');
    expect(functionResource(stack, fn).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(undefined));
    expect(() => template(stack)).not.toThrow();
  });

  test('an explicit reservation is used as given without the account limit, above what an assumed default account could reserve', () => {
    const { stack, network, add } = setup();
    inlineFunction(stack, 'Other', {
      reservedConcurrentExecutions: 2000, vpc: network.vpc, securityGroups: [network.functionSecurityGroup], vpcSubnets: network.functionSubnets,
    });
    const fn = add('Fn', { reservedConcurrentExecutions: 500 });
    expect(functionResource(stack, fn).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(500));
    expect(() => template(stack)).not.toThrow();
  });

  test('bundling options are merged over the defaults, and pg-native stays external', () => {
    const { stack, add } = setup({}, { bundling: true });
    add('Fn', { bundling: { minify: false, sourceMap: false, externalModules: ['@aws-sdk/*'] } });
    const t = template(stack);
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ NODE_OPTIONS: Match.absent() }) } });
  });

  test('connecting as the admin user, which RDS creates, is allowed with a warning', () => {
    const { stack, add } = setup({}, reportOnly);
    add('Fn', { databaseUser: 'dbadmin' });
    Annotations.fromStack(stack).hasWarning('/Test/Fn', Match.stringLikeRegexp("databaseUser 'dbadmin' is the admin user of Test/Database"));
  });

  test('a reserved concurrency of 0 (stopped whatever the kill switch says) is allowed with a warning', () => {
    const { stack, add } = setup({}, reportOnly);
    const fn = add('Fn', { reservedConcurrentExecutions: 0 });
    expect(functionResource(stack, fn).Properties.ReservedConcurrentExecutions).toBe(0);
    Annotations.fromStack(stack).hasWarning('/Test/Fn', Match.stringLikeRegexp('reservedConcurrentExecutions is 0: every invocation is throttled'));
  });
});

describe('DatabaseFunction validation', () => {
  const cases: Array<[string, FunctionOptions, string]> = [
    ['memory below 128 MB', { memorySize: 64 }, 'memorySize (64 MB) must be between 128 MB and 10240 MB'],
    ['memory above 10,240 MB', { memorySize: 20000 }, 'memorySize (20000 MB) must be between 128 MB and 10240 MB'],
    ['fractional memory', { memorySize: 1000.5 }, 'memorySize (1000.5 MB) must be a whole number'],
    ['a zero timeout', { timeout: Duration.seconds(0) }, 'timeout (0 s) must be between 1 s and 900 s'],
    ['a timeout over 15 minutes', { timeout: Duration.minutes(16) }, 'timeout (960 s) must be between 1 s and 900 s'],
    ['a negative reserved concurrency', { reservedConcurrentExecutions: -1 }, 'reservedConcurrentExecutions (-1) must be 0 or more: set reservedConcurrentExecutions to at least 0'],
    ['reserved concurrency above the pool', { reservedConcurrentExecutions: 600 }, 'reservedConcurrentExecutions (600) is above the 576 connections the proxy pool of Test/Database can serve'],
    ['fractional reserved concurrency', { reservedConcurrentExecutions: 2.5 }, 'reservedConcurrentExecutions (2.5) must be a whole number'],
    ['a Python runtime', { runtime: lambda.Runtime.PYTHON_3_13 }, 'runtime (python3.13) is not a Node.js runtime: use lambda.Runtime.NODEJS_24_X'],
    ['an environment variable the construct owns', { environment: { DATABASE_HOST: 'elsewhere' } }, 'environment variable DATABASE_HOST is set by the construct from the database: remove it from environment'],
    ['a password in the environment', { environment: { DB_PASSWORD: 'hunter2' } }, 'environment variable DB_PASSWORD looks like it holds a password or secret'],
    ['an invalid database user', { databaseUser: 'app-user' },
      "Test/Fn: databaseUser ('app-user') is not a valid database user name: use 1 to 63 characters, a lowercase letter first, then lowercase letters, digits or underscores (e.g. 'app_user')"],
    ['an uppercase database user', { databaseUser: 'App_User' },
      "Test/Fn: databaseUser ('App_User') must be lowercase: the IAM token, the rds-db:connect grant and the database must spell the user the same way; use 'app_user'"],
    ['the postgres user', { databaseUser: 'postgres' },
      "Test/Fn: databaseUser ('postgres') is a name that the engine or RDS reserves or uses as its default: choose another name, e.g. 'app_postgres'"],
    ['the proxy\'s own user', { databaseUser: 'rdsproxyadmin' },
      "Test/Fn: databaseUser ('rdsproxyadmin') is a name that the engine or RDS reserves or uses as its default: choose another name, e.g. 'app_rdsproxyadmin'"],
  ];

  test.each(cases)('throws on %s', (_name, options, message) => {
    const { add } = setup();
    expect(() => add('Fn', options)).toThrow(message);
  });

  test('throws on a reservation eating into the unreserved 100 of the account limit in context', () => {
    const { add } = setup({}, accountLimit(1000));
    expect(() => add('Fn', { reservedConcurrentExecutions: 950 })).toThrow(
      'Test/Fn: reservedConcurrentExecutions (950) must be between 0 and 900: set reservedConcurrentExecutions within that range');
  });

  test('throws on any reservation when the account limit in context leaves nothing to reserve', () => {
    const { add } = setup({}, accountLimit(10));
    expect(() => add('Fn', { reservedConcurrentExecutions: 5 })).toThrow(
      'Test/Fn: reservedConcurrentExecutions (5) cannot be reserved: the account limit in context cdk-serverless-rds:accountConcurrencyLimit (10) leaves nothing to reserve, '
      + 'because Lambda keeps 100 unreserved (all of a limit of 100 or less); remove reservedConcurrentExecutions, or raise the account\'s limit (Service Quotas) and the context with it');
    expect(() => setup({}, accountLimit(10)).add('Stopped', { reservedConcurrentExecutions: 0 })).not.toThrow();
  });

  test('throws when the timeout of 1 s leaves no room for a borrow timeout below it', () => {
    const { add } = setup();
    expect(() => add('Fn', { timeout: Duration.seconds(1) })).toThrow(
      'Test/Fn/Function: timeout (1 s) must be 2 s or more to connect through the proxy of Test/Database: its borrow timeout is at least 1 s and must stay below '
      + 'the function\'s timeout; raise timeout to Duration.seconds(2) or more');
  });

  test('throws when the timeout is a token and the database derives its borrow timeout', () => {
    const { stack, add } = setup();
    const seconds = new CfnParameter(stack, 'Timeout', { type: 'Number', default: 10 }).valueAsNumber;
    expect(() => add('Fn', { timeout: Duration.seconds(seconds) })).toThrow(
      'Test/Fn/Function: timeout is a token, so Test/Database cannot derive a borrow timeout below it: set borrowTimeout on Test/Database below the shortest timeout the function can get');
  });

  test.each([
    ['durationPercentOfTimeout', { alarms: { durationPercentOfTimeout: Token.asNumber(Lazy.number({ produce: () => 50 })) } },
      'Test/Fn: alarms.durationPercentOfTimeout must be a value known at synth, not a token: it decides the Duration alarm\'s threshold, that share of the timeout computed at synth; pass a literal'],
    ['concurrencyPercentOfReserved', { alarms: { concurrencyPercentOfReserved: Token.asNumber(Lazy.number({ produce: () => 50 })) } },
      'Test/Fn: alarms.concurrencyPercentOfReserved must be a value known at synth, not a token: it decides the Concurrency alarm\'s threshold, '
      + 'that share of the reserved concurrency computed at synth; pass a literal'],
  ])('throws on a token %s, a threshold computed at synth', (_name, options, message) => {
    const { add } = setup();
    expect(() => add('Fn', options as FunctionOptions)).toThrow(message);
  });

  test('throws on alarm thresholds that a token timeout or reservation leaves without an alarm', () => {
    const { add } = setup({ borrowTimeout: Duration.seconds(5) });
    const token = Token.asNumber(Lazy.number({ produce: () => 10 }));
    expect(() => add('Slow', { timeout: Duration.seconds(token), alarms: { durationPercentOfTimeout: 50 } })).toThrow(
      'Test/Slow: alarms.durationPercentOfTimeout (50) has no effect: the Duration alarm needs the timeout at synth, which is a token here; '
      + 'give timeout as a literal, or remove durationPercentOfTimeout');
    expect(() => add('Busy', { reservedConcurrentExecutions: token, alarms: { concurrencyPercentOfReserved: 50 } })).toThrow(
      'Test/Busy: alarms.concurrencyPercentOfReserved (50) has no effect: the Concurrency alarm needs the reserved concurrency at synth, which is a token here; '
      + 'give reservedConcurrentExecutions as a literal, or remove concurrencyPercentOfReserved');
  });

  test('throws when the timeout is not above the proxy borrow timeout', () => {
    const { add } = setup({ borrowTimeout: Duration.seconds(10) });
    expect(() => add('Fn', { timeout: Duration.seconds(8) }))
      .toThrow("Test/Fn/Function: timeout (8 s) must be above the proxy's borrowTimeout (10 s) of Test/Database");
  });

  test('fails synth when an environment value is a secret reference', () => {
    const { stack, add } = setup();
    const secret = new secretsmanager.Secret(stack, 'Token');
    add('Fn', { environment: { API_TOKEN: secret.secretValue.unsafeUnwrap() } });
    expect(() => template(stack)).toThrow(/environment variable API_TOKEN holds a secret value/);
    const plain = setup();
    plain.add('Fn', { environment: { API_TOKEN: SecretValue.unsafePlainText('x').unsafeUnwrap() } });
    expect(() => template(plain.stack)).not.toThrow();
  });

  test.each([
    ['the Serverless v2 maximum', (stack: Stack) => ({ capacity: DatabaseCapacity.serverlessV2({ maxCapacity: new CfnParameter(stack, 'Max', { type: 'Number', default: 8 }).valueAsNumber }) })],
    // A token maxConnections only sizes the pool: it never reaches the template, where an unused parameter would be a finding.
    ['maxConnections', (_stack: Stack) => ({ maxConnections: Token.asNumber(Lazy.number({ produce: () => 800 })) })],
    ['maxConnectionsPercent', (stack: Stack) => ({ maxConnectionsPercent: new CfnParameter(stack, 'Percent', { type: 'Number', default: 60 }).valueAsNumber })],
  ])('with the account limit in context, a token %s leaves functions without a reservation, and says why', (_name, tokenProps) => {
    const stack = testStack(accountLimit(1000));
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network, ...tokenProps(stack) });
    const fn = new DatabaseFunction(stack, 'Fn', { database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE });
    const other = new DatabaseFunction(stack, 'Other', { database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, reservedConcurrentExecutions: 5 });
    expect(functionResource(stack, fn).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(undefined));
    expect(functionResource(stack, other).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(5));
    const reasons = fn.lambdaFunction.node.metadata
      .filter(entry => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap(entry => Object.values(entry.data as Record<string, string>));
    expect(reasons).toContain('ReservedConcurrentExecutions is Fn::If on the kill switch parameter FnKillSwitch: no reservation while it is off, 0 (the function stopped on purpose) '
      + 'while it is on; the rule cannot evaluate a condition; there is no reservation because the proxy pool of Test/Database is unknown at synth (its maxConnections, '
      + 'capacity or maxConnectionsPercent is a token), so there is no share of it to reserve: RDS Proxy\'s pool and borrow timeout bound the database load instead; '
      + 'set reservedConcurrentExecutions to cap the function.');
  });

  test('throws on provisioned concurrency without a reservation when the account limit is known but the pool is not, so nothing holds it', () => {
    const stack = testStack(accountLimit(1000));
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network, maxConnections: Token.asNumber(Lazy.number({ produce: () => 800 })) });
    const props = { database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, provisionedConcurrency: { minCapacity: 2 } };
    expect(() => new DatabaseFunction(stack, 'Fn', props)).toThrow(
      'Test/Fn: provisionedConcurrency needs a reservation that holds it when the account limit is in context cdk-serverless-rds:accountConcurrencyLimit (1000), '
      + 'but the proxy pool of Test/Database is unknown at synth (its maxConnections, capacity or maxConnectionsPercent is a token), so no reservation is derived: set reservedConcurrentExecutions');
    expect(() => new DatabaseFunction(stack, 'Reserved', { ...props, reservedConcurrentExecutions: 5 })).not.toThrow();
  });

  test('a function that reserves nothing because its pool is unknown leaves the account\'s reservable concurrency to the others', () => {
    const stack = testStack(accountLimit(300));
    const network = new DatabaseNetwork(stack, 'Network');
    const unknownPool = new ProxiedDatabase(stack, 'Reports', { network, maxConnections: Token.asNumber(Lazy.number({ produce: () => 800 })) });
    const knownPool = new ProxiedDatabase(stack, 'Orders', { network });
    const props = { databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE };
    const reporter = new DatabaseFunction(stack, 'Reporter', { database: unknownPool, ...props });
    const orders = new DatabaseFunction(stack, 'OrdersApi', { database: knownPool, ...props });
    expect(functionResource(stack, reporter).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(undefined));
    // All 200 that a limit of 300 leaves to reserve, below the pool of 576.
    expect(functionResource(stack, orders).Properties.ReservedConcurrentExecutions).toEqual(reservedWhileOn(200));
  });

  test('fails synth when derived reservations would get nothing', () => {
    const { stack, add } = setup({}, accountLimit(101));
    add('A');
    add('B');
    expect(() => template(stack)).toThrow(/2 function\(s\) derive their reserved concurrency from a proxy pool of 576 connections and the account's reservable concurrency, which leaves them 0/);
  });

  test.each(['lots', 0, 2.5])('throws on the account concurrency context value %p', value => {
    const { add } = setup({}, accountLimit(value));
    expect(() => add('Fn')).toThrow(`Test/Fn: context cdk-serverless-rds:accountConcurrencyLimit (${value}) must be a whole number of 1 or more: `
      + 'set it to the account\'s Lambda concurrency limit in the Region (Service Quotas, "Concurrent executions"), or remove it to reserve nothing by default');
  });

  test('accepts tokens for memory, timeout and reserved concurrency', () => {
    const { stack, add } = setup({ borrowTimeout: Duration.seconds(5) });
    const number = (name: string, value: number) => new CfnParameter(stack, name, { type: 'Number', default: value }).valueAsNumber;
    add('Fn', {
      memorySize: number('Memory', 512),
      timeout: Duration.seconds(number('Timeout', 10)),
      reservedConcurrentExecutions: number('Reserved', 5),
    });
    template(stack).hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: { Ref: 'Memory' }, Timeout: { Ref: 'Timeout' }, ReservedConcurrentExecutions: { 'Fn::If': [Match.anyValue(), { Ref: 'Reserved' }, 0] },
    });
  });
});

describe('DatabaseFunction client timeouts, shared parameters and Powertools settings', () => {
  const variables = (options: FunctionOptions = {}, id = 'Fn') => {
    const { stack, add } = setup();
    return functionResource(stack, add(id, options)).Properties.Environment.Variables;
  };

  test.each([
    ['the default 10 s', undefined, '3000', '6000'],
    ['2 s, the shortest a connected function may have', Duration.seconds(2), '600', '1200'],
    ['900 s (connect capped at 5 s, margin at 1 s)', Duration.seconds(900), '5000', '894000'],
  ])('a timeout of %s gives the client connect and query timeouts inside it', (_name, timeout, connect, query) => {
    expect(variables({ timeout })).toMatchObject({ DATABASE_CONNECT_TIMEOUT_MS: connect, DATABASE_QUERY_TIMEOUT_MS: query });
  });

  test('a token timeout leaves the client timeouts to the runtime', () => {
    const { stack, add } = setup({ borrowTimeout: Duration.seconds(5) });
    const seconds = new CfnParameter(stack, 'Timeout', { type: 'Number', default: 10 }).valueAsNumber;
    const environment = functionResource(stack, add('Fn', { timeout: Duration.seconds(seconds) })).Properties.Environment.Variables;
    expect(environment.DATABASE_CONNECT_TIMEOUT_MS).toBeUndefined();
    expect(environment.DATABASE_QUERY_TIMEOUT_MS).toBeUndefined();
  });

  test('Powertools service name and metrics namespace default to the construct id and the stack name', () => {
    expect(variables({}, 'Orders')).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'Orders', POWERTOOLS_METRICS_NAMESPACE: 'Test' });
  });

  test('serviceName and metricsNamespace are configurable', () => {
    expect(variables({ serviceName: 'orders-api', metricsNamespace: 'Shop' }))
      .toMatchObject({ POWERTOOLS_SERVICE_NAME: 'orders-api', POWERTOOLS_METRICS_NAMESPACE: 'Shop' });
  });

  test('without parameters there is no PARAMETERS_PATH and no SSM permission', () => {
    const { stack, add } = setup();
    const fn = add('Fn');
    expect(functionResource(stack, fn).Properties.Environment.Variables.PARAMETERS_PATH).toBeUndefined();
    expect(JSON.stringify(template(stack).findResources('AWS::IAM::ManagedPolicy'))).not.toMatch(/ssm:/);
  });

  test('parameters set PARAMETERS_PATH and allow ssm:GetParametersByPath on exactly that path', () => {
    const { stack, add } = setup();
    const parameters = new AppParameters(stack, 'Parameters', { path: '/orders-service', values: { 'max-limit': '100' } });
    const fn = add('Fn', { parameters });
    expect(functionResource(stack, fn).Properties.Environment.Variables.PARAMETERS_PATH).toBe('/orders-service');
    const roleId = stack.getLogicalId(fn.role.node.defaultChild as iam.CfnRole);
    const policy = Object.values(template(stack).findResources('AWS::IAM::ManagedPolicy', { Properties: { Roles: [{ Ref: roleId }] } }))[0];
    const ssmStatements = (policy.Properties.PolicyDocument.Statement as Array<{ [key: string]: any }>)
      .filter(s => [s.Action].flat().some((action: string) => action.startsWith('ssm:')));
    expect(ssmStatements).toEqual([{
      Action: 'ssm:GetParametersByPath',
      Effect: 'Allow',
      Resource: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':parameter/orders-service']],
      },
    }]);
  });

  test('deploys after the proxy targets are available', () => {
    const { stack, database, add } = setup();
    const fn = add('Fn');
    expect(functionResource(stack, fn).DependsOn).toContain(stack.getLogicalId(database.proxyReadiness!.node.defaultChild as CfnResource));
  });

  const rejected: Array<[string, string]> = [
    ['DATABASE_CONNECT_TIMEOUT_MS', 'is set by the construct from timeout: remove it from environment and set timeout instead'],
    ['DATABASE_QUERY_TIMEOUT_MS', 'is set by the construct from timeout: remove it from environment and set timeout instead'],
    ['PARAMETERS_PATH', 'is set by the construct from parameters: remove it from environment and set parameters instead'],
    ['POWERTOOLS_SERVICE_NAME', 'is set by the construct from serviceName: remove it from environment and set serviceName instead'],
    ['POWERTOOLS_METRICS_NAMESPACE', 'is set by the construct from metricsNamespace: remove it from environment and set metricsNamespace instead'],
    ['DATABASE_AUTH', 'is a local-development setting that the runtime refuses in Lambda: remove it; deployed functions always use IAM authentication over TLS'],
    ['DATABASE_TLS', 'is a local-development setting that the runtime refuses in Lambda: remove it; deployed functions always use IAM authentication over TLS'],
  ];

  test.each(rejected)('throws on %s in environment', (name, reason) => {
    const { add } = setup();
    expect(() => add('Fn', { environment: { [name]: 'x' } })).toThrow(`Test/Fn: environment variable ${name} ${reason}`);
  });
});

describe('DatabaseFunction database user', () => {
  const declared = { externallyManagedDatabaseUser: false };

  test('fails synth when no bootstrap of its database declares the user', () => {
    const { stack, add } = setup();
    add('Fn', declared);
    expect(() => template(stack)).toThrow(
      "[Test/Fn] databaseUser 'app_user' is not declared by any DatabaseBootstrap of Test/Database, so no deploy creates it and every connection would fail: "
      + "add { name: 'app_user' } to the users of a DatabaseBootstrap of Test/Database, or set externallyManagedDatabaseUser to true if the user is created another way");
  });

  test('passes when a bootstrap of its database declares the user, even one created after the function', () => {
    const { stack, database, add } = setup();
    add('Fn', declared);
    new DatabaseBootstrap(stack, 'Bootstrap', { database, users: [{ name: 'app_user' }] });
    expect(() => template(stack)).not.toThrow();
  });

  test('a bootstrap of another database does not declare the user', () => {
    const { stack, network, add } = setup();
    const other = new ProxiedDatabase(stack, 'Other', { network });
    new DatabaseBootstrap(stack, 'Bootstrap', { database: other, users: [{ name: 'app_user' }] });
    add('Fn', declared);
    expect(() => template(stack)).toThrow("[Test/Fn] databaseUser 'app_user' is not declared by any DatabaseBootstrap of Test/Database");
  });

  test('fails synth when the user is said to be managed externally but a bootstrap declares it', () => {
    const { stack, database, add } = setup();
    add('Fn');
    new DatabaseBootstrap(stack, 'Bootstrap', { database, users: [{ name: 'app_user' }] });
    expect(() => template(stack)).toThrow(
      "[Test/Fn] externallyManagedDatabaseUser is true, but Test/Bootstrap declares databaseUser 'app_user': remove externallyManagedDatabaseUser, or remove the user from the bootstrap");
  });

  test('fails synth on the admin user unless it is said to be managed externally', () => {
    const { stack, add } = setup();
    add('Fn', { ...declared, databaseUser: 'dbadmin' });
    expect(() => template(stack)).toThrow(
      "[Test/Fn] databaseUser 'dbadmin' is the admin user of Test/Database, which RDS creates, not a DatabaseBootstrap: "
      + 'connect as a user that a bootstrap declares, or set externallyManagedDatabaseUser to true to connect as the admin');
  });

  test('a token user must be managed externally: bootstrap users are literals', () => {
    const { stack, add } = setup();
    const user = new CfnParameter(stack, 'User', { default: 'app_user' }).valueAsString;
    add('Fn', { ...declared, databaseUser: user });
    expect(() => template(stack)).toThrow('[Test/Fn] databaseUser is a token, so no DatabaseBootstrap can declare it (bootstrap user names are literals): '
      + 'pass the name as a literal, or set externallyManagedDatabaseUser to true if the user is created another way');
    const managed = setup();
    managed.add('Fn', { databaseUser: new CfnParameter(managed.stack, 'User', { default: 'app_user' }).valueAsString });
    expect(() => template(managed.stack)).not.toThrow();
  });
});

describe('DatabaseFunction required props', () => {
  test('throws naming every missing prop when JavaScript passes none', () => {
    const stack = testStack();
    expect(() => new DatabaseFunction(stack, 'Fn', undefined as unknown as DatabaseFunctionProps)).toThrow(
      'Test/Fn: database, databaseUser, entry are required but missing: pass database (the ProxiedDatabase the function connects to, or an import of one), '
      + 'databaseUser (the database user it connects as), entry (the path of its handler file)');
  });

  test('throws naming the one missing prop, null included', () => {
    const { database } = setup();
    const stack = Stack.of(database);
    expect(() => new DatabaseFunction(stack, 'Fn', { database, databaseUser: null, entry: HANDLER_ENTRY } as unknown as DatabaseFunctionProps)).toThrow(
      'Test/Fn: databaseUser is required but missing: pass databaseUser (the database user it connects as)');
  });
});

describe('DatabaseFunction architecture and ephemeral storage', () => {
  test('runs on x86_64 when asked', () => {
    const { stack, add } = setup();
    const fn = add('Fn', { architecture: lambda.Architecture.X86_64 });
    expect(functionResource(stack, fn).Properties.Architectures).toEqual(['x86_64']);
  });

  test('throws on an architecture Lambda does not have', () => {
    const { add } = setup();
    expect(() => add('Fn', { architecture: lambda.Architecture.custom('sparc') }))
      .toThrow('Test/Fn: architecture (sparc) is not a Lambda architecture: use lambda.Architecture.ARM_64 or X86_64');
  });

  test('sets the size of /tmp, and leaves Lambda\'s 512 MB default alone otherwise', () => {
    const { stack, add } = setup();
    const large = add('Large', { ephemeralStorageSize: Size.gibibytes(2) });
    const plain = add('Plain');
    expect(functionResource(stack, large).Properties.EphemeralStorage).toEqual({ Size: 2048 });
    expect(functionResource(stack, plain).Properties.EphemeralStorage).toBeUndefined();
  });

  test.each<[string, Size, string]>([
    ['below 512 MB', Size.mebibytes(256), 'ephemeralStorageSize (256 MB) must be between 512 MB and 10240 MB: set ephemeralStorageSize within that range'],
    ['above 10,240 MB', Size.gibibytes(11), 'ephemeralStorageSize (11264 MB) must be between 512 MB and 10240 MB'],
    ['not whole megabytes', Size.kibibytes(600 * 1024 + 512), 'ephemeralStorageSize (600.5 MB) must be a whole number: round ephemeralStorageSize'],
  ])('throws on ephemeral storage %s', (_name, size, message) => {
    const { add } = setup();
    expect(() => add('Fn', { ephemeralStorageSize: size })).toThrow(`Test/Fn: ${message}`);
  });

  test('accepts a token ephemeral storage size', () => {
    const { stack, add } = setup();
    const size = new CfnParameter(stack, 'Storage', { type: 'Number', default: 1024 }).valueAsNumber;
    const fn = add('Fn', { ephemeralStorageSize: Size.mebibytes(size) });
    expect(functionResource(stack, fn).Properties.EphemeralStorage).toEqual({ Size: { Ref: 'Storage' } });
  });
});

describe('DatabaseFunction environment size', () => {
  /** The environment of the function 'Fn' with a variable BIG of `bytes` characters, as Lambda measures it when the proxy endpoint counts as empty. */
  function measured(bytes: number): number {
    const { stack, add } = setup({}, reportOnly);
    const fn = add('Fn', { environment: { BIG: 'x'.repeat(bytes) } });
    const variables: { [key: string]: unknown } = functionResource(stack, fn).Properties.Environment.Variables;
    expect(typeof variables.DATABASE_HOST).toBe('object');
    return Buffer.byteLength(JSON.stringify(Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, typeof value === 'string' ? value : '']))));
  }

  test('allows exactly 4 KB as Lambda measures it and fails synth one byte above, not counting values known only at deploy', () => {
    const fill = 4096 - measured(0);
    const fits = setup();
    fits.add('Fn', { environment: { BIG: 'x'.repeat(fill) } });
    expect(() => template(fits.stack)).not.toThrow();

    const over = setup();
    over.add('Fn', { environment: { BIG: 'x'.repeat(fill + 1) } });
    expect(() => template(over.stack)).toThrow(
      "[Test/Fn/Function] the function's environment variables take 4097 bytes as Lambda measures them (names and values as JSON), "
      + 'not counting the values of DATABASE_HOST, which are known only at deploy, above Lambda\'s limit of 4 KB (4096 bytes); '
      + `the largest are BIG (${fill + 4} bytes), NODE_OPTIONS (32 bytes), POWERTOOLS_METRICS_NAMESPACE (32 bytes): `
      + 'keep large or shared settings in Parameter Store (the parameters prop) instead');
  });

  test('counts variables added to the function later', () => {
    const { stack, add } = setup();
    const fn = add('Fn');
    fn.lambdaFunction.addEnvironment('LATE', 'x'.repeat(4096));
    expect(() => template(stack)).toThrow(/\[Test\/Fn\/Function\] the function's environment variables take \d+ bytes .* the largest are LATE \(4100 bytes\)/);
  });
});

describe('DatabaseFunction failure queue as an EventBridge dead-letter queue', () => {
  function withRule(allow: boolean, ruleProps: Partial<events.RuleProps> = { ruleName: 'orders' }) {
    const { stack, add } = setup();
    const fn = add('Worker');
    const rule = new events.Rule(stack, 'Orders', {
      eventPattern: { source: ['orders'] },
      targets: [new targets.LambdaFunction(fn.invokeTarget, { deadLetterQueue: fn.failureQueue })],
      ...ruleProps,
    });
    if (allow) {
      fn.allowEventBridgeDeadLetters(rule);
    }
    return { stack, fn, rule };
  }

  /** The statements of the failure queue's key policy for EventBridge. */
  function eventBridgeStatements(stack: Stack, fn: DatabaseFunction): unknown[] {
    const keyId = stack.getLogicalId(fn.failureQueue!.encryptionMasterKey!.node.defaultChild as kms.CfnKey);
    const statements: unknown[] = template(stack).toJSON().Resources[keyId].Properties.KeyPolicy.Statement;
    return statements.filter(statement => JSON.stringify(statement).includes('events.amazonaws.com'));
  }

  const ruleArn = (resource: unknown[]) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ...resource]],
  });

  test('lets EventBridge encrypt into the failure queue for that rule only, in this account, without a circular reference', () => {
    const { stack, fn } = withRule(true);
    expect(eventBridgeStatements(stack, fn)).toEqual([{
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: '*',
      Condition: {
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnEquals: { 'aws:SourceArn': ruleArn([':rule/orders']) },
      },
    }]);
  });

  test('names the event bus of a rule on a custom bus in its ARN', () => {
    const { stack, add } = setup();
    const fn = add('Worker');
    const bus = new events.EventBus(stack, 'Bus');
    const rule = new events.Rule(stack, 'Orders', {
      eventBus: bus, ruleName: 'orders', eventPattern: { source: ['orders'] },
      targets: [new targets.LambdaFunction(fn.invokeTarget, { deadLetterQueue: fn.failureQueue })],
    });
    fn.allowEventBridgeDeadLetters(rule);
    expect(eventBridgeStatements(stack, fn)).toEqual([expect.objectContaining({
      Condition: expect.objectContaining({ ArnEquals: { 'aws:SourceArn': ruleArn([':rule/', { Ref: stack.getLogicalId(bus.node.defaultChild as events.CfnEventBus) }, '/orders']) } }),
    })]);
  });

  test('throws when the rule has no name, which its ARN needs', () => {
    expect(() => withRule(true, {})).toThrow(
      "Test/Worker: allowEventBridgeDeadLetters(Test/Orders) needs the rule's name: its ARN goes into the policy of the failure queue's key, which cannot reference the rule "
      + "(the rule references the queue, and the queue the key); give the rule a ruleName that varies with the stack, e.g. Fn.join('-', [Aws.STACK_NAME, 'Orders'])");
  });

  test('fails synth when a rule uses the failure queue as its dead-letter queue without it', () => {
    const { stack } = withRule(false);
    expect(() => template(stack)).toThrow(
      '[Test/Worker] the failure queue is the dead-letter queue of a target of rule Test/Orders/Resource, but its key does not admit EventBridge for that rule, '
      + 'so the events the rule fails to deliver would be lost: call allowEventBridgeDeadLetters(rule) on Test/Worker');
  });

  test('a rule with a dead-letter queue of its own needs nothing', () => {
    const { stack, add } = setup();
    const fn = add('Worker');
    new events.Rule(stack, 'Orders', {
      eventPattern: { source: ['orders'] },
      targets: [new targets.LambdaFunction(fn.invokeTarget, { deadLetterQueue: new sqs.Queue(stack, 'OwnDeadLetters', { enforceSSL: true }) })],
    });
    expect(() => template(stack)).not.toThrow();
  });

  test('throws when the function has no failure queue', () => {
    const { stack, add } = setup();
    const fn = add('Worker', { onFailure: new destinations.SqsDestination(new sqs.Queue(stack, 'Failures', { enforceSSL: true })) });
    const rule = new events.Rule(stack, 'Orders', { eventPattern: { source: ['orders'] } });
    expect(() => fn.allowEventBridgeDeadLetters(rule)).toThrow(
      'Test/Worker: allowEventBridgeDeadLetters(Test/Orders) needs the function\'s failure queue, which it does not have because onFailure is set: '
      + 'give the rule target a dead-letter queue of your own whose key admits events.amazonaws.com');
  });
});
