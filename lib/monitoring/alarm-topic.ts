import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { createKey } from '../private/keys';

/**
 * Properties of an AlarmTopic.
 */
export interface AlarmTopicProps {
  /**
   * The topic's display name (the sender name of e-mail notifications).
   *
   * @default - none
   */
  readonly displayName?: string;
}

/**
 * An SNS topic for CloudWatch alarm notifications that the compliance packs
 * accept: encrypted with its own customer-managed key (rotated, retained)
 * and publishing over TLS only. A topic policy replaces SNS's default policy,
 * so the TLS-only policy also allows CloudWatch alarms of this account and
 * Region to publish, and the key policy lets the same alarms use the key.
 * CloudWatch cannot publish to a topic encrypted with the AWS managed
 * `alias/aws/sns` key, whose policy cannot be changed.
 */
export class AlarmTopic extends Construct {
  /** The topic; pass it as `alarms.topic` and subscribe to it. */
  public readonly topic: sns.Topic;
  /** The key that encrypts the topic. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    // CloudWatch acts for alarms of any account; only this account's alarms in this Region may use the topic.
    const fromThisAccountsAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    };
    const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    this.key = createKey(this, 'Key', `Encrypts the alarm notifications of ${this.node.path}`);
    this.key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      principals: [cloudWatch],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: fromThisAccountsAlarms,
    }));
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName,
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      principals: [cloudWatch],
      actions: ['sns:Publish'],
      resources: [this.topic.topicArn],
      conditions: fromThisAccountsAlarms,
    }));
  }
}
