import { parse } from 'path';
import { CfnResource, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { NagRuleCompliance, NagRules } from 'cdk-nag';
import { logicalIdOf, referencedLogicalId, resourcesInTemplateOf } from '../../private/template';

/**
 * RDS Proxies sit in non-public subnets. A subnet of the proxy's template is
 * public when it assigns public IPs (`MapPublicIpOnLaunch`) or its route
 * table has a route, to any destination, through an internet gateway (a
 * `Ref` to an `AWS::EC2::InternetGateway` of the template, or a literal
 * `igw-` id). Subnets the template does not define (imported ids, exports)
 * cannot be checked: when none of the others is public, the rule is not
 * applicable rather than compliant.
 * @param node the CfnResource to check
 */
export const ProxyInPrivateSubnets = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof rds.CfnDBProxy)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    const subnetIds: unknown = Stack.of(node).resolve(node.vpcSubnetIds);
    if (!Array.isArray(subnetIds)) {
      // One intrinsic for the whole list (such as Fn::Split of an import) names no subnet of this template.
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    const subnetsById = new Map(resourcesInTemplateOf(node, ec2.CfnSubnet.isCfnSubnet).map(subnet => [logicalIdOf(subnet), subnet]));
    const subnets = subnetIds.map(id => subnetsById.get(referencedLogicalId(node, id) ?? ''));
    if (subnets.some(subnet => subnet !== undefined && isPublic(subnet))) {
      return NagRuleCompliance.NON_COMPLIANT;
    }
    return subnets.every(subnet => subnet !== undefined) ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NOT_APPLICABLE;
  },
  'name',
  { value: parse(__filename).name },
);

function isPublic(subnet: ec2.CfnSubnet): boolean {
  if (NagRules.resolveIfPrimitive(subnet, subnet.mapPublicIpOnLaunch) === true) {
    return true;
  }
  const subnetId = logicalIdOf(subnet);
  const routeTableIds = new Set(resourcesInTemplateOf(subnet, ec2.CfnSubnetRouteTableAssociation.isCfnSubnetRouteTableAssociation)
    .filter(association => referencedLogicalId(association, association.subnetId) === subnetId)
    .flatMap(association => referencedLogicalId(association, association.routeTableId) ?? []));
  const internetGatewayIds = new Set(resourcesInTemplateOf(subnet, ec2.CfnInternetGateway.isCfnInternetGateway).map(logicalIdOf));
  return resourcesInTemplateOf(subnet, ec2.CfnRoute.isCfnRoute)
    .filter(route => routeTableIds.has(referencedLogicalId(route, route.routeTableId) ?? ''))
    .some(route => {
      const gateway = Stack.of(route).resolve(route.gatewayId);
      return typeof gateway === 'string' ? gateway.startsWith('igw-') : internetGatewayIds.has(referencedLogicalId(route, gateway) ?? '');
    });
}
