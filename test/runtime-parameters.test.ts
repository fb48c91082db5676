/**
 * appParameters(): every parameter under a path from Parameter Store,
 * cached, with reads that end in time. SSM is a local HTTP server speaking
 * its JSON protocol (the SDK sends there through AWS_ENDPOINT_URL_SSM), or a
 * TCP server that accepts connections and never answers: what a function
 * without a route to Parameter Store sees.
 */
import * as http from 'http';
import * as net from 'net';
import { HOST } from './support/local-server';

type RuntimeModule = typeof import('../lambda/runtime');

const REGION = 'eu-west-1';
const ENVIRONMENT: Record<string, string | undefined> = {
  AWS_REGION: REGION, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined,
};
const FIX = 'a function in subnets without a NAT gateway reaches it only through an interface VPC endpoint for Systems Manager (ssm) with private DNS, '
  + 'open to the function\'s security group on port 443';

let savedEnvironment: Record<string, string | undefined>;
beforeAll(() => {
  savedEnvironment = Object.fromEntries(['AWS_ENDPOINT_URL_SSM', 'PARAMETERS_PATH', ...Object.keys(ENVIRONMENT)].map(key => [key, process.env[key]]));
  setEnvironment(ENVIRONMENT);
});
afterAll(() => setEnvironment(savedEnvironment));

function setEnvironment(values: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

/**
 * The runtime loaded afresh with Parameter Store at `endpoint`: the reader
 * creates its SSM client once per execution environment, as in Lambda.
 */
function runtimeWithEndpoint(endpoint: string): RuntimeModule {
  process.env.AWS_ENDPOINT_URL_SSM = endpoint;
  // A fresh registry, so that the reader appParameters() loads on first use is a fresh one too.
  jest.resetModules();
  return require('../lambda/runtime');
}

function listen(server: net.Server): Promise<string> {
  return new Promise(resolve => server.listen(0, HOST, () => resolve(`http://${HOST}:${(server.address() as net.AddressInfo).port}`)));
}

function close(server: net.Server): Promise<void> {
  return new Promise(resolve => server.close(() => resolve()));
}

describe('appParameters from a Parameter Store that answers', () => {
  interface Captured { target: string; body: { Path: string; Recursive: boolean; WithDecryption: boolean; NextToken?: string } }
  const requests: Captured[] = [];
  let server: http.Server;
  let runtime: RuntimeModule;

  beforeAll(async () => {
    // GetParametersByPath of the SSM JSON protocol, returning two pages.
    server = http.createServer((request, response) => {
      let text = '';
      request.on('data', chunk => { text += chunk; });
      request.on('end', () => {
        const body = JSON.parse(text);
        requests.push({ target: String(request.headers['x-amz-target']), body });
        const page = body.NextToken === 'page-2'
          ? { Parameters: [{ Name: `${body.Path}/nested/flag`, Type: 'String', Value: 'on', Version: 1 }] }
          : {
            Parameters: [
              { Name: `${body.Path}/default-limit`, Type: 'String', Value: '25', Version: 3 },
              { Name: `${body.Path}/max-limit`, Type: 'String', Value: '50', Version: 1 },
            ],
            NextToken: 'page-2',
          };
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(page));
      });
    });
    runtime = runtimeWithEndpoint(await listen(server));
  });

  beforeEach(() => {
    requests.length = 0;
  });

  afterAll(() => close(server));

  test('returns every parameter under PARAMETERS_PATH, recursively, keyed by its relative name', async () => {
    process.env.PARAMETERS_PATH = '/reference-api/test/';
    expect(await runtime.appParameters({ maxAge: 60 })).toEqual({ 'default-limit': '25', 'max-limit': '50', 'nested/flag': 'on' });
    expect(requests).toEqual([
      { target: 'AmazonSSM.GetParametersByPath', body: expect.objectContaining({ Path: '/reference-api/test', Recursive: true, WithDecryption: false }) },
      { target: 'AmazonSSM.GetParametersByPath', body: expect.objectContaining({ Path: '/reference-api/test', NextToken: 'page-2' }) },
    ]);
  });

  test('a second call within maxAge is served from the cache; after maxAge it asks Parameter Store again', async () => {
    const first = await runtime.appParameters({ path: '/cached', maxAge: 1 });
    const pagesPerFetch = requests.length;
    expect(pagesPerFetch).toBe(2);

    expect(await runtime.appParameters({ path: '/cached', maxAge: 1 })).toEqual(first);
    expect(requests).toHaveLength(pagesPerFetch);

    await new Promise(resolve => setTimeout(resolve, 1100));
    expect(await runtime.appParameters({ path: '/cached', maxAge: 1 })).toEqual(first);
    expect(requests).toHaveLength(2 * pagesPerFetch);
  });

  test('callers cannot change the cached values', async () => {
    const values = await runtime.appParameters({ path: '/immutable' });
    values['max-limit'] = 'changed';
    expect((await runtime.appParameters({ path: '/immutable' }))['max-limit']).toBe('50');
  });

  test('refuses a missing or malformed path and a bad timeout before asking Parameter Store', async () => {
    delete process.env.PARAMETERS_PATH;
    await expect(runtime.appParameters()).rejects.toThrow(new runtime.SettingsError(
      "PARAMETERS_PATH is not set: set it to the SSM parameter path of the app's configuration (such as /my-app/prod), or do not call appParameters()"));
    await expect(runtime.appParameters({ path: 'reference-api/prod' })).rejects.toThrow(new runtime.SettingsError(
      "PARAMETERS_PATH must be an SSM parameter path such as /my-app/prod (a leading '/', names of letters, digits, '_', '.' and '-'), not 'reference-api/prod'"));
    for (const timeoutMillis of [0, 1.5, 900_001]) {
      await expect(runtime.appParameters({ path: '/timeouts', timeoutMillis })).rejects.toThrow(new runtime.SettingsError(
        `appParameters timeoutMillis must be a whole number of milliseconds from 1 to 900000, not ${timeoutMillis}: leave it out to use 3000`));
    }
    expect(requests).toEqual([]);
  });
});

describe('appParameters from a Parameter Store that never answers', () => {
  const sockets = new Set<net.Socket>();
  let server: net.Server;
  let endpoint: string;
  let runtime: RuntimeModule;

  beforeAll(async () => {
    // Accepts every connection and reads the request, but never answers: a route that goes nowhere.
    server = net.createServer(socket => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.resume();
    });
    endpoint = await listen(server);
    runtime = runtimeWithEndpoint(endpoint);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await close(server);
  });

  /** Milliseconds `work` took to reject, and the error. */
  async function timedRejection(work: () => Promise<unknown>): Promise<{ millis: number; error: any }> {
    const started = Date.now();
    try {
      await work();
    } catch (error) {
      return { millis: Date.now() - started, error };
    }
    throw new Error('expected a rejection');
  }

  test('fails within timeoutMillis with an error that names the endpoint and the missing route', async () => {
    const { millis, error } = await timedRejection(() => runtime.appParameters({ path: '/unreachable', timeoutMillis: 800 }));
    expect(error).toBeInstanceOf(runtime.ParameterStoreUnavailableError);
    expect(error.message).toBe(`Parameter Store at ${endpoint} did not answer GetParametersByPath for /unreachable within 800 ms: ${FIX}`);
    expect(error.retryable).toBe(true);
    // Without the bound it would wait forever; the slack above 800 ms is for a busy test machine.
    expect(millis).toBeGreaterThanOrEqual(790);
    expect(millis).toBeLessThan(2800);
  });

  test('inside an invocation, fails by its deadline when that comes before timeoutMillis', async () => {
    const handler = runtime.withInvocationDeadline(async () => runtime.appParameters({ path: '/deadline' }));
    // 1,000 ms left minus the 100 ms margin: the read may take 900 ms, not the default 3,000.
    const { millis, error } = await timedRejection(() => handler({}, { getRemainingTimeInMillis: () => 1000 }));
    expect(error).toBeInstanceOf(runtime.ParameterStoreUnavailableError);
    const stated = new RegExp(`^Parameter Store at ${endpoint} did not answer GetParametersByPath for /deadline within (\\d+) ms, `
      + 'the time the invocation had left: ').exec(error.message);
    expect(stated).not.toBeNull();
    // 900 ms less whatever elapsed between the invocation's start and the read's (a millisecond or more on a busy machine).
    expect(Number(stated![1])).toBeLessThanOrEqual(900);
    expect(Number(stated![1])).toBeGreaterThan(800);
    // Well before the 3,000 ms it would have had without the deadline.
    expect(millis).toBeLessThan(2800);
  });

  test('a failed read is not cached: the next call asks again', async () => {
    const connectionsBefore = sockets.size;
    await expect(runtime.appParameters({ path: '/retry', timeoutMillis: 300 })).rejects.toThrow(runtime.ParameterStoreUnavailableError);
    await expect(runtime.appParameters({ path: '/retry', timeoutMillis: 300 })).rejects.toThrow(runtime.ParameterStoreUnavailableError);
    expect(sockets.size).toBeGreaterThanOrEqual(connectionsBefore + 2);
  });
});
