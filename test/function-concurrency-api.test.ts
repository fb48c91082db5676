/**
 * The function concurrency handler's six Lambda API calls, made by AWS's
 * Lambda client against a local HTTP server that answers like the Lambda API
 * (restJson1 errors included): what goes over the wire, what a missing
 * configuration reads as, and the client's retries on throttling. Then the
 * pre-bundled custom resource function, given a Custom::FunctionConcurrency
 * request in a process of its own that has only Lambda's environment,
 * reaching that server for STS (it assumes the resource's role) and Lambda.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { InvalidParameterValueException, LambdaClient, ResourceNotFoundException, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { createLambdaApi, FunctionConcurrencyApi } from '../lambda/function-concurrency/lambda-api';
import { runIsolated } from './support/isolated-node';
import { LocalApi } from './support/local-aws-api';
import { PROJECT_ROOT } from './support/local-server';

const FUNCTION = 'app-Items-abc123';
const ROLE = 'arn:aws:iam::123456789012:role/app-ItemsConcurrencySettingsRole-abc';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };
const BUNDLED_HANDLER = path.join(PROJECT_ROOT, 'dist', 'handlers', 'custom-resource', 'index.js');

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** An error answer as Lambda sends it: the type in x-amzn-ErrorType (with a namespace after ':'), the message in the body. */
function lambdaError(status: number, type: string, message: string, extra: Record<string, string> = {}): Answer {
  return {
    status,
    headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.awsgambit/` },
    body: { Type: 'User', message, ...extra },
  };
}

const ASSUMED = { accessKeyId: 'ASIAASSUMEDROLE', secretAccessKey: 'assumed-secret', sessionToken: 'assumed-session-token' };

/** STS's answer to AssumeRole (awsQuery: XML). */
const assumedRole = (): Answer => ({
  status: 200,
  headers: { 'content-type': 'text/xml' },
  body: `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>${ASSUMED.accessKeyId}</AccessKeyId>`
    + `<SecretAccessKey>${ASSUMED.secretAccessKey}</SecretAccessKey><SessionToken>${ASSUMED.sessionToken}</SessionToken>`
    + `<Expiration>${new Date(Date.now() + 3_600_000).toISOString()}</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`,
});

const configNotFound = () => lambdaError(404, 'ProvisionedConcurrencyConfigNotFoundException', 'No Provisioned Concurrency Config found for this function');
const throttled = () => lambdaError(429, 'TooManyRequestsException', 'Rate exceeded', { Reason: 'CallerRateLimitExceeded' });

/** Lambda (and STS, for the bundled function): records each request and answers with the next answer, 200 `{}` when none is left. */
class LambdaApi extends LocalApi {
  protected answer(request: http.IncomingMessage, raw: Buffer, response: http.ServerResponse): void {
    received.push({ method: request.method!, url: request.url!, headers: request.headers, body: raw.toString('utf8') });
    const answer = answers.shift() ?? { status: 200, body: {} };
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    response.end(answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
  }
}

const server = new LambdaApi();
let endpoint: string;
let received: Received[];
let answers: Answer[];

beforeAll(async () => {
  endpoint = await server.endpoint();
});

afterAll(() => server.stop());

beforeEach(() => {
  received = [];
  answers = [];
});

/** Method, path with query, and body of each request the server received. */
const wire = () => received.map(({ method, url, body }) => ({ method, url, body }));

/** Signed with Signature Version 4 for `service` in `region`, with the session token of temporary credentials. */
function expectSigned(request: Received, region: string, service = 'lambda', credentials = CREDENTIALS): void {
  expect(request.headers.authorization).toMatch(new RegExp(
    `^AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/\\d{8}/${region}/${service}/aws4_request, SignedHeaders=[a-z0-9;-]*host;[a-z0-9;-]*x-amz-security-token[a-z0-9;-]*, Signature=[0-9a-f]{64}$`));
  expect(request.headers['x-amz-security-token']).toBe(credentials.sessionToken);
}

describe('the Lambda API calls', () => {
  let api: FunctionConcurrencyApi;

  beforeEach(() => {
    api = createLambdaApi(new LambdaClient({ region: 'eu-west-1', endpoint, credentials: CREDENTIALS }));
  });

  test('Get, Put and DeleteFunctionConcurrency go to the function\'s concurrency, Get to the 2019-09-30 version of the API', async () => {
    answers = [{ status: 200, body: {} }, { status: 200, body: { ReservedConcurrentExecutions: 0 } }, { status: 200, body: { ReservedConcurrentExecutions: 0 } }, { status: 204 }];

    await expect(api.getFunctionConcurrency(FUNCTION)).resolves.toBeUndefined();
    await api.putFunctionConcurrency(FUNCTION, 0);
    await expect(api.getFunctionConcurrency(FUNCTION)).resolves.toBe(0);
    await api.deleteFunctionConcurrency(FUNCTION);

    expect(wire()).toEqual([
      { method: 'GET', url: `/2019-09-30/functions/${FUNCTION}/concurrency`, body: '' },
      { method: 'PUT', url: `/2017-10-31/functions/${FUNCTION}/concurrency`, body: '{"ReservedConcurrentExecutions":0}' },
      { method: 'GET', url: `/2019-09-30/functions/${FUNCTION}/concurrency`, body: '' },
      { method: 'DELETE', url: `/2017-10-31/functions/${FUNCTION}/concurrency`, body: '' },
    ]);
    expect(received[1].headers['content-type']).toBe('application/json');
    received.forEach(request => expectSigned(request, 'eu-west-1'));
  });

  test('Put, Get and DeleteProvisionedConcurrencyConfig go to the provisioned concurrency of the qualifier', async () => {
    answers = [
      { status: 202, body: { RequestedProvisionedConcurrentExecutions: 2, AllocatedProvisionedConcurrentExecutions: 0, Status: 'IN_PROGRESS' } },
      { status: 200, body: { RequestedProvisionedConcurrentExecutions: 2, AllocatedProvisionedConcurrentExecutions: 1, AvailableProvisionedConcurrentExecutions: 1, Status: 'IN_PROGRESS' } },
      { status: 200, body: { RequestedProvisionedConcurrentExecutions: 2, AllocatedProvisionedConcurrentExecutions: 0, Status: 'FAILED', StatusReason: 'FUNCTION_ERROR_INIT_FAILURE' } },
      { status: 204 },
    ];

    await api.putProvisionedConcurrencyConfig(FUNCTION, 'live', 2);
    await expect(api.getProvisionedConcurrencyConfig(FUNCTION, 'live')).resolves.toEqual({ requested: 2, allocated: 1, status: 'IN_PROGRESS', statusReason: undefined });
    await expect(api.getProvisionedConcurrencyConfig(FUNCTION, 'live')).resolves.toEqual(
      { requested: 2, allocated: 0, status: 'FAILED', statusReason: 'FUNCTION_ERROR_INIT_FAILURE' });
    await api.deleteProvisionedConcurrencyConfig(FUNCTION, 'live');

    const path = `/2019-09-30/functions/${FUNCTION}/provisioned-concurrency?Qualifier=live`;
    expect(wire()).toEqual([
      { method: 'PUT', url: path, body: '{"ProvisionedConcurrentExecutions":2}' },
      { method: 'GET', url: path, body: '' },
      { method: 'GET', url: path, body: '' },
      { method: 'DELETE', url: path, body: '' },
    ]);
    expect(received[0].headers['content-type']).toBe('application/json');
    received.forEach(request => expectSigned(request, 'eu-west-1'));
  });

  test('a qualifier without a configuration reads as none, and deleting it succeeds', async () => {
    answers = [configNotFound(), configNotFound()];

    await expect(api.getProvisionedConcurrencyConfig(FUNCTION, 'live')).resolves.toBeUndefined();
    await expect(api.deleteProvisionedConcurrencyConfig(FUNCTION, 'live')).resolves.toBeUndefined();
    expect(received).toHaveLength(2);
  });

  test('a function or alias that no longer exists has no configuration either', async () => {
    const gone = () => lambdaError(404, 'ResourceNotFoundException', `Function not found: arn:aws:lambda:eu-west-1:123456789012:function:${FUNCTION}:live`);
    answers = [gone(), gone()];

    await expect(api.getProvisionedConcurrencyConfig(FUNCTION, 'live')).resolves.toBeUndefined();
    await expect(api.deleteProvisionedConcurrencyConfig(FUNCTION, 'live')).resolves.toBeUndefined();
  });

  test('a missing function is an error for the reservation calls', async () => {
    answers = [lambdaError(404, 'ResourceNotFoundException', `Function not found: arn:aws:lambda:eu-west-1:123456789012:function:${FUNCTION}`)];

    await expect(api.putFunctionConcurrency(FUNCTION, 5)).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  test('Lambda\'s refusal reaches the caller as the client\'s exception, with Lambda\'s message, and is not retried', async () => {
    const message = 'Specified ReservedConcurrentExecutions for function decreases account\'s UnreservedConcurrentExecution below its minimum value of [10].';
    answers = [lambdaError(400, 'InvalidParameterValueException', message)];

    const failure = api.putFunctionConcurrency(FUNCTION, 5);

    await expect(failure).rejects.toBeInstanceOf(InvalidParameterValueException);
    await expect(failure).rejects.toMatchObject({ name: 'InvalidParameterValueException', message, $metadata: { httpStatusCode: 400 } });
    expect(received).toHaveLength(1);
  });

  test('a throttled call is sent again and succeeds', async () => {
    answers = [throttled(), { status: 202, body: { RequestedProvisionedConcurrentExecutions: 2, AllocatedProvisionedConcurrentExecutions: 0, Status: 'IN_PROGRESS' } }];

    await expect(api.putProvisionedConcurrencyConfig(FUNCTION, 'live', 2)).resolves.toBeUndefined();

    expect(wire()).toEqual([
      { method: 'PUT', url: `/2019-09-30/functions/${FUNCTION}/provisioned-concurrency?Qualifier=live`, body: '{"ProvisionedConcurrentExecutions":2}' },
      { method: 'PUT', url: `/2019-09-30/functions/${FUNCTION}/provisioned-concurrency?Qualifier=live`, body: '{"ProvisionedConcurrentExecutions":2}' },
    ]);
    expect(received[1].headers['amz-sdk-request']).toMatch(/^attempt=2;/);
  });

  test('throttling that lasts past the client\'s three attempts reaches the caller as TooManyRequestsException', async () => {
    answers = [throttled(), throttled(), throttled()];

    await expect(api.getFunctionConcurrency(FUNCTION)).rejects.toBeInstanceOf(TooManyRequestsException);

    expect(received).toHaveLength(3);
  });
});

test.each([
  ['eu-west-1', {}, 'https://lambda.eu-west-1.amazonaws.com'],
  ['cn-north-1', {}, 'https://lambda.cn-north-1.amazonaws.com.cn'],
  ['us-gov-west-1', {}, 'https://lambda.us-gov-west-1.amazonaws.com'],
  ['us-east-1', { useFipsEndpoint: true }, 'https://lambda-fips.us-east-1.amazonaws.com'],
  ['eu-west-1', { useDualstackEndpoint: true }, 'https://lambda.eu-west-1.api.aws'],
])('the client resolves the Lambda endpoint of %s (%p) as %s', async (region, options, expected) => {
  const client = new LambdaClient({ region, credentials: CREDENTIALS, ...options });
  let requested: string | undefined;
  // Records where the request would go and stops it there: nothing leaves this machine.
  client.middlewareStack.add(() => async args => {
    const { protocol, hostname } = args.request as { protocol: string; hostname: string };
    requested = `${protocol}//${hostname}`;
    throw new Error('stopped before sending');
  }, { step: 'finalizeRequest', name: 'stopBeforeSending' });

  await expect(createLambdaApi(client).deleteFunctionConcurrency(FUNCTION)).rejects.toThrow('stopped before sending');

  expect(requested).toBe(expected);
});

describe('the pre-bundled handler', () => {
  const lambdaEnvironment = () => ({
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
    // The SDK's own endpoint overrides, standing in for the Region's Lambda and STS endpoints.
    AWS_ENDPOINT_URL_LAMBDA: endpoint,
    AWS_ENDPOINT_URL_STS: endpoint,
  });

  beforeAll(() => {
    if (!fs.existsSync(BUNDLED_HANDLER)) {
      throw new Error(`${BUNDLED_HANDLER} is missing: run 'npm run build:handlers' first`);
    }
  });

  test('assumes the resource\'s role with the Region and credentials of Lambda\'s environment alone, calls Lambda as that role, loading nothing but its bundle, and answers CloudFormation itself', async () => {
    answers = [assumedRole(), configNotFound()];
    const event = {
      RequestType: 'Delete', PhysicalResourceId: `${FUNCTION}:live`, LogicalResourceId: 'ItemsConcurrencySettings', ResourceType: 'Custom::FunctionConcurrency',
      RequestId: 'request-1', StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/app/1', ResponseURL: `${endpoint}/cloudformation-response?X-Amz-Signature=abc`,
      ResourceProperties: {
        ServiceToken: 'token', FunctionName: FUNCTION, Qualifier: 'live', FunctionVersion: '1', ProvisionedConcurrentExecutions: '2', KillSwitch: 'off',
        PermissionsRoleArn: ROLE,
      },
    };

    const { error, loaded } = await runIsolated(BUNDLED_HANDLER, `module.handler(${JSON.stringify(event)}, { getRemainingTimeInMillis: () => 60000 })`, lambdaEnvironment());

    expect(error).toBeUndefined();
    expect(loaded).toEqual([BUNDLED_HANDLER]);
    const [assume, call, answer] = wire();
    expect(assume).toMatchObject({ method: 'POST', url: '/' });
    expect(Object.fromEntries(new URLSearchParams(assume.body))).toMatchObject({ Action: 'AssumeRole', RoleArn: ROLE, RoleSessionName: 'cr-ItemsConcurrencySettings' });
    expect(call).toEqual({ method: 'DELETE', url: `/2019-09-30/functions/${FUNCTION}/provisioned-concurrency?Qualifier=live`, body: '' });
    expect(answer).toMatchObject({ method: 'PUT', url: '/cloudformation-response?X-Amz-Signature=abc' });
    expect(JSON.parse(answer.body)).toEqual({
      Status: 'SUCCESS', PhysicalResourceId: `${FUNCTION}:live`, StackId: event.StackId, RequestId: 'request-1', LogicalResourceId: 'ItemsConcurrencySettings',
    });
    expect(received).toHaveLength(3);
    expectSigned(received[0], 'eu-west-1', 'sts');
    expectSigned(received[1], 'eu-west-1', 'lambda', ASSUMED);
  });
});
