/**
 * How the stack's custom resource function answers CloudFormation: a local
 * HTTP server stands in for the pre-signed S3 response URL and records every
 * PUT. The function picks a handler by ResourceType, and relays the database
 * bootstrap to its function in the VPC through AWS's Lambda client, against
 * a second local server that answers like the Lambda Invoke API, with the
 * credentials of the resource's role, assumed through a third that answers
 * like STS.
 */
import * as http from 'http';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createRoleAssumer } from '../lambda/custom-resource/assume-role';
import { createDispatcher } from '../lambda/custom-resource/handler';
import { createRelay } from '../lambda/custom-resource/relay';
import { answeringCloudFormation, CustomResourceHandler, RESPONSE_MAX_BYTES } from '../lambda/custom-resource/response';
import { LocalApi } from './support/local-aws-api';

interface Put {
  readonly contentType: string | undefined;
  readonly body: Record<string, any>;
  readonly bytes: number;
}

/** The response URL: answers each PUT with the next status of the script (the last one repeating). */
class ResponseUrl extends LocalApi {
  readonly puts: Put[] = [];

  constructor(private readonly statuses: number[] = [200]) {
    super();
  }

  async start(): Promise<string> {
    return `${await this.endpoint()}/response?X-Amz-Signature=abc`;
  }

  protected answer(request: http.IncomingMessage, raw: Buffer, response: http.ServerResponse): void {
    this.puts.push({ contentType: request.headers['content-type'], body: JSON.parse(raw.toString('utf8')), bytes: raw.length });
    response.statusCode = this.statuses[Math.min(this.puts.length - 1, this.statuses.length - 1)];
    response.end();
  }
}

function event(url: string, request: Partial<CloudFormationCustomResourceEvent> = {}): CloudFormationCustomResourceEvent {
  return {
    RequestType: 'Create',
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler',
    ResponseURL: url,
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Orders/1',
    RequestId: 'request-1',
    LogicalResourceId: 'Bootstrap',
    ResourceType: 'Custom::Bootstrap',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler' },
    ...request,
  } as CloudFormationCustomResourceEvent;
}

const context = (remainingMillis: number) => ({ getRemainingTimeInMillis: () => remainingMillis, logStreamName: '2026/12/07/[$LATEST]abc' });
const never: CustomResourceHandler = () => new Promise(() => undefined);

describe('answeringCloudFormation', () => {
  let url: ResponseUrl;
  // Each answer is logged as a JSON line for the function's log group; the tests read the answers at the URL.
  beforeEach(() => jest.spyOn(console, 'log').mockImplementation(() => undefined));
  afterEach(() => {
    jest.restoreAllMocks();
    return url.stop();
  });
  const start = async (statuses?: number[]) => {
    url = new ResponseUrl(statuses);
    return url.start();
  };

  test('answers SUCCESS with the handler\'s physical id and data, without a content type', async () => {
    const responseUrl = await start();
    await answeringCloudFormation(async () => ({ PhysicalResourceId: 'bootstrap:db', Data: { SchemaVersion: '3' } }))(event(responseUrl), context(60_000));
    expect(url.puts).toEqual([{
      contentType: '',
      bytes: expect.any(Number),
      body: {
        Status: 'SUCCESS', PhysicalResourceId: 'bootstrap:db', StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Orders/1',
        RequestId: 'request-1', LogicalResourceId: 'Bootstrap', Data: { SchemaVersion: '3' },
      },
    }]);
  });

  test('answers FAILED with the error and the log stream when the handler throws, keeping the physical id of an Update', async () => {
    const responseUrl = await start();
    const update = event(responseUrl, { RequestType: 'Update', PhysicalResourceId: 'bootstrap:db', OldResourceProperties: {} } as any);
    await answeringCloudFormation(async () => { throw new Error('migration 0002 failed: relation "items" does not exist'); })(update, context(60_000));
    expect(url.puts[0].body).toMatchObject({
      Status: 'FAILED', PhysicalResourceId: 'bootstrap:db',
      Reason: 'migration 0002 failed: relation "items" does not exist (log stream 2026/12/07/[$LATEST]abc)',
    });
  });

  test('marks a failed Create, then answers the Delete that follows SUCCESS without running the handler', async () => {
    const responseUrl = await start();
    const handle = jest.fn(async () => { throw new Error('cannot reach the database'); });
    const answer = answeringCloudFormation(handle);
    await answer(event(responseUrl));
    const failedId = url.puts[0].body.PhysicalResourceId;
    expect(url.puts[0].body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'create-failed:request-1', Reason: 'cannot reach the database' });

    await answer(event(responseUrl, { RequestType: 'Delete', RequestId: 'request-2', PhysicalResourceId: failedId } as any));
    expect(handle).toHaveBeenCalledTimes(1);
    expect(url.puts[1].body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'create-failed:request-1', RequestId: 'request-2' });
  });

  test('answers FAILED before the Lambda deadline when the handler is still running', async () => {
    const responseUrl = await start();
    const started = Date.now();
    await answeringCloudFormation(never, { answerMarginMillis: 1_000 })(event(responseUrl), context(1_200));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(url.puts[0].body).toMatchObject({
      Status: 'FAILED', PhysicalResourceId: 'create-failed:request-1',
      Reason: 'Create did not finish 1 s before the handler\'s Lambda timeout (log stream 2026/12/07/[$LATEST]abc)',
    });
  });

  test('cuts a long reason to fit the 4,096 bytes CloudFormation accepts', async () => {
    const responseUrl = await start();
    await answeringCloudFormation(async () => { throw new Error(`déjà vu ${'é'.repeat(10_000)}`); })(event(responseUrl), context(60_000));
    const [put] = url.puts;
    expect(put.bytes).toBeLessThanOrEqual(RESPONSE_MAX_BYTES);
    expect(put.bytes).toBeGreaterThan(RESPONSE_MAX_BYTES - 4);
    expect(put.body.Reason).toMatch(/^déjà vu é+…$/);
  });

  test('answers FAILED when the handler\'s result is larger than CloudFormation accepts', async () => {
    const responseUrl = await start();
    await answeringCloudFormation(async () => ({ PhysicalResourceId: 'id', Data: { Big: 'x'.repeat(5_000) } }))(event(responseUrl));
    expect(url.puts[0].body).toEqual(expect.objectContaining({
      Status: 'FAILED', PhysicalResourceId: 'create-failed:request-1', Reason: 'the handler\'s result is larger than the 4096 bytes CloudFormation accepts',
    }));
    expect(url.puts[0].body.Data).toBeUndefined();
  });

  test('retries a PUT the URL refuses, and answers once it accepts', async () => {
    const responseUrl = await start([500, 200]);
    await answeringCloudFormation(async () => ({ PhysicalResourceId: 'id' }), { retryDelaysMillis: [0, 0] })(event(responseUrl));
    expect(url.puts.map(put => put.body.Status)).toEqual(['SUCCESS', 'SUCCESS']);
  });

  test('fails the invocation when the URL refuses every attempt, so Lambda runs the request again', async () => {
    const responseUrl = await start([503]);
    await expect(answeringCloudFormation(async () => ({ PhysicalResourceId: 'id' }), { retryDelaysMillis: [0, 0] })(event(responseUrl)))
      .rejects.toThrow('the response URL answered HTTP 503');
    expect(url.puts).toHaveLength(3);
  });
});

describe('createDispatcher', () => {
  const readiness = jest.fn(async () => ({ PhysicalResourceId: 'proxy-readiness:proxy:default' }));
  const concurrency = jest.fn(async () => ({ PhysicalResourceId: 'app-Items:live' }));
  const concurrencyFactory = jest.fn((_credentials: unknown) => concurrency);
  const readinessFactory = jest.fn((_credentials: unknown) => readiness);
  const credentials = async () => ({ accessKeyId: 'ASIAASSUMED', secretAccessKey: 'secret' });
  const credentialsOf = jest.fn((_event: CloudFormationCustomResourceEvent) => credentials);
  const dispatch = createDispatcher({ 'Custom::ProxyTargetsAvailable': readinessFactory, 'Custom::FunctionConcurrency': concurrencyFactory }, credentialsOf);
  afterEach(() => jest.clearAllMocks());

  test('passes each request, with the Lambda context, to the handler of its ResourceType alone, built with the request\'s credentials', async () => {
    const request = event('http://127.0.0.1:1/response', { ResourceType: 'Custom::FunctionConcurrency' });
    const lambdaContext = context(60_000);
    await expect(dispatch(request, lambdaContext)).resolves.toEqual({ PhysicalResourceId: 'app-Items:live' });
    expect(credentialsOf).toHaveBeenCalledWith(request);
    expect(concurrencyFactory).toHaveBeenCalledWith(credentials);
    expect(concurrency).toHaveBeenCalledWith(request, lambdaContext);
    expect(readinessFactory).not.toHaveBeenCalled();
    expect(readiness).not.toHaveBeenCalled();
  });

  test.each(['Custom::Bootstrap', 'constructor', 'toString'])('rejects resource type %s, naming the types it handles', async resourceType => {
    await expect(dispatch(event('http://127.0.0.1:1/response', { ResourceType: resourceType }))).rejects.toThrow(
      `no handler for resource type ${resourceType}: this function handles Custom::ProxyTargetsAvailable, Custom::FunctionConcurrency`);
    expect(credentialsOf).not.toHaveBeenCalled();
    expect(readiness).not.toHaveBeenCalled();
    expect(concurrency).not.toHaveBeenCalled();
  });
});

interface AssumeRoleRequest {
  readonly params: Record<string, string>;
  readonly authorization: string | undefined;
}

/** STS: records each AssumeRole and answers it with the next status of the script (the last one repeating), credentials on 200. */
class StsApi extends LocalApi {
  static readonly ASSUMED = { accessKeyId: 'ASIAASSUMEDROLE', secretAccessKey: 'assumed-secret', sessionToken: 'assumed-session-token' };
  readonly requests: AssumeRoleRequest[] = [];

  constructor(private readonly statuses: number[] = [200]) {
    super();
  }

  protected answer(request: http.IncomingMessage, raw: Buffer, response: http.ServerResponse): void {
    this.requests.push({ params: Object.fromEntries(new URLSearchParams(raw.toString('utf8'))), authorization: request.headers.authorization });
    const status = this.statuses[Math.min(this.requests.length - 1, this.statuses.length - 1)];
    response.writeHead(status, { 'content-type': 'text/xml' });
    response.end(status === 200 ? `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>
<AccessKeyId>${StsApi.ASSUMED.accessKeyId}</AccessKeyId><SecretAccessKey>${StsApi.ASSUMED.secretAccessKey}</SecretAccessKey>
<SessionToken>${StsApi.ASSUMED.sessionToken}</SessionToken><Expiration>${new Date(Date.now() + 3_600_000).toISOString()}</Expiration>
</Credentials></AssumeRoleResult><ResponseMetadata><RequestId>sts-1</RequestId></ResponseMetadata></AssumeRoleResponse>`
      : '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
        + '<Message>User: arn:aws:sts::123456789012:assumed-role/Orders-Handler/fn is not authorized to perform: sts:AssumeRole</Message></Error>'
        + '<RequestId>sts-2</RequestId></ErrorResponse>');
  }
}

interface Invocation {
  readonly url: string;
  readonly authorization: string | undefined;
  readonly securityToken: string | undefined;
  readonly invocationType: string | undefined;
  readonly payload: Record<string, any>;
}

interface InvokeAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: string;
}

/** The Lambda Invoke API: records each invocation and answers it with the next answer of the script. */
class LambdaInvokeApi extends LocalApi {
  readonly invocations: Invocation[] = [];

  constructor(private readonly answers: InvokeAnswer[]) {
    super();
  }

  protected answer(request: http.IncomingMessage, raw: Buffer, response: http.ServerResponse): void {
    this.invocations.push({
      url: request.url!,
      authorization: request.headers.authorization,
      securityToken: request.headers['x-amz-security-token'] as string | undefined,
      invocationType: request.headers['x-amz-invocation-type'] as string | undefined,
      payload: JSON.parse(raw.toString('utf8')),
    });
    const answer = this.answers.shift() ?? { status: 500, body: '{}' };
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    response.end(answer.body);
  }
}

describe('createRelay, answering CloudFormation for the bootstrap function', () => {
  const BOOTSTRAP = 'arn:aws:lambda:eu-west-1:123456789012:function:Orders-BootstrapHandler-abc';
  const ROLE = 'arn:aws:iam::123456789012:role/Orders-BootstrapResourceRole-abc';
  let url: ResponseUrl;
  let lambda: LambdaInvokeApi;
  let sts: StsApi;
  beforeEach(() => jest.spyOn(console, 'log').mockImplementation(() => undefined));
  afterEach(async () => {
    jest.restoreAllMocks();
    await url.stop();
    await lambda.stop();
    await sts.stop();
  });

  /** Relays `request` as the stack's function does, with the Invoke API answering `answers` and STS answering `stsStatuses`. */
  async function relay(
    answers: InvokeAnswer[], request: Partial<CloudFormationCustomResourceEvent> = {},
    properties: Record<string, unknown> = { HandlerArn: BOOTSTRAP, PermissionsRoleArn: ROLE }, stsStatuses: number[] = [200],
  ) {
    url = new ResponseUrl();
    lambda = new LambdaInvokeApi(answers);
    sts = new StsApi(stsStatuses);
    const responseUrl = await url.start();
    const lambdaEndpoint = await lambda.endpoint();
    const assumeRole = createRoleAssumer({
      clientConfig: {
        region: 'eu-west-1',
        endpoint: await sts.endpoint(),
        credentials: { accessKeyId: 'AKIDFUNCTIONROLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
        maxAttempts: 1,
      },
      retryDelaysMillis: [0, 0],
    });
    const answer = answeringCloudFormation(createDispatcher({
      'Custom::DatabaseBootstrap': credentials => createRelay({ lambda: new LambdaClient({ region: 'eu-west-1', endpoint: lambdaEndpoint, credentials, maxAttempts: 1 }) }),
    }, assumeRole));
    const bootstrapEvent = event(responseUrl, {
      ResourceType: 'Custom::DatabaseBootstrap',
      ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler', ...properties, DatabaseName: 'orders' },
      ...request,
    } as Partial<CloudFormationCustomResourceEvent>);
    await answer(bootstrapEvent, context(60_000));
    return { bootstrapEvent, responseUrl };
  }

  test('invokes the function synchronously with the request, keeping the response URL to itself, and answers SUCCESS with its result', async () => {
    const result = { PhysicalResourceId: 'bootstrap:db.example:orders', Data: { AppliedMigrations: '0001_items.sql', SchemaVersion: '1' } };
    const { bootstrapEvent } = await relay([{ status: 200, body: JSON.stringify(result) }]);

    const { ResponseURL: _, ...relayed } = bootstrapEvent;
    expect(lambda.invocations).toEqual([{
      url: `/2015-03-31/functions/${encodeURIComponent(BOOTSTRAP)}/invocations`,
      authorization: expect.stringContaining(`Credential=${StsApi.ASSUMED.accessKeyId}/`),
      securityToken: StsApi.ASSUMED.sessionToken,
      invocationType: 'RequestResponse',
      payload: relayed,
    }]);
    expect(url.puts.map(put => put.body)).toEqual([{
      Status: 'SUCCESS', StackId: bootstrapEvent.StackId, RequestId: 'request-1', LogicalResourceId: 'Bootstrap', ...result,
    }]);
  });

  test('answers FAILED with the function\'s error message when it returns a function error, keeping the physical id of an Update', async () => {
    const error = { errorType: 'error', errorMessage: 'migration 0002_seed.sql failed: relation "items" does not exist', trace: ['error: relation "items" does not exist'] };
    await relay([{ status: 200, headers: { 'x-amz-function-error': 'Unhandled' }, body: JSON.stringify(error) }],
      { RequestType: 'Update', PhysicalResourceId: 'bootstrap:db.example:orders', OldResourceProperties: {} } as Partial<CloudFormationCustomResourceEvent>);

    expect(url.puts.map(put => put.body)).toEqual([expect.objectContaining({
      Status: 'FAILED', PhysicalResourceId: 'bootstrap:db.example:orders',
      Reason: 'migration 0002_seed.sql failed: relation "items" does not exist (log stream 2026/12/07/[$LATEST]abc)',
    })]);
  });

  test('answers FAILED with the timeout Lambda reports when the function runs out of time', async () => {
    const timedOut = { errorType: 'Sandbox.Timedout', errorMessage: 'RequestId: 1f1c Error: Task timed out after 300.00 seconds' };
    await relay([{ status: 200, headers: { 'x-amz-function-error': 'Unhandled' }, body: JSON.stringify(timedOut) }]);

    expect(url.puts[0].body).toMatchObject({
      Status: 'FAILED', PhysicalResourceId: 'create-failed:request-1',
      Reason: 'RequestId: 1f1c Error: Task timed out after 300.00 seconds (log stream 2026/12/07/[$LATEST]abc)',
    });
  });

  test('answers FAILED with what the function returned when it is not a result', async () => {
    await relay([{ status: 200, body: JSON.stringify({ Data: { SchemaVersion: '1' } }) }]);

    expect(url.puts[0].body).toMatchObject({
      Status: 'FAILED',
      Reason: `${BOOTSTRAP} returned {"Data":{"SchemaVersion":"1"}}, not a PhysicalResourceId with string Data (log stream 2026/12/07/[$LATEST]abc)`,
    });
  });

  test('answers FAILED with the Lambda API\'s error when the invocation is refused', async () => {
    await relay([{
      status: 403,
      headers: { 'x-amzn-errortype': 'AccessDeniedException' },
      body: JSON.stringify({ Message: 'User is not authorized to perform: lambda:InvokeFunction' }),
    }]);

    expect(url.puts[0].body).toMatchObject({
      Status: 'FAILED', Reason: 'User is not authorized to perform: lambda:InvokeFunction (log stream 2026/12/07/[$LATEST]abc)',
    });
  });

  test('invokes with the credentials of the role the resource names, assumed with the function\'s own, in a session named by the resource', async () => {
    await relay([{ status: 200, body: JSON.stringify({ PhysicalResourceId: 'bootstrap:db.example:orders' }) }]);

    expect(sts.requests).toEqual([{
      params: expect.objectContaining({ Action: 'AssumeRole', RoleArn: ROLE, RoleSessionName: 'cr-Bootstrap' }),
      authorization: expect.stringContaining('Credential=AKIDFUNCTIONROLE/'),
    }]);
    expect(lambda.invocations.map(invocation => invocation.authorization)).toEqual([expect.stringContaining(`Credential=${StsApi.ASSUMED.accessKeyId}/`)]);
  });

  test('assumes the role again while STS denies it, as it does for a few seconds after the role is created', async () => {
    await relay([{ status: 200, body: JSON.stringify({ PhysicalResourceId: 'bootstrap:db.example:orders' }) }], {}, undefined, [403, 403, 200]);

    expect(sts.requests).toHaveLength(3);
    expect(url.puts[0].body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'bootstrap:db.example:orders' });
  });

  test('answers FAILED with STS\'s error, without invoking anything, when STS still denies the role after the retries', async () => {
    await relay([], {}, undefined, [403]);

    expect(sts.requests).toHaveLength(3);
    expect(lambda.invocations).toEqual([]);
    expect(url.puts[0].body).toMatchObject({
      Status: 'FAILED',
      Reason: 'User: arn:aws:sts::123456789012:assumed-role/Orders-Handler/fn is not authorized to perform: sts:AssumeRole (log stream 2026/12/07/[$LATEST]abc)',
    });
  });

  test('answers FAILED without assuming or invoking anything when the resource names no role', async () => {
    await relay([], {}, { HandlerArn: BOOTSTRAP });

    expect(sts.requests).toEqual([]);
    expect(lambda.invocations).toEqual([]);
    expect(url.puts[0].body).toMatchObject({
      Status: 'FAILED', Reason: 'Custom::DatabaseBootstrap: resource property PermissionsRoleArn is missing (log stream 2026/12/07/[$LATEST]abc)',
    });
  });

  test('answers FAILED without invoking anything when the resource names no function', async () => {
    await relay([], {}, { PermissionsRoleArn: ROLE });

    expect(lambda.invocations).toEqual([]);
    expect(url.puts[0].body).toMatchObject({
      Status: 'FAILED', Reason: 'Custom::DatabaseBootstrap: resource property HandlerArn is missing (log stream 2026/12/07/[$LATEST]abc)',
    });
  });
});
