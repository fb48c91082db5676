import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeInlinePolicies, acknowledgeWildcardResource } from './acknowledgements';

/** Where a VPC-attached function puts its ENIs. */
export interface VpcPlacement {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
}

/**
 * An execution role with inline least-privilege policies only: logs to
 * exactly one log group and, for a function in a VPC, the ENI actions Lambda
 * performs with the role, limited to the function's subnets and security
 * group and denied to the function's own code.
 */
export function createExecutionRole(scope: Construct, id: string, logGroup: logs.ILogGroup, placement?: VpcPlacement): iam.Role {
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of ${scope.node.path}`,
  });
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: [logGroup.logGroupArn],
  }));
  acknowledgeInlinePolicies(role);
  if (placement) {
    addEniPermissions(role, placement);
  }
  return role;
}

function addEniPermissions(role: iam.Role, placement: VpcPlacement): void {
  const stack = Stack.of(role);
  const networkInterfaces = stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' });
  const subnets = placement.vpc.selectSubnets(placement.subnets).subnetIds
    .map(subnetId => stack.formatArn({ service: 'ec2', resource: 'subnet', resourceName: subnetId }));
  const securityGroup = stack.formatArn({ service: 'ec2', resource: 'security-group', resourceName: placement.securityGroup.securityGroupId });
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'CreateHyperplaneEnisInSharedPlacement',
    actions: ['ec2:CreateNetworkInterface'],
    resources: [networkInterfaces, ...subnets, securityGroup],
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'ManageHyperplaneEnis',
    actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
    resources: [networkInterfaces],
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'DescribeNetwork',
    actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
    resources: ['*'],
  }));
  // Lambda needs these actions to manage the ENIs; the function's own code never does. Calls made
  // with the function's credentials carry lambda:SourceFunctionArn, so this denies them to the code.
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'DenyEniActionsToFunctionCode',
    effect: iam.Effect.DENY,
    actions: [
      'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets',
      'ec2:DetachNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses',
    ],
    resources: ['*'],
    conditions: {
      ArnLike: { 'lambda:SourceFunctionArn': stack.formatArn({ service: 'lambda', resource: 'function', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    },
  }));
  acknowledgeWildcardResource(role, networkInterfaces,
    'Lambda creates and deletes the Hyperplane ENIs with this role, and their ids do not exist before creation; the create action is also limited to the function\'s subnets and security group.');
  Validations.of(role).acknowledge({
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
    reason: 'ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets support no resource-level permissions, and xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) none either.',
  });
}
