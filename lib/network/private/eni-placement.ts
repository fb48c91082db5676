import { IResolvable, Tokenization } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sam from 'aws-cdk-lib/aws-sam';
import { IConstruct } from 'constructs';

/**
 * Where a VPC-attached Lambda function puts its Hyperplane ENIs: Lambda
 * creates one ENI per subnet for each distinct set of security groups.
 */
export interface EniPlacement {
  readonly subnetIds: string[];
  /** The function's security groups, sorted and joined, as one key. */
  readonly securityGroupKey: string;
}

/**
 * The placement of a function, or undefined when it is not in a VPC.
 *
 * Ids are compared as unresolved strings: a subnet or security group always
 * renders the same token string wherever it is referenced, and different
 * resources never share one, even across stacks.
 */
export function placementOf(resource: IConstruct): EniPlacement | undefined {
  if (resource instanceof lambda.CfnFunction) {
    const config = resource.vpcConfig;
    if (config === undefined || Tokenization.isResolvable(config)) {
      return undefined;
    }
    const vpc = config as lambda.CfnFunction.VpcConfigProperty;
    return fromLists(vpc.subnetIds, vpc.securityGroupIds);
  }
  // The rotation function of a Secrets Manager rotation application (AWS SAR)
  // receives its placement as comma-joined parameters.
  if (resource instanceof sam.CfnApplication) {
    const parameters = resource.parameters as Record<string, string> | IResolvable | undefined;
    if (parameters === undefined || Tokenization.isResolvable(parameters)) {
      return undefined;
    }
    const params = parameters as Record<string, string>;
    return fromLists(params.vpcSubnetIds?.split(','), params.vpcSecurityGroupIds?.split(','));
  }
  return undefined;
}

function fromLists(subnets: string[] | undefined, securityGroups: string[] | undefined): EniPlacement | undefined {
  if (!Array.isArray(subnets) || subnets.length === 0) {
    return undefined;
  }
  return { subnetIds: [...subnets], securityGroupKey: [...(securityGroups ?? [])].sort().join(',') };
}

/** Every (subnet, security group set) combination used below a scope: one Hyperplane ENI each. */
export function eniCombinations(scope: IConstruct): Set<string> {
  const combinations = new Set<string>();
  for (const construct of scope.node.findAll()) {
    const placement = placementOf(construct);
    for (const subnet of placement?.subnetIds ?? []) {
      combinations.add(`${subnet}|${placement!.securityGroupKey}`);
    }
  }
  return combinations;
}
