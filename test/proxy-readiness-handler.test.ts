/**
 * The proxy readiness handler against a fake RDS control plane (no AWS
 * account here) and a fake clock: each poll of DescribeDBProxyTargets answers
 * with the next scripted state, and sleeping advances the clock instantly.
 */
import { DBProxyTarget, DescribeDBProxyTargetsCommand, DescribeDBProxyTargetsCommandOutput } from '@aws-sdk/client-rds';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createHandler, ProxyReadinessOptions, ProxyTargetsApi } from '../lambda/proxy-readiness/handler';

const PROXY = 'orders-proxy';
const POLL_MILLIS = 10_000;

/** One poll's answer: the pages DescribeDBProxyTargets returns, in order. */
type Poll = DBProxyTarget[][];

const cluster: DBProxyTarget = { Type: 'TRACKED_CLUSTER', TrackedClusterId: 'orders-cluster' };
const instance = (id: string, State: string, Reason?: string, Description?: string): DBProxyTarget => ({
  Type: 'RDS_INSTANCE',
  RdsResourceId: id,
  Endpoint: `${id}.abc.eu-west-1.rds.amazonaws.com`,
  TargetHealth: { State: State as any, Reason: Reason as any, Description },
});
const writer = (State: string, Reason?: string, Description?: string) => instance('orders-writer', State, Reason, Description);

/** A fake RDS API that answers poll after poll from the script (repeating the last) and records every request. */
class ScriptedRds implements ProxyTargetsApi {
  readonly requests: DescribeDBProxyTargetsCommand['input'][] = [];
  private poll = 0;
  private page = 0;

  constructor(private readonly script: Poll[]) {}

  get polls(): number {
    return this.poll;
  }

  async send(command: DescribeDBProxyTargetsCommand): Promise<DescribeDBProxyTargetsCommandOutput> {
    this.requests.push(command.input);
    const pages = this.script[Math.min(this.poll, this.script.length - 1)];
    const index = this.page;
    expect(command.input.Marker).toBe(index === 0 ? undefined : `page-${index}`);
    const last = index === pages.length - 1;
    if (last) {
      this.poll++;
      this.page = 0;
    } else {
      this.page++;
    }
    return { Targets: pages[index], Marker: last ? undefined : `page-${index + 1}`, $metadata: {} };
  }
}

interface Harness {
  readonly rds: ScriptedRds;
  readonly run: (event?: CloudFormationCustomResourceEvent, remainingMillis?: number) => Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }>;
  readonly elapsedMillis: () => number;
}

function harness(script: Poll[], options: Partial<ProxyReadinessOptions> = {}): Harness {
  const rds = new ScriptedRds(script);
  let clock = 1_000_000;
  const handler = createHandler({
    rds,
    now: () => clock,
    sleep: async millis => { clock += millis; },
    pollIntervalMillis: POLL_MILLIS,
    ...options,
  });
  const started = clock;
  return {
    rds,
    run: (event = createEvent(), remainingMillis = 15 * 60_000) => handler(event, { getRemainingTimeInMillis: () => remainingMillis }),
    elapsedMillis: () => clock - started,
  };
}

function createEvent(requestType: 'Create' | 'Update' = 'Create'): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://example.com/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/app/1',
    RequestId: 'request-1',
    LogicalResourceId: 'ProxyReadiness',
    ResourceType: 'Custom::ProxyReadiness',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider', ProxyName: PROXY, TargetGroupName: 'default' },
  };
  return requestType === 'Create'
    ? { ...common, RequestType: 'Create' }
    : { ...common, RequestType: 'Update', PhysicalResourceId: `proxy-readiness:${PROXY}:default`, OldResourceProperties: common.ResourceProperties };
}

beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

test('succeeds at once when every instance target is available, ignoring the tracked cluster entry', async () => {
  const { rds, run, elapsedMillis } = harness([[[cluster, writer('AVAILABLE'), instance('orders-reader', 'AVAILABLE')]]]);

  const result = await run();

  expect(result).toEqual({ PhysicalResourceId: `proxy-readiness:${PROXY}:default`, Data: { AvailableTargets: '2' } });
  expect(rds.requests).toEqual([{ DBProxyName: PROXY, TargetGroupName: 'default', Marker: undefined }]);
  expect(elapsedMillis()).toBe(0);
});

test('waits while a target is registering or pending proxy capacity, then succeeds when it becomes available', async () => {
  const { rds, run, elapsedMillis } = harness([
    [[cluster, writer('REGISTERING')]],
    [[cluster, writer('UNAVAILABLE', 'PENDING_PROXY_CAPACITY', 'DBProxy Target is waiting for proxy to scale to desired capacity')]],
    [[cluster, writer('AVAILABLE')]],
  ]);

  await expect(run()).resolves.toMatchObject({ Data: { AvailableTargets: '1' } });
  expect(rds.polls).toBe(3);
  expect(elapsedMillis()).toBe(2 * POLL_MILLIS);
});

test('fails with the target, reason, description and a hint when AUTH_FAILURE persists past the grace period', async () => {
  const description = 'Proxy does not have any registered credentials for user appuser';
  const { rds, run, elapsedMillis } = harness([[[cluster, writer('UNAVAILABLE', 'AUTH_FAILURE', description)]]], { failureGraceMillis: 180_000 });

  const failure = run();

  await expect(failure).rejects.toThrow(`RDS Proxy ${PROXY} (target group default) cannot use its database: orders-writer is UNAVAILABLE / AUTH_FAILURE / ${description}`);
  await expect(failure).rejects.toThrow(/check the secret the proxy uses/);
  // First seen failing at 0 s; the grace period (180 s) is exceeded at the 190 s poll.
  expect(rds.polls).toBe(20);
  expect(elapsedMillis()).toBe(190_000);
});

test('names the network as the likely cause for a persistent CONNECTION_FAILED', async () => {
  const { run } = harness([[[writer('UNAVAILABLE', 'CONNECTION_FAILED', 'Database host not reachable')]]]);

  await expect(run()).rejects.toThrow(/orders-writer is UNAVAILABLE \/ CONNECTION_FAILED \/ Database host not reachable.*security group/);
});

test('keeps waiting through a failure shorter than the grace period and succeeds once the target is available', async () => {
  const authFailure = writer('UNAVAILABLE', 'AUTH_FAILURE', 'user not set up yet');
  const { rds, run } = harness([
    ...Array.from({ length: 15 }, (): Poll => [[cluster, authFailure]]),
    [[cluster, writer('REGISTERING')]],
    ...Array.from({ length: 15 }, (): Poll => [[cluster, authFailure]]),
    [[cluster, writer('AVAILABLE')]],
  ]);

  // 150 s of failure, a recovery, then another 150 s: each run stays under 180 s.
  await expect(run()).resolves.toMatchObject({ Data: { AvailableTargets: '1' } });
  expect(rds.polls).toBe(32);
});

test('waits while the target group has no instance targets yet', async () => {
  const { rds, run } = harness([
    [[]],
    [[cluster]],
    [[cluster, writer('AVAILABLE')]],
  ]);

  await expect(run()).resolves.toMatchObject({ Data: { AvailableTargets: '1' } });
  expect(rds.polls).toBe(3);
});

test('reads every page and requires the targets on later pages to be available too', async () => {
  const { rds, run } = harness([
    [[cluster], [writer('AVAILABLE')], [instance('orders-reader', 'REGISTERING')]],
    [[cluster], [writer('AVAILABLE')], [instance('orders-reader', 'AVAILABLE')]],
  ]);

  await expect(run()).resolves.toMatchObject({ Data: { AvailableTargets: '2' } });
  expect(rds.requests.map(request => request.Marker)).toEqual([undefined, 'page-1', 'page-2', undefined, 'page-1', 'page-2']);
});

test('stops before the Lambda times out and reports the last state seen', async () => {
  const { rds, run, elapsedMillis } = harness([[[cluster, writer('REGISTERING')]]], { deadlineMarginMillis: 30_000 });

  // 120 s left, 30 s margin: polls at 0, 10, ..., 90 s; the next one would pass the 90 s deadline.
  await expect(run(createEvent('Update'), 120_000)).rejects.toThrow(
    `RDS Proxy ${PROXY} (target group default) was not available after 90 s, stopping before the function times out; last state: orders-writer is REGISTERING`,
  );
  expect(rds.polls).toBe(10);
  expect(elapsedMillis()).toBe(90_000);
});

test('reports that no instance was registered when it times out with none', async () => {
  const { run } = harness([[[cluster]]]);

  await expect(run(createEvent(), 60_000)).rejects.toThrow(/last state: no database instance registered as a target yet/);
});

test('fails on missing resource properties', async () => {
  const { run, rds } = harness([[[writer('AVAILABLE')]]]);
  const event = createEvent();
  event.ResourceProperties = { ServiceToken: event.ServiceToken, ProxyName: PROXY };

  await expect(run(event)).rejects.toThrow('proxy readiness: missing resource properties: TargetGroupName');
  expect(rds.requests).toHaveLength(0);
});

test('does nothing on Delete and keeps the physical id', async () => {
  const { rds, run } = harness([[[writer('UNAVAILABLE', 'AUTH_FAILURE')]]]);
  const { ResponseURL, ServiceToken, StackId, RequestId, LogicalResourceId, ResourceType, ResourceProperties } = createEvent();

  const result = await run({
    RequestType: 'Delete', PhysicalResourceId: 'proxy-readiness:old', ResponseURL, ServiceToken, StackId, RequestId, LogicalResourceId, ResourceType, ResourceProperties,
  });

  expect(result).toEqual({ PhysicalResourceId: 'proxy-readiness:old' });
  expect(rds.requests).toHaveLength(0);
});
