import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { Database, DatabaseUnavailableError, describeError } from '../runtime';
import { instrumentHandler, Observability, observability } from '../runtime/observability';

/** The EventBridge `source` of the events the worker accepts. */
export const ORDER_EVENT_SOURCE = 'cdk-serverless-rds.reference';
/** The EventBridge `detail-type` of the events the worker accepts. */
export const ORDER_PLACED = 'OrderPlaced';

/** The `detail` of an OrderPlaced event. Fields beyond these are ignored, so publishers can add some. */
export interface OrderPlaced {
  /** The publisher's id of the order, and the idempotency key: 1 to 64 characters of A-Z, a-z, 0-9, _ and -. */
  readonly orderId: string;
  /** 1 to 64 characters of A-Z, a-z, 0-9, _ and -. */
  readonly customerId: string;
  /** The amount in the currency's minor unit: a whole number from 1 to Number.MAX_SAFE_INTEGER. */
  readonly amountCents: number;
  /** An ISO 4217 code: 3 uppercase letters. */
  readonly currency: string;
}

export type OrderPlacedEvent = EventBridgeEvent<typeof ORDER_PLACED, OrderPlaced>;

/** `recorded`: this delivery stored the order. `already-recorded`: an earlier delivery of the same order did. */
export type OrderStatus = 'recorded' | 'already-recorded';

/** What the worker returns; Lambda sends it as `responsePayload` to the onSuccess destination. */
export interface OrderResult {
  readonly orderId: string;
  readonly status: OrderStatus;
}

export type OrdersHandler = (event: OrderPlacedEvent, context: Context) => Promise<OrderResult>;

export interface OrdersHandlerOptions {
  /**
   * Logger, tracer and metrics.
   *
   * @default observability({ serviceName: 'reference-worker' }) unless POWERTOOLS_SERVICE_NAME is set
   */
  readonly observability?: Observability;
}

/**
 * The event is not an OrderPlaced event the worker can record: wrong source
 * or detail-type, or detail fields missing or breaking their rules. The
 * message lists every problem (field and rule, never the values: the failure
 * record carries the whole event anyway). Retrying cannot help.
 */
export class InvalidOrderEventError extends Error {
  override readonly name = 'InvalidOrderEventError';
  readonly retryable = false;

  constructor(readonly problems: readonly string[]) {
    super(`invalid ${ORDER_PLACED} event: ${problems.join('; ')}`);
  }
}

/** The orderId is already recorded with other contents: an orderId names one order. Retrying cannot help. */
export class OrderConflictError extends Error {
  override readonly name = 'OrderConflictError';
  readonly retryable = false;

  constructor(readonly orderId: string, readonly differingFields: readonly string[]) {
    super(`order ${orderId} is already recorded with a different ${differingFields.join(', ')}: an orderId names one order; publish a new orderId for another order`);
  }
}

/**
 * The order could not be recorded for a reason other than the ones above,
 * such as an SQL error (the migrations were not applied, say). The message
 * names the driver's error code only, as driver messages can quote SQL and
 * values; the driver's error is the `cause`, its code is `code`.
 */
export class OrderNotRecordedError extends Error {
  override readonly name = 'OrderNotRecordedError';
  readonly code?: string;

  constructor(readonly orderId: string, reason: string, cause?: unknown) {
    super(`order ${orderId} could not be recorded: ${reason}`, { cause });
    this.code = cause === undefined ? undefined : describeError(cause).errorCode;
  }
}

interface OrderRow {
  customer_id: string;
  /** BIGINT: a string (the runtime reads big numbers as strings). */
  amount_cents: string | number;
  currency: string;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const ID_RULE = 'a string of 1 to 64 characters of A-Z, a-z, 0-9, "_" and "-"';
const CURRENCY = /^[A-Z]{3}$/;

// A plain INSERT, not INSERT IGNORE (which turns CHECK and data errors into
// warnings) nor ON DUPLICATE KEY UPDATE (whose affected-rows count depends on
// the client's FOUND_ROWS flag). A concurrent delivery of the same order waits
// on the key's lock and then gets ER_DUP_ENTRY.
const INSERT_ORDER = 'INSERT INTO orders (order_id, customer_id, amount_cents, currency) VALUES (?, ?, ?, ?)';
// A statement of its own (autocommit, a new snapshot): it sees the row the concurrent delivery committed.
const ORDER_BY_ID = 'SELECT customer_id, amount_cents, currency FROM orders WHERE order_id = ?';

/**
 * The reference worker: records OrderPlaced events from EventBridge (async
 * invocation) in the `orders` table on MySQL, exactly once per orderId.
 *
 * Async invocations arrive at least once and are retried, so recording is
 * idempotent: a repeated delivery of an order (the same orderId and contents)
 * returns `already-recorded` and changes nothing, also when deliveries run
 * concurrently in several execution environments.
 *
 * Every failure is thrown, never returned: Lambda sends a returned value to
 * the onSuccess destination as a success, so a bad event would vanish among
 * the successes. A thrown error makes Lambda retry the event (which is what a
 * DatabaseUnavailableError needs) and then deliver it, with the error's name
 * and message, to the onFailure destination, so no event is lost. The price
 * is that the two retries of a bad event (InvalidOrderEventError,
 * OrderConflictError) are spent in vain; they are cheap, as they fail before
 * or right after one statement.
 *
 * Statements are plain autocommit `?` queries through the runtime Database,
 * which keeps RDS Proxy from pinning connections. Logs carry the event id,
 * orderId and error names, never the event, SQL or credentials.
 */
export function createOrdersHandler(database: Database, options: OrdersHandlerOptions = {}): OrdersHandler {
  const tools = options.observability ?? observability({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ? undefined : 'reference-worker' });
  const { logger, metrics } = tools;

  /** Inserts the order, or finds the same order recorded by an earlier delivery. */
  async function record(order: OrderPlaced): Promise<OrderStatus> {
    try {
      await database.run(INSERT_ORDER, [order.orderId, order.customerId, order.amountCents, order.currency]);
      return 'recorded';
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ER_DUP_ENTRY') throw databaseFailure(order, error);
    }
    let existing: OrderRow | undefined;
    try {
      [existing] = await database.query<OrderRow>(ORDER_BY_ID, [order.orderId]);
    } catch (error) {
      throw databaseFailure(order, error);
    }
    if (!existing) {
      throw new OrderNotRecordedError(order.orderId, 'its row was deleted while this delivery read it; a retry records it again');
    }
    const differing = [
      existing.customer_id !== order.customerId ? 'customerId' : undefined,
      String(existing.amount_cents) !== String(order.amountCents) ? 'amountCents' : undefined,
      existing.currency !== order.currency ? 'currency' : undefined,
    ].filter((field): field is string => field !== undefined);
    if (differing.length > 0) throw new OrderConflictError(order.orderId, differing);
    return 'already-recorded';
  }

  return instrumentHandler(tools, async (event, context) => {
    const attributes: Record<string, unknown> = { eventId: eventIdOf(event), lambdaRequestId: context.awsRequestId };
    try {
      const order = validOrder(event);
      attributes.orderId = order.orderId;
      const status = await record(order);
      logger.info(status === 'recorded' ? 'order recorded' : 'order already recorded', { ...attributes, status });
      metrics.addMetric(status === 'recorded' ? 'OrdersRecorded' : 'DuplicateDeliveries', MetricUnit.Count, 1);
      return { orderId: order.orderId, status };
    } catch (error) {
      const failure = { ...attributes, ...describeError(error) };
      if (error instanceof InvalidOrderEventError || error instanceof OrderConflictError) {
        logger.error('order event rejected', { ...failure, problem: error.message });
        metrics.addMetric('OrderEventsRejected', MetricUnit.Count, 1);
      } else if (error instanceof DatabaseUnavailableError) {
        logger.warn('database unavailable; Lambda will retry the event', failure);
        metrics.addMetric('DatabaseUnavailable', MetricUnit.Count, 1);
      } else {
        logger.error('order not recorded', failure);
      }
      throw error;
    }
  });
}

/** DatabaseUnavailableError stays as it is (Lambda retries); any other error's message is replaced by one without SQL or values. */
function databaseFailure(order: OrderPlaced, error: unknown): Error {
  if (error instanceof DatabaseUnavailableError) return error;
  const { errorName, errorCode } = describeError(error);
  return new OrderNotRecordedError(order.orderId, `the database failed with ${errorCode ?? errorName}`, error);
}

/** The order in `event`, or an InvalidOrderEventError listing every problem. */
function validOrder(event: unknown): OrderPlaced {
  const problems = orderEventProblems(event);
  if (problems.length > 0) throw new InvalidOrderEventError(problems);
  const { orderId, customerId, amountCents, currency } = (event as OrderPlacedEvent).detail;
  return { orderId, customerId, amountCents, currency };
}

function orderEventProblems(event: unknown): string[] {
  if (!isObject(event)) {
    return ['the event must be an EventBridge event: an object with source, detail-type and detail'];
  }
  const problems: string[] = [];
  if (event.source !== ORDER_EVENT_SOURCE) problems.push(`source must be '${ORDER_EVENT_SOURCE}'`);
  if (event['detail-type'] !== ORDER_PLACED) problems.push(`detail-type must be '${ORDER_PLACED}'`);
  const detail = event.detail;
  if (!isObject(detail)) {
    problems.push('detail must be an object with orderId, customerId, amountCents and currency');
    return problems;
  }
  if (!isId(detail.orderId)) problems.push(`detail.orderId must be ${ID_RULE}`);
  if (!isId(detail.customerId)) problems.push(`detail.customerId must be ${ID_RULE}`);
  if (!(Number.isSafeInteger(detail.amountCents) && (detail.amountCents as number) > 0)) {
    problems.push(`detail.amountCents must be a whole number (JSON number) from 1 to ${Number.MAX_SAFE_INTEGER}`);
  }
  if (!(typeof detail.currency === 'string' && CURRENCY.test(detail.currency))) {
    problems.push('detail.currency must be 3 uppercase letters A-Z (an ISO 4217 code such as EUR)');
  }
  return problems;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value);
}

/** The event id EventBridge assigned (a UUID), for the logs; anything else that arrives there is left out. */
function eventIdOf(event: unknown): string | undefined {
  const id = isObject(event) ? event.id : undefined;
  return typeof id === 'string' && ID.test(id) ? id : undefined;
}
