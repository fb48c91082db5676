import { parse } from 'path';
import { CfnResource } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NagRuleCompliance } from 'cdk-nag';
import { gatewayEndpointNames, interfaceEndpointNames, ServiceCall, servicesCalledBy } from '../../private/service-endpoints';
import { asArray } from '../../private/policies';
import { allowsHttps, egressRules, ingressRules, securityGroupOf, TrafficRule } from '../../private/security-groups';
import { flattenedString, logicalIdOf, referencedLogicalId, referencesIn, renderedResource, resourcesInTemplateOf } from '../../private/template';

/**
 * A Lambda function in a VPC reaches every AWS service it calls (judged from
 * its execution role's policies in the template, without what Lambda does
 * for it: logs, X-Ray, ENIs, destinations, dead-letter queue, event sources,
 * `rds-db:connect`), and S3 when the function answers custom resources
 * (CloudFormation's pre-signed response URL). A service is reachable from the function's subnets
 * through:
 *
 * - a NAT route: every subnet's route table sends `0.0.0.0/0` to a NAT
 *   gateway, an instance, a network interface or a transit gateway, and the
 *   function's security groups allow 443 out to `0.0.0.0/0`;
 * - an interface endpoint of the service in the same VPC with private DNS,
 *   whose security groups allow 443 in from the function's security groups
 *   (or a CIDR that covers them) and to which the function's security groups
 *   allow 443 out;
 * - a gateway endpoint (S3, DynamoDB) on the route tables of every subnet,
 *   with 443 egress to a prefix list or `0.0.0.0/0`.
 *
 * A function in subnets the template does not define (an imported VPC) is
 * not judged: its routes are unknown. Security groups the template does not
 * define count as allowing the traffic, and so do CIDRs whose containment
 * cannot be computed.
 * @param node the CfnResource to check
 */
export const FunctionReachesCalledServices = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof lambda.CfnFunction)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    const unreachable = unreachableCalls(node);
    if (unreachable === undefined) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return unreachable.length > 0 ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);

/** The services a function calls but cannot reach, with the actions, for the finding's details. */
export function unreachableServices(node: CfnResource): string[] {
  return node instanceof lambda.CfnFunction
    ? (unreachableCalls(node) ?? []).map(call => `${call.prefix} (${call.actions.join(', ')})`)
    : [];
}

/** Undefined when the function is not in a VPC or its subnets are not in the template. */
function unreachableCalls(fn: lambda.CfnFunction): ServiceCall[] | undefined {
  const vpcConfig = renderedResource(fn).Properties?.VpcConfig as { SubnetIds?: unknown; SecurityGroupIds?: unknown } | undefined;
  if (!Array.isArray(vpcConfig?.SubnetIds) || vpcConfig.SubnetIds.length === 0) {
    return undefined;
  }
  const subnetsById = new Map(resourcesInTemplateOf(fn, ec2.CfnSubnet.isCfnSubnet).map(subnet => [logicalIdOf(subnet), subnet]));
  const subnets = vpcConfig.SubnetIds.map(id => subnetsById.get(referencedLogicalId(fn, id) ?? ''));
  if (subnets.some(subnet => subnet === undefined)) {
    return undefined;
  }
  const network = new FunctionNetwork(fn, subnets as ec2.CfnSubnet[], asArray(vpcConfig.SecurityGroupIds));
  return servicesCalledBy(fn).filter(call => !network.reaches(call.prefix));
}

/** What a function's subnets and security groups let it reach, read from its template. */
class FunctionNetwork {
  private readonly vpcId?: string;
  private readonly routeTables: Array<string | undefined>;
  private readonly groupIds: string[];
  /** Egress rules of each security group; undefined for one that allows all egress or that the template does not define. */
  private readonly egress: Array<TrafficRule[] | undefined>;
  private readonly endpoints: ec2.CfnVPCEndpoint[];

  constructor(private readonly fn: lambda.CfnFunction, private readonly subnets: ec2.CfnSubnet[], securityGroupIds: unknown[]) {
    this.vpcId = referencedLogicalId(subnets[0], subnets[0].vpcId);
    const associations = resourcesInTemplateOf(fn, ec2.CfnSubnetRouteTableAssociation.isCfnSubnetRouteTableAssociation);
    this.routeTables = subnets.map(subnet => {
      const association = associations.find(candidate => referencedLogicalId(candidate, candidate.subnetId) === logicalIdOf(subnet));
      return association && referencedLogicalId(association, association.routeTableId);
    });
    this.groupIds = securityGroupIds.map(groupKey);
    this.egress = securityGroupIds.map(id => {
      const group = securityGroupOf(fn, id);
      return group && egressRules(group);
    });
    this.endpoints = resourcesInTemplateOf(fn, ec2.CfnVPCEndpoint.isCfnVPCEndpoint)
      .filter(endpoint => referencedLogicalId(endpoint, endpoint.vpcId) === this.vpcId);
  }

  public reaches(prefix: string): boolean {
    return (this.natEverywhere() && this.egressAllows(rule => rule.cidr === '0.0.0.0/0'))
      || this.endpointsOf('Gateway', gatewayEndpointNames(prefix)).some(endpoint => this.throughGateway(endpoint))
      || this.endpointsOf('Interface', interfaceEndpointNames(prefix)).some(endpoint => this.throughInterface(endpoint));
  }

  private natEverywhere(): boolean {
    const routes = resourcesInTemplateOf(this.fn, ec2.CfnRoute.isCfnRoute);
    return this.routeTables.every(table => table !== undefined && routes.some(route =>
      referencedLogicalId(route, route.routeTableId) === table
      && route.destinationCidrBlock === '0.0.0.0/0'
      && [route.natGatewayId, route.instanceId, route.networkInterfaceId, route.transitGatewayId].some(target => target !== undefined)));
  }

  private endpointsOf(type: 'Gateway' | 'Interface', names: string[]): ec2.CfnVPCEndpoint[] {
    return this.endpoints.filter(endpoint => (endpoint.vpcEndpointType ?? 'Gateway') === type
      && names.some(name => (flattenedString(renderedResource(endpoint).Properties?.ServiceName) ?? '').endsWith(`.${name}`)));
  }

  private throughGateway(endpoint: ec2.CfnVPCEndpoint): boolean {
    const tables = new Set(asArray(renderedResource(endpoint).Properties?.RouteTableIds).map(id => referencesIn(id)[0]?.logicalId));
    return this.routeTables.every(table => table !== undefined && tables.has(table))
      && this.egressAllows(rule => rule.prefixList !== undefined || rule.cidr === '0.0.0.0/0');
  }

  private throughInterface(endpoint: ec2.CfnVPCEndpoint): boolean {
    const properties = renderedResource(endpoint).Properties;
    if (properties?.PrivateDnsEnabled !== true) {
      return false;
    }
    const endpointGroupIds = asArray(properties.SecurityGroupIds);
    const endpointKeys = endpointGroupIds.map(groupKey);
    const acceptsFunctions = endpointGroupIds.length === 0 || endpointGroupIds.some(id => {
      const group = securityGroupOf(endpoint, id);
      return group === undefined || ingressRules(group).some(rule => allowsHttps(rule)
        && (this.groupIds.includes(groupKey(rule.securityGroup)) || this.coversVpc(rule.cidr)));
    });
    return acceptsFunctions && this.egressAllows(rule => endpointKeys.includes(groupKey(rule.securityGroup)) || this.coversVpc(rule.cidr));
  }

  /** True when some security group of the function lets 443 out to a destination the predicate accepts. */
  private egressAllows(to: (rule: TrafficRule) => boolean): boolean {
    return this.egress.some(rules => rules === undefined || rules.some(rule => allowsHttps(rule) && to(rule)));
  }

  /** True when a CIDR covers the VPC's addresses, or cannot be judged (a literal range of an unknown VPC). */
  private coversVpc(cidr: unknown): boolean {
    if (cidr === undefined) {
      return false;
    }
    const vpcCidr = referencesIn(cidr)[0];
    if (vpcCidr) {
      return vpcCidr.logicalId === this.vpcId && vpcCidr.attribute === 'CidrBlock';
    }
    const subnetCidrs = this.subnets.map(subnet => renderedResource(subnet).Properties?.CidrBlock);
    return typeof cidr !== 'string' || subnetCidrs.every(subnetCidr => typeof subnetCidr !== 'string' || contains(cidr, subnetCidr));
  }
}

/** A security group as a comparable key: the logical id it references, or its literal id. */
function groupKey(id: unknown): string {
  return referencesIn(id)[0]?.logicalId ?? JSON.stringify(id);
}

/** True when IPv4 range `outer` contains range `inner`. */
function contains(outer: string, inner: string): boolean {
  const parse = (cidr: string) => {
    const [address, bits] = cidr.split('/');
    const value = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
    return { value, bits: Number(bits) };
  };
  const a = parse(outer);
  const b = parse(inner);
  if (a.bits > b.bits) {
    return false;
  }
  const size = 2 ** (32 - a.bits);
  return Math.floor(a.value / size) === Math.floor(b.value / size);
}
