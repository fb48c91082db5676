import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Any occurrence within one 5-minute period. */
export const PROMPT = { period: Duration.minutes(5), evaluationPeriods: 1 };
/** Sustained for three 5-minute periods. */
export const SUSTAINED = { period: Duration.minutes(5), evaluationPeriods: 3 };

export interface AlarmSpec {
  /** Construct id of the alarm, under the scope's `Alarms` construct. */
  readonly id: string;
  /** The metric, with its statistic, but not yet its period. */
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparison: cloudwatch.ComparisonOperator;
  readonly window: { readonly period: Duration; readonly evaluationPeriods: number };
  /** What the alarm means and what to do, for the person paged. */
  readonly description: string;
}

/**
 * Alarms that stay OK while their metric reports nothing (a function that is
 * not invoked, a proxy before its first connection) and notify `topic`, when
 * given, on ALARM and on OK.
 */
export function createAlarms(scope: Construct, specs: AlarmSpec[], topic: sns.ITopic | undefined): cloudwatch.Alarm[] {
  const parent = new Construct(scope, 'Alarms');
  return specs.map(spec => {
    const alarm = new cloudwatch.Alarm(parent, spec.id, {
      metric: withPeriod(spec.metric, spec.window.period),
      threshold: spec.threshold,
      comparisonOperator: spec.comparison,
      evaluationPeriods: spec.window.evaluationPeriods,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${spec.description} (${scope.node.path})`,
    });
    if (topic) {
      const action = new actions.SnsAction(topic);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    return alarm;
  });
}

function withPeriod(metric: cloudwatch.IMetric, period: Duration): cloudwatch.IMetric {
  if (metric instanceof cloudwatch.Metric || metric instanceof cloudwatch.MathExpression) {
    return metric.with({ period });
  }
  return metric;
}
