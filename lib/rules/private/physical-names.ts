import { CfnDeletionPolicy, CfnResource, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as stepfunctions from 'aws-cdk-lib/aws-stepfunctions';
import { logicalIdOf, resourcesInTemplateOf } from '../../private/template';

/** A resource type whose physical name one property sets, unique per account and Region (or per log group name space). */
interface NamedType {
  readonly cfnType: string;
  /** The property as the template spells it, for messages. */
  readonly cfnProperty: string;
  readonly read: (node: CfnResource) => unknown;
}

function named<T extends CfnResource>(kind: { readonly CFN_RESOURCE_TYPE_NAME: string; new (...args: any[]): T }, property: keyof T & string, cfnProperty: string): NamedType {
  return { cfnType: kind.CFN_RESOURCE_TYPE_NAME, cfnProperty, read: node => (node instanceof kind ? node[property] : undefined) };
}

/**
 * The common resource types whose explicit name must be unique in an account
 * and Region: two resources with one name cannot exist, so the second
 * create fails with "already exists".
 */
const NAMED_TYPES: readonly NamedType[] = [
  named(logs.CfnLogGroup, 'logGroupName', 'LogGroupName'),
  named(rds.CfnDBCluster, 'dbClusterIdentifier', 'DBClusterIdentifier'),
  named(rds.CfnDBInstance, 'dbInstanceIdentifier', 'DBInstanceIdentifier'),
  named(rds.CfnDBProxy, 'dbProxyName', 'DBProxyName'),
  named(rds.CfnDBSubnetGroup, 'dbSubnetGroupName', 'DBSubnetGroupName'),
  named(rds.CfnDBClusterParameterGroup, 'dbClusterParameterGroupName', 'DBClusterParameterGroupName'),
  named(rds.CfnDBParameterGroup, 'dbParameterGroupName', 'DBParameterGroupName'),
  named(rds.CfnOptionGroup, 'optionGroupName', 'OptionGroupName'),
  named(events.CfnEventBus, 'name', 'Name'),
  named(cloudwatch.CfnDashboard, 'dashboardName', 'DashboardName'),
  named(cloudwatch.CfnAlarm, 'alarmName', 'AlarmName'),
  named(cloudwatch.CfnCompositeAlarm, 'alarmName', 'AlarmName'),
  named(lambda.CfnFunction, 'functionName', 'FunctionName'),
  named(sqs.CfnQueue, 'queueName', 'QueueName'),
  named(sns.CfnTopic, 'topicName', 'TopicName'),
  named(iam.CfnRole, 'roleName', 'RoleName'),
  named(iam.CfnManagedPolicy, 'managedPolicyName', 'ManagedPolicyName'),
  named(iam.CfnUser, 'userName', 'UserName'),
  named(iam.CfnGroup, 'groupName', 'GroupName'),
  named(secretsmanager.CfnSecret, 'name', 'Name'),
  named(ssm.CfnParameter, 'name', 'Name'),
  named(kms.CfnAlias, 'aliasName', 'AliasName'),
  named(s3.CfnBucket, 'bucketName', 'BucketName'),
  named(dynamodb.CfnTable, 'tableName', 'TableName'),
  named(ecr.CfnRepository, 'repositoryName', 'RepositoryName'),
  named(kinesis.CfnStream, 'name', 'Name'),
  named(stepfunctions.CfnStateMachine, 'stateMachineName', 'StateMachineName'),
];

/** A resource's explicit name: the property that sets it and its resolved value. */
export interface PhysicalName {
  readonly cfnProperty: string;
  readonly value: unknown;
}

/** The explicit name of a resource, or undefined for other types and for names CloudFormation generates. */
export function physicalNameOf(node: CfnResource): PhysicalName | undefined {
  const type = NAMED_TYPES.find(candidate => candidate.cfnType === node.cfnResourceType);
  // L2 constructs pass a token that resolves to nothing when no name is given.
  const value = type ? Stack.of(node).resolve(type.read(node)) : undefined;
  return type && value !== undefined ? { cfnProperty: type.cfnProperty, value } : undefined;
}

/** What a name is built from. */
interface NameSources {
  /** Every literal piece of the name, joined. */
  readonly text: string;
  readonly stackName: boolean;
  readonly stackId: boolean;
  /** Logical ids of resources of the template it references. */
  readonly resources: string[];
}

/**
 * The literal text and the references (`Ref`, `Fn::GetAtt`, `${...}` in
 * `Fn::Sub`) a resolved name is built from. Parameters, other pseudo
 * parameters and imports contribute nothing that varies per stack.
 */
function nameSources(value: unknown, resourceIds: ReadonlySet<string>): NameSources {
  const found = { text: [] as string[], stackName: false, stackId: false, resources: [] as string[] };
  const reference = (name: string) => {
    const target = name.split('.')[0];
    if (target === 'AWS::StackName') found.stackName = true;
    else if (target === 'AWS::StackId') found.stackId = true;
    else if (resourceIds.has(target)) found.resources.push(target);
  };
  const walk = (node: unknown): void => {
    if (typeof node === 'string') {
      found.text.push(node);
    } else if (Array.isArray(node)) {
      node.forEach(walk);
    } else if (node !== null && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (typeof record.Ref === 'string') {
        reference(record.Ref);
      } else if (Array.isArray(record['Fn::GetAtt'])) {
        reference(String(record['Fn::GetAtt'][0]));
      } else if (record['Fn::Sub'] !== undefined) {
        const [template, variables] = Array.isArray(record['Fn::Sub']) ? record['Fn::Sub'] : [record['Fn::Sub'], {}];
        const vars = (variables ?? {}) as Record<string, unknown>;
        const text = String(template);
        found.text.push(text.replace(/\$\{[^!][^}]*\}/g, ''));
        for (const [, name] of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          if (name in vars) walk(vars[name]);
          else reference(name);
        }
      } else {
        Object.values(record).forEach(walk);
      }
    }
  };
  walk(value);
  return { ...found, text: found.text.join('') };
}

function templateResourceIds(node: CfnResource): Set<string> {
  return new Set(resourcesInTemplateOf(node, CfnResource.isCfnResource).map(logicalIdOf));
}

/**
 * Why the explicit name of a resource is the same for every deployment of its
 * stack: a literal without the stack's name in it, or an intrinsic that
 * references neither AWS::StackName, AWS::StackId nor another resource of the
 * template. Undefined when the name varies with the stack, or is generated.
 */
export function nameFixedAcrossStacks(node: CfnResource): string | undefined {
  const name = physicalNameOf(node);
  if (!name) return undefined;
  const sources = nameSources(name.value, templateResourceIds(node));
  const stackName = Stack.of(node).stackName;
  if (sources.stackName || sources.stackId || sources.resources.length > 0 || sources.text.toLowerCase().includes(stackName.toLowerCase())) {
    return undefined;
  }
  return `${name.cfnProperty} ${describe(name.value)} does not contain the stack name (${stackName}) or anything else that differs between deployments`;
}

const RETAINING_POLICIES: readonly string[] = [CfnDeletionPolicy.RETAIN, CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE, CfnDeletionPolicy.SNAPSHOT];

/**
 * Why a retained resource blocks the next create of its stack: it outlives
 * the stack (DeletionPolicy Retain, RetainExceptOnCreate or Snapshot) under a
 * name that is the same on every create. Only a part of AWS::StackId, or a
 * reference to a resource whose own name is new on every create, makes it
 * differ; AWS::StackName does not, because a stack created again after
 * `cdk destroy` has the same name. Undefined otherwise.
 */
export function retainedUnderFixedName(node: CfnResource): string | undefined {
  const policy = node.cfnOptions.deletionPolicy;
  const name = physicalNameOf(node);
  if (!name || policy === undefined || !RETAINING_POLICIES.includes(policy) || variesPerCreate(node, new Set())) {
    return undefined;
  }
  return `DeletionPolicy ${policy} keeps it when the stack is deleted, and ${name.cfnProperty} ${describe(name.value)} is the same when the stack is created again`;
}

/** Whether a resource's physical id is new on every create of its stack. */
function variesPerCreate(node: CfnResource, visiting: Set<CfnResource>): boolean {
  const name = physicalNameOf(node);
  if (!name) return true;
  if (visiting.has(node)) return false;
  visiting.add(node);
  const sources = nameSources(name.value, templateResourceIds(node));
  const resources = resourcesInTemplateOf(node, CfnResource.isCfnResource);
  return sources.stackId || sources.resources.some(id => {
    const referenced = resources.find(resource => logicalIdOf(resource) === id);
    return referenced !== undefined && variesPerCreate(referenced, visiting);
  });
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}
