import { NagMessageLevel } from 'cdk-nag';
import { AlarmTopicAllowsCloudWatch, cloudWatchBlockers } from './AlarmTopicAllowsCloudWatch';
import { FunctionReachesCalledServices, unreachableServices } from './FunctionReachesCalledServices';
import { RuleDefinition } from '../private/rule-pack';
import { reservationsBelowProvisioned, ReservedConcurrencyCoversProvisioned } from './ReservedConcurrencyCoversProvisioned';

/**
 * The rules of `DeployReadinessChecks`, one file each in this folder. Each
 * catches a template that synthesizes cleanly but fails or misbehaves when
 * CloudFormation and the services run it.
 */
export const DEPLOY_READINESS_RULES: RuleDefinition[] = [
  {
    rule: FunctionReachesCalledServices,
    info: 'The Lambda function in a VPC calls AWS services that its subnets and security groups cannot reach',
    explanation: 'A function in a VPC reaches AWS APIs only through a NAT route or a VPC endpoint of the service; without one, the call '
      + 'hangs until the function times out (AWS SDK clients have no connect timeout by default). Give the function subnets an interface '
      + 'endpoint of each service it calls (private DNS on, 443 allowed from the function\'s security group and to the endpoint\'s), a '
      + 'gateway endpoint on their route tables for S3 and DynamoDB, or a NAT route with 443 egress. DatabaseNetwork creates the interface '
      + 'endpoints its functions need.',
    level: NagMessageLevel.ERROR,
    details: unreachableServices,
  },
  {
    rule: AlarmTopicAllowsCloudWatch,
    info: 'The SNS topic that CloudWatch alarms notify does not let CloudWatch deliver to it',
    explanation: 'An AWS::SNS::TopicPolicy replaces the topic\'s default policy, so a policy with only a TLS-only Deny lets nobody publish; '
      + 'CloudWatch also needs kms:Decrypt and kms:GenerateDataKey on the key of an encrypted topic, and cannot use the AWS managed '
      + 'alias/aws/sns key. The alarms then change state without notifying anyone. Allow cloudwatch.amazonaws.com to sns:Publish in the '
      + 'topic policy and to use the key, both conditioned on aws:SourceAccount and aws:SourceArn (arn:<partition>:cloudwatch:<region>:'
      + '<account>:alarm:*), or use AlarmTopic, which does.',
    level: NagMessageLevel.ERROR,
    details: cloudWatchBlockers,
  },
  {
    rule: ReservedConcurrencyCoversProvisioned,
    info: 'The Lambda function can reserve less concurrency than its aliases and versions can provision',
    explanation: 'Lambda refuses a reserved concurrency below the provisioned concurrency configured on the function\'s versions and aliases '
      + '(and provisioned concurrency above the reservation). A lower reservation fails the deploy; one that a condition can lower (a kill switch '
      + 'through Fn::If) fails the update that lowers it, because CloudFormation updates the function before the aliases and versions that depend on '
      + 'it, while they still hold their provisioned concurrency. Reserve at least the highest provisioned concurrency (auto scaling\'s maximum and '
      + 'scheduled actions included), or let one custom resource set both, releasing one before lowering the other (DatabaseFunction does).',
    level: NagMessageLevel.ERROR,
    details: reservationsBelowProvisioned,
  },
];
