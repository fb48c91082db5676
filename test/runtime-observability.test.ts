/**
 * The runtime's Powertools wiring (`cdk-serverless-rds/runtime/observability`):
 * JSON logs with the Lambda context, EMF metrics, the invocation deadline,
 * and a Tracer only when the handler brings one.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { currentDeadline } from '../lambda/runtime';
import { instrumentHandler, observability } from '../lambda/runtime/observability';
import { lambdaContext } from './support/lambda';

// Lambda sets AWS_LAMBDA_INITIALIZATION_TYPE; Powertools reports cold starts only for on-demand environments.
const ENVIRONMENT: Record<string, string | undefined> = {
  AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand', POWERTOOLS_DEV: undefined, POWERTOOLS_METRICS_DISABLED: undefined, POWERTOOLS_TRACE_ENABLED: undefined,
  AWS_LAMBDA_FUNCTION_NAME: undefined,
};
let saved: Record<string, string | undefined>;
beforeAll(() => {
  saved = Object.fromEntries(Object.keys(ENVIRONMENT).map(key => [key, process.env[key]]));
  setEnvironment(ENVIRONMENT);
});
afterAll(() => setEnvironment(saved));

function setEnvironment(values: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

const context = (awsRequestId: string, timeoutMillis?: number) => lambdaContext('items-function', { awsRequestId, timeoutMillis });

/** JSON lines written to stdout and stderr while `body` runs. */
async function captureOutput(body: () => Promise<void>): Promise<any[]> {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => { lines.push(String(chunk)); return true; };
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    await body();
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return lines.join('').split('\n').filter(line => line.trim()).map(line => JSON.parse(line));
}

test('observability has no Tracer unless the handler passes one', () => {
  expect(observability({ serviceName: 'items' })).not.toHaveProperty('tracer');
  const tracer = new Tracer({ serviceName: 'items' });
  expect(observability({ serviceName: 'items', tracer }).tracer).toBe(tracer);
});

test('instrumentHandler logs with the Lambda context, emits one ColdStart metric and the handler\'s metrics', async () => {
  const tools = observability({ serviceName: 'items', namespace: 'ReferenceApi' });
  const handler = instrumentHandler(tools, async (event: { n: number }) => {
    tools.logger.info('handled', { n: event.n });
    tools.metrics.addMetric('Handled', 'Count', 1);
    return event.n * 2;
  });

  const output = await captureOutput(async () => {
    expect(await handler({ n: 1 }, context('request-1'))).toBe(2);
    expect(await handler({ n: 2 }, context('request-2'))).toBe(4);
  });

  const logs = output.filter(line => line.message === 'handled');
  expect(logs).toEqual([
    expect.objectContaining({ level: 'INFO', service: 'items', function_name: 'items-function', function_request_id: 'request-1', cold_start: true, n: 1 }),
    expect.objectContaining({ level: 'INFO', service: 'items', function_name: 'items-function', function_request_id: 'request-2', cold_start: false, n: 2 }),
  ]);
  const metricNames = output.filter(line => line._aws).map(line => line._aws.CloudWatchMetrics[0].Metrics.map((metric: { Name: string }) => metric.Name));
  expect(metricNames).toEqual([['ColdStart'], ['Handled'], ['Handled']]);
  expect(output.filter(line => line._aws).every(line => line._aws.CloudWatchMetrics[0].Namespace === 'ReferenceApi')).toBe(true);
});

test('instrumentHandler rethrows the handler\'s error and publishes no empty metrics', async () => {
  const tools = observability({ serviceName: 'items', namespace: 'ReferenceApi' });
  const failure = new Error('handler failed');
  const handler = instrumentHandler(tools, async () => { throw failure; });

  const output = await captureOutput(async () => {
    await expect(handler({}, context('request-1'))).rejects.toBe(failure);
  });

  expect(output.filter(line => line._aws).map(line => line.ColdStart)).toEqual([1]);
  expect(output.filter(line => /No application metrics/.test(line.message ?? ''))).toEqual([]);
});

test('instrumentHandler runs the handler under the invocation\'s deadline: its remaining time minus the margin', async () => {
  const handler = instrumentHandler(observability({ serviceName: 'items', namespace: 'ReferenceApi' }), async () => currentDeadline());
  let deadline: ReturnType<typeof currentDeadline>;
  const before = Date.now();
  await captureOutput(async () => { deadline = await handler({}, context('request-1', 5_000)); });
  // 5 s left, 10% (500 ms) kept back for the answer.
  expect(deadline!.expiresAt).toBeGreaterThanOrEqual(before + 4_500);
  expect(deadline!.expiresAt).toBeLessThanOrEqual(Date.now() + 4_500);
  expect(currentDeadline()).toBeUndefined();
});

test('with a Tracer, instrumentHandler annotates the invocation and records the error; outside Lambda the Tracer sends nothing', async () => {
  const tracer = new Tracer({ serviceName: 'items' });
  const annotate = jest.spyOn(tracer, 'annotateColdStart');
  const recordError = jest.spyOn(tracer, 'addErrorAsMetadata');
  const failure = new Error('handler failed');
  const handler = instrumentHandler(observability({ serviceName: 'items', namespace: 'ReferenceApi', tracer }), async () => { throw failure; });

  await captureOutput(async () => {
    await expect(handler({}, context('request-1'))).rejects.toBe(failure);
  });

  expect(tracer.isTracingEnabled()).toBe(false);
  expect(annotate).toHaveBeenCalledTimes(1);
  expect(recordError).toHaveBeenCalledWith(failure);
});
