import { App, Duration, Lazy, Stack, Token, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  AlarmTopic, DatabaseBootstrap, DatabaseDashboard, DatabaseEngine, DatabaseFunction, DatabaseNetwork, IProxiedDatabase, ProxiedDatabase,
  ProxiedDatabaseAttributes, ProxiedDatabaseParameterStoreOptions,
} from '../lib';
import { addChecks } from '../bin/checks';
import { HANDLER_ENTRY, LOCK_FILE, testApp, TestAppOptions } from './support/app';
import { findings, staleAcknowledgements, synthWithChecks } from './support/checks';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const VPC_ID = 'vpc-0a1b2c3d4e5f60718';
const PROXY_ARN = 'arn:aws:rds:eu-west-1:123456789012:db-proxy:prx-0123456789abcdef0';
const PROXY_SECURITY_GROUP = 'sg-0123456789abcdef0';
const ENDPOINT = 'orders.proxy-c0ffee123abc.eu-west-1.rds.amazonaws.com';
const SKIPPED = ProxiedDatabase.IMPORT_CHECK_SKIPPED_WARNING;

/** A network of the importing app in the proxy's VPC, as `ec2.Vpc.fromLookup` would give it. */
function importingNetwork(stack: Stack): DatabaseNetwork {
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: VPC_ID,
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: ['subnet-0a1a1a1a1a1a1a1a1', 'subnet-0b2b2b2b2b2b2b2b2'],
    privateSubnetRouteTableIds: ['rtb-0a1a1a1a1a1a1a1a1', 'rtb-0b2b2b2b2b2b2b2b2'],
  });
  return new DatabaseNetwork(stack, 'Network', { vpc });
}

function importingStack(appOptions: TestAppOptions = {}): { stack: Stack; network: DatabaseNetwork } {
  const stack = new Stack(testApp(appOptions), 'Importer', { env: ENV });
  return { stack, network: importingNetwork(stack) };
}

type AttributeOverrides = { [name in keyof ProxiedDatabaseAttributes]?: unknown };

/** Every attribute, with the pool and borrow timeout, as the owning team would hand them over. */
function attributes(network: DatabaseNetwork, overrides: AttributeOverrides = {}): ProxiedDatabaseAttributes {
  return {
    network,
    engine: DatabaseEngine.auroraPostgres(),
    endpoint: ENDPOINT,
    proxyName: 'orders',
    proxyArn: PROXY_ARN,
    proxySecurityGroupId: PROXY_SECURITY_GROUP,
    vpcId: VPC_ID,
    databaseName: 'orders',
    poolSize: 40,
    borrowTimeout: Duration.seconds(5),
    ...overrides,
  } as ProxiedDatabaseAttributes;
}

function connect(stack: Stack, database: IProxiedDatabase, id = 'Fn', options: { timeout?: Duration; reservedConcurrentExecutions?: number } = {}): DatabaseFunction {
  return new DatabaseFunction(stack, id, { database, databaseUser: 'app_user', entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, ...options });
}

function importByAttributes(overrides: AttributeOverrides = {}, appOptions: TestAppOptions = {}) {
  const { stack, network } = importingStack(appOptions);
  const database = ProxiedDatabase.fromProxiedDatabaseAttributes(stack, 'Orders', attributes(network, overrides));
  return { stack, network, database };
}

function skippedWarnings(stack: Stack): string[] {
  return Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp(`\\[ack: ${SKIPPED}\\]`)).map(warning => String(warning.entry.data));
}

/** Warnings are findings that fail the synth: tests that read them only report them. */
const REPORT_ONLY = { '@aws-cdk/core:failSynthOnValidationErrors': false };
const reportOnly: TestAppOptions = { context: REPORT_ONLY };
function queueWithDeadLetters(stack: Stack): sqs.Queue {
  return new sqs.Queue(stack, 'Jobs', {
    visibilityTimeout: Duration.seconds(60), enforceSSL: true, encryption: sqs.QueueEncryption.KMS_MANAGED,
    deadLetterQueue: { queue: new sqs.Queue(stack, 'JobsDeadLetters', { enforceSSL: true, encryption: sqs.QueueEncryption.KMS_MANAGED }), maxReceiveCount: 5 },
  });
}

const accountLimit = (limit: number): TestAppOptions => ({ context: { ...REPORT_ONLY, 'cdk-serverless-rds:accountConcurrencyLimit': limit } });

describe('a function connected to a database imported by attributes', () => {
  const { stack, network, database } = importByAttributes();
  const fn = connect(stack, database);
  const t = Template.fromStack(stack);

  test('is granted rds-db:connect for its user on the imported proxy\'s resource id, and nothing else of RDS', () => {
    const statements = Object.values(t.findResources('AWS::IAM::ManagedPolicy')).flatMap(policy => policy.Properties.PolicyDocument.Statement)
      .filter((statement: { Action: string | string[] }) => [statement.Action].flat().some(action => action.startsWith('rds')));
    expect(statements).toEqual([{
      Action: 'rds-db:connect',
      Effect: 'Allow',
      Resource: 'arn:aws:rds-db:eu-west-1:123456789012:dbuser:prx-0123456789abcdef0/app_user',
    }]);
  });

  test('opens its security group\'s egress to the proxy\'s security group on the engine port', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [stack.getLogicalId(network.functionSecurityGroup.node.defaultChild as ec2.CfnSecurityGroup), 'GroupId'] },
      DestinationSecurityGroupId: PROXY_SECURITY_GROUP,
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
    });
  });

  test('adds no ingress rule to the imported security group unless allowed: the owning team manages it', () => {
    t.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('gets the proxy endpoint, the engine\'s proxy port and the database name in its environment', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          DATABASE_HOST: ENDPOINT, DATABASE_PORT: '5432', DATABASE_NAME: 'orders', DATABASE_USER: 'app_user', DATABASE_ENGINE: 'postgresql',
        }),
      },
    });
  });

  test('raises no skipped-check warning when every attribute is given', () => {
    expect(skippedWarnings(stack)).toEqual([]);
  });

  test('needs no DatabaseBootstrap for its user, which a database of this app would: the owning app creates the users', () => {
    expect(fn.databaseUser).toBe('app_user');
    expect(() => Template.fromStack(stack)).not.toThrow();
    const owned = new Stack(testApp(), 'Owned', { env: ENV });
    connect(owned, new ProxiedDatabase(owned, 'Database', { network: new DatabaseNetwork(owned, 'Network') }));
    expect(() => Template.fromStack(owned)).toThrow(/databaseUser 'app_user' is not declared by any DatabaseBootstrap of Owned\/Database/);
  });
});

describe('ingress and addressing options of an import', () => {
  test('adds the ingress rule on the imported security group, in the importing stack, when allowIngressFromFunctions is true', () => {
    const { stack, network, database } = importByAttributes({ allowIngressFromFunctions: true });
    connect(stack, database);
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: PROXY_SECURITY_GROUP,
      SourceSecurityGroupId: { 'Fn::GetAtt': [stack.getLogicalId(network.functionSecurityGroup.node.defaultChild as ec2.CfnSecurityGroup), 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
    });
  });

  test('connects to a MySQL-family proxy on 3306 and tells the runtime the engine', () => {
    const { stack, database } = importByAttributes({ engine: DatabaseEngine.auroraMysql() });
    connect(stack, database);
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { DestinationSecurityGroupId: PROXY_SECURITY_GROUP, FromPort: 3306, ToPort: 3306 });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ DATABASE_PORT: '3306', DATABASE_ENGINE: 'mysql' }) } });
  });

  test('builds the proxy ARN from proxyResourceId in the stack\'s account and Region', () => {
    const { database } = importByAttributes({ proxyArn: undefined, proxyResourceId: 'prx-0123456789abcdef0' });
    expect(database.proxyArn).toBe(PROXY_ARN);
  });

  test('uses the proxy name as the ProxyName dimension of the proxy metrics', () => {
    const { database } = importByAttributes();
    expect(database.metricProxyBorrowLatency().dimensions).toEqual({ ProxyName: 'orders' });
  });
});

describe('pool accounting of an import', () => {
  test('derives each function\'s reserved concurrency from poolSize', () => {
    const { stack, database } = importByAttributes({ poolSize: 40 }, accountLimit(1000));
    connect(stack, database, 'A');
    connect(stack, database, 'B');
    const reservations = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))
      .map(fn => JSON.stringify(fn.Properties.ReservedConcurrentExecutions));
    expect(reservations).toEqual([expect.stringContaining(',20,0]'), expect.stringContaining(',20,0]')]);
  });

  test('derives the pool from maxConnections and maxConnectionsPercent', () => {
    const { database } = importByAttributes({ poolSize: undefined, maxConnections: 189, maxConnectionsPercent: 50 });
    expect(database.poolSize).toBe(94);
  });

  test('throws when a function\'s reservation is above the pool', () => {
    const { stack, database } = importByAttributes({ poolSize: 10 });
    expect(() => connect(stack, database, 'Fn', { reservedConcurrentExecutions: 11 })).toThrow(
      'Importer/Fn/Function: reservedConcurrentExecutions (11) is above the 10 connections the proxy pool of Importer/Orders can serve: '
      + 'lower reservedConcurrentExecutions or raise the database capacity or maxConnectionsPercent');
  });

  test('throws when a function\'s timeout is not above the given borrow timeout', () => {
    const { stack, database } = importByAttributes({ borrowTimeout: Duration.seconds(10) });
    expect(() => connect(stack, database, 'Fn', { timeout: Duration.seconds(10) })).toThrow(
      'Importer/Fn/Function: timeout (10 s) must be above the proxy\'s borrowTimeout (10 s) of Importer/Orders: raise the function\'s timeout or lower borrowTimeout, '
      + 'so the function can answer when no pooled connection is free');
  });

  test('lets consumeQueue derive maxConcurrency from poolSize, and not without it', () => {
    const withPool = importByAttributes();
    connect(withPool.stack, withPool.database).consumeQueue(queueWithDeadLetters(withPool.stack));
    Template.fromStack(withPool.stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 40 } });

    const withoutPool = importByAttributes({ poolSize: undefined }, reportOnly);
    connect(withoutPool.stack, withoutPool.database).consumeQueue(queueWithDeadLetters(withoutPool.stack));
    expect(() => Template.fromStack(withoutPool.stack)).toThrow(/consumeQueue\(Importer\/Jobs\) cannot derive maxConcurrency/);
  });

  test('accepts a function timeout of 1 s when no borrow timeout is derived', () => {
    const { stack, database } = importByAttributes({ borrowTimeout: undefined });
    expect(() => connect(stack, database, 'Fn', { timeout: Duration.seconds(1) })).not.toThrow();
  });
});

describe('skipped-check warnings of an import', () => {
  const poolWarning = (because: string) => `${because}, so the proxy pool is unknown: connected functions derive no reserved concurrency, consumeQueue cannot derive maxConcurrency, `
    + 'and reservations are not checked against the pool; give poolSize (the share of the pool the owning team sized for this app)';

  test('warns that no reservation is derived without poolSize, and derives none', () => {
    const { stack, database } = importByAttributes({ poolSize: undefined }, accountLimit(1000));
    connect(stack, database);
    expect(skippedWarnings(stack)).toEqual([`${poolWarning('the import gives no poolSize, nor maxConnections with maxConnectionsPercent')} [ack: ${SKIPPED}]`]);
    const fn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0];
    expect(JSON.stringify(fn.Properties.ReservedConcurrentExecutions)).toContain('{"Ref":"AWS::NoValue"},0]');
  });

  test('warns when poolSize is a token', () => {
    const { stack } = importByAttributes({ poolSize: Token.asNumber(Lazy.number({ produce: () => 40 })) }, reportOnly);
    expect(skippedWarnings(stack)).toEqual([`${poolWarning('poolSize is a token')} [ack: ${SKIPPED}]`]);
  });

  test('warns that function timeouts are not checked without borrowTimeout', () => {
    const { stack } = importByAttributes({ borrowTimeout: undefined }, reportOnly);
    expect(skippedWarnings(stack)).toEqual([
      'no borrowTimeout is given, so the synth does not check that each connected function\'s timeout is above the proxy\'s borrow timeout; '
      + `give borrowTimeout as the proxy has it [ack: ${SKIPPED}]`]);
  });

  test('warns that the VPC is not compared when vpcId is a token', () => {
    const { stack } = importByAttributes({ vpcId: Lazy.string({ produce: () => VPC_ID }) }, reportOnly);
    expect(skippedWarnings(stack)).toEqual([
      'vpcId or the VPC id of Importer/Network is known only at deploy, so the synth does not check that the network is in the proxy\'s VPC '
      + `(a security group rule between VPCs that are not peered fails the deploy) [ack: ${SKIPPED}]`]);
  });

  test('a warning can be acknowledged on the import', () => {
    const { stack, database } = importByAttributes({ poolSize: undefined, borrowTimeout: undefined }, reportOnly);
    Validations.of(database).acknowledge({ id: SKIPPED, reason: 'the owning team sizes the pool for every app' });
    expect(skippedWarnings(stack)).toEqual([]);
  });
});

describe('validation of imported attributes', () => {
  test.each<[string, AttributeOverrides, string]>([
    ['neither proxyArn nor proxyResourceId', { proxyArn: undefined },
      'neither proxyArn nor proxyResourceId is given: give exactly one, the proxy\'s ARN (arn:aws:rds:<region>:<account>:db-proxy:prx-...) or its resource id (prx-..., the last part of the ARN)'],
    ['both proxyArn and proxyResourceId', { proxyResourceId: 'prx-0123456789abcdef0' },
      'both proxyArn and proxyResourceId are given: give exactly one, the proxy\'s ARN (arn:aws:rds:<region>:<account>:db-proxy:prx-...) or its resource id (prx-..., the last part of the ARN)'],
    ['a proxyArn that is not a proxy\'s', { proxyArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:orders' },
      'proxyArn (\'arn:aws:rds:eu-west-1:123456789012:cluster:orders\') is not the ARN of an RDS Proxy: use arn:aws:rds:<region>:<account>:db-proxy:prx-<id>, as the console or `aws rds describe-db-proxies` shows it'],
    ['a proxyArn in another Region', { proxyArn: 'arn:aws:rds:us-east-1:123456789012:db-proxy:prx-0123456789abcdef0' },
      'proxyArn is in Region us-east-1, but the stack Importer deploys to Region eu-west-1: the functions, their VPC placement and their rds-db:connect grant must be in the proxy\'s Region; deploy the importing stack to Region us-east-1'],
    ['a proxyArn in another account', { proxyArn: 'arn:aws:rds:eu-west-1:210987654321:db-proxy:prx-0123456789abcdef0' },
      'proxyArn is in account 210987654321, but the stack Importer deploys to account 123456789012: the functions, their VPC placement and their rds-db:connect grant must be in the proxy\'s account; deploy the importing stack to account 210987654321'],
    ['a proxyResourceId that is not one', { proxyArn: undefined, proxyResourceId: 'orders' },
      'proxyResourceId (\'orders\') is not valid: use the last part of the proxy\'s ARN, e.g. \'prx-0123456789abcdef0\''],
    ['a proxyName ending with a hyphen', { proxyName: 'orders-' },
      'proxyName (\'orders-\') is not valid: use the proxy\'s name as RDS shows it: a letter, then letters, digits and single hyphens, no hyphen at the end, at most 63 characters'],
    ['the database\'s endpoint instead of the proxy\'s', { endpoint: 'orders.cluster-c0ffee123abc.eu-west-1.rds.amazonaws.com' },
      'endpoint (\'orders.cluster-c0ffee123abc.eu-west-1.rds.amazonaws.com\') is not valid: functions must connect through the proxy, not to the database: use the proxy\'s endpoint, <name>.proxy-<id>.<region>.rds.amazonaws.com'],
    ['a security group name instead of its id', { proxySecurityGroupId: 'orders-proxy' },
      'proxySecurityGroupId (\'orders-proxy\') is not valid: use the id of the proxy\'s security group, e.g. \'sg-0123456789abcdef0\''],
    ['a malformed vpcId', { vpcId: 'orders-vpc' },
      'vpcId (\'orders-vpc\') is not valid: use the id of the proxy\'s VPC, e.g. \'vpc-0123456789abcdef0\''],
    ['a network in another VPC', { vpcId: 'vpc-0fedcba9876543210' },
      'vpcId (\'vpc-0fedcba9876543210\') is not the VPC of Importer/Network (\'vpc-0a1b2c3d4e5f60718\'): functions reach the proxy only from its own VPC; '
      + 'create the network with vpc: ec2.Vpc.fromLookup(this, \'Vpc\', { vpcId: \'vpc-0fedcba9876543210\' })'],
    ['a databaseName that is not an identifier', { databaseName: 'orders-db' },
      'databaseName (\'orders-db\') is not a valid database identifier: use 1 to 63 characters, a letter first, then letters, digits or underscores (e.g. \'app_user\')'],
    ['poolSize with maxConnections', { maxConnections: 189, maxConnectionsPercent: 50 },
      'poolSize is given together with maxConnections or maxConnectionsPercent: give either poolSize, or maxConnections with maxConnectionsPercent, from which the pool size follows'],
    ['maxConnections without maxConnectionsPercent', { poolSize: undefined, maxConnections: 189 },
      'maxConnections is given without maxConnectionsPercent: the pool size needs both (the proxy\'s MaxConnectionsPercent of the database\'s max_connections); give maxConnectionsPercent too, or give poolSize instead'],
    ['maxConnectionsPercent without maxConnections', { poolSize: undefined, maxConnectionsPercent: 50 },
      'maxConnectionsPercent is given without maxConnections: the pool size needs both (the proxy\'s MaxConnectionsPercent of the database\'s max_connections); give maxConnections too, or give poolSize instead'],
    ['a poolSize of 0', { poolSize: 0 }, 'poolSize (0) must be between 1 and 100000: set poolSize within that range'],
    ['a maxConnectionsPercent above 100', { poolSize: undefined, maxConnections: 189, maxConnectionsPercent: 101 },
      'maxConnectionsPercent (101) must be between 1 and 100: set maxConnectionsPercent within that range'],
    ['a pool of no connection', { poolSize: undefined, maxConnections: 10, maxConnectionsPercent: 5 },
      'maxConnections (10) with maxConnectionsPercent (5) leaves the proxy a pool of 0 connections: check both values on the proxy and the database'],
    ['a borrowTimeout above what RDS Proxy allows', { borrowTimeout: Duration.seconds(301) },
      'borrowTimeout (301 s) must be between 1 s and 300 s: set borrowTimeout within that range'],
  ])('throws on %s', (_name, overrides, message) => {
    expect(() => importByAttributes(overrides)).toThrow(`Importer/Orders: ${message}`);
  });

  test('throws naming the missing attributes when JavaScript leaves them out', () => {
    const { stack } = importingStack();
    expect(() => ProxiedDatabase.fromProxiedDatabaseAttributes(stack, 'Orders', {} as ProxiedDatabaseAttributes)).toThrow(
      'Importer/Orders: network, engine, endpoint, proxyName, proxySecurityGroupId, vpcId, databaseName are required but missing: pass '
      + 'network (the DatabaseNetwork of this app in the proxy\'s VPC), engine (the engine behind the proxy, e.g. DatabaseEngine.auroraPostgres()), '
      + 'endpoint (the proxy endpoint), proxyName (the name of the proxy), proxySecurityGroupId (the id of the proxy\'s security group), '
      + 'vpcId (the id of the proxy\'s VPC), databaseName (the name of the application database)');
  });

  test('accepts tokens for every attribute, checking none of them', () => {
    const token = (value: string) => Lazy.string({ produce: () => value });
    expect(() => importByAttributes({
      endpoint: token('not checked'), proxyName: token('-'), proxyArn: token('x'), proxySecurityGroupId: token('y'), databaseName: token('z'),
      poolSize: undefined, maxConnections: Token.asNumber(Lazy.number({ produce: () => 1 })), maxConnectionsPercent: Token.asNumber(Lazy.number({ produce: () => 1 })),
    })).not.toThrow();
  });

  test('throws when a function connects as a user name the engine does not allow', () => {
    const { database } = importByAttributes();
    expect(() => database.grantConnect(new iam.AccountRootPrincipal(), 'rdsadmin')).toThrow(/^Importer\/Orders: databaseUser \('rdsadmin'\) /);
  });
});

describe('constructs that need a database of this app', () => {
  test('DatabaseBootstrap refuses an imported database at synth', () => {
    const { stack, database } = importByAttributes();
    expect(() => new DatabaseBootstrap(stack, 'Bootstrap', { database: database as unknown as ProxiedDatabase })).toThrow(
      'Importer/Bootstrap: database (Importer/Orders) is not a ProxiedDatabase of this app: a bootstrap runs as the admin user on the writer endpoint, '
      + 'which an imported database does not offer; bootstrap the database in the app that owns it, with users for the functions of every app that imports it');
  });

  test('DatabaseFunction refuses an IProxiedDatabase that this library did not create', () => {
    const { stack, database } = importByAttributes();
    expect(() => connect(stack, { node: database.node, network: database.network, engine: database.engine } as unknown as IProxiedDatabase)).toThrow(
      'Importer/Fn: database (Importer/Orders) implements IProxiedDatabase outside this library, so the function cannot join its pool accounting: '
      + 'pass a ProxiedDatabase, or import the database with ProxiedDatabase.fromProxiedDatabaseAttributes or ProxiedDatabase.fromParameterStore');
  });

  test('DatabaseDashboard shows an imported database\'s proxy, not the database it does not own', () => {
    const { stack, database } = importByAttributes();
    new DatabaseDashboard(stack, 'Dashboard', { databases: [database] });
    const body = JSON.stringify(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
    expect(body).toContain('DatabaseConnectionsBorrowLatency');
    expect(body).toContain('Pool (40)');
    expect(body).not.toContain('CPUUtilization');
  });
});

describe('publishing a ProxiedDatabase to Parameter Store', () => {
  function publisher(app: App = testApp()) {
    const stack = new Stack(app, 'Publisher', { env: ENV });
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network });
    return { stack, network, database };
  }

  test('writes one String parameter per attribute under the path, with the values functions need', () => {
    const { stack, network, database } = publisher();
    database.publishAttributes('/Publisher/orders');
    const t = Template.fromStack(stack);
    const parameters = Object.values(t.findResources('AWS::SSM::Parameter')).map(parameter => parameter.Properties);
    const resolve = (value: string) => stack.resolve(value);
    expect(Object.fromEntries(parameters.map(p => [p.Name, p.Value]))).toEqual({
      '/Publisher/orders/endpoint': resolve(database.endpoint),
      '/Publisher/orders/proxy-name': resolve(database.proxyName),
      '/Publisher/orders/proxy-arn': resolve(database.proxyArn),
      '/Publisher/orders/proxy-security-group-id': resolve(database.connections.securityGroups[0].securityGroupId),
      '/Publisher/orders/vpc-id': resolve(network.vpc.vpcId),
      '/Publisher/orders/database-name': 'app',
    });
    expect(parameters.every(p => p.Type === 'String' && p.Tier === 'Standard')).toBe(true);
  });

  test('a path without the stack name is a finding of the deploy readiness pack: a second deployment of the stack would publish the same names', () => {
    const { stack, database } = publisher(testApp({ context: REPORT_ONLY }));
    database.publishAttributes('/orders');
    addChecks(stack.node.root as App);
    const reported = findings(synthWithChecks(stack.node.root as App)).filter(finding => finding.includes('PhysicalNameVariesWithStack'));
    expect(reported).toEqual(['endpoint', 'proxy-name', 'proxy-arn', 'proxy-security-group-id', 'vpc-id', 'database-name'].map(attribute =>
      `DeployReadiness: DeployReadiness-PhysicalNameVariesWithStack at Publisher/Database/PublishedAttributes/${attribute}/Resource`));
  });

  test('throws on a path Parameter Store cannot hold', () => {
    const { database } = publisher();
    expect(() => database.publishAttributes('orders/')).toThrow(
      'Publisher/Database: path (\'orders/\') must start with a slash and hold segments of letters, digits, \'.\', \'-\' or \'_\' separated by single slashes, with no trailing slash: for example \'/orders-service\'');
  });

  test('throws when published twice', () => {
    const { database } = publisher();
    database.publishAttributes('/Publisher/orders');
    expect(() => database.publishAttributes('/Publisher/orders-2')).toThrow(
      'Publisher/Database: publishAttributes(\'/Publisher/orders-2\') is called, but the attributes are already published at /Publisher/orders: publish them once, and import every app from that path');
  });

  test('allowProxyLogin lets the proxy log in as a user of another app, with end-to-end IAM authentication only', () => {
    const { stack, database } = publisher();
    database.allowProxyLogin('reports_user');
    const proxyPolicy = Object.values(Template.fromStack(stack).findResources('AWS::IAM::ManagedPolicy'))
      .find(policy => JSON.stringify(policy.Properties.Roles ?? []).includes(stack.getLogicalId(database.proxyRole.node.defaultChild as iam.CfnRole)));
    expect(JSON.stringify(proxyPolicy)).toContain('/reports_user"');

    const secretsStack = new Stack(testApp(), 'Secrets');
    const secrets = new ProxiedDatabase(secretsStack, 'Database', { network: new DatabaseNetwork(secretsStack, 'Network'), defaultAuthScheme: rds.DefaultAuthScheme.NONE });
    secrets.allowProxyLogin('reports_user');
    expect(JSON.stringify(Template.fromStack(secretsStack).toJSON())).not.toContain('reports_user');
  });
});

describe('a database imported from Parameter Store', () => {
  function importFromParameterStore(app: App = testApp(reportOnly), options: Partial<ProxiedDatabaseParameterStoreOptions> = {}) {
    const stack = new Stack(app, 'Importer', { env: ENV });
    const network = importingNetwork(stack);
    const database = ProxiedDatabase.fromParameterStore(stack, 'Orders', {
      path: '/Publisher/orders', network, engine: DatabaseEngine.auroraPostgres(), poolSize: 40, borrowTimeout: Duration.seconds(5), ...options,
    });
    return { stack, network, database };
  }

  test('reads each attribute with a stack parameter that CloudFormation resolves from Parameter Store at every deploy', () => {
    const { stack, database } = importFromParameterStore();
    connect(stack, database);
    const t = Template.fromStack(stack);
    const parameters = t.toJSON().Parameters;
    const published = Object.entries(parameters).filter(([, p]: [string, any]) => p.Type === 'AWS::SSM::Parameter::Value<String>' && String(p.Default).startsWith('/Publisher/orders/'));
    expect(published.map(([, p]: [string, any]) => p.Default).sort()).toEqual([
      '/Publisher/orders/database-name', '/Publisher/orders/endpoint', '/Publisher/orders/proxy-arn', '/Publisher/orders/proxy-security-group-id']);
    const ref = (attribute: string) => ({ Ref: published.find(([, p]: [string, any]) => p.Default === `/Publisher/orders/${attribute}`)![0] });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DATABASE_HOST: ref('endpoint'), DATABASE_NAME: ref('database-name'), DATABASE_PORT: '5432' }) },
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { DestinationSecurityGroupId: ref('proxy-security-group-id'), FromPort: 5432 });
    t.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    const grant = JSON.stringify(Object.values(t.findResources('AWS::IAM::ManagedPolicy')).map(policy => policy.Properties.PolicyDocument));
    expect(grant).toContain(`{"Fn::Select":[6,{"Fn::Split":[":",${JSON.stringify(ref('proxy-arn'))}]}]},"/app_user"`);
  });

  test('reads the proxy name only when a metric needs it, so no stack parameter goes unused', () => {
    const readsProxyName = (stack: Stack) => Object.values(Template.fromStack(stack).toJSON().Parameters).some((p: any) => p.Default === '/Publisher/orders/proxy-name');
    const withoutMetrics = importFromParameterStore();
    connect(withoutMetrics.stack, withoutMetrics.database);
    expect(readsProxyName(withoutMetrics.stack)).toBe(false);
    const withDashboard = importFromParameterStore();
    new DatabaseDashboard(withDashboard.stack, 'Dashboard', { databases: [withDashboard.database] });
    expect(readsProxyName(withDashboard.stack)).toBe(true);
  });

  test('adds the ingress rule on the published security group when allowed', () => {
    const { stack, database } = importFromParameterStore(testApp(reportOnly), { allowIngressFromFunctions: true });
    connect(stack, database);
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: { Ref: Match.stringLikeRegexp('ProxySecurityGroupId') }, FromPort: 5432 });
  });

  test('warns that the network\'s VPC cannot be compared with the published one at synth', () => {
    const { stack, database } = importFromParameterStore(testApp(reportOnly));
    connect(stack, database);
    expect(skippedWarnings(stack)).toEqual([
      'the VPC id published at /Publisher/orders/vpc-id is known only at deploy, so the synth does not check that the network is in the proxy\'s VPC '
      + `(a security group rule between VPCs that are not peered fails the deploy) [ack: ${SKIPPED}]`]);
  });

  test('deploys after a publisher of the path in the same app, whichever is defined first', () => {
    const first = testApp();
    new Stack(first, 'Publisher', { env: ENV });
    const published = new ProxiedDatabase(first.node.findChild('Publisher') as Stack, 'Database', {
      network: new DatabaseNetwork(first.node.findChild('Publisher') as Stack, 'Network'),
    });
    published.publishAttributes('/Publisher/orders');
    const { stack: after } = importFromParameterStore(first);
    expect(after.dependencies.map(s => s.stackName)).toEqual(['Publisher']);

    const second = testApp();
    const { stack: before } = importFromParameterStore(second);
    const publisherStack = new Stack(second, 'Publisher', { env: ENV });
    new ProxiedDatabase(publisherStack, 'Database', { network: new DatabaseNetwork(publisherStack, 'Network') }).publishAttributes('/Publisher/orders');
    expect(before.dependencies.map(s => s.stackName)).toEqual(['Publisher']);
  });

  test('throws on a path that is a token', () => {
    expect(() => importFromParameterStore(testApp(), { path: Lazy.string({ produce: () => '/Publisher/orders' }) })).toThrow(
      'Importer/Orders: path must be a value known at synth, not a token: it decides the names of the parameters CloudFormation reads; pass a literal');
  });

  test('throws on a path under a prefix AWS reserves', () => {
    expect(() => importFromParameterStore(testApp(), { path: '/aws/orders' })).toThrow(
      'Importer/Orders: path (\'/aws/orders\') starts with a prefix that AWS reserves (aws or ssm): choose a path named after your app');
  });
});

describe('compliance of importing apps', () => {
  /**
   * The owning team's stack, written with aws-cdk-lib alone: an Aurora
   * PostgreSQL cluster behind rds.DatabaseProxy with IAM authentication and TLS.
   */
  function awsCdkLibOwner(app: App): rds.DatabaseProxy {
    const stack = new Stack(app, 'Owner', { env: ENV });
    const network = new DatabaseNetwork(stack, 'Network');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsServices', effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions: ['kms:CreateGrant'], resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }));
    const cluster = new rds.DatabaseCluster(stack, 'Cluster', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_6 }),
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      serverlessV2MinCapacity: 0.5,
      serverlessV2MaxCapacity: 4,
      vpc: network.vpc,
      vpcSubnets: network.databaseSubnets,
      port: 5432,
      credentials: rds.Credentials.fromGeneratedSecret('orders_admin', { encryptionKey: key }),
      storageEncryptionKey: key,
      iamAuthentication: true,
      deletionProtection: true,
      backup: { retention: Duration.days(7) },
      cloudwatchLogsExports: ['postgresql'],
      monitoringInterval: Duration.seconds(60),
      parameters: { 'rds.force_ssl': '1' },
    });
    Validations.of(cluster).acknowledge(
      ...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].flatMap(pack => ['EC2RestrictedCommonPorts', 'EC2RestrictedSSH'].map(rule => ({
        id: `${pack}::${pack}-${rule}`,
        reason: 'Fixture of the owning team\'s stack: aws-cdk-lib opens the cluster port (Fn::GetAtt Endpoint.Port, which the rule cannot read) to the proxy\'s security group only.',
      }))),
      { id: 'AwsSolutions::AwsSolutions-SMG4', reason: 'Fixture of the owning team\'s stack: its admin secret rotation is out of scope of the import under test.' },
      { id: 'HIPAA.Security::HIPAA.Security-SecretsManagerRotationEnabled', reason: 'Fixture of the owning team\'s stack: as AwsSolutions-SMG4.' },
      { id: 'NIST.800.53.R5::NIST.800.53.R5-SecretsManagerRotationEnabled', reason: 'Fixture of the owning team\'s stack: as AwsSolutions-SMG4.' },
      { id: 'HIPAA.Security::HIPAA.Security-RDSInBackupPlan', reason: 'Fixture of the owning team\'s stack: automated backups (7 days) only.' },
      { id: 'NIST.800.53.R5::NIST.800.53.R5-RDSInBackupPlan', reason: 'Fixture of the owning team\'s stack: automated backups (7 days) only.' },
      { id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
        reason: 'Fixture of the owning team\'s stack: aws-cdk-lib\'s enhanced monitoring role.' },
    );
    const proxy = cluster.addProxy('Proxy', {
      secrets: [cluster.secret!], vpc: network.vpc, vpcSubnets: network.databaseSubnets, iamAuth: true, requireTLS: true,
      maxConnectionsPercent: 70, borrowTimeout: Duration.seconds(5),
    });
    Validations.of(proxy).acknowledge(...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].map(pack => ({
      id: `${pack}::${pack}-IAMNoInlinePolicy`, reason: 'Fixture of the owning team\'s stack: aws-cdk-lib writes the proxy role\'s secret grant inline.',
    })));
    return proxy;
  }

  test('an aws-cdk-lib DatabaseProxy imported by attributes into another stack: zero unacknowledged findings from every pack', () => {
    const app = testApp({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
    const proxy = awsCdkLibOwner(app);
    const stack = new Stack(app, 'Importer', { env: ENV });
    const alarms = { topic: new AlarmTopic(stack, 'Alarms').topic };
    const network = importingNetwork(stack);
    const database = ProxiedDatabase.fromProxiedDatabaseAttributes(stack, 'Orders', {
      ...attributes(network), endpoint: ENDPOINT, proxyName: 'orders', proxyArn: PROXY_ARN, allowIngressFromFunctions: true,
    });
    new DatabaseFunction(stack, 'Fn', { database, databaseUser: 'app_user', entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, alarms });
    expect(proxy.node.path).toBe('Owner/Cluster/Proxy');
    addChecks(app);
    const reports = synthWithChecks(app);
    expect(findings(reports)).toEqual([]);
    expect(staleAcknowledgements(app, reports)).toEqual([]);
  });

  test('a ProxiedDatabase published to Parameter Store and imported from it by another stack: zero unacknowledged findings from every pack', () => {
    const app = testApp({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
    const owner = new Stack(app, 'Publisher', { env: ENV });
    const ownerAlarms = { topic: new AlarmTopic(owner, 'Alarms').topic };
    const published = new ProxiedDatabase(owner, 'Database', { network: new DatabaseNetwork(owner, 'Network'), alarms: ownerAlarms });
    published.publishAttributes(`/${owner.stackName}/orders`);
    published.allowProxyLogin('app_user');

    const stack = new Stack(app, 'Importer', { env: ENV });
    const alarms = { topic: new AlarmTopic(stack, 'Alarms').topic };
    const database = ProxiedDatabase.fromParameterStore(stack, 'Orders', {
      path: `/${owner.stackName}/orders`, network: importingNetwork(stack), engine: DatabaseEngine.auroraPostgres(), poolSize: 40, borrowTimeout: Duration.seconds(5),
    });
    Validations.of(database).acknowledge({ id: SKIPPED, reason: 'The importing network is created in the VPC the owning team names in its handover.' });
    new DatabaseFunction(stack, 'Fn', { database, databaseUser: 'app_user', entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, alarms });
    addChecks(app);
    const reports = synthWithChecks(app);
    expect(findings(reports)).toEqual([]);
    expect(staleAcknowledgements(app, reports)).toEqual([]);
  });
});
