import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ManagedPolicyRole } from './managed-policy-role';
import { SharedFunctionPolicies, VpcPlacement } from './shared-function-policies';

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
    SharedFunctionPolicies.of(role).allowHyperplaneEnis(role, placement);
  }
  return role;
}
