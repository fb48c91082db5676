/**
 * What the library's custom resource handlers share: their result (which the
 * stack's custom resource function passes to CloudFormation), and waiting for
 * an AWS API within the Lambda deadline, with a clock and a sleep that tests
 * replace.
 */

export interface CustomResourceResult {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** The part of the Lambda context the handlers use. */
export interface RemainingTime {
  getRemainingTimeInMillis(): number;
}

export interface PollingOptions {
  /** @default Date.now */
  readonly now?: () => number;
  /** @default a setTimeout-based sleep */
  readonly sleep?: (millis: number) => Promise<void>;
  /**
   * Time kept back from the Lambda deadline to report the failure to
   * CloudFormation.
   * @default 30 s
   */
  readonly deadlineMarginMillis?: number;
  /**
   * Longest wait when no Lambda context says how much time is left.
   * @default 14 min
   */
  readonly maxWaitMillis?: number;
}

export interface Polling {
  readonly now: () => number;
  readonly sleep: (millis: number) => Promise<void>;
  /** When a wait that starts now must give up, leaving the margin before the Lambda deadline. */
  deadline(context?: RemainingTime): number;
}

export function polling(options: PollingOptions): Polling {
  const now = options.now ?? Date.now;
  const deadlineMarginMillis = options.deadlineMarginMillis ?? 30_000;
  const maxWaitMillis = options.maxWaitMillis ?? 14 * 60_000;
  return {
    now,
    sleep: options.sleep ?? (millis => new Promise<void>(resolve => setTimeout(resolve, millis))),
    deadline: context => now() + (context ? Math.min(maxWaitMillis, context.getRemainingTimeInMillis() - deadlineMarginMillis) : maxWaitMillis),
  };
}
