/**
 * The six Lambda API calls the function concurrency handler makes, over
 * HTTPS with Signature Version 4 (node:crypto and fetch, no SDK client to
 * bundle). Paths and bodies follow the Lambda API reference:
 * https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html and its siblings.
 */
import { createHash, createHmac } from 'node:crypto';

/** Credentials of the execution role, as Lambda puts them in the environment. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A provisioned concurrency configuration and how far its allocation got. */
export interface ProvisionedConcurrencyConfig {
  readonly requested: number;
  readonly allocated: number;
  /** IN_PROGRESS, READY or FAILED. */
  readonly status: string;
  readonly statusReason?: string;
}

/** What the handler needs of Lambda: the function's reservation and its alias's provisioned concurrency. */
export interface FunctionConcurrencyApi {
  /** Undefined when the function has no reservation. */
  getFunctionConcurrency(functionName: string): Promise<number | undefined>;
  putFunctionConcurrency(functionName: string, reservedConcurrentExecutions: number): Promise<void>;
  deleteFunctionConcurrency(functionName: string): Promise<void>;
  /** Undefined when the qualifier has no provisioned concurrency configuration. */
  getProvisionedConcurrencyConfig(functionName: string, qualifier: string): Promise<ProvisionedConcurrencyConfig | undefined>;
  putProvisionedConcurrencyConfig(functionName: string, qualifier: string, provisionedConcurrentExecutions: number): Promise<void>;
  /** Succeeds when there is no configuration to delete. */
  deleteProvisionedConcurrencyConfig(functionName: string, qualifier: string): Promise<void>;
}

/** An error answer of the Lambda API. */
export class LambdaApiError extends Error {
  constructor(readonly code: string, readonly status: number, message: string) {
    super(`${code} (HTTP ${status}): ${message}`);
    this.name = 'LambdaApiError';
  }
}

export interface LambdaApiOptions {
  /** e.g. https://lambda.eu-west-1.amazonaws.com */
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: () => AwsCredentials;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

interface RawConfig {
  readonly RequestedProvisionedConcurrentExecutions?: number;
  readonly AllocatedProvisionedConcurrentExecutions?: number;
  readonly Status?: string;
  readonly StatusReason?: string;
}

/** Function names (unreserved characters only, so they need no escaping in a path) and qualifiers as Lambda accepts them. */
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const QUALIFIER = /^[A-Za-z0-9_$-]{1,128}$/;

export function createLambdaApi(options: LambdaApiOptions): FunctionConcurrencyApi {
  const send = (method: string, path: string, query: Record<string, string>, body?: unknown) =>
    request(options, method, path, query, body === undefined ? '' : JSON.stringify(body));
  const concurrencyPath = (functionName: string, apiVersion = '2017-10-31') => `/${apiVersion}/functions/${checked(functionName, FUNCTION_NAME)}/concurrency`;
  const provisionedPath = (functionName: string) => `/2019-09-30/functions/${checked(functionName, FUNCTION_NAME)}/provisioned-concurrency`;
  const qualified = (qualifier: string) => ({ Qualifier: checked(qualifier, QUALIFIER) });
  return {
    async getFunctionConcurrency(functionName) {
      // GetFunctionConcurrency is only in the 2019-09-30 version of the API.
      const answer = await send('GET', concurrencyPath(functionName, '2019-09-30'), {}) as { ReservedConcurrentExecutions?: number };
      return answer.ReservedConcurrentExecutions;
    },
    async putFunctionConcurrency(functionName, reservedConcurrentExecutions) {
      await send('PUT', concurrencyPath(functionName), {}, { ReservedConcurrentExecutions: reservedConcurrentExecutions });
    },
    async deleteFunctionConcurrency(functionName) {
      await send('DELETE', concurrencyPath(functionName), {});
    },
    async getProvisionedConcurrencyConfig(functionName, qualifier) {
      try {
        const config = await send('GET', provisionedPath(functionName), qualified(qualifier)) as RawConfig;
        return {
          requested: config.RequestedProvisionedConcurrentExecutions ?? 0,
          allocated: config.AllocatedProvisionedConcurrentExecutions ?? 0,
          status: config.Status ?? 'UNKNOWN',
          statusReason: config.StatusReason,
        };
      } catch (error) {
        if (isNotFound(error)) {
          return undefined;
        }
        throw error;
      }
    },
    async putProvisionedConcurrencyConfig(functionName, qualifier, provisionedConcurrentExecutions) {
      await send('PUT', provisionedPath(functionName), qualified(qualifier), { ProvisionedConcurrentExecutions: provisionedConcurrentExecutions });
    },
    async deleteProvisionedConcurrencyConfig(functionName, qualifier) {
      try {
        await send('DELETE', provisionedPath(functionName), qualified(qualifier));
      } catch (error) {
        if (!isNotFound(error)) {
          throw error;
        }
      }
    },
  };
}

/** The Lambda API of the Region the handler runs in, with its execution role's credentials. */
export function lambdaApiFromEnvironment(environment: NodeJS.ProcessEnv = process.env): FunctionConcurrencyApi {
  const required = (name: string): string => {
    const value = environment[name];
    if (!value) {
      throw new Error(`function concurrency: environment variable ${name} is not set`);
    }
    return value;
  };
  return createLambdaApi({
    endpoint: required('LAMBDA_API_ENDPOINT'),
    region: required('AWS_REGION'),
    credentials: () => ({
      accessKeyId: required('AWS_ACCESS_KEY_ID'),
      secretAccessKey: required('AWS_SECRET_ACCESS_KEY'),
      sessionToken: environment.AWS_SESSION_TOKEN,
    }),
  });
}

export function isNotFound(error: unknown): boolean {
  return error instanceof LambdaApiError && error.status === 404;
}

function checked(value: string, pattern: RegExp): string {
  if (!pattern.test(value)) {
    throw new Error(`function concurrency: '${value}' is not a Lambda function name or qualifier`);
  }
  return value;
}

async function request(options: LambdaApiOptions, method: string, path: string, query: Record<string, string>, body: string): Promise<unknown> {
  const url = new URL(path, options.endpoint);
  for (const [key, value] of Object.entries(query)) {
    url.searchParams.set(key, value);
  }
  const headers: Record<string, string> = body ? { 'content-type': 'application/json' } : {};
  const signed = signRequest({ method, url, headers, body }, {
    credentials: options.credentials(), region: options.region, service: 'lambda', date: (options.now ?? (() => new Date()))(),
  });
  const response = await (options.fetch ?? fetch)(url, { method, headers: signed, body: body || undefined });
  const text = await response.text();
  if (response.ok) {
    return text ? JSON.parse(text) : {};
  }
  // restJson1 errors name their type in x-amzn-ErrorType ("Code:namespace"), or in the body.
  const parsed = safeJson(text);
  const code = (response.headers.get('x-amzn-errortype') ?? String(parsed.Type ?? parsed.__type ?? `HTTP${response.status}`)).split(':')[0];
  throw new LambdaApiError(code, response.status, String(parsed.message ?? parsed.Message ?? text));
}

function safeJson(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === 'object' ? value : {};
  } catch {
    return {};
  }
}

export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface SigningParameters {
  readonly credentials: AwsCredentials;
  readonly region: string;
  readonly service: string;
  readonly date: Date;
}

/**
 * The request's headers with `host`, `x-amz-date`, the session token and a
 * Signature Version 4 `authorization` header.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
export function signRequest(request: SignableRequest, parameters: SigningParameters): Record<string, string> {
  const { credentials, region, service } = parameters;
  const amzDate = parameters.date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value.trim()])),
    'host': request.url.host,
    'x-amz-date': amzDate,
    ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}),
  };
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const query = [...request.url.searchParams.entries()]
    .map(([key, value]) => [encode(key), encode(value)])
    .sort(([a, x], [b, y]) => (a === b ? compare(x, y) : compare(a, b)))
    .map(([key, value]) => `${key}=${value}`).join('&');
  const canonicalRequest = [
    request.method,
    // Paths hold only unreserved characters (FUNCTION_NAME), which percent-encoding leaves as they are.
    request.url.pathname,
    query,
    ...names.map(name => `${name}:${headers[name]}`),
    '',
    signedHeaders,
    sha256(request.body),
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = [day, region, service, 'aws4_request'].reduce<Buffer | string>((k, part) => hmac(k, part), `AWS4${credentials.secretAccessKey}`);
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/** RFC 3986 percent-encoding, as Signature Version 4 wants it. */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, char => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function hmac(key: Buffer | string, value: string): Buffer {
  return createHmac('sha256', key).update(value, 'utf8').digest();
}
