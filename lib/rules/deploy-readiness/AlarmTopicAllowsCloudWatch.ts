import { parse } from 'path';
import { CfnResource, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { NagRuleCompliance } from 'cdk-nag';
import { allowsAction, asArray, Statement, statementsOf } from '../../private/policies';
import { flattenedString, logicalIdOf, referencedLogicalId, referencesIn, renderedResource, resourcesInTemplateOf } from '../../private/template';

const CLOUDWATCH = 'cloudwatch.amazonaws.com';
const KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];
const AWS_MANAGED_SNS_KEY = /(^|:)alias\/aws\/sns$/;

/**
 * An SNS topic that a CloudWatch alarm (or composite alarm) of the same
 * template notifies (`AlarmActions`, `OKActions`,
 * `InsufficientDataActions`) lets CloudWatch deliver: a topic policy
 * (`AWS::SNS::TopicPolicy`, which replaces SNS's default policy) allows
 * `cloudwatch.amazonaws.com` to `sns:Publish`; a KMS key of the template
 * that encrypts the topic lets `cloudwatch.amazonaws.com` use `kms:Decrypt`
 * and `kms:GenerateDataKey`; and the topic is not encrypted with the AWS
 * managed `alias/aws/sns` key, whose policy CloudWatch is not in. Conditions
 * are not evaluated; keys imported by ARN are not judged.
 * @param node the CfnResource to check
 */
export const AlarmTopicAllowsCloudWatch = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof sns.CfnTopic) || !notifiedByAlarms(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return cloudWatchBlockers(node).length > 0 ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);

/** What keeps CloudWatch from delivering to the topic, for the finding's details. */
export function cloudWatchBlockers(node: CfnResource): string[] {
  if (!(node instanceof sns.CfnTopic)) {
    return [];
  }
  const stack = Stack.of(node);
  const topicId = logicalIdOf(node);
  const blockers: string[] = [];
  const policies = resourcesInTemplateOf(node, sns.CfnTopicPolicy.isCfnTopicPolicy)
    .filter(policy => referencesIn(stack.resolve(policy.topics)).some(reference => reference.logicalId === topicId));
  const publishes = (statement: Statement) => allowsCloudWatch(statement) && allowsAction(statement, 'sns:Publish');
  if (policies.length > 0 && !policies.some(policy => statementsOf(stack.resolve(policy.policyDocument)).some(publishes))) {
    blockers.push(`its topic policy ${policies.map(logicalIdOf).join(', ')} replaces SNS's default policy and does not allow ${CLOUDWATCH} to sns:Publish`);
  }
  const keyId = stack.resolve(node.kmsMasterKeyId);
  if (AWS_MANAGED_SNS_KEY.test(flattenedString(keyId) ?? '')) {
    blockers.push(`it is encrypted with the AWS managed key alias/aws/sns, whose policy does not let ${CLOUDWATCH} use it`);
  }
  const key = keyOf(node, keyId);
  if (key) {
    const statements = statementsOf(stack.resolve(key.keyPolicy));
    const missing = KEY_ACTIONS.filter(action => !statements.some(statement => allowsCloudWatch(statement) && allowsAction(statement, action)));
    if (missing.length > 0) {
      blockers.push(`the policy of its key ${logicalIdOf(key)} does not let ${CLOUDWATCH} use ${missing.join(' and ')}`);
    }
  }
  return blockers;
}

function notifiedByAlarms(topic: sns.CfnTopic): boolean {
  const topicId = logicalIdOf(topic);
  const alarms: CfnResource[] = [
    ...resourcesInTemplateOf(topic, cloudwatch.CfnAlarm.isCfnAlarm),
    ...resourcesInTemplateOf(topic, cloudwatch.CfnCompositeAlarm.isCfnCompositeAlarm),
  ];
  return alarms.some(alarm => {
    const properties = renderedResource(alarm).Properties ?? {};
    return referencesIn([properties.AlarmActions, properties.OKActions, properties.InsufficientDataActions])
      .some(reference => reference.logicalId === topicId);
  });
}

/** The template's KMS key the topic is encrypted with, directly or through an alias of the template. */
function keyOf(topic: sns.CfnTopic, keyId: unknown): kms.CfnKey | undefined {
  const keys = new Map(resourcesInTemplateOf(topic, kms.CfnKey.isCfnKey).map(key => [logicalIdOf(key), key]));
  const referenced = referencesIn(keyId)[0]?.logicalId ?? '';
  const alias = resourcesInTemplateOf(topic, kms.CfnAlias.isCfnAlias).find(candidate => logicalIdOf(candidate) === referenced);
  return keys.get(alias ? referencedLogicalId(alias, alias.targetKeyId) ?? '' : referenced);
}

/** True when the statement allows CloudWatch (by service principal, or everyone). */
function allowsCloudWatch(statement: Statement): boolean {
  if (statement.Effect !== 'Allow') {
    return false;
  }
  const principal = statement.Principal;
  if (principal === '*') {
    return true;
  }
  const { Service: service, AWS: aws } = (principal ?? {}) as { Service?: unknown; AWS?: unknown };
  return asArray(service).includes(CLOUDWATCH) || asArray(aws).includes('*');
}
