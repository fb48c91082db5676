import { CfnCondition, CfnParameter, Fn, Stack, Token } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DatabaseFunction, DatabaseNetwork, ProxiedDatabase } from '../../lib';
import { HANDLER_ENTRY, inlineFunction, LOCK_FILE, testStack } from '../support/app';
import { findingsOf, pathsFlagged } from './support';

const RULE = 'ReservedConcurrencyCoversProvisioned';

/** A plain aws-cdk-lib function with a reservation and a `live` alias on its current version. */
function plainFunction(reservedConcurrentExecutions?: number, provisionedConcurrentExecutions?: number) {
  const stack = testStack();
  const fn = inlineFunction(stack, 'Fn', { reservedConcurrentExecutions });
  const alias = new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion, provisionedConcurrentExecutions });
  return { stack, fn, alias };
}

function killSwitch(stack: Stack): CfnCondition {
  const parameter = new CfnParameter(stack, 'KillSwitch', { allowedValues: ['off', 'on'], default: 'off' });
  return new CfnCondition(stack, 'KillSwitchOff', { expression: Fn.conditionEquals(parameter.valueAsString, 'off') });
}

describe('DeployReadiness-ReservedConcurrencyCoversProvisioned', () => {
  test('passes a reservation at or above the alias\'s provisioned concurrency', () => {
    expect(pathsFlagged(plainFunction(10, 10).stack, RULE)).toEqual([]);
    expect(pathsFlagged(plainFunction(50, 2).stack, RULE)).toEqual([]);
  });

  test('passes a function without a reservation (provisioned concurrency comes out of the unreserved pool) or without provisioned concurrency', () => {
    expect(pathsFlagged(plainFunction(undefined, 5).stack, RULE)).toEqual([]);
    expect(pathsFlagged(plainFunction(3).stack, RULE)).toEqual([]);
  });

  test('flags a reservation below the alias\'s provisioned concurrency, naming both', () => {
    const { stack } = plainFunction(5, 8);
    expect(findingsOf(stack, RULE)).toEqual([{
      rule: `DeployReadiness-${RULE}`,
      path: 'Test/Fn/Resource',
      description: 'The Lambda function can reserve less concurrency than its aliases and versions can provision: '
        + 'reserved concurrency 5 is below the provisioned concurrency of 8 that Test/Live/Resource can hold.',
    }]);
  });

  test('flags a reservation below what auto scaling can reach, scheduled actions included', () => {
    const { stack, alias } = plainFunction(20, 2);
    const scaling = alias.addAutoScaling({ minCapacity: 2, maxCapacity: 10 });
    scaling.scaleOnSchedule('Peak', { schedule: appscaling.Schedule.cron({ hour: '8', minute: '0' }), minCapacity: 25, maxCapacity: 30 });
    expect(findingsOf(stack, RULE)).toEqual([expect.objectContaining({
      description: expect.stringContaining('reserved concurrency 20 is below the provisioned concurrency of 30 that the scaling of Test/Live/AliasScaling/Target/Resource can hold'),
    })]);
  });

  test('flags provisioned concurrency on a version', () => {
    const stack = testStack();
    const fn = inlineFunction(stack, 'Fn', { reservedConcurrentExecutions: 1 });
    new lambda.Version(stack, 'V1', { lambda: fn, provisionedConcurrentExecutions: 4 });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Fn/Resource']);
  });

  test('flags a kill switch that lowers the reservation through Fn::If while the alias keeps, or releases too late, its provisioned concurrency', () => {
    const { stack, fn, alias } = plainFunction(undefined, 2);
    const off = killSwitch(stack);
    (fn.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = Token.asNumber(Fn.conditionIf(off.logicalId, 50, 0));
    (alias.node.defaultChild as lambda.CfnAlias).provisionedConcurrencyConfig = Fn.conditionIf(off.logicalId, { ProvisionedConcurrentExecutions: 2 }, Fn.ref('AWS::NoValue'));
    expect(findingsOf(stack, RULE)).toEqual([expect.objectContaining({
      description: expect.stringContaining('reserved concurrency 0 (when KillSwitchOff=false) is below the provisioned concurrency of 2 that Test/Live/Resource can hold'),
    })]);
  });

  test('passes a kill switch whose lowest reservation still covers the provisioned concurrency', () => {
    const { stack, fn } = plainFunction(undefined, 2);
    const off = killSwitch(stack);
    (fn.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = Token.asNumber(Fn.conditionIf(off.logicalId, 50, 2));
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('ignores reservations from parameters, which synth cannot know', () => {
    const stack = testStack();
    const reserved = new CfnParameter(stack, 'Reserved', { type: 'Number', default: 1 }).valueAsNumber;
    const fn = inlineFunction(stack, 'Fn', { reservedConcurrentExecutions: reserved });
    new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion, provisionedConcurrentExecutions: 4 });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('DatabaseFunction passes: with provisioned concurrency, a kill switch and an explicit reservation, one custom resource sets both', () => {
    const stack = testStack();
    const database = new ProxiedDatabase(stack, 'Database', { network: new DatabaseNetwork(stack, 'Network') });
    for (const [id, reservedConcurrentExecutions] of [['Reserved', 20], ['Unreserved', undefined]] as const) {
      new DatabaseFunction(stack, id, {
        database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, reservedConcurrentExecutions,
        provisionedConcurrency: { minCapacity: 2, maxCapacity: 20, schedules: [{ name: 'peak', schedule: appscaling.Schedule.cron({ hour: '8', minute: '0' }), minCapacity: 5 }] },
      });
    }
    new DatabaseFunction(stack, 'Switched', { database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, reservedConcurrentExecutions: 5 });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });
});
