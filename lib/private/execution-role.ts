import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './acknowledgements';
import { ManagedPolicyRole } from './managed-policy-role';

/** Where a VPC-attached function puts its ENIs. */
export interface VpcPlacement {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
}

/**
 * An execution role whose least-privilege permissions live in customer
 * managed policies of its own (see `ManagedPolicyRole`): logs to exactly one
 * log group and, for a function in a VPC, the stack's shared Hyperplane ENI
 * policy.
 */
export function createExecutionRole(scope: Construct, id: string, logGroup: logs.ILogGroup, placement?: VpcPlacement): iam.Role {
  const role = new ManagedPolicyRole(scope, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of ${scope.node.path}`,
  });
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: [logGroup.logGroupArn],
  }));
  if (placement) {
    HyperplaneEniPolicy.of(role).allow(placement);
    role.addManagedPolicy(HyperplaneEniPolicy.of(role));
  }
  return role;
}

/**
 * The ENI actions Lambda performs with the execution roles of the stack's
 * VPC functions, in one customer managed policy attached to each of their
 * roles: creation limited to the subnets and security groups the functions
 * use, and every action denied to the functions' own code. Every VPC
 * function needs the same actions, so one policy (and one acknowledgement of
 * its wildcards) serves them all.
 */
class HyperplaneEniPolicy extends iam.ManagedPolicy {
  public static of(scope: Construct): HyperplaneEniPolicy {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild('HyperplaneEniPolicy');
    return existing instanceof HyperplaneEniPolicy ? existing : new HyperplaneEniPolicy(stack);
  }

  private readonly createStatement: iam.PolicyStatement;
  private readonly placementResources = new Set<string>();

  private constructor(stack: Stack) {
    super(stack, 'HyperplaneEniPolicy', { description: 'Hyperplane ENIs of the Lambda functions in a VPC of this stack' });
    const networkInterfaces = stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' });
    this.createStatement = new iam.PolicyStatement({
      sid: 'CreateHyperplaneEnisInFunctionPlacements',
      actions: ['ec2:CreateNetworkInterface'],
      resources: [networkInterfaces],
    });
    this.addStatements(
      this.createStatement,
      new iam.PolicyStatement({
        sid: 'ManageHyperplaneEnis',
        actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        resources: [networkInterfaces],
      }),
      new iam.PolicyStatement({
        sid: 'DescribeNetwork',
        actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
        resources: ['*'],
      }),
      // Lambda needs these actions to manage the ENIs; the functions' own code never does. Calls made
      // with a function's credentials carry lambda:SourceFunctionArn, so this denies them to the code.
      new iam.PolicyStatement({
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
      }),
    );
    const reason = 'Lambda creates, manages and describes the Hyperplane ENIs of the stack\'s VPC functions with this policy: ENI ids do not exist before '
      + 'Lambda creates them (creation is limited to the functions\' subnets and security groups), ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets '
      + 'support no resource-level permissions, and a Deny keeps every one of these actions from the functions\' own code.';
    acknowledgeWildcardResource(this, networkInterfaces, reason);
    Validations.of(this).acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]', reason });
  }

  /** Lets Lambda create ENIs in the placement's subnets with its security group. */
  public allow(placement: VpcPlacement): void {
    const stack = Stack.of(this);
    const arns = [
      ...placement.vpc.selectSubnets(placement.subnets).subnetIds.map(subnetId => stack.formatArn({ service: 'ec2', resource: 'subnet', resourceName: subnetId })),
      stack.formatArn({ service: 'ec2', resource: 'security-group', resourceName: placement.securityGroup.securityGroupId }),
    ];
    for (const arn of arns) {
      const key = JSON.stringify(stack.resolve(arn));
      if (!this.placementResources.has(key)) {
        this.placementResources.add(key);
        this.createStatement.addResources(arn);
      }
    }
  }
}
