/**
 * The kill switch against CloudFormation's update order: for each direction
 * (on, off) the steps CloudFormation takes on the synthesized template, in
 * every order its dependency graph allows, replayed against Lambda's rule
 * that a reservation may not be below the provisioned concurrency (nor
 * provisioned concurrency above the reservation).
 */
import { Stack } from 'aws-cdk-lib';
import { DatabaseFunction, DatabaseFunctionProps, DatabaseNetwork, ProxiedDatabase } from '../lib';
import { HANDLER_ENTRY, LOCK_FILE, template, testStack } from './support/app';
import { Concurrency, dependencies, evaluate, orders, replay, Request, Step, steps, Template, waitsFor } from './support/cloudformation-updates';

const ON = { ItemsKillSwitch: 'on' };
const OFF = { ItemsKillSwitch: 'off' };

function synth(props: Partial<DatabaseFunctionProps>): { stack: Stack; fn: DatabaseFunction; t: Template } {
  const stack = testStack();
  const database = new ProxiedDatabase(stack, 'Database', { network: new DatabaseNetwork(stack, 'Network') });
  const fn = new DatabaseFunction(stack, 'Items', { database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, ...props });
  return { stack, fn, t: template(stack).toJSON() as Template };
}

function idsOfType(t: Template, type: string): string[] {
  return Object.keys(t.Resources).filter(id => t.Resources[id].Type === type);
}

/**
 * What each step asks of Lambda. The function concurrency resource does what
 * its handler does (test/function-concurrency-handler.test.ts checks the
 * handler against a double of the Lambda API): with the switch on it
 * releases the provisioned concurrency, then reserves 0; with it off it
 * restores the reservation, then provisions.
 */
function requestsOf(t: Template, parameters: typeof ON, functionId: string): (step: Step) => Request[] {
  const resources = evaluate(t, parameters);
  return step => {
    if (step.action === 'delete') {
      return [];
    }
    const { Type: type, Properties: properties } = resources[step.id];
    switch (type) {
      case 'Custom::FunctionConcurrency':
        return properties.KillSwitch === 'on'
          ? [{ provision: 0 }, { reserve: 0 }]
          : [{ reserve: properties.ReservedConcurrentExecutions }, { provision: properties.ProvisionedConcurrentExecutions }];
      case 'AWS::Lambda::Function':
        return step.id === functionId ? [{ reserve: properties.ReservedConcurrentExecutions }] : [];
      case 'AWS::Lambda::Alias':
        return [{ provision: properties.ProvisionedConcurrencyConfig?.ProvisionedConcurrentExecutions ?? 0 }];
      case 'AWS::ApplicationAutoScaling::ScalableTarget':
        // Registering moves the allocation into the target's range.
        return [{ provision: properties.MinCapacity }];
      default:
        return [];
    }
  };
}

/** Every refusal Lambda would answer in any order CloudFormation may choose. */
function refusals(t: Template, from: typeof ON, to: typeof ON, start: Concurrency, functionId: string): string[] {
  const changes = steps(t, from, to);
  const possible = orders(t, from, to, changes);
  expect(possible.length).toBeGreaterThan(0);
  return [...new Set(possible.flatMap(order => replay(order, start, requestsOf(t, to, functionId))))];
}

describe.each([
  ['an explicit reservation', { reservedConcurrentExecutions: 50 }, 50],
  ['no reservation', {}, undefined],
])('with provisioned concurrency and %s', (_name, props, reserved) => {
  const { stack, fn, t } = synth({ ...props, provisionedConcurrency: { minCapacity: 2, maxCapacity: 10 } });
  const functionId = stack.getLogicalId(fn.lambdaFunction.node.defaultChild as any);
  const [concurrencyId] = idsOfType(t, 'Custom::FunctionConcurrency');
  const [aliasId] = idsOfType(t, 'AWS::Lambda::Alias');
  const [versionId] = idsOfType(t, 'AWS::Lambda::Version');
  const [targetId] = idsOfType(t, 'AWS::ApplicationAutoScaling::ScalableTarget');
  const [policyId] = idsOfType(t, 'AWS::ApplicationAutoScaling::ScalingPolicy');

  test('the concurrency resource waits for the function, its version and the alias; the scaling waits for it', () => {
    const graph = dependencies(evaluate(t, OFF));
    for (const id of [functionId, versionId, aliasId]) {
      expect(waitsFor(graph, concurrencyId, id)).toBe(true);
    }
    expect(waitsFor(graph, targetId, concurrencyId)).toBe(true);
    expect(waitsFor(graph, policyId, concurrencyId)).toBe(true);
    expect(waitsFor(graph, functionId, concurrencyId)).toBe(false);
  });

  test('on: CloudFormation updates only the concurrency resource, then deletes the scaling', () => {
    expect(steps(t, OFF, ON)).toEqual([
      { action: 'update', id: concurrencyId },
      { action: 'delete', id: targetId },
      { action: 'delete', id: policyId },
    ]);
    expect(orders(t, OFF, ON, steps(t, OFF, ON))).toEqual([[
      { action: 'update', id: concurrencyId },
      { action: 'delete', id: policyId },
      { action: 'delete', id: targetId },
    ]]);
  });

  test('on: Lambda accepts every step, even with auto scaling at its maximum', () => {
    expect(refusals(t, OFF, ON, { reserved, provisioned: 10 }, functionId)).toEqual([]);
  });

  test('off: the reservation comes back before the alias is provisioned and before the scaling is registered', () => {
    expect(steps(t, ON, OFF)).toEqual([
      { action: 'create', id: targetId },
      { action: 'create', id: policyId },
      { action: 'update', id: concurrencyId },
    ]);
    expect(refusals(t, ON, OFF, { reserved: 0, provisioned: 0 }, functionId)).toEqual([]);
  });

  test('the function and the alias carry neither the reservation nor provisioned concurrency in either state', () => {
    for (const parameters of [ON, OFF]) {
      const resources = evaluate(t, parameters);
      expect(resources[functionId].Properties.ReservedConcurrentExecutions).toBeUndefined();
      expect(resources[aliasId].Properties.ProvisionedConcurrencyConfig).toBeUndefined();
    }
  });
});

describe('without provisioned concurrency', () => {
  const { stack, fn, t } = synth({ reservedConcurrentExecutions: 50 });
  const functionId = stack.getLogicalId(fn.lambdaFunction.node.defaultChild as any);

  test('on and off update the function alone, which Lambda accepts in both directions', () => {
    expect(steps(t, OFF, ON)).toEqual([{ action: 'update', id: functionId }]);
    expect(steps(t, ON, OFF)).toEqual([{ action: 'update', id: functionId }]);
    expect(refusals(t, OFF, ON, { reserved: 50, provisioned: 0 }, functionId)).toEqual([]);
    expect(refusals(t, ON, OFF, { reserved: 0, provisioned: 0 }, functionId)).toEqual([]);
    expect(evaluate(t, ON)[functionId].Properties.ReservedConcurrentExecutions).toBe(0);
    expect(evaluate(t, OFF)[functionId].Properties.ReservedConcurrentExecutions).toBe(50);
  });
});

describe('the replay finds the order problem of a kill switch on the function itself', () => {
  // The shape this library used before: the function's reservation and the alias's provisioned
  // concurrency both under the switch's condition, and the alias depending on the function.
  const t: Template = {
    Parameters: { ItemsKillSwitch: { Default: 'off' } },
    Conditions: { ItemsKillSwitchOff: { 'Fn::Equals': [{ Ref: 'ItemsKillSwitch' }, 'off'] } },
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: { ReservedConcurrentExecutions: { 'Fn::If': ['ItemsKillSwitchOff', 50, 0] } } },
      Version: { Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: 'Fn' } } },
      Alias: {
        Type: 'AWS::Lambda::Alias',
        Properties: {
          FunctionName: { Ref: 'Fn' }, FunctionVersion: { 'Fn::GetAtt': ['Version', 'Version'] }, Name: 'live',
          ProvisionedConcurrencyConfig: { 'Fn::If': ['ItemsKillSwitchOff', { ProvisionedConcurrentExecutions: 2 }, { Ref: 'AWS::NoValue' }] },
        },
      },
    },
  };

  test('on: the function drops to 0 while the alias still holds its provisioned concurrency, in every possible order', () => {
    expect(orders(t, OFF, ON, steps(t, OFF, ON))).toEqual([[{ action: 'update', id: 'Fn' }, { action: 'update', id: 'Alias' }]]);
    expect(refusals(t, OFF, ON, { reserved: 50, provisioned: 2 }, 'Fn')).toEqual(['update Fn: reservation 0 below provisioned concurrency 2']);
  });
});
