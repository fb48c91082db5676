import { Duration } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';

/**
 * The default alarms of a DatabaseFunction. Every threshold has a default;
 * an alarm whose metric the function does not have (provisioned concurrency
 * without an alias, dead-letter errors without a dead-letter queue) is not
 * created.
 */
export interface FunctionAlarmOptions {
  /**
   * Create the alarms.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * The topic that receives the alarms' ALARM and OK notifications. Use an
   * `AlarmTopic`: a topic encrypted with a customer-managed key needs a key
   * policy that lets CloudWatch use it.
   *
   * @default - no actions: the alarms show their state on the dashboard only
   * (the compliance packs report CloudWatchAlarmAction)
   */
  readonly topic?: sns.ITopic;

  /**
   * Alarm when errors reach this percentage of invocations in 5 minutes.
   *
   * @default 1
   */
  readonly errorRatePercent?: number;

  /**
   * Alarm when this many invocations are throttled in 5 minutes (the
   * reserved concurrency, or the kill switch, turned them away).
   *
   * @default 1
   */
  readonly throttles?: number;

  /**
   * Alarm when the p99 duration stays at or above this percentage of the
   * function timeout for 15 minutes. Not created when the timeout is a
   * token, and then an error when given. A literal (the threshold is
   * computed at synth).
   *
   * @default 80
   */
  readonly durationPercentOfTimeout?: number;

  /**
   * Alarm when concurrent executions stay at or above this percentage of the
   * reserved concurrency for 15 minutes. Not created when the reserved
   * concurrency is a token (then an error when given) or absent. A literal
   * (the threshold is computed at synth).
   *
   * @default 80
   */
  readonly concurrencyPercentOfReserved?: number;

  /**
   * Alarm when the provisioned concurrency utilization (0 to 1, Maximum)
   * stays at or above this for 15 minutes: auto scaling does not keep up.
   *
   * @default 0.9
   */
  readonly provisionedUtilization?: number;

  /**
   * Alarm when invocations served beyond the provisioned concurrency (cold
   * starts) reach this percentage of the alias's invocations for 15 minutes.
   *
   * @default 10
   */
  readonly provisionedSpilloverPercent?: number;

  /**
   * Alarm when this many asynchronous events are dropped, destination
   * deliveries fail or dead-letter deliveries fail in 5 minutes (each its
   * own alarm): every one is an event that may be lost.
   *
   * @default 1
   */
  readonly asyncFailures?: number;

  /**
   * Alarm when the failure queue the construct created holds this many
   * messages: each is an invocation that failed for good.
   *
   * @default 1
   */
  readonly failureQueueMessages?: number;
}

/**
 * The default alarms of a ProxiedDatabase. Alarms on proxy metrics stay OK
 * while the proxy reports nothing (before its first connection).
 */
export interface DatabaseAlarmOptions {
  /**
   * Create the alarms.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * The topic that receives the alarms' ALARM and OK notifications (an
   * `AlarmTopic`).
   *
   * @default - no actions (the compliance packs report CloudWatchAlarmAction)
   */
  readonly topic?: sns.ITopic;

  /**
   * Alarm when the database's average CPU utilization stays at or above this
   * percentage for 15 minutes.
   *
   * @default 80
   */
  readonly cpuUtilizationPercent?: number;

  /**
   * Alarm when the database's connections stay at or above this percentage of
   * its max_connections for 15 minutes. Not created when max_connections is
   * unknown at synth (a token maxConnections or capacity), and then an error
   * when given. A literal (the threshold is computed at synth).
   *
   * @default - halfway between maxConnectionsPercent and 100 (85 for the
   * default 70): connections beyond what the proxy pool may hold; no alarm
   * when maxConnectionsPercent is a token
   */
  readonly connectionsPercentOfMax?: number;

  /**
   * Alarm when the proxy's average borrow latency (the wait for a pooled
   * database connection) stays at or above this for 15 minutes. A literal
   * (it is converted to microseconds at synth).
   *
   * @default Duration.millis(100)
   */
  readonly borrowLatency?: Duration;

  /**
   * Alarm when at least this many database connections stay pinned to a
   * client session for 15 minutes: pinning stops multiplexing, so the pool
   * serves fewer clients.
   *
   * @see https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-pinning.html
   * @default 1
   */
  readonly pinnedConnections?: number;

  /**
   * Alarm when the proxy's availability of its read/write target stays below
   * this percentage for 3 minutes.
   *
   * @default 99
   */
  readonly availabilityPercent?: number;
}
