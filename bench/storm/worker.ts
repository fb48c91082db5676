/**
 * A worker process of the storm benchmark: it hosts simulated Lambda
 * execution environments, each with its own reference API handler composed
 * as lambda/reference-api/handler.ts composes it (so each has its own
 * database connection), and calls them with GET /items when told "go".
 *
 * Bundled with esbuild and run with plain node (see workers.ts).
 * Protocol: `prepare` → `ready`, `go` → `done` (or `failed`), `close` → exit.
 */
import { performance } from 'perf_hooks';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createItemsHandler, ItemsHandler } from '../../lambda/reference-api/items';
import { Database, DatabaseUnavailableError, describeError } from '../../lambda/runtime';
import { observability, Observability } from '../../lambda/runtime/observability';
import { classifyPostgresError, postgresDatabase } from '../../lambda/runtime/postgres';
import { lambdaContext } from '../../test/support/lambda';
import { listItemsEvent } from '../events';
import { Command, GoCommand, Invocation, OK, PrepareCommand, Report } from './protocol';

const FUNCTION_NAME = 'reference-api';
/** Closing the connections politely must not keep the worker alive when a server no longer answers. */
const CLOSE_TIMEOUT_MILLIS = 3_000;

/** The failure a handler's database call ran into; the handler itself answers only with a status code. */
interface FailureSlot {
  last?: unknown;
}

interface Environment {
  readonly name: string;
  readonly tools: Observability;
  /** The database of a warm or storm environment; none for connection-per-invocation. */
  readonly database?: Database;
  readonly handler?: ItemsHandler;
  readonly failure: FailureSlot;
}

let prepared: PrepareCommand | undefined;
let environments: Environment[] = [];
/** Every Database not closed yet (also those of calls still running past their deadline), closed at `close`. */
const openDatabases = new Set<Database>();

process.on('message', (command: Command) => {
  handle(command).catch(error => send({ type: 'failed', message: error instanceof Error ? error.stack ?? error.message : String(error) }));
});
// The benchmark process died: nothing would ever close this one.
process.on('disconnect', () => process.exit(1));

async function handle(command: Command): Promise<void> {
  switch (command.type) {
    case 'prepare': {
      prepared = command;
      const count = command.waves.reduce((total, wave) => total + wave.environments, 0);
      environments = Array.from({ length: count }, (_, index) => createEnvironment(command, command.firstEnvironment + index));
      send({ type: 'ready' });
      return;
    }
    case 'go':
      if (!prepared) throw new Error('go before prepare');
      send({ type: 'done', invocations: await run(prepared, command) });
      return;
    case 'close':
      await closeAll();
      process.exit(0);
  }
}

function send(report: Report): void {
  process.send!(report);
}

/** One execution environment: what handler.ts builds at module level, once per environment. */
function createEnvironment(options: PrepareCommand, index: number): Environment {
  const tools = observability({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ? undefined : 'reference-api' });
  const failure: FailureSlot = {};
  const name = `environment-${index}`;
  if (options.pattern === 'connection-per-invocation') return { name, tools, failure };
  const database = openDatabase(options, tools, failure);
  return { name, tools, database, handler: createItemsHandler(database, { observability: tools }), failure };
}

/**
 * postgresDatabase as handler.ts creates it, seen through a recorder of the
 * errors its statements throw: the handler turns them into a bare 503 or
 * 500, and the storm reports why.
 */
function openDatabase(options: PrepareCommand, tools: Observability, failure: FailureSlot): Database {
  const database = postgresDatabase({ settings: options.settings, logger: tools.logger });
  openDatabases.add(database);
  const recorded = <T>(work: Promise<T>): Promise<T> => work.catch(error => {
    failure.last = error;
    throw error;
  });
  return {
    query: (sql, params) => recorded(database.query(sql, params)),
    run: (sql, params) => recorded(database.run(sql, params)),
    transaction: work => recorded(database.transaction(work)),
    close: () => database.close(),
  };
}

async function run(options: PrepareCommand, go: GoCommand): Promise<Invocation[]> {
  if (options.pattern === 'storm') {
    let next = 0;
    const waves = options.waves.map(wave => ({ arrivesAt: go.goAt + wave.offsetMillis, environments: environments.slice(next, next += wave.environments) }));
    const byWave = await Promise.all(waves.map(async wave => {
      await sleepUntil(wave.arrivesAt);
      return Promise.all(wave.environments.map(environment => invoke(options, environment, wave.arrivesAt)));
    }));
    return byWave.flat();
  }
  const until = go.goAt + options.durationMillis;
  const perEnvironment = await Promise.all(environments.map(async environment => {
    const invocations: Invocation[] = [];
    while (now() < until) invocations.push(await invoke(options, environment, now()));
    return invocations;
  }));
  return perEnvironment.flat();
}

/**
 * One invocation started at `startedAt`: GET /items with a Lambda context
 * whose remaining time runs down to the function timeout. A call still
 * running at the timeout counts as timed out, as Lambda would end it there.
 */
async function invoke(options: PrepareCommand, environment: Environment, startedAt: number): Promise<Invocation> {
  const deadline = startedAt + options.functionTimeoutMillis;
  const context: Context = { ...lambdaContext(FUNCTION_NAME), getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - now())) };
  environment.failure.last = undefined;
  const database = environment.database ?? openDatabase(options, environment.tools, environment.failure);
  const handler = environment.handler ?? createItemsHandler(database, { observability: environment.tools });

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<string>(resolve => {
    timer = setTimeout(() => resolve(`function timeout (${options.functionTimeoutMillis / 1000} s)`), deadline - now());
  });
  const answered = handler(listItems(), context).then(
    response => response.statusCode === 200 ? OK : `${response.statusCode} ${failureKind(environment.failure.last)}`,
    error => `uncaught ${failureKind(error)}`,
  );
  const outcome = await Promise.race([answered, timedOut]);
  clearTimeout(timer);
  const endedAt = now();
  if (!environment.database) {
    await database.close();
    openDatabases.delete(database);
  }
  return { outcome, startedAt, latencyMillis: endedAt - startedAt, endedAt };
}

/**
 * A short name for why a call failed: the driver's error code, or for pg's
 * own errors (which have none) what happened. Messages of server errors are
 * left out: they can quote SQL or values.
 */
function failureKind(error: unknown): string {
  if (error === undefined) return '(no database error)';
  const cause = error instanceof DatabaseUnavailableError ? error.cause : error;
  if (classifyPostgresError(cause) === 'borrow-timeout') return 'borrow timeout (query_wait_timeout)';
  const { errorName, errorCode } = describeError(cause);
  if (errorCode === '53300') return 'too many clients (53300)';
  if (errorCode !== undefined) return `${errorName} ${errorCode}`;
  const message = cause instanceof Error ? cause.message : '';
  if (message === 'timeout expired') return 'connect timeout';
  if (message === 'Query read timeout') return 'query timeout';
  return message ? `connection error: ${message}` : errorName;
}

let requestCount = 0;

/** GET /items with a request id unique within the run. */
function listItems(): APIGatewayProxyEventV2 {
  return listItemsEvent(`storm-${process.pid}-${++requestCount}`, 'bench-storm');
}

async function closeAll(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>(resolve => { timer = setTimeout(resolve, CLOSE_TIMEOUT_MILLIS); });
  await Promise.race([Promise.all([...openDatabases].map(database => database.close())), gaveUp]);
  clearTimeout(timer);
}

async function sleepUntil(time: number): Promise<void> {
  const wait = time - now();
  if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait));
}

function now(): number {
  return performance.timeOrigin + performance.now();
}
