import { TimeZone } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';

/**
 * The statistic of `ProvisionedConcurrencyUtilization` that target tracking
 * keeps at the utilization target.
 */
export enum UtilizationStatistic {
  /**
   * The average, as Lambda's predefined metric
   * (`LambdaProvisionedConcurrencyUtilization`) reports it. Bursts shorter
   * than the alarm's 3-minute window are averaged away.
   */
  AVERAGE = 'Average',
  /**
   * The maximum, through a customized metric: scales out on short bursts
   * that the average hides, at the price of more provisioned environments.
   *
   * @see https://github.com/aws/aws-cdk/issues/23088
   */
  MAXIMUM = 'Maximum',
}

/**
 * A scheduled change of the provisioned concurrency range, for known peaks.
 */
export interface ProvisionedConcurrencySchedule {
  /**
   * The name of the scheduled action, unique among the schedules: 1 to 256
   * characters without ':', '/', '|' or surrounding spaces.
   */
  readonly name: string;

  /** When the action runs (a cron, rate or at expression). */
  readonly schedule: appscaling.Schedule;

  /**
   * The minimum provisioned concurrency from this point on. At least one of
   * `minCapacity` and `maxCapacity` is required; 0 releases every
   * provisioned environment until a later action raises it.
   *
   * @default - the minimum is left as it is
   */
  readonly minCapacity?: number;

  /**
   * The maximum provisioned concurrency from this point on. It may exceed the
   * options' `maxCapacity` (that is what a peak schedule does), but never
   * the function's reserved concurrency.
   *
   * @default - the maximum is left as it is
   */
  readonly maxCapacity?: number;

  /**
   * When the action becomes active.
   *
   * @default - immediately
   */
  readonly startTime?: Date;

  /**
   * When the action expires.
   *
   * @default - never
   */
  readonly endTime?: Date;

  /**
   * The time zone of a cron or at expression.
   *
   * @default - UTC
   */
  readonly timeZone?: TimeZone;
}

/**
 * Provisioned concurrency on a stable alias of the function, with optional
 * auto scaling. A new version is published only when the code or the
 * configuration changes, and the alias follows it; callers invoke the alias.
 *
 * @see https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html
 */
export interface ProvisionedConcurrencyOptions {
  /**
   * The alias name: 1 to 128 letters, digits, hyphens or underscores, not
   * only digits.
   *
   * @default 'live'
   */
  readonly aliasName?: string;

  /**
   * Provisioned environments kept warm at all times (at least 1). They are
   * billed whether used or not (see `provisionedMonthlyCostUsd`).
   */
  readonly minCapacity: number;

  /**
   * The most provisioned environments target tracking may scale out to. It
   * must not exceed the function's reserved concurrency, which provisioned
   * concurrency counts against; without a reservation it comes out of the
   * account's unreserved concurrency, of which Lambda keeps 100 free.
   *
   * @default - minCapacity (no target tracking)
   */
  readonly maxCapacity?: number;

  /**
   * The utilization (0.1 to 0.9) that target tracking keeps; it scales in
   * below 90% of this value. Target tracking runs only when `maxCapacity` is
   * above `minCapacity`; setting this without that is an error.
   *
   * @default 0.7
   * @see https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html#managing-provisioned-concurency
   */
  readonly utilizationTarget?: number;

  /**
   * The statistic target tracking follows. Like `utilizationTarget`, it
   * needs `maxCapacity` above `minCapacity`.
   *
   * @default UtilizationStatistic.AVERAGE
   */
  readonly utilizationStatistic?: UtilizationStatistic;

  /**
   * Scheduled changes of the capacity range, e.g. a higher minimum during
   * business hours.
   *
   * @default - none
   */
  readonly schedules?: ProvisionedConcurrencySchedule[];
}
