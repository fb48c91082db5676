import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AlarmTopic } from '../../lib';
import { testStack } from '../support/app';
import { findingsOf, pathsFlagged } from './support';

const RULE = 'AlarmTopicAllowsCloudWatch';

/** An alarm that notifies the topic on the given state change. */
function alarmOn(stack: Stack, topic: sns.ITopic, state: 'ALARM' | 'OK' = 'ALARM'): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(stack, `Alarm${state}`, {
    metric: new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName: 'Errors', period: Duration.minutes(5) }),
    threshold: 1,
    evaluationPeriods: 1,
  });
  (state === 'ALARM' ? alarm.addAlarmAction : alarm.addOkAction).call(alarm, new actions.SnsAction(topic));
  return alarm;
}

const cloudWatchPublishes = (topic: sns.Topic) => new iam.PolicyStatement({
  principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')], actions: ['sns:Publish'], resources: [topic.topicArn],
});

describe('DeployReadiness-AlarmTopicAllowsCloudWatch', () => {
  test('flags a TLS-only topic policy that replaced the default one without allowing CloudWatch to publish', () => {
    const stack = testStack();
    const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
    alarmOn(stack, topic);
    const findings = findingsOf(stack, RULE);
    expect(findings.map(finding => finding.path)).toEqual(['Test/Topic/Resource']);
    expect(findings[0].description).toContain('its topic policy TopicPolicyA1747468 replaces SNS\'s default policy and does not allow cloudwatch.amazonaws.com to sns:Publish');
  });

  test('passes a topic policy that allows CloudWatch to publish', () => {
    const stack = testStack();
    const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
    topic.addToResourcePolicy(cloudWatchPublishes(topic));
    alarmOn(stack, topic);
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes a topic without a topic policy: SNS\'s default policy lets the account\'s services publish', () => {
    const stack = testStack();
    alarmOn(stack, new sns.Topic(stack, 'Topic'));
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('does not judge a topic that no alarm of the template notifies', () => {
    const stack = testStack();
    new sns.Topic(stack, 'Topic', { enforceSSL: true });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('counts OK actions', () => {
    const stack = testStack();
    alarmOn(stack, new sns.Topic(stack, 'Topic', { enforceSSL: true }), 'OK');
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Topic/Resource']);
  });

  test('flags a topic encrypted with the AWS managed alias/aws/sns key', () => {
    const stack = testStack();
    const topic = new sns.Topic(stack, 'Topic', { masterKey: kms.Alias.fromAliasName(stack, 'SnsKey', 'alias/aws/sns') });
    alarmOn(stack, topic);
    expect(findingsOf(stack, RULE)[0].description)
      .toContain('it is encrypted with the AWS managed key alias/aws/sns, whose policy does not let cloudwatch.amazonaws.com use it');
  });

  test('flags a key whose policy leaves CloudWatch out, and passes one that lets it decrypt and generate data keys', () => {
    const stack = testStack();
    const key = new kms.Key(stack, 'Key');
    const topic = new sns.Topic(stack, 'Topic', { masterKey: key });
    alarmOn(stack, topic);
    expect(findingsOf(stack, RULE)[0].description)
      .toContain('the policy of its key Key961B73FD does not let cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey');
    key.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')], actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: ['*'],
    }));
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes the library\'s AlarmTopic', () => {
    const stack = testStack();
    alarmOn(stack, new AlarmTopic(stack, 'Alarms').topic);
    expect(findingsOf(stack, RULE)).toEqual([]);
  });
});
