import { AsyncLocalStorage } from 'async_hooks';
import { CachedPassword, PasswordSource, passwordSourceFor } from './credentials';
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
 * Retries: a statement on `query`/`run` is sent again once, after 50-200 ms,
 * when its connection failed. If the connection died while the server was
 * executing an autocommit write, that write may already be applied, so writes
 * through `query`/`run` must be idempotent (e.g. INSERT ... ON CONFLICT with a
 * client-supplied key). Failures that remain after the retry, statement
 * timeouts and proxy borrow timeouts (never retried: the proxy already
 * waited its ConnectionBorrowTimeout) are DatabaseUnavailableError
 * (`retryable: true`); SQL errors are the driver's own errors and are never
 * retried.
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
   * unknown), you get DatabaseUnavailableError and decide yourself.
   * Use `tx` inside `work`: calls on the Database itself wait until the
   * transaction ends, so they are refused there.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Ends the current connection; a later call opens a new one. */
  close(): Promise<void>;
}

/**
 * The database could not be reached, or the connection failed in a way a
 * caller can retry later (ideally with the same idempotency key). The cause
 * stays available as `cause`; the message never quotes it.
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
   * @default - IAM authentication tokens from RDS Signer (DATABASE_AUTH=password: DATABASE_PASSWORD)
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
}

/** One open connection, as a driver module wraps it. */
export interface DriverConnection {
  execute(sql: string, params: readonly unknown[] | undefined): Promise<StatementResult>;
  /** Ends the connection politely; never rejects. */
  close(): Promise<void>;
  /** Drops the connection at once. */
  destroy(): void;
}

/** What a driver module (postgres.ts, mysql.ts) provides to the shared connection logic. */
export interface Driver {
  /** Opens a connection; `onLost` may be called any number of times once it dies. */
  connect(password: string, onLost: () => void): Promise<DriverConnection>;
  classify(error: unknown): FailureKind;
}

/** Node socket errors of a connect or a connection that failed. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** What the caller is told for the failures that make the database unavailable; any other failure reaches the caller unchanged. */
const UNAVAILABLE_MESSAGES: Partial<Record<FailureKind, string>> = {
  'connection': 'the database connection failed',
  'timeout': 'the database did not answer in time; the statement may or may not have been applied',
  'borrow-timeout': 'the database proxy had no free connection within its borrow timeout; retry later or raise the proxy pool',
};

const RETRY_DELAY_MIN_MILLIS = 50;
const RETRY_DELAY_SPREAD_MILLIS = 150;

/** The databases whose transaction the current async context runs inside. */
const activeTransactions = new AsyncLocalStorage<ReadonlySet<SingleConnectionDatabase>>();

export function defaultApplicationName(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_LAMBDA_FUNCTION_NAME || env.POWERTOOLS_SERVICE_NAME || 'cdk-serverless-rds';
}

/** The Database behaviour shared by both engines, on top of a driver. */
export class SingleConnectionDatabase implements Database {
  private connection?: Promise<DriverConnection>;
  private readonly password: CachedPassword;
  /** Settles when the most recently started transaction has ended. */
  private transactionsDone: Promise<void> = Promise.resolve();

  constructor(private readonly driver: Driver, password: PasswordSource, private readonly logger?: RuntimeLogger) {
    this.password = new CachedPassword(password);
  }

  async query<Row extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
    return (await this.outsideTransactions(() => this.withRetry(connection => connection.execute(sql, params)))).rows as Row[];
  }

  async run(sql: string, params?: readonly unknown[]): Promise<RunResult> {
    return toRunResult(await this.outsideTransactions(() => this.withRetry(connection => connection.execute(sql, params))));
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    this.refuseInsideTransaction();
    let endTransaction!: () => void;
    const ended = new Promise<void>(resolve => { endTransaction = resolve; });
    const previous = this.transactionsDone;
    this.transactionsDone = previous.then(() => ended);
    try {
      await previous;
      const connection = await this.withRetry(async opened => {
        await opened.execute('BEGIN', undefined);
        return opened;
      });
      return await this.runTransaction(connection, work);
    } finally {
      endTransaction();
    }
  }

  async close(): Promise<void> {
    const current = this.connection;
    this.connection = undefined;
    const opened = await current?.catch(() => undefined);
    await opened?.close();
  }

  /** Waits until no transaction runs; refuses calls from inside one (they would wait forever). */
  private async outsideTransactions<T>(operation: () => Promise<T>): Promise<T> {
    this.refuseInsideTransaction();
    for (let done = this.transactionsDone; ; done = this.transactionsDone) {
      await done;
      if (done === this.transactionsDone) break;
    }
    return operation();
  }

  private refuseInsideTransaction(): void {
    if (activeTransactions.getStore()?.has(this)) {
      throw new Error('a transaction is running: inside transaction(work), run statements on the tx argument, not on the Database');
    }
  }

  private async runTransaction<T>(connection: DriverConnection, work: (tx: Queryable) => Promise<T>): Promise<T> {
    let open = true;
    const execute = (sql: string, params?: readonly unknown[]) => {
      if (!open) return Promise.reject(new Error('the transaction has ended: run statements inside transaction(work) only while work runs'));
      return this.once(connection, () => connection.execute(sql, params));
    };
    const tx: Queryable = {
      query: async <Row extends object>(sql: string, params?: readonly unknown[]) => (await execute(sql, params)).rows as Row[],
      run: async (sql: string, params?: readonly unknown[]) => toRunResult(await execute(sql, params)),
    };
    const inside = new Set(activeTransactions.getStore() ?? []).add(this);
    let result: T;
    try {
      result = await activeTransactions.run(inside, () => work(tx));
    } catch (error) {
      open = false;
      // A connection whose ROLLBACK failed is in an unknown state: never reuse it.
      await connection.execute('ROLLBACK', undefined).catch(() => this.drop(connection));
      throw error;
    }
    open = false;
    await this.once(connection, () => connection.execute('COMMIT', undefined));
    return result;
  }

  /** Runs `statement` on `connection` without retry; a failure that kills the connection drops it. */
  private async once<T>(connection: DriverConnection, statement: () => Promise<T>): Promise<T> {
    try {
      return await statement();
    } catch (error) {
      throw this.failed(error, connection);
    }
  }

  /** Runs `statement` on the current connection; after a connection failure, reconnects and runs it once more. */
  private async withRetry<T>(statement: (connection: DriverConnection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let connection: DriverConnection | undefined;
      try {
        connection = await this.current();
        return await statement(connection);
      } catch (error) {
        if (attempt > 1 || this.driver.classify(error) !== 'connection') throw this.failed(error, connection);
        if (connection) this.drop(connection);
        this.logger?.warn(LOG_MESSAGES.connectionRetry, describeError(error));
        await sleep(RETRY_DELAY_MIN_MILLIS + Math.random() * RETRY_DELAY_SPREAD_MILLIS);
      }
    }
  }

  /**
   * Turns a driver error into what the caller gets: after connection
   * failures, timeouts and borrow timeouts the connection is dropped and the
   * error becomes DatabaseUnavailableError. (A connection that failed to open
   * is already gone.) Every failure passes here once, so a borrow timeout is
   * reported once.
   */
  private failed(error: unknown, connection: DriverConnection | undefined): unknown {
    const kind = this.driver.classify(error);
    const message = UNAVAILABLE_MESSAGES[kind];
    if (message === undefined) return error;
    if (connection) this.drop(connection);
    if (kind === 'borrow-timeout') this.logger?.warn(LOG_MESSAGES.proxyBorrowTimeout, describeError(error));
    return new DatabaseUnavailableError(message, error);
  }

  private current(): Promise<DriverConnection> {
    if (this.connection) return this.connection;
    const opening: Promise<DriverConnection> = this.connect(() => {
      // Only this connection is dropped: a late report from a dead one must not drop its replacement.
      if (this.connection === opening) this.connection = undefined;
    });
    this.connection = opening;
    opening.catch(() => {
      if (this.connection === opening) this.connection = undefined;
    });
    return opening;
  }

  private async connect(onLost: () => void): Promise<DriverConnection> {
    try {
      return await this.driver.connect(await this.password.current(), onLost);
    } catch (error) {
      if (this.driver.classify(error) !== 'authentication') throw error;
      // An expired or revoked token: one new token and one more attempt.
      this.logger?.warn(LOG_MESSAGES.passwordRenewal, describeError(error));
      return this.driver.connect(await this.password.renew(), onLost);
    }
  }

  /** Destroys `connection` and forgets it if it is still the current one. */
  private drop(connection: DriverConnection): void {
    connection.destroy();
    const current = this.connection;
    current?.then(opened => {
      if (opened === connection && this.connection === current) this.connection = undefined;
    }, () => undefined);
  }
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
  return new SingleConnectionDatabase(driver, options.password ?? passwordSourceFor(settings), options.logger);
}
