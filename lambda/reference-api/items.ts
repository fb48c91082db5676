import { createHash } from 'crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { Database, DatabaseUnavailableError, describeError } from '../runtime';
import { instrumentHandler, Observability, observability } from '../runtime/observability';

export type ItemsHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface ItemsHandlerOptions {
  /**
   * Reads the app parameters: `default-limit` and `max-limit` of GET /items
   * (whole numbers from 1 to 1000, default-limit at most max-limit).
   * Parameters that are absent keep their defaults; invalid ones make
   * GET /items fail with 500 and a logged error naming the parameter, because
   * silently serving other page sizes than configured would hide the mistake.
   *
   * @default - no parameters: limits 20 and 100
   */
  readonly parameters?: () => Promise<Record<string, string>>;
  /**
   * Logger, tracer and metrics.
   *
   * @default observability({ serviceName: 'reference-api' }) unless POWERTOOLS_SERVICE_NAME is set
   */
  readonly observability?: Observability;
}

interface Item {
  id: string;
  name: string;
  created_at: Date;
}

interface PagingLimits {
  readonly defaultLimit: number;
  readonly maxLimit: number;
}

const MAX_BODY_BYTES = 10 * 1024;
const MAX_NAME_LENGTH = 200;
const DEFAULT_PAGING: PagingLimits = { defaultLimit: 20, maxLimit: 100 };
const PAGING_CEILING = 1000;
/** PostgreSQL text cannot hold NUL; other control characters have no place in a name either. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
/** Half of a UTF-16 surrogate pair: not a character, and not storable as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;
const KEY_RULE = '1 to 128 characters of A-Z, a-z, 0-9, ".", "_", ":" and "-"';

const INSERT_ITEM = `INSERT INTO items (name, idempotency_key, request_hash) VALUES ($1, $2, $3)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id, name, created_at`;
// A separate statement, so it runs with a new snapshot: when the INSERT waited for a concurrent
// request with the same key, the row that request committed is visible here.
const ITEM_BY_KEY = 'SELECT id, name, created_at, request_hash FROM items WHERE idempotency_key = $1';

/** A request error with the status code and message the caller sees. */
class RequestError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

/** App parameters that are set but unusable; the message names the parameter, its value and the rule. */
class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/**
 * The reference API (HTTP API payload 2.0): list, read and create items.
 *
 * POST /items is idempotent: it needs an Idempotency-Key header. A repeat
 * with the same key and the same request (same trimmed name) gets the
 * original item with 201 again, marked with the header
 * `idempotent-replayed: true`, so a client that lost a response gets exactly
 * the response it missed; the same key with another request gets 422.
 *
 * Bad input gets a 4xx with a message that says what to fix. Database
 * failures reveal neither SQL nor connection details: 503 when retrying can
 * help (DatabaseUnavailableError), 500 otherwise. The table comes from the
 * migrations folder; the handler never changes the schema.
 */
export function createItemsHandler(database: Database, options: ItemsHandlerOptions = {}): ItemsHandler {
  const tools = options.observability ?? observability({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ? undefined : 'reference-api' });
  const { logger, metrics } = tools;

  async function route(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    switch (event.routeKey) {
      case 'GET /items':
        return listItems(event);
      case 'POST /items':
        return createItem(event);
      case 'GET /items/{id}':
        return getItem(event);
      default:
        throw new RequestError(404, `no route for ${event.routeKey ?? 'this request'}`);
    }
  }

  async function listItems(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const { defaultLimit, maxLimit } = await pagingLimits();
    const raw = event.queryStringParameters?.limit;
    const limit = raw === undefined ? defaultLimit : /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
    if (!(limit >= 1 && limit <= maxLimit)) {
      throw new RequestError(400, `limit must be a whole number from 1 to ${maxLimit}`);
    }
    const rows = await database.query<Item>('SELECT id, name, created_at FROM items ORDER BY id DESC LIMIT $1', [limit]);
    return json(200, { items: rows.map(toJson) });
  }

  async function getItem(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const id = event.pathParameters?.id ?? '';
    if (!/^[1-9][0-9]{0,17}$/.test(id)) {
      throw new RequestError(400, 'id must be a positive whole number');
    }
    const rows = await database.query<Item>('SELECT id, name, created_at FROM items WHERE id = $1', [id]);
    if (rows.length === 0) {
      throw new RequestError(404, `item ${id} does not exist`);
    }
    return json(200, toJson(rows[0]));
  }

  async function createItem(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const key = idempotencyKey(event);
    const name = validName(parseBody(event).name);
    const requestHash = createHash('sha256').update(JSON.stringify({ name })).digest('hex');

    const [created] = await database.query<Item>(INSERT_ITEM, [name, key, requestHash]);
    if (created) {
      metrics.addMetric('ItemsCreated', MetricUnit.Count, 1);
      return json(201, toJson(created));
    }
    const [existing] = await database.query<Item & { request_hash: string }>(ITEM_BY_KEY, [key]);
    if (!existing) {
      throw new Error('an item with this Idempotency-Key conflicted on insert but cannot be read back');
    }
    if (existing.request_hash !== requestHash) {
      throw new RequestError(422, 'this Idempotency-Key was already used for a different request: send a new key to create another item, or repeat the original request exactly');
    }
    return json(201, toJson(existing), { 'idempotent-replayed': 'true' });
  }

  async function pagingLimits(): Promise<PagingLimits> {
    if (!options.parameters) return DEFAULT_PAGING;
    const parameters = await options.parameters();
    const defaultLimit = pagingParameter(parameters, 'default-limit', DEFAULT_PAGING.defaultLimit);
    const maxLimit = pagingParameter(parameters, 'max-limit', DEFAULT_PAGING.maxLimit);
    if (defaultLimit > maxLimit) {
      throw new ConfigurationError(`app parameter default-limit (${defaultLimit}) must not exceed max-limit (${maxLimit}): lower default-limit or raise max-limit`);
    }
    return { defaultLimit, maxLimit };
  }

  return instrumentHandler(tools, async (event, context) => {
    const requestId = event.requestContext?.requestId;
    try {
      return await route(event);
    } catch (error) {
      if (error instanceof RequestError) {
        return json(error.statusCode, { message: error.message });
      }
      // Class and code only: messages of driver errors can quote SQL or values.
      const attributes = { requestId, lambdaRequestId: context.awsRequestId, ...describeError(error) };
      if (error instanceof DatabaseUnavailableError) {
        logger.warn('database unavailable', attributes);
        metrics.addMetric('DatabaseUnavailable', MetricUnit.Count, 1);
        return json(503, {
          message: 'the database is unavailable right now; retry shortly (for POST, with the same Idempotency-Key)',
          requestId,
        }, { 'retry-after': '1' });
      }
      logger.error('request failed', error instanceof ConfigurationError ? { ...attributes, problem: error.message } : attributes);
      return json(500, { message: 'internal error; try again later', requestId });
    }
  });
}

function idempotencyKey(event: APIGatewayProxyEventV2): string {
  const key = event.headers?.['idempotency-key'];
  if (key === undefined) {
    throw new RequestError(400, `Idempotency-Key header is required: send a unique key (${KEY_RULE}) and reuse it when you retry the same request`);
  }
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new RequestError(400, `Idempotency-Key must be ${KEY_RULE}`);
  }
  return key;
}

function parseBody(event: APIGatewayProxyEventV2): Record<string, unknown> {
  if (event.body === undefined || event.body === null || event.body === '') {
    throw new RequestError(400, 'request body is required: send a JSON object such as {"name": "..."}');
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw new RequestError(413, `request body must be at most ${MAX_BODY_BYTES} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RequestError(400, 'request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new RequestError(400, 'request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** The name to store: trimmed, 1 to 200 characters, printable. */
function validName(name: unknown): string {
  if (typeof name !== 'string') {
    throw new RequestError(400, 'name is required and must be a string');
  }
  const trimmed = name.trim();
  // Counted in characters (code points), as PostgreSQL's char_length does.
  const length = [...trimmed].length;
  if (length === 0 || length > MAX_NAME_LENGTH) {
    throw new RequestError(400, `name must be 1 to ${MAX_NAME_LENGTH} characters`);
  }
  if (CONTROL_CHARACTER.test(trimmed) || LONE_SURROGATE.test(trimmed)) {
    throw new RequestError(400, 'name must be printable Unicode text without control characters');
  }
  return trimmed;
}

function pagingParameter(parameters: Record<string, string>, name: string, fallback: number): number {
  const raw = parameters[name];
  if (raw === undefined) return fallback;
  if (!/^[0-9]{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > PAGING_CEILING) {
    throw new ConfigurationError(`app parameter ${name} must be a whole number from 1 to ${PAGING_CEILING}, not '${raw}': fix the SSM parameter or delete it to use ${fallback}`);
  }
  return Number(raw);
}

function toJson(item: Item) {
  return { id: String(item.id), name: item.name, createdAt: new Date(item.created_at).toISOString() };
}

function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}
