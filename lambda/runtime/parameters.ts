import * as path from 'path';
import { remainingMillis } from './deadline';
import { parseWholeNumber, SettingsError } from './settings';

export interface AppParametersOptions {
  /**
   * Seconds a fetched set of values is served from the cache before Parameter Store is asked again.
   *
   * @default 60
   */
  readonly maxAge?: number;
  /**
   * The SSM Parameter Store path the parameters live under.
   *
   * @default - the PARAMETERS_PATH environment variable
   */
  readonly path?: string;
  /**
   * Milliseconds one read of the path (every page of it) may take. Inside a
   * handler wrapped by `instrumentHandler` or `withInvocationDeadline`, the
   * read also ends when the invocation's deadline comes first.
   *
   * @default 3000
   */
  readonly timeoutMillis?: number;
}

/**
 * What the Parameter Store reader exports. It is a file of its own,
 * `parameter-store.js`, which holds the SSM client and is loaded on the first
 * call of appParameters(), so handlers that never call it, and every cold
 * start before that call, skip loading it. DatabaseFunction puts the file
 * next to the handler's bundle when the function has `parameters`.
 */
export interface ParameterStoreReader {
  /** Every parameter under `path` (recursively), keyed by its name relative to `path`; rejects once `signal` aborts. */
  readParametersByPath(path: string, signal: AbortSignal): Promise<Record<string, string>>;
  /** The URL the reader's SSM client sends its requests to. */
  endpointUrl(): Promise<string>;
}

/**
 * Parameter Store did not answer in time: usually no network route to it
 * (subnets without a NAT gateway or an SSM interface endpoint), sometimes an
 * invocation without time left. Retrying later can help, so it is
 * `retryable` like DatabaseUnavailableError.
 */
export class ParameterStoreUnavailableError extends Error {
  override readonly name = 'ParameterStoreUnavailableError';
  readonly retryable = true;
}

export const DEFAULT_PARAMETERS_MAX_AGE_SECONDS = 60;
export const DEFAULT_PARAMETER_STORE_TIMEOUT_MILLIS = 3000;
/** The longest a Lambda invocation can run; a longer timeout is a typo. */
const MAX_TIMEOUT_MILLIS = 900_000;
/** SSM parameter hierarchies: `/` and then names separated by `/` of [a-zA-Z0-9_.-]. */
const PARAMETER_PATH = /^\/([a-zA-Z0-9_.-]+\/)*[a-zA-Z0-9_.-]*$/;
/** Found next to this module: beside the handler's bundle, or beside parameters.js (or .ts) where the runtime runs unbundled. */
const READER_MODULE = 'parameter-store';

let reader: ParameterStoreReader | undefined;
const cache = new Map<string, { readonly values: Promise<Readonly<Record<string, string>>>; readonly fetchedAt: number }>();

/**
 * The app's shared, non-secret configuration: every parameter under the path
 * (recursively), keyed by its name relative to the path
 * (`/app/prod/default-limit` under `/app/prod` is `default-limit`). Values
 * are cached for `maxAge` seconds per execution environment, so warm
 * invocations within that time make no request to Parameter Store; a failed
 * read is not cached. SecureString values are not decrypted: keep secrets in
 * Secrets Manager. A read that takes longer than `timeoutMillis` (or than the
 * invocation has left) throws ParameterStoreUnavailableError.
 */
export async function appParameters(options: AppParametersOptions = {}): Promise<Record<string, string>> {
  const parametersPath = validPath(options.path ?? process.env.PARAMETERS_PATH);
  const timeoutMillis = validTimeout(options.timeoutMillis);
  const maxAgeMillis = (options.maxAge ?? DEFAULT_PARAMETERS_MAX_AGE_SECONDS) * 1000;
  let entry = cache.get(parametersPath);
  if (!entry || Date.now() - entry.fetchedAt >= maxAgeMillis) {
    const fetched = { values: readWithin(parametersPath, timeoutMillis), fetchedAt: Date.now() };
    cache.set(parametersPath, fetched);
    fetched.values.catch(() => {
      if (cache.get(parametersPath) === fetched) cache.delete(parametersPath);
    });
    entry = fetched;
  }
  return { ...await entry.values };
}

async function readWithin(parametersPath: string, timeoutMillis: number): Promise<Readonly<Record<string, string>>> {
  const left = remainingMillis();
  const bound = Math.min(timeoutMillis, left);
  const store = parameterStoreReader();
  const signal = AbortSignal.timeout(bound);
  try {
    return await store.readParametersByPath(parametersPath, signal);
  } catch (error) {
    // The reader's SSM client gives up on a connection that takes a second; the signal ends everything else.
    if (!signal.aborted && (error as { name?: unknown }).name !== 'TimeoutError') throw error;
    throw new ParameterStoreUnavailableError(`Parameter Store at ${await store.endpointUrl()} did not answer GetParametersByPath for `
      + `${parametersPath} within ${bound} ms${left < timeoutMillis ? ', the time the invocation had left' : ''}: a function in subnets `
      + 'without a NAT gateway reaches it only through an interface VPC endpoint for Systems Manager (ssm) with private DNS, '
      + 'open to the function\'s security group on port 443', { cause: error });
  }
}

function parameterStoreReader(): ParameterStoreReader {
  if (reader) return reader;
  const file = path.join(__dirname, READER_MODULE);
  try {
    // A path computed at run time, so that bundlers leave the reader in its own file.
    reader = require(file) as ParameterStoreReader;
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (code !== 'MODULE_NOT_FOUND' || typeof message !== 'string' || !message.includes(file)) throw error;
    throw new SettingsError(`appParameters() reads Parameter Store with ${file}.js, which is missing: DatabaseFunction puts it next to `
      + 'the handler\'s bundle when its `parameters` prop is set; when you bundle the handler yourself, copy '
      + 'cdk-serverless-rds/dist/runtime/parameter-store.js next to the bundle');
  }
  return reader;
}

function validPath(raw: string | undefined): string {
  if (!raw) {
    throw new SettingsError('PARAMETERS_PATH is not set: set it to the SSM parameter path of the app\'s configuration (such as /my-app/prod), or do not call appParameters()');
  }
  if (!PARAMETER_PATH.test(raw)) {
    throw new SettingsError(`PARAMETERS_PATH must be an SSM parameter path such as /my-app/prod (a leading '/', names of letters, digits, '_', '.' and '-'), not '${raw}'`);
  }
  return raw.length > 1 ? raw.replace(/\/$/, '') : raw;
}

function validTimeout(timeoutMillis: number | undefined): number {
  if (timeoutMillis === undefined) return DEFAULT_PARAMETER_STORE_TIMEOUT_MILLIS;
  if (parseWholeNumber(String(timeoutMillis), 1, MAX_TIMEOUT_MILLIS) === undefined) {
    throw new SettingsError(`appParameters timeoutMillis must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MILLIS}, not ${timeoutMillis}: `
      + `leave it out to use ${DEFAULT_PARAMETER_STORE_TIMEOUT_MILLIS}`);
  }
  return timeoutMillis;
}
