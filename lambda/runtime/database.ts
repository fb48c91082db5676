import { AsyncLocalStorage } from 'async_hooks';
import { CachedPassword, PasswordSource, passwordSourceFor } from './credentials';
import { currentDeadline, Deadline, remainingMillis, settleWithin, timeoutWithin } from './deadline';
import { DatabaseEngine, DatabaseSettings, requireEngine, settingsFromEnvironment } from './settings';

/** What statements can run on: the Database itself, or the `tx` of a transaction. */
export interface Queryable {
  /**
   * Runs one statement and returns its rows. Placeholders are the driver's
   * own: `$1, $2, ...` for PostgreSQL, `?` for MySQL; values are sent
   * separately (never spliced into the SQL text by this library).
   */
  query<Row extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /**
   * Runs one statement for its effect: rows changed and, on MySQL, the
   * AUTO_INCREMENT id it generated (PostgreSQL: use RETURNING with `query`).
   */
  run(sql: string, params?: readonly unknown[]): Promise<RunResult>;
}

export interface RunResult {
  /** Rows the statement inserted, updated or deleted. */
  readonly rowCount: number;
  /** MySQL only: the first AUTO_INCREMENT value the statement generated, if any. */
  readonly insertId?: string;
}

/**
 * One database connection per Lambda execution environment: opened on first
 * use, reused by warm invocations, and re-opened once when it turns out to be
 * dead (server restart, failover, proxy or idle timeout, terminated backend).
 *
 * Deadline: every call finishes by the invocation's deadline (its remaining
 * time minus a margin, set by `withInvocationDeadline` or by
 * `processQueueBatch` given the context; without one, within one attempt's
 * configured connect and query timeouts, retry included). Connects, password
 * fetches and statements are cut to the time left; a statement is not sent
 * when none is left.
 *
 * Retries: a statement on `query`/`run` is sent again once, after 50-200 ms,
 * when its connection failed, if the time left before the deadline exceeds
 * the time the failed attempt took (it had not answered by then, so a retry
 * cut off sooner would most likely fail too). Like the first attempt, the
 * retry waits for running transactions. If the connection died while the
 * server was executing an autocommit write, that write may already be
 * applied, so writes through `query`/`run` must be idempotent (e.g. INSERT
 * ... ON CONFLICT with a client-supplied key). Failures that remain,
 * statement timeouts, the deadline and proxy borrow timeouts (never retried:
 * the proxy already waited its ConnectionBorrowTimeout) are
 * DatabaseUnavailableError (`retryable: true`); SQL errors are the driver's
 * own errors and are never retried.
 *
 * Designed for RDS Proxy multiplexing (and PgBouncer transaction pooling):
 * no named prepared statements, no session state; keep it that way in your
 * SQL too (no SET, set_config, temporary tables or advisory locks).
 */
export interface Database extends Queryable {
  /**
   * Runs `work` in a transaction on one connection: BEGIN, then COMMIT if
   * `work` resolves, ROLLBACK if it throws (its error is rethrown). Only
   * BEGIN is retried after a dead connection; once the transaction has
   * started, nothing is retried automatically, because the work is not known
   * to be idempotent: if the connection fails, even during COMMIT (outcome
   * unknown), you get DatabaseUnavailableError and decide yourself. When the
   * database rolled the transaction back although `work` resolved (`work`
   * caught the error of a failed statement: PostgreSQL then answers COMMIT
   * with ROLLBACK; MySQL rolls back at a deadlock, and the statements after
   * it are not sent), you get TransactionRolledBackError.
   * Use `tx` inside `work`: calls on the Database itself wait until the
   * transaction ends, so they are refused there.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Ends the current connection; a later call opens a new one. */
  close(): Promise<void>;
}

/**
 * The database could not be reached, or the connection failed in a way a
 * caller can retry later (ideally with the same idempotency key), or no time
 * was left. The cause stays available as `cause`; the message never quotes it.
 */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
  readonly retryable = true;
  /** The driver's error code of the cause, e.g. ECONNREFUSED, 57P01, PROTOCOL_CONNECTION_LOST or (MySQL errno without a name) 9501. */
  readonly code?: string;

  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.code = errorCode(cause);
  }
}

/**
 * The database rolled back a transaction whose `work` went on after a
 * failed statement (it caught the error): PostgreSQL aborts a transaction at
 * any failed statement and answers COMMIT with ROLLBACK; MySQL rolls the
 * whole transaction back at a deadlock and would run later statements
 * outside it, so they are refused with this error instead of being sent.
 * Nothing of the transaction was applied. The failed statement's error is
 * the `cause`. Not `retryable`: the same work would most likely fail the
 * same way.
 */
export class TransactionRolledBackError extends Error {
  override readonly name = 'TransactionRolledBackError';
  readonly retryable = false;

  constructor(cause: unknown) {
    super('the database rolled the transaction back: a statement inside it failed (the cause) and work went on, but PostgreSQL'
      + ' aborts a transaction at any failed statement (unless work rolls back to a SAVEPOINT) and MySQL at a deadlock; let work throw that error', { cause });
  }
}

/** Receives the runtime's warnings; Powertools' Logger fits. */
export interface RuntimeLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface DatabaseOptions {
  /**
   * Connection settings.
   *
   * @default - settingsFromEnvironment(), read when the Database is created
   */
  readonly settings?: DatabaseSettings;
  /**
   * Supplies the password for each new connection, cached for 10 minutes and
   * renewed once when the server refuses it.
   *
   * @default - IAM authentication tokens signed with @smithy/signature-v4, the same token @aws-sdk/rds-signer gives (with DATABASE_AUTH=password: DATABASE_PASSWORD)
   */
  readonly password?: PasswordSource;
  /**
   * Name the connection reports to the server (pg_stat_activity.application_name on PostgreSQL).
   *
   * @default - AWS_LAMBDA_FUNCTION_NAME, else POWERTOOLS_SERVICE_NAME, else 'cdk-serverless-rds'
   */
  readonly applicationName?: string;
  /**
   * Where reconnects, password renewals and proxy borrow timeouts are
   * reported (LOG_MESSAGES, with the error class and code only).
   *
   * @default - not reported
   */
  readonly logger?: RuntimeLogger;
}

/**
 * The warnings the runtime logs. Saved CloudWatch Logs Insights queries
 * match these texts exactly: changing one breaks them.
 */
export const LOG_MESSAGES = {
  connectionRetry: 'database connection failed; reconnecting once',
  passwordRenewal: 'database refused the password; connecting once more with a new one',
  proxyBorrowTimeout: 'database proxy borrow timeout',
} as const;

/** How a driver error is handled. */
export type FailureKind =
  /** The server refused the password: renew it once and reconnect. */
  | 'authentication'
  /** The connection is dead or could not be opened: drop it and retry once. */
  | 'connection'
  /** A statement ran too long: drop the connection (its state is unknown), do not retry. */
  | 'timeout'
  /**
   * The proxy had no free database connection within its borrow timeout
   * (RDS Proxy ConnectionBorrowTimeout, PgBouncer query_wait_timeout), at
   * connect or at a statement: drop the connection (PgBouncer closes it; an
   * RDS Proxy one is in an unknown state), do not retry (the proxy already
   * waited), warn once.
   */
  | 'borrow-timeout'
  /** Anything else, such as an SQL error: the connection stays, no retry. */
  | 'other';

export interface StatementResult {
  readonly rows: unknown[];
  readonly rowCount: number;
  readonly insertId?: string;
  /** PostgreSQL's command tag, such as INSERT or COMMIT (a COMMIT the server rolled back answers ROLLBACK). */
  readonly command?: string;
}

/** One open connection, as a driver module wraps it. */
export interface DriverConnection {
  /** Runs one statement; it fails with the driver's timeout error after `timeoutMillis`. Called for one statement at a time. */
  execute(sql: string, params: readonly unknown[] | undefined, timeoutMillis: number): Promise<StatementResult>;
  /** Ends the connection politely; never rejects. */
  close(): Promise<void>;
  /** Drops the connection at once. */
  destroy(): void;
}

/** What a driver module (postgres.ts, mysql.ts) provides to the shared connection logic. */
export interface Driver {
  /**
   * Opens a connection, giving up after `timeoutMillis`. `onLost` may be
   * called any number of times once the opened connection dies, and never
   * for a connect that failed.
   */
  connect(password: string, timeoutMillis: number, onLost: () => void): Promise<DriverConnection>;
  classify(error: unknown): FailureKind;
  /** Whether the server rolled back the whole transaction when a statement in it failed with `error`, and ended it. */
  endsTransaction(error: unknown): boolean;
}

/** Node socket errors of a connect or a connection that failed. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** What the caller is told for the failures that make the database unavailable; any other failure reaches the caller unchanged. */
const UNAVAILABLE_MESSAGES: Partial<Record<FailureKind, string>> = {
  'connection': 'the database connection failed',
  'timeout': 'the database did not answer in time; the statement may or may not have been applied',
  'borrow-timeout': 'the database proxy had no free connection within its borrow timeout; retry later or raise the proxy pool',
};
const NO_TIME_LEFT_MESSAGE = 'no time was left before the invocation deadline: the statement was not sent';
const NO_PASSWORD_IN_TIME_MESSAGE = 'the database password (IAM token) was not ready in time: the statement was not sent';

const RETRY_DELAY_MIN_MILLIS = 50;
const RETRY_DELAY_SPREAD_MILLIS = 150;

/** The databases whose transaction the current async context runs inside. */
const activeTransactions = new AsyncLocalStorage<ReadonlySet<SingleConnectionDatabase>>();

export function defaultApplicationName(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_LAMBDA_FUNCTION_NAME || env.POWERTOOLS_SERVICE_NAME || 'cdk-serverless-rds';
}

/**
 * An open connection that runs statements one at a time, in the order they
 * were queued, each bounded when it is sent by the time left before its
 * deadline and the configured query timeout.
 */
class Connection {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly driver: DriverConnection, private readonly queryTimeoutMillis: number) {}

  /** Queues the statement at once, so that statements run in the order of the calls. */
  execute(sql: string, params: readonly unknown[] | undefined, deadline: Deadline | undefined): Promise<StatementResult> {
    const result = this.queue.then(() => {
      if (remainingMillis(deadline) === 0) throw new DatabaseUnavailableError(NO_TIME_LEFT_MESSAGE, undefined);
      return this.driver.execute(sql, params, timeoutWithin(this.queryTimeoutMillis, deadline));
    });
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** An attempt that failed with a dead connection, and how long it took. */
interface FailedAttempt {
  readonly error: unknown;
  readonly millis: number;
}

/** The Database behaviour shared by both engines, on top of a driver. */
export class SingleConnectionDatabase implements Database {
  private connection?: Promise<Connection>;
  private readonly password: CachedPassword;
  /** Set when the password source did not answer in time: the next connect asks it again instead of waiting on. */
  private passwordOverdue = false;
  /** Settles when the most recently started transaction has ended. */
  private transactionsDone: Promise<void> = Promise.resolve();

  constructor(
    private readonly driver: Driver,
    private readonly settings: Pick<DatabaseSettings, 'connectTimeoutMillis' | 'queryTimeoutMillis'>,
    password: PasswordSource,
    private readonly logger?: RuntimeLogger,
  ) {
    this.password = new CachedPassword(password);
  }

  async query<Row extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
    return (await this.statement(sql, params)).rows as Row[];
  }

  async run(sql: string, params?: readonly unknown[]): Promise<RunResult> {
    return toRunResult(await this.statement(sql, params));
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    this.refuseInsideTransaction();
    let endTransaction!: () => void;
    const ended = new Promise<void>(resolve => { endTransaction = resolve; });
    const previous = this.transactionsDone;
    this.transactionsDone = previous.then(() => ended);
    try {
      await previous;
      const connection = await this.withRetry(async (opened, deadline) => {
        await opened.execute('BEGIN', undefined, deadline);
        return opened;
      }, false);
      return await this.runTransaction(connection, work, currentDeadline());
    } finally {
      endTransaction();
    }
  }

  async close(): Promise<void> {
    const current = this.connection;
    this.connection = undefined;
    const opened = await current?.catch(() => undefined);
    await opened?.driver.close();
  }

  private statement(sql: string, params: readonly unknown[] | undefined): Promise<StatementResult> {
    this.refuseInsideTransaction();
    return this.withRetry((connection, deadline) => connection.execute(sql, params, deadline), true);
  }

  /** Resolves once every transaction started so far, and any started meanwhile, has ended. */
  private async transactionsEnded(): Promise<void> {
    for (let done = this.transactionsDone; ; done = this.transactionsDone) {
      await done;
      if (done === this.transactionsDone) return;
    }
  }

  /** Refuses calls on the Database from inside its own transaction (they would wait for it forever). */
  private refuseInsideTransaction(): void {
    if (activeTransactions.getStore()?.has(this)) {
      throw new Error('a transaction is running: inside transaction(work), run statements on the tx argument, not on the Database');
    }
  }

  private async runTransaction<T>(connection: Connection, work: (tx: Queryable) => Promise<T>, deadline: Deadline | undefined): Promise<T> {
    let open = true;
    let failedStatement: { readonly error: unknown } | undefined;
    let rolledBack: TransactionRolledBackError | undefined;
    const execute = async (sql: string, params?: readonly unknown[]) => {
      if (!open) throw new Error('the transaction has ended: run statements inside transaction(work) only while work runs');
      // The server would run this statement on its own, outside the transaction.
      if (rolledBack) throw rolledBack;
      try {
        return await this.once(connection, () => connection.execute(sql, params, deadline));
      } catch (error) {
        failedStatement ??= { error };
        if (this.driver.endsTransaction(error)) rolledBack = new TransactionRolledBackError(error);
        throw error;
      }
    };
    const tx: Queryable = {
      query: async <Row extends object>(sql: string, params?: readonly unknown[]) => (await execute(sql, params)).rows as Row[],
      run: async (sql: string, params?: readonly unknown[]) => toRunResult(await execute(sql, params)),
    };
    const inside = new Set(activeTransactions.getStore() ?? []).add(this);
    let result: T;
    try {
      result = await activeTransactions.run(inside, () => work(tx));
      if (rolledBack) throw rolledBack;
    } catch (error) {
      open = false;
      // A connection whose ROLLBACK failed (or was not sent for lack of time) is in an unknown state: never reuse it.
      await connection.execute('ROLLBACK', undefined, deadline).catch(() => this.drop(connection));
      throw error;
    }
    open = false;
    const commit = await this.once(connection, () => connection.execute('COMMIT', undefined, deadline));
    if (commit.command === 'ROLLBACK') throw new TransactionRolledBackError(failedStatement?.error);
    return result;
  }

  /** Runs `statement` on `connection` without retry; a failure that kills the connection drops it. */
  private async once<T>(connection: Connection, statement: () => Promise<T>): Promise<T> {
    try {
      return await statement();
    } catch (error) {
      throw this.failed(error, connection);
    }
  }

  /**
   * Runs `statement` on the current connection within the call's deadline;
   * after a connection failure, reconnects and runs it once more if the retry
   * fits before the deadline. With `outsideTransactions`, every attempt first
   * waits until no transaction is open; its statement is then queued on the
   * connection before the BEGIN of any transaction started later, which
   * awaits the same connection after this attempt does.
   */
  private async withRetry<T>(statement: (connection: Connection, deadline: Deadline) => Promise<T>, outsideTransactions: boolean): Promise<T> {
    const invocation = currentDeadline();
    let deadline: Deadline | undefined;
    let failure: FailedAttempt | undefined;
    for (;;) {
      if (outsideTransactions) await this.transactionsEnded();
      // Without an invocation deadline, the call and its retry get one attempt's configured time.
      deadline ??= invocation ?? { expiresAt: Date.now() + this.settings.connectTimeoutMillis + this.settings.queryTimeoutMillis };
      if (failure && !retryFits(failure, deadline, 0)) throw this.failed(failure.error, undefined);
      const started = Date.now();
      let connection: Connection | undefined;
      try {
        connection = await this.current(deadline);
        return await statement(connection, deadline);
      } catch (error) {
        if (failure || this.classify(error) !== 'connection') throw this.failed(error, connection);
        if (connection) this.drop(connection);
        failure = { error, millis: Date.now() - started };
        const delay = RETRY_DELAY_MIN_MILLIS + Math.random() * RETRY_DELAY_SPREAD_MILLIS;
        if (!retryFits(failure, deadline, delay)) throw this.failed(error, undefined);
        this.logger?.warn(LOG_MESSAGES.connectionRetry, describeError(error));
        await sleep(delay);
      }
    }
  }

  /** How a failure is handled; the runtime's own errors reach the caller as they are. */
  private classify(error: unknown): FailureKind {
    return error instanceof DatabaseUnavailableError ? 'other' : this.driver.classify(error);
  }

  /**
   * Turns a driver error into what the caller gets: after connection
   * failures, timeouts and borrow timeouts the connection is dropped and the
   * error becomes DatabaseUnavailableError. (A connection that failed to open
   * is already gone.) Every failure passes here once, so a borrow timeout is
   * reported once.
   */
  private failed(error: unknown, connection: Connection | undefined): unknown {
    const kind = this.classify(error);
    const message = UNAVAILABLE_MESSAGES[kind];
    if (message === undefined) return error;
    if (connection) this.drop(connection);
    if (kind === 'borrow-timeout') this.logger?.warn(LOG_MESSAGES.proxyBorrowTimeout, describeError(error));
    return new DatabaseUnavailableError(message, error);
  }

  /** The open connection, or a new one if there is time left to open it. */
  private current(deadline: Deadline): Promise<Connection> {
    if (this.connection) return this.connection;
    if (remainingMillis(deadline) === 0) return Promise.reject(new DatabaseUnavailableError(NO_TIME_LEFT_MESSAGE, undefined));
    const opening: Promise<Connection> = this.connect(deadline, () => {
      // Only this connection is dropped: a late report from a dead one must not drop its replacement.
      if (this.connection === opening) this.connection = undefined;
    }).then(opened => new Connection(opened, this.settings.queryTimeoutMillis));
    this.connection = opening;
    opening.catch(() => {
      if (this.connection === opening) this.connection = undefined;
    });
    return opening;
  }

  private async connect(deadline: Deadline, onLost: () => void): Promise<DriverConnection> {
    const connectTimeout = () => timeoutWithin(this.settings.connectTimeoutMillis, deadline);
    try {
      return await this.driver.connect(await this.passwordWithin(deadline, false), connectTimeout(), onLost);
    } catch (error) {
      if (this.classify(error) !== 'authentication') throw error;
      // An expired or revoked token: one new token and one more attempt.
      this.logger?.warn(LOG_MESSAGES.passwordRenewal, describeError(error));
      return this.driver.connect(await this.passwordWithin(deadline, true), connectTimeout(), onLost);
    }
  }

  /** The password for a new connection, given up within the connect timeout and the deadline. */
  private passwordWithin(deadline: Deadline, renew: boolean): Promise<string> {
    const password = renew || this.passwordOverdue ? this.password.renew() : this.password.current();
    this.passwordOverdue = false;
    return settleWithin(password, timeoutWithin(this.settings.connectTimeoutMillis, deadline), () => {
      this.passwordOverdue = true;
      return new DatabaseUnavailableError(NO_PASSWORD_IN_TIME_MESSAGE, undefined);
    });
  }

  /** Destroys `connection` and forgets it if it is still the current one. */
  private drop(connection: Connection): void {
    connection.driver.destroy();
    const current = this.connection;
    current?.then(opened => {
      if (opened === connection && this.connection === current) this.connection = undefined;
    }, () => undefined);
  }
}

/** Whether a retry after `failure`, started `afterMillis` from now, leaves it more time than the failed attempt took. */
function retryFits(failure: FailedAttempt, deadline: Deadline, afterMillis: number): boolean {
  return remainingMillis(deadline) - afterMillis > failure.millis;
}

/** Error class and code, safe to log: never the message, which can quote SQL, values or hosts. */
export function describeError(error: unknown): { errorName: string; errorCode?: string } {
  const errorName = error instanceof Error ? error.constructor.name === 'Error' ? error.name : error.constructor.name : typeof error;
  const code = errorCode(error);
  return code === undefined ? { errorName } : { errorName, errorCode: code };
}

/** The error's code; else its errno, which is all mysql2 gives for server errors it has no name for (RDS Proxy's 9501). */
function errorCode(error: unknown): string | undefined {
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  if (typeof code === 'string' || typeof code === 'number') return String(code);
  return typeof errno === 'number' ? String(errno) : undefined;
}

function toRunResult(result: StatementResult): RunResult {
  return result.insertId === undefined ? { rowCount: result.rowCount } : { rowCount: result.rowCount, insertId: result.insertId };
}

function sleep(millis: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, millis));
}

/**
 * A single-connection Database for one engine: settings from the options or
 * the environment (checked to be for `engine`), the driver `createDriver`
 * builds for them, and IAM tokens unless another password source is given.
 */
export function createDatabase(
  engine: DatabaseEngine,
  caller: string,
  options: DatabaseOptions,
  createDriver: (settings: DatabaseSettings, applicationName: string) => Driver,
): Database {
  const settings = options.settings ?? settingsFromEnvironment();
  requireEngine(settings, engine, caller);
  const driver = createDriver(settings, options.applicationName ?? defaultApplicationName());
  return new SingleConnectionDatabase(driver, settings, options.password ?? passwordSourceFor(settings), options.logger);
}
