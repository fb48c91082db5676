/** The messages between the benchmark process and its worker processes (over Node's IPC channel). */
import type { DatabaseSettings } from '../../lambda/runtime';
import type { Wave } from './arrival';

/**
 * How each simulated execution environment calls the handler after "go":
 * - `storm`: once, when its wave arrives, with the connection it opens then;
 * - `warm`: back to back until the run ends, one handler (and connection) for all calls;
 * - `connection-per-invocation`: back to back, a new Database for each call, closed after it.
 */
export type InvocationPattern = 'storm' | 'warm' | 'connection-per-invocation';

export interface PrepareCommand {
  readonly type: 'prepare';
  readonly pattern: InvocationPattern;
  /**
   * The execution environments this worker hosts, by wave: a storm's
   * environments call when their wave arrives; the back-to-back patterns
   * have one wave at "go".
   */
  readonly waves: readonly Wave[];
  /** Used to give every environment of the run a distinct name. */
  readonly firstEnvironment: number;
  readonly settings: DatabaseSettings;
  /** An invocation still running this long after it started has timed out (Lambda ends it). */
  readonly functionTimeoutMillis: number;
  /** For `warm` and `connection-per-invocation`: how long the environments keep calling. */
  readonly durationMillis: number;
}

export interface GoCommand {
  readonly type: 'go';
  /** When the benchmark process said go, as `performance.timeOrigin + performance.now()`. */
  readonly goAt: number;
}

export interface CloseCommand {
  readonly type: 'close';
}

export type Command = PrepareCommand | GoCommand | CloseCommand;

/** One finished invocation. */
export interface Invocation {
  /** What the caller saw: 'ok', or the error kind, e.g. '503 too many clients (53300)'. */
  readonly outcome: string;
  /** When it started (for a storm: when its wave arrived), as `performance.timeOrigin + performance.now()`. */
  readonly startedAt: number;
  /** From its start to its response, in milliseconds. */
  readonly latencyMillis: number;
  /** When it ended, as `performance.timeOrigin + performance.now()`. */
  readonly endedAt: number;
}

export const OK = 'ok';

export type Report =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly invocations: readonly Invocation[] }
  | { readonly type: 'failed'; readonly message: string };
