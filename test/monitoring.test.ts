import { CfnParameter, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  AlarmTopic, DatabaseDashboard, DatabaseEngine, DatabaseFunction, DatabaseFunctionProps, DatabaseNetwork, ProxiedDatabase,
  ProxiedDatabaseProps,
} from '../lib';
import { LOG_QUERIES, RUNTIME_LOG_MESSAGES } from '../lib/function/private/log-queries';
import { LOG_MESSAGES } from '../lambda/runtime';
import { HANDLER_ENTRY, LOCK_FILE, template, TestAppOptions, testStack, tokenArithmeticIn } from './support/app';

type FunctionOptions = Omit<DatabaseFunctionProps, 'database' | 'entry' | 'databaseUser'>;
type DatabaseOptions = Omit<ProxiedDatabaseProps, 'network'>;

function setup(databaseOptions: DatabaseOptions = {}, appOptions: TestAppOptions = {}) {
  const stack = testStack(appOptions);
  const network = new DatabaseNetwork(stack, 'Network');
  const database = new ProxiedDatabase(stack, 'Database', { network, ...databaseOptions });
  const addFunction = (id: string, options: FunctionOptions = {}) => new DatabaseFunction(stack, id, {
    database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, ...options,
  });
  return { stack, database, addFunction };
}

const ref = (stack: Stack, construct: { node: { defaultChild?: unknown } } | undefined) => ({ Ref: stack.getLogicalId(construct!.node.defaultChild as any) });

/** The owner's alarms in the template, by the id the construct gave them. */
function alarmsById(t: Template, owner: { alarms: cloudwatch.Alarm[] }): { [id: string]: any } {
  const resources = t.toJSON().Resources;
  return Object.fromEntries(owner.alarms.map(alarm =>
    [alarm.node.id, resources[Stack.of(alarm).getLogicalId(alarm.node.defaultChild as cloudwatch.CfnAlarm)].Properties]));
}

describe('ProxiedDatabase metrics', () => {
  const { stack, database } = setup();
  const proxyName = ref(stack, database.proxy);
  const cluster = ref(stack, database.cluster);

  test.each([
    ['metricProxyClientConnections', 'ClientConnections', 'Sum', {}],
    ['metricProxyDatabaseConnections', 'DatabaseConnections', 'Sum', {}],
    ['metricProxyBorrowLatency', 'DatabaseConnectionsBorrowLatency', 'Average', {}],
    ['metricProxyPinnedConnections', 'DatabaseConnectionsCurrentlySessionPinned', 'Sum', {}],
    ['metricProxyAvailability', 'AvailabilityPercentage', 'Average', { TargetGroup: 'default', TargetRole: 'READ_WRITE' }],
  ] as const)('%s is AWS/RDS %s (%s) by ProxyName', (method, metricName, statistic, extraDimensions) => {
    const metric = database[method]();
    expect(metric.namespace).toBe('AWS/RDS');
    expect(metric.metricName).toBe(metricName);
    expect(metric.statistic).toBe(statistic);
    expect(stack.resolve(metric.dimensions)).toEqual({ ProxyName: proxyName, ...extraDimensions });
  });

  test.each([
    ['metricCpuUtilization', 'CPUUtilization', 'Average'],
    ['metricDatabaseConnections', 'DatabaseConnections', 'Maximum'],
  ] as const)('%s is AWS/RDS %s (%s) by DBClusterIdentifier for Aurora', (method, metricName, statistic) => {
    const metric = database[method]();
    expect([metric.namespace, metric.metricName, metric.statistic]).toEqual(['AWS/RDS', metricName, statistic]);
    expect(stack.resolve(metric.dimensions)).toEqual({ DBClusterIdentifier: cluster });
  });

  test('database metrics of an RDS instance are by DBInstanceIdentifier', () => {
    const rdsSetup = setup({ engine: DatabaseEngine.postgres() });
    const metric = rdsSetup.database.metricCpuUtilization();
    expect(rdsSetup.stack.resolve(metric.dimensions)).toEqual({ DBInstanceIdentifier: ref(rdsSetup.stack, rdsSetup.database.instance) });
  });

  test('options override the statistic and period but keep the proxy dimension', () => {
    const metric = database.metricProxyBorrowLatency({ statistic: 'p99', period: Duration.minutes(1) });
    expect([metric.statistic, metric.period.toSeconds()]).toEqual(['p99', 60]);
    expect(stack.resolve(metric.dimensions)).toEqual({ ProxyName: proxyName });
  });
});

describe('DatabaseFunction metrics', () => {
  const { stack, addFunction } = setup();
  const plain = addFunction('Plain');
  const provisioned = addFunction('Provisioned', { provisionedConcurrency: { minCapacity: 1 } });
  const functionName = ref(stack, plain.lambdaFunction);

  test.each([
    ['metricInvocations', 'Invocations', 'Sum'],
    ['metricErrors', 'Errors', 'Sum'],
    ['metricThrottles', 'Throttles', 'Sum'],
    ['metricDuration', 'Duration', 'p99'],
    ['metricConcurrentExecutions', 'ConcurrentExecutions', 'Maximum'],
    ['metricAsyncEventsDropped', 'AsyncEventsDropped', 'Sum'],
    ['metricDestinationDeliveryFailures', 'DestinationDeliveryFailures', 'Sum'],
    ['metricDeadLetterErrors', 'DeadLetterErrors', 'Sum'],
  ] as const)('%s is AWS/Lambda %s (%s) by FunctionName', (method, metricName, statistic) => {
    const metric = plain[method]();
    expect([metric.namespace, metric.metricName, metric.statistic]).toEqual(['AWS/Lambda', metricName, statistic]);
    expect(stack.resolve(metric.dimensions)).toEqual({ FunctionName: functionName });
  });

  test.each([
    ['metricProvisionedConcurrencyUtilization', 'ProvisionedConcurrencyUtilization', 'Maximum'],
    ['metricProvisionedConcurrencySpilloverInvocations', 'ProvisionedConcurrencySpilloverInvocations', 'Sum'],
  ] as const)('%s is AWS/Lambda %s (%s) of the live alias', (method, metricName, statistic) => {
    const metric = provisioned[method]();
    expect([metric.namespace, metric.metricName, metric.statistic]).toEqual(['AWS/Lambda', metricName, statistic]);
    const name = ref(stack, provisioned.lambdaFunction);
    expect(stack.resolve(metric.dimensions)).toEqual({ FunctionName: name, Resource: { 'Fn::Join': ['', [name, ':live']] } });
  });

  test('provisioned concurrency metrics throw on a function without it, naming the prop', () => {
    expect(() => plain.metricProvisionedConcurrencyUtilization())
      .toThrow(/Plain: metricProvisionedConcurrencyUtilization\(\) needs provisioned concurrency, which this function does not have: set provisionedConcurrency/);
  });
});

describe('default alarms of a DatabaseFunction', () => {
  const { stack, addFunction } = setup();
  const topic = new AlarmTopic(stack, 'Topic');
  const fn = addFunction('Items', { alarms: { topic: topic.topic } });
  const t = template(stack);
  const alarms = alarmsById(t, fn);
  const topicRef = ref(stack, topic.topic);

  test('are created once each, without the ones the function has no metric or limit for (no reservation by default)', () => {
    expect(Object.keys(alarms).sort()).toEqual([
      'AsyncEventsDropped', 'DestinationDeliveryFailures', 'Duration', 'ErrorRate', 'FailureQueueMessages', 'Throttles',
    ]);
    expect(fn.alarms).toHaveLength(6);
  });

  test('notify the topic on ALARM and OK and stay OK without data', () => {
    for (const alarm of Object.values(alarms)) {
      expect(alarm.AlarmActions).toEqual([topicRef]);
      expect(alarm.OKActions).toEqual([topicRef]);
      expect(alarm.TreatMissingData).toBe('notBreaching');
    }
  });

  test('error rate: errors as a percentage of invocations at 1% in one 5-minute period', () => {
    const alarm = alarms.ErrorRate;
    expect(alarm).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1 });
    const expression = alarm.Metrics.find((m: any) => m.Expression);
    expect(expression.Expression).toBe('IF(invocations > 0, 100 * errors / invocations, 0)');
    const inputs = Object.fromEntries(alarm.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.Id, m.MetricStat]));
    expect(inputs.errors).toMatchObject({ Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors' }, Stat: 'Sum', Period: 300 });
    expect(inputs.invocations).toMatchObject({ Metric: { Namespace: 'AWS/Lambda', MetricName: 'Invocations' }, Stat: 'Sum', Period: 300 });
  });

  test.each([
    ['Throttles', 'Throttles', 'Sum', 1, 1],
    ['Duration', 'Duration', 'p99', 8000, 3],
    ['AsyncEventsDropped', 'AsyncEventsDropped', 'Sum', 1, 1],
    ['DestinationDeliveryFailures', 'DestinationDeliveryFailures', 'Sum', 1, 1],
  ])('%s: %s (%s) at or above %d over %d five-minute period(s)', (id, metricName, statistic, threshold, periods) => {
    expect(alarms[id]).toMatchObject({
      Namespace: 'AWS/Lambda', MetricName: metricName, Period: 300, Threshold: threshold, EvaluationPeriods: periods,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', Dimensions: [{ Name: 'FunctionName', Value: ref(stack, fn.lambdaFunction) }],
      ...(statistic.startsWith('p') ? { ExtendedStatistic: statistic } : { Statistic: statistic }),
    });
  });

  test('concurrency: at 80% of the reserved concurrency derived from the account limit in context, sustained 15 minutes', () => {
    const derived = setup({}, { context: { 'cdk-serverless-rds:accountConcurrencyLimit': 1000 } });
    const reservedFn = derived.addFunction('Items');
    const derivedTemplate = template(derived.stack);
    const reserved = derivedTemplate.toJSON().Resources[derived.stack.getLogicalId(reservedFn.lambdaFunction.node.defaultChild as lambda.CfnFunction)]
      .Properties.ReservedConcurrentExecutions['Fn::If'][1];
    expect(reserved).toBe(576);
    expect(alarmsById(derivedTemplate, reservedFn).Concurrency).toMatchObject({
      MetricName: 'ConcurrentExecutions', Statistic: 'Maximum', Threshold: Math.ceil(576 * 0.8), EvaluationPeriods: 3, Period: 300,
    });
  });

  test('failure queue: one visible message in the queue the construct created', () => {
    expect(alarms.FailureQueueMessages).toMatchObject({
      Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum', Threshold: 1, EvaluationPeriods: 1,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [stack.getLogicalId(fn.failureQueue!.node.defaultChild as sqs.CfnQueue), 'QueueName'] } }],
    });
  });
});

describe('optional alarms of a DatabaseFunction', () => {
  test('provisioned concurrency adds utilization at 0.9 and spillover at 10% of the alias invocations', () => {
    const { stack, addFunction } = setup();
    const fn = addFunction('Items', { provisionedConcurrency: { minCapacity: 1 } });
    const alarms = alarmsById(template(stack), fn);
    const name = ref(stack, fn.lambdaFunction);
    const aliasDimensions = [{ Name: 'FunctionName', Value: name }, { Name: 'Resource', Value: { 'Fn::Join': ['', [name, ':live']] } }];
    expect(alarms.ProvisionedUtilization).toMatchObject({
      MetricName: 'ProvisionedConcurrencyUtilization', Statistic: 'Maximum', Threshold: 0.9, EvaluationPeriods: 3, Dimensions: aliasDimensions,
    });
    const spillover = alarms.ProvisionedSpillover;
    expect(spillover).toMatchObject({ Threshold: 10, EvaluationPeriods: 3 });
    expect(spillover.Metrics.find((m: any) => m.Expression).Expression).toBe('IF(invocations > 0, 100 * spillover / invocations, 0)');
    const inputs = Object.fromEntries(spillover.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.Id, m.MetricStat.Metric]));
    expect(inputs.spillover).toMatchObject({ MetricName: 'ProvisionedConcurrencySpilloverInvocations', Dimensions: aliasDimensions });
    expect(inputs.invocations).toMatchObject({ MetricName: 'Invocations', Dimensions: aliasDimensions });
  });

  test('a dead-letter queue adds the dead-letter errors alarm; an onFailure destination removes the failure queue alarm', () => {
    const { stack, addFunction } = setup();
    const queue = new sqs.Queue(stack, 'Dlq', { enforceSSL: true });
    const fn = addFunction('Items', { deadLetterQueue: queue, onFailure: new destinations.SqsDestination(queue) });
    const alarms = alarmsById(template(stack), fn);
    expect(alarms.DeadLetterErrors).toMatchObject({ MetricName: 'DeadLetterErrors', Statistic: 'Sum', Threshold: 1 });
    expect(alarms.FailureQueueMessages).toBeUndefined();
  });

  test('every threshold can be set', () => {
    const { stack, addFunction } = setup();
    const fn = addFunction('Items', {
      timeout: Duration.seconds(20), reservedConcurrentExecutions: 10, provisionedConcurrency: { minCapacity: 1 },
      alarms: {
        errorRatePercent: 5, throttles: 10, durationPercentOfTimeout: 50, concurrencyPercentOfReserved: 90, provisionedUtilization: 0.75,
        provisionedSpilloverPercent: 25, asyncFailures: 3, failureQueueMessages: 7,
      },
    });
    const thresholds = Object.fromEntries(Object.entries(alarmsById(template(stack), fn)).map(([id, alarm]) => [id, alarm.Threshold]));
    expect(thresholds).toEqual({
      ErrorRate: 5, Throttles: 10, Duration: 10000, Concurrency: 9, ProvisionedUtilization: 0.75, ProvisionedSpillover: 25,
      AsyncEventsDropped: 3, DestinationDeliveryFailures: 3, FailureQueueMessages: 7,
    });
  });

  test('enabled: false creates no alarms; without a topic the alarms have no actions', () => {
    const { stack, database, addFunction } = setup({ alarms: { enabled: false } });
    const off = addFunction('Off', { alarms: { enabled: false } });
    const silent = addFunction('Silent');
    const t = template(stack);
    expect(off.alarms).toEqual([]);
    expect(database.alarms).toEqual([]);
    expect(Object.keys(t.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(silent.alarms.length);
    for (const alarm of Object.values(alarmsById(t, silent))) {
      expect(alarm.AlarmActions).toBeUndefined();
    }
  });

  test('a token reserved concurrency skips the concurrency alarm', () => {
    const { stack, addFunction } = setup();
    const fn = addFunction('Items', { reservedConcurrentExecutions: Lazy.number({ produce: () => 5 }) });
    expect(alarmsById(template(stack), fn).Concurrency).toBeUndefined();
  });

  test.each([
    [{ errorRatePercent: 0 }, /alarms.errorRatePercent \(0\) must be between 1 and 100/],
    [{ durationPercentOfTimeout: 101 }, /alarms.durationPercentOfTimeout \(101\) must be between 1 and 100/],
    [{ concurrencyPercentOfReserved: 0 }, /alarms.concurrencyPercentOfReserved \(0\) must be between 1 and 100/],
    [{ provisionedSpilloverPercent: 200 }, /alarms.provisionedSpilloverPercent \(200\) must be between 1 and 100/],
    [{ provisionedUtilization: 1.5 }, /alarms.provisionedUtilization \(1.5\) must be between 0.01 and 1/],
    [{ throttles: 0 }, /alarms.throttles \(0\) must be between 1 and 1000000/],
    [{ asyncFailures: 1.5 }, /alarms.asyncFailures \(1.5\) must be a whole number/],
    [{ failureQueueMessages: 0 }, /alarms.failureQueueMessages \(0\) must be between 1 and 1000000/],
  ])('rejects %j', (alarms, message) => {
    const { addFunction } = setup();
    expect(() => addFunction('Items', { alarms })).toThrow(message);
  });

  test('accepts tokens for every threshold it uses as given, and computes nothing from them', () => {
    const { stack, addFunction } = setup();
    const number = (name: string, value: number) => new CfnParameter(stack, name, { type: 'Number', default: value }).valueAsNumber;
    const fn = addFunction('Items', {
      provisionedConcurrency: { minCapacity: 1 },
      alarms: {
        errorRatePercent: number('ErrorRate', 5), throttles: number('Throttles', 2), provisionedUtilization: number('Utilization', 0.8),
        provisionedSpilloverPercent: number('Spillover', 20), asyncFailures: number('AsyncFailures', 3), failureQueueMessages: number('QueueMessages', 4),
      },
    });
    const t = template(stack);
    const thresholds = Object.fromEntries(Object.entries(alarmsById(t, fn)).map(([id, alarm]) => [id, alarm.Threshold]));
    expect(thresholds).toMatchObject({
      ErrorRate: { Ref: 'ErrorRate' }, Throttles: { Ref: 'Throttles' }, ProvisionedUtilization: { Ref: 'Utilization' }, ProvisionedSpillover: { Ref: 'Spillover' },
      AsyncEventsDropped: { Ref: 'AsyncFailures' }, DestinationDeliveryFailures: { Ref: 'AsyncFailures' }, FailureQueueMessages: { Ref: 'QueueMessages' },
    });
    expect(tokenArithmeticIn(t.toJSON())).toEqual([]);
  });
});

describe('default alarms of a ProxiedDatabase', () => {
  const { stack, database } = setup({ maxConnections: 1000 });
  const alarms = alarmsById(template(stack), database);
  const proxyName = { Name: 'ProxyName', Value: ref(stack, database.proxy) };

  test('are created once each, and notify nobody without a topic', () => {
    expect(Object.keys(alarms).sort()).toEqual(['CpuUtilization', 'DatabaseConnections', 'ProxyAvailability', 'ProxyBorrowLatency', 'ProxyPinnedConnections']);
    expect(Object.values(alarms).every(alarm => alarm.AlarmActions === undefined && alarm.TreatMissingData === 'notBreaching')).toBe(true);
  });

  test.each([
    ['CpuUtilization', { MetricName: 'CPUUtilization', Statistic: 'Average', Threshold: 80, Period: 300, EvaluationPeriods: 3, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }],
    ['DatabaseConnections', { MetricName: 'DatabaseConnections', Statistic: 'Maximum', Threshold: 850, Period: 300, EvaluationPeriods: 3 }],
    ['ProxyBorrowLatency', { MetricName: 'DatabaseConnectionsBorrowLatency', Statistic: 'Average', Threshold: 100000, Period: 300, EvaluationPeriods: 3 }],
    ['ProxyPinnedConnections', { MetricName: 'DatabaseConnectionsCurrentlySessionPinned', Statistic: 'Maximum', Threshold: 1, Period: 300, EvaluationPeriods: 3 }],
    ['ProxyAvailability', { MetricName: 'AvailabilityPercentage', Statistic: 'Minimum', Threshold: 99, Period: 60, EvaluationPeriods: 3, ComparisonOperator: 'LessThanThreshold' }],
  ])('%s', (id, expected) => {
    expect(alarms[id]).toMatchObject({ Namespace: 'AWS/RDS', ...expected });
  });

  test('proxy alarms are by ProxyName (availability by its read/write target), database alarms by cluster', () => {
    expect(alarms.ProxyBorrowLatency.Dimensions).toEqual([proxyName]);
    expect(alarms.ProxyAvailability.Dimensions).toEqual([proxyName, { Name: 'TargetGroup', Value: 'default' }, { Name: 'TargetRole', Value: 'READ_WRITE' }]);
    expect(alarms.CpuUtilization.Dimensions).toEqual([{ Name: 'DBClusterIdentifier', Value: ref(stack, database.cluster) }]);
  });

  test('the connections threshold sits halfway between the pool and max_connections, or where set', () => {
    const wide = setup({ maxConnections: 1000, maxConnectionsPercent: 80 });
    expect(alarmsById(template(wide.stack), wide.database).DatabaseConnections.Threshold).toBe(900);
    const set = setup({ maxConnections: 1000, alarms: { connectionsPercentOfMax: 95, cpuUtilizationPercent: 60, borrowLatency: Duration.millis(20), pinnedConnections: 3, availabilityPercent: 100 } });
    const thresholds = Object.fromEntries(Object.entries(alarmsById(template(set.stack), set.database)).map(([id, alarm]) => [id, alarm.Threshold]));
    expect(thresholds).toEqual({ DatabaseConnections: 950, CpuUtilization: 60, ProxyBorrowLatency: 20000, ProxyPinnedConnections: 3, ProxyAvailability: 100 });
  });

  test.each([
    [{ cpuUtilizationPercent: 0 }, /alarms.cpuUtilizationPercent \(0\) must be between 1 and 100/],
    [{ connectionsPercentOfMax: 120 }, /alarms.connectionsPercentOfMax \(120\) must be between 1 and 100/],
    [{ availabilityPercent: 0 }, /alarms.availabilityPercent \(0\) must be between 1 and 100/],
    [{ pinnedConnections: 0 }, /alarms.pinnedConnections \(0\) must be between 1 and 1000000/],
    [{ borrowLatency: Duration.minutes(10) }, /alarms.borrowLatency \(600000 ms\) must be between 1 ms and 300000 ms/],
  ])('rejects %j', (alarms, message) => {
    expect(() => setup({ alarms })).toThrow(message);
  });
});

describe('saved Logs Insights queries', () => {
  const { stack, addFunction } = setup();
  const fn = addFunction('Items');
  const queries = Object.values(template(stack).findResources('AWS::Logs::QueryDefinition')).map(resource => resource.Properties);
  const logGroup = ref(stack, fn.logGroup);

  test('five queries over the function\'s log group, in a folder named after the function', () => {
    expect(queries.map(query => query.Name).sort()).toEqual([
      'Test/Items/Cold starts and init duration', 'Test/Items/Database connection retries', 'Test/Items/Errors with request ids',
      'Test/Items/Proxy borrow timeouts', 'Test/Items/Slowest invocations',
    ]);
    expect(queries.every(query => JSON.stringify(query.LogGroupNames) === JSON.stringify([logGroup]))).toBe(true);
    expect(fn.queryDefinitions).toHaveLength(5);
  });

  const byName = (title: string) => queries.find(query => query.Name === `Test/Items/${title}`)!.QueryString;

  test('cold starts read Lambda\'s JSON platform.report records that carry an init duration', () => {
    expect(byName('Cold starts and init duration')).toBe([
      'filter type = "platform.report" and ispresent(record.metrics.initDurationMs)',
      'stats count() as coldStarts, avg(record.metrics.initDurationMs) as avgInitMs, pct(record.metrics.initDurationMs, 99) as p99InitMs, max(record.metrics.initDurationMs) as maxInitMs by bin(5m)',
    ].join('\n| '));
  });

  test('errors list ERROR lines and failed invocations with the Lambda request id', () => {
    expect(byName('Errors with request ids')).toBe([
      'fields @timestamp, coalesce(function_request_id, record.requestId, requestId) as lambdaRequestId, level, message, errorName, errorCode, errorType, record.status',
      'filter level = "ERROR" or (type = "platform.report" and record.status != "success")',
      'sort @timestamp desc',
      'limit 100',
    ].join('\n| '));
  });

  test('slowest invocations sort platform reports by duration', () => {
    expect(byName('Slowest invocations')).toContain('filter type = "platform.report"\n| sort durationMs desc\n| limit 25');
  });

  test('retries and borrow timeouts match the messages the runtime logs, exactly', () => {
    expect(RUNTIME_LOG_MESSAGES).toEqual(LOG_MESSAGES);
    expect(byName('Database connection retries')).toBe(
      `filter message in ["${LOG_MESSAGES.connectionRetry}", "${LOG_MESSAGES.passwordRenewal}"]\n| stats count() as retries by message, errorName, errorCode, bin(5m)`);
    expect(byName('Proxy borrow timeouts')).toBe(
      `filter message = "${LOG_MESSAGES.proxyBorrowTimeout}"\n| stats count() as borrowTimeouts, count_distinct(function_request_id) as invocations by bin(1m)`);
    expect(LOG_QUERIES).toHaveLength(5);
  });
});

describe('DatabaseDashboard', () => {
  function dashboard(withAlias: boolean, options: FunctionOptions = {}) {
    const { stack, database, addFunction } = setup({ maxConnections: 1000 });
    const fn = addFunction('Items', { ...options, ...withAlias ? { provisionedConcurrency: { minCapacity: 1 } } : {} });
    const board = new DatabaseDashboard(stack, 'Board', { databases: [database], functions: [fn] });
    const body = JSON.stringify(stack.resolve(JSON.parse(JSON.stringify(
      Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'),
    ))));
    return { stack, database, fn, board, body };
  }
  const titles = (body: string) => [...body.matchAll(/\\"title\\":\\"([^\\]+)\\"/g)].map(match => match[1]);

  test('one dashboard: alarms, then a row per database and per function', () => {
    const { body } = dashboard(false);
    expect(titles(body)).toEqual([
      'Alarms',
      'Proxy connections', 'Proxy borrow latency (µs)', 'Pinned connections', 'Proxy target availability (%)', 'Database CPU (%)', 'Database connections',
      'Invocations, errors, throttles', 'Duration (ms)', 'Concurrent executions', 'Asynchronous failures', 'Failure queue messages',
    ]);
    expect(body).toContain('## Database Test/Database');
    expect(body).toContain('## Function Test/Items');
  });

  test('provisioned concurrency adds its utilization and spillover', () => {
    expect(titles(dashboard(true).body)).toEqual(expect.arrayContaining(['Provisioned concurrency utilization', 'Provisioned concurrency spillover']));
  });

  test('draws the pool, max_connections, timeout and reserved concurrency as lines', () => {
    const { database, body } = dashboard(false, { reservedConcurrentExecutions: 40 });
    expect(body).toContain(`\\"value\\":${database.poolSize},\\"label\\":\\"Pool (${database.poolSize})\\"`);
    expect(body).toContain('\\"value\\":1000,\\"label\\":\\"max_connections (1000)\\"');
    expect(body).toContain('\\"value\\":10000,\\"label\\":\\"Timeout\\"');
    expect(body).toContain('\\"value\\":40,\\"label\\":\\"Reserved concurrency\\"');
  });

  test('draws no reserved concurrency line for a function without a reservation', () => {
    const { body } = dashboard(true);
    expect(body).toContain('Concurrent executions');
    expect(body).not.toContain('Reserved concurrency');
  });

  test('the alarm widget lists every alarm of the database and the function', () => {
    const { stack, database, fn, body } = dashboard(false);
    for (const alarm of [...database.alarms, ...fn.alarms]) {
      expect(body).toContain(JSON.stringify({ 'Fn::GetAtt': [stack.getLogicalId(alarm.node.defaultChild as cloudwatch.CfnAlarm), 'Arn'] }));
    }
  });

  test('draws no line for a limit that is a token, and computes nothing from it', () => {
    const { stack, database, addFunction } = setup({ maxConnections: Token.asNumber(Lazy.number({ produce: () => 1000 })), borrowTimeout: Duration.seconds(5) });
    const seconds = new CfnParameter(stack, 'Timeout', { type: 'Number', default: 10 }).valueAsNumber;
    const reserved = new CfnParameter(stack, 'Reserved', { type: 'Number', default: 5 }).valueAsNumber;
    const fn = addFunction('Items', { timeout: Duration.seconds(seconds), reservedConcurrentExecutions: reserved });
    new DatabaseDashboard(stack, 'Board', { databases: [database], functions: [fn] });
    const t = Template.fromStack(stack);
    const body = JSON.stringify(stack.resolve(t.findResources('AWS::CloudWatch::Dashboard')));
    for (const line of ['Pool (', 'max_connections (', 'Timeout', 'Reserved concurrency']) {
      expect(body).not.toContain(line);
    }
    expect(tokenArithmeticIn(t.toJSON())).toEqual([]);
  });

  test('an empty dashboard is an error at synth', () => {
    const stack = testStack();
    new DatabaseDashboard(stack, 'Board');
    expect(() => template(stack)).toThrow(/Test\/Board shows nothing: pass databases or functions, or call addDatabase\(\) \/ addFunction\(\)/);
  });
});

describe('AlarmTopic', () => {
  const stack = testStack();
  const alarmTopic = new AlarmTopic(stack, 'Alarms');
  const t = template(stack);

  test('encrypts the topic with its own key and refuses publishing without TLS', () => {
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [stack.getLogicalId(alarmTopic.key.node.defaultChild as any), 'Arn'] } });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  const fromThisAccountsAlarms = {
    StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']] } },
  };

  test('lets CloudWatch alarms of this account and Region use the key, with exact actions', () => {
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: { Statement: Match.arrayWith([{
        Sid: 'CloudWatchAlarmsPublish', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: '*', Condition: fromThisAccountsAlarms,
      }]) },
    });
  });

  test('lets CloudWatch alarms of this account and Region publish, next to the TLS-only deny that replaced SNS\'s default policy', () => {
    const topicRef = { Ref: stack.getLogicalId(alarmTopic.topic.node.defaultChild as any) };
    const policies = Object.values(t.findResources('AWS::SNS::TopicPolicy'));
    expect(policies).toHaveLength(1);
    expect(policies[0].Properties.Topics).toEqual([topicRef]);
    expect(policies[0].Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      {
        Sid: 'CloudWatchAlarmsPublish', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish', Resource: topicRef, Condition: fromThisAccountsAlarms,
      },
    ]);
  });
});
