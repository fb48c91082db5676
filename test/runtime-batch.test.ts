/**
 * processQueueBatch (SQS partial batch responses) with record handlers that
 * write to a real PostgreSQL server through the runtime Database, so the
 * tests show which records were committed and which were reported back for
 * redelivery. A separate "checker" client reads the table.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { Client } from 'pg';
import { currentDeadline, Database, DatabaseSettings, DatabaseUnavailableError, processQueueBatch, settingsFromEnvironment } from '../lambda/runtime';
import { postgresDatabase } from '../lambda/runtime/postgres';
import { lambdaContext } from './support/lambda';
import { freePort, PostgresServer, startPostgres } from './support/postgres';
import { rejection } from './support/output';

const STANDARD_QUEUE = 'arn:aws:sqs:eu-west-1:123456789012:orders';
const FIFO_QUEUE = 'arn:aws:sqs:eu-west-1:123456789012:orders.fifo';

let postgres: PostgresServer;
let database: Database;
let checker: Client;

beforeAll(async () => {
  postgres = await startPostgres();
  const name = await postgres.createDatabase('batch');
  checker = new Client(postgres.connectionConfig(name));
  await checker.connect();
  await checker.query('CREATE TABLE notes (message_id text PRIMARY KEY, note text NOT NULL CHECK (char_length(note) > 0))');
  database = postgresDatabase({ settings: localSettings(postgres.port, name) });
});

afterAll(async () => {
  await database?.close();
  await checker?.end();
  await postgres?.stop();
});

beforeEach(async () => {
  await checker.query('TRUNCATE notes');
});

function localSettings(port: number, name: string): DatabaseSettings {
  return settingsFromEnvironment({
    DATABASE_HOST: postgres.host,
    DATABASE_PORT: String(port),
    DATABASE_NAME: name,
    DATABASE_USER: postgres.user,
    DATABASE_ENGINE: 'postgresql',
    AWS_REGION: 'eu-west-1',
    DATABASE_AUTH: 'password',
    DATABASE_PASSWORD: postgres.password,
    DATABASE_TLS: 'disable',
    DATABASE_CONNECT_TIMEOUT_MS: '1000',
  });
}

function sqsRecord(messageId: string, body: string, queueArn = STANDARD_QUEUE): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1767225600000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1767225600000',
      ...(queueArn.endsWith('.fifo') ? { MessageGroupId: 'customer-42', SequenceNumber: `1${messageId.replace(/\D/g, '').padStart(19, '0')}` } : {}),
    },
    messageAttributes: {},
    md5OfBody: 'not-checked',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'eu-west-1',
  };
}

function batch(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

const note = (text: string) => JSON.stringify({ note: text });
/** Not JSON: the handler throws before it reaches the database. */
const GARBLED = '{"note": ';
/** Valid JSON, but the table's CHECK constraint refuses the empty note: the database throws. */
const EMPTY_NOTE = note('');

/** Stores the record's note, keyed by message id so a redelivered record is stored once. */
const storeNote = jest.fn(async (record: SQSRecord) => {
  const { note: text } = JSON.parse(record.body) as { note: string };
  await database.run('INSERT INTO notes (message_id, note) VALUES ($1, $2) ON CONFLICT (message_id) DO NOTHING', [record.messageId, text]);
});

beforeEach(() => {
  storeNote.mockClear();
});

async function storedNotes(): Promise<Array<{ message_id: string; note: string }>> {
  return (await checker.query('SELECT message_id, note FROM notes ORDER BY message_id')).rows;
}

const handledIds = () => storeNote.mock.calls.map(([record]) => record.messageId);


describe('standard queues', () => {
  test('reports exactly the records whose handler threw; the others are committed', async () => {
    const event = batch([
      sqsRecord('m1', note('first')),
      sqsRecord('m2', GARBLED),
      sqsRecord('m3', note('third')),
      sqsRecord('m4', EMPTY_NOTE),
      sqsRecord('m5', note('fifth')),
    ]);

    const response = await processQueueBatch(event, storeNote);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm4' }] });
    expect(handledIds()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(await storedNotes()).toEqual([
      { message_id: 'm1', note: 'first' },
      { message_id: 'm3', note: 'third' },
      { message_id: 'm5', note: 'fifth' },
    ]);
  });

  test('the reported records are not lost: redelivered (as SQS does) and handled successfully, they are stored too', async () => {
    const first = await processQueueBatch(batch([sqsRecord('m1', note('one')), sqsRecord('m2', EMPTY_NOTE), sqsRecord('m3', note('three'))]), storeNote);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }]);

    // The producer's fix arrives with the redelivery; m1 and m3 are not delivered again.
    const redelivered = first.batchItemFailures.map(({ itemIdentifier }) => sqsRecord(itemIdentifier, note('two, fixed')));
    storeNote.mockClear();
    const second = await processQueueBatch(batch(redelivered), storeNote);

    expect(second).toEqual({ batchItemFailures: [] });
    expect(handledIds()).toEqual(['m2']);
    expect(await storedNotes()).toEqual([
      { message_id: 'm1', note: 'one' },
      { message_id: 'm2', note: 'two, fixed' },
      { message_id: 'm3', note: 'three' },
    ]);
  });

  test('a batch whose records all succeed reports no failures', async () => {
    const response = await processQueueBatch(batch([sqsRecord('m1', note('a')), sqsRecord('m2', note('b'))]), storeNote);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await storedNotes()).toHaveLength(2);
  });

  test('handles one record at a time, in the order of the batch', async () => {
    let running = 0;
    let mostAtOnce = 0;
    const order: string[] = [];
    const slowStore = async (record: SQSRecord) => {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      try {
        await database.query('SELECT pg_sleep(0.02)');
        order.push(record.messageId);
      } finally {
        running--;
      }
    };

    await processQueueBatch(batch(['m1', 'm2', 'm3', 'm4'].map(id => sqsRecord(id, note(id)))), slowStore);

    expect(order).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(mostAtOnce).toBe(1);
  });

  test('a handler that throws something other than an Error still gets its record reported', async () => {
    const response = await processQueueBatch(batch([sqsRecord('m1', note('a')), sqsRecord('m2', note('b'))]), async record => {
      if (record.messageId === 'm1') throw 'plain string';
      await storeNote(record);
    });

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(await storedNotes()).toEqual([{ message_id: 'm2', note: 'b' }]);
  });

  test('after a DatabaseUnavailableError the rest of the batch is not tried and is reported as failed', async () => {
    const unreachable = postgresDatabase({ settings: localSettings(await freePort(), 'batch') });
    const errors: unknown[] = [];
    const storeUnreachable = jest.fn(async (record: SQSRecord) => {
      try {
        await unreachable.run('INSERT INTO notes (message_id, note) VALUES ($1, $2)', [record.messageId, record.body]);
      } catch (error) {
        errors.push(error);
        throw error;
      }
    });

    const response = await processQueueBatch(batch(['m1', 'm2', 'm3'].map(id => sqsRecord(id, note(id)))), storeUnreachable);

    expect(errors).toEqual([expect.any(DatabaseUnavailableError)]);
    expect(storeUnreachable).toHaveBeenCalledTimes(1);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }] });
  });

  test('an error that is not retryable does not stop the batch', async () => {
    const response = await processQueueBatch(batch([sqsRecord('m1', EMPTY_NOTE), sqsRecord('m2', note('b'))]), storeNote);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(handledIds()).toEqual(['m1', 'm2']);
  });

  test('reports each failed record to the logger with its message id and error class and code, not the message or the body', async () => {
    const warn = jest.fn();

    await processQueueBatch(batch([sqsRecord('m1', EMPTY_NOTE), sqsRecord('m2', GARBLED)]), storeNote, { logger: { warn } });

    expect(warn.mock.calls).toEqual([
      ['queue record failed; it is reported for redelivery', { messageId: 'm1', errorName: 'DatabaseError', errorCode: '23514' }],
      ['queue record failed; it is reported for redelivery', { messageId: 'm2', errorName: 'SyntaxError' }],
    ]);
  });
});

describe('with the invocation context', () => {
  test('every record runs under the invocation deadline', async () => {
    const deadlines: Array<number | undefined> = [];
    const before = Date.now();

    await processQueueBatch(batch([sqsRecord('m1', note('a')), sqsRecord('m2', note('b'))]), async () => {
      deadlines.push(currentDeadline()?.expiresAt);
    }, { context: lambdaContext('queue-consumer', { timeoutMillis: 900 }) });

    expect(deadlines).toHaveLength(2);
    expect(deadlines[1]).toBe(deadlines[0]);
    expect(deadlines[0]).toBeGreaterThanOrEqual(before + 800);
    expect(deadlines[0]).toBeLessThanOrEqual(Date.now() + 800);
  });

  test('records not started before the deadline are reported as failed without being tried', async () => {
    const handled: string[] = [];
    const slowHandler = async (record: SQSRecord) => {
      await new Promise(resolve => setTimeout(resolve, 300));
      handled.push(record.messageId);
    };

    // The deadline is 400 ms away: m2 starts before it, m3 would start after it.
    const response = await processQueueBatch(batch(['m1', 'm2', 'm3'].map(id => sqsRecord(id, note(id)))), slowHandler, { context: lambdaContext('queue-consumer', { timeoutMillis: 500 }) });

    expect(handled).toEqual(['m1', 'm2']);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm3' }] });
  });
});

describe('SQL mistakes', () => {
  test('a statement with fewer values than placeholders fails its record alone; the batch goes on', async () => {
    const response = await processQueueBatch(batch([sqsRecord('m1', note('a')), sqsRecord('m2', note('b'))]), async record => {
      if (record.messageId === 'm1') await database.run('INSERT INTO notes (message_id, note) VALUES ($1, $2)', [record.messageId]);
      else await storeNote(record);
    });

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(await storedNotes()).toEqual([{ message_id: 'm2', note: 'b' }]);
  });
});

describe('FIFO queues', () => {
  test('stops at the first failure and reports it and every later record, so the group keeps its order', async () => {
    const event = batch([
      sqsRecord('m1', note('first'), FIFO_QUEUE),
      sqsRecord('m2', EMPTY_NOTE, FIFO_QUEUE),
      sqsRecord('m3', note('third'), FIFO_QUEUE),
      sqsRecord('m4', note('fourth'), FIFO_QUEUE),
    ]);

    const response = await processQueueBatch(event, storeNote);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }, { itemIdentifier: 'm4' }] });
    expect(handledIds()).toEqual(['m1', 'm2']);
    expect(await storedNotes()).toEqual([{ message_id: 'm1', note: 'first' }]);
  });

  test('a failure in the first record reports the whole batch and stores nothing', async () => {
    const response = await processQueueBatch(batch([sqsRecord('m1', GARBLED, FIFO_QUEUE), sqsRecord('m2', note('b'), FIFO_QUEUE)]), storeNote);

    expect(response.batchItemFailures.map(failure => failure.itemIdentifier)).toEqual(['m1', 'm2']);
    expect(await storedNotes()).toEqual([]);
  });

  test('a batch whose records all succeed reports no failures', async () => {
    const response = await processQueueBatch(batch([sqsRecord('m1', note('a'), FIFO_QUEUE), sqsRecord('m2', note('b'), FIFO_QUEUE)]), storeNote);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await storedNotes()).toHaveLength(2);
  });
});

describe('batch shape', () => {
  test('an empty batch reports no failures and calls no handler', async () => {
    expect(await processQueueBatch(batch([]), storeNote)).toEqual({ batchItemFailures: [] });
    expect(storeNote).not.toHaveBeenCalled();
  });

  test.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['an object without Records', {}],
    ['an EventBridge event', { 'source': 'aws.events', 'detail-type': 'Scheduled Event', 'detail': {} }],
    ['Records that is not an array', { Records: { messageId: 'm1' } }],
  ])('%s throws a clear error and calls no handler', async (_, event) => {
    const error = await rejection(processQueueBatch(event as SQSEvent, storeNote));

    expect(error.message).toBe('processQueueBatch expects an SQS event with a Records array: use it only as the handler of an SQS event source');
    expect(storeNote).not.toHaveBeenCalled();
  });

  test('a record without messageId fails the whole batch before any record is handled', async () => {
    const event = { Records: [sqsRecord('m1', note('a')), sqsRecord('m2', note('b')), { body: note('c') }] };

    const error = await rejection(processQueueBatch(event as SQSEvent, storeNote));

    expect(error.message).toBe('processQueueBatch: Records[2] has no messageId, so it cannot be reported; the whole batch fails and is delivered again');
    expect(storeNote).not.toHaveBeenCalled();
    expect(await storedNotes()).toEqual([]);
  });
});
