import { Stack, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { PropValidationError } from '../../private/validation';
import { DatabaseNetwork } from '../../network/database-network';

/**
 * Throws when `fn` does not run in the VPC of `network`: the proxy is
 * reachable only from inside its VPC, and the security group rules that
 * connect functions to it reference groups of that VPC.
 */
export function validateFunctionInVpc(fn: lambda.Function, network: DatabaseNetwork): void {
  const placement = `place it with vpc: network.vpc, vpcSubnets: network.functionSubnets and securityGroups: [network.functionSecurityGroup] of ${network.node.path}, or use DatabaseFunction`;
  if (!fn.isBoundToVpc) {
    throw new PropValidationError(fn, `the function is not in a VPC, so it cannot reach the RDS Proxy in the VPC of ${network.node.path}: ${placement}`);
  }
  const vpcConfig = (fn.node.defaultChild as lambda.CfnFunction).vpcConfig as lambda.CfnFunction.VpcConfigProperty | undefined;
  const subnetIds = vpcConfig?.subnetIds;
  if (Token.isUnresolved(vpcConfig) || subnetIds === undefined || Token.isUnresolved(subnetIds)) {
    // A list known only at deploy: nothing to compare at synth.
    return;
  }
  const stack = Stack.of(fn);
  const resolved = (subnetId: string) => (Token.isUnresolved(subnetId) ? JSON.stringify(stack.resolve(subnetId)) : subnetId);
  const vpc = network.vpc;
  const networkSubnets = new Set([...vpc.publicSubnets, ...vpc.privateSubnets, ...vpc.isolatedSubnets].map(subnet => resolved(subnet.subnetId)));
  const outside = subnetIds.map(resolved).filter(subnetId => !networkSubnets.has(subnetId));
  if (outside.length > 0) {
    throw new PropValidationError(fn,
      `the function runs in subnets outside the VPC of ${network.node.path} (${outside.join(', ')}), where the RDS Proxy cannot be reached: ${placement}`);
  }
}
