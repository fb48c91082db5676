/**
 * How the library's custom resource handlers answer CloudFormation: a local
 * HTTP server stands in for the pre-signed S3 response URL and records every
 * PUT.
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { answeringCloudFormation, CustomResourceHandler, RESPONSE_MAX_BYTES } from '../lambda/custom-resource/response';

interface Put {
  readonly contentType: string | undefined;
  readonly body: Record<string, any>;
  readonly bytes: number;
}

/** The response URL: answers each PUT with the next status of the script (the last one repeating). */
class ResponseUrl {
  readonly puts: Put[] = [];
  private readonly server: http.Server;

  constructor(private readonly statuses: number[] = [200]) {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', chunk => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks);
        this.puts.push({ contentType: request.headers['content-type'], body: JSON.parse(raw.toString('utf8')), bytes: raw.length });
        response.statusCode = this.statuses[Math.min(this.puts.length - 1, this.statuses.length - 1)];
        response.end();
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/response?X-Amz-Signature=abc`;
  }

  stop(): Promise<void> {
    return new Promise(resolve => this.server.close(() => resolve()));
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
