/**
 * The function concurrency handler against an in-memory double of the Lambda
 * API (no AWS account here) that enforces the rules the handler exists for:
 * a reservation below the function's provisioned concurrency is refused, so
 * is provisioned concurrency above the reservation or, for a function
 * without one, above what the account leaves unreserved. Allocation takes a
 * scripted time on a fake clock; sleeping advances the clock instantly.
 */
import { InvalidParameterValueException, LambdaServiceException, TooManyRequestsException } from '@aws-sdk/client-lambda';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createHandler, FunctionConcurrencyOptions } from '../lambda/function-concurrency/handler';
import { FunctionConcurrencyApi, ProvisionedConcurrencyConfig } from '../lambda/function-concurrency/lambda-api';

const FUNCTION = 'app-Items-abc123';
const POLL_MILLIS = 5_000;

/** Lambda's refusal of a concurrency setting, as the Lambda client raises it. */
function invalidParameter(message: string): InvalidParameterValueException {
  return new InvalidParameterValueException({ message, $metadata: { httpStatusCode: 400 } });
}

interface Allocation {
  requested: number;
  readyAt: number;
  failure?: string;
}

/** One Lambda function with one alias, in an account with a concurrency limit and other functions' reservations. */
class LambdaDouble implements FunctionConcurrencyApi {
  readonly calls: string[] = [];
  reserved: number | undefined;
  readonly allocations = new Map<string, Allocation>();
  /** Why allocations requested through the API fail, if they do (e.g. the function's init fails). */
  allocationFailure: string | undefined;
  /** Runs before each call, e.g. to play Application Auto Scaling putting provisioned concurrency back. */
  beforeCall: (call: string) => void = () => undefined;

  constructor(
    private readonly clock: { now: number },
    private readonly account = { limit: 1000, reservedElsewhere: 0 },
    private readonly allocationMillis = 60_000,
  ) {}

  private get provisioned(): number {
    return [...this.allocations.values()].reduce((sum, allocation) => sum + allocation.requested, 0);
  }

  private get unreservedMinimum(): number {
    return Math.min(100, this.account.limit);
  }

  private record(call: string): void {
    this.beforeCall(call);
    this.calls.push(call);
  }

  async putFunctionConcurrency(functionName: string, reserved: number): Promise<void> {
    this.record(`reserve ${reserved}`);
    expect(functionName).toBe(FUNCTION);
    if (reserved < this.provisioned) {
      throw invalidParameter(
        `Specified ReservedConcurrentExecutions ${reserved} is lower than the provisioned concurrency ${this.provisioned} of the function's versions and aliases.`);
    }
    if (this.account.limit - this.account.reservedElsewhere - reserved < this.unreservedMinimum) {
      throw invalidParameter(
        `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${this.unreservedMinimum}].`);
    }
    this.reserved = reserved;
  }

  async getFunctionConcurrency(functionName: string): Promise<number | undefined> {
    expect(functionName).toBe(FUNCTION);
    return this.reserved;
  }

  async deleteFunctionConcurrency(functionName: string): Promise<void> {
    this.record('unreserve');
    expect(functionName).toBe(FUNCTION);
    this.reserved = undefined;
  }

  async getProvisionedConcurrencyConfig(functionName: string, qualifier: string): Promise<ProvisionedConcurrencyConfig | undefined> {
    expect(functionName).toBe(FUNCTION);
    const allocation = this.allocations.get(qualifier);
    if (!allocation) {
      return undefined;
    }
    const done = this.clock.now >= allocation.readyAt;
    const status = !done ? 'IN_PROGRESS' : allocation.failure ? 'FAILED' : 'READY';
    return { requested: allocation.requested, allocated: status === 'READY' ? allocation.requested : 0, status, statusReason: done ? allocation.failure : undefined };
  }

  async putProvisionedConcurrencyConfig(functionName: string, qualifier: string, executions: number): Promise<void> {
    this.record(`provision ${executions}`);
    expect(functionName).toBe(FUNCTION);
    this.provision(qualifier, executions, this.allocationFailure);
  }

  async deleteProvisionedConcurrencyConfig(functionName: string, qualifier: string): Promise<void> {
    this.record('release');
    expect(functionName).toBe(FUNCTION);
    this.allocations.delete(qualifier);
  }

  /** What PutProvisionedConcurrencyConfig does, for the handler and for auto scaling. */
  provision(qualifier: string, executions: number, failure?: string): void {
    const others = this.provisioned - (this.allocations.get(qualifier)?.requested ?? 0);
    if (this.reserved !== undefined && others + executions > this.reserved) {
      throw invalidParameter(
        `Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution [${this.reserved}] for function.`);
    }
    if (this.reserved === undefined && this.account.limit - this.account.reservedElsewhere - others - executions < this.unreservedMinimum) {
      throw invalidParameter(
        `Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${this.unreservedMinimum}].`);
    }
    this.allocations.set(qualifier, { requested: executions, readyAt: this.clock.now + this.allocationMillis, failure });
  }
}

interface Properties {
  readonly provisioned?: number;
  readonly reserved?: number;
  readonly killSwitch?: 'on' | 'off';
  readonly version?: string;
}

type ResourceProperties = { ServiceToken: string } & Record<string, string>;

function resourceProperties(props: Properties = {}): ResourceProperties {
  return {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    FunctionName: FUNCTION,
    Qualifier: 'live',
    FunctionVersion: props.version ?? '1',
    ProvisionedConcurrentExecutions: String(props.provisioned ?? 2),
    ...(props.reserved === undefined ? {} : { ReservedConcurrentExecutions: String(props.reserved) }),
    KillSwitch: props.killSwitch ?? 'off',
  };
}

const common = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  ResponseURL: 'https://example.com/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/app/1',
  RequestId: 'request-1',
  LogicalResourceId: 'ItemsConcurrencySettings',
  ResourceType: 'Custom::FunctionConcurrency',
};

function create(props: Properties = {}): CloudFormationCustomResourceEvent {
  return { ...common, RequestType: 'Create', ResourceProperties: resourceProperties(props) };
}

/** An update from `from` to `to`; a rollback is an update with the two the other way round. */
function update(from: Properties, to: Properties): CloudFormationCustomResourceEvent {
  return {
    ...common, RequestType: 'Update', PhysicalResourceId: `${FUNCTION}:live`,
    ResourceProperties: resourceProperties(to), OldResourceProperties: resourceProperties(from),
  };
}

function remove(properties: ResourceProperties = resourceProperties()): CloudFormationCustomResourceEvent {
  return { ...common, RequestType: 'Delete', PhysicalResourceId: `${FUNCTION}:live`, ResourceProperties: properties };
}

function harness(options: { account?: { limit: number; reservedElsewhere: number }; allocationMillis?: number; handler?: Partial<FunctionConcurrencyOptions> } = {}) {
  const clock = { now: 1_000_000 };
  const lambda = new LambdaDouble(clock, options.account, options.allocationMillis);
  const handler = createHandler({
    lambda,
    now: () => clock.now,
    sleep: async millis => { clock.now += millis; },
    pollIntervalMillis: POLL_MILLIS,
    ...options.handler,
  });
  const started = clock.now;
  return {
    lambda,
    run: (event: CloudFormationCustomResourceEvent, remainingMillis = 14 * 60_000) => handler(event, { getRemainingTimeInMillis: () => remainingMillis }),
    elapsedMillis: () => clock.now - started,
  };
}

/** The double in the state the handler leaves after a create with these properties. */
async function deployed(props: Properties, options: Parameters<typeof harness>[0] = {}) {
  const h = harness(options);
  await h.run(create(props));
  h.lambda.calls.length = 0;
  const since = h.elapsedMillis();
  return { ...h, elapsedMillis: () => h.elapsedMillis() - since };
}

beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('create', () => {
  test('reserves first, then provisions the alias and waits until the allocation is ready', async () => {
    const { lambda, run, elapsedMillis } = harness();

    await expect(run(create({ reserved: 50, provisioned: 2 }))).resolves.toEqual({ PhysicalResourceId: `${FUNCTION}:live` });

    expect(lambda.calls).toEqual(['reserve 50', 'provision 2']);
    expect(lambda.reserved).toBe(50);
    expect(lambda.allocations.get('live')?.requested).toBe(2);
    expect(elapsedMillis()).toBe(60_000);
  });

  test('without a reservation provisions from the unreserved pool, removing a reservation only where there is one', async () => {
    const { lambda, run } = harness();

    await run(create({ provisioned: 3 }));

    expect(lambda.calls).toEqual(['provision 3']);
    expect(lambda.reserved).toBeUndefined();
  });

  test('with the kill switch on from the start reserves 0 and provisions nothing', async () => {
    const { lambda, run } = harness();

    await run(create({ reserved: 50, killSwitch: 'on' }));

    expect(lambda.calls).toEqual(['release', 'reserve 0']);
    expect(lambda.reserved).toBe(0);
    expect(lambda.allocations.size).toBe(0);
  });

  test('fails with the allocation\'s reason when Lambda cannot allocate it', async () => {
    const { lambda, run } = harness();
    lambda.allocationFailure = 'FUNCTION_ERROR_INIT_FAILURE';

    await expect(run(create({ reserved: 50 }))).rejects.toThrow(
      `${FUNCTION}:live: Lambda could not allocate its provisioned concurrency (0 of 2): FUNCTION_ERROR_INIT_FAILURE`);
  });

  test('stops waiting before the handler times out and says how far the allocation got', async () => {
    const { run, elapsedMillis } = harness({ allocationMillis: 10 * 60_000 });

    // 120 s left, 30 s margin: polls at 0, 5, ..., 90 s; the next one would pass the 90 s deadline.
    await expect(run(create({ reserved: 50 }), 120_000)).rejects.toThrow(
      `${FUNCTION}:live: provisioned concurrency was still IN_PROGRESS (0 of 2) after 90 s, stopping before the handler times out`);
    expect(elapsedMillis()).toBe(90_000);
  });

  test('reports a reservation the account cannot grant, with Lambda\'s reason, without retrying for long', async () => {
    const { lambda, run } = harness({ account: { limit: 10, reservedElsewhere: 0 } });

    await expect(run(create({ reserved: 5 }))).rejects.toThrow(
      `${FUNCTION}: Lambda refused a reservation of 5 after 12 attempt(s): InvalidParameterValueException: `
      + 'Specified ReservedConcurrentExecutions for function decreases account\'s UnreservedConcurrentExecution below its minimum value of [10].');
    expect(lambda.calls.filter(call => call === 'reserve 5')).toHaveLength(12);
  });
});

test('reports provisioned concurrency that the account\'s unreserved pool cannot hold, with Lambda\'s reason', async () => {
  const { lambda, run } = harness({ account: { limit: 100, reservedElsewhere: 0 } });

  await expect(run(create({ provisioned: 2 }))).rejects.toThrow(
    `${FUNCTION}: Lambda refused provisioned concurrency of 2 on live after 12 attempt(s): InvalidParameterValueException: `
    + 'Specified ConcurrentExecutions for function decreases account\'s UnreservedConcurrentExecution below its minimum value of [100].');
  expect(lambda.allocations.size).toBe(0);
});

describe('refusals that are not about concurrency', () => {
  test('waits out throttling that outlasts the client\'s own retries, then carries on', async () => {
    const { lambda, run, elapsedMillis } = harness();
    let throttled = 2;
    lambda.beforeCall = call => {
      if (call === 'reserve 50' && throttled-- > 0) {
        throw new TooManyRequestsException({ message: 'Rate exceeded', Reason: 'CallerRateLimitExceeded', $metadata: { httpStatusCode: 429 } });
      }
    };

    await run(create({ reserved: 50 }));

    expect(lambda.calls).toEqual(['reserve 50', 'provision 2']);
    expect(elapsedMillis()).toBe(2 * POLL_MILLIS + 60_000);
  });

  test('fails at the first answer that waiting cannot change, such as a missing permission', async () => {
    const { lambda, run, elapsedMillis } = harness();
    const message = 'User: arn:aws:sts::123456789012:assumed-role/handler/x is not authorized to perform: lambda:PutFunctionConcurrency';
    // Lambda's model has no AccessDeniedException: the client raises it as its base exception, named after the error code.
    lambda.beforeCall = () => {
      throw new LambdaServiceException({ name: 'AccessDeniedException', $fault: 'client', message, $metadata: { httpStatusCode: 403 } });
    };

    await expect(run(create({ reserved: 50 }))).rejects.toThrow(
      `${FUNCTION}: Lambda refused a reservation of 50 after 1 attempt(s): AccessDeniedException: ${message}`);
    expect(elapsedMillis()).toBe(0);
  });
});

describe('kill switch', () => {
  test('on: releases the provisioned concurrency before it reserves 0, which Lambda would refuse the other way round', async () => {
    const { lambda, run } = await deployed({ reserved: 50, provisioned: 4 });
    await expect(lambda.putFunctionConcurrency(FUNCTION, 0)).rejects.toThrow(/lower than the provisioned concurrency 4/);
    lambda.calls.length = 0;

    await run(update({ reserved: 50, provisioned: 4 }, { reserved: 50, provisioned: 4, killSwitch: 'on' }));

    expect(lambda.calls).toEqual(['release', 'reserve 0']);
    expect(lambda.reserved).toBe(0);
    expect(lambda.allocations.size).toBe(0);
  });

  test('off: restores the reservation before it provisions, which Lambda would refuse against a reservation of 0', async () => {
    const { lambda, run } = await deployed({ reserved: 50, killSwitch: 'on' });
    expect(() => lambda.provision('live', 2)).toThrow(/greater than the reservedConcurrentExecution \[0\]/);

    await run(update({ reserved: 50, killSwitch: 'on' }, { reserved: 50 }));

    expect(lambda.calls).toEqual(['reserve 50', 'provision 2']);
    expect(lambda.allocations.get('live')).toMatchObject({ requested: 2 });
  });

  test('off without a configured reservation removes the 0, then provisions from the unreserved pool', async () => {
    const { lambda, run } = await deployed({ killSwitch: 'on' });

    await run(update({ killSwitch: 'on' }, {}));

    expect(lambda.calls).toEqual(['unreserve', 'provision 2']);
    expect(lambda.reserved).toBeUndefined();
  });

  test('on: deletes provisioned concurrency that auto scaling puts back while it works, and still ends at 0', async () => {
    const { lambda, run, elapsedMillis } = await deployed({ reserved: 50, provisioned: 2 });
    let scalingActions = 2;
    lambda.beforeCall = call => {
      if (call === 'reserve 0' && scalingActions-- > 0) {
        lambda.provision('live', 6);
      }
    };

    await run(update({ reserved: 50 }, { reserved: 50, killSwitch: 'on' }));

    expect(lambda.calls).toEqual(['release', 'reserve 0', 'release', 'reserve 0', 'release', 'reserve 0']);
    expect(lambda.reserved).toBe(0);
    expect(lambda.allocations.size).toBe(0);
    expect(elapsedMillis()).toBe(2 * POLL_MILLIS);
  });

  test('a deploy while it is on (a new version) stops the function again and provisions nothing', async () => {
    const { lambda, run } = await deployed({ reserved: 50, killSwitch: 'on' });
    // What a rewrite of the function's reservation by the function's own update would do.
    lambda.reserved = 50;

    await run(update({ reserved: 50, killSwitch: 'on', version: '1' }, { reserved: 50, killSwitch: 'on', version: '2' }));

    expect(lambda.calls).toEqual(['release', 'reserve 0']);
    expect(lambda.reserved).toBe(0);
  });

  test('the rollback of a failed "on" deploy (on back to off) restores the reservation, then the provisioned concurrency', async () => {
    const { lambda, run } = await deployed({ reserved: 50, provisioned: 3, killSwitch: 'on' });

    await run(update({ reserved: 50, provisioned: 3, killSwitch: 'on' }, { reserved: 50, provisioned: 3 }));

    expect(lambda.calls).toEqual(['reserve 50', 'provision 3']);
  });
});

describe('updates with the kill switch off', () => {
  test('a new version keeps the allocation auto scaling chose and waits until it has moved to the new version', async () => {
    const { lambda, run, elapsedMillis } = await deployed({ reserved: 50, provisioned: 2, version: '1' });
    // Auto scaling raised it to 6; the alias now points at version 2, whose allocation is in progress.
    lambda.provision('live', 6);

    await run(update({ reserved: 50, provisioned: 2, version: '1' }, { reserved: 50, provisioned: 2, version: '2' }));

    expect(lambda.calls).toEqual(['reserve 50']);
    expect(lambda.allocations.get('live')?.requested).toBe(6);
    expect(elapsedMillis()).toBe(60_000);
  });

  test('a new version while scheduled scaling holds the alias at 0 provisions nothing', async () => {
    const { lambda, run } = await deployed({ reserved: 50, version: '1' });
    lambda.allocations.clear();

    await run(update({ reserved: 50, version: '1' }, { reserved: 50, version: '2' }));

    expect(lambda.calls).toEqual(['reserve 50']);
    expect(lambda.allocations.size).toBe(0);
  });

  test('a new minCapacity is requested', async () => {
    const { lambda, run } = await deployed({ reserved: 50, provisioned: 2 });

    await run(update({ reserved: 50, provisioned: 2 }, { reserved: 50, provisioned: 5 }));

    expect(lambda.calls).toEqual(['reserve 50', 'provision 5']);
  });

  test('a reservation lowered below what auto scaling allocated brings the allocation down to the new minimum first', async () => {
    const { lambda, run } = await deployed({ reserved: 50, provisioned: 2 });
    lambda.provision('live', 40);

    await run(update({ reserved: 50, provisioned: 2 }, { reserved: 20, provisioned: 2 }));

    expect(lambda.calls).toEqual(['provision 2', 'reserve 20']);
    expect(lambda.reserved).toBe(20);
  });

  test('a reservation removed leaves the function unreserved with its allocation', async () => {
    const { lambda, run } = await deployed({ reserved: 50, provisioned: 2 });

    await run(update({ reserved: 50, provisioned: 2 }, { provisioned: 2 }));

    expect(lambda.calls).toEqual(['unreserve']);
    expect(lambda.reserved).toBeUndefined();
  });
});

describe('delete', () => {
  test('releases the alias\'s provisioned concurrency and leaves the reservation to the function', async () => {
    const { lambda, run } = await deployed({ reserved: 50, provisioned: 2 });

    await expect(run(remove())).resolves.toEqual({ PhysicalResourceId: `${FUNCTION}:live` });

    expect(lambda.calls).toEqual(['release']);
    expect(lambda.reserved).toBe(50);
  });

  test('of a resource whose properties never worked changes nothing', async () => {
    const { lambda, run } = harness();

    await run(remove({ ServiceToken: common.ServiceToken, FunctionName: FUNCTION }));

    expect(lambda.calls).toEqual([]);
  });
});

test.each([
  [{ KillSwitch: 'maybe' }, "function concurrency: resource property KillSwitch (maybe) must be 'on' or 'off'"],
  [{ FunctionName: '' }, 'function concurrency: resource property FunctionName is missing'],
  [{ ProvisionedConcurrentExecutions: '0' }, 'function concurrency: resource property ProvisionedConcurrentExecutions (0) must be a whole number of 1 or more'],
  [{ ReservedConcurrentExecutions: '2.5' }, 'function concurrency: resource property ReservedConcurrentExecutions (2.5) must be a whole number of 0 or more'],
])('rejects the resource properties %p', async (change, message) => {
  const { lambda, run } = harness();
  const event = create();
  event.ResourceProperties = { ...event.ResourceProperties, ...change };

  await expect(run(event)).rejects.toThrow(message);
  expect(lambda.calls).toEqual([]);
});
