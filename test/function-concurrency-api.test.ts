/**
 * The function concurrency handler's Lambda API client: Signature Version 4
 * checked against the AWS documentation's example and against the AWS SDK's
 * own signer, and the five calls checked on the wire against a local HTTP
 * server that answers like the Lambda API (restJson1 errors included).
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import { createHash, createHmac } from 'node:crypto';
// Ships with @aws-sdk/client-rds (through @aws-sdk/core): the SDK's own signer, as an independent reference.
import { SignatureV4 } from '@smithy/signature-v4';
import { createLambdaApi, FunctionConcurrencyApi, LambdaApiError, lambdaApiFromEnvironment, signRequest } from '../lambda/function-concurrency/lambda-api';

const EXAMPLE_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

describe('Signature Version 4', () => {
  // https://docs.aws.amazon.com/general/latest/gr/sigv4-signed-request-examples.html (IAM ListUsers, 2011-09-09T23:36:00Z)
  test('signs the AWS documentation example exactly as documented', () => {
    const headers = signRequest({
      method: 'POST',
      url: new URL('http://iam.amazonaws.com/'),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=ListUsers&Version=2010-05-08',
    }, { credentials: EXAMPLE_CREDENTIALS, region: 'us-east-1', service: 'iam', date: new Date('2011-09-09T23:36:00Z') });

    expect(headers.authorization).toBe('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/iam/aws4_request, '
      + 'SignedHeaders=content-type;host;x-amz-date, Signature=ced6826de92d2bdeed8f846f0bf508e8559e98e4b0199114b84c54174deb456c');
    expect(headers['x-amz-date']).toBe('20110909T233600Z');
    expect(headers.host).toBe('iam.amazonaws.com');
  });

  test('signs a Lambda request with a query and a session token like the AWS SDK', async () => {
    const credentials = { ...EXAMPLE_CREDENTIALS, sessionToken: 'session/token+with=characters' };
    const date = new Date('2026-12-01T10:20:30Z');
    const url = new URL('https://lambda.eu-west-1.amazonaws.com/2019-09-30/functions/app-Items-abc123/provisioned-concurrency?Qualifier=%24LATEST');
    const body = JSON.stringify({ ProvisionedConcurrentExecutions: 2 });

    const ours = signRequest({ method: 'PUT', url, headers: { 'content-type': 'application/json' }, body }, { credentials, region: 'eu-west-1', service: 'lambda', date });
    class Sha256 {
      private readonly hash;
      constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
        this.hash = secret ? createHmac('sha256', toBytes(secret)) : createHash('sha256');
      }
      update(data: string | ArrayBuffer | ArrayBufferView): void {
        this.hash.update(toBytes(data));
      }
      async digest(): Promise<Uint8Array> {
        return new Uint8Array(this.hash.digest());
      }
    }
    const sdk = await new SignatureV4({ credentials, region: 'eu-west-1', service: 'lambda', sha256: Sha256, applyChecksum: false }).sign({
      method: 'PUT', protocol: 'https:', hostname: url.hostname, path: url.pathname, query: { Qualifier: '$LATEST' },
      headers: { 'content-type': 'application/json', 'host': url.hostname }, body,
    }, { signingDate: date });

    expect(ours.authorization).toBe(sdk.headers.authorization);
    expect(ours['x-amz-security-token']).toBe(credentials.sessionToken);
  });
});

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

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

describe('Lambda API calls', () => {
  let server: http.Server;
  let received: Received[];
  let answers: Answer[];
  let api: FunctionConcurrencyApi;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let body = '';
      request.on('data', chunk => { body += chunk; });
      request.on('end', () => {
        received.push({ method: request.method!, url: request.url!, headers: request.headers, body });
        const answer = answers.shift() ?? { status: 200, body: {} };
        response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        response.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise(resolve => server.close(resolve));
  });

  beforeEach(() => {
    received = [];
    answers = [];
    api = createLambdaApi({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'eu-west-1',
      credentials: () => ({ ...EXAMPLE_CREDENTIALS, sessionToken: 'token' }),
      now: () => new Date('2026-12-01T10:20:30Z'),
    });
  });

  function expectSigned(request: Received): void {
    expect(request.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261201\/eu-west-1\/lambda\/aws4_request, SignedHeaders=[a-z;-]*host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
    expect(request.headers['x-amz-date']).toBe('20261201T102030Z');
    expect(request.headers['x-amz-security-token']).toBe('token');
  }

  test('Get, Put and DeleteFunctionConcurrency', async () => {
    answers = [{ status: 200, body: {} }, { status: 200, body: { ReservedConcurrentExecutions: 0 } }, { status: 200, body: { ReservedConcurrentExecutions: 0 } }, { status: 204 }];

    await expect(api.getFunctionConcurrency('app-Items-abc123')).resolves.toBeUndefined();
    await api.putFunctionConcurrency('app-Items-abc123', 0);
    await expect(api.getFunctionConcurrency('app-Items-abc123')).resolves.toBe(0);
    await api.deleteFunctionConcurrency('app-Items-abc123');

    expect(received.map(({ method, url, body }) => ({ method, url, body }))).toEqual([
      { method: 'GET', url: '/2019-09-30/functions/app-Items-abc123/concurrency', body: '' },
      { method: 'PUT', url: '/2017-10-31/functions/app-Items-abc123/concurrency', body: '{"ReservedConcurrentExecutions":0}' },
      { method: 'GET', url: '/2019-09-30/functions/app-Items-abc123/concurrency', body: '' },
      { method: 'DELETE', url: '/2017-10-31/functions/app-Items-abc123/concurrency', body: '' },
    ]);
    expect(received[1].headers['content-type']).toBe('application/json');
    received.forEach(expectSigned);
  });

  test('Put, Get and DeleteProvisionedConcurrencyConfig on the qualifier', async () => {
    answers = [
      { status: 202, body: { RequestedProvisionedConcurrentExecutions: 2, AllocatedProvisionedConcurrentExecutions: 0, Status: 'IN_PROGRESS' } },
      { status: 200, body: { RequestedProvisionedConcurrentExecutions: 2, AllocatedProvisionedConcurrentExecutions: 2, AvailableProvisionedConcurrentExecutions: 2, Status: 'READY' } },
      { status: 204 },
    ];

    await api.putProvisionedConcurrencyConfig('app-Items-abc123', 'live', 2);
    await expect(api.getProvisionedConcurrencyConfig('app-Items-abc123', 'live')).resolves.toEqual({ requested: 2, allocated: 2, status: 'READY', statusReason: undefined });
    await api.deleteProvisionedConcurrencyConfig('app-Items-abc123', 'live');

    expect(received.map(({ method, url, body }) => ({ method, url, body }))).toEqual([
      { method: 'PUT', url: '/2019-09-30/functions/app-Items-abc123/provisioned-concurrency?Qualifier=live', body: '{"ProvisionedConcurrentExecutions":2}' },
      { method: 'GET', url: '/2019-09-30/functions/app-Items-abc123/provisioned-concurrency?Qualifier=live', body: '' },
      { method: 'DELETE', url: '/2019-09-30/functions/app-Items-abc123/provisioned-concurrency?Qualifier=live', body: '' },
    ]);
    received.forEach(expectSigned);
  });

  test('a missing provisioned concurrency configuration reads as none, and deleting it again succeeds', async () => {
    const notFound = {
      status: 404,
      headers: { 'x-amzn-errortype': 'ProvisionedConcurrencyConfigNotFoundException:http://internal.amazon.com/coral/com.amazonaws.awsgambit/' },
      body: { Type: 'User', message: 'No Provisioned Concurrency Config found for this function' },
    };
    answers = [notFound, notFound];

    await expect(api.getProvisionedConcurrencyConfig('app-Items-abc123', 'live')).resolves.toBeUndefined();
    await expect(api.deleteProvisionedConcurrencyConfig('app-Items-abc123', 'live')).resolves.toBeUndefined();
  });

  test('an error answer becomes a LambdaApiError with the error type and message', async () => {
    answers = [{
      status: 400,
      headers: { 'x-amzn-errortype': 'InvalidParameterValueException:http://internal.amazon.com/coral/com.amazonaws.awsgambit/' },
      body: { Type: 'User', message: 'Specified ReservedConcurrentExecutions for function decreases account\'s UnreservedConcurrentExecution below its minimum value of [10].' },
    }];

    const failure = api.putFunctionConcurrency('app-Items-abc123', 5);

    await expect(failure).rejects.toBeInstanceOf(LambdaApiError);
    await expect(failure).rejects.toMatchObject({
      code: 'InvalidParameterValueException', status: 400,
      message: 'InvalidParameterValueException (HTTP 400): Specified ReservedConcurrentExecutions for function decreases account\'s UnreservedConcurrentExecution below its minimum value of [10].',
    });
  });

  test('an error answer without a type header takes the type from the body', async () => {
    answers = [{ status: 429, body: { Type: 'TooManyRequestsException', message: 'Rate exceeded' } }];

    await expect(api.deleteFunctionConcurrency('app-Items-abc123')).rejects.toMatchObject({ code: 'TooManyRequestsException', status: 429 });
  });

  test('refuses a function name that is not one before sending anything', async () => {
    await expect(api.putFunctionConcurrency('../other', 1)).rejects.toThrow("function concurrency: '../other' is not a Lambda function name or qualifier");
    expect(received).toHaveLength(0);
  });
});

test('the deployed client names a missing environment variable', () => {
  expect(() => lambdaApiFromEnvironment({ AWS_REGION: 'eu-west-1' })).toThrow('function concurrency: environment variable LAMBDA_API_ENDPOINT is not set');
});
