import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  AlarmTopic, DatabaseCapacity, DatabaseEngine, DatabaseFunction, DatabaseNetwork, DatabaseNetworkProps, DependencyLayer, ProxiedDatabase, ProxiedDatabaseProps,
  UtilizationStatistic,
} from '../lib';
import { addChecks } from '../bin/checks';
import { SHARED_LAYER_PACKAGE } from '../bin/stacks/reference-layer-stack';
import { HANDLER_ENTRY, LOCK_FILE, testApp } from './support/app';
import { findings, staleAcknowledgements, synthWithChecks } from './support/checks';

/**
 * Every supported configuration, not only the reference stack, synthesizes
 * with zero unacknowledged findings from every pack: what users get from the
 * constructs is compliant by default.
 */
const variants: Array<[string, DatabaseNetworkProps, Omit<ProxiedDatabaseProps, 'network'>]> = [
  ['Aurora MySQL Serverless v2', {}, { engine: DatabaseEngine.auroraMysql() }],
  ['Aurora PostgreSQL on provisioned instances', {}, { capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE)) }],
  ['RDS for PostgreSQL', {}, { engine: DatabaseEngine.postgres() }],
  ['RDS for MySQL', {}, { engine: DatabaseEngine.mysql() }],
  ['the proxy logging in with the RDS-managed admin secret', {}, { defaultAuthScheme: rds.DefaultAuthScheme.NONE }],
  ['a VPC with NAT gateways', { natGateways: 1 }, {}],
];

describe('compliance of every configuration', () => {
  test.each(variants)('%s: zero unacknowledged findings, and no acknowledgement that acknowledges nothing', (_name, networkProps, databaseProps) => {
    const app = testApp();
    const stack = new Stack(app, 'Variant');
    const alarms = { topic: new AlarmTopic(stack, 'Alarms').topic };
    const network = new DatabaseNetwork(stack, 'Network', networkProps);
    const database = new ProxiedDatabase(stack, 'Database', { network, alarms, ...databaseProps });
    new DatabaseFunction(stack, 'Fn', { database, databaseUser: 'app_user', entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, alarms });
    addChecks(app);
    const reports = synthWithChecks(app);
    expect(findings(reports)).toEqual([]);
    expect(staleAcknowledgements(app, reports)).toEqual([]);
  });
});

describe('compliance in every Region', () => {
  test.each(['us-east-1', 'eu-north-1'])('Aurora MySQL in a stack bound to %s (with or without backtracking): zero unacknowledged findings', region => {
    const app = testApp();
    const stack = new Stack(app, 'Regional', { env: { region } });
    const alarms = { topic: new AlarmTopic(stack, 'Alarms').topic };
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network, alarms, engine: DatabaseEngine.auroraMysql() });
    new DatabaseFunction(stack, 'Fn', { database, databaseUser: 'app_user', entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, alarms });
    addChecks(app);
    expect(findings(synthWithChecks(app))).toEqual([]);
  });
});

describe('compliance of the alarms', () => {
  test('without an alarm topic, the only findings are the packs\' CloudWatchAlarmAction, once per alarm, and every acknowledgement acknowledges something', () => {
    const app = testApp({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
    const stack = new Stack(app, 'Silent');
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network });
    const fn = new DatabaseFunction(stack, 'Fn', { database, databaseUser: 'app_user', entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE });
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
      database, databaseUser: 'app_user', entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, layers: [layer], alarms,
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
