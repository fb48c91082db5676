import { CfnParameter, Stack, TimeZone } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import {
  DatabaseFunction, DatabaseFunctionProps, DatabaseNetwork, ProvisionedConcurrencyOptions, ProvisionedConcurrencySchedule, ProxiedDatabase, UtilizationStatistic,
} from '../lib';
import { addProvisionedConcurrency } from '../lib/function/private/provisioned-concurrency';
import { HANDLER_ENTRY, inlineFunction, LOCK_FILE, resourcePermissions, template, TestAppOptions, testStack } from './support/app';

type FunctionOptions = Omit<DatabaseFunctionProps, 'database' | 'entry' | 'databaseUser'>;

function setup(appOptions: TestAppOptions = {}) {
  const stack = testStack(appOptions);
  const network = new DatabaseNetwork(stack, 'Network');
  const database = new ProxiedDatabase(stack, 'Database', { network });
  const add = (provisionedConcurrency: ProvisionedConcurrencyOptions, options: FunctionOptions = {}) => new DatabaseFunction(stack, 'Items', {
    database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, provisionedConcurrency, ...options,
  });
  return { stack, add };
}

/** One function with provisioned concurrency, synthesized. */
function synth(provisionedConcurrency: ProvisionedConcurrencyOptions, options: FunctionOptions = {}, appOptions: TestAppOptions = {}) {
  const { stack, add } = setup(appOptions);
  const fn = add(provisionedConcurrency, options);
  const t = template(stack);
  return { stack, fn, t, functionOn: killSwitchOff(t, fn) };
}

/** Warnings fail synth under cdk.json's settings; these tests read them from the report instead. */
const reportOnly: TestAppOptions = { context: { '@aws-cdk/core:failSynthOnValidationErrors': false } };

/** The logical id of the condition that is true while the function's kill switch is off. */
function killSwitchOff(t: Template, fn: DatabaseFunction): string | undefined {
  const parameter = fn.killSwitchParameter && Stack.of(fn).resolve(fn.killSwitchParameter.logicalId);
  const conditions: { [id: string]: any } = t.toJSON().Conditions ?? {};
  return Object.keys(conditions).find(id => JSON.stringify(conditions[id]) === JSON.stringify({ 'Fn::Equals': [{ Ref: parameter }, 'off'] }));
}

/** The logical id of the Lambda function the construct created. */
function functionId(fn: DatabaseFunction): string {
  return Stack.of(fn).getLogicalId(fn.lambdaFunction.node.defaultChild as lambda.CfnFunction);
}
const weekdays8am = appscaling.Schedule.cron({ weekDay: 'MON-FRI', hour: '8', minute: '0' });
const weekdays8pm = appscaling.Schedule.cron({ weekDay: 'MON-FRI', hour: '20', minute: '0' });

function onlyResource(t: Template, type: string): { [key: string]: any } {
  const resources = Object.values(t.findResources(type));
  expect(resources).toHaveLength(1);
  return resources[0];
}

/** The account limit that leaves the familiar 900 to reserve. */
const limit1000: TestAppOptions = { context: { 'cdk-serverless-rds:accountConcurrencyLimit': 1000 } };

describe('provisioned concurrency on an alias', () => {
  const { stack, fn, t, functionOn } = synth({ minCapacity: 2 });

  test('points the alias live at the current version and leaves its provisioned concurrency and the reservation to a custom resource', () => {
    const versionId = Object.keys(t.findResources('AWS::Lambda::Version'))[0];
    expect(onlyResource(t, 'AWS::Lambda::Version').Properties.FunctionName).toEqual({ Ref: functionId(fn) });
    const alias = onlyResource(t, 'AWS::Lambda::Alias');
    expect(alias.Properties).toEqual({ Name: 'live', FunctionName: { Ref: functionId(fn) }, FunctionVersion: { 'Fn::GetAtt': [versionId, 'Version'] } });
    expect(t.toJSON().Resources[functionId(fn)].Properties.ReservedConcurrentExecutions).toBeUndefined();
    const concurrency = onlyResource(t, 'Custom::FunctionConcurrency');
    expect(concurrency.Properties).toEqual({
      // The stack's custom resource function answers CloudFormation itself.
      ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^CdkServerlessRdsCustomResourcesHandler/), 'Arn'] },
      FunctionName: { Ref: functionId(fn) },
      Qualifier: 'live',
      FunctionVersion: { 'Fn::GetAtt': [versionId, 'Version'] },
      ProvisionedConcurrentExecutions: 2,
      KillSwitch: { Ref: 'ItemsKillSwitch' },
      // The role the custom resource function assumes for this resource.
      PermissionsRoleArn: { 'Fn::GetAtt': [expect.stringMatching(/^ItemsConcurrencySettingsRole/), 'Arn'] },
    });
    expect(concurrency.DependsOn).toContain(Object.keys(t.findResources('AWS::Lambda::Alias'))[0]);
    expect(functionOn).toBeDefined();
  });

  test('the stack\'s custom resource function may set exactly this function\'s reservation and this alias\'s provisioned concurrency, from outside the VPC', () => {
    const handler = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('CdkServerlessRdsCustomResourcesHandler'))![1];
    expect(handler.Properties.VpcConfig).toBeUndefined();
    // Lambda's client finds the endpoint of the handler's Region and partition itself.
    expect(handler.Properties.Environment).toBeUndefined();
    const permissions = resourcePermissions(t, onlyResource(t, 'Custom::FunctionConcurrency') as any);
    const aliasId = Object.keys(t.findResources('AWS::Lambda::Alias'))[0];
    expect(permissions.statements).toEqual([
      { Effect: 'Allow', Action: ['lambda:DeleteFunctionConcurrency', 'lambda:GetFunctionConcurrency', 'lambda:PutFunctionConcurrency'], Resource: { 'Fn::GetAtt': [functionId(fn), 'Arn'] } },
      {
        Effect: 'Allow',
        Action: ['lambda:DeleteProvisionedConcurrencyConfig', 'lambda:GetProvisionedConcurrencyConfig', 'lambda:PutProvisionedConcurrencyConfig'],
        Resource: { Ref: aliasId },
      },
    ]);
    // In the role of the resource, which only the custom resource function's role may assume, and which the resource comes after (and is deleted before, so its Delete may still release the allocation).
    expect(permissions.trust).toEqual([{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: { 'Fn::GetAtt': [handler.Properties.Role['Fn::GetAtt'][0], 'Arn'] } } }]);
    expect(onlyResource(t, 'Custom::FunctionConcurrency').DependsOn).toEqual(expect.arrayContaining([permissions.roleId, ...permissions.policyIds]));
    expect(stack.resolve((fn.alias!.node.defaultChild as lambda.CfnAlias).ref)).toEqual({ Ref: aliasId });
  });

  test('exposes the alias as what callers invoke, and adds no auto scaling for a fixed capacity', () => {
    expect(fn.alias).toBeInstanceOf(lambda.Alias);
    expect(fn.alias!.aliasName).toBe('live');
    expect(fn.invokeTarget).toBe(fn.alias);
    expect(fn.scalableTarget).toBeUndefined();
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 0);
  });

  test('estimates the monthly cost of minCapacity at the arm64 price and outputs it while the kill switch is off', () => {
    // 1 GB x 2 environments x 730 h x 3,600 s x $0.0000033334 per GB-second = $17.52
    expect(fn.provisionedMonthlyCostUsd).toBe(17.52);
    const outputs = t.findOutputs('*');
    const [id] = Object.keys(outputs).filter(key => key.startsWith('ItemsProvisionedConcurrencyMonthlyCost'));
    expect(outputs[id]).toEqual({
      Value: '17.52',
      Condition: functionOn,
      Description: 'Estimated USD per month for 2 provisioned environment(s) of 1024 MB (arm64) kept warm 730 hours at $0.0000033334 per GB-second, '
        + 'the us-east-1 price; requests, invocation duration and capacity above minCapacity are billed on top',
    });
  });

  test('warns about nothing without a reservation to compare with', () => {
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('cdk-serverless-rds:NoOnDemandHeadroom'));
  });
});

describe('many functions with provisioned concurrency in one stack', () => {
  test('twelve synthesize, more than the managed policies one role may hold, each resource with its own role', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network });
    for (let i = 0; i < 12; i++) {
      new DatabaseFunction(stack, `Items${i}`, {
        database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, provisionedConcurrency: { minCapacity: 1 },
      });
    }
    const t = template(stack);
    const resources = Object.values(t.findResources('Custom::FunctionConcurrency'));
    expect(resources).toHaveLength(12);
    expect(new Set(resources.map(resource => resourcePermissions(t, resource as any).roleId)).size).toBe(12);
  });
});

describe('the reservation the custom resource applies', () => {
  test('is the explicit reservation', () => {
    const { t } = synth({ minCapacity: 2 }, { reservedConcurrentExecutions: 30 });
    expect(onlyResource(t, 'Custom::FunctionConcurrency').Properties.ReservedConcurrentExecutions).toBe(30);
  });

  test('is the derived pool share when the context gives the account limit', () => {
    const { fn, t } = synth({ minCapacity: 2 }, {}, limit1000);
    expect(onlyResource(t, 'Custom::FunctionConcurrency').Properties.ReservedConcurrentExecutions).toBe(576);
    expect(t.toJSON().Resources[functionId(fn)].Properties.ReservedConcurrentExecutions).toBeUndefined();
  });
});

describe('versions', () => {
  const versionIds = (environment: { [key: string]: string }) => Object.keys(synth({ minCapacity: 1 }, { environment }).t.findResources('AWS::Lambda::Version'));

  test('the same code and configuration keep the same version', () => {
    const first = versionIds({ FEATURE: 'a' });
    expect(first).toHaveLength(1);
    expect(versionIds({ FEATURE: 'a' })).toEqual(first);
  });

  test('a changed environment variable publishes a new version', () => {
    expect(versionIds({ FEATURE: 'b' })).not.toEqual(versionIds({ FEATURE: 'a' }));
  });
});

describe('alias options', () => {
  test('aliasName names the alias and the scaling resource', () => {
    const { fn, t } = synth({ aliasName: 'prod', minCapacity: 1, maxCapacity: 3 });
    expect(fn.alias!.aliasName).toBe('prod');
    t.hasResourceProperties('AWS::Lambda::Alias', { Name: 'prod' });
    const target = onlyResource(t, 'AWS::ApplicationAutoScaling::ScalableTarget');
    expect(JSON.stringify(target.Properties.ResourceId)).toMatch(/"function:".*":prod"/);
  });

  test('without the kill switch the provisioned concurrency and the scaling resources are unconditional', () => {
    const { t } = synth({ minCapacity: 2, maxCapacity: 4 }, { killSwitch: false });
    expect(onlyResource(t, 'Custom::FunctionConcurrency').Properties).toMatchObject({ ProvisionedConcurrentExecutions: 2, KillSwitch: 'off' });
    expect(onlyResource(t, 'AWS::ApplicationAutoScaling::ScalableTarget').Condition).toBeUndefined();
    expect(onlyResource(t, 'AWS::ApplicationAutoScaling::ScalingPolicy').Condition).toBeUndefined();
    expect(Object.values(t.findOutputs('*')).find(o => o.Value === '17.52')!.Condition).toBeUndefined();
  });
});

describe('target tracking', () => {
  test('tracks average utilization at 0.7 between minCapacity and maxCapacity, only while the kill switch is off', () => {
    const { stack, fn, t, functionOn } = synth({ minCapacity: 2, maxCapacity: 10 });
    const target = onlyResource(t, 'AWS::ApplicationAutoScaling::ScalableTarget');
    expect(target.Condition).toBe(functionOn);
    expect(target.Properties).toMatchObject({
      MinCapacity: 2,
      MaxCapacity: 10,
      ScalableDimension: 'lambda:function:ProvisionedConcurrency',
      ServiceNamespace: 'lambda',
      RoleARN: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' },
        ':role/aws-service-role/lambda.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency']] },
    });
    expect(JSON.stringify(target.Properties.ResourceId)).toMatch(/"function:".*":live"/);
    // Registering the target moves the allocation into its range, so only after the custom resource has set the reservation.
    expect(target.DependsOn).toEqual([Object.keys(t.findResources('Custom::FunctionConcurrency'))[0]]);
    expect(stack.resolve((fn.scalableTarget!.node.defaultChild as appscaling.CfnScalableTarget).minCapacity)).toBe(2);
    const policy = onlyResource(t, 'AWS::ApplicationAutoScaling::ScalingPolicy');
    expect(policy.Condition).toBe(functionOn);
    expect(policy.Properties).toMatchObject({
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'LambdaProvisionedConcurrencyUtilization' },
        TargetValue: 0.7,
      },
    });
  });

  test('utilizationTarget sets the target value', () => {
    const { t } = synth({ minCapacity: 2, maxCapacity: 10, utilizationTarget: 0.5 });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 0.5 }),
    });
  });

  test('the Maximum statistic tracks a customized ProvisionedConcurrencyUtilization metric of the alias', () => {
    const { fn, t, functionOn } = synth({ minCapacity: 2, maxCapacity: 10, utilizationStatistic: UtilizationStatistic.MAXIMUM });
    const functionRef = { Ref: functionId(fn) };
    const policy = onlyResource(t, 'AWS::ApplicationAutoScaling::ScalingPolicy');
    expect(policy.Condition).toBe(functionOn);
    expect(policy.Properties.TargetTrackingScalingPolicyConfiguration).toEqual({
      CustomizedMetricSpecification: {
        Dimensions: [
          { Name: 'FunctionName', Value: functionRef },
          { Name: 'Resource', Value: { 'Fn::Join': ['', [functionRef, ':live']] } },
        ],
        MetricName: 'ProvisionedConcurrencyUtilization',
        Namespace: 'AWS/Lambda',
        Statistic: 'Maximum',
      },
      TargetValue: 0.7,
    });
  });
});

describe('scheduled scaling', () => {
  test('schedules change the range for known peaks, with a target but no tracking policy for a fixed capacity', () => {
    const start = new Date('2027-01-04T00:00:00Z');
    const end = new Date('2027-12-31T00:00:00Z');
    const { fn, t, functionOn } = synth({
      minCapacity: 2,
      schedules: [
        { name: 'business-hours', schedule: weekdays8am, minCapacity: 10, maxCapacity: 20, timeZone: TimeZone.EUROPE_BERLIN, startTime: start, endTime: end },
        { name: 'evening', schedule: weekdays8pm, minCapacity: 2, maxCapacity: 2 },
      ],
    });
    expect(fn.scalableTarget).toBeInstanceOf(appscaling.ScalableTarget);
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 0);
    const target = onlyResource(t, 'AWS::ApplicationAutoScaling::ScalableTarget');
    expect(target.Condition).toBe(functionOn);
    expect(target.Properties).toMatchObject({ MinCapacity: 2, MaxCapacity: 2 });
    expect(target.Properties.ScheduledActions).toEqual([
      {
        ScheduledActionName: 'business-hours',
        Schedule: 'cron(0 8 ? * MON-FRI *)',
        ScalableTargetAction: { MinCapacity: 10, MaxCapacity: 20 },
        Timezone: 'Europe/Berlin',
        StartTime: '2027-01-04T00:00:00Z',
        EndTime: '2027-12-31T00:00:00Z',
      },
      { ScheduledActionName: 'evening', Schedule: 'cron(0 20 ? * MON-FRI *)', ScalableTargetAction: { MinCapacity: 2, MaxCapacity: 2 } },
    ]);
  });

  test('schedules and target tracking combine on one scalable target', () => {
    const { t } = synth({ minCapacity: 1, maxCapacity: 5, schedules: [{ name: 'peak', schedule: weekdays8am, minCapacity: 5, maxCapacity: 15 }] });
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 1);
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 1);
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 1, MaxCapacity: 5, ScheduledActions: [Match.objectLike({ ScheduledActionName: 'peak' })],
    });
  });

  test('a schedule may scale to 0: deploys keep working, since the alias itself holds no provisioned concurrency', () => {
    const { stack, t } = synth({ minCapacity: 1, schedules: [{ name: 'night', schedule: weekdays8pm, minCapacity: 0, maxCapacity: 0 }] }, {}, reportOnly);
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ScheduledActions: [Match.objectLike({ ScalableTargetAction: { MinCapacity: 0, MaxCapacity: 0 } })],
    });
    expect(onlyResource(t, 'AWS::Lambda::Alias').Properties.ProvisionedConcurrencyConfig).toBeUndefined();
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

describe('reserved concurrency', () => {
  test('fails synth when maxCapacity exceeds the explicit reservation', () => {
    const { stack, add } = setup();
    add({ minCapacity: 2, maxCapacity: 8 }, { reservedConcurrentExecutions: 5 });
    expect(() => template(stack)).toThrow(
      'provisionedConcurrency.maxCapacity (8) exceeds reservedConcurrentExecutions (5), which provisioned concurrency counts against: '
      + 'raise reservedConcurrentExecutions to at least 8 or lower provisionedConcurrency.maxCapacity');
  });

  test('fails synth when a schedule exceeds the reservation and names that schedule', () => {
    const { stack, add } = setup();
    add({ minCapacity: 2, schedules: [{ name: 'peak', schedule: weekdays8am, minCapacity: 6, maxCapacity: 12 }] }, { reservedConcurrentExecutions: 10 });
    expect(() => template(stack)).toThrow(
      "provisionedConcurrency.schedules['peak'].maxCapacity (12) exceeds reservedConcurrentExecutions (10)");
  });

  test('fails synth when maxCapacity exceeds the derived reservation (the proxy pool share)', () => {
    const { stack, add } = setup(limit1000);
    add({ minCapacity: 2, maxCapacity: 600 });
    expect(() => template(stack)).toThrow('provisionedConcurrency.maxCapacity (600) exceeds reservedConcurrentExecutions (576)');
  });

  test('warns when provisioned concurrency can use up the whole reservation', () => {
    const { stack, add } = setup(reportOnly);
    add({ minCapacity: 2, maxCapacity: 5 }, { reservedConcurrentExecutions: 5 });
    Annotations.fromStack(stack).hasWarning('/Test/Items', Match.stringLikeRegexp(
      'provisionedConcurrency.maxCapacity \\(5\\) equals reservedConcurrentExecutions \\(5\\): at that capacity no on-demand environment is left for bursts.*cdk-serverless-rds:NoOnDemandHeadroom'));
  });

  test('a capacity below the reservation passes', () => {
    const { stack, add } = setup();
    add({ minCapacity: 2, maxCapacity: 4 }, { reservedConcurrentExecutions: 5 });
    expect(() => template(stack)).not.toThrow();
  });

  test('without a reservation or a known account limit, any capacity passes: it comes out of the unreserved pool', () => {
    const { stack, add } = setup();
    add({ minCapacity: 2, maxCapacity: 2000 });
    expect(() => template(stack)).not.toThrow();
  });

  test('throws when the account limit in context leaves nothing to set aside for provisioned concurrency', () => {
    const { add } = setup({ context: { 'cdk-serverless-rds:accountConcurrencyLimit': 10 } });
    expect(() => add({ minCapacity: 2 })).toThrow(
      'Test/Items: provisionedConcurrency needs concurrency that the account can set aside, but its limit in context cdk-serverless-rds:accountConcurrencyLimit (10) leaves none: '
      + 'Lambda keeps 100 unreserved (all of a limit of 100 or less); raise the account\'s limit (Service Quotas) and the context with it, or remove provisionedConcurrency');
  });
});

describe('validation', () => {
  const peak = (capacities: { minCapacity?: number; maxCapacity?: number }, name = 'peak') => ({ name, schedule: weekdays8am, ...capacities });
  const cases: Array<[string, ProvisionedConcurrencyOptions, string]> = [
    ['minCapacity 0', { minCapacity: 0 }, 'provisionedConcurrency.minCapacity (0) must be between 1 and 900: set provisionedConcurrency.minCapacity within that range'],
    ['a fractional minCapacity', { minCapacity: 1.5 }, 'provisionedConcurrency.minCapacity (1.5) must be a whole number'],
    ['minCapacity above what the account can reserve', { minCapacity: 901 }, 'provisionedConcurrency.minCapacity (901) must be between 1 and 900'],
    ['maxCapacity below minCapacity', { minCapacity: 5, maxCapacity: 3 },
      'provisionedConcurrency.maxCapacity (3) is below provisionedConcurrency.minCapacity (5): raise maxCapacity to at least 5 or lower minCapacity'],
    ['utilizationTarget below 0.1', { minCapacity: 1, maxCapacity: 3, utilizationTarget: 0.05 },
      'provisionedConcurrency.utilizationTarget (0.05) must be between 0.1 and 0.9'],
    ['utilizationTarget above 0.9', { minCapacity: 1, maxCapacity: 3, utilizationTarget: 0.95 },
      'provisionedConcurrency.utilizationTarget (0.95) must be between 0.1 and 0.9'],
    ['utilizationTarget without a range to track in', { minCapacity: 2, utilizationTarget: 0.5 },
      'provisionedConcurrency.utilizationTarget has no effect: target tracking runs only when maxCapacity is above minCapacity (2); set provisionedConcurrency.maxCapacity or remove utilizationTarget'],
    ['utilizationStatistic with maxCapacity equal to minCapacity', { minCapacity: 2, maxCapacity: 2, utilizationStatistic: UtilizationStatistic.MAXIMUM },
      'provisionedConcurrency.utilizationStatistic has no effect'],
    ['the alias name $LATEST', { aliasName: '$LATEST', minCapacity: 1 }, "provisionedConcurrency.aliasName ('$LATEST') is not a valid Lambda alias name"],
    ['an all-digit alias name', { aliasName: '42', minCapacity: 1 }, "provisionedConcurrency.aliasName ('42') is not a valid Lambda alias name: use 1 to 128 letters, digits, hyphens or underscores, not only digits (e.g. 'live')"],
    ['an alias name with a dot', { aliasName: 'v1.2', minCapacity: 1 }, "provisionedConcurrency.aliasName ('v1.2') is not a valid Lambda alias name"],
    ['an alias name over 128 characters', { aliasName: 'a'.repeat(129), minCapacity: 1 }, `provisionedConcurrency.aliasName ('${'a'.repeat(129)}') is not a valid Lambda alias name`],
    ['two schedules with one name', { minCapacity: 1, schedules: [peak({ minCapacity: 1 }), peak({ maxCapacity: 1 })] },
      "provisionedConcurrency.schedules has two schedules named 'peak': give each schedule its own name"],
    ['a schedule name with a colon', { minCapacity: 1, schedules: [peak({ minCapacity: 1 }, 'peak:am')] },
      "provisionedConcurrency.schedules name ('peak:am') is not a valid scheduled action name"],
    ['a schedule without capacities', { minCapacity: 1, schedules: [peak({})] },
      "provisionedConcurrency.schedules['peak'] sets neither minCapacity nor maxCapacity, so it changes nothing: set at least one of them"],
    ['a schedule with minCapacity above its maxCapacity', { minCapacity: 1, schedules: [peak({ minCapacity: 8, maxCapacity: 4 })] },
      "provisionedConcurrency.schedules['peak'].minCapacity (8) is above its maxCapacity (4): raise maxCapacity to at least 8 or lower minCapacity"],
    ['a schedule raising only the minimum above maxCapacity', { minCapacity: 1, maxCapacity: 4, schedules: [peak({ minCapacity: 8 })] },
      "provisionedConcurrency.schedules['peak'].minCapacity (8) is above provisionedConcurrency.maxCapacity (4) and the schedule sets no maxCapacity: set provisionedConcurrency.schedules['peak'].maxCapacity to at least 8"],
    ['a schedule lowering only the maximum below minCapacity', { minCapacity: 3, schedules: [peak({ maxCapacity: 1 })] },
      "provisionedConcurrency.schedules['peak'].maxCapacity (1) is below provisionedConcurrency.minCapacity (3) and the schedule sets no minCapacity: set provisionedConcurrency.schedules['peak'].minCapacity to at most 1"],
    ['a schedule with a negative capacity', { minCapacity: 1, schedules: [peak({ minCapacity: -1, maxCapacity: 2 })] },
      "provisionedConcurrency.schedules['peak'].minCapacity (-1) must be between 0 and 900"],
    ['a schedule that ends before it starts',
      { minCapacity: 1, schedules: [{ ...peak({ minCapacity: 1 }), startTime: new Date('2030-01-02T00:00:00Z'), endTime: new Date('2030-01-01T00:00:00Z') }] },
      "provisionedConcurrency.schedules['peak'].endTime (2030-01-01T00:00:00.000Z) is not after its startTime (2030-01-02T00:00:00.000Z), "
      + 'so the action would never be active: set endTime after startTime'],
    ['a schedule that ends when it starts',
      { minCapacity: 1, schedules: [{ ...peak({ minCapacity: 1 }), startTime: new Date('2030-01-01T00:00:00Z'), endTime: new Date('2030-01-01T00:00:00Z') }] },
      "provisionedConcurrency.schedules['peak'].endTime (2030-01-01T00:00:00.000Z) is not after its startTime (2030-01-01T00:00:00.000Z)"],
    ['a schedule with an invalid date', { minCapacity: 1, schedules: [{ ...peak({ minCapacity: 1 }), startTime: new Date('next monday') }] },
      "provisionedConcurrency.schedules['peak'].startTime (Invalid Date) is not a valid date: pass a Date, e.g. new Date('2030-01-01T00:00:00Z')"],
    ['no minCapacity (JavaScript)', {} as ProvisionedConcurrencyOptions,
      'provisionedConcurrency.minCapacity is required but missing: pass provisionedConcurrency.minCapacity (the provisioned environments kept warm, at least 1)'],
    ['a schedule without its schedule (JavaScript)', { minCapacity: 1, schedules: [{ name: 'peak', minCapacity: 2 } as ProvisionedConcurrencySchedule] },
      'provisionedConcurrency.schedules[0].schedule is required but missing: pass provisionedConcurrency.schedules[0].schedule (when it runs, an appscaling.Schedule)'],
  ];

  test.each(cases)('throws on %s', (_name, options, message) => {
    const { add } = setup(limit1000);
    expect(() => add(options)).toThrow(`Test/Items: ${message}`);
  });

  test('without a known account limit, capacities have no upper bound but must be 1 or more', () => {
    const { add } = setup();
    expect(() => add({ minCapacity: 0 })).toThrow(
      'Test/Items: provisionedConcurrency.minCapacity (0) must be 1 or more: set provisionedConcurrency.minCapacity to at least 1');
  });

  test('accepts tokens for every validated number and leaves the cost unknown when minCapacity is a token', () => {
    const { stack, add } = setup();
    const number = (name: string, value: number) => new CfnParameter(stack, name, { type: 'Number', default: value }).valueAsNumber;
    const fn = add({
      minCapacity: number('MinCapacity', 1),
      maxCapacity: number('MaxCapacity', 4),
      utilizationTarget: number('Target', 0.6),
      schedules: [{ name: 'peak', schedule: weekdays8am, minCapacity: number('PeakMin', 2), maxCapacity: number('PeakMax', 6) }],
    }, { reservedConcurrentExecutions: number('Reserved', 10) });
    const t = template(stack);
    const functionOn = killSwitchOff(t, fn);
    expect(fn.provisionedMonthlyCostUsd).toBeUndefined();
    expect(Object.keys(t.findOutputs('*')).filter(id => id.includes('ProvisionedConcurrencyMonthlyCost'))).toEqual([]);
    expect(onlyResource(t, 'Custom::FunctionConcurrency').Properties).toMatchObject({
      ProvisionedConcurrentExecutions: { Ref: 'MinCapacity' }, ReservedConcurrentExecutions: { Ref: 'Reserved' },
    });
    expect(onlyResource(t, 'AWS::ApplicationAutoScaling::ScalableTarget').Condition).toBe(functionOn);
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: { Ref: 'MinCapacity' },
      MaxCapacity: { Ref: 'MaxCapacity' },
      ScheduledActions: [Match.objectLike({ ScalableTargetAction: { MinCapacity: { Ref: 'PeakMin' }, MaxCapacity: { Ref: 'PeakMax' } } })],
    });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: { Ref: 'Target' } }),
    });
  });

  test('accepts a token alias name', () => {
    const { stack, add } = setup();
    const name = new CfnParameter(stack, 'AliasName', { type: 'String', default: 'live' }).valueAsString;
    add({ aliasName: name, minCapacity: 1 });
    template(stack).hasResourceProperties('AWS::Lambda::Alias', { Name: { Ref: 'AliasName' } });
  });

  test('leaves the cost unknown when memory is a token', () => {
    const { stack, add } = setup();
    const memory = new CfnParameter(stack, 'Memory', { type: 'Number', default: 1024 }).valueAsNumber;
    expect(add({ minCapacity: 1 }, { memorySize: memory }).provisionedMonthlyCostUsd).toBeUndefined();
  });
});

describe('monthly cost by architecture', () => {
  const plainContext = (stack: Stack, memorySize: number, architecture: lambda.Architecture) => ({
    memorySize, architecture, reservedConcurrency: () => undefined, logRetention: logs.RetentionDays.ONE_YEAR, logEncryptionKey: new kms.Key(stack, 'LogKey'),
  });
  const cost = (architecture: lambda.Architecture, memorySize: number, minCapacity: number) => {
    const stack = testStack();
    const fn = inlineFunction(stack, 'Fn', { architecture, memorySize });
    return addProvisionedConcurrency(stack, fn, { minCapacity }, plainContext(stack, memorySize, architecture)).monthlyCostUsd;
  };

  test('x86_64 is priced at $0.0000041667 per GB-second', () => {
    // 2 GB x 3 environments x 2,628,000 s x $0.0000041667 = $65.70
    expect(cost(lambda.Architecture.X86_64, 2048, 3)).toBe(65.7);
  });

  test('a DatabaseFunction on x86_64 is estimated at the x86_64 price', () => {
    const { add } = setup();
    const fn = add({ minCapacity: 2 }, { architecture: lambda.Architecture.X86_64 });
    // 1 GB x 2 environments x 2,628,000 s x $0.0000041667 = $21.90
    expect(fn.provisionedMonthlyCostUsd).toBe(21.9);
    const outputs = template(Stack.of(fn)).findOutputs('*');
    const [id] = Object.keys(outputs).filter(key => key.startsWith('ItemsProvisionedConcurrencyMonthlyCost'));
    expect(outputs[id].Description).toContain('2 provisioned environment(s) of 1024 MB (x86_64) kept warm 730 hours at $0.0000041667 per GB-second');
  });

  test('arm64 is priced at $0.0000033334 per GB-second', () => {
    // 0.5 GB x 4 environments x 2,628,000 s x $0.0000033334 = $17.52
    expect(cost(lambda.Architecture.ARM_64, 512, 4)).toBe(17.52);
  });

  test('works on a plain function without a kill switch and outputs the figure under the scope', () => {
    const stack = new Stack(undefined, 'Plain');
    const fn = inlineFunction(stack, 'Fn', { architecture: lambda.Architecture.ARM_64, memorySize: 1024 });
    const { alias } = addProvisionedConcurrency(stack, fn, { minCapacity: 1 }, plainContext(stack, 1024, lambda.Architecture.ARM_64));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live' });
    expect(onlyResource(t, 'Custom::FunctionConcurrency').Properties).toMatchObject({ ProvisionedConcurrentExecutions: 1, KillSwitch: 'off' });
    expect(onlyResource(t, 'Custom::FunctionConcurrency').Properties.ReservedConcurrentExecutions).toBeUndefined();
    t.hasOutput('ProvisionedConcurrencyMonthlyCost', { Value: '8.76' });
    expect(alias.node.scope).toBe(stack);
  });
});
