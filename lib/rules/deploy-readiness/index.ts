import { CfnResource } from 'aws-cdk-lib';
import { NagMessageLevel } from 'cdk-nag';
import { AlarmTopicAllowsCloudWatch, cloudWatchBlockers } from './AlarmTopicAllowsCloudWatch';
import { FunctionReachesCalledServices, unreachableServices } from './FunctionReachesCalledServices';
import { PhysicalNameVariesWithStack } from './PhysicalNameVariesWithStack';
import { RetainedNameVariesPerCreate } from './RetainedNameVariesPerCreate';
import { readersRacingRotation, SecretRotationAfterReaders } from './SecretRotationAfterReaders';
import { nameFixedAcrossStacks, retainedUnderFixedName } from '../private/physical-names';
import { reservationsBelowProvisioned, ReservedConcurrencyCoversProvisioned } from './ReservedConcurrencyCoversProvisioned';
import { RuleDefinition } from '../private/rule-pack';

/** A single finding as a one-item list, for the pack's details. */
const asDetails = (find: (node: CfnResource) => string | undefined) => (node: CfnResource): string[] => {
  const found = find(node);
  return found === undefined ? [] : [found];
};

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
  {
    rule: PhysicalNameVariesWithStack,
    info: 'The resource has a physical name that is the same in every deployment of the stack',
    explanation: 'Physical names of these types are unique per account and Region, so a second deployment of the stack under another '
      + 'name (a test copy, a second tenant) fails with "already exists". Leave the name unset so CloudFormation generates one, or '
      + 'build it from the stack: `Stack.of(this).stackName`, `Aws.STACK_NAME`, part of `Aws.STACK_ID`, or another resource of the template.',
    level: NagMessageLevel.ERROR,
    details: asDetails(nameFixedAcrossStacks),
  },
  {
    rule: RetainedNameVariesPerCreate,
    info: 'The resource is retained when the stack is deleted, under a name the next create of the stack uses again',
    explanation: 'After `cdk destroy` the retained resource still holds its name, so deploying the stack again fails with "already exists" '
      + 'until someone deletes it by hand. AWS::StackName does not help: the new stack has the same name. Leave the name unset, or '
      + 'build it from part of `Aws.STACK_ID` (new on every create), for example '
      + '`Fn.select(0, Fn.split(\'-\', Fn.select(2, Fn.split(\'/\', Aws.STACK_ID))))`, or stop retaining it.',
    level: NagMessageLevel.ERROR,
    details: asDetails(retainedUnderFixedName),
  },
  {
    rule: SecretRotationAfterReaders,
    info: 'The secret rotates immediately on create while a custom resource that reads it may still run',
    explanation: 'A rotation schedule rotates the secret as soon as it is created unless RotateImmediatelyOnUpdate is false. A custom '
      + 'resource that reads the secret (to set a database password, run migrations, register it somewhere) and is not ordered before '
      + 'the schedule can read the old password and use it after the rotation changed it, or set it back. Make the schedule depend on '
      + 'the custom resource (`schedule.node.addDependency(customResource)`), or set `rotateImmediatelyOnUpdate: false`.',
    level: NagMessageLevel.ERROR,
    details: readersRacingRotation,
  },
];
