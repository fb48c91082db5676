import { CfnParameter, CfnResource, Duration, Lazy, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  DatabaseCapacity, DatabaseEngine, DatabaseNetwork, EngineFamily, ProxiedDatabase, ProxiedDatabaseProps,
} from '../lib';
import { Construct } from 'constructs';
import { BACKTRACK_REGIONS } from '../lib/database/private/backtrack';
import { findingsOf } from './rules/support';
import { foreignManagedPolicyArns, inlineFunction, resourcePermissions, template, testApp, testStack, TestAppOptions, tokenArithmeticIn } from './support/app';

type Options = Omit<ProxiedDatabaseProps, 'network'>;

function database(options: Options = {}, appOptions: TestAppOptions = {}) {
  const stack = testStack(appOptions);
  const network = new DatabaseNetwork(stack, 'Network');
  const db = new ProxiedDatabase(stack, 'Database', { network, ...options });
  return { stack, network, db };
}

/** A plain function in the network's shared placement. */
function placedFunction(stack: Stack, id: string, network: DatabaseNetwork, props: Partial<lambda.FunctionProps> = {}) {
  return inlineFunction(stack, id, {
    vpc: network.vpc,
    vpcSubnets: network.functionSubnets,
    securityGroups: [network.functionSecurityGroup],
    ...props,
  });
}

const reportOnly = { context: { '@aws-cdk/core:failSynthOnValidationErrors': false } };

/** The first 8 hexadecimal digits of the stack id's UUID, as CloudFormation resolves them at deploy time. */
const STACK_ID_PART = { 'Fn::Select': [0, { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] }] };

/** A value rendered as `<before><synth-time prefix>-<stack id part><after>`; returns the prefix. */
function physicalNamePrefix(value: unknown, before = '', after = ''): string {
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  expect(join[0]).toBe('');
  expect(join[1]).toEqual([expect.stringMatching(/-$/), STACK_ID_PART, ...after ? [after] : []]);
  const first = join[1][0] as string;
  expect(first.startsWith(before)).toBe(true);
  return first.slice(before.length, -1);
}

describe('ProxiedDatabase defaults (Aurora PostgreSQL Serverless v2)', () => {
  const { stack, db } = database();
  const t = template(stack);

  test('creates an encrypted, IAM-authenticated, protected Aurora PostgreSQL cluster on a non-default port', () => {
    t.hasResource('AWS::RDS::DBCluster', {
      Properties: {
        Engine: 'aurora-postgresql',
        EngineVersion: '17.9',
        DatabaseName: 'app',
        MasterUsername: 'dbadmin',
        Port: 5433,
        StorageEncrypted: true,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseKey'), 'Arn'] },
        EnableIAMDatabaseAuthentication: true,
        DeletionProtection: true,
        BackupRetentionPeriod: 7,
        CopyTagsToSnapshot: true,
        EnableCloudwatchLogsExports: ['postgresql'],
        ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
      },
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
    });
    expect(db.engine.family).toBe(EngineFamily.POSTGRESQL);
    expect(db.cluster).toBeDefined();
    expect(db.instance).toBeUndefined();
  });

  test('runs a Serverless v2 writer and one reader, private, with Enhanced Monitoring', () => {
    t.resourceCountIs('AWS::RDS::DBInstance', 2);
    t.allResourcesProperties('AWS::RDS::DBInstance', {
      DBInstanceClass: 'db.serverless',
      PubliclyAccessible: false,
      AutoMinorVersionUpgrade: true,
      MonitoringInterval: 60,
      MonitoringRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseMonitoringRole'), 'Arn'] },
    });
  });

  test('the monitoring role has no AWS managed policy, and its own writes only to RDSOSMetrics', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'monitoring.rds.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
    });
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Action: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'], Resource: { 'Fn::Join': ['', Match.arrayWith([':log-group:RDSOSMetrics'])] } }),
          Match.objectLike({ Resource: { 'Fn::Join': ['', Match.arrayWith([':log-group:RDSOSMetrics:log-stream:*'])] } }),
        ],
      },
      Roles: [{ Ref: Match.stringLikeRegexp('DatabaseMonitoringRole') }],
    });
    expect(foreignManagedPolicyArns(t)).toEqual([]);
    t.resourceCountIs('AWS::IAM::Policy', 0);
    t.allResources('AWS::RDS::DBInstance', { DependsOn: Match.arrayWith([Match.stringLikeRegexp('DatabaseMonitoringRolePolicy1')]) });
  });

  test('names the cluster, proxy and log groups from the construct path and the stack id, unique per stack and per create', () => {
    const cluster = t.findResources('AWS::RDS::DBCluster');
    const identifier = Object.values(cluster)[0].Properties.DBClusterIdentifier;
    const prefix = physicalNamePrefix(identifier);
    expect(prefix).toMatch(/^test-database-[0-9a-f]{8}$/);
    expect(stack.resolve(db.physicalName)).toEqual(identifier);
    t.hasResourceProperties('AWS::RDS::DBProxy', { DBProxyName: identifier });
    const logGroupNames = Object.values(t.findResources('AWS::Logs::LogGroup')).map(group => group.Properties.LogGroupName).filter(name => name !== undefined);
    expect(logGroupNames).toHaveLength(2);
    const named = (start: string) => logGroupNames.find(name => JSON.stringify(name).includes(start));
    expect(physicalNamePrefix(named('/aws/rds/cluster/'), '/aws/rds/cluster/', '/postgresql')).toBe(prefix);
    expect(physicalNamePrefix(named('/aws/rds/proxy/'), '/aws/rds/proxy/')).toBe(prefix);
  });

  test('lets RDS manage and rotate the admin password, in a secret encrypted with the database key, without any rotation function', () => {
    t.hasResourceProperties('AWS::RDS::DBCluster', {
      MasterUsername: 'dbadmin',
      ManageMasterUserPassword: true,
      MasterUserSecret: { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseKey'), 'Arn'] } },
      MasterUserPassword: Match.absent(),
    });
    expect(stack.resolve(db.adminSecret.secretArn)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(db.cluster!.node.defaultChild as rds.CfnDBCluster), 'MasterUserSecret.SecretArn'] });
    for (const type of ['AWS::SecretsManager::Secret', 'AWS::SecretsManager::RotationSchedule', 'AWS::SecretsManager::SecretTargetAttachment',
      'AWS::Serverless::Application', 'AWS::CloudFormation::Stack']) {
      t.resourceCountIs(type, 0);
    }
    expect(t.toJSON().Transform).toBeUndefined();
  });

  test('requires TLS for every connection to the database', () => {
    t.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Family: 'aurora-postgresql17', Parameters: Match.exact({ 'rds.force_ssl': '1' }) });
    t.hasResourceProperties('AWS::RDS::DBCluster', { DBClusterParameterGroupName: { Ref: Match.stringLikeRegexp('DatabaseClusterParameters') } });
  });

  test('the database key rotates and is retained', () => {
    t.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true, Description: Match.stringLikeRegexp('storage, snapshots and secrets') },
      DeletionPolicy: 'Retain',
    });
  });

  test('creates the log groups before the cluster exports to them, encrypted and kept one year', () => {
    t.hasResource('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: { 'Fn::Join': ['', Match.arrayWith(['/postgresql'])] }, RetentionInDays: 365, KmsKeyId: Match.anyValue() },
      DeletionPolicy: 'Retain',
    });
    t.hasResource('AWS::RDS::DBCluster', { DependsOn: Match.arrayWith([Match.stringLikeRegexp('DatabasePostgresqlLogGroup')]) });
    expect(Object.keys(db.logGroups)).toEqual(['postgresql']);
  });

  test('fronts the cluster with a proxy that requires TLS and end-to-end IAM auth, without debug logging or secrets', () => {
    t.hasResourceProperties('AWS::RDS::DBProxy', {
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      DebugLogging: false,
      IdleClientTimeout: 1800,
      DefaultAuthScheme: 'IAM_AUTH',
      Auth: Match.absent(),
    });
    expect(db.defaultAuthScheme).toBe(rds.DefaultAuthScheme.IAM_AUTH);
  });

  test('sizes the pool at 70% of max_connections, idles half of it, and waits 120 s without connected functions', () => {
    t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
      ConnectionPoolConfigurationInfo: { MaxConnectionsPercent: 70, MaxIdleConnectionsPercent: 35, ConnectionBorrowTimeout: 120 },
    });
    expect(db.maxConnections).toBe(823);
    expect(db.maxConnectionsPercent).toBe(70);
    expect(db.poolSize).toBe(576);
  });

  test('only the proxy reaches the database (a bootstrap adds its own rule), on its literal port', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5433, ToPort: 5433,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseDatabaseSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseProxySecurityGroup'), 'GroupId'] },
    });
    const ingress = t.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseDatabaseSecurityGroup'), 'GroupId'] } },
    });
    expect(Object.keys(ingress)).toHaveLength(1);
    for (const resource of Object.values(t.findResources('AWS::EC2::SecurityGroupEgress'))) {
      expect(typeof resource.Properties.FromPort).toBe('number');
    }
  });

  test('exposes endpoint, ports, names and working connections on the engine port', () => {
    expect(db.port).toBe(5432);
    expect(db.databasePort).toBe(5433);
    expect(db.databaseName).toBe('app');
    expect(db.adminUsername).toBe('dbadmin');
    expect(db.endpoint).toBe(db.proxy.endpoint);
    expect(db.connections.defaultPort?.toString()).toBe('5432');
  });
});

describe('ProxiedDatabase engines', () => {
  test('Aurora MySQL: audit logging, backtrack where offered, MySQL proxy, max_connections from the Serverless v2 table', () => {
    const { stack, db } = database({ engine: DatabaseEngine.auroraMysql() });
    const t = template(stack);
    t.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-mysql',
      EngineVersion: '8.0.mysql_aurora.3.12.0',
      Port: 3307,
      BacktrackWindow: { 'Fn::If': [Match.stringLikeRegexp('^DatabaseBacktrackOffered'), 86400, { Ref: 'AWS::NoValue' }] },
      EnableCloudwatchLogsExports: ['audit', 'error', 'general', 'slowquery'],
    });
    t.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Parameters: Match.exact({
        require_secure_transport: 'ON',
        server_audit_logging: '1',
        server_audit_events: 'CONNECT,QUERY_DDL,QUERY_DCL',
        slow_query_log: '1',
        long_query_time: '2',
        log_output: 'FILE',
      }),
    });
    t.hasResourceProperties('AWS::RDS::DBProxy', { EngineFamily: 'MYSQL' });
    expect(db.port).toBe(3306);
    expect(db.maxConnections).toBe(135);
    expect(db.poolSize).toBe(94);
    expect(Object.keys(db.logGroups)).toEqual(['audit', 'error', 'general', 'slowquery']);
  });

  test('RDS for PostgreSQL: a Multi-AZ gp3 instance on db.t4g.medium', () => {
    const { stack, db } = database({ engine: DatabaseEngine.postgres() });
    const t = template(stack);
    t.resourceCountIs('AWS::RDS::DBCluster', 0);
    t.hasResourceProperties('AWS::RDS::DBParameterGroup', { Family: 'postgres17', Parameters: Match.exact({ 'rds.force_ssl': '1' }) });
    t.hasResource('AWS::RDS::DBInstance', {
      Properties: {
        Engine: 'postgres',
        EngineVersion: '17.9',
        DBInstanceClass: 'db.t4g.medium',
        MultiAZ: true,
        StorageType: 'gp3',
        StorageEncrypted: true,
        EnableIAMDatabaseAuthentication: true,
        DeletionProtection: true,
        PubliclyAccessible: false,
        Port: '5433',
        EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
        MonitoringInterval: 60,
        ManageMasterUserPassword: true,
        MasterUserSecret: { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseKey'), 'Arn'] } },
      },
      DeletionPolicy: 'Snapshot',
    });
    const instance = Object.values(t.findResources('AWS::RDS::DBInstance'))[0];
    expect(physicalNamePrefix(instance.Properties.DBInstanceIdentifier)).toMatch(/^test-database-[0-9a-f]{8}$/);
    expect(db.instance).toBeDefined();
    // 4 GiB / 9531392
    expect(db.maxConnections).toBe(450);
    expect(db.poolSize).toBe(315);
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: { 'Fn::Join': ['', [Match.stringLikeRegexp('^/aws/rds/instance/test-database-'), STACK_ID_PART, '/upgrade']] } });
  });

  test('RDS for MySQL: audit plugin option group and slow query log', () => {
    const { stack, db } = database({ engine: DatabaseEngine.mysql() });
    const t = template(stack);
    t.hasResourceProperties('AWS::RDS::DBInstance', { Engine: 'mysql', EngineVersion: '8.0.46', Port: '3307' });
    t.hasResourceProperties('AWS::RDS::OptionGroup', {
      OptionConfigurations: [Match.objectLike({ OptionName: 'MARIADB_AUDIT_PLUGIN' })],
    });
    t.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Parameters: Match.exact({ require_secure_transport: 'ON', slow_query_log: '1', long_query_time: '2', log_output: 'FILE' }),
    });
    // 4 GiB / 12582880
    expect(db.maxConnections).toBe(341);
  });

  test('provisioned Aurora PostgreSQL instances use the class formula', () => {
    const { stack, db } = database({ capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE)) });
    template(stack).allResourcesProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.r6g.large' });
    // 16 GiB / 9531392
    expect(db.maxConnections).toBe(1802);
  });

  test('provisioned Aurora MySQL r-class follows the documented table', () => {
    const { db } = database({
      engine: DatabaseEngine.auroraMysql(),
      capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.R7G, ec2.InstanceSize.XLARGE2)),
    });
    expect(db.maxConnections).toBe(3000);
  });

  test.each([
    ['RDS for PostgreSQL on db.t4g.small', DatabaseEngine.postgres(), ec2.InstanceSize.SMALL, 225],
    ['RDS for MySQL on db.t4g.micro', DatabaseEngine.mysql(), ec2.InstanceSize.MICRO, 85],
  ])('%s: the proxy may use all of max_connections, the class minimum, without a warning or a rule finding', (_name, engine, size, maxConnections) => {
    const { stack, db } = database({ engine, capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.T4G, size)) }, reportOnly);
    template(stack).hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
      ConnectionPoolConfigurationInfo: Match.objectLike({ MaxConnectionsPercent: 100, MaxIdleConnectionsPercent: 50 }),
    });
    expect(db.maxConnectionsPercent).toBe(100);
    expect(db.maxConnections).toBe(maxConnections);
    expect(db.poolSize).toBe(maxConnections);
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    expect(findingsOf(stack, 'ProxyPoolWithinEngineGuidance')).toEqual([]);
  });

  test('medium and larger classes keep the default of 70 above their minimum', () => {
    const medium = database({ engine: DatabaseEngine.postgres() });
    const large = database({ engine: DatabaseEngine.postgres(), capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.LARGE)) });
    expect([medium.db.maxConnectionsPercent, large.db.maxConnectionsPercent]).toEqual([70, 70]);
  });

  test('an instance class of a newer generation than the table is accepted with a warning and sized from its series', () => {
    const { stack, db } = database({ engine: DatabaseEngine.postgres(), capacity: DatabaseCapacity.provisioned(new ec2.InstanceType('r9g.large')) }, reportOnly);
    Annotations.fromStack(stack).hasWarning('/Test/Database',
      'capacity instance class db.r9g.large is not in this library\'s table of the classes that RDS for PostgreSQL offers, which knows the db.r series up to generation 8: '
      + 'check that RDS for PostgreSQL offers it in your Region (the deploy fails otherwise), then acknowledge this warning '
      + '[ack: cdk-serverless-rds:UnlistedInstanceClass]');
    // 16 GiB / 9531392, as for every large r-class
    expect(db.maxConnections).toBe(1802);
  });

  test('every instance class of the table that RDS for PostgreSQL offers is accepted and sized without maxConnections', () => {
    for (const instanceClass of ['t2.micro', 't3.2xlarge', 'm4.10xlarge', 'm6idn.32xlarge', 'm9g.48xlarge', 'r5b.24xlarge', 'r8gd.large', 'x2g.16xlarge', 'x2idn.16xlarge', 'x2iedn.xlarge']) {
      const { db } = database({ engine: DatabaseEngine.postgres(), capacity: DatabaseCapacity.provisioned(new ec2.InstanceType(instanceClass)) });
      expect(db.maxConnections).toBeGreaterThan(0);
    }
  });

  test('Aurora offers the r, x2g and medium or larger t classes', () => {
    for (const instanceClass of ['r8g.48xlarge', 'r6id.32xlarge', 'x2g.large', 't4g.medium', 't3.large']) {
      const { db } = database({ capacity: DatabaseCapacity.provisioned(new ec2.InstanceType(instanceClass)) });
      expect(db.maxConnections).toBeGreaterThan(0);
    }
  });

  test('an explicit engine version is used', () => {
    const { stack } = database({ engine: DatabaseEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_6 }) });
    template(stack).hasResourceProperties('AWS::RDS::DBCluster', { EngineVersion: '16.6' });
  });
});

describe('ProxiedDatabase options', () => {
  test('readers sets the number of Aurora readers', () => {
    const none = database({ readers: 0 });
    template(none.stack).resourceCountIs('AWS::RDS::DBInstance', 1);
    const two = database({ readers: 2 });
    template(two.stack).resourceCountIs('AWS::RDS::DBInstance', 3);
  });

  test('multiAz: false runs a single-AZ instance', () => {
    const { stack } = database({ engine: DatabaseEngine.postgres(), multiAz: false });
    template(stack).hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: false });
  });

  test('serverless capacity range is configurable and sets max_connections', () => {
    const { stack, db } = database({ capacity: DatabaseCapacity.serverlessV2({ minCapacity: 1, maxCapacity: 16 }) });
    template(stack).hasResourceProperties('AWS::RDS::DBCluster', { ServerlessV2ScalingConfiguration: { MinCapacity: 1, MaxCapacity: 16 } });
    expect(db.maxConnections).toBe(3360);
  });

  test('PostgreSQL with a 0.5 ACU minimum caps max_connections at 2,000', () => {
    expect(database({ capacity: DatabaseCapacity.serverlessV2({ maxCapacity: 16 }) }).db.maxConnections).toBe(2000);
  });

  test('PostgreSQL between table rows is interpolated; MySQL takes the row below', () => {
    expect(database({ capacity: DatabaseCapacity.serverlessV2({ maxCapacity: 2 }) }).db.maxConnections).toBe(400);
    expect(database({ engine: DatabaseEngine.auroraMysql(), capacity: DatabaseCapacity.serverlessV2({ maxCapacity: 6 }) }).db.maxConnections).toBe(135);
  });

  test('names, port and admin user are configurable', () => {
    const { stack, db } = database({ databaseName: 'orders', adminUsername: 'owner', databasePort: 6543 });
    template(stack).hasResourceProperties('AWS::RDS::DBCluster', { DatabaseName: 'orders', MasterUsername: 'owner', Port: 6543 });
    expect(db.databaseName).toBe('orders');
  });

  test('pool settings, timeouts and maxConnections are configurable', () => {
    const { stack, db } = database({
      maxConnections: 1000,
      maxConnectionsPercent: 50,
      maxIdleConnectionsPercent: 10,
      borrowTimeout: Duration.seconds(7),
      idleClientTimeout: Duration.minutes(10),
    });
    const t = template(stack);
    t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
      ConnectionPoolConfigurationInfo: { MaxConnectionsPercent: 50, MaxIdleConnectionsPercent: 10, ConnectionBorrowTimeout: 7 },
    });
    t.hasResourceProperties('AWS::RDS::DBProxy', { IdleClientTimeout: 600 });
    expect(db.poolSize).toBe(500);
    expect(db.borrowTimeout.toSeconds()).toBe(7);
  });

  test('backups, log retention and removal are configurable', () => {
    const { stack, db } = database({
      backupRetention: Duration.days(14),
      logRetention: logs.RetentionDays.TWO_YEARS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const t = template(stack);
    t.hasResource('AWS::RDS::DBCluster', { Properties: Match.objectLike({ BackupRetentionPeriod: 14 }), DeletionPolicy: 'Retain' });
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: { 'Fn::Join': ['', Match.arrayWith(['/postgresql'])] }, RetentionInDays: 731 });
    expect(db.removalPolicy).toBe(RemovalPolicy.RETAIN);
  });

  test('backtrackWindow is configurable for Aurora MySQL and used in every Region', () => {
    const { stack } = database({ engine: DatabaseEngine.auroraMysql(), backtrackWindow: Duration.hours(6) });
    const t = template(stack);
    t.hasResourceProperties('AWS::RDS::DBCluster', { BacktrackWindow: 21600 });
    expect(t.toJSON().Conditions).toBeUndefined();
  });

  test('removalPolicy DESTROY and deletionProtection off are allowed with warnings', () => {
    const { stack } = database({ removalPolicy: RemovalPolicy.DESTROY, deletionProtection: false }, reportOnly);
    template(stack).hasResource('AWS::RDS::DBCluster', { Properties: Match.objectLike({ DeletionProtection: false }), DeletionPolicy: 'Delete' });
    const annotations = Annotations.fromStack(stack);
    annotations.hasWarning('/Test/Database', Match.stringLikeRegexp('removalPolicy is DESTROY: removing the database from the stack deletes its data'));
    annotations.hasWarning('/Test/Database', Match.stringLikeRegexp('deletionProtection is off'));
  });

  test('maxConnectionsPercent above 90 is allowed with a warning', () => {
    const { stack } = database({ maxConnectionsPercent: 95 }, reportOnly);
    Annotations.fromStack(stack).hasWarning('/Test/Database', Match.stringLikeRegexp('maxConnectionsPercent \\(95\\) leaves under 10% of max_connections'));
  });

  test('end-to-end IAM authentication drops the secret from the proxy and lets the proxy connect as granted users', () => {
    const { stack, db } = database({ defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH });
    const grantee = new iam.Role(stack, 'Client', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    db.grantConnect(grantee, 'app_user');
    db.grantConnect(new iam.Role(stack, 'Other', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }), 'app_user');
    const t = template(stack);
    t.hasResourceProperties('AWS::RDS::DBProxy', { DefaultAuthScheme: 'IAM_AUTH', Auth: Match.absent() });
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: Match.stringLikeRegexp('DatabaseProxyRole') }],
      PolicyDocument: {
        Statement: [{
          Action: 'rds-db:connect',
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', Match.arrayWith([':dbuser:', { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseCluster'), 'DBClusterResourceId'] }, '/app_user'])] },
        }],
      },
    });
  });

  test('grantConnect grants rds-db:connect through the proxy for exactly one user', () => {
    const { stack, db } = database();
    const grantee = new iam.Role(stack, 'Client', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    db.grantConnect(grantee, 'reporting');
    template(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Client') }],
      PolicyDocument: {
        Statement: [{
          Action: 'rds-db:connect',
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', Match.arrayWith([':dbuser:', Match.objectLike({ 'Fn::Select': Match.anyValue() }), '/reporting'])] },
        }],
      },
    });
  });

  test('connections let other security groups reach the proxy on the engine port', () => {
    const { stack, network, db } = database();
    const peer = new ec2.SecurityGroup(stack, 'Peer', { vpc: network.vpc });
    db.connections.allowDefaultPortFrom(peer);
    template(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5432, ToPort: 5432,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseProxySecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('Peer'), 'GroupId'] },
    });
  });
});

describe('ProxiedDatabase.connectFunction', () => {
  test('opens the proxy port, grants the user and derives the borrow timeout from the shortest function timeout', () => {
    const { stack, network, db } = database();
    db.connectFunction(placedFunction(stack, 'Slow', network, { timeout: Duration.seconds(30), reservedConcurrentExecutions: 10 }), 'app_user');
    db.connectFunction(placedFunction(stack, 'Fast', network, { timeout: Duration.seconds(9), reservedConcurrentExecutions: 10 }), 'app_user');
    const t = template(stack);
    t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', { ConnectionPoolConfigurationInfo: Match.objectLike({ ConnectionBorrowTimeout: 4 }) });
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5432,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('NetworkFunctionSecurityGroup'), 'GroupId'] },
    });
    expect(stack.resolve(db.borrowTimeout.toSeconds())).toBe(4);
  });

  test('a derived borrow timeout is 1 second for the shortest timeout accepted (2 s) and never rises above 120', () => {
    const short = database();
    short.db.connectFunction(placedFunction(short.stack, 'F', short.network, { timeout: Duration.seconds(2), reservedConcurrentExecutions: 1 }), 'u');
    expect(short.stack.resolve(short.db.borrowTimeout.toSeconds())).toBe(1);
    const long = database();
    long.db.connectFunction(placedFunction(long.stack, 'F', long.network, { timeout: Duration.minutes(15), reservedConcurrentExecutions: 1 }), 'u');
    expect(long.stack.resolve(long.db.borrowTimeout.toSeconds())).toBe(120);
  });

  test('a function with the shortest timeout accepted passes the rule that the borrow timeout stays below it', () => {
    const { stack, network, db } = database();
    db.connectFunction(placedFunction(stack, 'F', network, { timeout: Duration.seconds(2), reservedConcurrentExecutions: 1 }), 'u');
    expect(findingsOf(stack, 'ProxyBorrowTimeoutBelowFunctionTimeout')).toEqual([]);
  });

  test('throws when a function timeout of 1 s leaves no room for a borrow timeout below it', () => {
    const { stack, network, db } = database();
    expect(() => db.connectFunction(placedFunction(stack, 'F', network, { timeout: Duration.seconds(1) }), 'app_user')).toThrow(
      'Test/F: timeout (1 s) must be 2 s or more to connect through the proxy of Test/Database: its borrow timeout is at least 1 s and must stay below '
      + 'the function\'s timeout; raise timeout to Duration.seconds(2) or more');
  });

  test('throws when a function timeout is a token and the borrow timeout is derived', () => {
    const { stack, network, db } = database();
    const seconds = new CfnParameter(stack, 'Timeout', { type: 'Number', default: 10 }).valueAsNumber;
    expect(() => db.connectFunction(placedFunction(stack, 'F', network, { timeout: Duration.seconds(seconds) }), 'app_user')).toThrow(
      'Test/F: timeout is a token, so Test/Database cannot derive a borrow timeout below it: set borrowTimeout on Test/Database below the shortest timeout the function can get');
  });

  test('accepts a token function timeout with an explicit borrow timeout', () => {
    const { stack, network, db } = database({ borrowTimeout: Duration.seconds(4) });
    const seconds = new CfnParameter(stack, 'Timeout', { type: 'Number', default: 10 }).valueAsNumber;
    db.connectFunction(placedFunction(stack, 'F', network, { timeout: Duration.seconds(seconds), reservedConcurrentExecutions: 1 }), 'app_user');
    const t = template(stack);
    t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', { ConnectionPoolConfigurationInfo: Match.objectLike({ ConnectionBorrowTimeout: 4 }) });
    t.hasResourceProperties('AWS::Lambda::Function', { Timeout: { Ref: 'Timeout' } });
  });

  test('throws when a function timeout is not above an explicit borrow timeout', () => {
    const { stack, network, db } = database({ borrowTimeout: Duration.seconds(10) });
    const fn = placedFunction(stack, 'F', network, { timeout: Duration.seconds(10) });
    expect(() => db.connectFunction(fn, 'app_user')).toThrow(
      'Test/F: timeout (10 s) must be above the proxy\'s borrowTimeout (10 s) of Test/Database: raise the function\'s timeout or lower borrowTimeout');
  });

  test('throws when a function reserves more concurrency than the pool has connections', () => {
    const { stack, network, db } = database();
    const fn = placedFunction(stack, 'F', network, { reservedConcurrentExecutions: 577 });
    expect(() => db.connectFunction(fn, 'app_user')).toThrow(
      'Test/F: reservedConcurrentExecutions (577) is above the 576 connections the proxy pool of Test/Database can serve');
  });

  test('warns when explicit reservations together exceed the pool', () => {
    const { stack, network, db } = database({}, reportOnly);
    db.connectFunction(placedFunction(stack, 'A', network, { reservedConcurrentExecutions: 300 }), 'app_user');
    db.connectFunction(placedFunction(stack, 'B', network, { reservedConcurrentExecutions: 300 }), 'app_user');
    Annotations.fromStack(stack).hasWarning('/Test/Database',
      Match.stringLikeRegexp('adds up to 600 \\(Test/A: 300, Test/B: 300\\), above the proxy pool of 576 connections'));
  });

  test('throws on an invalid database user name, with the rule DatabaseBootstrap applies', () => {
    const { stack, network, db } = database();
    expect(() => db.connectFunction(placedFunction(stack, 'F', network), 'app-user')).toThrow(
      "Test/Database: databaseUser ('app-user') is not a valid database user name: use 1 to 63 characters, a lowercase letter first, "
      + "then lowercase letters, digits or underscores (e.g. 'app_user')");
    expect(() => db.connectFunction(placedFunction(stack, 'G', network), 'rdsproxyadmin'))
      .toThrow("Test/Database: databaseUser ('rdsproxyadmin') is a name that the engine or RDS reserves or uses as its default");
  });

  const placement = 'place it with vpc: network.vpc, vpcSubnets: network.functionSubnets and securityGroups: [network.functionSecurityGroup] of Test/Network, or use DatabaseFunction';

  test('throws when the function is not in a VPC', () => {
    const { stack, db } = database();
    expect(() => db.connectFunction(inlineFunction(stack, 'F'), 'app_user'))
      .toThrow(`Test/F: the function is not in a VPC, so it cannot reach the RDS Proxy in the VPC of Test/Network: ${placement}`);
  });

  test('throws when the function is in another VPC than the database\'s network', () => {
    const { stack, db } = database();
    const other = new ec2.Vpc(stack, 'Other', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const subnets = other.isolatedSubnets.map(subnet => JSON.stringify(stack.resolve(subnet.subnetId))).join(', ');
    expect(() => db.connectFunction(inlineFunction(stack, 'F', { vpc: other }), 'app_user'))
      .toThrow(`Test/F: the function runs in subnets outside the VPC of Test/Network (${subnets}), where the RDS Proxy cannot be reached: ${placement}`);
  });

  test('accepts a function in other subnets of the network\'s VPC, and one in an imported copy of that VPC', () => {
    const { stack, network, db } = database();
    expect(() => db.connectFunction(inlineFunction(stack, 'InDatabaseSubnets', { vpc: network.vpc, vpcSubnets: network.databaseSubnets }), 'app_user')).not.toThrow();
    const lookedUp = testStack();
    const vpc = ec2.Vpc.fromVpcAttributes(lookedUp, 'Vpc', { vpcId: 'vpc-1', availabilityZones: ['a', 'b'], privateSubnetIds: ['subnet-1', 'subnet-2'] });
    const importedNetwork = new DatabaseNetwork(lookedUp, 'Network', { vpc });
    const imported = new ProxiedDatabase(lookedUp, 'Database', { network: importedNetwork });
    const again = ec2.Vpc.fromVpcAttributes(lookedUp, 'SameVpc', { vpcId: 'vpc-1', availabilityZones: ['a', 'b'], privateSubnetIds: ['subnet-1', 'subnet-2'] });
    expect(() => imported.connectFunction(inlineFunction(lookedUp, 'F', { vpc: again, securityGroups: [importedNetwork.functionSecurityGroup] }), 'app_user'))
      .not.toThrow();
  });
});

describe('ProxiedDatabase validation', () => {
  test('throws naming the missing network when JavaScript passes no props', () => {
    const stack = testStack();
    expect(() => new ProxiedDatabase(stack, 'Database', undefined as unknown as ProxiedDatabaseProps))
      .toThrow('Test/Database: network is required but missing: pass network (the DatabaseNetwork the database and its functions live in)');
  });

  const cases: Array<[string, Options, string]> = [
    ['Serverless v2 with an instance engine', { engine: DatabaseEngine.postgres(), capacity: DatabaseCapacity.serverlessV2() },
      'capacity is Serverless v2 but engine is RDS for PostgreSQL 17.9: Serverless v2 exists only for Aurora'],
    ['a MySQL version for Aurora PostgreSQL', { engine: DatabaseEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.of('8.0.mysql_aurora.3.05.2', '8.0') }) },
      "engine version '8.0.mysql_aurora.3.05.2' is not a Aurora PostgreSQL version (expected major.minor, e.g. '17.9'): use AuroraPostgresEngineVersion.VER_17_9"],
    ['PostgreSQL 12', { engine: DatabaseEngine.postgres({ version: rds.PostgresEngineVersion.VER_12_22 }) },
      "engine version '12.22' is PostgreSQL 12, which is out of standard support: use PostgreSQL 13 or later"],
    ['a version without Serverless v2', { engine: DatabaseEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_13_4 }) },
      "engine version '13.4' does not support Aurora Serverless v2 (needs 13.6 or later)"],
    ['Aurora MySQL 2', { engine: DatabaseEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_2_11_2 }) },
      "engine version '5.7.mysql_aurora.2.11.2' is not an Aurora MySQL 3 version"],
    ['Aurora MySQL 3.01 on Serverless v2', { engine: DatabaseEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_01_0 }) },
      "engine version '8.0.mysql_aurora.3.01.0' does not support Aurora Serverless v2 (needs Aurora MySQL 3.02.0 or later)"],
    ['a PostgreSQL version for RDS for MySQL', { engine: DatabaseEngine.mysql({ version: rds.MysqlEngineVersion.of('17.2', '17') }) },
      "engine version '17.2' is not a supported RDS for MySQL version (expected 8.0.x or 8.4.x)"],
    ['an Aurora PostgreSQL major version other than the full version\'s', { engine: DatabaseEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.of('17.9', '16') }) },
      "Test/Database: engine version '17.9' has the major version '17', not '16' as given: the major version chooses the parameter group family, which must match the engine; "
      + "use AuroraPostgresEngineVersion.of('17.9', '17') or one of the AuroraPostgresEngineVersion.VER_* constants"],
    ['an RDS for PostgreSQL major version other than the full version\'s', { engine: DatabaseEngine.postgres({ version: rds.PostgresEngineVersion.of('16.4', '17') }) },
      "engine version '16.4' has the major version '16', not '17' as given: the major version chooses the parameter group family, which must match the engine; "
      + "use PostgresEngineVersion.of('16.4', '16') or one of the PostgresEngineVersion.VER_* constants"],
    ['an Aurora MySQL major version other than the full version\'s', { engine: DatabaseEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.of('8.0.mysql_aurora.3.12.0', '5.7') }) },
      "engine version '8.0.mysql_aurora.3.12.0' has the major version '8.0', not '5.7' as given: the major version chooses the parameter group family, which must match the engine; "
      + "use AuroraMysqlEngineVersion.of('8.0.mysql_aurora.3.12.0', '8.0') or one of the AuroraMysqlEngineVersion.VER_* constants"],
    ['an RDS for MySQL major version other than the full version\'s', { engine: DatabaseEngine.mysql({ version: rds.MysqlEngineVersion.of('8.0.46', '8.4') }) },
      "engine version '8.0.46' has the major version '8.0', not '8.4' as given: the major version chooses the parameter group family, which must match the engine; "
      + "use MysqlEngineVersion.of('8.0.46', '8.0') or one of the MysqlEngineVersion.VER_* constants"],
    ['an instance class that RDS does not have, even with maxConnections', {
      engine: DatabaseEngine.postgres(), capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.C5, ec2.InstanceSize.LARGE)), maxConnections: 400,
    }, 'Test/Database: capacity instance class db.c5.large is not an instance class that RDS for PostgreSQL offers: use a class of the db.m, db.r, db.t or db.x families, e.g. db.m8g.large'],
    ['a micro class with Aurora, even with maxConnections', {
      capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MICRO)), maxConnections: 100,
    }, 'capacity instance class db.t3.micro is not offered for Aurora PostgreSQL: db.t3 comes in small, medium, large, xlarge and 2xlarge for Aurora PostgreSQL; choose one of those sizes'],
    ['an m class with Aurora', { engine: DatabaseEngine.auroraMysql(), capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.M6G, ec2.InstanceSize.LARGE)) },
      'capacity instance class db.m6g.large is not an instance class that Aurora MySQL offers: use a class of the db.r, db.t or db.x families, e.g. db.r8g.large, or DatabaseCapacity.serverlessV2()'],
    ['a size the family does not come in', { engine: DatabaseEngine.mysql(), capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.MEDIUM)) },
      'capacity instance class db.r6g.medium is not offered for RDS for MySQL: db.r6g comes in large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge and 16xlarge for RDS for MySQL; choose one of those sizes'],
    ['an older generation than the table with Aurora', { capacity: DatabaseCapacity.provisioned(new ec2.InstanceType('r3.large')) },
      'capacity instance class db.r3.large is not an instance class that Aurora PostgreSQL offers: use a class of the db.r, db.t or db.x families'],
    ['an instance class given with its db. prefix', { engine: DatabaseEngine.postgres(), capacity: DatabaseCapacity.provisioned(new ec2.InstanceType('db.r6g.large')) },
      "capacity instance class 'db.r6g.large' starts with 'db.', which aws-cdk-lib adds itself (the template would say 'db.db.r6g.large'): "
      + "use ec2.InstanceType.of(...) or new ec2.InstanceType('r6g.large')"],
    ['the serverless class as a provisioned class', { capacity: DatabaseCapacity.provisioned(new ec2.InstanceType('serverless')) },
      'capacity instance class serverless is Aurora Serverless v2, not a provisioned class: use DatabaseCapacity.serverlessV2()'],
    ['a minimum capacity of 0', { capacity: DatabaseCapacity.serverlessV2({ minCapacity: 0 }) },
      'capacity.minCapacity (0 ACU) turns on auto-pause, which does not work behind RDS Proxy'],
    ['minimum above maximum', { capacity: DatabaseCapacity.serverlessV2({ minCapacity: 8, maxCapacity: 4 }) },
      'capacity.minCapacity (8 ACU) must not exceed capacity.maxCapacity (4 ACU): lower minCapacity or raise maxCapacity'],
    ['a maximum above 256 ACU', { capacity: DatabaseCapacity.serverlessV2({ maxCapacity: 300 }) },
      'capacity.maxCapacity (300 ACU) must be between 1 ACU and 256 ACU'],
    ['a capacity off the 0.5 step', { capacity: DatabaseCapacity.serverlessV2({ minCapacity: 0.7 }) },
      'capacity.minCapacity (0.7 ACU) must be a multiple of 0.5 ACU: use for example 0.5 ACU'],
    ['multiAz with Aurora', { multiAz: true }, 'multiAz applies to RDS instance engines only'],
    ['readers with an instance engine', { engine: DatabaseEngine.mysql(), readers: 1 }, 'readers (1) applies to Aurora engines only: for RDS for MySQL 8.0.46, use multiAz'],
    ['16 readers', { readers: 16 }, 'readers (16) must be between 0 and 15'],
    ['backtrack on PostgreSQL', { backtrackWindow: Duration.hours(1) }, 'backtrackWindow applies to Aurora MySQL only, not Aurora PostgreSQL 17.9'],
    ['a backtrack window over 72 hours', { engine: DatabaseEngine.auroraMysql(), backtrackWindow: Duration.hours(73) },
      'backtrackWindow (262800 s) must be between 0 s and 259200 s'],
    ['a database name with a hyphen', { databaseName: 'my-db' }, "databaseName ('my-db') is not a valid database identifier"],
    ['a system database name', { databaseName: 'postgres' }, "databaseName ('postgres') is a system database: choose another name"],
    ['the default admin name', { adminUsername: 'admin' }, "adminUsername ('admin') is a name that the engine or RDS reserves or uses as its default"],
    ['an admin name starting with a digit', { adminUsername: '1owner' }, "adminUsername ('1owner') is not a valid database identifier"],
    ['a MySQL admin name over 16 characters', { engine: DatabaseEngine.auroraMysql(), adminUsername: 'a_very_long_owner' },
      "adminUsername ('a_very_long_owner') is not a valid database identifier: use 1 to 16 characters"],
    ['a privileged database port', { databasePort: 80 }, 'databasePort (80) must be between 1150 and 65535'],
    ['maxConnections of 0', { maxConnections: 0 }, 'maxConnections (0) must be between 1 and 100000'],
    ['maxConnectionsPercent of 0', { maxConnectionsPercent: 0 }, 'maxConnectionsPercent (0) must be between 1 and 100'],
    ['maxConnectionsPercent of 101', { maxConnectionsPercent: 101 }, 'maxConnectionsPercent (101) must be between 1 and 100'],
    ['a percent below the class guidance', { engine: DatabaseEngine.postgres(), capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MEDIUM)), maxConnectionsPercent: 50 },
      'maxConnectionsPercent (50) is below the 55 that AWS recommends for RDS Proxy on t3.medium: raise maxConnectionsPercent to 55 or use a larger instance class'],
    ['a percent below the 100 that a small class needs', {
      engine: DatabaseEngine.postgres(), capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.SMALL)), maxConnectionsPercent: 70,
    }, 'maxConnectionsPercent (70) is below the 100 that AWS recommends for RDS Proxy on t3.small: this class leaves no headroom; '
      + 'remove maxConnectionsPercent (it then defaults to 100), or use db.t4g.medium or larger for headroom'],
    ['an idle percent above the maximum', { maxIdleConnectionsPercent: 80 }, 'maxIdleConnectionsPercent (80) must be between 0 and 70'],
    ['a borrow timeout of 0', { borrowTimeout: Duration.seconds(0) }, 'borrowTimeout (0 s) must be between 1 s and 300 s'],
    ['a borrow timeout over 5 minutes', { borrowTimeout: Duration.seconds(301) }, 'borrowTimeout (301 s) must be between 1 s and 300 s'],
    ['a borrow timeout in fractions of a second', { borrowTimeout: Duration.millis(1500) }, 'borrowTimeout (1500 ms) must be a whole number of seconds: round borrowTimeout to seconds'],
    ['an idle client timeout under a minute', { idleClientTimeout: Duration.seconds(30) }, 'idleClientTimeout (30 s) must be between 60 s and 28800 s'],
    ['backups kept 36 days', { backupRetention: Duration.days(36) }, 'backupRetention (3110400 s) must be between 86400 s and 3024000 s'],
    ['backups in part days', { backupRetention: Duration.hours(36) }, 'backupRetention (1 day 12 hours) must be whole days: use Duration.days(n)'],
    ['an instance class missing from the max_connections tables', {
      engine: DatabaseEngine.auroraMysql(), capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.SMALL)),
    }, 'Test/Database: capacity instance class db.t4g.small is not in this library\'s max_connections tables, so the proxy pool cannot be sized: set maxConnections to the database\'s max_connections'],
    ['a token borrow latency alarm threshold', { alarms: { borrowLatency: Duration.millis(Token.asNumber(Lazy.number({ produce: () => 50 }))) } },
      'Test/Database: alarms.borrowLatency must be a value known at synth, not a token: it decides the ProxyBorrowLatency alarm\'s threshold, '
      + 'converted at synth to the microseconds that RDS Proxy reports; pass a literal'],
    ['a token connections alarm threshold', { alarms: { connectionsPercentOfMax: Token.asNumber(Lazy.number({ produce: () => 90 })) } },
      'Test/Database: alarms.connectionsPercentOfMax must be a value known at synth, not a token: it decides the DatabaseConnections alarm\'s threshold, '
      + 'that share of max_connections computed at synth; pass a literal'],
    ['a connections alarm threshold with a token maxConnections', { maxConnections: Token.asNumber(Lazy.number({ produce: () => 1000 })), alarms: { connectionsPercentOfMax: 90 } },
      'Test/Database: alarms.connectionsPercentOfMax (90) has no effect: the DatabaseConnections alarm needs max_connections at synth, which comes from a token here '
      + '(maxConnections or the capacity); give maxConnections as a literal, or remove connectionsPercentOfMax'],
  ];

  test.each(cases)('throws on %s', (_name, options, message) => {
    expect(() => database(options)).toThrow(message);
  });

  test('errors name the construct path', () => {
    expect(() => database({ readers: 16 })).toThrow(/^Test\/Database: readers/);
  });

  test('a class missing from the max_connections tables is accepted with an explicit maxConnections', () => {
    const { db } = database({
      engine: DatabaseEngine.auroraMysql(),
      capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.SMALL)),
      maxConnections: 45,
    });
    // A small class: the pool is all of max_connections.
    expect(db.poolSize).toBe(45);
  });

  test('maxConnectionsPercent of 100 on a small class, its minimum, is no risky setting', () => {
    const { stack } = database({
      engine: DatabaseEngine.postgres(), capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.SMALL)), maxConnectionsPercent: 100,
    }, reportOnly);
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  // aws-cdk-lib itself needs a concrete value for backupRetention (it converts it to days).
  test('accepts tokens for validated numbers and durations', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    const number = (name: string, value: number) => new CfnParameter(stack, name, { type: 'Number', default: value }).valueAsNumber;
    const db = new ProxiedDatabase(stack, 'Database', {
      network,
      capacity: DatabaseCapacity.serverlessV2({ minCapacity: number('Min', 0.5), maxCapacity: number('Max', 8) }),
      databasePort: number('Port', 5433),
      maxConnectionsPercent: number('Percent', 60),
      maxIdleConnectionsPercent: number('Idle', 20),
      borrowTimeout: Duration.seconds(number('Borrow', 5)),
      idleClientTimeout: Duration.seconds(number('Idle client', 900)),
      maxConnections: Token.asNumber(Lazy.number({ produce: () => 1000 })),
    });
    expect(db.maxConnections).toBeDefined();
    expect(db.poolSize).toBeUndefined();
    const t = template(stack);
    t.hasResourceProperties('AWS::RDS::DBCluster', { ServerlessV2ScalingConfiguration: { MinCapacity: { Ref: 'Min' }, MaxCapacity: { Ref: 'Max' } } });
    t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
      ConnectionPoolConfigurationInfo: { MaxConnectionsPercent: { Ref: 'Percent' }, MaxIdleConnectionsPercent: { Ref: 'Idle' }, ConnectionBorrowTimeout: { Ref: 'Borrow' } },
    });
    expect(tokenArithmeticIn(t.toJSON())).toEqual([]);
  });

  test('a token maxConnectionsPercent leaves MaxIdleConnectionsPercent to RDS Proxy, whose default is half of it too, and no connections alarm', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    const percent = new CfnParameter(stack, 'Percent', { type: 'Number', default: 60 }).valueAsNumber;
    const db = new ProxiedDatabase(stack, 'Database', { network, maxConnectionsPercent: percent });
    const t = template(stack);
    t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
      ConnectionPoolConfigurationInfo: { MaxConnectionsPercent: { Ref: 'Percent' }, MaxIdleConnectionsPercent: Match.absent(), ConnectionBorrowTimeout: 120 },
    });
    expect(db.alarms.map(alarm => alarm.node.id)).not.toContain('DatabaseConnections');
    expect(tokenArithmeticIn(t.toJSON())).toEqual([]);
  });

  test('accepts tokens for the alarm thresholds that are used as given, and for the backup retention in days', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    const number = (name: string, value: number) => new CfnParameter(stack, name, { type: 'Number', default: value }).valueAsNumber;
    const db = new ProxiedDatabase(stack, 'Database', {
      network,
      backupRetention: Duration.days(number('Days', 14)),
      alarms: { cpuUtilizationPercent: number('Cpu', 70), pinnedConnections: number('Pinned', 2), availabilityPercent: number('Availability', 99) },
    });
    const t = template(stack);
    t.hasResourceProperties('AWS::RDS::DBCluster', { BackupRetentionPeriod: { Ref: 'Days' } });
    const thresholds = Object.fromEntries(db.alarms.map(alarm => [alarm.node.id, stack.resolve((alarm.node.defaultChild as cloudwatch.CfnAlarm).threshold)]));
    expect(thresholds).toMatchObject({ CpuUtilization: { Ref: 'Cpu' }, ProxyPinnedConnections: { Ref: 'Pinned' }, ProxyAvailability: { Ref: 'Availability' } });
    expect(tokenArithmeticIn(t.toJSON())).toEqual([]);
    const reasons = db.node.findAll().flatMap(construct => construct.node.metadata
      .filter(entry => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap(entry => Object.values(entry.data as Record<string, string>)));
    expect(reasons).toContain('Aurora backs up the cluster, not its instances: continuous automated backups with point-in-time restore for the days backupRetention gives, '
      + 'encrypted with the database key. The instances this rule looks at hold no data of their own.');
    expect(reasons.flatMap(reason => tokenArithmeticIn(reason))).toEqual([]);
  });

  test('accepts a token backtrack window for Aurora MySQL', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    const seconds = new CfnParameter(stack, 'Backtrack', { type: 'Number', default: 3600 }).valueAsNumber;
    new ProxiedDatabase(stack, 'Database', { network, engine: DatabaseEngine.auroraMysql(), backtrackWindow: Duration.seconds(seconds) });
    const t = template(stack);
    t.hasResourceProperties('AWS::RDS::DBCluster', { BacktrackWindow: { Ref: 'Backtrack' } });
    expect(tokenArithmeticIn(t.toJSON())).toEqual([]);
  });

  test('a token instance class is accepted without a class check or a pool size', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    const instanceClass = new CfnParameter(stack, 'Class', { type: 'String', default: 'r6g.large' }).valueAsString;
    const db = new ProxiedDatabase(stack, 'Database', { network, engine: DatabaseEngine.postgres(), capacity: DatabaseCapacity.provisioned(new ec2.InstanceType(instanceClass)) });
    expect(db.maxConnections).toBeUndefined();
    expect(db.poolSize).toBeUndefined();
    expect(db.maxConnectionsPercent).toBe(70);
    template(stack).hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: { 'Fn::Join': ['', ['db.', { Ref: 'Class' }]] } });
  });

  test('throws when readers is a token: it decides how many instances exist', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    const readers = new CfnParameter(stack, 'Readers', { type: 'Number', default: 1 }).valueAsNumber;
    expect(() => new ProxiedDatabase(stack, 'Database', { network, readers }))
      .toThrow('readers must be a value known at synth, not a token: it decides how many reader instances the cluster gets; pass a literal');
  });

  test('a token capacity leaves max_connections unknown', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    const max = new CfnParameter(stack, 'Max', { type: 'Number', default: 8 }).valueAsNumber;
    const db = new ProxiedDatabase(stack, 'Database', { network, capacity: DatabaseCapacity.serverlessV2({ maxCapacity: max }) });
    expect(db.maxConnections).toBeUndefined();
    expect(db.poolSize).toBeUndefined();
  });
});

describe('ProxiedDatabase proxy readiness check', () => {
  const { stack, network, db } = database();
  const fn = placedFunction(stack, 'Client', network, { timeout: Duration.seconds(10), reservedConcurrentExecutions: 5 });
  db.connectFunction(fn, 'app_user');
  const t = template(stack);
  const readinessId = stack.getLogicalId(db.proxyReadiness!.node.defaultChild as CfnResource);
  const proxyId = stack.getLogicalId(db.proxy.node.defaultChild as rds.CfnDBProxy);
  const targetGroupId = stack.getLogicalId(db.proxy.node.findChild('ProxyTargetGroup') as rds.CfnDBProxyTargetGroup);
  const handler = stack.node.findChild('CdkServerlessRdsCustomResources').node.findChild('Handler') as lambda.Function;
  const handlerId = stack.getLogicalId(handler.node.defaultChild as lambda.CfnFunction);

  test('waits by default for the targets of the proxy\'s default target group, after the target group exists', () => {
    const readiness = t.toJSON().Resources[readinessId];
    expect(readiness.Type).toBe('Custom::ProxyTargetsAvailable');
    expect(readiness.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [handlerId, 'Arn'] }, ProxyName: { Ref: proxyId }, TargetGroupName: 'default',
      PermissionsRoleArn: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseProxyTargetsAvailableRole/), 'Arn'] },
    });
    expect(readiness.DependsOn).toContain(targetGroupId);
  });

  test('connected functions deploy only after the proxy targets are available', () => {
    const fnId = stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
    expect(t.toJSON().Resources[fnId].DependsOn).toContain(readinessId);
  });

  test('the stack\'s custom resource function may only describe the targets of this proxy and target group, through a role of the check that it comes after', () => {
    const roleId = stack.getLogicalId(handler.role!.node.defaultChild as iam.CfnRole);
    const readiness = t.toJSON().Resources[readinessId];
    const permissions = resourcePermissions(t, readiness);
    expect(permissions.statements).toEqual([{
      Action: 'rds:DescribeDBProxyTargets',
      Effect: 'Allow',
      Resource: [{ 'Fn::GetAtt': [proxyId, 'DBProxyArn'] }, { 'Fn::GetAtt': [targetGroupId, 'TargetGroupArn'] }],
    }]);
    expect(permissions.trust).toEqual([{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: { 'Fn::GetAtt': [roleId, 'Arn'] } } }]);
    expect(readiness.DependsOn).toEqual(expect.arrayContaining([permissions.roleId, ...permissions.policyIds]));
    // The function's own role may only write its logs: it needs no policy to assume a role that names it.
    const policies = t.findResources('AWS::IAM::ManagedPolicy', { Properties: { Roles: [{ Ref: roleId }] } });
    expect(Object.values(policies).flatMap((policy: any) => policy.Properties.PolicyDocument.Statement)
      .flatMap((statement: any) => [statement.Action].flat()).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    // The function does not wait for the roles of the resources it answers, some of which come after other resources.
    expect(t.toJSON().Resources[handlerId].DependsOn).not.toContain(permissions.roleId);
    // Active tracing comes from the stack's one X-Ray policy.
    t.hasResourceProperties('AWS::IAM::Role', {
      Description: 'Execution role of Test/CdkServerlessRdsCustomResources',
      ManagedPolicyArns: [{ Ref: Match.stringLikeRegexp('^CdkServerlessRdsFunctionPoliciesXrayTracing') }],
    });
  });

  test('the stack\'s custom resource function is hardened and runs outside the VPC (it only calls AWS APIs), for up to 15 minutes', () => {
    const properties = t.toJSON().Resources[handlerId].Properties;
    expect(properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 900,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.stringMatching(/^CdkServerlessRdsCustomResourcesHandlerLogGroup/) } },
    });
    expect(properties.VpcConfig).toBeUndefined();
    expect(properties.ReservedConcurrentExecutions).toBeUndefined();
    t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('NetworkLogKey'), 'Arn'] }, RetentionInDays: 365 });
  });

  test('waitForProxyTargets: false creates no readiness check and no dependency on it', () => {
    const unchecked = database({ waitForProxyTargets: false });
    const client = placedFunction(unchecked.stack, 'Client', unchecked.network, { reservedConcurrentExecutions: 5 });
    unchecked.db.connectFunction(client, 'app_user');
    const uncheckedTemplate = template(unchecked.stack);
    expect(unchecked.db.proxyReadiness).toBeUndefined();
    uncheckedTemplate.resourceCountIs('Custom::ProxyTargetsAvailable', 0);
    expect(Object.keys(uncheckedTemplate.toJSON().Resources).filter(id => id.includes('ProxyTargetsAvailable'))).toEqual([]);
    const clientId = unchecked.stack.getLogicalId(client.node.defaultChild as lambda.CfnFunction);
    expect(uncheckedTemplate.toJSON().Resources[clientId].DependsOn ?? []).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/ProxyTargetsAvailable/)]));
  });
});

describe('ProxiedDatabase.addProxySecret', () => {
  test('adds an auth entry like the admin secret\'s and lets the proxy role read the secret', () => {
    const { stack, db } = database({ defaultAuthScheme: rds.DefaultAuthScheme.NONE });
    const secret = new secretsmanager.Secret(stack, 'ReportingSecret', { encryptionKey: db.encryptionKey });
    db.addProxySecret(secret);
    const t = template(stack);
    const secretId = stack.getLogicalId(secret.node.defaultChild as secretsmanager.CfnSecret);
    t.hasResourceProperties('AWS::RDS::DBProxy', {
      Auth: [
        { AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED', SecretArn: stack.resolve(db.adminSecret.secretArn) },
        { AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED', SecretArn: { Ref: secretId } },
      ],
    });
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: stack.getLogicalId(db.proxyRole.node.defaultChild as iam.CfnRole) }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: Match.arrayWith([{ Ref: secretId }]),
        })]),
      },
    });
  });

  test('throws with end-to-end IAM authentication, where the proxy uses no secrets', () => {
    const { stack, db } = database({ defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH });
    const secret = new secretsmanager.Secret(stack, 'ReportingSecret');
    expect(() => db.addProxySecret(secret)).toThrow(
      'Test/Database: addProxySecret() needs the proxy to authenticate with secrets, but defaultAuthScheme is IAM_AUTH: create the user with IAM authentication instead');
  });
});

describe('ProxiedDatabase writer endpoint and authentication scheme', () => {
  test('Aurora: the writer endpoint is the cluster endpoint, not the proxy', () => {
    const { stack, db } = database();
    expect(stack.resolve(db.writerEndpoint)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(db.cluster!.node.defaultChild as rds.CfnDBCluster), 'Endpoint.Address'] });
    expect(stack.resolve(db.writerEndpoint)).not.toEqual(stack.resolve(db.endpoint));
  });

  test('RDS instance: the writer endpoint is the instance endpoint', () => {
    const { stack, db } = database({ engine: DatabaseEngine.mysql() });
    expect(stack.resolve(db.writerEndpoint)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(db.instance!.node.defaultChild as rds.CfnDBInstance), 'Endpoint.Address'] });
  });

  test('defaultAuthScheme is end-to-end IAM unless NONE is chosen', () => {
    expect(database().db.defaultAuthScheme).toBe(rds.DefaultAuthScheme.IAM_AUTH);
    expect(database({ defaultAuthScheme: rds.DefaultAuthScheme.NONE }).db.defaultAuthScheme).toBe(rds.DefaultAuthScheme.NONE);
  });

  test('with defaultAuthScheme NONE the proxy logs in with the RDS-managed admin secret and may read it through Secrets Manager', () => {
    const { stack, db } = database({ defaultAuthScheme: rds.DefaultAuthScheme.NONE });
    const t = template(stack);
    const clusterId = stack.getLogicalId(db.cluster!.node.defaultChild as rds.CfnDBCluster);
    const adminSecretArn = { 'Fn::GetAtt': [clusterId, 'MasterUserSecret.SecretArn'] };
    t.hasResourceProperties('AWS::RDS::DBProxy', {
      Auth: [{ AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED', SecretArn: adminSecretArn }],
      DefaultAuthScheme: Match.absent(),
    });
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: stack.getLogicalId(db.proxyRole.node.defaultChild as iam.CfnRole) }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: adminSecretArn })]) },
    });
  });
});

describe('ProxiedDatabase names and Regions', () => {
  test('a long, odd construct path still gives a valid name of at most 60 characters', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    const scope = new Construct(new Construct(stack, 'A_Very-Long--Scope_Name_That_Goes_On_And_On_For_Quite_A_While'), '--Another--Long--Scope--');
    const db = new ProxiedDatabase(scope, '123-Database-', { network });
    const prefix = physicalNamePrefix(stack.resolve(db.physicalName));
    // The stack id part adds '-' and 8 hexadecimal digits; RDS Proxy names may have 60 characters, identifiers 63.
    expect(prefix.length + 9).toBeLessThanOrEqual(60);
    expect(prefix).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
    expect(prefix).not.toContain('--');
  });

  test('two databases in one stack get different names', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    const first = new ProxiedDatabase(stack, 'Orders', { network });
    const second = new ProxiedDatabase(stack, 'Orders2', { network });
    expect(physicalNamePrefix(stack.resolve(first.physicalName))).not.toEqual(physicalNamePrefix(stack.resolve(second.physicalName)));
  });

  test('the default backtrack condition holds exactly the Regions that offer backtracking, at most 10 per Fn::Or', () => {
    const { stack } = database({ engine: DatabaseEngine.auroraMysql() });
    const conditions = template(stack).toJSON().Conditions;
    const [condition] = Object.values<any>(conditions);
    const regions: string[] = [];
    const walk = (expression: any): void => {
      if (expression['Fn::Or']) {
        expect(expression['Fn::Or'].length).toBeLessThanOrEqual(10);
        expression['Fn::Or'].forEach(walk);
      } else {
        expect(expression['Fn::Equals'][0]).toEqual({ Ref: 'AWS::Region' });
        regions.push(expression['Fn::Equals'][1]);
      }
    };
    walk(condition);
    expect(regions.sort()).toEqual([...BACKTRACK_REGIONS].sort());
    for (const unsupported of ['af-south-1', 'ap-east-1', 'eu-south-1', 'eu-north-1', 'me-south-1', 'sa-east-1', 'cn-north-1', 'cn-northwest-1', 'us-gov-west-1']) {
      expect(regions).not.toContain(unsupported);
    }
  });

  test.each([
    ['us-east-1', 86400],
    ['eu-west-1', 86400],
    ['eu-north-1', undefined],
    ['af-south-1', undefined],
    ['sa-east-1', undefined],
    ['cn-northwest-1', undefined],
  ])('a stack in %s gets the backtrack window %p without a condition', (region, window) => {
    const stack = new Stack(testApp(), 'Regional', { env: { region } });
    const network = new DatabaseNetwork(stack, 'Network');
    new ProxiedDatabase(stack, 'Database', { network, engine: DatabaseEngine.auroraMysql() });
    const t = template(stack);
    const cluster = Object.values(t.findResources('AWS::RDS::DBCluster'))[0];
    expect(cluster.Properties.BacktrackWindow).toEqual(window);
    expect(t.toJSON().Conditions).toBeUndefined();
  });

  test('PostgreSQL engines get no backtrack window and no condition', () => {
    const t = template(database().stack);
    const cluster = Object.values(t.findResources('AWS::RDS::DBCluster'))[0];
    expect(cluster.Properties.BacktrackWindow).toBeUndefined();
    expect(t.toJSON().Conditions).toBeUndefined();
  });
});
