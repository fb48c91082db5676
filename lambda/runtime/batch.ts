import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeError, RuntimeLogger } from './database';
import { deadlineFromContext, InvocationContext, remainingMillis, withDeadline } from './deadline';

export interface QueueBatchOptions {
  /**
   * The handler's Lambda context: the batch and every runtime call its
   * records make then run under the invocation's deadline (its remaining
   * time minus a margin), and records not started by then are reported as
   * failed, so the function answers before Lambda stops it (which would
   * deliver the whole batch again).
   *
   * @default - the deadline a handler wrapper set (withInvocationDeadline), if any
   */
  readonly context?: InvocationContext;
  /**
   * Where each failed record is reported (message id, error class and code;
   * never the message body or the error message, which can quote data).
   *
   * @default - not reported
   */
  readonly logger?: RuntimeLogger;
}

/**
 * Handles the records of an SQS batch one at a time and returns the partial
 * batch response for an event source mapping with ReportBatchItemFailures:
 * the message ids of the records whose `handleRecord` threw. SQS deletes the
 * other records and delivers these again (then, after maxReceiveCount, to
 * the queue's dead-letter queue), so no record is lost and none that
 * succeeded is handled twice because of another one's failure.
 *
 * Sequential on purpose: the runtime Database holds one connection per
 * execution environment, so concurrent records would only queue for it.
 *
 * Records that are not handled are reported as failed:
 * - FIFO queues (eventSourceARN ends with `.fifo`): after the first failure,
 *   as handling later records would break the order of their message group.
 * - Any queue: after a failure marked `retryable` (DatabaseUnavailableError),
 *   as the rest would fail the same way, each after waiting for its own
 *   connect timeout, and could run the function out of time (when the
 *   function times out, SQS delivers the whole batch again).
 * - Any queue: once the invocation's deadline has passed.
 *
 * A batch that is not an SQS event (no Records array, a record without
 * messageId) throws, so that the whole batch is delivered again: no record
 * could be reported individually.
 */
export async function processQueueBatch(
  event: SQSEvent,
  handleRecord: (record: SQSRecord) => Promise<void>,
  options: QueueBatchOptions = {},
): Promise<SQSBatchResponse> {
  const records = queueRecords(event);
  const handle = () => handleRecords(records, handleRecord, options.logger);
  return options.context ? withDeadline(deadlineFromContext(options.context), handle) : handle();
}

async function handleRecords(records: SQSRecord[], handleRecord: (record: SQSRecord) => Promise<void>, logger: RuntimeLogger | undefined): Promise<SQSBatchResponse> {
  const fifo = records.some(record => typeof record.eventSourceARN === 'string' && record.eventSourceARN.endsWith('.fifo'));
  const failed: SQSRecord[] = [];
  let skipRest = false;
  for (const record of records) {
    if (skipRest || remainingMillis() === 0) {
      failed.push(record);
      continue;
    }
    try {
      await handleRecord(record);
    } catch (error) {
      logger?.warn('queue record failed; it is reported for redelivery', { messageId: record.messageId, ...describeError(error) });
      failed.push(record);
      skipRest = fifo || (error as { retryable?: unknown } | null)?.retryable === true;
    }
  }
  return { batchItemFailures: failed.map(record => ({ itemIdentifier: record.messageId })) };
}

function queueRecords(event: unknown): SQSRecord[] {
  const records = (event as { Records?: unknown } | null | undefined)?.Records;
  if (!Array.isArray(records)) {
    throw new Error('processQueueBatch expects an SQS event with a Records array: use it only as the handler of an SQS event source');
  }
  records.forEach((record, index) => {
    const messageId = (record as { messageId?: unknown } | null)?.messageId;
    if (typeof messageId !== 'string' || messageId === '') {
      throw new Error(`processQueueBatch: Records[${index}] has no messageId, so it cannot be reported; the whole batch fails and is delivered again`);
    }
  });
  return records as SQSRecord[];
}
