import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './acknowledgements';

/** Construct id of the stack's shared function policies, a child of the stack like aws-cdk-lib's singletons. */
const SHARED_POLICIES_ID = 'CdkServerlessRdsFunctionPolicies';

/**
 * Why the shared policies hold wildcards. One reason for both: each grants
 * only what Lambda does for the functions with their execution roles, on
 * resources no ARN can name in advance.
 */
const WILDCARD_REASON = 'These policies hold only what Lambda does for the stack\'s functions with their execution roles, which no resource can scope: '
  + 'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing), ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets support no resource-level permissions, '
  + 'and Hyperplane ENI ids do not exist before Lambda creates them (creation is limited to the functions\' subnets and security groups). '
  + 'A Deny keeps every ENI action from the functions\' own code.';

const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

/** Where a VPC-attached function puts its ENIs. */
export interface VpcPlacement {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
}

/**
 * The customer managed policies that every function of the stack needs
 * alike, for what Lambda does on its behalf: the Hyperplane ENIs of VPC
 * functions and active tracing. One policy of each per stack, attached to
 * every role that needs it, under one construct whose wildcards are
 * acknowledged once.
 */
export class SharedFunctionPolicies extends Construct {
  public static of(scope: Construct): SharedFunctionPolicies {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(SHARED_POLICIES_ID);
    return existing instanceof SharedFunctionPolicies ? existing : new SharedFunctionPolicies(stack);
  }

  private eniPolicy?: HyperplaneEniPolicy;
  private xrayPolicy?: iam.ManagedPolicy;

  private constructor(stack: Stack) {
    super(stack, SHARED_POLICIES_ID);
    Validations.of(this).acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]', reason: WILDCARD_REASON });
  }

  /** Lets Lambda manage the ENIs of a function of `role` in `placement`, and attaches the ENI policy to `role`. */
  public allowHyperplaneEnis(role: iam.IRole, placement: VpcPlacement): void {
    if (!this.eniPolicy) {
      this.eniPolicy = new HyperplaneEniPolicy(this, 'HyperplaneEni');
      acknowledgeWildcardResource(this, this.eniPolicy.networkInterfaces, WILDCARD_REASON);
    }
    this.eniPolicy.allow(placement);
    role.addManagedPolicy(this.eniPolicy);
  }

  /** Attaches the active tracing policy to `role`. */
  public attachXrayTracing(role: iam.IRole): iam.ManagedPolicy {
    this.xrayPolicy ??= new iam.ManagedPolicy(this, 'XrayTracing', {
      description: 'Active tracing of the Lambda functions of this stack',
      statements: [new iam.PolicyStatement({ actions: XRAY_ACTIONS, resources: ['*'] })],
    });
    role.addManagedPolicy(this.xrayPolicy);
    return this.xrayPolicy;
  }
}

/** Whether `statement` is the one aws-cdk-lib adds for active tracing, which the shared policy replaces. */
export function isTracingStatement(scope: Construct, statement: iam.PolicyStatement): boolean {
  const json = Stack.of(scope).resolve(statement.toStatementJson());
  return json.Effect === 'Allow' && json.Resource === '*' && !json.Condition
    && Array.isArray(json.Action) && json.Action.length === XRAY_ACTIONS.length && XRAY_ACTIONS.every(action => json.Action.includes(action));
}

/**
 * The ENI actions Lambda performs with the execution roles of the stack's
 * VPC functions: creation limited to the subnets and security groups the
 * functions use, and every action denied to the functions' own code.
 */
class HyperplaneEniPolicy extends iam.ManagedPolicy {
  public readonly networkInterfaces: string;
  private readonly createStatement: iam.PolicyStatement;
  private readonly placementResources = new Set<string>();

  constructor(scope: Construct, id: string) {
    super(scope, id, { description: 'Hyperplane ENIs of the Lambda functions in a VPC of this stack' });
    const stack = Stack.of(this);
    this.networkInterfaces = stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' });
    this.createStatement = new iam.PolicyStatement({
      sid: 'CreateHyperplaneEnisInFunctionPlacements',
      actions: ['ec2:CreateNetworkInterface'],
      resources: [this.networkInterfaces],
    });
    this.addStatements(
      this.createStatement,
      new iam.PolicyStatement({
        sid: 'ManageHyperplaneEnis',
        actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        resources: [this.networkInterfaces],
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
