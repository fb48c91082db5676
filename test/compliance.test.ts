import { Duration, Lazy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Template } from 'aws-cdk-lib/assertions';
import {
  AlarmTopic, DatabaseCapacity, DatabaseEngine, DatabaseFunction, DatabaseFunctionProps, DatabaseNetwork, DatabaseNetworkProps, DependencyLayer, ProxiedDatabase,
  ProxiedDatabaseProps,
  UtilizationStatistic,
} from '../lib';
import { addChecks } from '../bin/checks';
import { SHARED_LAYER_PACKAGE } from '../bin/stacks/reference-layer-stack';
import { HANDLER_ENTRY, LOCK_FILE, testApp } from './support/app';
import { acknowledgements, findings, staleAcknowledgements, synthWithChecks } from './support/checks';

/**
 * Every supported configuration, not only the reference stack, synthesizes
 * with zero unacknowledged findings from every pack: what users get from the
 * constructs is compliant by default.
 */
const variants: Array<[string, DatabaseNetworkProps, Omit<ProxiedDatabaseProps, 'network'>, string?]> = [
  ['Aurora MySQL Serverless v2', {}, { engine: DatabaseEngine.auroraMysql() }],
  ['Aurora PostgreSQL on provisioned instances', {}, { capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE)) }],
  ['RDS for PostgreSQL', {}, { engine: DatabaseEngine.postgres() }],
  ['RDS for MySQL', {}, { engine: DatabaseEngine.mysql() }],
  ['RDS for PostgreSQL on a small class, whose proxy may use all of max_connections', {},
    { engine: DatabaseEngine.postgres(), capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.SMALL)) }],
  ['the proxy logging in with the RDS-managed admin secret', {}, { defaultAuthScheme: rds.DefaultAuthScheme.NONE }],
  ['a VPC with NAT gateways', { natGateways: 1 }, {}],
  // Backtracking is on by default only where Aurora MySQL offers it: a Region-bound stack decides at synth.
  ['Aurora MySQL in a stack bound to us-east-1 (backtracking on)', {}, { engine: DatabaseEngine.auroraMysql() }, 'us-east-1'],
  ['Aurora MySQL in a stack bound to eu-north-1 (no backtracking)', {}, { engine: DatabaseEngine.auroraMysql() }, 'eu-north-1'],
];

describe('compliance of every configuration', () => {
  // One app with a stack per configuration: one synth runs every pack over all of them.
  const app = testApp();
  variants.forEach(([, networkProps, databaseProps, region], index) => {
    const stack = new Stack(app, `Variant${index + 1}`, region ? { env: { region } } : undefined);
    const alarms = { topic: new AlarmTopic(stack, 'Alarms').topic };
    const network = new DatabaseNetwork(stack, 'Network', networkProps);
    const database = new ProxiedDatabase(stack, 'Database', { network, alarms, ...databaseProps });
    new DatabaseFunction(stack, 'Fn', { database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, alarms });
  });
  addChecks(app);
  const reports = synthWithChecks(app);
  const inVariant = (index: number) => (line: string) => line.includes(`Variant${index + 1}/`);

  test.each(variants.map(([name], index) => [name, index] as const))('%s: zero unacknowledged findings, and no acknowledgement that acknowledges nothing', (_name, index) => {
    expect(findings(reports).filter(inVariant(index))).toEqual([]);
    expect(staleAcknowledgements(app, reports).filter(inVariant(index))).toEqual([]);
  });

  test('the Region-bound stacks differ in backtracking as expected, so both code paths were checked', () => {
    const backtrack = (index: number) => Object.values(Template.fromJSON(app.synth().getStackByName(`Variant${index + 1}`).template).findResources('AWS::RDS::DBCluster'))
      .map(cluster => cluster.Properties.BacktrackWindow);
    expect(backtrack(7)).toEqual([expect.any(Number)]);
    expect(backtrack(8)).toEqual([undefined]);
  });
});

describe('compliance of the alarms', () => {
  test('without an alarm topic, the only findings are the packs\' CloudWatchAlarmAction, once per alarm, and every acknowledgement acknowledges something', () => {
    const app = testApp({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
    const stack = new Stack(app, 'Silent');
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network });
    const fn = new DatabaseFunction(stack, 'Fn', { database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE });
    addChecks(app);
    const reports = synthWithChecks(app);
    const reported = findings(reports);
    const alarmPaths = [...database.alarms, ...fn.alarms].map(alarm => `${alarm.node.path}/Resource`).sort();
    expect(alarmPaths.length).toBeGreaterThanOrEqual(11);
    const alarmRules = ['HIPAA.Security: HIPAA.Security-CloudWatchAlarmAction', 'NIST.800.53.R5: NIST.800.53.R5-CloudWatchAlarmAction', 'cdk-validator-cfnguard: cloudwatch_alarm_action_check'];
    for (const rule of alarmRules) {
      expect(reported.filter(finding => finding.startsWith(`${rule} at `)).map(finding => finding.split(' at ')[1]).sort()).toEqual(alarmPaths);
    }
    expect(reported.filter(finding => !alarmRules.some(rule => finding.startsWith(`${rule} at `)))).toEqual([]);
    expect(staleAcknowledgements(app, reports)).toEqual([]);
  });
});

describe('compliance of the Lambda options', () => {
  test('a layer, provisioned concurrency with scaling, an SQS consumer and the default failure queue: zero unacknowledged findings, and no acknowledgement that acknowledges nothing', () => {
    const app = testApp();
    const stack = new Stack(app, 'Options');
    const alarms = { topic: new AlarmTopic(stack, 'Alarms').topic };
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network, alarms });
    const layer = new DependencyLayer(stack, 'Layer', { packageDirectory: SHARED_LAYER_PACKAGE });
    const fn = new DatabaseFunction(stack, 'Fn', {
      database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, layers: [layer], alarms,
      provisionedConcurrency: { minCapacity: 1, maxCapacity: 4, utilizationStatistic: UtilizationStatistic.MAXIMUM },
    });
    const key = new kms.Key(stack, 'JobsKey', { enableKeyRotation: true });
    key.addToResourcePolicy(new iam.PolicyStatement({
      effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions: ['kms:CreateGrant'], resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }));
    const queueProps = { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true };
    const deadLetters = new sqs.Queue(stack, 'JobsDeadLetters', { ...queueProps, redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL } });
    Validations.of(deadLetters).acknowledge({ id: 'Serverless::Serverless-SQSRedrivePolicy', reason: 'The last queue of the chain: the dead-letter queue of the jobs queue.' });
    fn.consumeQueue(new sqs.Queue(stack, 'Jobs', { ...queueProps, visibilityTimeout: Duration.seconds(60), deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 } }));
    addChecks(app);
    const reports = synthWithChecks(app);
    expect(findings(reports)).toEqual([]);
    expect(staleAcknowledgements(app, reports)).toEqual([]);
  });
});

describe('compliance of the reservation choices', () => {
  /** Functions with each reservation choice on one database, in an app whose context gives `limit` (or not). */
  function synthFunctions(limit: number | undefined, functions: { [id: string]: Partial<DatabaseFunctionProps> }, databaseProps: Omit<ProxiedDatabaseProps, 'network'> = {}) {
    const app = testApp(limit === undefined ? {} : { context: { 'cdk-serverless-rds:accountConcurrencyLimit': limit } });
    const stack = new Stack(app, 'Reservations');
    const alarms = { topic: new AlarmTopic(stack, 'Alarms').topic };
    const database = new ProxiedDatabase(stack, 'Database', { network: new DatabaseNetwork(stack, 'Network'), alarms, ...databaseProps });
    for (const [id, props] of Object.entries(functions)) {
      new DatabaseFunction(stack, id, { database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, alarms, ...props });
    }
    addChecks(app);
    return synthWithChecks(app);
  }

  test('without the account limit: none, none under the kill switch, an explicit one, provisioned concurrency; each acknowledged with what it is', () => {
    const reports = synthFunctions(undefined, {
      Plain: { killSwitch: false },
      Switched: {},
      Explicit: { killSwitch: false, reservedConcurrentExecutions: 20 },
      Provisioned: { provisionedConcurrency: { minCapacity: 1, maxCapacity: 3 } },
    });
    expect(findings(reports)).toEqual([]);
    const reasons = Object.fromEntries(acknowledgements(reports)
      .filter(ack => ack.id === 'HIPAA.Security::HIPAA.Security-LambdaConcurrency' && /^Reservations\/\w+\/Function\//.test(ack.at))
      .map(ack => [ack.at.split('/')[1], ack.reason]));
    const none = 'there is no reservation because context cdk-serverless-rds:accountConcurrencyLimit does not give the account\'s concurrency limit';
    expect(Object.keys(reasons).sort()).toEqual(['Plain', 'Provisioned', 'Switched']);
    expect(reasons.Plain).toMatch(new RegExp(`^ReservedConcurrentExecutions is unset; ${none}`));
    expect(reasons.Switched).toMatch(new RegExp(`^ReservedConcurrentExecutions is Fn::If on the kill switch parameter SwitchedKillSwitch: no reservation while it is off, 0 .*; ${none}`));
    expect(reasons.Provisioned).toMatch(new RegExp(`^ReservedConcurrentExecutions stays unset here: the custom resource Reservations/Provisioned/ConcurrencySettings sets the reservation.*; ${none}`));
  });

  test('with the account limit in context: derived reservations under the kill switch and with provisioned concurrency', () => {
    const reports = synthFunctions(1000, { Switched: {}, Provisioned: { provisionedConcurrency: { minCapacity: 1, maxCapacity: 3 } } });
    expect(findings(reports)).toEqual([]);
    const reasons = acknowledgements(reports).filter(ack => ack.id === 'HIPAA.Security::HIPAA.Security-LambdaConcurrency' && ack.at.startsWith('Reservations/Switched/Function/'));
    expect(reasons.map(ack => ack.reason)).toEqual([
      'ReservedConcurrentExecutions is Fn::If on the kill switch parameter SwitchedKillSwitch: the reservation while it is off, 0 (the function stopped on purpose) '
      + 'while it is on; the rule cannot evaluate a condition.',
    ]);
  });

  test('with the account limit in context and a proxy pool unknown at synth: no reservation, acknowledged as such', () => {
    const reports = synthFunctions(1000, { Switched: {} }, { maxConnections: Token.asNumber(Lazy.number({ produce: () => 800 })) });
    expect(findings(reports)).toEqual([]);
    expect(acknowledgements(reports).find(ack => ack.id === 'NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency' && ack.at.startsWith('Reservations/Switched/Function/'))?.reason)
      .toMatch(/no reservation because the proxy pool of Reservations\/Database is unknown at synth/);
  });

  test('with a new account\'s limit of 10 in context: no reservation, acknowledged as such', () => {
    const reports = synthFunctions(10, { Switched: {} });
    expect(findings(reports)).toEqual([]);
    expect(acknowledgements(reports).find(ack => ack.id === 'NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency' && ack.at.startsWith('Reservations/Switched/Function/'))?.reason)
      .toMatch(/no reservation because the account limit in context cdk-serverless-rds:accountConcurrencyLimit \(10\) leaves nothing to reserve/);
  });
});
