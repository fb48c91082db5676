import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { DatabaseFunction, DatabaseFunctionProps, DatabaseNetwork, ProxiedDatabase } from '../lib';
import { HANDLER_ENTRY, inlineFunction, LOCK_FILE, template, TestAppOptions, testStack } from './support/app';

type FunctionOptions = Omit<DatabaseFunctionProps, 'database' | 'entry' | 'databaseUser'>;

function setup(appOptions: TestAppOptions = {}) {
  const stack = testStack(appOptions);
  const network = new DatabaseNetwork(stack, 'Network');
  const database = new ProxiedDatabase(stack, 'Database', { network });
  const add = (id: string, options: FunctionOptions = {}) => new DatabaseFunction(stack, id, {
    database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, ...options,
  });
  return { stack, add };
}

/** Every statement of the role's own managed policies. */
function roleStatements(stack: Stack, fn: DatabaseFunction): any[] {
  const roleId = stack.getLogicalId(fn.role.node.defaultChild as iam.CfnRole);
  const policies = template(stack).findResources('AWS::IAM::ManagedPolicy');
  return Object.values(policies)
    .filter((p: any) => (p.Properties.Roles ?? []).some((r: any) => r.Ref === roleId))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

/** Expect an Allow statement granting at least `actions` on `resource` (alone or among others). */
function expectGrant(statements: any[], actions: string[], resource: unknown): void {
  const granted = statements.some(s => s.Effect === 'Allow'
    && actions.every(a => [s.Action].flat().includes(a))
    && [s.Resource].flat().some((r: unknown) => JSON.stringify(r) === JSON.stringify(resource)));
  expect({ granted, actions, resource }).toEqual({ granted: true, actions, resource });
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as any);
}

describe('asynchronous invocation defaults', () => {
  const { stack, add } = setup();
  const fn = add('Worker');
  const t = template(stack);

  test('keeps both failure queues when the stack is deleted and marks the last one as a dead-letter queue', () => {
    const resources = t.toJSON().Resources;
    for (const queue of [fn.failureQueue!, fn.failureQueue!.deadLetterQueue!.queue]) {
      expect(resources[logicalId(stack, queue)].DeletionPolicy).toBe('Retain');
    }
    expect(resources[logicalId(stack, fn.failureQueue!.deadLetterQueue!.queue)].Properties.RedriveAllowPolicy).toEqual({ redrivePermission: 'allowAll' });
  });

  test('creates a failure queue encrypted with its own rotating KMS key, SSL enforced, 14 days, with a dead-letter queue of its own', () => {
    const queue = fn.failureQueue!;
    const keyId = stack.getLogicalId(queue.encryptionMasterKey!.node.defaultChild as kms.CfnKey);
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const resources = t.toJSON().Resources;
    const failure = resources[logicalId(stack, queue)].Properties;
    expect(failure.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(failure.MessageRetentionPeriod).toBe(1209600);
    expect(failure.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack, queue.deadLetterQueue!.queue), 'Arn'] }, maxReceiveCount: 5 });
    const deadLetters = resources[logicalId(stack, queue.deadLetterQueue!.queue)].Properties;
    expect(deadLetters.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(deadLetters.MessageRetentionPeriod).toBe(1209600);
    const policies = Object.values(t.findResources('AWS::SQS::QueuePolicy')) as any[];
    const denies = policies.flatMap(p => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false');
    expect(denies).toHaveLength(2);
  });

  test('sends failures there after 2 retries and at most 6 hours', () => {
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack, fn.failureQueue!), 'Arn'] } } },
    });
  });

  test('grants sending to the failure queue and exactly the KMS actions a producer of an encrypted queue needs', () => {
    const statements = roleStatements(stack, fn);
    const keyId = stack.getLogicalId(fn.failureQueue!.encryptionMasterKey!.node.defaultChild as kms.CfnKey);
    expectGrant(statements, ['sqs:SendMessage'], { 'Fn::GetAtt': [logicalId(stack, fn.failureQueue!), 'Arn'] });
    expectGrant(statements, ['kms:GenerateDataKey', 'kms:Decrypt'], { 'Fn::GetAtt': [keyId, 'Arn'] });
    const actions = statements.flatMap(s => [s.Action].flat());
    expect(actions.filter((a: string) => a.startsWith('kms:') || a.startsWith('sqs:')).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey', 'sqs:SendMessage']);
  });
});

describe('destinations', () => {
  test('onSuccess and onFailure to topics encrypted with a customer-managed key grant sns:Publish and the KMS permissions', () => {
    const { stack, add } = setup();
    const key = new kms.Key(stack, 'TopicKey', { enableKeyRotation: true });
    const success = new sns.Topic(stack, 'Success', { masterKey: key, enforceSSL: true });
    const failure = new sns.Topic(stack, 'Failure', { masterKey: key, enforceSSL: true });
    const fn = add('Worker', { onSuccess: new destinations.SnsDestination(success), onFailure: new destinations.SnsDestination(failure) });
    const t = template(stack);
    expect(fn.failureQueue).toBeUndefined();
    t.resourceCountIs('AWS::SQS::Queue', 0);
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: { OnSuccess: { Destination: { Ref: logicalId(stack, success) } }, OnFailure: { Destination: { Ref: logicalId(stack, failure) } } },
    });
    const statements = roleStatements(stack, fn);
    expectGrant(statements, ['sns:Publish'], { Ref: logicalId(stack, failure) });
    expectGrant(statements, ['sns:Publish'], { Ref: logicalId(stack, success) });
    expectGrant(statements, ['kms:Decrypt', 'kms:GenerateDataKey*'], { 'Fn::GetAtt': [logicalId(stack, key), 'Arn'] });
  });

  test('an EventBridge success destination grants events:PutEvents on that bus only', () => {
    const { stack, add } = setup();
    const bus = new events.EventBus(stack, 'Bus');
    const fn = add('Worker', { onSuccess: new destinations.EventBridgeDestination(bus) });
    expectGrant(roleStatements(stack, fn), ['events:PutEvents'], { 'Fn::GetAtt': [logicalId(stack, bus), 'Arn'] });
  });

  test('a Lambda failure destination grants invoking that function', () => {
    const { stack, add } = setup();
    const other = new lambda.Function(stack, 'Other', {
      runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}'),
    });
    const fn = add('Worker', { onFailure: new destinations.LambdaDestination(other) });
    expect(JSON.stringify(roleStatements(stack, fn))).toContain('lambda:InvokeFunction');
  });

  test('retryAttempts and maxEventAge go to the event invoke config', () => {
    const { stack, add } = setup();
    add('Worker', { retryAttempts: 0, maxEventAge: Duration.minutes(5) });
    template(stack).hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 });
  });

  test.each([
    [{ retryAttempts: 3 }, /retryAttempts \(3\) must be between 0 and 2/],
    [{ retryAttempts: 1.5 }, /retryAttempts \(1.5\) must be a whole number/],
    [{ maxEventAge: Duration.seconds(59) }, /maxEventAge \(59 s\) must be between 60 s and 21600 s/],
    [{ maxEventAge: Duration.hours(7) }, /maxEventAge \(25200 s\) must be between 60 s and 21600 s/],
  ])('throws for %p', (options, message) => {
    const { add } = setup();
    expect(() => add('Worker', options as FunctionOptions)).toThrow(message);
  });

  test('accepts tokens for retryAttempts', () => {
    const { stack, add } = setup();
    const retries = new (require('aws-cdk-lib').CfnParameter)(stack, 'Retries', { type: 'Number' });
    expect(() => add('Worker', { retryAttempts: retries.valueAsNumber })).not.toThrow();
  });

  test('a dead-letter queue encrypted with a customer-managed key gets sqs:SendMessage and the KMS permissions (aws-cdk #33153)', () => {
    const { stack, add } = setup();
    const key = new kms.Key(stack, 'DlqKey', { enableKeyRotation: true });
    const dlq = new sqs.Queue(stack, 'Dlq', { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true });
    const fn = add('Worker', { deadLetterQueue: dlq });
    const t = template(stack);
    const fnProps = t.toJSON().Resources[logicalId(stack, fn.lambdaFunction)].Properties;
    expect(fnProps.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [logicalId(stack, dlq), 'Arn'] } });
    expectGrant(roleStatements(stack, fn), ['sqs:SendMessage'], { 'Fn::GetAtt': [logicalId(stack, dlq), 'Arn'] });
    expectGrant(roleStatements(stack, fn), ['kms:GenerateDataKey', 'kms:Decrypt'], { 'Fn::GetAtt': [logicalId(stack, key), 'Arn'] });
  });
});

describe('consumeQueue', () => {
  function queueWithDlq(stack: Stack, id: string, visibilityTimeout = Duration.seconds(60)) {
    const dlq = new sqs.Queue(stack, `${id}Dlq`, { enforceSSL: true });
    return new sqs.Queue(stack, id, { visibilityTimeout, enforceSSL: true, deadLetterQueue: { queue: dlq, maxReceiveCount: 5 } });
  }

  /** A consumer without a reservation whose share of the proxy pool is 250: (576 connections - 76 reserved by Admin) / 2 functions without a reservation. */
  function consumerSharingThePool(add: ReturnType<typeof setup>['add']): DatabaseFunction {
    const fn = add('Consumer');
    add('Api');
    add('Admin', { reservedConcurrentExecutions: 76 });
    return fn;
  }

  test('maps the queue with partial batch responses and a maximum concurrency equal to the reserved concurrency', () => {
    const { stack, add } = setup();
    const fn = add('Consumer', { reservedConcurrentExecutions: 7 });
    const queue = queueWithDlq(stack, 'Jobs');
    fn.consumeQueue(queue, { batchSize: 5 });
    template(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack, queue), 'Arn'] },
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 7 },
    });
  });

  test('without a reservation the maximum concurrency is the function\'s share of the proxy pool', () => {
    const { stack, add } = setup();
    consumerSharingThePool(add).consumeQueue(queueWithDlq(stack, 'Jobs'));
    template(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 250 } });
  });

  test('a token reservation leaves the maximum concurrency to the caller', () => {
    const { stack, add } = setup();
    const reserved = new CfnParameter(stack, 'Reserved', { type: 'Number', default: 5 }).valueAsNumber;
    const fn = add('Consumer', { reservedConcurrentExecutions: reserved });
    fn.consumeQueue(queueWithDlq(stack, 'Jobs'));
    expect(() => template(stack)).toThrow(
      'consumeQueue(Test/Jobs) cannot derive maxConcurrency: the function\'s reserved concurrency is a token, or it has none and the proxy pool size is unknown at synth; set maxConcurrency');
  });

  test('an explicit maxConcurrency is kept', () => {
    const { stack, add } = setup();
    const fn = add('Consumer', { reservedConcurrentExecutions: 7 });
    fn.consumeQueue(queueWithDlq(stack, 'Jobs'), { maxConcurrency: 3 });
    template(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 3 } });
  });

  test('grants consuming the queue', () => {
    const { stack, add } = setup();
    const fn = add('Consumer');
    const queue = queueWithDlq(stack, 'Jobs');
    fn.consumeQueue(queue);
    expectGrant(roleStatements(stack, fn), ['sqs:ReceiveMessage', 'sqs:DeleteMessage'], { 'Fn::GetAtt': [logicalId(stack, queue), 'Arn'] });
  });

  test('throws when the queue has no dead-letter queue', () => {
    const { stack, add } = setup();
    const fn = add('Consumer');
    const queue = new sqs.Queue(stack, 'Jobs', { visibilityTimeout: Duration.seconds(60) });
    expect(() => fn.consumeQueue(queue)).toThrow(/queue Test\/Jobs has no dead-letter queue: .* give the queue a deadLetterQueue/);
  });

  test('throws when the visibility timeout is below 6 times the function timeout', () => {
    const { stack, add } = setup();
    const fn = add('Consumer', { timeout: Duration.seconds(20) });
    expect(() => fn.consumeQueue(queueWithDlq(stack, 'Jobs', Duration.seconds(60))))
      .toThrow(/visibility timeout of 60 s, below 6 times the function timeout \(120 s\).*Duration.seconds\(120\)/);
  });

  /** Warnings fail synth under cdk.json's settings; these tests read them from the report instead. */
  const reportOnly: TestAppOptions = { context: { '@aws-cdk/core:failSynthOnValidationErrors': false } };

  test('warns when maxConcurrency is above the reserved concurrency', () => {
    const { stack, add } = setup(reportOnly);
    const fn = add('Consumer', { reservedConcurrentExecutions: 5 });
    fn.consumeQueue(queueWithDlq(stack, 'Jobs'), { maxConcurrency: 10 });
    Annotations.fromStack(stack).hasWarning('/Test/Consumer',
      'consumeQueue(Test/Jobs) maxConcurrency (10) is above the function\'s reserved concurrency (5): Lambda throttles the poller above it, '
      + 'and messages received but not processed use up their receives and end in the dead-letter queue; lower maxConcurrency to 5 or raise reservedConcurrentExecutions to 10 '
      + '[ack: cdk-serverless-rds:QueueConcurrencyAboveReservation]');
  });

  test('compares with a derived reservation, known once every function exists', () => {
    const { stack, add } = setup({ context: { ...reportOnly.context, 'cdk-serverless-rds:accountConcurrencyLimit': 1000 } });
    const fn = add('Consumer');
    fn.consumeQueue(queueWithDlq(stack, 'Jobs'), { maxConcurrency: 400 });
    add('Api');
    // The pool of 576 connections split between two functions.
    Annotations.fromStack(stack).hasWarning('/Test/Consumer', Match.stringLikeRegexp('maxConcurrency \\(400\\) is above the function\'s reserved concurrency \\(288\\)'));
  });

  test('asks for a larger reservation when it is 1, below the smallest maxConcurrency', () => {
    const { stack, add } = setup(reportOnly);
    const fn = add('Consumer', { reservedConcurrentExecutions: 1 });
    fn.consumeQueue(queueWithDlq(stack, 'Jobs'), { maxConcurrency: 2 });
    Annotations.fromStack(stack).hasWarning('/Test/Consumer', Match.stringLikeRegexp('dead-letter queue; raise reservedConcurrentExecutions to at least 2 '));
  });

  test.each<[string, FunctionOptions, number]>([
    ['at the reservation', { reservedConcurrentExecutions: 5 }, 5],
    ['without a reservation', {}, 50],
    ['with the function stopped (reservation 0)', { reservedConcurrentExecutions: 0 }, 10],
  ])('does not warn with maxConcurrency %s', (_name, options, maxConcurrency) => {
    const { stack, add } = setup(reportOnly);
    add('Consumer', options).consumeQueue(queueWithDlq(stack, 'Jobs'), { maxConcurrency });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('QueueConcurrencyAboveReservation'));
  });

  test.each([
    [{ batchSize: 0 }, /batchSize \(0\) must be between 1 and 10000/],
    [{ maxConcurrency: 1 }, /maxConcurrency \(1\) must be between 2 and 1000/],
  ])('throws for %p', (options, message) => {
    const { stack, add } = setup();
    const fn = add('Consumer');
    expect(() => fn.consumeQueue(queueWithDlq(stack, 'Jobs'), options)).toThrow(message);
  });

  describe('provisioned pollers', () => {
    test('replace the maximum concurrency, with a maximum of pollers derived from the reserved concurrency at 10 invocations a poller', () => {
      const { stack, add } = setup();
      const fn = add('Consumer', { reservedConcurrentExecutions: 45 });
      fn.consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: {} });
      template(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ProvisionedPollerConfig: { MaximumPollers: 4, MinimumPollers: Match.absent() },
        ScalingConfig: Match.absent(),
      });
    });

    test('without a reservation the maximum follows the function\'s share of the proxy pool', () => {
      const { stack, add } = setup();
      consumerSharingThePool(add).consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: { minimumPollers: 5 } });
      // 250 invocations, 10 a poller
      template(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        ProvisionedPollerConfig: { MinimumPollers: 5, MaximumPollers: 25 }, ScalingConfig: Match.absent(),
      });
    });

    test('keeps an explicit minimum and maximum', () => {
      const { stack, add } = setup();
      const fn = add('Consumer', { reservedConcurrentExecutions: 100 });
      fn.consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: { minimumPollers: 3, maximumPollers: 8 } });
      template(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', { ProvisionedPollerConfig: { MinimumPollers: 3, MaximumPollers: 8 } });
    });

    test('accepts tokens for both bounds and computes nothing from them', () => {
      const { stack, add } = setup(reportOnly);
      const minimum = new CfnParameter(stack, 'MinimumPollers', { type: 'Number', default: 2 });
      const maximum = new CfnParameter(stack, 'MaximumPollers', { type: 'Number', default: 100 });
      // As literals, 100 pollers (1,000 invocations) would be above the reservation of 5 and warn.
      const fn = add('Consumer', { reservedConcurrentExecutions: 5 });
      fn.consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: { minimumPollers: minimum.valueAsNumber, maximumPollers: maximum.valueAsNumber } });
      template(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        ProvisionedPollerConfig: { MinimumPollers: { Ref: 'MinimumPollers' }, MaximumPollers: { Ref: 'MaximumPollers' } },
      });
      Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('QueueConcurrencyAboveReservation'));
    });

    test('derives the maximum next to a token minimum', () => {
      const { stack, add } = setup();
      const minimum = new CfnParameter(stack, 'MinimumPollers', { type: 'Number', default: 2 });
      add('Consumer', { reservedConcurrentExecutions: 30 }).consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: { minimumPollers: minimum.valueAsNumber } });
      template(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', { ProvisionedPollerConfig: { MinimumPollers: { Ref: 'MinimumPollers' }, MaximumPollers: 3 } });
    });

    test('throws when combined with maxConcurrency', () => {
      const { stack, add } = setup();
      const fn = add('Consumer');
      expect(() => fn.consumeQueue(queueWithDlq(stack, 'Jobs'), { maxConcurrency: 10, provisionedPollers: { maximumPollers: 2 } })).toThrow(
        'Test/Consumer: maxConcurrency cannot be combined with provisionedPollers for queue Test/Jobs: in provisioned mode provisionedPollers.maximumPollers caps the queue '
        + '(up to 10 concurrent invocations a poller); remove maxConcurrency, or remove provisionedPollers to keep the default mode');
    });

    test.each([
      [{ minimumPollers: 1 }, 'provisionedPollers.minimumPollers (1) must be between 2 and 200: set provisionedPollers.minimumPollers within that range'],
      [{ minimumPollers: 201, maximumPollers: 300 }, 'provisionedPollers.minimumPollers (201) must be between 2 and 200: set provisionedPollers.minimumPollers within that range'],
      [{ minimumPollers: 2.5 }, 'provisionedPollers.minimumPollers (2.5) must be a whole number: round provisionedPollers.minimumPollers'],
      [{ maximumPollers: 1 }, 'provisionedPollers.maximumPollers (1) must be between 2 and 2000: set provisionedPollers.maximumPollers within that range'],
      [{ maximumPollers: 2001 }, 'provisionedPollers.maximumPollers (2001) must be between 2 and 2000: set provisionedPollers.maximumPollers within that range'],
      [{ maximumPollers: 7.5 }, 'provisionedPollers.maximumPollers (7.5) must be a whole number: round provisionedPollers.maximumPollers'],
      [{ minimumPollers: 6, maximumPollers: 5 }, 'provisionedPollers.minimumPollers (6) must not exceed provisionedPollers.maximumPollers (5): lower minimumPollers or raise maximumPollers'],
    ])('throws for %p', (provisionedPollers, message) => {
      const { stack, add } = setup();
      const fn = add('Consumer');
      expect(() => fn.consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers })).toThrow(`Test/Consumer: ${message}`);
    });

    test('fails the synth when the maximum lets the queue hold more connections than the function\'s share of the pool', () => {
      const { stack, add } = setup();
      consumerSharingThePool(add).consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: { maximumPollers: 26 } });
      expect(() => template(stack)).toThrow(
        'consumeQueue(Test/Jobs) provisionedPollers.maximumPollers (26) lets the queue run up to 260 invocations at once, each holding a database connection, '
        + 'above the function\'s share of the proxy pool (250 connections): lower maximumPollers to 25, or give the function a reservedConcurrentExecutions to cap it');
    });

    test('asks to lower the minimum too when it is above the maximum the share of the pool allows', () => {
      const { stack, add } = setup();
      consumerSharingThePool(add).consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: { minimumPollers: 30, maximumPollers: 40 } });
      expect(() => template(stack)).toThrow(
        'consumeQueue(Test/Jobs) provisionedPollers.maximumPollers (40) lets the queue run up to 400 invocations at once, each holding a database connection, '
        + 'above the function\'s share of the proxy pool (250 connections): lower maximumPollers to 25 and minimumPollers to 25 or less, '
        + 'or give the function a reservedConcurrentExecutions to cap it');
    });

    test('fails the synth when the share of the pool is below what the fewest pollers can run', () => {
      const { stack, add } = setup();
      const fn = add('Consumer');
      add('Admin', { reservedConcurrentExecutions: 560 });
      fn.consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: {} });
      expect(() => template(stack)).toThrow(
        'consumeQueue(Test/Jobs) provisionedPollers.maximumPollers (2) lets the queue run up to 20 invocations at once, each holding a database connection, '
        + 'above the function\'s share of the proxy pool (16 connections): consume the queue without provisionedPollers (maxConcurrency then follows the share), or raise the database capacity');
    });

    test('fails the synth when the minimum is above the derived maximum', () => {
      const { stack, add } = setup();
      add('Consumer', { reservedConcurrentExecutions: 45 }).consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: { minimumPollers: 10 } });
      expect(() => template(stack)).toThrow(
        'consumeQueue(Test/Jobs) provisionedPollers.minimumPollers (10) is above the maximumPollers (4) derived from the function\'s reserved concurrency (45) '
        + 'at 10 invocations a poller: lower minimumPollers to 4 or less');
    });

    test('a token reservation leaves the maximum to the caller', () => {
      const { stack, add } = setup();
      const reserved = new CfnParameter(stack, 'Reserved', { type: 'Number', default: 50 }).valueAsNumber;
      add('Consumer', { reservedConcurrentExecutions: reserved }).consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: {} });
      expect(() => template(stack)).toThrow(
        'consumeQueue(Test/Jobs) cannot derive provisionedPollers.maximumPollers: the function\'s reserved concurrency is a token, or it has none and the proxy pool size is unknown at synth; '
        + 'set provisionedPollers.maximumPollers');
    });

    test('warns when the maximum lets the queue run more invocations than the reserved concurrency', () => {
      const { stack, add } = setup(reportOnly);
      add('Consumer', { reservedConcurrentExecutions: 25 }).consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: { maximumPollers: 5 } });
      Annotations.fromStack(stack).hasWarning('/Test/Consumer',
        'consumeQueue(Test/Jobs) provisionedPollers.maximumPollers (5, up to 50 concurrent invocations) is above the function\'s reserved concurrency (25): '
        + 'Lambda throttles the poller above it, and messages received but not processed use up their receives and end in the dead-letter queue; '
        + 'lower provisionedPollers.maximumPollers to 2 or raise reservedConcurrentExecutions to 50 [ack: cdk-serverless-rds:QueueConcurrencyAboveReservation]');
    });

    test('asks for a larger reservation when lowering the maximum would put it below the minimum', () => {
      const { stack, add } = setup(reportOnly);
      add('Consumer', { reservedConcurrentExecutions: 25 }).consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: { minimumPollers: 4, maximumPollers: 5 } });
      Annotations.fromStack(stack).hasWarning('/Test/Consumer', Match.stringLikeRegexp(
        'maximumPollers \\(5, up to 50 concurrent invocations\\) is above the function\'s reserved concurrency \\(25\\).*; raise reservedConcurrentExecutions to at least 50 '));
    });

    test('warns when the reservation is below what the fewest pollers can run', () => {
      const { stack, add } = setup(reportOnly);
      add('Consumer', { reservedConcurrentExecutions: 15 }).consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: {} });
      Annotations.fromStack(stack).hasWarning('/Test/Consumer', Match.stringLikeRegexp(
        'maximumPollers \\(2, up to 20 concurrent invocations\\) is above the function\'s reserved concurrency \\(15\\).*; raise reservedConcurrentExecutions to at least 20 '));
    });

    test('compares a derived maximum with a derived reservation, known once every function exists', () => {
      const { stack, add } = setup({ context: { ...reportOnly.context, 'cdk-serverless-rds:accountConcurrencyLimit': 1000 } });
      const fn = add('Consumer');
      fn.consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: { maximumPollers: 40 } });
      add('Api');
      // The pool of 576 connections split between two functions: 288 each, 28 pollers.
      Annotations.fromStack(stack).hasWarning('/Test/Consumer', Match.stringLikeRegexp(
        'maximumPollers \\(40, up to 400 concurrent invocations\\) is above the function\'s reserved concurrency \\(288\\).*lower provisionedPollers.maximumPollers to 28 '));
    });

    test('does not warn with the derived maximum', () => {
      const { stack, add } = setup(reportOnly);
      add('Consumer', { reservedConcurrentExecutions: 45 }).consumeQueue(queueWithDlq(stack, 'Jobs'), { provisionedPollers: {} });
      Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('QueueConcurrencyAboveReservation'));
    });
  });
});

describe('kill switch', () => {
  test('a stack parameter, off by default, sets reserved concurrency to 0 when on', () => {
    const { stack, add } = setup();
    const fn = add('Items', { reservedConcurrentExecutions: 12 });
    const t = template(stack);
    expect(fn.killSwitchParameter!.logicalId).toBeDefined();
    const parameterId = stack.resolve(fn.killSwitchParameter!.logicalId);
    expect(parameterId).toBe('ItemsKillSwitch');
    t.hasParameter('ItemsKillSwitch', { Type: 'String', Default: 'off', AllowedValues: ['off', 'on'] });
    t.hasCondition('ItemsKillSwitchOff', { 'Fn::Equals': [{ Ref: 'ItemsKillSwitch' }, 'off'] });
    t.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: { 'Fn::If': ['ItemsKillSwitchOff', 12, 0] } });
  });

  test('wraps the derived reserved concurrency too', () => {
    const { stack, add } = setup({ context: { 'cdk-serverless-rds:accountConcurrencyLimit': 1000 } });
    add('Items');
    template(stack).hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: { 'Fn::If': ['ItemsKillSwitchOff', Match.anyValue(), 0] },
    });
    const fnProps = Object.values(template(stack).findResources('AWS::Lambda::Function'))
      .find((r: any) => r.Properties.Environment?.Variables?.DATABASE_USER) as any;
    expect(typeof fnProps.Properties.ReservedConcurrentExecutions['Fn::If'][1]).toBe('number');
  });

  test('killSwitch: false adds no parameter', () => {
    const { stack, add } = setup();
    const fn = add('Items', { killSwitch: false, reservedConcurrentExecutions: 12 });
    expect(fn.killSwitchParameter).toBeUndefined();
    expect(template(stack).toJSON().Parameters ?? {}).not.toHaveProperty('ItemsKillSwitch');
    template(stack).hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 12 });
  });

  test('a nested function gets a parameter named after its path in the stack', () => {
    const { stack } = setup();
    const network = new DatabaseNetwork(stack, 'Net2');
    const database = new ProxiedDatabase(stack, 'Db2', { network });
    const group = new (require('constructs').Construct)(stack, 'Orders');
    const fn = new DatabaseFunction(group, 'Api', { database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE });
    expect(stack.resolve(fn.killSwitchParameter!.logicalId)).toBe('OrdersApiKillSwitch');
  });
});

describe('account concurrency', () => {
  test('throws at synth when the app\'s reservations leave fewer than 100 unreserved of the account limit in context', () => {
    const { stack, add } = setup({ context: { 'cdk-serverless-rds:accountConcurrencyLimit': 1000 } });
    add('A', { reservedConcurrentExecutions: 20 });
    const big = new lambda.Function(stack, 'Big', {
      runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}'),
      reservedConcurrentExecutions: 881,
    });
    expect(big).toBeDefined();
    expect(() => template(stack)).toThrow(/the app reserves 901 concurrent executions \(largest: Test\/Big\/Resource: 881.*leaves fewer than the 100 that Lambda keeps unreserved of the account limit 1000/);
  });

  test('names the whole limit as what Lambda keeps unreserved of a limit below 100', () => {
    const { stack, add } = setup({ context: { 'cdk-serverless-rds:accountConcurrencyLimit': 50 } });
    add('Stopped', { reservedConcurrentExecutions: 0 });
    inlineFunction(stack, 'Capped', { reservedConcurrentExecutions: 5 });
    expect(() => template(stack)).toThrow(
      'the app reserves 5 concurrent executions (largest: Test/Capped/Resource: 5, Test/Stopped/Function/Resource: 0), which leaves fewer than the 50 that Lambda keeps unreserved of the account limit 50 '
      + '(context cdk-serverless-rds:accountConcurrencyLimit): lower reservedConcurrentExecutions, or raise the account limit (Service Quotas) and the context with it');
  });

  test('without the account limit in context the app\'s total is not checked: only the account knows what is left', () => {
    const { stack, add } = setup();
    add('A', { reservedConcurrentExecutions: 20 });
    inlineFunction(stack, 'Big', { reservedConcurrentExecutions: 880 });
    expect(() => template(stack)).not.toThrow();
  });

  test('a raised account limit in context admits more reservations', () => {
    const { stack, add } = setup({ context: { 'cdk-serverless-rds:accountConcurrencyLimit': 3000 } });
    add('A', { reservedConcurrentExecutions: 20 });
    new lambda.Function(stack, 'Big', {
      runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}'),
      reservedConcurrentExecutions: 880,
    });
    expect(() => template(stack)).not.toThrow();
  });
});
