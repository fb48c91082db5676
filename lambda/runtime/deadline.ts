import { AsyncLocalStorage } from 'async_hooks';

/**
 * The moment by which the runtime's work for one invocation must be done, so
 * that the handler can still answer (an error response, a partial batch
 * failure) before Lambda stops it.
 */
export interface Deadline {
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** What the runtime needs of the Lambda context. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/**
 * Time kept back from the invocation's remaining time for the handler to
 * answer after the runtime gave up: 10% of it, at least 100 ms and at most 1 s.
 */
export function deadlineMargin(remainingMillis: number): number {
  return Math.min(1000, Math.max(100, Math.floor(remainingMillis * 0.1)));
}

/** The deadline of an invocation: its remaining time minus the margin. */
export function deadlineFromContext(context: InvocationContext, now: number = Date.now()): Deadline {
  const remaining = context.getRemainingTimeInMillis();
  return { expiresAt: now + Math.max(0, remaining - deadlineMargin(remaining)) };
}

const invocationDeadline = new AsyncLocalStorage<Deadline>();

/** Runs `work` with `deadline` as the current deadline of everything it calls. */
export function withDeadline<T>(deadline: Deadline, work: () => Promise<T>): Promise<T> {
  return invocationDeadline.run(deadline, work);
}

/** The deadline of the invocation the caller runs in, if a handler wrapper set one. */
export function currentDeadline(): Deadline | undefined {
  return invocationDeadline.getStore();
}

/** Milliseconds left before `deadline` (the current one by default); Infinity without a deadline. */
export function remainingMillis(deadline: Deadline | undefined = currentDeadline(), now: number = Date.now()): number {
  return deadline === undefined ? Infinity : Math.max(0, deadline.expiresAt - now);
}

/**
 * How long one step may take: its configured timeout, cut to the time left
 * before `deadline`. At least 1 ms, as drivers read 0 as "no timeout": a
 * caller that must not start without time left checks remainingMillis first.
 */
export function timeoutWithin(configuredMillis: number, deadline: Deadline | undefined, now: number = Date.now()): number {
  return Math.max(1, Math.min(configuredMillis, remainingMillis(deadline, now)));
}

/**
 * Resolves or rejects like `promise`, or rejects with `onTimeout()` once
 * `millis` have passed. The promise itself goes on: use this for work that
 * cannot be cancelled.
 */
export async function settleWithin<T>(promise: Promise<T>, millis: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(onTimeout()), millis); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Wraps a handler so that every runtime call it makes (connect, statement,
 * retry, token, Parameter Store) finishes within the invocation's remaining
 * time minus a margin.
 */
export function withInvocationDeadline<Event, Result, Context extends InvocationContext>(
  handler: (event: Event, context: Context) => Promise<Result>,
): (event: Event, context: Context) => Promise<Result> {
  return (event, context) => withDeadline(deadlineFromContext(context), () => handler(event, context));
}
