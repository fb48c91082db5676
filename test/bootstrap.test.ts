import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CfnParameter, CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { IConstruct } from 'constructs';
import {
  AlarmTopic, AppParameters, DatabaseBootstrap, DatabaseBootstrapProps, DatabaseEngine, DatabaseFunction, DatabaseNetwork, DatabasePrivileges,
  DatabaseUser, ProxiedDatabase, ProxiedDatabaseProps,
} from '../lib';
import { addChecks } from '../bin/checks';
import { foreignManagedPolicyArns, HANDLER_ENTRY, LOCK_FILE, PROJECT_ROOT, resourcePermissions, template, testApp, testStack } from './support/app';
import { findings, staleAcknowledgements, synthWithChecks } from './support/checks';

type DatabaseOptions = Omit<ProxiedDatabaseProps, 'network'>;
type BootstrapOptions = Omit<DatabaseBootstrapProps, 'database'>;

const FIXTURES_ROOT = path.join(PROJECT_ROOT, '.tmp');
const fixtures: string[] = [];

/** A temporary migrations folder holding `files` (name → SQL), removed after the file's tests. */
function migrationsFolder(files: { [name: string]: string }): string {
  fs.mkdirSync(FIXTURES_ROOT, { recursive: true });
  const folder = fs.mkdtempSync(path.join(FIXTURES_ROOT, 'migrations-'));
  fixtures.push(folder);
  for (const [name, sql] of Object.entries(files)) {
    fs.writeFileSync(path.join(folder, name), sql);
  }
  return folder;
}

afterAll(() => {
  for (const folder of fixtures) {
    fs.rmSync(folder, { recursive: true, force: true });
  }
});

const CREATE_ITEMS = 'CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);\n';
const ADD_PRICE = 'ALTER TABLE items ADD COLUMN price numeric;\n';

function setup(databaseOptions: DatabaseOptions = {}, stack: Stack = testStack()) {
  const network = new DatabaseNetwork(stack, 'Network');
  const database = new ProxiedDatabase(stack, 'Database', { network, ...databaseOptions });
  const bootstrap = (options: BootstrapOptions) => new DatabaseBootstrap(stack, 'Bootstrap', { database, ...options });
  return { stack, network, database, bootstrap };
}

const logicalId = (stack: Stack, construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnResource);

function resourceOf(t: Template, stack: Stack, construct: IConstruct): { [key: string]: any } {
  return t.toJSON().Resources[logicalId(stack, construct)];
}

/** The statements of the policies attached to `roleId`. */
function statementsOfRole(t: Template, roleId: string): Array<{ [key: string]: any }> {
  return Object.values(t.findResources('AWS::IAM::ManagedPolicy', { Properties: { Roles: [{ Ref: roleId }] } }))
    .flatMap(policy => policy.Properties.PolicyDocument.Statement);
}

const WITH_SECRETS: DatabaseOptions = { defaultAuthScheme: rds.DefaultAuthScheme.NONE };

/** A VPC the network does not own, with isolated subnets only. */
const isolatedVpc = (stack: Stack) => new ec2.Vpc(stack, 'Existing', {
  maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
});

describe('DatabaseBootstrap with users and migrations (proxy authenticates with secrets)', () => {
  const migrations = migrationsFolder({ '0001_create_items.sql': CREATE_ITEMS, '0002_add_price.sql': ADD_PRICE });
  const { stack, database, bootstrap } = setup(WITH_SECRETS);
  const bootstrapped = bootstrap({
    migrationsPath: migrations,
    users: [{ name: 'app_user', privileges: DatabasePrivileges.READ_WRITE }, { name: 'reporting' }],
  });
  const t = template(stack);
  const resource = resourceOf(t, stack, bootstrapped.resource);
  const userSecretId = (name: string) => logicalId(stack, bootstrapped.userSecrets[name]);

  test('creates a Custom::DatabaseBootstrap that connects to the writer as the admin user', () => {
    expect(resource.Type).toBe('Custom::DatabaseBootstrap');
    expect(resource.Properties).toMatchObject({
      Engine: 'postgresql',
      Host: { 'Fn::GetAtt': [stack.getLogicalId(database.cluster!.node.defaultChild as rds.CfnDBCluster), 'Endpoint.Address'] },
      Port: '5433',
      DatabaseName: 'app',
      AdminSecretArn: stack.resolve(database.adminSecret.secretArn),
    });
    expect(stack.resolve(database.writerEndpoint)).toEqual(resource.Properties.Host);
  });

  test('passes each user with its privileges (READ_ONLY by default) and the secret the proxy uses for it', () => {
    expect(resource.Properties.Users).toEqual([
      { Name: 'app_user', Privileges: 'READ_WRITE', Authentication: 'SECRET', SecretArn: stack.resolve(bootstrapped.userSecrets.app_user.secretArn) },
      { Name: 'reporting', Privileges: 'READ_ONLY', Authentication: 'SECRET', SecretArn: stack.resolve(bootstrapped.userSecrets.reporting.secretArn) },
    ]);
  });

  test('passes the migrations in version order with their SHA-256 checksums', () => {
    const sha256 = (sql: string) => createHash('sha256').update(sql).digest('hex');
    expect(resource.Properties.Migrations).toEqual([
      { Version: '0001', Name: '0001_create_items.sql', Checksum: sha256(CREATE_ITEMS), Sql: CREATE_ITEMS },
      { Version: '0002', Name: '0002_add_price.sql', Checksum: sha256(ADD_PRICE), Sql: ADD_PRICE },
    ]);
    expect(bootstrapped.migrations).toEqual(['0001_create_items.sql', '0002_add_price.sql']);
  });

  test('runs after the cluster and its writer exist', () => {
    const cluster = database.cluster!;
    expect(resource.DependsOn).toEqual(expect.arrayContaining([
      stack.getLogicalId(cluster.node.defaultChild as rds.CfnDBCluster),
      stack.getLogicalId(cluster.node.findChild('Writer').node.defaultChild as rds.CfnDBInstance),
    ]));
  });

  test('the proxy readiness check waits for the bootstrap', () => {
    const readiness = resourceOf(t, stack, database.proxyReadiness!);
    expect(readiness.DependsOn).toContain(logicalId(stack, bootstrapped.resource));
  });

  test('the handler runs Node.js 24 on arm64 in the database subnets with the rotation security group, trusting the RDS CAs', () => {
    const handler = resourceOf(t, stack, bootstrapped.handler);
    expect(handler.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 300,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.stringMatching(/^CdkServerlessRdsCustomResourcesBootstrapBootstrapHandlerLogGroup/) } },
      Environment: { Variables: { NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' } },
      VpcConfig: {
        SecurityGroupIds: [stack.resolve(database.rotationSecurityGroup.securityGroupId)],
        SubnetIds: database.network.vpc.selectSubnets(database.network.databaseSubnets).subnetIds.map(id => stack.resolve(id)),
      },
    });
    expect(handler.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('the handler may read the admin and user secrets and decrypt them through Secrets Manager only', () => {
    const roleId = stack.getLogicalId(bootstrapped.handler.role!.node.defaultChild as iam.CfnRole);
    const read = statementsOfRole(t, roleId).filter(s => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(read).toEqual([{
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      Effect: 'Allow',
      Resource: expect.arrayContaining([
        stack.resolve(database.adminSecret.secretArn), { Ref: userSecretId('app_user') }, { Ref: userSecretId('reporting') },
      ]),
    }]);
    expect(read[0].Resource).toHaveLength(3);
    t.hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('storage, snapshots and secrets'),
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: 'kms:Decrypt',
          Condition: { StringEquals: { 'kms:ViaService': Match.anyValue() } },
          Principal: { AWS: Match.arrayWith([{ 'Fn::GetAtt': [roleId, 'Arn'] }]) },
        })]),
      },
    });
  });

  test('the bootstrap and the rotation function reach the database through one rule, from the rotation security group', () => {
    const ingress = t.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: stack.resolve(database.databaseSecurityGroup.securityGroupId) },
    });
    expect(Object.values(ingress).map(rule => rule.Properties.SourceSecurityGroupId)).toEqual([
      stack.resolve(database.proxy.connections.securityGroups[0].securityGroupId),
      stack.resolve(database.rotationSecurityGroup.securityGroupId),
    ]);
  });

  test('the stack\'s one custom resource function answers the bootstrap and the readiness check, and relays the bootstrap to its handler, which sits among the stack\'s deploy-time functions', () => {
    expect(bootstrapped.handler.node.path).toBe('Test/CdkServerlessRdsCustomResources/Bootstrap-Bootstrap/Handler');
    const customResourceFunctions = Object.keys(t.findResources('AWS::Lambda::Function')).filter(id => id.startsWith('CdkServerlessRdsCustomResourcesHandler'));
    expect(customResourceFunctions).toHaveLength(1);
    const serviceToken = { 'Fn::GetAtt': [customResourceFunctions[0], 'Arn'] };
    expect(resource.Properties.ServiceToken).toEqual(serviceToken);
    expect(resource.Properties.HandlerArn).toEqual({ 'Fn::GetAtt': [logicalId(stack, bootstrapped.handler), 'Arn'] });
    expect(resourceOf(t, stack, database.proxyReadiness!).Properties.ServiceToken).toEqual(serviceToken);
    // No provider framework: its function, role and log group are gone with it.
    expect(Object.keys(t.toJSON().Resources).filter(id => id.startsWith('BootstrapBootstrapProvider'))).toEqual([]);
  });

  test('the custom resource function may invoke only the handler itself, not its versions, through a role of the bootstrap that it comes after; no role has an AWS managed policy', () => {
    const handlerArn = { 'Fn::GetAtt': [logicalId(stack, bootstrapped.handler), 'Arn'] };
    const invoking = Object.values(t.findResources('AWS::IAM::ManagedPolicy'))
      .filter(policy => policy.Properties.PolicyDocument.Statement.some((statement: any) => [statement.Action].flat().some((action: string) => action.startsWith('lambda:Invoke'))));
    const permissions = resourcePermissions(t, resource as any);
    expect(invoking.map(policy => policy.Properties.Roles)).toEqual([[{ Ref: permissions.roleId }]]);
    expect(permissions.statements).toEqual([{ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: handlerArn }]);
    expect(permissions.trust).toEqual([{
      Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: { 'Fn::GetAtt': [expect.stringMatching(/^CdkServerlessRdsCustomResourcesHandlerRole/), 'Arn'] } },
    }]);
    expect(resource.DependsOn).toEqual(expect.arrayContaining([permissions.roleId, ...permissions.policyIds]));
    expect(foreignManagedPolicyArns(t)).toEqual([]);
  });

  test('handler and rotation function log to encrypted log groups kept as long as the network\'s', () => {
    const logGroups = Object.entries(t.findResources('AWS::Logs::LogGroup'))
      .filter(([id]) => id.startsWith('BootstrapSecretRotation') || id.startsWith('CdkServerlessRdsCustomResourcesBootstrapBootstrap'));
    expect(logGroups).toHaveLength(2);
    for (const [, logGroup] of logGroups) {
      expect(logGroup.Properties).toEqual({ KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^NetworkLogKey/), 'Arn'] }, RetentionInDays: 365 });
    }
  });

  test('each user gets a generated secret encrypted with the database key, kept with the database\'s snapshot', () => {
    t.hasResource('AWS::SecretsManager::Secret', {
      Properties: {
        Description: 'Password of database user app_user in Test/Database, used by its RDS Proxy',
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseKey'), 'Arn'] },
        GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"app_user"}', GenerateStringKey: 'password', PasswordLength: 30 }),
        Name: Match.absent(),
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    t.resourceCountIs('AWS::SecretsManager::Secret', 2);
    t.resourceCountIs('AWS::SecretsManager::SecretTargetAttachment', 0);
    expect(Object.keys(bootstrapped.userSecrets).sort()).toEqual(['app_user', 'reporting']);
  });

  test('each user secret rotates every 30 days with the library\'s rotation function, first one interval after the bootstrap ran', () => {
    const handlerArn = { 'Fn::GetAtt': [logicalId(stack, bootstrapped.rotationHandler!), 'Arn'] };
    const schedules = Object.values(t.findResources('AWS::SecretsManager::RotationSchedule'));
    expect(schedules.map(schedule => schedule.Properties)).toEqual(['app_user', 'reporting'].map(name => ({
      SecretId: { Ref: userSecretId(name) },
      RotationLambdaARN: handlerArn,
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      RotateImmediatelyOnUpdate: false,
    })));
    for (const schedule of schedules) {
      expect(schedule.DependsOn).toEqual(expect.arrayContaining([logicalId(stack, bootstrapped.resource), logicalId(stack, bootstrapped.rotationHandler!)]));
    }
  });

  test('the rotation function runs in the bootstrap\'s placement with the database\'s location, never a password, in its environment', () => {
    const handler = resourceOf(t, stack, bootstrapped.rotationHandler!);
    expect(handler.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 60,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.stringMatching(/^BootstrapSecretRotationHandlerLogGroup/) } },
      Environment: {
        Variables: {
          NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
          DATABASE_ENGINE: 'postgresql',
          DATABASE_HOST: stack.resolve(database.writerEndpoint),
          DATABASE_PORT: '5433',
          DATABASE_NAME: 'app',
          CREDENTIAL_LENGTH: '30',
          CREDENTIAL_EXCLUDE_CHARACTERS: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\',
        },
      },
      VpcConfig: {
        SecurityGroupIds: [stack.resolve(database.rotationSecurityGroup.securityGroupId)],
        SubnetIds: database.network.vpc.selectSubnets(database.network.databaseSubnets).subnetIds.map(id => stack.resolve(id)),
      },
    });
    expect(handler.Properties.ReservedConcurrentExecutions).toBeUndefined();
    const logGroup = t.toJSON().Resources[handler.Properties.LoggingConfig.LogGroup.Ref];
    expect(logGroup.Properties).toEqual({ KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^NetworkLogKey/), 'Arn'] }, RetentionInDays: 365 });
  });

  test('the rotation role may touch exactly the users\' secrets and their key through Secrets Manager; Secrets Manager of this account may invoke it', () => {
    const roleId = stack.getLogicalId(bootstrapped.rotationHandler!.role!.node.defaultChild as iam.CfnRole);
    const statements = statementsOfRole(t, roleId).filter(s => [s.Action].flat().some((action: string) => !action.startsWith('ec2:') && !action.startsWith('logs:')));
    expect(statements).toEqual([
      {
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        Effect: 'Allow',
        Resource: [{ Ref: userSecretId('app_user') }, { Ref: userSecretId('reporting') }],
      },
      // GetRandomPassword has no resource; X-Ray and the ENI actions come from the stack's shared policies.
      { Action: 'secretsmanager:GetRandomPassword', Effect: 'Allow', Resource: '*' },
      {
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseKey/), 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
      },
    ]);
    t.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [logicalId(stack, bootstrapped.rotationHandler!), 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });

  test('no nested application, nested stack, transform or AWS managed policy', () => {
    t.resourceCountIs('AWS::Serverless::Application', 0);
    t.resourceCountIs('AWS::CloudFormation::Stack', 0);
    expect(t.toJSON().Transform).toBeUndefined();
    expect(foreignManagedPolicyArns(t)).toEqual([]);
  });

  test('the proxy authenticates with each user secret too, and its role may read them', () => {
    const auth = (secretArn: unknown) => ({ AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED', SecretArn: secretArn });
    t.hasResourceProperties('AWS::RDS::DBProxy', {
      Auth: [auth(stack.resolve(database.adminSecret.secretArn)), auth({ Ref: userSecretId('app_user') }), auth({ Ref: userSecretId('reporting') })],
    });
    const proxyRead = statementsOfRole(t, stack.getLogicalId(database.proxyRole.node.defaultChild as iam.CfnRole))
      .find(s => [s.Action].flat().includes('secretsmanager:GetSecretValue'))!;
    expect(proxyRead.Resource).toEqual(expect.arrayContaining([{ Ref: userSecretId('app_user') }, { Ref: userSecretId('reporting') }]));
  });
});

describe('DatabaseBootstrap options', () => {
  test('end-to-end IAM (the default): users authenticate with IAM, without secrets, rotation or proxy auth entries', () => {
    const { stack, bootstrap } = setup();
    const bootstrapped = bootstrap({ users: [{ name: 'app_user', privileges: DatabasePrivileges.READ_WRITE }] });
    const t = template(stack);
    expect(resourceOf(t, stack, bootstrapped.resource).Properties.Users).toEqual([{ Name: 'app_user', Privileges: 'READ_WRITE', Authentication: 'IAM' }]);
    expect(bootstrapped.userSecrets).toEqual({});
    expect(bootstrapped.rotationHandler).toBeUndefined();
    t.resourceCountIs('AWS::SecretsManager::Secret', 0);
    t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    t.hasResourceProperties('AWS::RDS::DBProxy', { DefaultAuthScheme: 'IAM_AUTH', Auth: Match.absent() });
  });

  test('Aurora MySQL: MySQL engine and port for the bootstrap and the rotation function', () => {
    const { stack, bootstrap } = setup({ ...WITH_SECRETS, engine: DatabaseEngine.auroraMysql() });
    const bootstrapped = bootstrap({ users: [{ name: 'app_user' }] });
    const t = template(stack);
    expect(resourceOf(t, stack, bootstrapped.resource).Properties).toMatchObject({ Engine: 'mysql', Port: '3307' });
    expect(resourceOf(t, stack, bootstrapped.rotationHandler!).Properties.Environment.Variables).toMatchObject({ DATABASE_ENGINE: 'mysql', DATABASE_PORT: '3307' });
  });

  test('RDS for PostgreSQL: the bootstrap and the rotation function connect to the instance endpoint', () => {
    const { stack, database, bootstrap } = setup({ ...WITH_SECRETS, engine: DatabaseEngine.postgres() });
    const bootstrapped = bootstrap({ users: [{ name: 'app_user' }] });
    const t = template(stack);
    const instanceId = stack.getLogicalId(database.instance!.node.defaultChild as rds.CfnDBInstance);
    const resource = resourceOf(t, stack, bootstrapped.resource);
    expect(resource.Properties.Host).toEqual({ 'Fn::GetAtt': [instanceId, 'Endpoint.Address'] });
    expect(resource.DependsOn).toContain(instanceId);
    expect(resourceOf(t, stack, bootstrapped.rotationHandler!).Properties.Environment.Variables.DATABASE_HOST).toEqual({ 'Fn::GetAtt': [instanceId, 'Endpoint.Address'] });
  });

  test.each([
    [RemovalPolicy.SNAPSHOT, 'Retain'],
    [RemovalPolicy.RETAIN, 'Retain'],
    [RemovalPolicy.DESTROY, 'Delete'],
  ])('the users\' secrets follow the database\'s removal policy %s: DeletionPolicy %s', (removalPolicy, deletionPolicy) => {
    const { stack, bootstrap } = setup({ ...WITH_SECRETS, removalPolicy }, testStack({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } }));
    bootstrap({ users: [{ name: 'app_user' }] });
    template(stack).hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: deletionPolicy, UpdateReplacePolicy: deletionPolicy });
  });

  test('migrations only: no users, no user secrets', () => {
    const { stack, bootstrap } = setup(WITH_SECRETS);
    const bootstrapped = bootstrap({ migrationsPath: migrationsFolder({ '0001_init.sql': CREATE_ITEMS }) });
    const t = template(stack);
    expect(resourceOf(t, stack, bootstrapped.resource).Properties.Users).toEqual([]);
    t.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(bootstrapped.rotationHandler).toBeUndefined();
  });

  test('users only: no migrations', () => {
    const { stack, bootstrap } = setup();
    const bootstrapped = bootstrap({ users: [{ name: 'app_user' }] });
    expect(resourceOf(template(stack), stack, bootstrapped.resource).Properties.Migrations).toEqual([]);
    expect(bootstrapped.migrations).toEqual([]);
  });

  test('timeout and secret rotation interval are configurable', () => {
    const { stack, bootstrap } = setup(WITH_SECRETS);
    const bootstrapped = bootstrap({ users: [{ name: 'app_user' }], timeout: Duration.minutes(10), secretRotationInterval: Duration.days(7) });
    const t = template(stack);
    expect(resourceOf(t, stack, bootstrapped.handler).Properties.Timeout).toBe(600);
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: Match.stringLikeRegexp('^BootstrapUserSecretappuser') },
      RotationRules: { ScheduleExpression: 'rate(7 days)' },
    });
  });

  test('without the proxy readiness check the bootstrap still deploys', () => {
    const { stack, database, bootstrap } = setup({ waitForProxyTargets: false });
    bootstrap({ users: [{ name: 'app_user' }] });
    const t = template(stack);
    expect(database.proxyReadiness).toBeUndefined();
    t.resourceCountIs('Custom::DatabaseBootstrap', 1);
    t.resourceCountIs('Custom::ProxyTargetsAvailable', 0);
  });

  test('its handler and the rotation function share one placement without ENI-sharing warnings', () => {
    const { stack, bootstrap } = setup(WITH_SECRETS, testStack({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } }));
    bootstrap({ users: [{ name: 'app_user' }] });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('Hyperplane ENI'));
  });

  test('warns when the bootstrap cannot reach Secrets Manager: an existing VPC without a declared endpoint', () => {
    const stack = testStack({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
    const network = new DatabaseNetwork(stack, 'Network', { vpc: isolatedVpc(stack) });
    const database = new ProxiedDatabase(stack, 'Database', { network });
    new DatabaseBootstrap(stack, 'Bootstrap', { database, users: [{ name: 'app_user' }] });
    const message = 'The bootstrap (and the rotation of the users\' secrets) calls Secrets Manager from the database subnets, but Test/Network has no '
      + 'Secrets Manager endpoint it may use: declare the VPC\'s endpoint in the network\'s existingInterfaceEndpoints, or list '
      + 'ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER in its interfaceEndpoints to create one; acknowledge '
      + '\'cdk-serverless-rds:SecretsUnreachable\' if the database\'s rotationSecurityGroup reaches Secrets Manager another way.';
    Annotations.fromStack(stack).hasWarning('/Test/Bootstrap', Match.stringLikeRegexp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    Annotations.fromStack(stack).hasNoWarning('/Test/Database', Match.stringLikeRegexp('Secrets Manager'));
  });

  test('the bootstrap and rotation security group reaches the Secrets Manager endpoint an existing VPC declares', () => {
    const stack = testStack({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
    const vpc = isolatedVpc(stack);
    const endpointGroup = new ec2.SecurityGroup(stack, 'EndpointGroup', { vpc, allowAllOutbound: false });
    const endpoint = ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(stack, 'SecretsManager', {
      vpcEndpointId: 'vpce-0123456789abcdef0', port: 443, securityGroups: [endpointGroup],
    });
    const network = new DatabaseNetwork(stack, 'Network', {
      vpc,
      existingInterfaceEndpoints: [{ service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, endpoint }],
    });
    const database = new ProxiedDatabase(stack, 'Database', { network, defaultAuthScheme: rds.DefaultAuthScheme.NONE });
    new DatabaseBootstrap(stack, 'Bootstrap', { database, users: [{ name: 'app_user' }] });
    Annotations.fromStack(stack).hasNoWarning('/Test/Bootstrap', Match.stringLikeRegexp('Secrets Manager endpoint'));
    template(stack).hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: stack.resolve(database.rotationSecurityGroup.securityGroupId), FromPort: 443, ToPort: 443,
      DestinationSecurityGroupId: stack.resolve(endpointGroup.securityGroupId),
    });
  });

  test('a database without a bootstrap needs no Secrets Manager endpoint: RDS rotates the admin password itself', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    new ProxiedDatabase(stack, 'Database', { network });
    const services = Object.values(template(stack).findResources('AWS::EC2::VPCEndpoint')).map(endpoint => JSON.stringify(endpoint.Properties.ServiceName));
    expect(services.filter(service => service.includes('secretsmanager'))).toEqual([]);
  });

  test('accepts a token for the timeout', () => {
    const { stack, bootstrap } = setup();
    const minutes = new CfnParameter(stack, 'Timeout', { type: 'Number', default: 300 }).valueAsNumber;
    const bootstrapped = bootstrap({ users: [{ name: 'app_user' }], timeout: Duration.seconds(minutes) });
    expect(resourceOf(template(stack), stack, bootstrapped.handler).Properties.Timeout).toEqual({ Ref: 'Timeout' });
  });

  test('accepts a token database port and passes it through', () => {
    const stack = testStack();
    const databasePort = new CfnParameter(stack, 'Port', { type: 'Number', default: 5433 }).valueAsNumber;
    const { bootstrap } = setup({ databasePort }, stack);
    const bootstrapped = bootstrap({ users: [{ name: 'app_user' }] });
    expect(resourceOf(template(stack), stack, bootstrapped.resource).Properties.Port).toEqual({ Ref: 'Port' });
  });
});

describe('DatabaseBootstrap migrations', () => {
  test('run in version order, skipping hidden files', () => {
    const { bootstrap } = setup();
    const bootstrapped = bootstrap({
      migrationsPath: migrationsFolder({
        '0003_third.sql': 'SELECT 3;', '0002_second.sql': 'SELECT 2;', '0001_first.sql': 'SELECT 1;', '.DS_Store': 'binary junk',
      }),
    });
    expect(bootstrapped.migrations).toEqual(['0001_first.sql', '0002_second.sql', '0003_third.sql']);
  });

  /** Warnings fail synth under cdk.json's settings; these tests read them from the report instead. */
  const reportOnly = { context: { '@aws-cdk/core:failSynthOnValidationErrors': false } };

  test('warns about versions missing between migrations, naming the files around each gap', () => {
    const stack = testStack(reportOnly);
    setup({}, stack).bootstrap({
      migrationsPath: migrationsFolder({ '0001_a.sql': 'SELECT 1;', '0003_c.sql': 'SELECT 3;', '0007_g.sql': 'SELECT 7;', '0008_h.sql': 'SELECT 8;' }),
    });
    Annotations.fromStack(stack).hasWarning('/Test/Bootstrap',
      'migrationsPath has no migration with version 0002 (between 0001_a.sql and 0003_c.sql), 0004 to 0006 (between 0003_c.sql and 0007_g.sql): '
      + 'a migration deleted or renamed by mistake is never applied, and one added there later runs after the higher versions on databases that have them '
      + 'but before them on new databases; number the migrations without gaps, or acknowledge \'cdk-serverless-rds:MigrationVersionGap\' if the versions were '
      + 'deployed like this [ack: cdk-serverless-rds:MigrationVersionGap]');
  });

  test('does not warn about consecutive versions, nor about versions below the first (a squashed baseline)', () => {
    const stack = testStack(reportOnly);
    setup({}, stack).bootstrap({ migrationsPath: migrationsFolder({ '0041_baseline.sql': 'SELECT 41;', '0042_next.sql': 'SELECT 42;' }) });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('MigrationVersionGap'));
  });

  test('up to 200 KB of SQL in total are accepted', () => {
    const { bootstrap } = setup();
    const half = `-- ${'x'.repeat(99_996)}\n`;
    expect(Buffer.byteLength(half)).toBe(100_000);
    expect(() => bootstrap({ migrationsPath: migrationsFolder({ '0001_a.sql': half, '0002_b.sql': half }) })).not.toThrow();
  });

  const missing = path.join(FIXTURES_ROOT, 'no-such-migrations');
  const cases: Array<[string, () => string, (folder: string) => string]> = [
    ['a missing folder', () => missing,
      folder => `Test/Bootstrap: migrationsPath ('${folder}') is not a folder: point it at the folder that holds your NNNN_name.sql files`],
    ['a file instead of a folder', () => path.join(migrationsFolder({ '0001_a.sql': 'SELECT 1;' }), '0001_a.sql'),
      folder => `Test/Bootstrap: migrationsPath ('${folder}') is not a folder`],
    ['an empty folder', () => migrationsFolder({}),
      folder => `Test/Bootstrap: migrationsPath ('${folder}') holds no migrations: add NNNN_name.sql files or leave migrationsPath unset`],
    ['a folder with hidden files only', () => migrationsFolder({ '.gitkeep': '' }),
      folder => `Test/Bootstrap: migrationsPath ('${folder}') holds no migrations`],
    ['a file without a version', () => migrationsFolder({ 'create_items.sql': 'SELECT 1;' }),
      () => "Test/Bootstrap: migrationsPath contains 'create_items.sql', which is not named like a migration: name migrations NNNN_name.sql, "
        + 'like 0001_create_items.sql (four digits, an underscore, letters, digits, _ or -, then .sql), and keep other files elsewhere'],
    ['a version of fewer than four digits', () => migrationsFolder({ '1_create_items.sql': 'SELECT 1;' }),
      () => "Test/Bootstrap: migrationsPath contains '1_create_items.sql', which is not named like a migration: name migrations NNNN_name.sql"],
    ['a version of more than four digits (a timestamp)', () => migrationsFolder({ '20260101120000_create_items.sql': 'SELECT 1;' }),
      () => "Test/Bootstrap: migrationsPath contains '20260101120000_create_items.sql', which is not named like a migration"],
    ['a file that is not SQL', () => migrationsFolder({ '0001_a.sql': 'SELECT 1;', 'README.md': '# notes' }),
      () => "migrationsPath contains 'README.md', which is not named like a migration"],
    ['a name with a space', () => migrationsFolder({ '0001_create items.sql': 'SELECT 1;' }),
      () => "migrationsPath contains '0001_create items.sql', which is not named like a migration"],
    ['two files with the same version', () => migrationsFolder({ '0001_a.sql': 'SELECT 1;', '0001_b.sql': 'SELECT 2;' }),
      () => "Test/Bootstrap: migrationsPath has two migrations with version 0001: '0001_a.sql' and '0001_b.sql'; give each migration its own version number"],
    ['an empty migration', () => migrationsFolder({ '0001_a.sql': 'SELECT 1;', '0002_b.sql': ' \n\t\n' }),
      () => "Test/Bootstrap: migrationsPath contains '0002_b.sql', which is empty: write its SQL or remove the file"],
    ['more than 200 KB of SQL', () => migrationsFolder({ '0001_a.sql': 'x'.repeat(100_000), '0002_b.sql': 'x'.repeat(100_001) }),
      () => 'Test/Bootstrap: migrationsPath holds 200001 bytes of SQL, more than the 200000 bytes a deploy carries: squash old migrations into one baseline or load bulk data another way'],
  ];

  test.each(cases)('throws on %s', (_name, folder, message) => {
    const { bootstrap } = setup();
    const migrationsPath = folder();
    expect(() => bootstrap({ migrationsPath })).toThrow(message(migrationsPath));
  });

  test('multi-byte characters count as the bytes they take', () => {
    const { bootstrap } = setup();
    // 99,997 characters but 199,994 bytes of 'é' (2 bytes each in UTF-8), plus 10 bytes of SQL around them.
    const migrationsPath = migrationsFolder({ '0001_a.sql': `SELECT '${'é'.repeat(99_997)}';` });
    expect(() => bootstrap({ migrationsPath })).toThrow('migrationsPath holds 200004 bytes of SQL');
  });
});

describe('DatabaseBootstrap validation', () => {
  const cases: Array<[string, BootstrapOptions, string]> = [
    ['nothing to bootstrap', {},
      'neither migrationsPath nor users is set, so there is nothing to bootstrap: set at least one or remove the construct'],
    ['a timeout under a minute', { users: [{ name: 'app_user' }], timeout: Duration.seconds(30) },
      'timeout (30 s) must be between 60 s and 840 s'],
    ['a timeout over 14 minutes', { users: [{ name: 'app_user' }], timeout: Duration.minutes(15) },
      'timeout (900 s) must be between 60 s and 840 s'],
    ['a timeout in fractions of a second', { users: [{ name: 'app_user' }], timeout: Duration.millis(120_500) },
      'timeout (120500 ms) must be a whole number of seconds: round timeout to seconds'],
    ['rotation under a day', { users: [{ name: 'app_user' }], secretRotationInterval: Duration.hours(12) },
      'secretRotationInterval (43200 s) must be between 86400 s and 31536000 s'],
    ['rotation over a year', { users: [{ name: 'app_user' }], secretRotationInterval: Duration.days(366) },
      'secretRotationInterval (31622400 s) must be between 86400 s and 31536000 s'],
    ['a user name with a hyphen', { users: [{ name: 'app-user' }] },
      "users[0].name ('app-user') is not a valid database user name: use 1 to 63 characters, a lowercase letter first, then lowercase letters, digits or underscores (e.g. 'app_user')"],
    ['a user name starting with a digit', { users: [{ name: '1user' }] },
      "users[0].name ('1user') is not a valid database user name"],
    ['a user name starting with an underscore', { users: [{ name: '_user' }] },
      "users[0].name ('_user') is not a valid database user name"],
    ['a user name over 63 characters', { users: [{ name: 'u'.repeat(64) }] },
      `users[0].name ('${'u'.repeat(64)}') is not a valid database user name: use 1 to 63 characters`],
    ['a reserved user name', { users: [{ name: 'rds_iam' }] },
      "users[0].name ('rds_iam') is a name that the engine or RDS reserves or uses as its default: choose another name, e.g. 'app_rds_iam'"],
    ['the postgres user', { users: [{ name: 'postgres' }] },
      "users[0].name ('postgres') is a name that the engine or RDS reserves or uses as its default: choose another name, e.g. 'app_postgres'"],
    ['a name PostgreSQL reserves for its own roles', { users: [{ name: 'pg_reader' }] },
      "users[0].name ('pg_reader') is a name that the engine or RDS reserves or uses as its default: choose another name, e.g. 'app_reader'"],
    ['an upper-case user name', { users: [{ name: 'app_user' }, { name: 'AppUser' }] },
      "users[1].name ('AppUser') must be lowercase: the IAM token, the rds-db:connect grant and the database must spell the user the same way; use 'appuser'"],
    ['the admin user', { users: [{ name: 'dbadmin' }] },
      "users[0].name ('dbadmin') is the admin user of Test/Database: application users need their own names"],
    ['a user listed twice', { users: [{ name: 'app_user' }, { name: 'reporting' }, { name: 'app_user', privileges: DatabasePrivileges.READ_WRITE }] },
      "users[2].name ('app_user') is listed twice: list each user once"],
    ['privileges that are not a DatabasePrivileges value (JavaScript)', { users: [{ name: 'app_user', privileges: 'ADMIN' as DatabasePrivileges }] },
      "users[0].privileges ('ADMIN') is not a DatabasePrivileges value: use DatabasePrivileges.READ_ONLY or DatabasePrivileges.READ_WRITE"],
    ['a user without a name (JavaScript)', { users: [{ privileges: DatabasePrivileges.READ_ONLY } as DatabaseUser] },
      'users[0].name is required but missing: pass users[0].name (the user name)'],
  ];

  test.each(cases)('throws on %s', (_name, options, message) => {
    const { bootstrap } = setup();
    expect(() => bootstrap(options)).toThrow(`Test/Bootstrap: ${message}`);
  });

  test('MySQL user names are limited to 32 characters', () => {
    const { bootstrap } = setup({ engine: DatabaseEngine.auroraMysql() });
    expect(() => bootstrap({ users: [{ name: 'u'.repeat(33) }] }))
      .toThrow(`users[0].name ('${'u'.repeat(33)}') is not a valid database user name: use 1 to 32 characters`);
    expect(() => setup({ engine: DatabaseEngine.auroraMysql() }).bootstrap({ users: [{ name: 'u'.repeat(32) }] })).not.toThrow();
  });

  test('throws naming the missing database when JavaScript passes no props', () => {
    const stack = testStack();
    expect(() => new DatabaseBootstrap(stack, 'Bootstrap', undefined as unknown as DatabaseBootstrapProps))
      .toThrow('Test/Bootstrap: database is required but missing: pass database (the ProxiedDatabase to bootstrap)');
  });

  test('throws when two bootstraps of a database declare a user with different privileges', () => {
    const { stack, database, bootstrap } = setup();
    bootstrap({ users: [{ name: 'app_user', privileges: DatabasePrivileges.READ_WRITE }] });
    expect(() => new DatabaseBootstrap(stack, 'Reports', { database, users: [{ name: 'reporting' }, { name: 'app_user' }] })).toThrow(
      "Test/Reports: users[1] ('app_user') is declared READ_ONLY here and READ_WRITE by Test/Bootstrap: each bootstrap revokes what the other grants, "
      + 'so the user would get the privileges of whichever ran last; declare the user in one bootstrap of the database');
  });

  test('throws when two bootstraps of a database that authenticates with secrets declare one user, even alike', () => {
    const { stack, database, bootstrap } = setup(WITH_SECRETS);
    bootstrap({ users: [{ name: 'app_user' }] });
    expect(() => new DatabaseBootstrap(stack, 'Reports', { database, users: [{ name: 'app_user' }] })).toThrow(
      "Test/Reports: users[0] ('app_user') is also declared by Test/Bootstrap, and with defaultAuthScheme NONE each bootstrap gives the user a secret "
      + 'of its own and rotates its password, which breaks the other secret: declare the user in one bootstrap of the database');
  });

  test('two bootstraps may declare one IAM user alike, and bootstraps of two databases the same name', () => {
    const { stack, network, database, bootstrap } = setup();
    bootstrap({ users: [{ name: 'app_user' }] });
    expect(() => new DatabaseBootstrap(stack, 'Again', { database, users: [{ name: 'app_user', privileges: DatabasePrivileges.READ_ONLY }] })).not.toThrow();
    const other = new ProxiedDatabase(stack, 'Other', { network });
    expect(() => new DatabaseBootstrap(stack, 'OtherBootstrap', { database: other, users: [{ name: 'app_user', privileges: DatabasePrivileges.READ_WRITE }] }))
      .not.toThrow();
  });

  test('throws when a user name is a token: it names a construct and a database user', () => {
    const { stack, bootstrap } = setup();
    const name = new CfnParameter(stack, 'User', { default: 'app_user' }).valueAsString;
    expect(() => bootstrap({ users: [{ name }] }))
      .toThrow("Test/Bootstrap: users[0].name must be a literal: it names a construct (the user's secret) and a database user");
  });

  test('the clear error when the pre-bundled handler is missing', () => {
    const handlersRoot = path.join(PROJECT_ROOT, 'dist', 'handlers');
    // A file system view in which the library was never built, for freshly loaded modules only:
    // dist/handlers stays in place for the other tests.
    jest.doMock('fs', () => {
      const actual = jest.requireActual<typeof fs>('fs');
      return { ...actual, existsSync: (file: fs.PathLike) => !String(file).startsWith(handlersRoot) && actual.existsSync(file) };
    });
    try {
      jest.isolateModules(() => {
        const isolated: typeof import('../lib') = require('../lib');
        const { testStack: isolatedStack }: typeof import('./support/app') = require('./support/app');
        const stack = isolatedStack();
        // The network's default security group is the first custom resource of the library it meets.
        expect(() => new isolated.DatabaseNetwork(stack, 'Network')).toThrow(
          `Test/CdkServerlessRdsCustomResources: the pre-bundled custom-resource handler is missing at ${path.join(handlersRoot, 'custom-resource')}: run 'npm run build' in the cdk-serverless-rds package`);
      });
    } finally {
      jest.dontMock('fs');
    }
  });
});

describe('compliance of a bootstrapped app', () => {
  const variants: Array<[string, DatabaseOptions]> = [
    ['Aurora PostgreSQL, end-to-end IAM authentication (the default)', {}],
    ['Aurora PostgreSQL, proxy authenticates with secrets', WITH_SECRETS],
    ['Aurora MySQL, proxy authenticates with secrets', { ...WITH_SECRETS, engine: DatabaseEngine.auroraMysql() }],
    ['RDS for MySQL, proxy authenticates with secrets', { ...WITH_SECRETS, engine: DatabaseEngine.mysql() }],
  ];

  test.each(variants)('%s: zero unacknowledged findings, and no acknowledgement that acknowledges nothing', (_name, databaseOptions) => {
    const app = testApp();
    const stack = new Stack(app, 'Bootstrapped');
    const alarms = { topic: new AlarmTopic(stack, 'Alarms').topic };
    const { database, bootstrap } = setup({ ...databaseOptions, alarms }, stack);
    bootstrap({
      migrationsPath: migrationsFolder({ '0001_create_items.sql': 'CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);' }),
      users: [{ name: 'app_user', privileges: DatabasePrivileges.READ_WRITE }, { name: 'reporting' }],
    });
    const parameters = new AppParameters(stack, 'Parameters', { path: '/bootstrapped', values: { 'max-limit': '100' } });
    new DatabaseFunction(stack, 'Fn', {
      database, databaseUser: 'app_user', parameters, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, alarms,
    });
    addChecks(app);
    const reports = synthWithChecks(app);
    expect(findings(reports)).toEqual([]);
    expect(staleAcknowledgements(app, reports)).toEqual([]);
  });
});
