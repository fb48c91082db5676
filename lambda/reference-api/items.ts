import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** The part of a pg client the handler needs. */
export interface Queryable {
  query<Row extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: Row[] }>;
}

/** Opens (or reuses) the database connection; resets it after a failure. */
export interface Database {
  client(): Promise<Queryable>;
  reset(): Promise<void>;
}

interface Item {
  id: string;
  name: string;
  created_at: Date;
}

const MAX_BODY_BYTES = 10 * 1024;
const MAX_NAME_LENGTH = 200;
const DEFAULT_LIMIT = 20;
/** PostgreSQL text cannot hold NUL; other control characters have no place in a name either. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
/** Half of a UTF-16 surrogate pair: not a character, and not storable as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_LIMIT = 100;

export const SCHEMA = `CREATE TABLE IF NOT EXISTS items (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND ${MAX_NAME_LENGTH}),
  created_at timestamptz NOT NULL DEFAULT now()
)`;

/** A request error with the status code and message the caller sees. */
class RequestError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

/**
 * The reference API: list, read and create items in one table.
 *
 * Bad input gets a 4xx with a message that says what to fix; database
 * failures get a 500 that reveals neither SQL nor connection details.
 */
export function createItemsHandler(database: Database) {
  let schemaReady: Promise<void> | undefined;

  async function db(): Promise<Queryable> {
    const client = await database.client();
    schemaReady ??= client.query(SCHEMA).then(() => undefined);
    try {
      await schemaReady;
    } catch (error) {
      schemaReady = undefined;
      throw error;
    }
    return client;
  }

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
    const raw = event.queryStringParameters?.limit;
    const limit = raw === undefined ? DEFAULT_LIMIT : /^[0-9]{1,3}$/.test(raw) ? Number(raw) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) {
      throw new RequestError(400, `limit must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    const { rows } = await (await db()).query<Item>('SELECT id, name, created_at FROM items ORDER BY id DESC LIMIT $1', [limit]);
    return json(200, { items: rows.map(toJson) });
  }

  async function getItem(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const id = event.pathParameters?.id ?? '';
    if (!/^[1-9][0-9]{0,17}$/.test(id)) {
      throw new RequestError(400, 'id must be a positive whole number');
    }
    const { rows } = await (await db()).query<Item>('SELECT id, name, created_at FROM items WHERE id = $1', [id]);
    if (rows.length === 0) {
      throw new RequestError(404, `item ${id} does not exist`);
    }
    return json(200, toJson(rows[0]));
  }

  async function createItem(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const body = parseBody(event);
    const name = body.name;
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
    const { rows } = await (await db()).query<Item>(
      'INSERT INTO items (name) VALUES ($1) RETURNING id, name, created_at', [trimmed]);
    return json(201, toJson(rows[0]));
  }

  return async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      return await route(event);
    } catch (error) {
      if (error instanceof RequestError) {
        return json(error.statusCode, { message: error.message });
      }
      // Log the failure class only: messages of driver errors can quote SQL or values.
      console.error(JSON.stringify({
        level: 'ERROR',
        message: 'request failed',
        errorName: (error as Error)?.name,
        errorCode: (error as { code?: string })?.code,
        requestId: event.requestContext?.requestId,
      }));
      await database.reset();
      return json(500, { message: 'internal error; try again later', requestId: event.requestContext?.requestId });
    }
  };
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

function toJson(item: Item) {
  return { id: String(item.id), name: item.name, createdAt: new Date(item.created_at).toISOString() };
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
